#include "storage/record.h"

#include <cassert>
#include <limits>

namespace glint::storage {
namespace {

// Wire types live in the tag's low bit (see record.h): 0 is a varint value, 1 a
// length-prefixed byte string. There is no room for a third type, by design: a new kind of
// value is a new field, and bytes can carry anything.
constexpr uint64_t kWireVarint = 0;
constexpr uint64_t kWireBytes = 1;

// A u64 takes at most 10 varint bytes, and the 10th may only carry the top bit.
constexpr int kMaxVarintBytes = 10;

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(static_cast<uint8_t>(v) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Decodes a varint from the front of `in` and consumes it. False when `in` ends inside the
// varint or the varint is longer than a u64 allows (both mean the record is damaged).
bool GetVarint(std::string_view& in, uint64_t* v) {
  uint64_t result = 0;
  for (int i = 0; i < kMaxVarintBytes && static_cast<size_t>(i) < in.size(); ++i) {
    const uint64_t byte = static_cast<uint8_t>(in[i]);
    if (i == kMaxVarintBytes - 1 && byte > 1) return false;  // bits past 64
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in.remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

RecordWriter::RecordWriter() { out_.push_back(static_cast<char>(kRecordVersion)); }

RecordWriter& RecordWriter::PutU64(uint32_t field, uint64_t value) & {
  assert(field != 0 && "field numbers start at 1");
  PutVarint(out_, static_cast<uint64_t>(field) << 1 | kWireVarint);
  PutVarint(out_, value);
  return *this;
}

RecordWriter& RecordWriter::PutBytes(uint32_t field, std::string_view bytes) & {
  assert(field != 0 && "field numbers start at 1");
  PutVarint(out_, static_cast<uint64_t>(field) << 1 | kWireBytes);
  PutVarint(out_, bytes.size());
  out_.append(bytes);
  return *this;
}

std::string RecordWriter::Finish() && { return std::move(out_); }

RecordReader::RecordReader(std::string_view data) {
  // Version 0 was never written; an empty or zero-led buffer is not a record.
  if (data.empty() || static_cast<uint8_t>(data[0]) == 0) {
    status_ = Corruption("record has no valid version byte");
    return;
  }
  // Newer versions only add fields, which this reader skips; so any version >= 1 is read.
  rest_ = data.substr(1);
}

bool RecordReader::Next() {
  if (!status_.ok() || rest_.empty()) return false;
  uint64_t tag = 0;
  if (!GetVarint(rest_, &tag)) {
    status_ = Corruption("record field tag is truncated or overlong");
    rest_ = {};
    return false;
  }
  const uint64_t field = tag >> 1;
  if (field == 0 || field > std::numeric_limits<uint32_t>::max()) {
    status_ = Corruption("record field number out of range");
    rest_ = {};
    return false;
  }
  field_ = static_cast<uint32_t>(field);
  is_bytes_ = (tag & 1) == kWireBytes;
  if (!is_bytes_) {
    bytes_ = {};
    if (!GetVarint(rest_, &u64_)) {
      status_ = Corruption("record varint value is truncated or overlong");
      rest_ = {};
      return false;
    }
    return true;
  }
  u64_ = 0;
  uint64_t length = 0;
  if (!GetVarint(rest_, &length) || length > rest_.size()) {
    status_ = Corruption("record byte field is truncated");
    rest_ = {};
    return false;
  }
  bytes_ = rest_.substr(0, length);
  rest_.remove_prefix(length);
  return true;
}

void AppendU64BE(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(static_cast<uint8_t>(v >> shift)));
  }
}

std::string U64Key(uint64_t v) {
  std::string out;
  out.reserve(8);
  AppendU64BE(out, v);
  return out;
}

std::string U64PairKey(uint64_t a, uint64_t b) {
  std::string out;
  out.reserve(16);
  AppendU64BE(out, a);
  AppendU64BE(out, b);
  return out;
}

std::optional<uint64_t> ReadU64BE(std::string_view key, size_t pos) {
  if (pos > key.size() || key.size() - pos < 8) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<uint8_t>(key[pos + i]);
  return v;
}

}  // namespace glint::storage
