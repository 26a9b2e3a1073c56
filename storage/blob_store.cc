#include "storage/blob_store.h"

#include "storage/blob_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
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

using Header = std::array<char, kHeaderBytes>;

void PutLE(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

Header EncodeHeader(uint64_t blob_id, uint64_t length, uint64_t payload_checksum) {
  Header h{};
  PutLE(&h[0], kMagic, 4);
  PutLE(&h[4], kFormatVersion, 2);
  PutLE(&h[6], 0, 2);
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
void Consume(std::array<iovec, 2>& iov, size_t& first, size_t n) {
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
int PwritevFully(int fd, std::array<iovec, 2> iov, uint64_t offset) {
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

}  // namespace

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
  const int read_fd;  // O_RDONLY, shared by all readers for the store's life
  int write_fd = -1;  // open only while this is the active segment; GUARDED_BY(mu_)
  // Bytes that hold complete, synced records; a location past it is not one we handed out.
  std::atomic<uint64_t> durable_size{0};
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

BlobStore::BlobStore() : table_(std::make_unique<std::atomic<Segment*>[]>(kMaxSegments)) {}

BlobStore::~BlobStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& dir,
                                                   const BlobStoreOptions& options) {
  std::error_code fs_ec;
  std::filesystem::create_directories(dir, fs_ec);
  if (fs_ec) return ErrnoStatus("create blob directory " + dir, fs_ec.value());

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
  for (auto it = std::filesystem::directory_iterator(dir, fs_ec);
       !fs_ec && it != std::filesystem::directory_iterator(); it.increment(fs_ec)) {
    if (auto n = ParseSegmentName(it->path().filename().native())) numbers.push_back(*n);
  }
  if (fs_ec) return ErrnoStatus("list blob directory " + dir, fs_ec.value());
  std::sort(numbers.begin(), numbers.end());

  std::unique_lock lock(store->mu_);  // uncontended; keeps the GUARDED_BY rule literal
  for (uint32_t n : numbers) {
    const std::string path = dir + "/" + SegmentName(n);
    if (n == 0 || n >= kMaxSegments) {
      return Corruption("segment number out of range: " + path);
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + path, errno);
    auto seg = std::make_unique<Segment>(n, path, fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("stat " + path, errno);
    seg->durable_size.store(static_cast<uint64_t>(st.st_size), std::memory_order_relaxed);
    store->table_[n].store(seg.get(), std::memory_order_release);
    store->segments_.push_back(std::move(seg));
  }

  if (store->segments_.empty()) {
    GLINT_RETURN_IF_ERROR(store->StartSegment(1, lock));
  } else {
    // Append after whatever the highest segment holds, including a torn record left by a
    // crash: no location points into it, so it is only dead space.
    Segment* last = store->segments_.back().get();
    last->write_fd = ::open(last->path.c_str(), O_WRONLY | O_CLOEXEC);
    if (last->write_fd < 0) return ErrnoStatus("open " + last->path, errno);
    store->active_ = last;
    store->active_size_ = last->durable_size.load(std::memory_order_relaxed);
  }

  if (options.use_io_uring) {
    std::string why;
    store->io_uring_ = ProbeIoUring(store->active_->read_fd, &why);
    if (!store->io_uring_) {
      log::Warn("blob store " + dir + ": io_uring unavailable (" + why +
                "); ReadAsync falls back to pread");
    }
  }
  return store;
}

Status BlobStore::StartSegment(uint32_t number, const std::unique_lock<std::mutex>& held) {
  assert(held.owns_lock() && held.mutex() == &mu_);
  (void)held;
  if (number >= kMaxSegments) {
    return IoError("blob store " + dir_ + " has used all " + std::to_string(kMaxSegments - 1) +
                   " segment numbers");
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
    return ErrnoStatus("open " + path, err);
  }
  auto seg = std::make_unique<Segment>(number, path, rfd);
  seg->write_fd = wfd;
  // The new name must survive a crash before any location pointing into it is handed out.
  if (Status s = SyncDir(dir_); !s.ok()) {
    // Remove the file so the next attempt can create it again instead of hitting O_EXCL.
    ::unlink(path.c_str());
    log::Error(s.ToString());
    return s;
  }

  if (active_ != nullptr) {
    ::close(active_->write_fd);  // every record in it was fdatasync'ed by its Append
    active_->write_fd = -1;
  }
  active_ = seg.get();
  active_size_ = 0;
  table_[number].store(seg.get(), std::memory_order_release);
  segments_.push_back(std::move(seg));
  return Status::Ok();
}

Result<const BlobStore::Segment*> BlobStore::segment(uint32_t number) const {
  const Segment* seg =
      number < kMaxSegments ? table_[number].load(std::memory_order_acquire) : nullptr;
  if (seg == nullptr) {
    return NotFound("blob segment " + std::to_string(number) + " does not exist");
  }
  return seg;
}

Result<BlobLocation> BlobStore::Append(uint64_t blob_id, std::span<const char> bytes) {
  if (bytes.size() > options_.max_blob_bytes) {
    return TooLarge("blob of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                        std::to_string(options_.max_blob_bytes),
                    "blob_too_large");
  }
  // Hash outside the lock: it is the only per-byte work and appends would queue behind it.
  const uint64_t checksum = XXH3_64bits(bytes.data(), bytes.size());
  Header header = EncodeHeader(blob_id, bytes.size(), checksum);
  const uint64_t record_bytes = kHeaderBytes + bytes.size();

  std::unique_lock lock(mu_);
  // An empty segment takes any record, so a blob larger than a segment still fits somewhere.
  if (active_size_ > 0 && active_size_ + record_bytes > options_.max_segment_bytes) {
    GLINT_RETURN_IF_ERROR(StartSegment(active_->number + 1, lock));
  }
  std::array<iovec, 2> iov = {iovec{header.data(), header.size()},
                              iovec{const_cast<char*>(bytes.data()), bytes.size()}};
  // On failure the position stays put: the next append overwrites whatever partial record
  // reached the file, and no location ever points at it.
  if (int err = PwritevFully(active_->write_fd, iov, active_size_); err != 0) {
    Status s = ErrnoStatus("write " + active_->path, err);
    log::Error(s.ToString());
    return s;
  }
  while (::fdatasync(active_->write_fd) != 0) {
    if (errno == EINTR) continue;
    Status s = ErrnoStatus("fdatasync " + active_->path, errno);
    log::Error(s.ToString());
    return s;
  }
  BlobLocation loc;
  loc.segment = active_->number;
  loc.offset = active_size_;
  loc.length = bytes.size();
  loc.checksum = checksum;
  active_size_ += record_bytes;
  active_->durable_size.store(active_size_, std::memory_order_release);
  return loc;
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

Result<std::string> BlobStore::ReadFromDisk(const BlobLocation& loc) const {
  GLINT_ASSIGN_OR_RETURN(const Segment* seg, segment(loc.segment));
  GLINT_RETURN_IF_ERROR(
      CheckBounds(loc, seg->path, seg->durable_size.load(std::memory_order_acquire)));
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

boost::asio::awaitable<Result<std::string>> BlobStore::ReadAsync(BlobLocation loc) const {
  if (cache_)
    if (auto hit = cache_->Find(loc)) co_return *hit;
  if (!io_uring_.load(std::memory_order_relaxed)) co_return Read(loc);
  Result<const Segment*> found = segment(loc.segment);
  if (!found.ok()) co_return found.status();
  const Segment* seg = *found;
  if (Status s = CheckBounds(loc, seg->path, seg->durable_size.load(std::memory_order_acquire));
      !s.ok()) {
    co_return s;
  }

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
    co_return Read(loc);
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
  co_return Remember(loc, std::move(payload));
}

}  // namespace glint::storage
