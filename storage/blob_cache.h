// A byte-budgeted LRU of verified blob bytes, so small hot blobs (avatars) are served from
// memory without a disk read. Blobs are immutable once written, so an entry never goes
// stale: it is keyed by the blob's place and remembers its checksum, and a lookup whose
// location disagrees on the checksum is a miss.
//
// Sharded by location; each shard has its own mutex and LRU list. Entries are shared,
// immutable strings: a reader keeps its bytes even if the entry is evicted meanwhile.
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "storage/blob_store.h"

namespace glint::storage {

class BlobCache {
 public:
  // Holds at most `budget_bytes` of payload in total; blobs larger than `max_entry_bytes`
  // are never cached (one big original must not flush every avatar).
  BlobCache(uint64_t budget_bytes, uint64_t max_entry_bytes);

  // The cached bytes of `loc`, or null.
  std::shared_ptr<const std::string> Find(const BlobLocation& loc);
  // Caches `bytes` (already verified against `loc`), evicting least recently used entries.
  void Insert(const BlobLocation& loc, std::shared_ptr<const std::string> bytes);

  uint64_t bytes_for_testing() const;

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    uint64_t key;
    uint64_t checksum;
    std::shared_ptr<const std::string> bytes;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // front = most recently used; GUARDED_BY(mu)
    std::unordered_map<uint64_t, std::list<Entry>::iterator> index;  // GUARDED_BY(mu)
    uint64_t bytes = 0;                                              // GUARDED_BY(mu)
  };
  static uint64_t Key(const BlobLocation& loc);
  Shard& shard(uint64_t key) { return shards_[(key * 0x9E3779B97F4A7C15ull) >> 60]; }

  uint64_t shard_budget_;
  uint64_t max_entry_bytes_;
  std::array<Shard, kShards> shards_;
};

}  // namespace glint::storage
