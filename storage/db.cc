#include "storage/db.h"

#include <algorithm>
#include <array>
#include <cassert>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "base/log.h"

namespace glint::storage {
namespace {

// On-disk names, indexed by Cf. Renaming one orphans its data: append only.
constexpr std::array<const char*, static_cast<size_t>(Cf::kCount)> kCfNames = {
    "users",    "email_hashes", "photos",         "user_photos", "blobs",       "uploads",
    "sessions", "variants",     "renditions_due", "emails",      "user_emails", "email_tokens",
    "events",   "cursors",      "tags",           "tagged",      "badges",      "badge_senders",
};

const char* CfName(Cf cf) { return kCfNames[static_cast<size_t>(cf)]; }

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

// RocksDB reports a held database lock as an IO error naming the LOCK file ("While lock
// file: <dir>/LOCK: Resource temporarily unavailable" from another process, "lock hold by
// current process" from this one). Matching "/LOCK" rather than "lock" keeps errors that
// merely mention a "block" out of it.
bool IsLockHeld(const rocksdb::Status& s) {
  if (s.IsBusy()) return true;
  if (!s.IsIOError()) return false;
  const std::string text = s.ToString();
  return text.find("/LOCK") != std::string::npos || text.find("lock hold") != std::string::npos;
}

// The one place RocksDB errors become glint errors. `context` says what was being done.
Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsCorruption()) return Corruption(std::move(msg));
  return IoError(std::move(msg));
}

// The smallest key greater than every key starting with `prefix`, or empty when there is
// none (the prefix is all 0xff); bounds a prefix scan so it never touches the next range.
std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace

// Ops are kept by Cf rather than in a rocksdb::WriteBatch because a batch is built before
// it meets a Db, and RocksDB batches need the Db's column family handles.
struct WriteBatch::Op {
  enum Kind { kPut, kDelete, kDeleteRange };
  Cf cf;
  Kind kind;
  std::string key;
  std::string value;  // kPut: the value; kDeleteRange: the end key (exclusive)
};

WriteBatch::WriteBatch() = default;
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::Put(Cf cf, std::string_view key, std::string_view value) {
  assert(cf < Cf::kCount);
  ops_.push_back(Op{cf, Op::kPut, std::string(key), std::string(value)});
}

void WriteBatch::Delete(Cf cf, std::string_view key) {
  assert(cf < Cf::kCount);
  ops_.push_back(Op{cf, Op::kDelete, std::string(key), {}});
}

void WriteBatch::DeleteRange(Cf cf, std::string_view begin, std::string_view end) {
  assert(cf < Cf::kCount);
  ops_.push_back(Op{cf, Op::kDeleteRange, std::string(begin), std::string(end)});
}

size_t WriteBatch::Count() const { return ops_.size(); }

Result<std::unique_ptr<Db>> Db::Open(const std::string& dir, const DbOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // Concurrent writers (badge ingest commits lane by lane from several threads) overlap one
  // group's memtable inserts with the next group's WAL write and fsync.
  db_options.enable_pipelined_write = true;

  // Point gets dominate (id -> record), so every table gets a bloom filter; one block cache
  // is shared by all column families so the budget is global.
  rocksdb::BlockBasedTableOptions table_options;
  table_options.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table_options.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  // badge_senders is probed mostly for rows that do not exist (first-time senders): a
  // whole-key bloom filter on the memtable answers those without a skiplist search, as the
  // table filter does for flushed files.
  rocksdb::ColumnFamilyOptions probed_options = cf_options;
  probed_options.memtable_whole_key_filtering = true;
  probed_options.memtable_prefix_bloom_size_ratio = 0.05;
  for (size_t i = 0; i < kCfNames.size(); ++i)
    descriptors.emplace_back(
        kCfNames[i], i == static_cast<size_t>(Cf::kBadgeSenders) ? probed_options : cf_options);
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  // RocksDB refuses to open a database without naming every column family in it, so a
  // family added by a newer glint is opened too (and left alone) rather than locking an
  // older binary out after a downgrade. A missing database lists nothing, which is fine.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const std::string& name : existing) {
      bool known = std::any_of(descriptors.begin(), descriptors.end(),
                               [&](const auto& d) { return d.name == name; });
      if (!known) descriptors.emplace_back(name, cf_options);
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  if (!s.ok()) {
    Status status = IsLockHeld(s) ? Unavailable("database " + dir + " is in use by another process")
                                  : FromRocks(s, "open database " + dir);
    log::Error(status.ToString());
    return status;
  }
  std::unique_ptr<Db> db(new Db());
  db->db_.reset(raw);
  db->handles_ = std::move(handles);  // descriptor order: Cf order first
  db->sync_ = options.sync;
  return db;
}

Db::~Db() {
  if (!db_) return;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    rocksdb::Status s = db_->DestroyColumnFamilyHandle(h);
    if (!s.ok()) log::Error(FromRocks(s, "destroy column family handle").ToString());
  }
  handles_.clear();
  rocksdb::Status s = db_->Close();
  if (!s.ok()) log::Error(FromRocks(s, "close database").ToString());
}

rocksdb::ColumnFamilyHandle* Db::handle(Cf cf) const {
  assert(cf < Cf::kCount);
  return handles_[static_cast<size_t>(cf)];
}

Result<std::optional<std::string>> Db::Get(Cf cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handle(cf), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) {
    Status status = FromRocks(s, std::string("get from ") + CfName(cf));
    log::Error(status.ToString());
    return status;
  }
  return std::optional<std::string>(std::move(value));
}

Status Db::Write(WriteBatch& batch) {
  rocksdb::WriteBatch rb;
  for (const WriteBatch::Op& op : batch.ops_) {
    rocksdb::Status s;
    switch (op.kind) {
      case WriteBatch::Op::kPut:
        s = rb.Put(handle(op.cf), ToSlice(op.key), ToSlice(op.value));
        break;
      case WriteBatch::Op::kDelete:
        s = rb.Delete(handle(op.cf), ToSlice(op.key));
        break;
      case WriteBatch::Op::kDeleteRange:
        s = rb.DeleteRange(handle(op.cf), ToSlice(op.key), ToSlice(op.value));
        break;
    }
    if (!s.ok()) return FromRocks(s, std::string("build batch for ") + CfName(op.cf));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync_;
  rocksdb::Status s = db_->Write(write_options, &rb);
  if (!s.ok()) {
    Status status = FromRocks(s, "write batch of " + std::to_string(batch.Count()));
    log::Error(status.ToString());
    return status;
  }
  return Status::Ok();
}

Status Db::Scan(Cf cf, std::string_view prefix, size_t limit,
                const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return Iterate(cf, prefix, prefix, PrefixSuccessor(prefix), limit, fn);
}

Status Db::ScanFrom(Cf cf, std::string_view start, size_t limit,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return Iterate(cf, start, "", "", limit, fn);
}

Status Db::Iterate(Cf cf, std::string_view start, std::string_view prefix, const std::string& upper,
                   size_t limit,
                   const std::function<bool(std::string_view, std::string_view)>& fn) const {
  rocksdb::ReadOptions read_options;
  rocksdb::Slice upper_slice(upper);
  if (!upper.empty()) read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, handle(cf)));
  size_t visited = 0;
  for (it->Seek(ToSlice(start)); it->Valid() && visited < limit; it->Next()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(ToSlice(prefix))) break;  // a prefix of 0xff bytes has no upper bound
    ++visited;
    rocksdb::Slice value = it->value();
    if (!fn(std::string_view(key.data(), key.size()), std::string_view(value.data(), value.size())))
      break;
  }
  if (!it->status().ok()) {
    Status status = FromRocks(it->status(), std::string("scan ") + CfName(cf));
    log::Error(status.ToString());
    return status;
  }
  return Status::Ok();
}

Result<std::optional<std::string>> Db::LastKey(Cf cf) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(cf)));
  it->SeekToLast();
  if (it->Valid()) return std::optional<std::string>(it->key().ToString());
  if (!it->status().ok()) {
    Status status = FromRocks(it->status(), std::string("seek to last in ") + CfName(cf));
    log::Error(status.ToString());
    return status;
  }
  return std::optional<std::string>();
}

}  // namespace glint::storage
