#include "core/avatar_cache.h"

#include <algorithm>

namespace glint::core {

AvatarCache::AvatarCache(size_t max_entries)
    : max_per_shard_(std::max<size_t>(1, max_entries / kShards)) {}

AvatarCache::Shard& AvatarCache::shard(std::string_view hash) const {
  // The key is a cryptographic digest: its first byte is already uniformly distributed.
  unsigned char b = hash.empty() ? 0 : static_cast<unsigned char>(hash[0]);
  return shards_[b % kShards];
}

uint64_t AvatarCache::Generation(std::string_view hash) const {
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  return s.generation;
}

std::optional<AvatarRef> AvatarCache::Find(std::string_view hash) const {
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(hash);
  if (it == s.map.end()) return std::nullopt;
  return it->second;
}

void AvatarCache::Insert(std::string_view hash, const AvatarRef& ref, uint64_t generation) {
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  if (s.generation != generation) return;
  if (s.map.size() >= max_per_shard_ && !s.map.contains(std::string(hash)))
    s.map.erase(s.map.begin());
  s.map.insert_or_assign(std::string(hash), ref);
}

void AvatarCache::Invalidate(std::string_view hash) {
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  ++s.generation;
  if (auto it = s.map.find(hash); it != s.map.end()) s.map.erase(it);
}

}  // namespace glint::core
