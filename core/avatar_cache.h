// The in-memory map in front of RocksDB on the avatar hot path: email hash -> what to serve.
//
// Bounded (the entry budget is split across shards, never exceeded in total; a full shard
// drops an arbitrary entry), sharded
// by hash so event-loop threads rarely contend. Invalidation is race-free: a reader that
// looked the answer up in RocksDB inserts it only if no invalidation of that shard happened
// since it started (generation check), so a stale answer cannot outlive a change.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "codec/image_header.h"
#include "storage/blob_store.h"

namespace glint::core {

// What GET /avatar/{hash} serves: the active photo's blob and how to label it.
// When `photo_id` is 0 there is nothing to serve and `missing` says why ("unknown_hash",
// "unverified", "no_avatar"): the caller serves a default image.
struct AvatarRef {
  uint64_t user_id = 0;
  uint64_t photo_id = 0;
  storage::BlobLocation blob;
  codec::Format format = codec::Format::kUnknown;
  std::string etag;  // quoted strong ETag, derived from the blob's checksum
  std::string rating = "g";
  std::string alt_text;
  // Last change of what this hash serves (unix seconds; Last-Modified). For an unknown
  // hash: when the process started, so no earlier validator can match a later change.
  int64_t modified = 0;
  std::string missing;
};

class AvatarCache {
 public:
  explicit AvatarCache(size_t max_entries);

  // A generation token to pass to Insert (taken before the database lookup).
  uint64_t Generation(std::string_view hash) const;
  std::optional<AvatarRef> Find(std::string_view hash) const;
  // Inserts unless the shard was invalidated after `generation` was taken.
  void Insert(std::string_view hash, const AvatarRef& ref, uint64_t generation);
  // Drops `hash` (both of a user's hashes are dropped when their active photo changes).
  void Invalidate(std::string_view hash);

 private:
  static constexpr size_t kShards = 16;
  // Transparent hashing: lookups by string_view allocate no key.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, AvatarRef, KeyHash, std::equal_to<>> map;  // GUARDED_BY(mu)
    uint64_t generation = 0;                                                   // GUARDED_BY(mu)
  };
  Shard& shard(std::string_view hash) const;

  size_t per_shard_budget(size_t shard_index) const;

  size_t max_entries_;
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace glint::core
