// Background renditions: after a photo is registered, its BlurHash (kept in the photo record)
// and its common sizes (variants `?w=150`, `?w=640`, `?w=1080` by default) are made from a
// single decode, off the request path, so the first visitor of a gallery finds them ready.
//
// The work queue is durable: Service::AddPhoto writes a renditions_due row in the same batch
// as the photo, and the row is removed in the write that stores the BlurHash. A crash or a
// restart in between only means the work is done after the next start.
//
// One worker thread, at a lower CPU priority (nice +10) than request threads, takes due
// photos in id order; it never competes with more than one core. A source that cannot be
// decoded is logged and dropped (it stays servable as it is); a storage error is retried
// after a pause.
//
// Thread-safety: Notify may be called from any thread; Start and Stop from the owner.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "core/service.h"
#include "core/transform.h"
#include "core/transformer.h"
#include "storage/db.h"

namespace glint::core {

struct RenditionOptions {
  std::vector<uint32_t> widths = {150, 640, 1080};  // empty: only the BlurHash
  std::chrono::milliseconds retry_pause{5000};      // after a storage error
};

// Parses a list of widths such as "150,640,1080" ("" = none); each 1..16384, at most 16.
// Errors: kInvalidArgument naming the bad item.
Result<std::vector<uint32_t>> ParseWidths(std::string_view text);

class RenditionWorker {
 public:
  // `service`, `transformer` and `db` must outlive the worker.
  RenditionWorker(Service& service, Transformer& transformer, storage::Db& db,
                  RenditionOptions options);
  ~RenditionWorker();  // Stop()

  // Starts the thread; it first takes the rows an earlier run left.
  void Start();
  // Photo `photo_id` has a new renditions_due row.
  void Notify(uint64_t photo_id);
  // Finishes the photo in hand (if any) and joins the thread. Idempotent.
  void Stop();

  // Photos finished (successfully or dropped) so far; for tests and logs.
  uint64_t completed() const { return completed_.load(); }

 private:
  void Run();
  // Does one photo's work. False when it must be retried later (a storage error).
  bool Process(uint64_t photo_id);

  Service& service_;
  Transformer& transformer_;
  storage::Db& db_;
  RenditionOptions options_;
  std::vector<TransformSpec> specs_;

  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;         // GUARDED_BY(mu_)
  uint64_t rescan_from_ = 0;  // GUARDED_BY(mu_); lowest id notified since the last pass
  bool notified_ = false;     // GUARDED_BY(mu_)
  std::atomic<uint64_t> completed_{0};
  std::thread thread_;
};

}  // namespace glint::core
