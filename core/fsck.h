// `glint admin fsck` and `glint admin rebuild-index`: the blob index (the `blobs` column
// family) checked against the segment files and the rows that refer to blobs, repaired, or
// rebuilt from the segments alone. fsck also checks the tag and badge indexes
// (core/fsck_rows.h).
//
// Who refers to a blob, and who owns it, is domain knowledge, so it lives here:
//   - a photo row: its original (owner = the photo's owner, checksum = the photo's);
//   - a variant row (a rendered size of a photo; owner = the photo's owner). Its value is a
//     record with the blob id in field 6, or, in rows written before that record existed, a
//     copy of the blob's BlobLocation, matched to a scanned record by its (segment, offset);
//   - an upload row not yet registered as a photo (owner = its user). A registered upload's
//     blob is its photo's, so the photo row speaks for it (and after the photo is deleted,
//     the upload row only remembers the spent URL).
// A record nothing refers to is an orphan (an upload that was never acknowledged, a render
// that lost a race): it is not indexed, and compaction reclaims it. Variants are caches: one
// whose bytes are lost is rendered again on request, so dropping its rows is a repair.
//
// Both functions run offline: the caller has opened the Db and the BlobStore (whose locks
// keep a running server out). They block, on the calling thread, and hold the store's
// LockIndex() from reading the index to writing the last batch that changes it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/blob_catalog.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::core {

// Where a long run is, for a progress line (called often; the caller rate-limits output).
struct CheckProgress {
  enum Phase { kSegments, kIndex, kReferences, kRows, kWriting };
  Phase phase = kSegments;
  storage::CatalogProgress scan;  // kSegments
  uint64_t rows = 0;  // other phases: rows read (or, kWriting, written) so far; kRows: rows of
                      // tags, tagged, badges and badge_senders (core/fsck_rows.h)
};
using ProgressFn = std::function<void(const CheckProgress&)>;

enum class FindingKind {
  kDamagedRecord,       // segment bytes that hold no intact record
  kMalformedRow,        // a photos, uploads, variants or blobs row that does not decode
  kDanglingIndexRow,    // a blobs row whose segment, or record at its offset, does not exist
  kDamagedIndexRow,     // a blobs row pointing at a damaged record
  kMismatchedIndexRow,  // a blobs row disagreeing with the record at its place (blob id,
                        // length, checksum) or with the checksum its photo or upload expects
  kTombstonedIndexRow,  // a blobs row of a deleted (tombstoned) blob
  kOwnerMismatch,       // a blobs row whose owner is not its photo's or upload's
  kMissingIndexRow,     // a blob a row refers to, with no blobs row
  kStaleVariantRow,     // a variant row whose photo is gone, or whose bytes are lost
  kOrphanTagRow,        // a tags row whose photo is gone
  kMissingTaggedRow,    // a tags row without its tagged row (the user's list misses the photo)
  kStrayTaggedRow,      // a tagged row without the tags row it was made from
  kBadgeCountMismatch,  // a badge count that is not the number of its badge_senders rows
  kCount,
};

// "damaged_record", "missing_index_row", ...: stable names for output and tests.
const char* FindingName(FindingKind kind);

// One difference.
struct Finding {
  FindingKind kind = FindingKind::kDamagedRecord;
  uint64_t blob_id = 0;  // 0 when unknown (a damaged header)
  uint32_t segment = 0;  // the place concerned, when there is one
  uint64_t offset = 0;
  uint64_t bytes = 0;     // kDamagedRecord: length of the damaged stretch
  uint64_t photo_id = 0;  // the photo affected (its original or a variant); 0 when none
  std::string what;       // one sentence naming everything above that is known
  bool fixable = false;   // a repair can fix it; `fix_note` says how
  bool repaired = false;  // and this run did
  std::string fix_note;   // how it is (or would be) fixed, or why it cannot be
};

// Normal states a scan meets that are not differences.
struct StoreCounts {
  uint32_t segments = 0;
  uint64_t segment_bytes = 0;
  uint64_t records = 0;  // intact records (tombstones excluded)
  uint64_t tombstones = 0;
  uint64_t photos = 0;
  uint64_t variants = 0;
  uint64_t pending_uploads = 0;  // upload rows not yet registered as photos
  uint64_t orphans = 0;          // intact records nothing refers to and nothing indexes
  uint64_t orphan_bytes = 0;
  uint64_t deleted_records = 0;  // records a later tombstone deletes (compaction drops them)
  uint64_t deleted_bytes = 0;
  uint64_t spare_copies = 0;  // further copies of indexed blobs (an interrupted compaction)
  uint64_t spare_bytes = 0;
};

// What the row check (core/fsck_rows.h) read.
struct RowCounts {
  uint64_t tags = 0;           // tags rows
  uint64_t tagged = 0;         // tagged rows
  uint64_t badges = 0;         // badges rows (receivers acknowledged or counted once)
  uint64_t badge_senders = 0;  // badge_senders rows (senders counted, not yet acknowledged)
};

struct FsckOptions {
  bool repair = false;
  size_t max_listed = 1000;  // findings kept in the report; all are counted
  size_t batch_ops = 1000;   // RocksDB operations per repair WriteBatch
};

struct FsckReport {
  StoreCounts counts;
  RowCounts rows;
  uint64_t index_rows = 0;
  uint64_t unreferenced_index_rows = 0;  // intact, but nothing refers to the blob
  uint64_t differences = 0;
  uint64_t repaired = 0;
  std::array<uint64_t, static_cast<size_t>(FindingKind::kCount)> by_kind{};
  std::vector<Finding> findings;  // the first FsckOptions::max_listed, in detection order
  bool clean() const { return differences == 0; }
};

// Verifies every record of every segment (payload checksums too); then every blobs row (its
// segment exists; a record with its blob id, length and checksum is at its offset; its blob
// is not deleted; its owner is right); then that every blob a photo, variant or pending
// upload refers to has a row; then the tags/tagged and badges/badge_senders pairs
// (core/fsck_rows.h). With `options.repair`, also, in WriteBatches of
// `options.batch_ops` operations:
//   - re-points a row whose record is damaged or missing to an intact copy of the same bytes
//     elsewhere (same blob id, length and checksum);
//   - adds the missing row of a referenced blob that has an intact record;
//   - corrects a wrong owner;
//   - deletes the rows of deleted blobs and rows that nothing refers to whose bytes are gone;
//   - deletes variant rows (and their blob's row) whose bytes are lost or whose photo is gone;
//   - truncates a segment at a damaged tail when no row points at or after it;
//   - deletes the tags (and tagged) rows of deleted photos, adds missing tagged rows, deletes
//     tagged rows without their tags row and rows whose keys or values do not decode, and
//     sets each badge count to the number of its badge_senders rows.
// What it cannot fix (a photo's original with no intact copy, a damaged stretch in the
// middle of a segment) keeps `fixable` false, with the reason in `fix_note`.
// Memory: as RebuildBlobIndex's, plus 56 bytes per index row (about 160 bytes per blob). Errors
// (not differences): the stores failing to read or write.
Result<FsckReport> CheckStore(storage::Db& db, storage::BlobStore& blobs,
                              const FsckOptions& options, const ProgressFn& progress);

struct RebuildOptions {
  size_t max_listed = 1000;
  size_t batch_ops = 1000;
};

struct RebuildReport {
  StoreCounts counts;
  uint64_t rows_before = 0;  // blobs rows found
  uint64_t rows_after = 0;   // blobs rows the rebuilt index holds
  uint64_t rows_put = 0;     // rows written (new or changed)
  uint64_t rows_deleted = 0;
  uint64_t lost = 0;              // photos' originals and pending uploads with no intact record
  uint64_t variants_dropped = 0;  // variant rows deleted: their bytes are lost
  uint64_t findings_total = 0;    // all findings, listed or not
  std::vector<Finding> findings;  // the first max_listed: lost blobs, dropped variants, damage
};

// Recreates the blobs column family from the segments and the rows that refer to blobs:
// every segment is scanned (verified); each referenced blob gets a row for its latest intact
// record that is not deleted (when the referring row knows the blob's checksum, a record
// must match it), with the owner above; orphans and deleted blobs get none. Then the column
// family is made equal to that set, in WriteBatches of `options.batch_ops`: rows not in it
// are deleted, the others put. Variant rows whose bytes are lost are deleted (rendered again
// on request). A photo or pending upload whose blob has no intact record (or only deleted
// ones) is counted in `lost` and named in a finding, and gets no row.
//
// Memory: the catalogue (about 44 bytes per record, storage/blob_catalog.h), a 40-byte struct
// per referenced blob, 16 bytes per photo and 24 per rebuilt row (about 130 bytes per blob in
// all); no string per blob. Old rows are read 1,000 at a time.
Result<RebuildReport> RebuildBlobIndex(storage::Db& db, storage::BlobStore& blobs,
                                       const RebuildOptions& options, const ProgressFn& progress);

}  // namespace glint::core
