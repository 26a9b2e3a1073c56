// A catalogue of what the blob store's segment files hold, built by one verified scan of
// every segment: the intact records, the tombstones and the damaged stretches. fsck and
// rebuild-index (core/fsck.h) compare the `blobs` index with it. Storage facts only: where
// each blob id's records are and whether it was deleted; who owns or refers to a blob is
// core/'s knowledge.
//
// Deletion: a record is deleted when a tombstone of its blob id comes after it in the log
// (segment number, then offset; only the highest segment is appended to, so that is append
// order). Blob ids are meant never to be reused, which makes that "any tombstone of the id";
// the order only matters if an id was reused, and then keeps the newer record alive.
//
// Memory: a CatalogRecord (40 bytes) per record plus 4 bytes of by-id order, 24 bytes per
// deleted blob id and one CatalogDamage per damaged stretch; nothing per record is a string.
// Ten million records take about 450 MB.
//
// A built catalogue is an immutable value: its const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/blob_store.h"

namespace glint::storage {

// One intact record (payload verified), never a tombstone.
struct CatalogRecord {
  uint64_t blob_id = 0;
  uint64_t offset = 0;  // of the record header in its segment
  uint64_t length = 0;  // payload bytes
  uint64_t checksum = 0;
  uint32_t segment = 0;
  // Found by searching past a damaged header (BlobStore::SalvageSegment): its place is not
  // proven, so it is trusted only for a blob whose checksum the caller knows.
  bool resynced = false;

  // Its place as a BlobLocation with `owner`.
  BlobLocation Location(uint64_t owner) const {
    return BlobLocation{segment, offset, length, checksum, owner};
  }
};

// A stretch of a segment that holds no intact record.
struct CatalogDamage {
  uint32_t segment = 0;
  DamagedRange range;
  bool tail = false;    // it reaches the end of the segment: no intact record follows
  bool active = false;  // the segment is the append target
};

// How far Build is, for a progress line.
struct CatalogProgress {
  uint32_t segment_index = 0;  // 1-based position of the segment being scanned
  uint32_t segments = 0;
  uint64_t bytes_done = 0;  // of all segments
  uint64_t bytes_total = 0;
  uint64_t records = 0;  // records (and tombstones) met so far
};

class BlobCatalog {
 public:
  // Scans every segment of `store` (BlobStore::SalvageSegment: payloads verified, going on
  // past damage). `progress`, when set, is called after every record and at the end of each
  // segment, on the calling thread. Errors: those of the store (a segment that vanished).
  static Result<BlobCatalog> Build(const BlobStore& store,
                                   const std::function<void(const CatalogProgress&)>& progress);

  const std::vector<SegmentInfo>& segments() const { return segments_; }
  bool HasSegment(uint32_t number) const;
  uint64_t total_bytes() const { return total_bytes_; }
  // Intact records in log order.
  const std::vector<CatalogRecord>& records() const { return records_; }
  // Damaged stretches in log order.
  const std::vector<CatalogDamage>& damage() const { return damage_; }
  // Tombstone records met.
  uint64_t tombstones() const { return tombstone_records_; }

  // The intact record whose header is at (segment, offset), or null.
  const CatalogRecord* At(uint32_t segment, uint64_t offset) const;
  // The damaged stretch holding (segment, offset), or null.
  const CatalogDamage* DamageAt(uint32_t segment, uint64_t offset) const;
  // The intact records of `blob_id`, in log order (more than one after a compaction that
  // copied a record and crashed before retiring the old segment).
  std::vector<const CatalogRecord*> Copies(uint64_t blob_id) const;
  // True when a tombstone of `blob_id` comes after (segment, offset) in the log.
  bool Deleted(uint64_t blob_id, uint32_t segment, uint64_t offset) const;
  bool Deleted(const CatalogRecord& r) const { return Deleted(r.blob_id, r.segment, r.offset); }
  // The last record of `blob_id` in the log that is not deleted and that `accept` takes, or
  // null.
  const CatalogRecord* Latest(uint64_t blob_id,
                              const std::function<bool(const CatalogRecord&)>& accept) const;

 private:
  // The last tombstone of one blob id.
  struct LastTombstone {
    uint64_t blob_id = 0;
    uint32_t segment = 0;
    uint64_t offset = 0;
  };

  std::vector<SegmentInfo> segments_;
  uint64_t total_bytes_ = 0;
  std::vector<CatalogRecord> records_;  // log order
  std::vector<uint32_t> by_id_;         // indexes into records_, by (blob_id, log order)
  std::vector<LastTombstone> deleted_;  // by blob_id
  std::vector<CatalogDamage> damage_;   // log order
  uint64_t tombstone_records_ = 0;
};

}  // namespace glint::storage
