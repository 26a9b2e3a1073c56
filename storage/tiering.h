// S3 tiering: sealed blob-store segments move to an S3-compatible bucket when the policy
// says so, and reads of their records are served from the bucket through a local cache.
//
// Moving a segment out: the whole file is PUT as one object (`<key_prefix>seg-NNNNNNNN.log`)
// with Content-MD5, the answer's ETag is checked against the MD5, a HEAD confirms the size
// and ETag, and only then does BlobStore::MarkRemote write the manifest and remove the local
// file. Any failure (the bucket unreachable, a 5xx, a mismatch) leaves the segment local; the
// next attempt waits longer (exponential backoff up to max_backoff).
//
// Policy: a sealed segment moves out when its last write is older than `after_seconds`
// (0: never by age), and the oldest sealed segments move out while the local segment bytes
// exceed `local_budget_bytes` (0: no budget). The active segment never moves.
//
// Reads (RemoteTier): a record is fetched with one ranged GET of its header and payload and
// kept in `cache_dir` (a file per record, least recently used evicted past `cache_bytes`),
// so a hot remote blob costs one request. An unreachable bucket is kUnavailable (HTTP 503),
// never a wrong byte: BlobStore verifies every fetched record.
//
// Thread-safety: RunOnce from one thread at a time (the background thread, or a test);
// the RemoteTier methods from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "base/status.h"
#include "storage/blob_store.h"
#include "storage/s3_client.h"

namespace glint::storage {

struct TieringOptions {
  std::string key_prefix = "glint/";
  int64_t after_seconds = 0;        // move sealed segments older than this (0 = not by age)
  uint64_t local_budget_bytes = 0;  // move the oldest while local bytes exceed it (0 = none)
  std::string cache_dir;            // local copies of remote records; required
  uint64_t cache_bytes = 1ull << 30;
  std::chrono::milliseconds interval{10000};      // how often the policy is checked
  std::chrono::milliseconds max_backoff{300000};  // longest wait after failed attempts
};

struct TieringReport {
  uint32_t segments_moved = 0;
  uint64_t bytes_moved = 0;
};

class Tiering final : public RemoteTier {
 public:
  // `blobs` and `s3` must outlive the tiering. Creates cache_dir and indexes what it holds.
  static Result<std::unique_ptr<Tiering>> Open(BlobStore& blobs, S3Client& s3,
                                               TieringOptions options);
  ~Tiering() override;  // Stop()

  // One look at the policy; moves out every segment it picks, in number order. Stops at the
  // first failure and returns it (what moved before it stays moved).
  Result<TieringReport> RunOnce();
  // Moves one sealed local segment out (upload, verify, MarkRemote).
  Status MoveOut(uint32_t number);

  void Start();
  void Stop();  // waits for a move in progress; idempotent

  // RemoteTier.
  boost::asio::awaitable<Result<std::string>> ReadAsync(uint32_t number, uint64_t offset,
                                                        uint64_t length) override;
  Result<std::string> Read(uint32_t number, uint64_t offset, uint64_t length) override;
  void Forget(uint32_t number, uint64_t offset, uint64_t length) override;

  std::string ObjectKey(uint32_t number) const;
  uint64_t cache_bytes_used() const;

 private:
  Tiering(BlobStore& blobs, S3Client& s3, TieringOptions options);
  void Run();
  // The local cache of fetched records.
  std::string CachePath(uint32_t number, uint64_t offset, uint64_t length) const;
  std::optional<std::string> CacheFind(uint32_t number, uint64_t offset, uint64_t length);
  void CacheInsert(uint32_t number, uint64_t offset, uint64_t length, const std::string& bytes);

  BlobStore& blobs_;
  S3Client& s3_;
  TieringOptions options_;

  mutable std::mutex cache_mu_;
  std::list<std::string> lru_;  // cache file names, most recent first; GUARDED_BY(cache_mu_)
  struct CacheEntry {
    std::list<std::string>::iterator pos;
    uint64_t bytes;
  };
  std::unordered_map<std::string, CacheEntry> cached_;  // GUARDED_BY(cache_mu_)
  uint64_t cached_bytes_ = 0;                           // GUARDED_BY(cache_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace glint::storage
