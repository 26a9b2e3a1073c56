// Reclaims the space of deleted blobs: the compactor rewrites sealed segments whose live
// fraction fell below a threshold, copying their live records to the active segment,
// re-pointing the `blobs` index rows, and then removing the old file.
//
// A record is live when the index row of its blob id points at exactly its place; anything
// else (a deleted blob, an upload that was never acknowledged, a render that lost a race, an
// older copy) is dead. Tombstones are kept while the segment of the record they delete
// still exists. Readers are never blocked: a record is readable at its old place until the
// old segment is retired, and BlobStore forwards locations still held in memory to the new
// place. A crash at any point leaves every indexed blob readable: copies that were not yet
// indexed are dead bytes, and a segment whose records all moved is retired by the next pass.
//
// Cost: a pass reads every `blobs` row once (to learn each segment's live bytes) and then
// only the segments it rewrites. The background thread runs a pass at start and then only
// after tombstones were appended, at nice +10.
//
// Thread-safety: RunOnce may be called from one thread at a time; Start/Stop by the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "base/status.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::storage {

struct CompactorOptions {
  double live_threshold = 0.5;                // rewrite sealed segments less live than this
  std::chrono::milliseconds interval{60000};  // how often the background thread looks
};

struct CompactionReport {
  uint32_t segments_rewritten = 0;  // compacted (or found empty) and removed
  uint64_t records_moved = 0;
  uint64_t bytes_moved = 0;
  uint64_t bytes_freed = 0;  // file bytes removed minus bytes copied
};

class Compactor {
 public:
  // `db` and `blobs` must outlive the compactor.
  Compactor(Db& db, BlobStore& blobs, CompactorOptions options);
  ~Compactor();  // Stop()
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  // One pass over every sealed segment.
  Result<CompactionReport> RunOnce();

  void Start();
  void Stop();  // waits for a pass in progress; idempotent

 private:
  // Copies segment `number`'s live records away, re-points their rows, and retires it.
  Status Rewrite(uint32_t number, CompactionReport& report);
  void Run();

  Db& db_;
  BlobStore& blobs_;
  CompactorOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace glint::storage
