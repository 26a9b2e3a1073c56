#include "storage/compactor.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <limits>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/log.h"
#include "storage/record.h"

namespace glint::storage {
namespace {

// Index rows re-pointed per WriteBatch: bounds the time deletions wait on LockIndex.
constexpr size_t kRepointBatch = 4096;

}  // namespace

Compactor::Compactor(Db& db, BlobStore& blobs, CompactorOptions options)
    : db_(db), blobs_(blobs), options_(options) {}

Compactor::~Compactor() { Stop(); }

Result<CompactionReport> Compactor::RunOnce() {
  CompactionReport report;
  // Live bytes per segment, from the index: the only full read of a pass.
  std::unordered_map<uint32_t, uint64_t> live;
  GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kBlobs, "", std::numeric_limits<size_t>::max(),
                                 [&](std::string_view, std::string_view value) {
                                   auto loc = BlobLocation::Decode(value);
                                   if (loc.ok()) {
                                     live[loc->segment] +=
                                         BlobStore::kRecordHeaderBytes + loc->length;
                                   }
                                   return true;
                                 }));
  for (const SegmentInfo& seg : blobs_.Segments()) {
    // Remote segments stay as they are: rewriting one would mean downloading it.
    if (seg.active || seg.remote) continue;
    const uint64_t live_bytes = live[seg.number];
    if (seg.bytes > 0 && static_cast<double>(live_bytes) >=
                             options_.live_threshold * static_cast<double>(seg.bytes)) {
      continue;
    }
    if (Status s = Rewrite(seg.number, report); !s.ok()) {
      // A damaged segment is fsck's business; the others are still worth compacting.
      log::Error("compaction of segment " + std::to_string(seg.number) +
                 " stopped: " + s.ToString());
    }
  }
  return report;
}

Status Compactor::Rewrite(uint32_t number, CompactionReport& report) {
  auto maintenance = blobs_.LockMaintenance();  // tiering leaves this segment alone meanwhile
  std::set<uint32_t> existing;
  uint64_t file_bytes = 0;
  bool still_local = false;
  for (const SegmentInfo& s : blobs_.Segments()) {
    existing.insert(s.number);
    if (s.number == number) {
      file_bytes = s.bytes;
      still_local = !s.remote && !s.active;
    }
  }
  if (!still_local) return Status::Ok();  // tiered out (or gone) since the pass looked
  struct Candidate {
    uint64_t blob_id;
    BlobLocation at;
  };
  std::vector<Candidate> live;
  std::vector<std::pair<uint64_t, BlobLocation>> tombstones;
  Status lookup = Status::Ok();
  GLINT_RETURN_IF_ERROR(
      blobs_.ScanSegment(number, /*verify_payloads=*/false, [&](const ScannedRecord& r) {
        if (r.tombstone) {
          // Still needed while the record it deletes may be on disk.
          if (r.deleted_segment != number && existing.count(r.deleted_segment)) {
            BlobLocation deleted;
            deleted.segment = r.deleted_segment;
            deleted.offset = r.deleted_offset;
            tombstones.emplace_back(r.blob_id, deleted);
          }
          return true;
        }
        auto row = db_.Get(Cf::kBlobs, U64Key(r.blob_id));
        if (!row.ok()) {
          lookup = row.status();
          return false;
        }
        if (!*row) return true;
        auto loc = BlobLocation::Decode(**row);
        if (loc.ok() && loc->segment == number && loc->offset == r.location.offset) {
          live.push_back({r.blob_id, r.location});
        }
        return true;
      }));
  GLINT_RETURN_IF_ERROR(lookup);

  // Copy first, with no lock held: readers and deletions go on meanwhile.
  std::vector<std::pair<uint64_t, BlobLocation>> moved;  // old offset -> new place
  std::vector<uint64_t> moved_ids;
  for (const Candidate& c : live) {
    GLINT_ASSIGN_OR_RETURN(BlobLocation to, blobs_.Copy(c.blob_id, c.at));
    moved.emplace_back(c.at.offset, to);
    moved_ids.push_back(c.blob_id);
    report.bytes_moved += BlobStore::kRecordHeaderBytes + c.at.length;
  }
  if (!tombstones.empty()) GLINT_RETURN_IF_ERROR(blobs_.AppendTombstones(tombstones));

  // Re-point only rows that still name the old place: a blob deleted since the scan stays
  // deleted, and its copy is dead bytes.
  for (size_t i = 0; i < moved.size(); i += kRepointBatch) {
    auto lock = blobs_.LockIndex();
    WriteBatch batch;
    for (size_t j = i; j < std::min(moved.size(), i + kRepointBatch); ++j) {
      const std::string key = U64Key(moved_ids[j]);
      GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBlobs, key));
      if (!row) continue;
      GLINT_ASSIGN_OR_RETURN(BlobLocation current, BlobLocation::Decode(*row));
      if (current.segment != number || current.offset != moved[j].first) continue;
      BlobLocation to = moved[j].second;
      to.owner = current.owner;
      batch.Put(Cf::kBlobs, key, to.Encode());
      ++report.records_moved;
    }
    if (batch.Count() > 0) GLINT_RETURN_IF_ERROR(db_.Write(batch));
  }
  GLINT_RETURN_IF_ERROR(blobs_.RetireSegment(number, std::move(moved)));
  ++report.segments_rewritten;
  report.bytes_freed += file_bytes > report.bytes_moved ? file_bytes - report.bytes_moved : 0;
  log::Info("compacted blob segment " + std::to_string(number) + ": " +
            std::to_string(live.size()) + " live records moved, " + std::to_string(file_bytes) +
            " file bytes removed");
  return Status::Ok();
}

void Compactor::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Compactor::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Compactor::Run() {
  // Background work: below the request threads, like the rendition worker.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  bool first = true;
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const uint64_t now = blobs_.tombstones_appended();
    if (first || now != seen) {
      first = false;
      seen = now;
      lock.unlock();
      auto report = RunOnce();
      if (!report.ok()) log::Error("blob compaction: " + report.status().ToString());
      lock.lock();
    }
    cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace glint::storage
