// The blob store against the disk's own floor, measured in the same run on the same disk
// (issue 4). bench/blobstore.sh runs both modes and writes the markdown table; run by hand:
//
//   blob_bench append [--dir D] [--sizes 8K,200K,5M] [--writers 1,8,64] [--seconds 2]
//                     [--slices 4] [--max-bytes 2G] [--repeat 3] [--no-dd]
//   blob_bench read   [--dir D] [--sizes 8K,200K] [--blobs 2048] [--samples 20000]
//                     [--cold-samples 2000] [--concurrency 8] [--repeat 3]
//
// append: for each size and writer count, N threads call BlobStore::Append with blobs of
//   that size on a fresh store in a temp dir; every Append is durable when it returns. The
//   baseline is one thread doing write() + fdatasync() of the same bytes to one growing
//   file (what `dd oflag=dsync bs=SIZE` does). The two take turns on the same disk in
//   --slices slices of --seconds / --slices each (a slice stops at its time or after
//   --max-bytes; glint's slice also lets the appends already started finish), so each
//   side gets --seconds per run. Real `dd if=/dev/zero of=F bs=SIZE oflag=dsync`, stopped
//   with SIGINT after --seconds, runs once per size and run as a cross-check. Bytes
//   counted are payload bytes; glint's 40-byte record headers are written on top.
// read: for each size, a store is filled with --blobs blobs, then random reads of
//   uniformly chosen blobs are timed one at a time with BlobStore::Read (cache off),
//   taking turns with the baseline, plain pread() of the payload ranges (BlobLocation
//   offset + the 40-byte header) of the same segment files into a reused buffer, and
//   with pread plus the xxh3-64 every glint read verifies (how much of the gap is the
//   checksum). Then ReadAsync (cache off) on a single-threaded io_context, one read in
//   flight and then --concurrency in flight, and Read with the default 64 MB blob cache.
//   Two page-cache states:
//     warm: every segment page is resident (read once, checked with mincore), so random
//           reads are page-cache hits (the data set must fit in memory; the report says
//           how large it is);
//     cold: before each timed read, the record's pages are evicted with
//           posix_fadvise(POSIX_FADV_DONTNEED) (needs no privilege: clean pages of a file
//           we can open) and mincore checks they are gone, so the read goes to the device.
//           A virtual disk may still be cached by its host; "cold" means the guest's cache.
//   The read loops take any store and locations (MeasureSync's readers, MeasureReadAsync),
//   so reads from S3-tiered segments become one more store and set of rows once tiering
//   exists.
//
// Each measurement repeats --repeat times (sizes and methods interleaved within a repeat)
// and the median per row is reported. Progress goes to stderr; stdout gets one JSON
// document with every run, which bench/blobstore.sh turns into the table. Everything is
// written under a fresh directory inside --dir (default: the directory holding this
// binary, i.e. the build dir, on the disk under test), removed on exit.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
// Boost.JSON compiled into this program (header-only mode): the bench links no glint
// library that already holds it (http/boost_impl.cc).
#include <boost/json/src.hpp>

#include <xxhash.h>

#include "storage/blob_store.h"
#include "storage/s3_client.h"
#include "storage/tiering.h"

extern char** environ;

namespace {

using glint::storage::BlobLocation;
using glint::storage::BlobStore;
using glint::storage::BlobStoreOptions;
using Clock = std::chrono::steady_clock;
namespace json = boost::json;

// docs/formats.md, "Blob segment record": a record is a 40-byte header, then the payload;
// segment N is <dir>/seg-%08u.log.
constexpr uint64_t kRecordHeaderBytes = 40;
constexpr uint64_t kPageBytes = 4096;

// The TempDir alive, if any: Die removes it, since exiting skips its destructor.
std::string g_temp_dir;

// Exits at once (other threads may still be running), leaving no benchmark files behind.
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "blob_bench: %s\n", what.c_str());
  if (!g_temp_dir.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(g_temp_dir, ignored);
  }
  std::_Exit(1);
}

[[noreturn]] void DieErrno(const std::string& what) { Die(what + ": " + std::strerror(errno)); }

void Progress(const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); }

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

std::string SegmentPath(const std::string& dir, uint32_t segment) {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%08u.log", segment);
  return dir + "/" + name;
}

// "8K" -> 8192, "5M" -> 5242880 (binary units, as dd's bs= reads them); plain digits are bytes.
uint64_t ParseSize(const std::string& text) {
  size_t used = 0;
  uint64_t n = 0;
  try {
    n = std::stoull(text, &used);
  } catch (const std::exception&) {
    Die("not a size: '" + text + "'");
  }
  const std::string unit = text.substr(used);
  if (unit.empty()) return n;
  if (unit == "K" || unit == "k") return n << 10;
  if (unit == "M" || unit == "m") return n << 20;
  if (unit == "G" || unit == "g") return n << 30;
  Die("not a size: '" + text + "' (use a number with K, M or G)");
}

std::string SizeName(uint64_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

// Incompressible, deterministic bytes: the payload every writer appends.
std::string RandomBytes(uint64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (uint64_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&out[i], &v, std::min<uint64_t>(8, n - i));
  }
  return out;
}

// A fresh directory `<parent>/blob_bench.XXXXXX`, removed with its contents on destruction.
// One at a time (g_temp_dir).
class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/blob_bench.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) DieErrno("mkdtemp " + tmpl);
    path_ = tmpl;
    g_temp_dir = path_;
  }
  ~TempDir() {
    g_temp_dir.clear();
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd(const std::string& path, int flags) : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)) {
    if (fd_ < 0) DieErrno("open " + path);
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Latency percentiles (nearest rank) of one series, in microseconds.
struct Latency {
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
  size_t count = 0;
};

Latency Summarise(std::vector<double> us) {
  Latency l;
  l.count = us.size();
  if (us.empty()) return l;
  std::sort(us.begin(), us.end());
  auto rank = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(us.size())));
    return us[std::clamp<size_t>(i, 1, us.size()) - 1];
  };
  l.p50 = rank(0.50);
  l.p90 = rank(0.90);
  l.p99 = rank(0.99);
  double sum = 0;
  for (double v : us) sum += v;
  l.mean = sum / static_cast<double>(us.size());
  return l;
}

json::object ToJson(const Latency& l) {
  return {{"p50_us", l.p50},
          {"p90_us", l.p90},
          {"p99_us", l.p99},
          {"mean_us", l.mean},
          {"count", l.count}};
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A row of the report: the runs of one measurement across repeats, each a flat object of
// numbers; "median" holds the per-key median of the numeric fields.
struct Row {
  json::object key;
  std::vector<json::object> runs;

  json::object Finish() const {
    json::object out = key;
    json::array all;
    std::map<std::string, std::vector<double>> by_field;
    for (const json::object& run : runs) {
      all.push_back(run);
      for (const auto& [k, v] : run) {
        if (v.is_number()) by_field[std::string(k)].push_back(v.to_number<double>());
      }
    }
    json::object median;
    for (auto& [k, values] : by_field) median[k] = Median(std::move(values));
    out["runs"] = std::move(all);
    out["median"] = std::move(median);
    return out;
  }
};

// Rows in first-seen order, found by their key.
class Rows {
 public:
  Row& at(const json::object& key) {
    for (Row& r : rows_) {
      if (r.key == key) return r;
    }
    rows_.push_back(Row{key, {}});
    return rows_.back();
  }
  json::array Finish() const {
    json::array out;
    for (const Row& r : rows_) out.push_back(r.Finish());
    return out;
  }

 private:
  std::vector<Row> rows_;
};

std::unique_ptr<BlobStore> OpenStore(const std::string& dir, uint64_t cache_bytes) {
  BlobStoreOptions options;
  options.cache_bytes = cache_bytes;
  auto store = BlobStore::Open(dir, options);
  if (!store.ok()) Die("open blob store " + dir + ": " + store.status().ToString());
  return std::move(store).value();
}

// ---- append ----

struct AppendBudget {
  double seconds = 2;
  uint64_t max_bytes = 2ull << 30;
};

// Append measurements summed over the slices of one run: payload bytes made durable, the
// appends that did it, the time they took and each one's latency.
struct AppendTally {
  uint64_t bytes = 0;
  uint64_t ops = 0;
  double seconds = 0;
  std::vector<double> us;

  void Add(AppendTally other) {
    bytes += other.bytes;
    ops += other.ops;
    seconds += other.seconds;
    us.insert(us.end(), other.us.begin(), other.us.end());
  }
  double bytes_per_s() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0; }
  json::object ToJson() const {
    json::object o = ::ToJson(Summarise(us));
    o["bytes_per_s"] = bytes_per_s();
    o["appends_per_s"] = seconds > 0 ? static_cast<double>(ops) / seconds : 0;
    o["bytes"] = bytes;
    o["seconds"] = seconds;
    return o;
  }
};

// `writers` threads append `payload` to a fresh store in `dir` until the budget runs out.
AppendTally RunGlintAppend(const std::string& dir, const std::string& payload, int writers,
                           const AppendBudget& budget) {
  auto store = OpenStore(dir, 0);
  const uint64_t size = payload.size();
  std::atomic<uint64_t> claimed{0}, next_id{1};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(writers));
  std::mutex error_mu;
  std::string error;  // the first failed Append; GUARDED_BY(error_mu)
  std::latch ready(writers + 1);
  Clock::time_point deadline;  // written before `ready` releases the writers

  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<double>& mine = latencies[static_cast<size_t>(w)];
      ready.arrive_and_wait();
      while (Clock::now() < deadline && claimed.fetch_add(size) < budget.max_bytes) {
        const auto start = Clock::now();
        auto loc = store->Append(next_id.fetch_add(1), std::span(payload.data(), size));
        const auto end = Clock::now();
        if (!loc.ok()) {
          std::lock_guard lock(error_mu);
          if (error.empty()) error = loc.status().ToString();
          return;
        }
        mine.push_back(Micros(end - start));
      }
    });
  }
  const auto start = Clock::now();
  deadline = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(budget.seconds));
  ready.arrive_and_wait();
  for (std::thread& t : threads) t.join();
  const double elapsed = Seconds(Clock::now() - start);
  if (!error.empty()) Die("append failed: " + error);

  AppendTally t;
  for (const auto& v : latencies) t.us.insert(t.us.end(), v.begin(), v.end());
  t.ops = t.us.size();
  t.bytes = t.ops * size;
  t.seconds = elapsed;
  return t;
}

// The floor: one thread, write() + fdatasync() per blob to one growing file. The thread is
// a fresh one, as glint's writers are, so that both sides start alike.
AppendTally RunWriteSync(const std::string& path, const std::string& payload,
                         const AppendBudget& budget) {
  AppendTally t;
  std::thread writer([&] {
    Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(budget.seconds));
    while (Clock::now() < deadline && t.bytes < budget.max_bytes) {
      const auto t0 = Clock::now();
      for (size_t done = 0; done < payload.size();) {
        ssize_t n = ::write(fd.get(), payload.data() + done, payload.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) DieErrno("write " + path);
        done += static_cast<size_t>(n);
      }
      while (::fdatasync(fd.get()) != 0) {
        if (errno != EINTR) DieErrno("fdatasync " + path);
      }
      t.us.push_back(Micros(Clock::now() - t0));
      t.bytes += payload.size();
      ++t.ops;
    }
    t.seconds = Seconds(Clock::now() - start);
  });
  writer.join();
  ::unlink(path.c_str());
  return t;
}

// Runs `dd if=/dev/zero of=PATH bs=SIZE count=BUDGET/SIZE oflag=dsync`, interrupts it
// with SIGINT once the time budget is spent (GNU dd then prints its summary and stops),
// and reads dd's own figures (bytes copied, seconds) from the summary on stderr.
json::object RunDd(const std::string& path, uint64_t size, const AppendBudget& budget) {
  const uint64_t count = std::max<uint64_t>(1, budget.max_bytes / size);
  std::vector<std::string> args = {"dd",
                                   "if=/dev/zero",
                                   "of=" + path,
                                   "bs=" + std::to_string(size),
                                   "count=" + std::to_string(count),
                                   "oflag=dsync"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The C locale keeps dd's summary line parseable ("N bytes (...) copied, T s, ...").
  std::vector<std::string> env_strings = {"LC_ALL=C"};
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LC_ALL=", 7) != 0) env_strings.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) DieErrno("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  // dd only prints its summary on SIGINT when SIGINT is not ignored, and a shell's
  // background job inherits it ignored.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &signals);
  sigemptyset(&signals);
  posix_spawnattr_setsigmask(&attr, &signals);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, "dd", &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    errno = rc;
    DieErrno("spawn dd");
  }

  // dd writes to the pipe only when it finishes; past the budget, interrupt it.
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(budget.seconds));
  bool interrupted = false;
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) DieErrno("poll dd's output");
    if (n == 0) {
      ::kill(pid, SIGINT);
      interrupted = true;
    }
    break;
  }
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) DieErrno("read dd's output");
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) DieErrno("waitpid dd");
  }
  ::unlink(path.c_str());
  const bool ok = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                  (interrupted && WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
  if (!ok) Die("dd failed: " + output);

  const size_t copied = output.rfind(" copied, ");
  if (copied == std::string::npos) Die("unexpected dd output: " + output);
  const size_t line = output.rfind('\n', copied);
  const uint64_t bytes =
      std::strtoull(output.c_str() + (line == std::string::npos ? 0 : line + 1), nullptr, 10);
  const double seconds = std::strtod(output.c_str() + copied + 9, nullptr);
  if (bytes == 0 || seconds <= 0) Die("unexpected dd output: " + output);
  json::object o;
  o["bytes_per_s"] = static_cast<double>(bytes) / seconds;
  o["appends_per_s"] = static_cast<double>(bytes / size) / seconds;
  o["bytes"] = bytes;
  o["seconds"] = seconds;
  return o;
}

// Flushes the filesystem holding `dir`, outside any timed region, so that freeing the last
// run's files (journal and discard work) is not billed to the next run.
void Settle(const std::string& dir) {
  Fd fd(dir, O_RDONLY | O_DIRECTORY);
  if (::syncfs(fd.get()) != 0) DieErrno("syncfs " + dir);
}

struct AppendFlags {
  std::vector<std::string> sizes = {"8K", "200K", "5M"};
  std::vector<int> writers = {1, 8, 64};
  double seconds = 2;
  int slices = 4;
  std::string max_bytes = "2G";
  bool no_dd = false;
};

json::object RunAppendMode(const std::string& parent, int repeat, const AppendFlags& flags) {
  AppendBudget budget{flags.seconds, ParseSize(flags.max_bytes)};
  TempDir tmp(parent);
  Rows rows;
  for (int rep = 0; rep < repeat; ++rep) {
    for (const std::string& size_text : flags.sizes) {
      const uint64_t size = ParseSize(size_text);
      if (size == 0) Die("sizes must be positive");
      const std::string payload = RandomBytes(size, size);
      const std::string tag = "append " + SizeName(size) + " rep " + std::to_string(rep + 1);

      // Each glint run is measured against its own baseline, in alternating slices of
      // --seconds / --slices each, the side going first alternating too: a shared disk's
      // fdatasync latency moves several-fold within seconds, and alternating slices spread
      // those swings over both sides. "ratio" is glint / baseline over the whole run.
      const AppendBudget slice{budget.seconds / flags.slices, budget.max_bytes};
      for (int writers : flags.writers) {
        if (writers < 1) Die("writer counts must be positive");
        AppendTally glint, base;
        for (int i = 0; i < flags.slices; ++i) {
          for (int side = 0; side < 2; ++side) {
            if ((side + i + rep) % 2 == 0) {
              base.Add(RunWriteSync(tmp.path() + "/baseline", payload, slice));
            } else {
              const std::string dir = tmp.path() + "/store";
              glint.Add(RunGlintAppend(dir, payload, writers, slice));
              std::filesystem::remove_all(dir);
            }
            Settle(tmp.path());
          }
        }
        const double ratio = glint.bytes_per_s() / base.bytes_per_s();
        Progress(tag + ": glint x" + std::to_string(writers) + " " +
                 std::to_string(glint.bytes_per_s() / 1e6) + " MB/s, write+fdatasync " +
                 std::to_string(base.bytes_per_s() / 1e6) + " MB/s, ratio " +
                 std::to_string(ratio));
        json::object g = glint.ToJson();
        g["ratio"] = ratio;
        rows.at({{"method", "write+fdatasync"}, {"size", size}, {"writers", writers}})
            .runs.push_back(base.ToJson());
        rows.at({{"method", "glint"}, {"size", size}, {"writers", writers}})
            .runs.push_back(std::move(g));
      }

      if (!flags.no_dd) {
        json::object d = RunDd(tmp.path() + "/dd", size, budget);
        Settle(tmp.path());
        Progress(tag + ": dd " + std::to_string(d["bytes_per_s"].as_double() / 1e6) + " MB/s");
        rows.at({{"method", "dd"}, {"size", size}}).runs.push_back(std::move(d));
      }
    }
  }
  return {{"mode", "append"},       {"seconds", budget.seconds},
          {"slices", flags.slices}, {"max_bytes", budget.max_bytes},
          {"repeat", repeat},       {"rows", rows.Finish()}};
}

// ---- read ----

// The segment files of a filled store, opened and mapped for the baseline and for
// page-cache control. The mappings are never touched, only passed to mincore, so they do
// not pin pages.
class Segments {
 public:
  Segments(const std::string& dir, const std::vector<BlobLocation>& locs) {
    for (const BlobLocation& loc : locs) {
      if (files_.count(loc.segment)) continue;
      auto f = std::make_unique<File>(SegmentPath(dir, loc.segment));
      files_.emplace(loc.segment, std::move(f));
    }
  }

  // pread of the payload alone into `buf` (at least loc.length bytes).
  void Pread(const BlobLocation& loc, char* buf) const {
    const File& f = file(loc.segment);
    uint64_t done = 0;
    while (done < loc.length) {
      ssize_t n = ::pread(f.fd.get(), buf + done, loc.length - done,
                          static_cast<off_t>(loc.offset + kRecordHeaderBytes + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) DieErrno("pread " + f.path);
      done += static_cast<uint64_t>(n);
    }
  }

  // Drops the record's pages (header and payload, whole pages) from the page cache; true
  // when mincore then finds none of them resident.
  bool Evict(const BlobLocation& loc) const {
    const File& f = file(loc.segment);
    const auto [begin, end] = Pages(loc);
    ::posix_fadvise(f.fd.get(), static_cast<off_t>(begin), static_cast<off_t>(end - begin),
                    POSIX_FADV_DONTNEED);
    return ResidentPages(f, begin, end) == 0;
  }

  // Reads every segment through so all pages are cached; returns the resident fraction.
  double Warm() const {
    std::vector<char> buf(1 << 20);
    uint64_t resident = 0, total = 0;
    for (const auto& [n, f] : files_) {
      for (uint64_t off = 0; off < f->size; off += buf.size()) {
        if (::pread(f->fd.get(), buf.data(), buf.size(), static_cast<off_t>(off)) < 0) {
          DieErrno("pread " + f->path);
        }
      }
      const uint64_t end = (f->size + kPageBytes - 1) / kPageBytes * kPageBytes;
      resident += ResidentPages(*f, 0, end);
      total += end / kPageBytes;
    }
    return total == 0 ? 1.0 : static_cast<double>(resident) / static_cast<double>(total);
  }

 private:
  struct File {
    explicit File(std::string p) : path(std::move(p)), fd(path, O_RDONLY) {
      const off_t end = ::lseek(fd.get(), 0, SEEK_END);
      if (end < 0) DieErrno("lseek " + path);
      size = static_cast<uint64_t>(end);
      map = size == 0 ? nullptr : ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
      if (map == MAP_FAILED) DieErrno("mmap " + path);
    }
    ~File() {
      if (map != nullptr) ::munmap(map, size);
    }
    std::string path;
    Fd fd;
    uint64_t size = 0;
    void* map = nullptr;
  };

  const File& file(uint32_t segment) const { return *files_.at(segment); }

  static std::pair<uint64_t, uint64_t> Pages(const BlobLocation& loc) {
    const uint64_t begin = loc.offset / kPageBytes * kPageBytes;
    const uint64_t end =
        (loc.offset + kRecordHeaderBytes + loc.length + kPageBytes - 1) / kPageBytes * kPageBytes;
    return {begin, end};
  }

  // Resident pages of [begin, end) (page-aligned), clipped to the mapped file.
  static uint64_t ResidentPages(const File& f, uint64_t begin, uint64_t end) {
    end = std::min(end, (f.size + kPageBytes - 1) / kPageBytes * kPageBytes);
    if (f.map == nullptr || begin >= end) return 0;
    std::vector<unsigned char> vec((end - begin) / kPageBytes);
    if (::mincore(static_cast<char*>(f.map) + begin, end - begin, vec.data()) != 0) {
      DieErrno("mincore " + f.path);
    }
    uint64_t n = 0;
    for (unsigned char v : vec) n += v & 1;
    return n;
  }

  std::map<uint32_t, std::unique_ptr<File>> files_;
};

struct ReadFlags {
  std::vector<std::string> sizes = {"8K", "200K"};
  uint64_t blobs = 2048;
  uint64_t samples = 20000;
  uint64_t cold_samples = 2000;
  int concurrency = 8;
};

// Appends `count` blobs of `size` bytes from 8 threads; returns their locations.
std::vector<BlobLocation> Fill(const std::string& dir, uint64_t size, uint64_t count) {
  auto store = OpenStore(dir, 0);
  const std::string payload = RandomBytes(size, size + 1);
  std::vector<BlobLocation> locs(count);
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (uint64_t i; (i = next.fetch_add(1)) < count;) {
        auto loc = store->Append(i + 1, std::span(payload.data(), payload.size()));
        if (!loc.ok()) Die("fill: " + loc.status().ToString());
        locs[i] = *loc;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return locs;
}

// Draws uniformly chosen blobs.
class Picker {
 public:
  Picker(const std::vector<BlobLocation>& locs, uint64_t seed)
      : locs_(locs), rng_(seed), pick_(0, locs.size() - 1) {}
  const BlobLocation& Next() { return locs_[pick_(rng_)]; }

 private:
  const std::vector<BlobLocation>& locs_;
  std::mt19937_64 rng_;
  std::uniform_int_distribution<size_t> pick_;
};

void CheckRead(const glint::Result<std::string>& r, const BlobLocation& loc) {
  if (!r.ok()) Die("read: " + r.status().ToString());
  if (r->size() != loc.length) Die("read returned the wrong length");
}

// Counts timed reads whose pages were verified out of the page cache.
struct ColdCheck {
  uint64_t evicted = 0, reads = 0;
  void Add(bool ok) {
    evicted += ok ? 1 : 0;
    ++reads;
  }
  double fraction() const {
    return reads == 0 ? 0 : static_cast<double>(evicted) / static_cast<double>(reads);
  }
};

// One blocking way of reading a blob, for MeasureSync.
struct SyncReader {
  SyncReader(std::string n, std::function<void(const BlobLocation&)> r)
      : name(std::move(n)), read(std::move(r)) {}
  std::string name;
  std::function<void(const BlobLocation&)> read;  // dies on failure
  std::vector<double> us;
  ColdCheck cold;
};

// Times every reader `samples` times, each read on its own uniformly chosen blob; the readers
// take turns, starting with a different one each round, so drift on a shared machine falls
// on all of them alike. Returns one result per reader, by name.
std::map<std::string, json::object> MeasureSync(std::vector<SyncReader>& readers,
                                                const Segments& segs,
                                                const std::vector<BlobLocation>& locs,
                                                uint64_t samples, bool cold, uint64_t seed) {
  Picker picker(locs, seed);
  for (SyncReader& r : readers) r.us.reserve(samples);
  for (uint64_t i = 0; i < samples; ++i) {
    for (size_t j = 0; j < readers.size(); ++j) {
      SyncReader& r = readers[(i + j) % readers.size()];
      const BlobLocation& loc = picker.Next();
      if (cold) r.cold.Add(segs.Evict(loc));
      const auto t0 = Clock::now();
      r.read(loc);
      r.us.push_back(Micros(Clock::now() - t0));
    }
  }
  std::map<std::string, json::object> out;
  for (SyncReader& r : readers) {
    json::object o = ToJson(Summarise(std::move(r.us)));
    if (cold) o["evicted_fraction"] = r.cold.fraction();
    out[r.name] = std::move(o);
  }
  return out;
}

// ReadAsync from `depth` coroutines on one single-threaded io_context; latency per read
// and reads per second of wall time.
json::object MeasureReadAsync(const BlobStore& store, const Segments& segs,
                              const std::vector<BlobLocation>& locs, uint64_t samples, bool cold,
                              int depth, uint64_t seed) {
  boost::asio::io_context ctx(1);
  Picker picker(locs, seed);
  std::vector<double> us;
  us.reserve(samples);
  ColdCheck check;
  uint64_t started = 0;  // the io_context's only thread touches these
  auto worker = [&]() -> boost::asio::awaitable<void> {
    while (started < samples) {
      ++started;
      const BlobLocation loc = picker.Next();
      if (cold) check.Add(segs.Evict(loc));
      const auto t0 = Clock::now();
      auto r = co_await store.ReadAsync(loc);
      const auto t1 = Clock::now();
      CheckRead(r, loc);
      us.push_back(Micros(t1 - t0));
    }
  };
  const auto start = Clock::now();
  for (int i = 0; i < depth; ++i) {
    boost::asio::co_spawn(ctx, worker, [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  ctx.run();
  const double elapsed = Seconds(Clock::now() - start);
  json::object o = ToJson(Summarise(std::move(us)));
  o["reads_per_s"] = static_cast<double>(samples) / elapsed;
  if (cold) o["evicted_fraction"] = check.fraction();
  return o;
}

// Read through the default blob cache: one pass over every blob first (it keeps what fits
// in 64 MB), then timed uniform reads.
json::object MeasureCachedRead(const std::string& dir, const std::vector<BlobLocation>& locs,
                               uint64_t samples, uint64_t seed) {
  auto store = OpenStore(dir, BlobStoreOptions{}.cache_bytes);
  for (const BlobLocation& loc : locs) CheckRead(store->Read(loc), loc);
  Picker picker(locs, seed);
  std::vector<double> us;
  us.reserve(samples);
  for (uint64_t i = 0; i < samples; ++i) {
    const BlobLocation& loc = picker.Next();
    const auto t0 = Clock::now();
    auto r = store->Read(loc);
    const auto t1 = Clock::now();
    CheckRead(r, loc);
    us.push_back(Micros(t1 - t0));
  }
  return ToJson(Summarise(std::move(us)));
}

json::object RunReadMode(const std::string& parent, int repeat, const ReadFlags& flags) {
  if (flags.blobs == 0 || flags.samples == 0) Die("--blobs and --samples must be positive");
  if (flags.concurrency < 1) Die("--concurrency must be positive");
  TempDir tmp(parent);
  struct Filled {
    uint64_t size;
    std::string dir;
    std::vector<BlobLocation> locs;
  };
  std::vector<Filled> filled;
  json::array fills;
  for (const std::string& size_text : flags.sizes) {
    const uint64_t size = ParseSize(size_text);
    if (size == 0) Die("sizes must be positive");
    const std::string dir = tmp.path() + "/store-" + SizeName(size);
    const auto t0 = Clock::now();
    filled.push_back({size, dir, Fill(dir, size, flags.blobs)});
    const double took = Seconds(Clock::now() - t0);
    Progress("read: filled " + std::to_string(flags.blobs) + " x " + SizeName(size) + " in " +
             std::to_string(took) + " s");
    fills.push_back(
        {{"size", size}, {"blobs", flags.blobs}, {"bytes", size * flags.blobs}, {"seconds", took}});
  }

  Rows rows;
  bool io_uring = false;
  uint64_t seed = 1;
  for (int rep = 0; rep < repeat; ++rep) {
    for (const Filled& f : filled) {
      const std::string tag = "read " + SizeName(f.size) + " rep " + std::to_string(rep + 1);
      Segments segs(f.dir, f.locs);
      {
        auto store = OpenStore(f.dir, 0);
        io_uring = store->io_uring_enabled();
        for (bool cold : {false, true}) {
          const uint64_t samples = cold ? flags.cold_samples : flags.samples;
          if (samples == 0) continue;
          const char* state = cold ? "cold" : "warm";
          json::object key_base = {{"size", f.size}, {"cache", state}};
          if (!cold) {
            const double resident = segs.Warm();
            Progress(tag + ": warm, " + std::to_string(resident * 100) + "% of pages resident");
            if (resident < 0.99) Die("could not get the segments into the page cache");
          }
          // The floor (pread of the payload into a reused buffer), the floor plus the
          // checksum every glint read verifies, and glint's Read without its cache.
          std::vector<char> buf(f.size);
          std::vector<SyncReader> readers;
          readers.emplace_back("pread",
                               [&](const BlobLocation& loc) { segs.Pread(loc, buf.data()); });
          readers.emplace_back("pread+xxh3", [&](const BlobLocation& loc) {
            segs.Pread(loc, buf.data());
            if (XXH3_64bits(buf.data(), loc.length) != loc.checksum) {
              Die("pread returned bytes that fail their checksum");
            }
          });
          readers.emplace_back("Read",
                               [&](const BlobLocation& loc) { CheckRead(store->Read(loc), loc); });
          auto results = MeasureSync(readers, segs, f.locs, samples, cold, seed++);
          Progress(tag + " " + state + ": pread p50 " +
                   std::to_string(results["pread"]["p50_us"].as_double()) + " us, Read p50 " +
                   std::to_string(results["Read"]["p50_us"].as_double()) + " us");
          auto key = [&](const std::string& method) {
            json::object k = key_base;
            k["method"] = method;
            return k;
          };
          for (auto& [name, result] : results) rows.at(key(name)).runs.push_back(std::move(result));
          std::vector<int> depths = {1};
          if (flags.concurrency > 1) depths.push_back(flags.concurrency);
          for (int depth : depths) {
            json::object a = MeasureReadAsync(*store, segs, f.locs, samples, cold, depth, seed++);
            Progress(tag + " " + state + ": ReadAsync x" + std::to_string(depth) + " p50 " +
                     std::to_string(a["p50_us"].as_double()) + " us");
            json::object k = key("ReadAsync");
            k["depth"] = depth;
            rows.at(k).runs.push_back(std::move(a));
          }
        }
      }
      if (flags.samples > 0) {
        segs.Warm();
        json::object c = MeasureCachedRead(f.dir, f.locs, flags.samples, seed++);
        Progress(tag + " warm: Read with cache p50 " + std::to_string(c["p50_us"].as_double()) +
                 " us");
        rows.at({{"size", f.size}, {"cache", "warm"}, {"method", "Read+cache"}})
            .runs.push_back(std::move(c));
      }
    }
  }
  return {{"mode", "read"},
          {"repeat", repeat},
          {"io_uring", io_uring},
          {"fills", std::move(fills)},
          {"rows", rows.Finish()}};
}

// The directory holding this binary: the build dir, on the disk the bench is about.
// ---- tiered ----

struct TieredFlags {
  std::string endpoint;  // a running S3-compatible server (blobstore.sh starts s3rver)
  std::string bucket = "glint-bench";
  std::string access_key = "S3RVER", secret_key = "S3RVER";
  std::vector<std::string> sizes = {"8K", "200K"};
  uint64_t blobs = 256;
  uint64_t samples = 400;
};

// Local against S3-tiered random reads of the same records: Read on the local segments (page
// cache warm), then the segments are moved out with Tiering, and Read again with no local copy
// (every read one ranged GET) and with the tier cache warm.
json::object RunTieredMode(const std::string& parent, const TieredFlags& flags) {
  glint::storage::S3Config config;
  config.endpoint = flags.endpoint;
  config.bucket = flags.bucket;
  config.access_key = flags.access_key;
  config.secret_key = flags.secret_key;
  auto client = glint::storage::S3Client::Create(config);
  if (!client.ok()) Die("s3 client: " + client.status().ToString());
  if (auto s = (*client)->CreateBucketSync(); !s.ok()) Die("create bucket: " + s.ToString());
  json::array rows;
  for (const std::string& size_text : flags.sizes) {
    const uint64_t size = ParseSize(size_text);
    TempDir temp(parent);
    BlobStoreOptions options;
    options.cache_bytes = 0;
    options.max_segment_bytes = std::max<uint64_t>(64u << 10, 8 * size);  // many sealed segments
    auto opened = BlobStore::Open(temp.path() + "/blobs", options);
    if (!opened.ok()) Die("open: " + opened.status().ToString());
    std::unique_ptr<BlobStore> store = std::move(*opened);
    const std::string payload = RandomBytes(size, size + 7);
    std::vector<BlobLocation> locs;
    for (uint64_t i = 0; i < flags.blobs; ++i) {
      auto loc = store->Append(i + 1, std::span(payload.data(), payload.size()));
      if (!loc.ok()) Die("fill: " + loc.status().ToString());
      locs.push_back(*loc);
    }
    const uint32_t active = store->Segments().back().number;
    std::erase_if(locs, [&](const BlobLocation& l) { return l.segment == active; });
    if (locs.empty()) Die("tiered: no record outside the active segment; raise --blobs");
    auto measure = [&](uint64_t seed) {
      Picker picker(locs, seed);
      std::vector<double> us;
      for (uint64_t i = 0; i < flags.samples; ++i) {
        const BlobLocation& loc = picker.Next();
        auto t0 = std::chrono::steady_clock::now();
        auto r = store->Read(loc);
        auto t1 = std::chrono::steady_clock::now();
        CheckRead(r, loc);
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      return Summarise(std::move(us));
    };
    measure(1);  // warm the page cache
    Latency local = measure(2);
    glint::storage::TieringOptions topts;
    topts.key_prefix = "bench-" + std::to_string(::getpid()) + "-" + size_text + "/";
    topts.local_budget_bytes = 1;
    topts.cache_dir = temp.path() + "/nocache";
    topts.cache_bytes = 0;  // no record fits: every read is a ranged GET
    auto uncached = glint::storage::Tiering::Open(*store, **client, topts);
    if (!uncached.ok()) Die("tiering: " + uncached.status().ToString());
    store->SetRemoteTier(uncached->get());
    auto moved = (*uncached)->RunOnce();
    if (!moved.ok()) Die("tier out: " + moved.status().ToString());
    Latency remote = measure(3);
    topts.cache_dir = temp.path() + "/cache";
    topts.cache_bytes = 1ull << 30;
    auto cached = glint::storage::Tiering::Open(*store, **client, topts);
    if (!cached.ok()) Die("tiering: " + cached.status().ToString());
    store->SetRemoteTier(cached->get());
    measure(4);  // fill the tier cache
    Latency remote_cached = measure(5);
    store->SetRemoteTier(nullptr);
    rows.push_back({{"size", SizeName(size)},
                    {"segments_moved", moved->segments_moved},
                    {"local", ToJson(local)},
                    {"remote", ToJson(remote)},
                    {"remote_cached", ToJson(remote_cached)}});
    store.reset();
  }
  return {{"mode", "tiered"}, {"rows", rows}};
}

std::string ExeDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return exe.parent_path().string();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"blob_bench: glint's blob store against write+fdatasync, dd and pread"};
  app.require_subcommand(1);
  app.fallthrough();  // --dir and --repeat may follow the mode too
  std::string dir = ExeDir();
  int repeat = 3;
  app.add_option("--dir", dir, "parent of the temp dir the stores live in (the disk measured)");
  app.add_option("--repeat", repeat, "runs of every measurement; the median is reported")
      ->check(CLI::Range(1, 100));

  AppendFlags af;
  CLI::App* append = app.add_subcommand("append", "durable append throughput vs write+fdatasync");
  append->add_option("--sizes", af.sizes, "blob sizes (8K, 200K, 5M, ...)")->delimiter(',');
  append->add_option("--writers", af.writers, "concurrent appender counts")->delimiter(',');
  append->add_option("--seconds", af.seconds, "time per run for each side")
      ->check(CLI::Range(0.1, 600.0));
  append
      ->add_option("--slices", af.slices,
                   "alternating glint / baseline slices the time budget is split into")
      ->check(CLI::Range(1, 1000));
  append->add_option("--max-bytes", af.max_bytes, "byte budget per slice");
  append->add_flag("--no-dd", af.no_dd, "skip the dd cross-check");

  ReadFlags rf;
  CLI::App* read = app.add_subcommand("read", "random read latency vs pread");
  read->add_option("--sizes", rf.sizes, "blob sizes")->delimiter(',');
  read->add_option("--blobs", rf.blobs, "blobs stored per size");
  read->add_option("--samples", rf.samples, "timed reads per method, page cache warm");
  read->add_option("--cold-samples", rf.cold_samples,
                   "timed reads per method with the record evicted first (0: skip)");
  read->add_option("--concurrency", rf.concurrency, "ReadAsync reads in flight, besides 1");

  TieredFlags tf;
  CLI::App* tiered =
      app.add_subcommand("tiered", "local vs S3-tiered random read latency (needs --s3-endpoint)");
  tiered->add_option("--s3-endpoint", tf.endpoint, "a running S3-compatible server")->required();
  tiered->add_option("--bucket", tf.bucket, "bucket to use (created if missing)");
  tiered->add_option("--sizes", tf.sizes, "blob sizes")->delimiter(',');
  tiered->add_option("--blobs", tf.blobs, "blobs stored per size");
  tiered->add_option("--samples", tf.samples, "timed reads per series");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!std::filesystem::is_directory(dir)) Die("--dir " + dir + " is not a directory");

  json::object out = append->parsed()   ? RunAppendMode(dir, repeat, af)
                     : tiered->parsed() ? RunTieredMode(dir, tf)
                                        : RunReadMode(dir, repeat, rf);
  out["dir"] = dir;
  std::cout << json::serialize(out) << "\n";
  return 0;
}
