// The append-only blob store: photo and variant bytes live in segment files.
//
// A segment is `<dir>/seg-NNNNNNNN.log`, a sequence of records
//   [header: magic, version, flags, blob_id, length, xxh3-64 of the bytes, xxh3-64 of the header]
//   [bytes]
// (exact grammar in docs/formats.md). A blob's place is a BlobLocation; the caller keeps it
// in the `blobs` column family, in the same WriteBatch as whatever refers to the blob, so the
// store itself holds no index. A record whose checksum does not match is an error
// (kCorruption) and its bytes are never returned. Deletions append tombstones; compaction
// (storage/compactor.h) copies the live records of sparse segments and retires them.
//
// Thread-safety: every public method may be called from any thread at once. Concurrent
// appends are written together (group commit); reads take no lock on the data path.
// Durability: under FsyncPolicy::kAlways (the default) Append returns only after the record
// is fdatasync'ed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
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

// When an append's bytes reach the disk (docs/formats.md, "Durability").
struct FsyncPolicy {
  enum Mode { kAlways, kInterval };
  Mode mode = kAlways;
  // kInterval: a background thread fdatasyncs the active segment this often. Appends return
  // once their bytes are in the page cache: a process crash (kill -9) loses nothing, a power
  // loss or kernel crash may lose the appends of the last interval.
  uint32_t interval_ms = 0;

  // "always" or "interval:<ms>" (1..60000); kInvalidArgument otherwise.
  static Result<FsyncPolicy> Parse(std::string_view text);
  std::string ToString() const;
};

struct BlobStoreOptions {
  uint64_t max_segment_bytes = 1ull << 30;     // roll to a new segment past this size
  uint64_t max_blob_bytes = 256ull << 20;      // refuse larger appends (kTooLarge)
  bool use_io_uring = true;                    // ReadAsync via io_uring when the kernel allows
  uint64_t cache_bytes = 64ull << 20;          // memory for hot small blobs (0 = no cache)
  uint64_t cache_max_blob_bytes = 1ull << 20;  // larger blobs are always read from disk
  FsyncPolicy fsync;
};

// What Open found at the end of the highest segment after an unclean stop.
struct TailReport {
  bool scanned = false;    // false after a clean shutdown: the tail was known good
  uint32_t segment = 0;    // the segment scanned
  uint64_t valid_end = 0;  // bytes of whole, verified records kept
  uint64_t cut_bytes = 0;  // bytes after them that were cut off (torn or failing a checksum)
  uint64_t records = 0;    // records verified
  std::string reason;      // why the cut started, empty when nothing was cut
};

// One record met by a scan of a segment file.
struct ScannedRecord {
  uint64_t blob_id = 0;
  BlobLocation location;   // owner is 0: segments do not know owners
  bool tombstone = false;  // a deletion marker; `deleted` is where the deleted record was
  uint32_t deleted_segment = 0;
  uint64_t deleted_offset = 0;
  // SalvageSegment only: the record was found by searching past a damaged header, so its
  // place is not proven by the chain of records from the segment's start (a payload could
  // hold bytes that look like a record).
  bool resynced = false;
};

// A stretch of a segment file that holds no intact record (SalvageSegment).
struct DamagedRange {
  uint64_t offset = 0;         // where the refused record starts
  uint64_t bytes = 0;          // up to the next intact record, or to the end of the file
  std::string reason;          // why the record at `offset` was refused
  bool header_intact = false;  // its header checked: only its payload (or tombstone) is bad
  uint64_t blob_id = 0;        // the refused record's blob id when header_intact
};

struct SegmentInfo {
  uint32_t number = 0;
  uint64_t bytes = 0;   // synced bytes
  bool active = false;  // the append target (never compacted or tiered)
  bool remote = false;  // tiered out: the bytes live only in the remote tier
  int64_t mtime = 0;    // unix seconds of the last write (0 for remote segments)
};

// Where the bytes of tiered-out segments are read from (storage/tiering.h implements it over
// S3). A remote segment is the byte-identical copy of the local file it replaced, so a
// record is read at the same offset and verified exactly like a local one.
class RemoteTier {
 public:
  virtual ~RemoteTier() = default;
  // `length` bytes at `offset` of remote segment `number`, exactly, or an error: kUnavailable
  // when the remote store cannot be reached or fails (the caller answers 503), kNotFound
  // when the object is missing. Must not block the calling executor.
  virtual boost::asio::awaitable<Result<std::string>> ReadAsync(uint32_t number, uint64_t offset,
                                                                uint64_t length) = 0;
  // The same, blocking (background threads and tools).
  virtual Result<std::string> Read(uint32_t number, uint64_t offset, uint64_t length) = 0;
  // The bytes returned for this range failed verification: drop any local copy of them so
  // the next read fetches them again.
  virtual void Forget(uint32_t number, uint64_t offset, uint64_t length) = 0;
};

class BlobCache;

class BlobStore {
 public:
  static constexpr uint64_t kRecordHeaderBytes = 40;  // docs/formats.md, "Blob segment record"

  // Opens `dir` (created if missing) and appends after the end of its highest segment. Unless
  // the store was shut down cleanly, that segment's tail is scanned first: records are
  // verified from its start and the first torn or checksum-failing record and everything
  // after it are cut off (logged, and described by tail_report()).
  // Fails with kUnavailable when another process has the store open (flock on <dir>/LOCK).
  static Result<std::unique_ptr<BlobStore>> Open(const std::string& dir,
                                                 const BlobStoreOptions& options);
  // Stops the background sync, syncs, and marks the store cleanly shut down.
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Appends one record. Under FsyncPolicy::kAlways it returns once the record is
  // fdatasync'ed; concurrent appends are written together and share one fdatasync (group
  // commit). On success the returned location (owner left 0; the caller sets it) reads the
  // bytes back. On failure nothing that a location points at was written.
  Result<BlobLocation> Append(uint64_t blob_id, std::span<const char> bytes);

  // Appends one tombstone per deleted record (same durability as Append): a deletion marker
  // that fsck and rebuild-index honour. Call it after the index rows of `deleted` are gone.
  Status AppendTombstones(std::span<const std::pair<uint64_t, BlobLocation>> deleted);

  // Reads and verifies a blob with pread on the calling thread (blocking). Small blobs read
  // once are then served from the in-memory cache (BlobStoreOptions::cache_bytes). A
  // location in a segment that compaction has since removed is followed to the record's new
  // place.
  Result<std::string> Read(const BlobLocation& loc) const;

  // Reads and verifies a blob without blocking the calling executor: from the cache, else
  // through io_uring (Asio random_access_file) when available, else pread on the calling
  // thread.
  // `loc` is taken by value so the coroutine never holds a reference to the caller's frame.
  // The store must outlive the returned awaitable.
  boost::asio::awaitable<Result<std::string>> ReadAsync(BlobLocation loc) const;

  // A verified blob's bytes left in their segment file, for sending with sendfile(2): the
  // payload is checksummed through a read-only mapping (no copy into the process), and
  // `keep` holds the segment file open even if compaction removes it meanwhile.
  struct FileExtent {
    std::shared_ptr<const void> keep;
    int fd = -1;
    uint64_t offset = 0;  // of the payload in fd
    uint64_t length = 0;
  };
  Result<FileExtent> OpenExtent(const BlobLocation& loc) const;

  // ---- tiering ----

  // Reads of remote segments go to `tier` (null: they fail with kUnavailable). Set it before
  // serving; `tier` must outlive the store's readers.
  void SetRemoteTier(RemoteTier* tier) { remote_.store(tier, std::memory_order_release); }

  // Sealed segment `number` now has a verified remote copy, named by `remote_name` (e.g. the
  // object key): writes the manifest `seg-NNNNNNNN.remote` (synced), switches readers to the
  // remote tier, then removes the local file. Readers that hold the local file finish from it.
  Status MarkRemote(uint32_t number, const std::string& remote_name);

  // The local file of a sealed segment (for uploading it), held open by the returned handle.
  struct SegmentFile {
    std::shared_ptr<const void> keep;
    int fd = -1;
    uint64_t size = 0;
  };
  Result<SegmentFile> OpenSegmentFile(uint32_t number) const;

  // ---- maintenance (fsck, rebuild-index, compaction) ----

  // The segments, in number order.
  std::vector<SegmentInfo> Segments() const;

  // Visits the records of segment `number` in file order. Headers are always verified;
  // payloads too when `verify_payloads`. Stops at the first record that fails (returned as
  // kCorruption naming the offset; records before it were visited) or when `fn` returns
  // false. Runs beside appends and reads.
  Status ScanSegment(uint32_t number, bool verify_payloads,
                     const std::function<bool(const ScannedRecord&)>& fn) const;

  // Like ScanSegment with payloads verified, but goes on past damage, for fsck and
  // rebuild-index: after a record whose header checks but whose payload does not, at the
  // record that follows it; after a damaged header, at the next offset where an intact header
  // starts (records from there on have `resynced` set). Each skipped stretch is passed to
  // `on_damage` (either callback may be empty). Stops early when `on_record` returns false.
  // Errors: kNotFound for an unknown segment; read errors are reported as damage.
  Status SalvageSegment(uint32_t number, const std::function<bool(const ScannedRecord&)>& on_record,
                        const std::function<void(const DamagedRange&)>& on_damage) const;

  // Cuts segment `number` at `offset` (fsck --repair on a sealed segment's damaged tail).
  Status TruncateSegment(uint32_t number, uint64_t offset);

  // Copies a verified record into the active segment (same blob id) and returns its new
  // place; the old one stays readable until RetireSegment.
  Result<BlobLocation> Copy(uint64_t blob_id, const BlobLocation& from);

  // Removes a sealed segment whose live records were copied elsewhere. `moved` maps each
  // copied record's old offset to its new location, so that locations still held in memory
  // (caches, requests in flight) keep reading the same bytes. Readers that already hold the
  // segment finish from the unlinked file.
  Status RetireSegment(uint32_t number, std::vector<std::pair<uint64_t, BlobLocation>> moved);

  // Serialises changes to the blob index (the `blobs` column family) between compaction,
  // which re-points rows, and deletion, which removes them: hold it from checking a row to
  // writing the batch that changes it.
  [[nodiscard]] std::unique_lock<std::mutex> LockIndex() const {
    return std::unique_lock(index_mu_);
  }
  // Serialises whole-segment maintenance (compaction rewriting a segment, tiering moving one
  // out) so that the two never work on the same segment at once.
  [[nodiscard]] std::unique_lock<std::mutex> LockMaintenance() const {
    return std::unique_lock(maintenance_mu_);
  }

  const TailReport& tail_report() const { return tail_; }
  // Tombstones appended since Open (the compactor runs again only when this moved).
  uint64_t tombstones_appended() const { return tombstones_.load(std::memory_order_relaxed); }
  const std::string& dir() const { return dir_; }
  // Bytes in all local segment files.
  uint64_t DiskBytes() const;

  // True when ReadAsync uses io_uring: probed once at Open; turns false for good if an
  // event loop later cannot create its ring (ReadAsync then falls back to pread).
  bool io_uring_enabled() const { return io_uring_; }

 private:
  struct Segment;
  struct Pending;
  using SegmentPtr = std::shared_ptr<Segment>;
  // Segment numbers are indexes into a fixed table so that readers find a segment with one
  // atomic load while an append adds segments; 65535 segments of the default 1 GiB are
  // 64 TiB, far past one machine's disks.
  static constexpr uint32_t kMaxSegments = 1u << 16;

  BlobStore();
  // The segment holding `loc`, following relocations of retired segments; `loc` is updated
  // to the record's current place.
  Result<SegmentPtr> Locate(BlobLocation& loc) const;
  // Segment `number` as published now (no forwarding): kNotFound when it does not exist, and
  // kConflict (segment_remote) when `local_only` and it lives in the remote tier.
  Result<SegmentPtr> Published(uint32_t number, bool local_only) const;
  // Creates segment `number` (and syncs the directory), makes it the append target and
  // publishes it to readers. REQUIRES: the caller is the writer (writing_ set).
  Status StartSegment(uint32_t number);
  Status ScanTail(Segment& seg);
  // Appends prepared records (group commit); fills each Pending's result.
  Status Submit(std::span<Pending*> mine);
  void WriteBatchOf(std::vector<Pending*>& batch);
  void SyncLoop();
  Result<std::string> ReadFromDisk(const BlobLocation& loc) const;
  Result<std::string> ReadRemote(const Segment& seg, const BlobLocation& loc) const;
  // Caches verified bytes and returns them.
  std::string Remember(const BlobLocation& loc, std::string bytes) const;

  std::string dir_;
  BlobStoreOptions options_;
  TailReport tail_;
  // Set at Open; cleared (once, with a warning) if an event loop cannot create its ring.
  mutable std::atomic<bool> io_uring_{false};
  int lock_fd_ = -1;                  // flock'ed <dir>/LOCK: one process per store
  std::unique_ptr<BlobCache> cache_;  // null when cache_bytes is 0
  std::atomic<RemoteTier*> remote_{nullptr};

  // Published segments by number: null until set, reset when retired.
  std::unique_ptr<std::atomic<SegmentPtr>[]> table_;
  // Where records of retired segments went: (segment << 40 | offset) -> new place.
  mutable std::shared_mutex moved_mu_;
  std::unordered_map<uint64_t, BlobLocation> moved_;  // GUARDED_BY(moved_mu_)

  mutable std::mutex index_mu_;        // see LockIndex
  mutable std::mutex maintenance_mu_;  // see LockMaintenance
  std::atomic<uint64_t> tombstones_{0};

  // Group commit: appenders queue under mu_; one of them at a time (the writer) takes the
  // whole queue, writes it with one pwritev and one fdatasync outside the lock.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending*> queue_;  // GUARDED_BY(mu_)
  bool writing_ = false;         // GUARDED_BY(mu_): a writer is at work
  SegmentPtr active_;            // append target; written only by the writer
  uint64_t active_size_ = 0;     // append position; written only by the writer
  uint32_t last_number_ = 0;     // highest segment number ever used; GUARDED_BY(mu_)

  // FsyncPolicy::kInterval.
  mutable std::mutex sync_mu_;  // the syncer's fdatasync against a segment roll closing the fd
  std::condition_variable sync_cv_;
  bool stopping_ = false;  // GUARDED_BY(sync_mu_)
  std::thread syncer_;
};

}  // namespace glint::storage
