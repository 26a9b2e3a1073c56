#include "tools/fsck.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "core/fsck.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::tools {
namespace {

// 45210 -> "45,210".
std::string Count(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// 1288490188 -> "1.2 GiB".
std::string Bytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  }
  return buf;
}

// The progress line on stderr: first after a second, then at most once a second, and once
// more at the end if any was printed.
class ProgressLine {
 public:
  explicit ProgressLine(std::string name)
      : name_(std::move(name)), start_(Clock::now()), last_(start_) {}

  void Update(const core::CheckProgress& p) {
    latest_ = p;
    const Clock::time_point now = Clock::now();
    if (now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    Print();
  }
  void Finish() {
    if (printed_) Print();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void Print() {
    printed_ = true;
    std::string line = name_ + ": ";
    switch (latest_.phase) {
      case core::CheckProgress::kSegments: {
        const storage::CatalogProgress& s = latest_.scan;
        const uint64_t pct = s.bytes_total == 0 ? 100 : s.bytes_done * 100 / s.bytes_total;
        line += "segment " + std::to_string(s.segment_index) + "/" + std::to_string(s.segments) +
                ", " + Bytes(s.bytes_done) + " of " + Bytes(s.bytes_total) + " (" +
                std::to_string(pct) + "%), " + Count(s.records) + " records";
        break;
      }
      case core::CheckProgress::kReferences:
        line += "reading photos, uploads and variants, " + Count(latest_.rows) + " rows";
        break;
      case core::CheckProgress::kIndex:
        line += "reading the blob index, " + Count(latest_.rows) + " rows";
        break;
      case core::CheckProgress::kRows:
        line += "checking tags and badges, " + Count(latest_.rows) + " rows";
        break;
      case core::CheckProgress::kWriting:
        line += "writing, " + Count(latest_.rows) + " rows";
        break;
    }
    std::cerr << line << std::endl;
  }

  std::string name_;
  Clock::time_point start_;
  Clock::time_point last_;
  bool printed_ = false;
  core::CheckProgress latest_;
};

struct Stores {
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<storage::BlobStore> blobs;
};

// Opens an existing data directory without creating anything in it.
Result<Stores> OpenStores(const Config& config) {
  const std::string db_dir = config.data_dir + "/db";
  const std::string blob_dir = config.data_dir + "/blobs";
  std::error_code ec;
  if (!std::filesystem::is_directory(db_dir, ec) || !std::filesystem::is_directory(blob_dir, ec)) {
    return NotFound("no glint data directory at " + config.data_dir + " (it needs db/ and blobs/)",
                    "no_data_dir");
  }
  Stores s;
  auto in_use = [&](const Status& st) {
    return Unavailable(config.data_dir +
                           " is in use by another process: stop `glint serve` first (" +
                           st.message() + ")",
                       "data_dir_in_use");
  };
  auto db = storage::Db::Open(db_dir, storage::DbOptions{});
  if (!db.ok()) return db.status().code() == Code::kUnavailable ? in_use(db.status()) : db.status();
  s.db = std::move(*db);
  storage::BlobStoreOptions options = config.blobs;
  options.use_io_uring = false;  // one thread reading sequentially
  options.cache_bytes = 0;
  auto blobs = storage::BlobStore::Open(blob_dir, options);
  if (!blobs.ok()) {
    return blobs.status().code() == Code::kUnavailable ? in_use(blobs.status()) : blobs.status();
  }
  s.blobs = std::move(*blobs);
  return s;
}

void PrintTail(const std::string& name, const storage::BlobStore& blobs) {
  const storage::TailReport& tail = blobs.tail_report();
  if (!tail.scanned || tail.cut_bytes == 0) return;
  std::cout << name << ": the store was not shut down cleanly; opening it cut "
            << Bytes(tail.cut_bytes) << " from the end of segment " << tail.segment << " at offset "
            << tail.valid_end << " (" << tail.reason << ")\n";
}

void PrintCounts(const std::string& name, const core::StoreCounts& c) {
  std::cout << name << ": " << Count(c.segments) << " segments, " << Bytes(c.segment_bytes) << ", "
            << Count(c.records) << " records, " << Count(c.tombstones) << " tombstones\n";
  std::cout << name << ": " << Count(c.photos) << " photos, " << Count(c.variants) << " variants, "
            << Count(c.pending_uploads) << " pending uploads\n";
  if (c.orphans > 0) {
    std::cout << name << ": " << Count(c.orphans) << " orphan records, " << Bytes(c.orphan_bytes)
              << " (nothing refers to them; compaction reclaims them)\n";
  }
  if (c.deleted_records > 0) {
    std::cout << name << ": " << Count(c.deleted_records) << " deleted records, "
              << Bytes(c.deleted_bytes) << " (awaiting compaction)\n";
  }
  if (c.spare_copies > 0) {
    std::cout << name << ": " << Count(c.spare_copies) << " spare copies of indexed blobs, "
              << Bytes(c.spare_bytes) << " (left by an interrupted compaction)\n";
  }
}

void PrintFinding(const core::Finding& f, bool repair) {
  std::cout << core::FindingName(f.kind) << ": " << f.what << "\n";
  if (f.repaired) {
    std::cout << "  repaired: " << f.fix_note << "\n";
  } else if (f.fixable && !repair) {
    std::cout << "  --repair would " << f.fix_note << "\n";
  } else {
    std::cout << "  left as is: " << f.fix_note << "\n";
  }
}

}  // namespace

int AdminFsck(const Config& config, bool repair) {
  const std::string name = "fsck";
  auto stores = OpenStores(config);
  if (!stores.ok()) {
    std::cerr << "glint admin fsck: " << stores.status().message() << "\n";
    return kExitCannotRun;
  }
  PrintTail(name, *stores->blobs);
  ProgressLine progress(name);
  core::FsckOptions options;
  options.repair = repair;
  auto report = core::CheckStore(*stores->db, *stores->blobs, options,
                                 [&](const core::CheckProgress& p) { progress.Update(p); });
  progress.Finish();
  if (!report.ok()) {
    std::cerr << "glint admin fsck: " << report.status().ToString() << "\n";
    return kExitCannotRun;
  }
  PrintCounts(name, report->counts);
  std::cout << name << ": " << Count(report->index_rows) << " index rows";
  if (report->unreferenced_index_rows > 0) {
    std::cout << ", " << Count(report->unreferenced_index_rows)
              << " of blobs nothing refers to any more";
  }
  std::cout << "\n";
  const core::RowCounts& rows = report->rows;
  std::cout << name << ": " << Count(rows.tags) << " tags (" << Count(rows.tagged)
            << " tagged rows), " << Count(rows.badges) << " badges (" << Count(rows.badge_senders)
            << " senders counted)\n";
  for (const core::Finding& f : report->findings) PrintFinding(f, repair);
  if (report->findings.size() < report->differences) {
    std::cout << "... and " << Count(report->differences - report->findings.size())
              << " more differences not listed\n";
  }
  if (report->clean()) {
    std::cout << name << ": clean\n";
    return kExitClean;
  }
  std::string kinds;
  for (size_t k = 0; k < report->by_kind.size(); ++k) {
    if (report->by_kind[k] == 0) continue;
    if (!kinds.empty()) kinds += ", ";
    kinds += std::string(core::FindingName(static_cast<core::FindingKind>(k))) + " " +
             Count(report->by_kind[k]);
  }
  std::cout << name << ": " << Count(report->differences) << " differences (" << kinds << ")";
  if (repair) {
    std::cout << "; " << Count(report->repaired) << " repaired, "
              << Count(report->differences - report->repaired) << " left";
  }
  std::cout << "\n";
  return kExitDifferences;
}

int AdminRebuildIndex(const Config& config) {
  const std::string name = "rebuild-index";
  auto stores = OpenStores(config);
  if (!stores.ok()) {
    std::cerr << "glint admin rebuild-index: " << stores.status().message() << "\n";
    return kExitCannotRun;
  }
  PrintTail(name, *stores->blobs);
  ProgressLine progress(name);
  auto report = core::RebuildBlobIndex(*stores->db, *stores->blobs, core::RebuildOptions{},
                                       [&](const core::CheckProgress& p) { progress.Update(p); });
  progress.Finish();
  if (!report.ok()) {
    std::cerr << "glint admin rebuild-index: " << report.status().ToString() << "\n";
    return kExitCannotRun;
  }
  PrintCounts(name, report->counts);
  for (const core::Finding& f : report->findings) PrintFinding(f, /*repair=*/true);
  if (report->findings.size() < report->findings_total) {
    std::cout << "... and " << Count(report->findings_total - report->findings.size())
              << " more not listed\n";
  }
  std::cout << name << ": " << Count(report->rows_after) << " index rows (was "
            << Count(report->rows_before) << "): " << Count(report->rows_put) << " written, "
            << Count(report->rows_deleted) << " deleted";
  if (report->variants_dropped > 0) {
    std::cout << "; " << Count(report->variants_dropped) << " variant rows dropped";
  }
  std::cout << "\n";
  if (report->lost > 0) {
    std::cout << name << ": " << Count(report->lost)
              << " photos or pending uploads have no intact record\n";
    return kExitDifferences;
  }
  return kExitClean;
}

}  // namespace glint::tools
