// The append-only blob store: photo and variant bytes live in segment files.
//
// A segment is `<dir>/seg-NNNNNNNN.log`, a sequence of records
//   [header: magic, version, flags, blob_id, length, xxh3-64 of the bytes, xxh3-64 of the header]
//   [bytes]
// (exact grammar in docs/formats.md). A blob's place is a BlobLocation; the caller keeps it
// in the `blobs` column family, in the same WriteBatch as whatever refers to the blob, so the
// store itself holds no index. A record whose checksum does not match is an error
// (kCorruption) and its bytes are never returned.
//
// Thread-safety: Append, Read and ReadAsync may be called from any thread at once. Appends
// are serialised by an internal mutex; reads take no lock on the data path.
// Durability: Append returns only after the record is fdatasync'ed.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace glint::storage {

struct BlobLocation {
  uint32_t segment = 0;   // segment number (file seg-%08u.log)
  uint64_t offset = 0;    // offset of the record header in the segment
  uint64_t length = 0;    // payload bytes
  uint64_t checksum = 0;  // xxh3-64 of the payload
  uint64_t owner = 0;     // user_id that owns the blob (authorisation for /raw/)

  // Encoded with storage/record.h, for the `blobs` column family.
  std::string Encode() const;
  static Result<BlobLocation> Decode(std::string_view data);
};

struct BlobStoreOptions {
  uint64_t max_segment_bytes = 1ull << 30;     // roll to a new segment past this size
  uint64_t max_blob_bytes = 256ull << 20;      // refuse larger appends (kTooLarge)
  bool use_io_uring = true;                    // ReadAsync via io_uring when the kernel allows
  uint64_t cache_bytes = 64ull << 20;          // memory for hot small blobs (0 = no cache)
  uint64_t cache_max_blob_bytes = 1ull << 20;  // larger blobs are always read from disk
};

class BlobCache;

class BlobStore {
 public:
  // Opens `dir` (created if missing), finds the highest segment and appends after its end.
  // Fails with kUnavailable when another process has the store open (flock on <dir>/LOCK).
  static Result<std::unique_ptr<BlobStore>> Open(const std::string& dir,
                                                 const BlobStoreOptions& options);
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Appends one record and fdatasyncs it. On success the bytes are durable and the returned
  // location (owner left 0; the caller sets it) reads them back. On failure nothing that
  // a location points at was written.
  Result<BlobLocation> Append(uint64_t blob_id, std::span<const char> bytes);

  // Reads and verifies a blob with pread on the calling thread (blocking). Small blobs read
  // once are then served from the in-memory cache (BlobStoreOptions::cache_bytes).
  Result<std::string> Read(const BlobLocation& loc) const;

  // Reads and verifies a blob without blocking the calling executor: from the cache, else
  // through io_uring (Asio random_access_file) when available, else pread on the calling
  // thread.
  // `loc` is taken by value so the coroutine never holds a reference to the caller's frame.
  // The store must outlive the returned awaitable.
  boost::asio::awaitable<Result<std::string>> ReadAsync(BlobLocation loc) const;

  // True when ReadAsync uses io_uring: probed once at Open; turns false for good if an
  // event loop later cannot create its ring (ReadAsync then falls back to pread).
  bool io_uring_enabled() const { return io_uring_; }

 private:
  struct Segment;
  // Segment numbers are indexes into a fixed table so that readers find a segment with one
  // atomic load while an append adds segments; 65535 segments of the default 1 GiB are
  // 64 TiB, far past one machine's disks.
  static constexpr uint32_t kMaxSegments = 1u << 16;

  BlobStore();
  Result<const Segment*> segment(uint32_t number) const;
  // Creates segment `number` (and syncs the directory), makes it the append target and
  // publishes it to readers. REQUIRES: `held` holds mu_.
  Status StartSegment(uint32_t number, const std::unique_lock<std::mutex>& held);
  Result<std::string> ReadFromDisk(const BlobLocation& loc) const;
  // Caches verified bytes and returns them.
  std::string Remember(const BlobLocation& loc, std::string bytes) const;

  std::string dir_;
  BlobStoreOptions options_;
  // Set at Open; cleared (once, with a warning) if an event loop cannot create its ring.
  mutable std::atomic<bool> io_uring_{false};
  int lock_fd_ = -1;                  // flock'ed <dir>/LOCK: one process per store
  std::unique_ptr<BlobCache> cache_;  // null when cache_bytes is 0

  // Published segments by number: null until set, then fixed for the store's life.
  std::unique_ptr<std::atomic<Segment*>[]> table_;

  mutable std::mutex mu_;                           // serialises appends and segment creation
  std::vector<std::unique_ptr<Segment>> segments_;  // owns table_'s entries; GUARDED_BY(mu_)
  Segment* active_ = nullptr;                       // append target; GUARDED_BY(mu_)
  uint64_t active_size_ = 0;                        // append position; GUARDED_BY(mu_)
};

}  // namespace glint::storage
