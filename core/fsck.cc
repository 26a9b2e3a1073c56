#include "core/fsck.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/fsck_rows.h"
#include "core/records.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::BlobCatalog;
using storage::BlobLocation;
using storage::CatalogRecord;
using storage::Cf;
using storage::U64Key;

constexpr size_t kAllRows = std::numeric_limits<size_t>::max();
constexpr uint64_t kProgressEveryRows = 1024;

std::string Place(uint32_t segment, uint64_t offset) {
  return "segment " + std::to_string(segment) + " offset " + std::to_string(offset);
}

// ---- who refers to a blob ----

enum class RefKind : uint8_t { kPhoto, kUpload, kVariant };  // in order of how well they name

struct BlobRef {
  uint64_t blob_id = 0;
  uint64_t owner = 0;
  uint64_t checksum = 0;  // valid when has_checksum
  uint64_t photo_id = 0;  // the photo (original or variant); 0 for a pending upload
  RefKind kind = RefKind::kPhoto;
  bool has_checksum = false;
};

struct PhotoOwner {
  uint64_t photo_id = 0;
  uint64_t owner = 0;
};

std::string Describe(const BlobRef& ref) {
  switch (ref.kind) {
    case RefKind::kPhoto:
      return "the original of photo " + std::to_string(ref.photo_id) + " (user " +
             std::to_string(ref.owner) + ")";
    case RefKind::kVariant:
      return "a variant of photo " + std::to_string(ref.photo_id) + " (user " +
             std::to_string(ref.owner) + ")";
    case RefKind::kUpload:
      return "a pending upload of user " + std::to_string(ref.owner);
  }
  return "";
}

// Accepts a record as a blob's bytes when it matches what the referring row knows. Without a
// known checksum, a record found by resynchronising past damage is refused: its place is not
// proven, and its bytes could be another blob's payload shaped like a record.
bool Matches(const BlobRef& ref, const CatalogRecord& r) {
  return ref.has_checksum ? r.checksum == ref.checksum : !r.resynced;
}

// A variant row's value: a record with the blob id in field 6, or (rows written before that
// record existed) a copy of the blob's BlobLocation.
struct VariantValue {
  uint64_t blob_id = 0;
  std::optional<BlobLocation> legacy;
};

Result<VariantValue> DecodeVariant(std::string_view data) {
  VariantValue v;
  storage::RecordReader r(data);
  while (r.Next()) {
    if (r.field() == 6 && !r.is_bytes()) v.blob_id = r.u64();
  }
  if (!r.status().ok()) return Corruption("variant row is malformed: " + r.status().message());
  if (v.blob_id != 0) return v;
  auto legacy = BlobLocation::Decode(data);
  if (!legacy.ok()) {
    return Corruption("variant row has neither a blob id nor a location: " +
                      legacy.status().message());
  }
  v.legacy = *legacy;
  return v;
}

// Collects findings: counts all, keeps the first `max_listed`.
class Findings {
 public:
  Findings(size_t max_listed, bool repair) : max_(max_listed), repair_(repair) {}

  void Add(Finding f) {
    ++total_;
    ++by_kind_[static_cast<size_t>(f.kind)];
    if (f.fixable && repair_) {
      f.repaired = true;
      ++repaired_;
    }
    if (list_.size() < max_) list_.push_back(std::move(f));
  }

  uint64_t total() const { return total_; }
  uint64_t repaired() const { return repaired_; }
  const std::array<uint64_t, static_cast<size_t>(FindingKind::kCount)>& by_kind() const {
    return by_kind_;
  }
  std::vector<Finding> Take() { return std::move(list_); }

 private:
  size_t max_;
  bool repair_;
  uint64_t total_ = 0;
  uint64_t repaired_ = 0;
  std::array<uint64_t, static_cast<size_t>(FindingKind::kCount)> by_kind_{};
  std::vector<Finding> list_;
};

Finding Make(FindingKind kind, uint64_t blob_id, std::string what) {
  Finding f;
  f.kind = kind;
  f.blob_id = blob_id;
  f.what = std::move(what);
  return f;
}

// Everything the photos, uploads and variants rows say about blobs.
struct References {
  std::vector<BlobRef> refs;       // by blob id, one per id (the best namer)
  std::vector<PhotoOwner> photos;  // by photo id
  uint64_t photo_rows = 0;
  uint64_t variant_rows = 0;
  uint64_t pending_uploads = 0;

  const BlobRef* Find(uint64_t blob_id) const {
    auto it = std::lower_bound(refs.begin(), refs.end(), blob_id,
                               [](const BlobRef& r, uint64_t id) { return r.blob_id < id; });
    return it != refs.end() && it->blob_id == blob_id ? &*it : nullptr;
  }
  std::optional<uint64_t> OwnerOf(uint64_t photo_id) const {
    auto it = std::lower_bound(photos.begin(), photos.end(), photo_id,
                               [](const PhotoOwner& p, uint64_t id) { return p.photo_id < id; });
    if (it == photos.end() || it->photo_id != photo_id) return std::nullopt;
    return it->owner;
  }
};

// What one variant row amounts to: a reference to a blob, or a row that cannot be served
// (`stale` says why).
struct VariantRow {
  uint64_t photo_id = 0;
  std::optional<BlobRef> ref;
  std::string stale;
  bool malformed = false;
};

VariantRow ClassifyVariant(std::string_view key, std::string_view value, const References& refs,
                           const BlobCatalog& catalog) {
  VariantRow out;
  auto photo_id = storage::ReadU64BE(key);
  if (!photo_id) {
    out.malformed = true;
    out.stale = "its key is shorter than a photo id";
    return out;
  }
  out.photo_id = *photo_id;
  auto owner = refs.OwnerOf(*photo_id);
  if (!owner) {
    out.stale = "its photo " + std::to_string(*photo_id) + " does not exist";
    return out;
  }
  auto value_or = DecodeVariant(value);
  if (!value_or.ok()) {
    out.malformed = true;
    out.stale = value_or.status().message();
    return out;
  }
  BlobRef ref;
  ref.owner = *owner;
  ref.photo_id = *photo_id;
  ref.kind = RefKind::kVariant;
  if (!value_or->legacy) {
    ref.blob_id = value_or->blob_id;
    out.ref = ref;
    return out;
  }
  // A legacy row names a place, not a blob: the record there says which blob it is.
  const BlobLocation& loc = *value_or->legacy;
  const CatalogRecord* rec = catalog.At(loc.segment, loc.offset);
  if (rec == nullptr || rec->length != loc.length || rec->checksum != loc.checksum) {
    out.stale =
        "it names " + Place(loc.segment, loc.offset) + ", which does not hold its intact record";
    return out;
  }
  ref.blob_id = rec->blob_id;
  ref.checksum = loc.checksum;
  ref.has_checksum = true;
  out.ref = ref;
  return out;
}

void Report(const ProgressFn& progress, CheckProgress::Phase phase, uint64_t rows, bool force) {
  if (!progress || (!force && rows % kProgressEveryRows != 0)) return;
  CheckProgress p;
  p.phase = phase;
  p.rows = rows;
  progress(p);
}

// Reads the photos, uploads and variants rows. Malformed rows and variant rows that cannot
// be served become findings (their fix: deleting a stale variant row).
Status ReadReferences(const storage::Db& db, const BlobCatalog& catalog, const ProgressFn& progress,
                      References& out, Findings& findings) {
  uint64_t rows = 0;
  GLINT_RETURN_IF_ERROR(
      db.Scan(Cf::kPhotos, "", kAllRows, [&](std::string_view key, std::string_view value) {
        Report(progress, CheckProgress::kReferences, ++rows, false);
        ++out.photo_rows;
        auto id = storage::ReadU64BE(key);
        auto photo = Photo::Decode(value);
        if (!id || !photo.ok()) {
          Finding f =
              Make(FindingKind::kMalformedRow, 0,
                   "photos row " + (id ? std::to_string(*id) : "with a short key") +
                       " does not decode" + (photo.ok() ? "" : ": " + photo.status().message()));
          f.photo_id = id.value_or(0);
          f.fix_note = "not an index row: restore it from a backup or delete it by hand";
          findings.Add(std::move(f));
          return true;
        }
        out.photos.push_back({*id, photo->owner});
        out.refs.push_back(
            {photo->blob_id, photo->owner, photo->checksum, *id, RefKind::kPhoto, true});
        return true;
      }));
  GLINT_RETURN_IF_ERROR(
      db.Scan(Cf::kUploads, "", kAllRows, [&](std::string_view, std::string_view value) {
        Report(progress, CheckProgress::kReferences, ++rows, false);
        auto upload = ReceivedUpload::Decode(value);
        if (!upload.ok()) {
          Finding f = Make(FindingKind::kMalformedRow, 0,
                           "an uploads row does not decode: " + upload.status().message());
          f.fix_note = "not an index row: restore it from a backup or delete it by hand";
          findings.Add(std::move(f));
          return true;
        }
        if (upload->photo_id != 0) return true;  // its photo row speaks for the blob
        ++out.pending_uploads;
        out.refs.push_back(
            {upload->blob_id, upload->user_id, upload->checksum, 0, RefKind::kUpload, true});
        return true;
      }));
  // Keys are big-endian photo ids, so the photos came in id order.
  GLINT_RETURN_IF_ERROR(
      db.Scan(Cf::kVariants, "", kAllRows, [&](std::string_view key, std::string_view value) {
        Report(progress, CheckProgress::kReferences, ++rows, false);
        ++out.variant_rows;
        VariantRow row = ClassifyVariant(key, value, out, catalog);
        if (row.ref) {
          out.refs.push_back(*row.ref);
          return true;
        }
        std::string variant = std::string(key.size() > 8 ? key.substr(8) : key);
        Finding f =
            Make(row.malformed ? FindingKind::kMalformedRow : FindingKind::kStaleVariantRow, 0,
                 "variant row '" + variant + "' of photo " + std::to_string(row.photo_id) + ": " +
                     row.stale);
        f.photo_id = row.photo_id;
        f.fixable = true;
        f.fix_note = "delete the variant row (a variant is rendered again on request)";
        findings.Add(std::move(f));
        return true;
      }));
  Report(progress, CheckProgress::kReferences, rows, true);
  std::sort(out.refs.begin(), out.refs.end(), [](const BlobRef& a, const BlobRef& b) {
    return std::tie(a.blob_id, a.kind) < std::tie(b.blob_id, b.kind);
  });
  out.refs.erase(
      std::unique(out.refs.begin(), out.refs.end(),
                  [](const BlobRef& a, const BlobRef& b) { return a.blob_id == b.blob_id; }),
      out.refs.end());
  out.refs.shrink_to_fit();
  return Status::Ok();
}

// ---- writing ----

// Groups changes into WriteBatches of at most `max_ops` operations.
class Batcher {
 public:
  Batcher(storage::Db& db, size_t max_ops, const ProgressFn& progress)
      : db_(db), max_(std::max<size_t>(max_ops, 1)), progress_(progress) {}

  Status Put(Cf cf, std::string_view key, std::string_view value) {
    batch_.Put(cf, key, value);
    return MaybeFlush();
  }
  Status Delete(Cf cf, std::string_view key) {
    batch_.Delete(cf, key);
    return MaybeFlush();
  }
  Status Flush() {
    if (batch_.Count() == 0) return Status::Ok();
    written_ += batch_.Count();
    GLINT_RETURN_IF_ERROR(db_.Write(batch_));
    batch_ = storage::WriteBatch();
    Report(progress_, CheckProgress::kWriting, written_, true);
    return Status::Ok();
  }

 private:
  Status MaybeFlush() { return batch_.Count() >= max_ ? Flush() : Status::Ok(); }

  storage::Db& db_;
  size_t max_;
  const ProgressFn& progress_;
  storage::WriteBatch batch_;
  uint64_t written_ = 0;
};

// Deletes the variant rows that cannot be served, or whose blob is in `lost` (sorted).
Status DropVariants(const storage::Db& db, const References& refs, const BlobCatalog& catalog,
                    const std::vector<uint64_t>& lost, Batcher& batcher, uint64_t* dropped) {
  Status write;
  GLINT_RETURN_IF_ERROR(
      db.Scan(Cf::kVariants, "", kAllRows, [&](std::string_view key, std::string_view value) {
        VariantRow row = ClassifyVariant(key, value, refs, catalog);
        if (row.ref && !std::binary_search(lost.begin(), lost.end(), row.ref->blob_id)) {
          return true;
        }
        write = batcher.Delete(Cf::kVariants, key);
        ++*dropped;
        return write.ok();
      }));
  return write;
}

// ---- what the records are ----

// Where the index (as repaired, or as rebuilt) says each blob is, by blob id.
struct Placed {
  uint64_t blob_id = 0;
  uint32_t segment = 0;
  uint64_t offset = 0;
};

void CountRecords(const BlobCatalog& catalog, const References& refs,
                  const std::vector<Placed>& placed, StoreCounts& counts) {
  counts.segments = static_cast<uint32_t>(catalog.segments().size());
  counts.segment_bytes = catalog.total_bytes();
  counts.records = catalog.records().size();
  counts.tombstones = catalog.tombstones();
  counts.photos = refs.photo_rows;
  counts.variants = refs.variant_rows;
  counts.pending_uploads = refs.pending_uploads;
  for (const CatalogRecord& r : catalog.records()) {
    auto it = std::lower_bound(placed.begin(), placed.end(), r.blob_id,
                               [](const Placed& p, uint64_t id) { return p.blob_id < id; });
    const bool indexed = it != placed.end() && it->blob_id == r.blob_id;
    if (catalog.Deleted(r)) {
      ++counts.deleted_records;
      counts.deleted_bytes += r.length;
    } else if (indexed && it->segment == r.segment && it->offset == r.offset) {
      continue;  // the live copy
    } else if (indexed || refs.Find(r.blob_id) != nullptr) {
      ++counts.spare_copies;
      counts.spare_bytes += r.length;
    } else {
      ++counts.orphans;
      counts.orphan_bytes += r.length;
    }
  }
}

// One finding per damaged stretch. `placed` (by blob id) is the index as it will be; a tail
// is truncated (when `truncations` is given) only if no row points at or after it.
void ReportDamage(const BlobCatalog& catalog, const References& refs,
                  const std::vector<Placed>& placed, Findings& findings,
                  std::vector<std::pair<uint32_t, uint64_t>>* truncations) {
  if (catalog.damage().empty()) return;
  std::unordered_map<uint32_t, uint64_t> last_row;  // segment -> greatest offset a row names
  for (const Placed& p : placed) {
    auto [it, fresh] = last_row.emplace(p.segment, p.offset);
    if (!fresh) it->second = std::max(it->second, p.offset);
  }
  for (const storage::CatalogDamage& d : catalog.damage()) {
    Finding f = Make(FindingKind::kDamagedRecord, d.range.blob_id,
                     Place(d.segment, d.range.offset) + ": " + std::to_string(d.range.bytes) +
                         " bytes hold no intact record (" + d.range.reason + ")");
    f.segment = d.segment;
    f.offset = d.range.offset;
    f.bytes = d.range.bytes;
    if (d.range.header_intact) {
      f.what += "; it is blob " + std::to_string(d.range.blob_id);
      if (const BlobRef* ref = refs.Find(d.range.blob_id)) {
        f.what += ", " + Describe(*ref);
        f.photo_id = ref->photo_id;
      }
    }
    auto row = last_row.find(d.segment);
    const bool rows_after = row != last_row.end() && row->second >= d.range.offset;
    if (d.tail && !rows_after) {
      f.fix_note = "truncate segment " + std::to_string(d.segment) + " to " +
                   std::to_string(d.range.offset) + " bytes (nothing indexed lies after it)";
      if (truncations != nullptr) {
        f.fixable = true;
        truncations->emplace_back(d.segment, d.range.offset);
      } else {
        f.fix_note = "`glint admin fsck --repair` can " + f.fix_note;
      }
    } else if (d.tail) {
      f.fix_note = "index rows still point at or after it, so the tail is kept";
    } else {
      f.fix_note = "intact records follow it; compaction drops it once nothing refers to it";
    }
    findings.Add(std::move(f));
  }
}

// ---- fsck: one blob's index row against its references and records ----

// One blobs row (56 bytes; why a malformed one does not decode is kept aside, so the
// vector of all rows holds no strings).
struct IndexRow {
  uint64_t blob_id = 0;
  BlobLocation loc;
  bool malformed = false;
};

// The outcome of checking one blob id.
struct Decision {
  std::optional<Finding> finding;
  std::optional<BlobLocation> put;    // write this row
  bool remove = false;                // delete the row
  bool drop_variant = false;          // delete its variant rows (and its row, if any)
  std::optional<BlobLocation> place;  // where the index will say the blob is
};

// `error` says why a malformed row does not decode.
Decision Decide(uint64_t id, const BlobRef* ref, const IndexRow* row, const std::string& error,
                const BlobCatalog& catalog) {
  Decision d;
  auto fix = [&](Finding f, const CatalogRecord* copy, const std::string& copy_note) {
    if (copy != nullptr) {
      d.put = copy->Location(ref ? ref->owner : row->loc.owner);
      d.place = d.put;
      f.fixable = true;
      f.fix_note = copy_note + " " + Place(copy->segment, copy->offset);
    } else if (ref == nullptr) {
      d.remove = true;
      f.fixable = true;
      f.fix_note = "delete the row: nothing refers to the blob and no intact copy exists";
    } else if (ref->kind == RefKind::kVariant) {
      d.drop_variant = true;
      d.remove = row != nullptr;
      f.fixable = true;
      f.fix_note =
          "no intact copy: delete the variant row and the blob's row (the variant is rendered "
          "again on request)";
    } else {
      if (row != nullptr && !row->malformed) d.place = row->loc;
      f.fix_note = "no intact copy of the bytes exists: restore " + Describe(*ref) +
                   " from a backup, or delete the " +
                   (ref->kind == RefKind::kPhoto ? "photo" : "upload");
    }
    d.finding = std::move(f);
  };
  auto named = [&](std::string what) {
    if (ref != nullptr) what += "; it is " + Describe(*ref);
    Finding f = Make(FindingKind::kDamagedRecord, id, std::move(what));
    if (ref != nullptr) f.photo_id = ref->photo_id;
    return f;
  };
  const std::string blob = "blob " + std::to_string(id);

  if (row == nullptr || row->malformed) {
    // Referenced (an unreferenced blob without a row is not looked at).
    Finding f = named(row ? "the index row of " + blob + " does not decode (" + error + ")"
                          : blob + " has no index row");
    f.kind = row ? FindingKind::kMalformedRow : FindingKind::kMissingIndexRow;
    if (ref == nullptr) {  // a malformed row nothing refers to
      d.remove = true;
      f.fixable = true;
      f.fix_note = "delete the row: nothing refers to the blob";
      d.finding = std::move(f);
      return d;
    }
    const CatalogRecord* copy =
        catalog.Latest(id, [&](const CatalogRecord& r) { return Matches(*ref, r); });
    fix(std::move(f), copy, "add a row for the intact record at");
    return d;
  }

  const BlobLocation& loc = row->loc;
  const std::string at = Place(loc.segment, loc.offset);
  const CatalogRecord* rec = catalog.At(loc.segment, loc.offset);
  std::optional<Finding> problem;
  if (!catalog.HasSegment(loc.segment)) {
    problem = named("the index row of " + blob + " points at " + at + ", but segment " +
                    std::to_string(loc.segment) + " does not exist");
    problem->kind = FindingKind::kDanglingIndexRow;
  } else if (rec == nullptr) {
    if (const storage::CatalogDamage* dmg = catalog.DamageAt(loc.segment, loc.offset)) {
      problem = named("the index row of " + blob + " points at " + at + ", which is damaged (" +
                      dmg->range.reason + ")");
      problem->kind = FindingKind::kDamagedIndexRow;
    } else {
      problem = named("the index row of " + blob + " points at " + at + ", where no record starts");
      problem->kind = FindingKind::kDanglingIndexRow;
    }
  } else if (rec->blob_id != id || rec->length != loc.length || rec->checksum != loc.checksum) {
    problem = named(
        "the index row of " + blob + " (" + std::to_string(loc.length) + " bytes) points at " + at +
        ", which holds blob " + std::to_string(rec->blob_id) + " (" + std::to_string(rec->length) +
        " bytes, checksum " + (rec->checksum == loc.checksum ? "equal" : "different") + ")");
    problem->kind = FindingKind::kMismatchedIndexRow;
  } else if (ref != nullptr && ref->has_checksum && ref->checksum != loc.checksum) {
    problem = named("the index row of " + blob + " and its record at " + at +
                    " hold other bytes than the checksum the referring row expects");
    problem->kind = FindingKind::kMismatchedIndexRow;
  } else if (catalog.Deleted(id, loc.segment, loc.offset)) {
    Finding f = named("the index row of " + blob + " points at " + at +
                      ", a record a later tombstone deleted");
    f.kind = FindingKind::kTombstonedIndexRow;
    if (ref == nullptr) {
      d.remove = true;
      f.fixable = true;
      f.fix_note = "delete the row";
    } else if (ref->kind == RefKind::kVariant) {
      d.drop_variant = true;
      d.remove = true;
      f.fixable = true;
      f.fix_note = "delete the variant row and the blob's row";
    } else {
      d.place = loc;
      f.fix_note = "a row still refers to the deleted blob: delete the " +
                   std::string(ref->kind == RefKind::kPhoto ? "photo" : "upload");
    }
    d.finding = std::move(f);
    return d;
  }

  if (!problem) {
    d.place = loc;
    if (ref != nullptr && ref->owner != loc.owner) {
      Finding f = named("the index row of " + blob + " names owner " + std::to_string(loc.owner));
      f.kind = FindingKind::kOwnerMismatch;
      f.fixable = true;
      f.fix_note = "set the owner to " + std::to_string(ref->owner);
      BlobLocation fixed = loc;
      fixed.owner = ref->owner;
      d.put = fixed;
      d.finding = std::move(f);
    }
    return d;
  }
  // The row's own record is bad: look for the same bytes elsewhere.
  const CatalogRecord* copy = catalog.Latest(id, [&](const CatalogRecord& r) {
    if (ref != nullptr && ref->has_checksum) return r.checksum == ref->checksum;
    return r.checksum == loc.checksum && r.length == loc.length;
  });
  fix(std::move(*problem), copy, "re-point the row to the intact copy at");
  return d;
}

}  // namespace

const char* FindingName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kDamagedRecord:
      return "damaged_record";
    case FindingKind::kMalformedRow:
      return "malformed_row";
    case FindingKind::kDanglingIndexRow:
      return "dangling_index_row";
    case FindingKind::kDamagedIndexRow:
      return "damaged_index_row";
    case FindingKind::kMismatchedIndexRow:
      return "mismatched_index_row";
    case FindingKind::kTombstonedIndexRow:
      return "tombstoned_index_row";
    case FindingKind::kOwnerMismatch:
      return "owner_mismatch";
    case FindingKind::kMissingIndexRow:
      return "missing_index_row";
    case FindingKind::kStaleVariantRow:
      return "stale_variant_row";
    case FindingKind::kOrphanTagRow:
      return "orphan_tag_row";
    case FindingKind::kMissingTaggedRow:
      return "missing_tagged_row";
    case FindingKind::kStrayTaggedRow:
      return "stray_tagged_row";
    case FindingKind::kBadgeCountMismatch:
      return "badge_count_mismatch";
    case FindingKind::kCount:
      break;
  }
  return "unknown";
}

Result<FsckReport> CheckStore(storage::Db& db, storage::BlobStore& blobs,
                              const FsckOptions& options, const ProgressFn& progress) {
  FsckReport report;
  Findings findings(options.max_listed, options.repair);
  GLINT_ASSIGN_OR_RETURN(BlobCatalog catalog,
                         BlobCatalog::Build(blobs, [&](const storage::CatalogProgress& p) {
                           if (!progress) return;
                           CheckProgress c;
                           c.phase = CheckProgress::kSegments;
                           c.scan = p;
                           progress(c);
                         }));

  auto index_lock = blobs.LockIndex();
  References refs;
  GLINT_RETURN_IF_ERROR(ReadReferences(db, catalog, progress, refs, findings));

  // The index rows, in key (= blob id) order. A key that is not a blob id is kept aside.
  std::vector<IndexRow> rows;
  std::unordered_map<uint64_t, std::string> errors;  // of malformed rows
  std::vector<std::string> bad_keys;
  uint64_t scanned = 0;
  GLINT_RETURN_IF_ERROR(
      db.Scan(Cf::kBlobs, "", kAllRows, [&](std::string_view key, std::string_view value) {
        Report(progress, CheckProgress::kIndex, ++scanned, false);
        auto id = storage::ReadU64BE(key);
        if (!id || key.size() != 8) {
          bad_keys.emplace_back(key);
          return true;
        }
        IndexRow row;
        row.blob_id = *id;
        auto loc = BlobLocation::Decode(value);
        if (loc.ok()) {
          row.loc = *loc;
        } else {
          row.malformed = true;
          errors.emplace(*id, loc.status().message());
        }
        rows.push_back(std::move(row));
        return true;
      }));
  Report(progress, CheckProgress::kIndex, scanned, true);
  report.index_rows = scanned;
  for (const std::string& key : bad_keys) {
    Finding f =
        Make(FindingKind::kMalformedRow, 0,
             "a blobs row has a " + std::to_string(key.size()) + "-byte key, not a blob id");
    f.fixable = true;
    f.fix_note = "delete the row";
    findings.Add(std::move(f));
  }

  // Every blob id that has a row or a reference, in order.
  std::vector<Placed> placed;
  std::vector<std::pair<uint64_t, std::optional<BlobLocation>>> ops;  // nullopt: delete
  std::vector<uint64_t> lost_variants;
  size_t r = 0, x = 0;
  while (r < rows.size() || x < refs.refs.size()) {
    uint64_t id = std::min(r < rows.size() ? rows[r].blob_id : UINT64_MAX,
                           x < refs.refs.size() ? refs.refs[x].blob_id : UINT64_MAX);
    const IndexRow* row = r < rows.size() && rows[r].blob_id == id ? &rows[r++] : nullptr;
    const BlobRef* ref =
        x < refs.refs.size() && refs.refs[x].blob_id == id ? &refs.refs[x++] : nullptr;
    static const std::string kNone;
    auto error = row != nullptr && row->malformed ? errors.find(id) : errors.end();
    Decision d = Decide(id, ref, row, error == errors.end() ? kNone : error->second, catalog);
    if (row != nullptr && ref == nullptr && !d.finding) ++report.unreferenced_index_rows;
    if (d.finding) findings.Add(std::move(*d.finding));
    if (d.place) placed.push_back({id, d.place->segment, d.place->offset});
    if (d.put) ops.emplace_back(id, d.put);
    if (d.remove) ops.emplace_back(id, std::nullopt);
    if (d.drop_variant) lost_variants.push_back(id);
  }

  CountRecords(catalog, refs, placed, report.counts);
  std::vector<std::pair<uint32_t, uint64_t>> truncations;
  ReportDamage(catalog, refs, placed, findings, &truncations);

  std::vector<RowFix> row_fixes;
  GLINT_RETURN_IF_ERROR(CheckRowIndexes(
      db, report.rows, row_fixes, [&](Finding f) { findings.Add(std::move(f)); },
      [&](uint64_t n) { Report(progress, CheckProgress::kRows, n, false); }));
  Report(progress, CheckProgress::kRows,
         report.rows.tags + report.rows.tagged + report.rows.badges + report.rows.badge_senders,
         true);

  if (options.repair) {
    Batcher batcher(db, options.batch_ops, progress);
    for (const std::string& key : bad_keys) GLINT_RETURN_IF_ERROR(batcher.Delete(Cf::kBlobs, key));
    for (const auto& [id, put] : ops) {
      if (put) {
        GLINT_RETURN_IF_ERROR(batcher.Put(Cf::kBlobs, U64Key(id), put->Encode()));
      } else {
        GLINT_RETURN_IF_ERROR(batcher.Delete(Cf::kBlobs, U64Key(id)));
      }
    }
    uint64_t dropped = 0;
    GLINT_RETURN_IF_ERROR(DropVariants(db, refs, catalog, lost_variants, batcher, &dropped));
    for (const RowFix& fix : row_fixes) {
      GLINT_RETURN_IF_ERROR(fix.value ? batcher.Put(fix.cf, fix.key, *fix.value)
                                      : batcher.Delete(fix.cf, fix.key));
    }
    GLINT_RETURN_IF_ERROR(batcher.Flush());
    // After the index: no row points into what is cut.
    for (const auto& [segment, offset] : truncations) {
      GLINT_RETURN_IF_ERROR(blobs.TruncateSegment(segment, offset));
    }
  }

  report.differences = findings.total();
  report.repaired = findings.repaired();
  report.by_kind = findings.by_kind();
  report.findings = findings.Take();
  return report;
}

Result<RebuildReport> RebuildBlobIndex(storage::Db& db, storage::BlobStore& blobs,
                                       const RebuildOptions& options, const ProgressFn& progress) {
  RebuildReport report;
  // Repairs here are the rebuild itself; findings only say what could not be indexed.
  Findings findings(options.max_listed, /*repair=*/true);
  GLINT_ASSIGN_OR_RETURN(BlobCatalog catalog,
                         BlobCatalog::Build(blobs, [&](const storage::CatalogProgress& p) {
                           if (!progress) return;
                           CheckProgress c;
                           c.phase = CheckProgress::kSegments;
                           c.scan = p;
                           progress(c);
                         }));

  auto index_lock = blobs.LockIndex();
  References refs;
  GLINT_RETURN_IF_ERROR(ReadReferences(db, catalog, progress, refs, findings));

  // The rebuilt index: one row per referenced blob with an intact record, by blob id.
  struct Row {
    uint64_t blob_id;
    const CatalogRecord* record;
    uint64_t owner;
  };
  std::vector<Row> rebuilt;
  rebuilt.reserve(refs.refs.size());
  std::vector<uint64_t> lost_variants;
  for (const BlobRef& ref : refs.refs) {
    const CatalogRecord* rec =
        catalog.Latest(ref.blob_id, [&](const CatalogRecord& r) { return Matches(ref, r); });
    if (rec != nullptr) {
      rebuilt.push_back({ref.blob_id, rec, ref.owner});
      continue;
    }
    Finding f = Make(FindingKind::kMissingIndexRow, ref.blob_id,
                     "blob " + std::to_string(ref.blob_id) + ", " + Describe(ref) +
                         ", has no intact record that is not deleted");
    f.photo_id = ref.photo_id;
    if (ref.kind == RefKind::kVariant) {
      lost_variants.push_back(ref.blob_id);
      f.fixable = true;
      f.fix_note = "delete the variant row (the variant is rendered again on request)";
    } else {
      ++report.lost;
      f.fix_note = "restore it from a backup, or delete the " +
                   std::string(ref.kind == RefKind::kPhoto ? "photo" : "upload");
    }
    findings.Add(std::move(f));
  }
  std::vector<Placed> placed;
  placed.reserve(rebuilt.size());
  for (const Row& row : rebuilt) {
    placed.push_back({row.blob_id, row.record->segment, row.record->offset});
  }
  CountRecords(catalog, refs, placed, report.counts);
  ReportDamage(catalog, refs, placed, findings, nullptr);
  placed = {};

  // Make the column family equal to `rebuilt`: walk the old rows in key order in chunks,
  // merging. Keys are big-endian ids, so key order is id order.
  Batcher batcher(db, options.batch_ops, progress);
  size_t next = 0;  // first rebuilt row not yet written
  // Writes the rebuilt rows whose keys sort before `bound` (all of them when it is null).
  auto put_before = [&](const std::string* bound) -> Status {
    for (; next < rebuilt.size(); ++next) {
      const std::string key = U64Key(rebuilt[next].blob_id);
      if (bound != nullptr && key >= *bound) break;
      GLINT_RETURN_IF_ERROR(batcher.Put(
          Cf::kBlobs, key, rebuilt[next].record->Location(rebuilt[next].owner).Encode()));
      ++report.rows_put;
    }
    return Status::Ok();
  };
  std::string start;
  const size_t chunk = std::max<size_t>(options.batch_ops, 1);
  while (true) {
    // A bounded chunk of the old rows, read before any of them is changed.
    std::vector<std::pair<std::string, std::string>> old;
    GLINT_RETURN_IF_ERROR(
        db.ScanFrom(Cf::kBlobs, start, chunk, [&](std::string_view key, std::string_view value) {
          old.emplace_back(key, value);
          return true;
        }));
    if (old.empty()) break;
    for (const auto& [key, value] : old) {
      ++report.rows_before;
      GLINT_RETURN_IF_ERROR(put_before(&key));
      if (next < rebuilt.size() && U64Key(rebuilt[next].blob_id) == key) {
        std::string fresh = rebuilt[next].record->Location(rebuilt[next].owner).Encode();
        if (fresh != value) {
          GLINT_RETURN_IF_ERROR(batcher.Put(Cf::kBlobs, key, fresh));
          ++report.rows_put;
        }
        ++next;
      } else {
        GLINT_RETURN_IF_ERROR(batcher.Delete(Cf::kBlobs, key));
        ++report.rows_deleted;
      }
    }
    start = old.back().first + '\0';
  }
  GLINT_RETURN_IF_ERROR(put_before(nullptr));
  std::sort(lost_variants.begin(), lost_variants.end());
  GLINT_RETURN_IF_ERROR(
      DropVariants(db, refs, catalog, lost_variants, batcher, &report.variants_dropped));
  GLINT_RETURN_IF_ERROR(batcher.Flush());
  report.rows_after = rebuilt.size();
  report.findings_total = findings.total();
  report.findings = findings.Take();
  return report;
}

}  // namespace glint::core
