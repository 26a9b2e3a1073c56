#include "core/avatar_cache.h"

#include <algorithm>

namespace glint::core {

AvatarCache::AvatarCache(size_t max_entries) : max_entries_(max_entries) {}

size_t AvatarCache::per_shard_budget(size_t i) const {
  // The remainder goes to the first shards, so the budgets add up to max_entries_ exactly.
  return max_entries_ / kShards + (i < max_entries_ % kShards ? 1 : 0);
}

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
  size_t budget = per_shard_budget(static_cast<size_t>(&s - shards_.data()));
  if (budget == 0) return;
  if (s.map.size() >= budget && !s.map.contains(hash)) s.map.erase(s.map.begin());
  s.map.insert_or_assign(std::string(hash), ref);
}

void AvatarCache::Invalidate(std::string_view hash) {
  Shard& s = shard(hash);
  std::lock_guard lock(s.mu);
  ++s.generation;
  if (auto it = s.map.find(hash); it != s.map.end()) s.map.erase(it);
}

}  // namespace glint::core
