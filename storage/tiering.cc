#include "storage/tiering.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>
#include <vector>

#include "base/log.h"

namespace glint::storage {
namespace {

std::string SegmentFileName(uint32_t number) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%08u.log", number);
  return name;
}

// What a failed fetch means to a reader: an outage is worth retrying (503); a missing object
// or a wrong answer is damage, reported as such.
Status ReadFailure(const Status& s, const std::string& key) {
  if (s.code() == Code::kUnavailable) return s;
  if (s.code() == Code::kNotFound || s.code() == Code::kCorruption) {
    log::Error("remote tier: " + key + ": " + s.ToString());
    return Corruption("remote object " + key + " cannot be read: " + s.message(),
                      "remote_blob_damaged");
  }
  log::Error("remote tier: " + key + ": " + s.ToString());
  return Unavailable("the remote tier refused the read of " + key + ": " + s.message(),
                     "s3_unavailable");
}

}  // namespace

Tiering::Tiering(BlobStore& blobs, S3Client& s3, TieringOptions options)
    : blobs_(blobs), s3_(s3), options_(std::move(options)) {}

Tiering::~Tiering() { Stop(); }

Result<std::unique_ptr<Tiering>> Tiering::Open(BlobStore& blobs, S3Client& s3,
                                               TieringOptions options) {
  if (options.cache_dir.empty()) {
    return InvalidArgument("the tier cache directory is not set", "invalid_tier_cache");
  }
  std::error_code ec;
  std::filesystem::create_directories(options.cache_dir, ec);
  if (ec) return ErrnoStatus("create tier cache " + options.cache_dir, ec.value());
  std::unique_ptr<Tiering> t(new Tiering(blobs, s3, std::move(options)));
  // Index what an earlier run cached; temporary files of an interrupted insert go.
  for (auto it = std::filesystem::directory_iterator(t->options_.cache_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().native();
    if (name.ends_with(".tmp")) {
      std::filesystem::remove(it->path(), ec);
      continue;
    }
    const uint64_t bytes = it->file_size(ec);
    if (ec) continue;
    t->lru_.push_front(name);
    t->cached_[name] = {t->lru_.begin(), bytes};
    t->cached_bytes_ += bytes;
  }
  if (ec) return ErrnoStatus("list tier cache " + t->options_.cache_dir, ec.value());
  return t;
}

std::string Tiering::ObjectKey(uint32_t number) const {
  return options_.key_prefix + SegmentFileName(number);
}

Status Tiering::MoveOut(uint32_t number) {
  // The compactor leaves the segment alone while it moves (and vice versa).
  auto maintenance = blobs_.LockMaintenance();
  bool sealed_local = false;
  for (const SegmentInfo& s : blobs_.Segments()) {
    if (s.number == number) sealed_local = !s.active && !s.remote;
  }
  if (!sealed_local) {
    return Conflict("segment " + std::to_string(number) + " is not a sealed local segment",
                    "segment_not_sealed");
  }
  GLINT_ASSIGN_OR_RETURN(BlobStore::SegmentFile file, blobs_.OpenSegmentFile(number));
  const std::string key = ObjectKey(number);
  const std::string path = blobs_.dir() + "/" + SegmentFileName(number);
  // The client sends Content-MD5 and checks the answer's ETag against it.
  GLINT_ASSIGN_OR_RETURN(std::string etag, s3_.PutFileSync(key, path, 0, file.size));
  GLINT_ASSIGN_OR_RETURN(S3ObjectInfo info, s3_.HeadSync(key));
  if (info.size != file.size || info.etag != etag) {
    return Corruption("remote copy of segment " + std::to_string(number) + " is " +
                          std::to_string(info.size) + " bytes with ETag " + info.etag + ", not " +
                          std::to_string(file.size) + " bytes with ETag " + etag,
                      "remote_copy_mismatch");
  }
  GLINT_RETURN_IF_ERROR(blobs_.MarkRemote(number, key));
  log::Info("tiered out blob segment " + std::to_string(number) + " (" + std::to_string(file.size) +
            " bytes) to " + key);
  return Status::Ok();
}

Result<TieringReport> Tiering::RunOnce() {
  TieringReport report;
  std::vector<SegmentInfo> segments = blobs_.Segments();
  uint64_t local = 0;
  for (const SegmentInfo& s : segments)
    if (!s.remote) local += s.bytes;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const SegmentInfo& s : segments) {
    if (s.active || s.remote) continue;
    const bool old = options_.after_seconds > 0 && s.mtime + options_.after_seconds <= now;
    const bool over = options_.local_budget_bytes > 0 && local > options_.local_budget_bytes;
    if (!old && !over) continue;
    GLINT_RETURN_IF_ERROR(MoveOut(s.number));
    local -= s.bytes;
    ++report.segments_moved;
    report.bytes_moved += s.bytes;
  }
  return report;
}

void Tiering::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Tiering::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Tiering::Run() {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  std::chrono::milliseconds wait = options_.interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto report = RunOnce();
    lock.lock();
    if (report.ok()) {
      wait = options_.interval;
    } else {
      // The data stays local; try again later, less often while the bucket stays away.
      wait = std::min(options_.max_backoff, std::max(options_.interval, wait * 2));
      log::Warn("tiering: " + report.status().ToString() + "; next attempt in " +
                std::to_string(wait.count()) + " ms");
    }
    cv_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

// ---- reads ----

std::string Tiering::CachePath(uint32_t number, uint64_t offset, uint64_t length) const {
  return options_.cache_dir + "/" + std::to_string(number) + "-" + std::to_string(offset) + "-" +
         std::to_string(length);
}

std::optional<std::string> Tiering::CacheFind(uint32_t number, uint64_t offset, uint64_t length) {
  const std::string path = CachePath(number, offset, length);
  const std::string name = path.substr(options_.cache_dir.size() + 1);
  {
    std::lock_guard lock(cache_mu_);
    auto it = cached_.find(name);
    if (it == cached_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second.pos);
  }
  std::string bytes(length, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0;
  uint64_t done = 0;
  while (ok && done < length) {
    ssize_t n = ::pread(fd, bytes.data() + done, length - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      ok = false;
    else
      done += static_cast<uint64_t>(n);
  }
  if (fd >= 0) ::close(fd);
  if (!ok) {
    Forget(number, offset, length);
    return std::nullopt;
  }
  return bytes;
}

void Tiering::CacheInsert(uint32_t number, uint64_t offset, uint64_t length,
                          const std::string& bytes) {
  if (bytes.size() > options_.cache_bytes) return;
  const std::string path = CachePath(number, offset, length);
  const std::string name = path.substr(options_.cache_dir.size() + 1);
  // Written aside and renamed: a reader never sees a partial file. A cache needs no fsync;
  // BlobStore verifies whatever it reads back.
  const std::string tmp = path + "." + std::to_string(::gettid()) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return;
  }
  std::vector<std::string> evict;
  {
    std::lock_guard lock(cache_mu_);
    if (!cached_.count(name)) {
      lru_.push_front(name);
      cached_[name] = {lru_.begin(), bytes.size()};
      cached_bytes_ += bytes.size();
    }
    while (cached_bytes_ > options_.cache_bytes && !lru_.empty()) {
      const std::string victim = lru_.back();
      lru_.pop_back();
      cached_bytes_ -= cached_[victim].bytes;
      cached_.erase(victim);
      evict.push_back(victim);
    }
  }
  for (const std::string& victim : evict) ::unlink((options_.cache_dir + "/" + victim).c_str());
}

void Tiering::Forget(uint32_t number, uint64_t offset, uint64_t length) {
  const std::string path = CachePath(number, offset, length);
  const std::string name = path.substr(options_.cache_dir.size() + 1);
  {
    std::lock_guard lock(cache_mu_);
    auto it = cached_.find(name);
    if (it == cached_.end()) return;
    lru_.erase(it->second.pos);
    cached_bytes_ -= it->second.bytes;
    cached_.erase(it);
  }
  ::unlink(path.c_str());
}

uint64_t Tiering::cache_bytes_used() const {
  std::lock_guard lock(cache_mu_);
  return cached_bytes_;
}

boost::asio::awaitable<Result<std::string>> Tiering::ReadAsync(uint32_t number, uint64_t offset,
                                                               uint64_t length) {
  if (auto hit = CacheFind(number, offset, length)) co_return std::move(*hit);
  const std::string key = ObjectKey(number);
  Result<std::string> got = co_await s3_.GetRange(key, offset, length);
  if (!got.ok()) co_return ReadFailure(got.status(), key);
  CacheInsert(number, offset, length, *got);
  co_return std::move(*got);
}

Result<std::string> Tiering::Read(uint32_t number, uint64_t offset, uint64_t length) {
  if (auto hit = CacheFind(number, offset, length)) return std::move(*hit);
  const std::string key = ObjectKey(number);
  Result<std::string> got = s3_.GetSync(key, offset, length);
  if (!got.ok()) return ReadFailure(got.status(), key);
  // Scans read 8 MB windows once; caching them would only push out the records readers use.
  if (length <= (1u << 20)) CacheInsert(number, offset, length, *got);
  return std::move(*got);
}

}  // namespace glint::storage
