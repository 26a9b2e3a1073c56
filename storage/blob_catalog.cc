#include "storage/blob_catalog.h"

#include <algorithm>
#include <limits>
#include <tuple>

namespace glint::storage {
namespace {

bool Before(uint32_t seg_a, uint64_t off_a, uint32_t seg_b, uint64_t off_b) {
  return std::tie(seg_a, off_a) < std::tie(seg_b, off_b);
}

}  // namespace

Result<BlobCatalog> BlobCatalog::Build(
    const BlobStore& store, const std::function<void(const CatalogProgress&)>& progress) {
  BlobCatalog c;
  c.segments_ = store.Segments();
  for (const SegmentInfo& s : c.segments_) c.total_bytes_ += s.bytes;

  CatalogProgress p;
  p.segments = static_cast<uint32_t>(c.segments_.size());
  p.bytes_total = c.total_bytes_;
  uint64_t before = 0;  // bytes of the segments already scanned
  for (size_t i = 0; i < c.segments_.size(); ++i) {
    const SegmentInfo& seg = c.segments_[i];
    p.segment_index = static_cast<uint32_t>(i + 1);
    GLINT_RETURN_IF_ERROR(store.SalvageSegment(
        seg.number,
        [&](const ScannedRecord& rec) {
          ++p.records;
          if (rec.tombstone) {
            ++c.tombstone_records_;
            c.deleted_.push_back({rec.blob_id, seg.number, rec.location.offset});
          } else {
            c.records_.push_back({rec.blob_id, rec.location.offset, rec.location.length,
                                  rec.location.checksum, seg.number, rec.resynced});
          }
          if (progress) {
            p.bytes_done = before + rec.location.offset + rec.location.length;
            progress(p);
          }
          return true;
        },
        [&](const DamagedRange& range) {
          CatalogDamage d;
          d.segment = seg.number;
          d.range = range;
          d.tail = range.offset + range.bytes >= seg.bytes;
          d.active = seg.active;
          c.damage_.push_back(std::move(d));
        }));
    before += seg.bytes;
    if (progress) {
      p.bytes_done = before;
      progress(p);
    }
  }
  if (c.records_.size() > std::numeric_limits<uint32_t>::max()) {
    return Internal("the blob store holds more than 2^32 records; the catalogue cannot index them");
  }

  // Stable: copies of one blob id stay in log order.
  c.by_id_.resize(c.records_.size());
  for (size_t i = 0; i < c.by_id_.size(); ++i) c.by_id_[i] = static_cast<uint32_t>(i);
  std::stable_sort(c.by_id_.begin(), c.by_id_.end(), [&](uint32_t a, uint32_t b) {
    return c.records_[a].blob_id < c.records_[b].blob_id;
  });

  // Tombstones were met in log order: keep the last one of each blob id.
  std::stable_sort(
      c.deleted_.begin(), c.deleted_.end(),
      [](const LastTombstone& a, const LastTombstone& b) { return a.blob_id < b.blob_id; });
  std::vector<LastTombstone> last;
  for (const LastTombstone& t : c.deleted_) {
    if (!last.empty() && last.back().blob_id == t.blob_id) {
      last.back() = t;
    } else {
      last.push_back(t);
    }
  }
  c.deleted_ = std::move(last);
  c.deleted_.shrink_to_fit();
  return c;
}

bool BlobCatalog::HasSegment(uint32_t number) const {
  auto it = std::lower_bound(segments_.begin(), segments_.end(), number,
                             [](const SegmentInfo& s, uint32_t n) { return s.number < n; });
  return it != segments_.end() && it->number == number;
}

const CatalogRecord* BlobCatalog::At(uint32_t segment, uint64_t offset) const {
  auto it = std::lower_bound(records_.begin(), records_.end(), std::make_pair(segment, offset),
                             [](const CatalogRecord& r, const std::pair<uint32_t, uint64_t>& p) {
                               return Before(r.segment, r.offset, p.first, p.second);
                             });
  if (it == records_.end() || it->segment != segment || it->offset != offset) return nullptr;
  return &*it;
}

const CatalogDamage* BlobCatalog::DamageAt(uint32_t segment, uint64_t offset) const {
  // The last stretch starting at or before the place.
  auto it = std::upper_bound(damage_.begin(), damage_.end(), std::make_pair(segment, offset),
                             [](const std::pair<uint32_t, uint64_t>& p, const CatalogDamage& d) {
                               return Before(p.first, p.second, d.segment, d.range.offset);
                             });
  if (it == damage_.begin()) return nullptr;
  --it;
  if (it->segment != segment || offset - it->range.offset >= it->range.bytes) return nullptr;
  return &*it;
}

std::vector<const CatalogRecord*> BlobCatalog::Copies(uint64_t blob_id) const {
  auto lo = std::lower_bound(by_id_.begin(), by_id_.end(), blob_id,
                             [this](uint32_t i, uint64_t id) { return records_[i].blob_id < id; });
  auto hi = std::upper_bound(lo, by_id_.end(), blob_id,
                             [this](uint64_t id, uint32_t i) { return id < records_[i].blob_id; });
  std::vector<const CatalogRecord*> out;
  out.reserve(static_cast<size_t>(hi - lo));
  for (auto it = lo; it != hi; ++it) out.push_back(&records_[*it]);
  return out;
}

bool BlobCatalog::Deleted(uint64_t blob_id, uint32_t segment, uint64_t offset) const {
  auto it = std::lower_bound(deleted_.begin(), deleted_.end(), blob_id,
                             [](const LastTombstone& t, uint64_t id) { return t.blob_id < id; });
  if (it == deleted_.end() || it->blob_id != blob_id) return false;
  return Before(segment, offset, it->segment, it->offset);
}

const CatalogRecord* BlobCatalog::Latest(
    uint64_t blob_id, const std::function<bool(const CatalogRecord&)>& accept) const {
  std::vector<const CatalogRecord*> copies = Copies(blob_id);
  for (auto it = copies.rbegin(); it != copies.rend(); ++it) {
    if (!Deleted(**it) && (!accept || accept(**it))) return *it;
  }
  return nullptr;
}

}  // namespace glint::storage
