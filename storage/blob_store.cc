#include "storage/blob_store.h"

#include "storage/blob_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <xxhash.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/random_access_file.hpp>
#include <boost/asio/read_at.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "storage/record.h"

namespace glint::storage {
namespace {

// Record header (docs/formats.md, "Blob segment record"), little-endian:
//   0 magic u32 | 4 version u16 | 6 flags u16 | 8 blob_id u64 | 16 length u64
//   24 payload xxh3-64 u64 | 32 header xxh3-64 (of bytes 0..31) u64
constexpr size_t kHeaderBytes = 40;
constexpr size_t kHeaderCheckedBytes = 32;
constexpr uint32_t kMagic = 0x31424C47;  // "GLB1" read as little-endian bytes
constexpr uint16_t kFormatVersion = 1;
constexpr uint16_t kFlagTombstone = 1;
constexpr uint64_t kTombstonePayloadBytes = 12;  // deleted record: segment u32le, offset u64le
// Group commit: one writer takes at most this many records per pwritev (IOV_MAX is 1024).
constexpr size_t kMaxBatchRecords = 256;
constexpr const char* kCleanMarker = "CLEAN";

using Header = std::array<char, kHeaderBytes>;

void PutLE(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

Header EncodeHeader(uint64_t blob_id, uint64_t length, uint64_t payload_checksum,
                    uint16_t flags = 0) {
  Header h{};
  PutLE(&h[0], kMagic, 4);
  PutLE(&h[4], kFormatVersion, 2);
  PutLE(&h[6], flags, 2);
  PutLE(&h[8], blob_id, 8);
  PutLE(&h[16], length, 8);
  PutLE(&h[24], payload_checksum, 8);
  PutLE(&h[32], XXH3_64bits(h.data(), kHeaderCheckedBytes), 8);
  return h;
}

std::string SegmentName(uint32_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%08u.log", number);
  return name;
}

// "seg-00000042.log" -> 42; nullopt for anything else in the directory.
std::optional<uint32_t> ParseSegmentName(std::string_view name) {
  constexpr std::string_view kPrefix = "seg-", kSuffix = ".log";
  if (name.size() != kPrefix.size() + 8 + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  uint32_t n = 0;
  for (char c : name.substr(kPrefix.size(), 8)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

std::string Where(const BlobLocation& loc) {
  return std::to_string(loc.segment) + ":" + std::to_string(loc.offset);
}

// Every way a stored record can fail verification ends here, so the client sees one
// message and the log says which check failed (once, where it was detected).
Status CorruptBlob(const BlobLocation& loc, std::string_view path, std::string_view detail) {
  std::string where = Where(loc);
  log::Error("blob " + where + " failed its checksum: " + std::string(detail) + " (" +
             std::string(path) + ")");
  return Corruption("blob " + where + " failed its checksum", "blob_corrupt");
}

// The single verification used by Read and ReadAsync: a payload is returned only when the
// header is intact and the bytes hash to what both the header and the location promise.
Status VerifyRecord(const BlobLocation& loc, std::string_view path, const Header& h,
                    std::string_view payload) {
  if (GetLE(&h[0], 4) != kMagic) return CorruptBlob(loc, path, "bad magic");
  if (GetLE(&h[32], 8) != XXH3_64bits(h.data(), kHeaderCheckedBytes)) {
    return CorruptBlob(loc, path, "header checksum mismatch");
  }
  if (GetLE(&h[4], 2) != kFormatVersion) return CorruptBlob(loc, path, "unknown version");
  if (GetLE(&h[6], 2) != 0) return CorruptBlob(loc, path, "unknown flags");
  if (GetLE(&h[16], 8) != loc.length) return CorruptBlob(loc, path, "length differs from index");
  const uint64_t stored = GetLE(&h[24], 8);
  if (stored != loc.checksum) return CorruptBlob(loc, path, "checksum differs from index");
  if (XXH3_64bits(payload.data(), payload.size()) != stored) {
    return CorruptBlob(loc, path, "payload checksum mismatch");
  }
  return Status::Ok();
}

// A location must lie inside the synced part of its segment; checked before allocating, so a
// damaged index entry cannot ask for an absurd buffer.
Status CheckBounds(const BlobLocation& loc, std::string_view path, uint64_t durable_size) {
  if (loc.offset > durable_size || durable_size - loc.offset < kHeaderBytes ||
      durable_size - loc.offset - kHeaderBytes < loc.length) {
    return CorruptBlob(loc, path, "location past the end of the segment");
  }
  return Status::Ok();
}

Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync directory " + dir, err);
  return Status::Ok();
}

// Drops the first `n` transferred bytes from `iov`, starting at iov[first]; `first` moves past
// buffers that are done. Used to resume after short reads and writes.
template <typename Iovecs>
void Consume(Iovecs& iov, size_t& first, size_t n) {
  while (n > 0) {
    size_t step = std::min(n, iov[first].iov_len);
    iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + step;
    iov[first].iov_len -= step;
    n -= step;
    if (iov[first].iov_len == 0) ++first;
  }
}

// Writes all of `iov` at `offset`, resuming after short writes and EINTR. Returns 0 or the
// errno of the failure.
int PwritevFully(int fd, std::vector<iovec> iov, uint64_t offset) {
  size_t first = 0;
  while (first < iov.size()) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    ssize_t n = ::pwritev(fd, &iov[first], static_cast<int>(iov.size() - first),
                          static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // a regular file never accepts 0 bytes of a non-empty write
    offset += static_cast<uint64_t>(n);
    Consume(iov, first, static_cast<size_t>(n));
  }
  return 0;
}

// A random_access_file over a descriptor it does not own: the segment's read fd is shared by
// every reader, so it is released, never closed, however the file object goes away
// (including an io_context shutting down with the read still pending). Borrowing costs no
// syscall (Asio registers the fd with its io_uring service in memory), so there is no
// per-read open() or dup() and no cache whose entries could outlive an io_context or store.
class BorrowedFile {
 public:
  BorrowedFile(const boost::asio::any_io_executor& ex, int fd) : file_(ex, fd) {}
  ~BorrowedFile() {
    boost::system::error_code ignored;
    file_.release(ignored);
  }
  BorrowedFile(const BorrowedFile&) = delete;
  BorrowedFile& operator=(const BorrowedFile&) = delete;
  boost::asio::random_access_file& get() { return file_; }

 private:
  boost::asio::random_access_file file_;
};

// One small read through io_uring on a throwaway io_context: creating the ring is what
// fails on kernels or sandboxes without io_uring, and readv is the opcode ReadAsync uses.
// Empty segments answer with eof, which still proves the ring works.
bool ProbeIoUring(int fd, std::string* why) {
  try {
    boost::asio::io_context ctx;
    BorrowedFile file(ctx.get_executor(), fd);
    std::array<char, 2> bytes{};
    std::array<boost::asio::mutable_buffer, 2> bufs = {boost::asio::buffer(&bytes[0], 1),
                                                       boost::asio::buffer(&bytes[1], 1)};
    std::optional<boost::system::error_code> result;
    file.get().async_read_some_at(0, bufs,
                                  [&](boost::system::error_code ec, size_t) { result = ec; });
    ctx.run();
    if (!result) {
      *why = "probe read never completed";
      return false;
    }
    if (*result && *result != boost::asio::error::eof) {
      *why = result->message();
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    *why = e.what();
    return false;
  }
}

// pread of exactly `n` bytes at `offset`; 0, or the errno, or -1 at end of file.
int PreadFully(int fd, char* dst, size_t n, uint64_t offset) {
  while (n > 0) {
    ssize_t got = ::pread(fd, dst, n, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (got == 0) return -1;
    dst += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return 0;
}

int FdatasyncRetrying(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// Walks the records of one segment file from its start. A record is accepted when its
// header checks, its length fits the file and (when asked, and always for tombstones) its
// payload hashes to the header's checksum. `fn` returns false to stop early.
struct WalkResult {
  uint64_t end = 0;      // offset after the last accepted record
  uint64_t records = 0;  // records accepted
  std::string failure;   // why the record at `end` was refused; empty at a clean end
  // When the refused record's header checked and its length fits the file: the offset after
  // it (its boundary is trustworthy, so a salvage can go on there) and its blob id.
  uint64_t skip_to = 0;
  uint64_t failed_blob_id = 0;
};

// Reads exactly `n` bytes at `offset` into `dst`: 0, an errno, or -1 at end of file.
using ReadFn = std::function<int(char* dst, size_t n, uint64_t offset)>;

WalkResult WalkSegment(const ReadFn& read, uint32_t number, uint64_t size, bool verify_payloads,
                       const std::function<bool(const ScannedRecord&)>& fn, uint64_t start = 0) {
  WalkResult out;
  out.end = start;
  std::vector<char> chunk;
  uint64_t offset = start;
  while (offset < size) {
    if (size - offset < kHeaderBytes) {
      out.failure = "a partial header";
      break;
    }
    Header h;
    if (int err = read(h.data(), h.size(), offset); err != 0) {
      out.failure = err < 0 ? "a partial header" : std::string("read error: ") + strerror(err);
      break;
    }
    if (GetLE(&h[0], 4) != kMagic) {
      out.failure = "bad magic";
      break;
    }
    if (GetLE(&h[32], 8) != XXH3_64bits(h.data(), kHeaderCheckedBytes)) {
      out.failure = "header checksum mismatch";
      break;
    }
    const uint64_t flags = GetLE(&h[6], 2);
    if (GetLE(&h[4], 2) != kFormatVersion || (flags != 0 && flags != kFlagTombstone)) {
      out.failure = "unknown version or flags";
      break;
    }
    const uint64_t length = GetLE(&h[16], 8);
    if (length > size - offset - kHeaderBytes) {
      out.failure = "the record runs past the end of the file";
      break;
    }
    const bool tombstone = flags == kFlagTombstone;
    if (tombstone && length != kTombstonePayloadBytes) {
      out.failure = "a tombstone of the wrong size";
      out.skip_to = offset + kHeaderBytes + length;
      out.failed_blob_id = GetLE(&h[8], 8);
      break;
    }
    ScannedRecord rec;
    rec.blob_id = GetLE(&h[8], 8);
    rec.location.segment = number;
    rec.location.offset = offset;
    rec.location.length = length;
    rec.location.checksum = GetLE(&h[24], 8);
    rec.tombstone = tombstone;
    if (verify_payloads || tombstone) {
      // Streamed through a bounded buffer: a 256 MB record never needs 256 MB of memory.
      XXH3_state_t* state = XXH3_createState();
      XXH3_64bits_reset(state);
      chunk.resize(std::min<uint64_t>(length, 1u << 20));
      uint64_t done = 0;
      int err = 0;
      while (done < length) {
        size_t step = static_cast<size_t>(std::min<uint64_t>(chunk.size(), length - done));
        err = read(chunk.data(), step, offset + kHeaderBytes + done);
        if (err != 0) break;
        XXH3_64bits_update(state, chunk.data(), step);
        if (tombstone) {
          rec.deleted_segment = static_cast<uint32_t>(GetLE(chunk.data(), 4));
          rec.deleted_offset = GetLE(chunk.data() + 4, 8);
        }
        done += step;
      }
      const uint64_t sum = XXH3_64bits_digest(state);
      XXH3_freeState(state);
      if (err != 0) {
        out.failure = err < 0 ? "the record runs past the end of the file"
                              : std::string("read error: ") + strerror(err);
        break;
      }
      if (sum != rec.location.checksum) {
        out.failure = "payload checksum mismatch";
        out.skip_to = offset + kHeaderBytes + length;
        out.failed_blob_id = rec.blob_id;
        break;
      }
    }
    offset += kHeaderBytes + length;
    out.end = offset;
    ++out.records;
    if (fn && !fn(rec)) break;
  }
  return out;
}

Status NoRemoteTier(const BlobLocation& loc) {
  return Unavailable("blob " + Where(loc) + " is in the remote tier, which is not configured",
                     "remote_tier_unavailable");
}

// Verifies a record fetched whole (header and payload) from the remote tier.
Result<std::string> VerifyFetched(const BlobLocation& loc, std::string_view path,
                                  std::string_view record) {
  if (record.size() != kHeaderBytes + loc.length) {
    return CorruptBlob(loc, path, "the remote tier returned the wrong number of bytes");
  }
  Header header;
  std::memcpy(header.data(), record.data(), kHeaderBytes);
  std::string_view payload = record.substr(kHeaderBytes);
  GLINT_RETURN_IF_ERROR(VerifyRecord(loc, path, header, payload));
  return std::string(payload);
}

ReadFn LocalReader(int fd) {
  return [fd](char* dst, size_t n, uint64_t offset) { return PreadFully(fd, dst, n, offset); };
}

// Serves a scan's small reads from 8 MB windows fetched from the remote tier, so walking a
// remote segment costs one request per window, not one per record.
ReadFn RemoteReader(RemoteTier* tier, uint32_t number, uint64_t size) {
  struct Window {
    uint64_t start = 0;
    std::string bytes;
  };
  auto window = std::make_shared<Window>();
  return [=](char* dst, size_t n, uint64_t offset) -> int {
    if (tier == nullptr) return EIO;
    while (n > 0) {
      if (offset >= size) return -1;
      if (offset < window->start || offset >= window->start + window->bytes.size()) {
        const uint64_t want = std::min<uint64_t>(std::max<uint64_t>(n, 8u << 20), size - offset);
        auto got = tier->Read(number, offset, want);
        if (!got.ok()) return EIO;
        window->start = offset;
        window->bytes = std::move(*got);
      }
      const uint64_t at = offset - window->start;
      const size_t step = static_cast<size_t>(std::min<uint64_t>(n, window->bytes.size() - at));
      std::memcpy(dst, window->bytes.data() + at, step);
      dst += step;
      n -= step;
      offset += step;
    }
    return 0;
  };
}

// "seg-00000042.remote" -> 42: the manifest of a tiered-out segment.
std::optional<uint32_t> ParseRemoteName(std::string_view name) {
  constexpr std::string_view kSuffix = ".remote";
  if (!name.ends_with(kSuffix)) return std::nullopt;
  std::string log(name.substr(0, name.size() - kSuffix.size()));
  return ParseSegmentName(log + ".log");
}

std::string RemoteManifestName(uint32_t number) {
  std::string name = SegmentName(number);
  return name.substr(0, name.size() - 4) + ".remote";
}

// Writes `text` to `path` so that after a crash it is either absent or whole.
Status WriteFileDurably(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name, tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create " + tmp, errno);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(tmp.c_str());
    return ErrnoStatus("write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp, errno);
  return SyncDir(dir);
}

// The first offset in [from, size) where an intact record header starts (magic, header
// checksum, a known version and flags, a length inside the file), or `size` when there is
// none or the file cannot be read. Used only to go on past a damaged header.
uint64_t FindNextHeader(const ReadFn& read, uint64_t from, uint64_t size) {
  constexpr size_t kChunk = 1u << 20;
  std::vector<char> buf(kChunk + kHeaderBytes);
  const char magic[4] = {static_cast<char>(kMagic & 0xff), static_cast<char>(kMagic >> 8 & 0xff),
                         static_cast<char>(kMagic >> 16 & 0xff),
                         static_cast<char>(kMagic >> 24 & 0xff)};
  for (uint64_t base = from; base < size && size - base >= kHeaderBytes; base += kChunk) {
    // Each window overlaps the next by a header, so a header across the seam is seen.
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - base));
    if (read(buf.data(), n, base) != 0) return size;
    const size_t starts = std::min(n - kHeaderBytes + 1, kChunk);
    for (size_t i = 0; i < starts; ++i) {
      const char* p = static_cast<const char*>(std::memchr(buf.data() + i, magic[0], starts - i));
      if (p == nullptr) break;
      i = static_cast<size_t>(p - buf.data());
      if (std::memcmp(p, magic, 4) != 0) continue;
      if (GetLE(p + 32, 8) != XXH3_64bits(p, kHeaderCheckedBytes)) continue;
      const uint64_t flags = GetLE(p + 6, 2);
      if (GetLE(p + 4, 2) != kFormatVersion || (flags != 0 && flags != kFlagTombstone)) continue;
      const uint64_t at = base + i;
      if (GetLE(p + 16, 8) > size - at - kHeaderBytes) continue;
      return at;
    }
  }
  return size;
}

uint64_t MovedKey(uint32_t segment, uint64_t offset) {
  return static_cast<uint64_t>(segment) << 40 | offset;
}

}  // namespace

// ---- FsyncPolicy ----

Result<FsyncPolicy> FsyncPolicy::Parse(std::string_view text) {
  FsyncPolicy p;
  if (text == "always") return p;
  constexpr std::string_view kPrefix = "interval:";
  if (text.starts_with(kPrefix)) {
    std::string_view ms = text.substr(kPrefix.size());
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(ms.data(), ms.data() + ms.size(), value);
    if (ec == std::errc() && end == ms.data() + ms.size() && value >= 1 && value <= 60000) {
      p.mode = kInterval;
      p.interval_ms = value;
      return p;
    }
  }
  return InvalidArgument("fsync must be \"always\" or \"interval:<ms>\" with 1..60000 ms, not \"" +
                             std::string(text) + "\"",
                         "invalid_fsync");
}

std::string FsyncPolicy::ToString() const {
  return mode == kAlways ? "always" : "interval:" + std::to_string(interval_ms);
}

struct BlobStore::Segment {
  Segment(uint32_t n, std::string p, int rfd) : number(n), path(std::move(p)), read_fd(rfd) {}
  ~Segment() {
    if (write_fd >= 0) ::close(write_fd);
    if (read_fd >= 0) ::close(read_fd);
  }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const uint32_t number;
  const std::string path;
  const int read_fd;    // O_RDONLY, shared by all readers while the segment is held; -1 if remote
  bool remote = false;  // set before publication; the bytes are read from the RemoteTier
  int write_fd = -1;    // open only while this is the active segment; closed under sync_mu_
  // Bytes that hold complete records (synced ones under kAlways); a location past it is not
  // one we handed out.
  std::atomic<uint64_t> size{0};
};

// One record waiting for the group commit writer.
struct BlobStore::Pending {
  Header header;
  std::span<const char> payload;
  std::array<char, kTombstonePayloadBytes> tombstone{};  // the payload of a tombstone
  BlobLocation location;                                 // filled by the writer
  Status status;
  bool done = false;  // GUARDED_BY(mu_)
  uint64_t bytes() const { return kHeaderBytes + payload.size(); }
};

// ---- BlobLocation ----

std::string BlobLocation::Encode() const {
  RecordWriter w;
  w.PutU64(1, segment).PutU64(2, offset).PutU64(3, length).PutU64(4, checksum).PutU64(5, owner);
  return std::move(w).Finish();
}

Result<BlobLocation> BlobLocation::Decode(std::string_view data) {
  BlobLocation loc;
  RecordReader r(data);
  while (r.Next()) {
    if (r.field() > 5) continue;  // a newer writer's field
    if (r.is_bytes()) {
      return Corruption("blob location field " + std::to_string(r.field()) + " has the wrong type");
    }
    switch (r.field()) {
      case 1:
        if (r.u64() > UINT32_MAX) return Corruption("blob location segment out of range");
        loc.segment = static_cast<uint32_t>(r.u64());
        break;
      case 2:
        loc.offset = r.u64();
        break;
      case 3:
        loc.length = r.u64();
        break;
      case 4:
        loc.checksum = r.u64();
        break;
      case 5:
        loc.owner = r.u64();
        break;
    }
  }
  if (!r.status().ok()) return Corruption("blob location: " + r.status().message());
  if (loc.segment == 0) return Corruption("blob location has no segment");
  return loc;
}

// ---- BlobStore ----

BlobStore::BlobStore() : table_(std::make_unique<std::atomic<SegmentPtr>[]>(kMaxSegments)) {}

BlobStore::~BlobStore() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(sync_mu_);
      stopping_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
  }
  // A clean shutdown: everything is synced, so the next Open can skip the tail scan.
  if (active_ && active_->write_fd >= 0 && FdatasyncRetrying(active_->write_fd) == 0) {
    const std::string marker = dir_ + "/" + kCleanMarker;
    const std::string text =
        std::to_string(active_->number) + " " + std::to_string(active_size_) + "\n";
    int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                ::fsync(fd) == 0;
      ::close(fd);
      if (!ok || !SyncDir(dir_).ok()) ::unlink(marker.c_str());
    }
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& dir,
                                                   const BlobStoreOptions& options) {
  if (options.fsync.mode == FsyncPolicy::kInterval && options.fsync.interval_ms == 0) {
    return InvalidArgument("fsync interval must be at least 1 ms", "invalid_fsync");
  }
  std::error_code fs_ec;
  const bool created = std::filesystem::create_directories(dir, fs_ec);
  if (fs_ec) return ErrnoStatus("create blob directory " + dir, fs_ec.value());
  if (created) {
    // The new directory's name must survive a crash, or every segment in it is lost.
    std::filesystem::path parent = std::filesystem::path(dir).lexically_normal().parent_path();
    GLINT_RETURN_IF_ERROR(SyncDir(parent.empty() ? "." : parent.string()));
  }

  std::unique_ptr<BlobStore> store(new BlobStore());
  store->dir_ = dir;
  store->options_ = options;
  if (options.cache_bytes > 0)
    store->cache_ = std::make_unique<BlobCache>(options.cache_bytes, options.cache_max_blob_bytes);

  // Two processes appending to one segment would interleave records; the lock makes the
  // second one fail fast instead.
  const std::string lock_path = dir + "/LOCK";
  store->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (store->lock_fd_ < 0) return ErrnoStatus("open " + lock_path, errno);
  if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Unavailable("blob store " + dir + " is in use by another process");
    }
    return ErrnoStatus("lock " + lock_path, errno);
  }

  std::vector<uint32_t> numbers;
  std::map<uint32_t, uint64_t> remote;  // tiered-out segments: number -> size
  for (auto it = std::filesystem::directory_iterator(dir, fs_ec);
       !fs_ec && it != std::filesystem::directory_iterator(); it.increment(fs_ec)) {
    const std::string name = it->path().filename().native();
    if (auto n = ParseSegmentName(name)) numbers.push_back(*n);
    if (auto n = ParseRemoteName(name)) {
      std::ifstream in(it->path());
      std::string key;
      uint64_t size = 0;
      if (!(in >> key >> size) || key != "size") {
        return Corruption("unreadable remote segment manifest " + it->path().string());
      }
      remote[*n] = size;
    }
  }
  if (fs_ec) return ErrnoStatus("list blob directory " + dir, fs_ec.value());
  std::sort(numbers.begin(), numbers.end());
  // A crash between writing a manifest and removing the local file leaves both; the remote
  // copy was verified before the manifest was written, so the local file goes.
  std::erase_if(numbers, [&](uint32_t n) {
    if (!remote.count(n)) return false;
    ::unlink((dir + "/" + SegmentName(n)).c_str());
    return true;
  });
  for (auto [n, size] : remote) {
    if (n == 0 || n >= kMaxSegments) return Corruption("remote segment number out of range");
    auto seg = std::make_shared<Segment>(n, dir + "/" + SegmentName(n), -1);
    seg->remote = true;
    seg->size.store(size, std::memory_order_relaxed);
    store->table_[n].store(seg, std::memory_order_release);
  }

  for (uint32_t n : numbers) {
    const std::string path = dir + "/" + SegmentName(n);
    if (n == 0 || n >= kMaxSegments) {
      return Corruption("segment number out of range: " + path);
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + path, errno);
    auto seg = std::make_shared<Segment>(n, path, fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("stat " + path, errno);
    seg->size.store(static_cast<uint64_t>(st.st_size), std::memory_order_relaxed);
    store->table_[n].store(seg, std::memory_order_release);
    store->active_ = std::move(seg);
  }

  // The clean-shutdown marker is consumed now, so a crash from here on means a scan.
  const std::string marker = dir + "/" + kCleanMarker;
  std::string clean_text;
  if (int fd = ::open(marker.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    char buf[64];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n > 0) clean_text.assign(buf, static_cast<size_t>(n));
    if (::unlink(marker.c_str()) != 0) return ErrnoStatus("remove " + marker, errno);
    GLINT_RETURN_IF_ERROR(SyncDir(dir));
  }

  const uint32_t highest_remote = remote.empty() ? 0 : remote.rbegin()->first;
  if (!store->active_ || store->active_->number < highest_remote) {
    // Only sealed segments are tiered, so appends go after every number in use.
    store->active_ = nullptr;
    GLINT_RETURN_IF_ERROR(
        store->StartSegment(std::max(highest_remote, numbers.empty() ? 0 : numbers.back()) + 1));
  } else {
    Segment& last = *store->active_;
    last.write_fd = ::open(last.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (last.write_fd < 0) return ErrnoStatus("open " + last.path, errno);
    const uint64_t size = last.size.load(std::memory_order_relaxed);
    if (clean_text != std::to_string(last.number) + " " + std::to_string(size) + "\n") {
      GLINT_RETURN_IF_ERROR(store->ScanTail(last));
    }
    store->active_size_ = last.size.load(std::memory_order_relaxed);
  }

  if (options.use_io_uring) {
    std::string why;
    store->io_uring_ = ProbeIoUring(store->active_->read_fd, &why);
    if (!store->io_uring_) {
      log::Warn("blob store " + dir + ": io_uring unavailable (" + why +
                "); ReadAsync falls back to pread");
    }
  }
  if (options.fsync.mode == FsyncPolicy::kInterval) {
    store->syncer_ = std::thread([s = store.get()] { s->SyncLoop(); });
  }
  return store;
}

Status BlobStore::ScanTail(Segment& seg) {
  const uint64_t size = seg.size.load(std::memory_order_relaxed);
  WalkResult walk =
      WalkSegment(LocalReader(seg.read_fd), seg.number, size, /*verify_payloads=*/true, nullptr);
  tail_.scanned = true;
  tail_.segment = seg.number;
  tail_.valid_end = walk.end;
  tail_.records = walk.records;
  tail_.cut_bytes = size - walk.end;
  if (walk.end == size) {
    log::Info("blob store " + dir_ + ": unclean stop; verified the " +
              std::to_string(walk.records) + " records of " + seg.path);
    return Status::Ok();
  }
  tail_.reason = walk.failure;
  // Cut before anything is appended, so the dead bytes can never be mistaken for records.
  if (::ftruncate(seg.write_fd, static_cast<off_t>(walk.end)) != 0) {
    return ErrnoStatus("truncate " + seg.path, errno);
  }
  if (int err = FdatasyncRetrying(seg.write_fd); err != 0) {
    return ErrnoStatus("fdatasync " + seg.path, err);
  }
  seg.size.store(walk.end, std::memory_order_release);
  log::Warn("blob store " + dir_ + ": cut " + std::to_string(tail_.cut_bytes) +
            " bytes from the end of " + seg.path + " at offset " + std::to_string(walk.end) + " (" +
            walk.failure + "), after " + std::to_string(walk.records) + " verified records");
  return Status::Ok();
}

Status BlobStore::StartSegment(uint32_t number) {
  if (number >= kMaxSegments) {
    return IoError("blob store " + dir_ + " has used all " + std::to_string(kMaxSegments - 1) +
                   " segment numbers");
  }
  // Interval mode: the old segment is synced before a newer one exists, so only the highest
  // segment can ever have an unsynced tail (the one Open scans).
  if (active_ && options_.fsync.mode == FsyncPolicy::kInterval) {
    if (int err = FdatasyncRetrying(active_->write_fd); err != 0) {
      return ErrnoStatus("fdatasync " + active_->path, err);
    }
  }
  const std::string path = dir_ + "/" + SegmentName(number);
  // O_EXCL: a segment we think is new but already exists means another writer; never
  // append into bytes we did not account for.
  int wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (wfd < 0) return ErrnoStatus("create " + path, errno);
  int rfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (rfd < 0) {
    int err = errno;
    ::close(wfd);
    ::unlink(path.c_str());
    return ErrnoStatus("open " + path, err);
  }
  auto seg = std::make_shared<Segment>(number, path, rfd);
  seg->write_fd = wfd;
  // The new name must survive a crash before any location pointing into it is handed out.
  if (Status s = SyncDir(dir_); !s.ok()) {
    // Remove the file so the next attempt can create it again instead of hitting O_EXCL.
    ::unlink(path.c_str());
    log::Error(s.ToString());
    return s;
  }

  std::lock_guard sync_lock(sync_mu_);
  if (active_ != nullptr) {
    ::close(active_->write_fd);  // every record in it is synced
    active_->write_fd = -1;
  }
  table_[number].store(seg, std::memory_order_release);
  active_ = std::move(seg);
  active_size_ = 0;
  return Status::Ok();
}

void BlobStore::SyncLoop() {
  std::unique_lock lock(sync_mu_);
  const auto period = std::chrono::milliseconds(options_.fsync.interval_ms);
  while (!sync_cv_.wait_for(lock, period, [this] { return stopping_; })) {
    if (active_ && active_->write_fd >= 0) {
      if (int err = FdatasyncRetrying(active_->write_fd); err != 0) {
        log::Error("blob store " + dir_ + ": fdatasync " + active_->path + ": " + strerror(err));
      }
    }
  }
}

Result<BlobStore::SegmentPtr> BlobStore::Published(uint32_t number, bool local_only) const {
  SegmentPtr seg = number < kMaxSegments ? table_[number].load(std::memory_order_acquire) : nullptr;
  if (!seg) return NotFound("blob segment " + std::to_string(number) + " does not exist");
  if (local_only && seg->remote) {
    return Conflict("segment " + std::to_string(number) + " is remote", "segment_remote");
  }
  return seg;
}

Result<BlobStore::SegmentPtr> BlobStore::Locate(BlobLocation& loc) const {
  // A record moves at most once per compaction of its segment; the bound only guards
  // against a corrupted chain.
  for (int hop = 0; hop < 64; ++hop) {
    if (loc.segment < kMaxSegments) {
      if (SegmentPtr seg = table_[loc.segment].load(std::memory_order_acquire)) return seg;
    }
    std::shared_lock lock(moved_mu_);
    auto it = moved_.find(MovedKey(loc.segment, loc.offset));
    if (it == moved_.end()) break;
    loc.segment = it->second.segment;
    loc.offset = it->second.offset;
  }
  return NotFound("blob segment " + std::to_string(loc.segment) + " does not exist",
                  "blob_segment_missing");
}

Result<BlobLocation> BlobStore::Append(uint64_t blob_id, std::span<const char> bytes) {
  if (bytes.size() > options_.max_blob_bytes) {
    return TooLarge("blob of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                        std::to_string(options_.max_blob_bytes),
                    "blob_too_large");
  }
  Pending p;
  // Hash outside the lock: it is the only per-byte work and appends would queue behind it.
  p.header = EncodeHeader(blob_id, bytes.size(), XXH3_64bits(bytes.data(), bytes.size()));
  p.payload = bytes;
  Pending* one[] = {&p};
  GLINT_RETURN_IF_ERROR(Submit(one));
  return p.location;
}

Status BlobStore::AppendTombstones(std::span<const std::pair<uint64_t, BlobLocation>> deleted) {
  std::vector<Pending> pending(deleted.size());
  std::vector<Pending*> ptrs;
  for (size_t i = 0; i < deleted.size(); ++i) {
    Pending& p = pending[i];
    PutLE(&p.tombstone[0], deleted[i].second.segment, 4);
    PutLE(&p.tombstone[4], deleted[i].second.offset, 8);
    p.payload = std::span<const char>(p.tombstone.data(), p.tombstone.size());
    p.header = EncodeHeader(deleted[i].first, kTombstonePayloadBytes,
                            XXH3_64bits(p.tombstone.data(), p.tombstone.size()), kFlagTombstone);
    ptrs.push_back(&p);
  }
  GLINT_RETURN_IF_ERROR(Submit(ptrs));
  tombstones_.fetch_add(deleted.size(), std::memory_order_relaxed);
  return Status::Ok();
}

Status BlobStore::Submit(std::span<Pending*> mine) {
  std::unique_lock lock(mu_);
  queue_.insert(queue_.end(), mine.begin(), mine.end());
  auto all_done = [&] {
    return std::all_of(mine.begin(), mine.end(), [](const Pending* p) { return p->done; });
  };
  while (!all_done()) {
    if (writing_) {
      cv_.wait(lock);
      continue;
    }
    // Become the writer for everything queued so far (others' records included).
    writing_ = true;
    std::vector<Pending*> batch;
    size_t take = std::min(queue_.size(), kMaxBatchRecords);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
    lock.unlock();
    WriteBatchOf(batch);
    lock.lock();
    for (Pending* p : batch) p->done = true;
    writing_ = false;
    cv_.notify_all();
  }
  for (const Pending* p : mine) GLINT_RETURN_IF_ERROR(p->status);
  return Status::Ok();
}

void BlobStore::WriteBatchOf(std::vector<Pending*>& batch) {
  size_t i = 0;
  while (i < batch.size()) {
    // An empty segment takes any record, so a blob larger than a segment still fits somewhere.
    if (active_size_ > 0 && active_size_ + batch[i]->bytes() > options_.max_segment_bytes) {
      if (Status s = StartSegment(active_->number + 1); !s.ok()) {
        for (; i < batch.size(); ++i) batch[i]->status = s;
        return;
      }
    }
    // The run of records that fits in this segment, written with one pwritev.
    std::vector<iovec> iov;
    uint64_t end = active_size_;
    size_t j = i;
    while (j < batch.size() && (j == i || end + batch[j]->bytes() <= options_.max_segment_bytes)) {
      Pending& p = *batch[j];
      p.location.segment = active_->number;
      p.location.offset = end;
      p.location.length = p.payload.size();
      p.location.checksum = GetLE(&p.header[24], 8);
      iov.push_back({p.header.data(), p.header.size()});
      if (!p.payload.empty()) {
        iov.push_back({const_cast<char*>(p.payload.data()), p.payload.size()});
      }
      end += p.bytes();
      ++j;
    }
    Status status;
    // On failure the position stays put: the next append overwrites whatever partial record
    // reached the file, and no location ever points at it.
    if (int err = PwritevFully(active_->write_fd, std::move(iov), active_size_); err != 0) {
      status = ErrnoStatus("write " + active_->path, err);
    } else if (options_.fsync.mode == FsyncPolicy::kAlways) {
      if (int err = FdatasyncRetrying(active_->write_fd); err != 0) {
        status = ErrnoStatus("fdatasync " + active_->path, err);
      }
    }
    if (status.ok()) {
      active_size_ = end;
      active_->size.store(end, std::memory_order_release);
    } else {
      log::Error(status.ToString());
    }
    for (; i < j; ++i) batch[i]->status = status;
  }
}

std::string BlobStore::Remember(const BlobLocation& loc, std::string bytes) const {
  if (!cache_ || bytes.size() > options_.cache_max_blob_bytes) return bytes;
  auto shared = std::make_shared<const std::string>(std::move(bytes));
  cache_->Insert(loc, shared);
  return *shared;
}

Result<std::string> BlobStore::Read(const BlobLocation& loc) const {
  if (cache_)
    if (auto hit = cache_->Find(loc)) return *hit;
  GLINT_ASSIGN_OR_RETURN(std::string bytes, ReadFromDisk(loc));
  return Remember(loc, std::move(bytes));
}

Result<std::string> BlobStore::ReadFromDisk(const BlobLocation& asked) const {
  BlobLocation loc = asked;
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Locate(loc));
  GLINT_RETURN_IF_ERROR(CheckBounds(loc, seg->path, seg->size.load(std::memory_order_acquire)));
  if (seg->remote) return ReadRemote(*seg, loc);
  Header header;
  std::string payload(loc.length, '\0');
  std::array<iovec, 2> iov = {iovec{header.data(), header.size()},
                              iovec{payload.data(), payload.size()}};
  uint64_t offset = loc.offset;
  size_t first = 0;
  while (first < iov.size()) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    ssize_t n = ::preadv(seg->read_fd, &iov[first], static_cast<int>(iov.size() - first),
                         static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = ErrnoStatus("read blob " + Where(loc) + " from " + seg->path, errno);
      log::Error(s.ToString());
      return s;
    }
    if (n == 0) return CorruptBlob(loc, seg->path, "segment ends inside the record");
    offset += static_cast<uint64_t>(n);
    Consume(iov, first, static_cast<size_t>(n));
  }
  GLINT_RETURN_IF_ERROR(VerifyRecord(loc, seg->path, header, payload));
  return payload;
}

boost::asio::awaitable<Result<std::string>> BlobStore::ReadAsync(BlobLocation asked) const {
  if (cache_)
    if (auto hit = cache_->Find(asked)) co_return *hit;
  BlobLocation loc = asked;
  Result<SegmentPtr> found = Locate(loc);
  if (!found.ok()) co_return found.status();
  // Held by this frame: a segment retired meanwhile stays open until the read is done.
  const SegmentPtr seg = *found;
  if (Status s = CheckBounds(loc, seg->path, seg->size.load(std::memory_order_acquire)); !s.ok()) {
    co_return s;
  }
  if (seg->remote) {
    RemoteTier* tier = remote_.load(std::memory_order_acquire);
    if (tier == nullptr) co_return NoRemoteTier(loc);
    // A copy that fails verification (a damaged cache file) is dropped and fetched once more.
    Result<std::string> payload = Corruption("unread");
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto record = co_await tier->ReadAsync(loc.segment, loc.offset, kHeaderBytes + loc.length);
      if (!record.ok()) co_return record.status();
      payload = VerifyFetched(loc, seg->path, *record);
      if (payload.ok()) break;
      tier->Forget(loc.segment, loc.offset, kHeaderBytes + loc.length);
    }
    if (!payload.ok()) co_return payload.status();
    co_return Remember(asked, std::move(*payload));
  }
  if (!io_uring_.load(std::memory_order_relaxed)) co_return Read(asked);

  // The io_uring service is created in this executor's context on first use; that is where
  // a ring can fail (e.g. RLIMIT_MEMLOCK), after the probe at Open succeeded.
  std::optional<BorrowedFile> file;
  std::string failure;
  try {
    file.emplace(co_await boost::asio::this_coro::executor, seg->read_fd);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!file) {
    if (io_uring_.exchange(false)) {
      log::Warn("blob store " + dir_ + ": io_uring failed (" + failure +
                "); ReadAsync falls back to pread");
    }
    co_return Read(asked);
  }

  Header header;
  std::string payload(loc.length, '\0');
  std::array<boost::asio::mutable_buffer, 2> bufs = {boost::asio::buffer(header),
                                                     boost::asio::buffer(payload)};
  auto [ec, n] = co_await boost::asio::async_read_at(
      file->get(), loc.offset, bufs, boost::asio::as_tuple(boost::asio::use_awaitable));
  if (ec == boost::asio::error::eof) {
    co_return CorruptBlob(loc, seg->path, "segment ends inside the record");
  }
  if (ec) {
    Status s = IoError("read blob " + Where(loc) + " from " + seg->path + ": " + ec.message());
    log::Error(s.ToString());
    co_return s;
  }
  assert(n == kHeaderBytes + loc.length);
  if (Status s = VerifyRecord(loc, seg->path, header, payload); !s.ok()) co_return s;
  co_return Remember(asked, std::move(payload));
}

Result<BlobStore::FileExtent> BlobStore::OpenExtent(const BlobLocation& asked) const {
  BlobLocation loc = asked;
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Locate(loc));
  GLINT_RETURN_IF_ERROR(CheckBounds(loc, seg->path, seg->size.load(std::memory_order_acquire)));
  if (seg->remote) {
    return Unavailable("blob " + Where(loc) + " is in the remote tier", "blob_not_local");
  }
  // Map the record read-only and hash it in place: the bytes are checked without a copy, and
  // the pages they warm are the ones sendfile then reads.
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t start = loc.offset / page * page;
  const uint64_t span = loc.offset - start + kHeaderBytes + loc.length;
  void* map = ::mmap(nullptr, span, PROT_READ, MAP_SHARED, seg->read_fd, static_cast<off_t>(start));
  if (map == MAP_FAILED) {
    Status s = ErrnoStatus("map blob " + Where(loc) + " from " + seg->path, errno);
    log::Error(s.ToString());
    return s;
  }
  const char* record = static_cast<const char*>(map) + (loc.offset - start);
  Header header;
  std::memcpy(header.data(), record, kHeaderBytes);
  Status verified =
      VerifyRecord(loc, seg->path, header, std::string_view(record + kHeaderBytes, loc.length));
  ::munmap(map, span);
  GLINT_RETURN_IF_ERROR(verified);
  FileExtent extent;
  extent.fd = seg->read_fd;
  extent.offset = loc.offset + kHeaderBytes;
  extent.length = loc.length;
  extent.keep = seg;
  return extent;
}

std::vector<SegmentInfo> BlobStore::Segments() const {
  std::vector<SegmentInfo> out;
  uint32_t active;
  {
    std::lock_guard lock(sync_mu_);
    active = active_ ? active_->number : 0;
  }
  for (uint32_t n = 1; n <= active && n < kMaxSegments; ++n) {
    SegmentPtr seg = table_[n].load(std::memory_order_acquire);
    if (!seg) continue;
    SegmentInfo info;
    info.number = n;
    info.bytes = seg->size.load(std::memory_order_acquire);
    info.active = n == active;
    info.remote = seg->remote;
    struct stat st;
    if (!seg->remote && ::fstat(seg->read_fd, &st) == 0) info.mtime = st.st_mtim.tv_sec;
    out.push_back(info);
  }
  return out;
}

uint64_t BlobStore::DiskBytes() const {
  uint64_t total = 0;
  for (const SegmentInfo& s : Segments())
    if (!s.remote) total += s.bytes;
  return total;
}

Status BlobStore::ScanSegment(uint32_t number, bool verify_payloads,
                              const std::function<bool(const ScannedRecord&)>& fn) const {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/false));
  const uint64_t size = seg->size.load(std::memory_order_acquire);
  WalkResult walk = WalkSegment(
      seg->remote ? RemoteReader(remote_.load(), number, size) : LocalReader(seg->read_fd), number,
      size, verify_payloads, fn);
  if (!walk.failure.empty()) {
    return Corruption(seg->path + ": record at offset " + std::to_string(walk.end) +
                          " is damaged (" + walk.failure + ")",
                      "segment_damaged");
  }
  return Status::Ok();
}

Status BlobStore::SalvageSegment(uint32_t number,
                                 const std::function<bool(const ScannedRecord&)>& on_record,
                                 const std::function<void(const DamagedRange&)>& on_damage) const {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/false));
  const uint64_t size = seg->size.load(std::memory_order_acquire);
  bool resynced = false;
  bool stopped = false;
  auto visit = [&](const ScannedRecord& rec) {
    if (!on_record) return true;
    ScannedRecord copy = rec;
    copy.resynced = resynced;
    stopped = !on_record(copy);
    return !stopped;
  };
  const ReadFn read =
      seg->remote ? RemoteReader(remote_.load(), number, size) : LocalReader(seg->read_fd);
  uint64_t offset = 0;
  while (offset < size) {
    WalkResult walk = WalkSegment(read, number, size, /*verify_payloads=*/true, visit, offset);
    if (walk.failure.empty() || stopped) break;
    DamagedRange damage;
    damage.offset = walk.end;
    damage.reason = walk.failure;
    uint64_t next;
    if (walk.skip_to != 0) {
      // The header checked: only this record is bad, and the next one starts right after it.
      damage.header_intact = true;
      damage.blob_id = walk.failed_blob_id;
      next = walk.skip_to;
    } else {
      next = FindNextHeader(read, walk.end + 1, size);
      if (next < size) resynced = true;
    }
    damage.bytes = next - walk.end;
    if (on_damage) on_damage(damage);
    offset = next;
  }
  return Status::Ok();
}

Status BlobStore::TruncateSegment(uint32_t number, uint64_t offset) {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/true));
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !writing_; });
  writing_ = true;  // no appends while the file shrinks
  lock.unlock();
  Status status;
  int fd = ::open(seg->path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    status = ErrnoStatus("open " + seg->path, errno);
  } else {
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) {
      status = ErrnoStatus("truncate " + seg->path, errno);
    } else if (int err = FdatasyncRetrying(fd); err != 0) {
      status = ErrnoStatus("fdatasync " + seg->path, err);
    }
    ::close(fd);
  }
  if (status.ok() && offset < seg->size.load()) {
    seg->size.store(offset, std::memory_order_release);
    if (seg == active_) active_size_ = offset;
  }
  lock.lock();
  writing_ = false;
  cv_.notify_all();
  return status;
}

Result<BlobLocation> BlobStore::Copy(uint64_t blob_id, const BlobLocation& from) {
  GLINT_ASSIGN_OR_RETURN(std::string bytes, ReadFromDisk(from));
  return Append(blob_id, std::span<const char>(bytes.data(), bytes.size()));
}

Status BlobStore::RetireSegment(uint32_t number,
                                std::vector<std::pair<uint64_t, BlobLocation>> moved) {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/true));
  {
    std::lock_guard lock(sync_mu_);
    if (seg == active_) {
      return Conflict("segment " + std::to_string(number) + " is being appended to",
                      "segment_active");
    }
  }
  {
    // Forwarding first, then the table: a reader that misses the segment finds the move.
    std::unique_lock lock(moved_mu_);
    for (auto& [offset, to] : moved) moved_[MovedKey(number, offset)] = to;
  }
  table_[number].store(nullptr, std::memory_order_release);
  if (::unlink(seg->path.c_str()) != 0) return ErrnoStatus("remove " + seg->path, errno);
  return SyncDir(dir_);
}

Result<std::string> BlobStore::ReadRemote(const Segment& seg, const BlobLocation& loc) const {
  RemoteTier* tier = remote_.load(std::memory_order_acquire);
  if (tier == nullptr) return NoRemoteTier(loc);
  Result<std::string> payload = Corruption("unread");
  for (int attempt = 0; attempt < 2; ++attempt) {
    GLINT_ASSIGN_OR_RETURN(std::string record,
                           tier->Read(loc.segment, loc.offset, kHeaderBytes + loc.length));
    payload = VerifyFetched(loc, seg.path, record);
    if (payload.ok()) break;
    tier->Forget(loc.segment, loc.offset, kHeaderBytes + loc.length);
  }
  return payload;
}

Result<BlobStore::SegmentFile> BlobStore::OpenSegmentFile(uint32_t number) const {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/true));
  SegmentFile file;
  file.fd = seg->read_fd;
  file.size = seg->size.load(std::memory_order_acquire);
  file.keep = seg;
  return file;
}

Status BlobStore::MarkRemote(uint32_t number, const std::string& remote_name) {
  GLINT_ASSIGN_OR_RETURN(SegmentPtr seg, Published(number, /*local_only=*/false));
  if (seg->remote) return Status::Ok();
  {
    std::lock_guard lock(sync_mu_);
    if (seg == active_) {
      return Conflict("segment " + std::to_string(number) + " is being appended to",
                      "segment_active");
    }
  }
  const uint64_t size = seg->size.load(std::memory_order_acquire);
  // The manifest is what survives a restart: written and synced before the local file goes.
  GLINT_RETURN_IF_ERROR(
      WriteFileDurably(dir_, RemoteManifestName(number),
                       "size " + std::to_string(size) + "\nname " + remote_name + "\n"));
  auto remote = std::make_shared<Segment>(number, seg->path, -1);
  remote->remote = true;
  remote->size.store(size, std::memory_order_relaxed);
  table_[number].store(std::move(remote), std::memory_order_release);
  if (::unlink(seg->path.c_str()) != 0) return ErrnoStatus("remove " + seg->path, errno);
  return SyncDir(dir_);
}

}  // namespace glint::storage
