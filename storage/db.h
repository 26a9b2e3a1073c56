// glint's metadata store: one RocksDB database with a column family per table.
//
// The tables and their key/value layouts are listed in docs/formats.md; callers (core/)
// own the meaning of keys and values, this class owns durability and the mapping of
// RocksDB errors to Status.
//
// Thread-safety: a Db is safe to use from any number of threads at once (RocksDB is).
// Every Write() is atomic; with Options::sync (the default) it is on disk when it returns,
// so it must run off the event loops (core/ callers are run on the blocking pool).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace glint::storage {

// Column families. The names on disk are in kCfNames (db.cc); never renumber or rename.
enum class Cf : int {
  kUsers = 0,      // user_id -> account record
  kEmailHashes,    // md5 (16 B) | sha256 (32 B) -> user_id, unique
  kPhotos,         // photo_id -> photo record
  kUserPhotos,     // user_id + photo_id -> (empty)
  kBlobs,          // blob_id -> BlobLocation record
  kUploads,        // upload_id (16 B) -> pending upload record
  kSessions,       // sha256(token) -> session record
  kVariants,       // photo_id + variant key -> variant record (blob id; core/records.h)
  kRenditionsDue,  // photo_id -> (empty): background renditions not yet made (a work queue)
  kEmails,         // sha256 of the email (32 B) -> email record (owner, verified, avatar choice)
  kUserEmails,     // user_id + sha256 of the email -> (empty): a user's emails, in hash order
  kEmailTokens,    // sha256(verification token) -> email token record (which email, expiry)
  kEvents,         // sequence (8 B BE) -> event record: the durable event log
  kCursors,        // consumer name -> sequence it has handled up to (8 B BE)
  kTags,           // photo_id + tagged user_id -> tag record (core/records.h)
  kTagged,         // tagged user_id + ~created_at + ~photo_id -> (empty): newest tag first
  kBadges,         // receiver user_id -> badge record (count of distinct senders, last ack)
  kBadgeSenders,   // receiver + sender -> (empty): senders counted since the last ack
  kCount,
};

// A group of changes applied atomically by Db::Write. Not thread-safe; build it on one
// thread, then hand it to Write.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;

  void Put(Cf cf, std::string_view key, std::string_view value);
  void Delete(Cf cf, std::string_view key);
  // Deletes every row of `cf` with begin <= key < end (one range tombstone).
  void DeleteRange(Cf cf, std::string_view begin, std::string_view end);
  size_t Count() const;

 private:
  friend class Db;
  struct Op;  // defined in db.cc
  std::vector<Op> ops_;
};

struct DbOptions {
  bool sync = true;  // fsync the WAL on every Write (no acknowledged write lost)
  size_t block_cache_bytes = 64u << 20;
};

class Db {
 public:
  // Opens (creating if missing) the database in `dir` with every column family.
  // Fails with kUnavailable when another process holds the database lock.
  static Result<std::unique_ptr<Db>> Open(const std::string& dir, const DbOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // The value at `key`, nullopt when absent; an error only when RocksDB fails.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key) const;

  // Applies `batch` atomically (and durably with DbOptions::sync).
  Status Write(WriteBatch& batch);

  // Calls `fn(key, value)` for each row whose key starts with `prefix`, in key order, until
  // `fn` returns false or `limit` rows were visited. Views are valid only during the call.
  Status Scan(Cf cf, std::string_view prefix, size_t limit,
              const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // Like Scan, over the rows whose key is >= `start` (to the end of `cf`).
  Status ScanFrom(
      Cf cf, std::string_view start, size_t limit,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // The greatest key in `cf`, nullopt when it is empty (used to resume id counters).
  Result<std::optional<std::string>> LastKey(Cf cf) const;

 private:
  Db() = default;
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const;
  // Rows from `start` that begin with `prefix`, below `upper` ("" = to the end); the body of
  // Scan and ScanFrom.
  Status Iterate(Cf cf, std::string_view start, std::string_view prefix, const std::string& upper,
                 size_t limit,
                 const std::function<bool(std::string_view, std::string_view)>& fn) const;

  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; destroyed in ~Db
  bool sync_ = true;
};

}  // namespace glint::storage
