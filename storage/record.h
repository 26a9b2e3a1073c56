// The one versioned binary encoding for stored records and the big-endian key helpers.
//
// A record is a version byte followed by fields; each field is a varint tag, then either a
// varint value (wire type 0) or a varint length and that many bytes (wire type 1). The tag's
// low bit is the wire type, the rest the field number (so tag = field << 1 | type; a single
// bit has no room for protobuf's "2" for length-delimited).
// Readers skip fields they do not know, so adding a field never makes an old record
// unreadable and old code reads new records. The grammar is in docs/formats.md.
//
// Keys are built from fixed-width big-endian integers and raw bytes so that RocksDB's
// bytewise order is numeric order and prefix scans are ordered.
//
// Pure functions and value types; usable from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace glint::storage {

inline constexpr uint8_t kRecordVersion = 1;

class RecordWriter {
 public:
  RecordWriter();  // writes the version byte
  // Field numbers start at 1. The && overloads let a temporary chain straight into
  // Finish(): RecordWriter().PutU64(1, id).PutBytes(2, name).Finish().
  RecordWriter& PutU64(uint32_t field, uint64_t value) &;
  RecordWriter& PutBytes(uint32_t field, std::string_view bytes) &;
  RecordWriter&& PutU64(uint32_t field, uint64_t value) && {
    return std::move(PutU64(field, value));
  }
  RecordWriter&& PutBytes(uint32_t field, std::string_view bytes) && {
    return std::move(PutBytes(field, bytes));
  }
  // The encoded record; the writer is spent afterwards.
  std::string Finish() &&;

 private:
  std::string out_;
};

// Iterates the fields of one record. Borrowed view: `data` must outlive the reader.
class RecordReader {
 public:
  explicit RecordReader(std::string_view data);

  // Advances to the next field. Returns false at the end or on malformed input;
  // status() then says which (OK at a clean end, kCorruption otherwise).
  bool Next();
  uint32_t field() const { return field_; }
  bool is_bytes() const { return is_bytes_; }
  uint64_t u64() const { return u64_; }              // valid when !is_bytes()
  std::string_view bytes() const { return bytes_; }  // valid when is_bytes()
  const Status& status() const { return status_; }

 private:
  std::string_view rest_;
  uint32_t field_ = 0;
  bool is_bytes_ = false;
  uint64_t u64_ = 0;
  std::string_view bytes_;
  Status status_;
};

// Fixed-width big-endian encodings for keys.
void AppendU64BE(std::string& out, uint64_t v);
std::string U64Key(uint64_t v);
// Two ids, in order: the key of an index row such as user_photos (user_id + photo_id).
std::string U64PairKey(uint64_t a, uint64_t b);
// Decodes 8 big-endian bytes at `pos`; nullopt when `key` is too short.
std::optional<uint64_t> ReadU64BE(std::string_view key, size_t pos = 0);

}  // namespace glint::storage
