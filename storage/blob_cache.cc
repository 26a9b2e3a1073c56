#include "storage/blob_cache.h"

namespace glint::storage {

BlobCache::BlobCache(uint64_t budget_bytes, uint64_t max_entry_bytes)
    : shard_budget_(budget_bytes / kShards), max_entry_bytes_(max_entry_bytes) {}

uint64_t BlobCache::Key(const BlobLocation& loc) {
  // Segments are at most a few GiB, so 40 bits of offset and 24 of segment never collide in
  // practice; a collision would still be caught by the checksum comparison.
  return (static_cast<uint64_t>(loc.segment) << 40) ^ loc.offset;
}

std::shared_ptr<const std::string> BlobCache::Find(const BlobLocation& loc) {
  uint64_t key = Key(loc);
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end() || it->second->checksum != loc.checksum) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->bytes;
}

void BlobCache::Insert(const BlobLocation& loc, std::shared_ptr<const std::string> bytes) {
  uint64_t size = bytes->size();
  if (size > max_entry_bytes_ || size > shard_budget_) return;
  uint64_t key = Key(loc);
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) {
    s.bytes -= it->second->bytes->size();
    s.lru.erase(it->second);
    s.index.erase(it);
  }
  while (!s.lru.empty() && s.bytes + size > shard_budget_) {
    s.bytes -= s.lru.back().bytes->size();
    s.index.erase(s.lru.back().key);
    s.lru.pop_back();
  }
  s.lru.push_front(Entry{key, loc.checksum, std::move(bytes)});
  s.index.emplace(key, s.lru.begin());
  s.bytes += size;
}

uint64_t BlobCache::bytes_for_testing() const {
  uint64_t total = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    total += s.bytes;
  }
  return total;
}

}  // namespace glint::storage
