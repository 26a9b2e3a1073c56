// Tag writes and reads through core::Service against plain RocksDB work on the same rows,
// measured in the same run on the same disk (issue 6). bench/tags.sh runs it and writes the
// markdown table; run by hand:
//
//   tags_bench [--dir D] [--users 128] [--photos 1000] [--writers 4] [--readers 2]
//              [--seconds 3] [--repeat 3]
//
// Set-up: a fresh data directory (RocksDB with fsync on every write, as `glint serve` runs
// it, the blob store and the event log) with --users accounts and --photos public photos,
// and a second fresh RocksDB for the write baseline.
// write: --writers threads call Service::TagPhoto, each tag a new (photo, user) pair: the
//   photo and both users read, the per-photo count scanned, the owner's stripe held, and
//   the tags row, tagged row and PHOTO_TAGGED event written in one synced batch. Baseline:
//   the same threads write the same three rows (the same encodings and sizes) as one
//   synced WriteBatch to the other database, with no reads, checks or locks. The two take
//   turns, --seconds each per run.
// read: --readers threads over the database the glint side filled.
//   photo_tags: Service::ListPhotoTags of a random photo (visibility and per-tag checks,
//     records decoded), against a RocksDB prefix scan of the same tags rows.
//   tagged: Service::ListTaggedPhotos of a random user among those tagged in every photo,
//     20 a page (the tagged index scan, then the tag row and photo row of each photo, the
//     owners' user rows for `active`), against the same scan and the same point reads on
//     the raw database.
// Each measurement repeats --repeat times, alternating sides; stdout gets one JSON
// document with every run (per-second rates and latency percentiles).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "base/clock.h"
#include "core/events.h"
#include "core/service.h"
#include "storage/blob_store.h"
#include "storage/db.h"
#include "storage/record.h"
#include "tests/testutil/images.h"

namespace glint {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using storage::Cf;

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::cerr << "tags_bench: " << what << ": " << s.ToString() << "\n";
  std::exit(1);
}

template <class T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(r).value();
}

void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what, s);
}

// One timed series: operations done and their latencies.
struct Series {
  uint64_t ops = 0;
  double seconds = 0;
  std::vector<double> latencies_us;

  json::object Json() const {
    std::vector<double> l = latencies_us;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) {
      if (l.empty()) return 0.0;
      size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(l.size()))) - 1;
      return l[std::min(i, l.size() - 1)];
    };
    return json::object{{"ops", ops},
                        {"seconds", seconds},
                        {"per_s", seconds > 0 ? static_cast<double>(ops) / seconds : 0},
                        {"p50_us", pct(0.50)},
                        {"p99_us", pct(0.99)}};
  }
};

// Runs `op(thread, i)` on `threads` threads for `seconds`, i counting up across threads.
Series Run(int threads, double seconds, const std::function<void(int, uint64_t)>& op) {
  std::atomic<uint64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Series out;
  const auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::vector<double> mine;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t i = next.fetch_add(1);
        const auto t0 = Clock::now();
        op(t, i);
        mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      }
      std::lock_guard lock(mu);
      out.latencies_us.insert(out.latencies_us.end(), mine.begin(), mine.end());
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.ops = out.latencies_us.size();
  return out;
}

constexpr core::TagBox kBox{0.25, 0.25, 0.5, 0.5};

struct Options {
  std::string dir;
  int users = 128;
  int photos = 1000;
  int writers = 4;
  int readers = 2;
  double seconds = 3;
  int repeat = 3;
};

class Bench {
 public:
  explicit Bench(const Options& o) : o_(o) {
    root_ = o.dir + "/tags_bench." + std::to_string(::getpid());
    std::filesystem::create_directories(root_);
    db_ = Must(storage::Db::Open(root_ + "/db", storage::DbOptions{}), "open db");
    raw_ = Must(storage::Db::Open(root_ + "/raw", storage::DbOptions{}), "open raw db");
    blobs_ = Must(storage::BlobStore::Open(root_ + "/blobs", {}), "open blobs");
    events_ = Must(core::EventLog::Open(*db_, clock_), "open events");
    core::ServiceOptions so;
    so.signing_key = std::string(32, 'k');
    so.admin_token = "tags-bench-admin-token";
    so.kdf = {1, 8192};
    so.max_tags_per_photo = static_cast<size_t>(o.users);
    service_ = Must(core::Service::Create(*db_, *blobs_, clock_, so), "service");
    service_->SetEventLog(events_.get());
  }
  ~Bench() {
    service_.reset();
    events_.reset();
    blobs_.reset();
    raw_.reset();
    db_.reset();
    std::filesystem::remove_all(root_);
  }

  void SetUp() {
    const auto admin = core::Principal::Admin();
    for (int u = 0; u < o_.users; ++u) {
      const std::string email = "user" + std::to_string(u) + "@example.com";
      auto account = Must(service_->CreateAccount(admin, email, "correct horse battery"), email);
      auto login = Must(service_->Login(email, "correct horse battery"), "login");
      users_.push_back(account.id);
      principals_.push_back(Must(service_->Authenticate(login.token), "authenticate"));
    }
    const std::string jpeg = testutil::MakeJpeg(32, 24);
    for (int p = 0; p < o_.photos; ++p) {
      const core::Principal& owner = principals_[static_cast<size_t>(p) % principals_.size()];
      auto view = Must(service_->UploadPhoto(owner, {jpeg.data(), jpeg.size()}), "upload");
      photos_.push_back(view.photo.id);
    }
  }

  // The i-th (photo, user) pair; distinct for i < photos * users.
  std::pair<uint64_t, uint64_t> Pair(uint64_t i) const {
    return {photos_[i % photos_.size()], users_[(i / photos_.size()) % users_.size()]};
  }

  Series GlintWrites() {
    const uint64_t base = glint_written_;
    Series s = Run(o_.writers, o_.seconds, [&](int, uint64_t i) {
      auto [photo, user] = Pair(base + i);
      // The same tagger for the same pair, so a repeat (past photos x users tags) is the
      // idempotent answer, not someone else's already_tagged.
      const core::Principal& tagger = principals_[(base + i) % principals_.size()];
      auto r = service_->TagPhoto(tagger, photo, user, kBox);
      if (!r.ok()) Die("TagPhoto", r.status());
      if (!r->created) ++repeats_;
    });
    glint_written_ += s.ops;
    return s;
  }

  Series RawWrites() {
    const uint64_t base = raw_written_;
    Series s = Run(o_.writers, o_.seconds, [&](int, uint64_t i) {
      auto [photo, user] = Pair(base + i);
      core::TagRecord tag{
          photo, user, users_[(base + i) % users_.size()], kBox, clock_.NowUnixSeconds(), true, 0};
      core::EventRecord e;
      e.seq = raw_seq_.fetch_add(1) + 1;
      e.type = core::kPhotoTagged;
      e.subject = std::to_string(photo);
      e.actor = tag.tagger;
      e.recipient = user;
      e.time = tag.created_at;
      e.payload = json::serialize(json::object{
          {"photo_id", photo},
          {"owner_id", tag.tagger},
          {"user_id", user},
          {"tagger_id", tag.tagger},
          {"state", "approved"},
          {"box", json::object{{"x", kBox.x}, {"y", kBox.y}, {"w", kBox.w}, {"h", kBox.h}}}});
      storage::WriteBatch batch;
      batch.Put(Cf::kTags, core::TagKey(photo, user), tag.Encode());
      batch.Put(Cf::kTagged, core::TaggedKey(tag), {});
      batch.Put(Cf::kEvents, storage::U64Key(e.seq), e.Encode());
      Must(raw_->Write(batch), "raw write");
    });
    raw_written_ += s.ops;
    return s;
  }

  Series GlintPhotoTags() {
    return Run(o_.readers, o_.seconds, [&](int t, uint64_t i) {
      const uint64_t photo = photos_[Random(t, i) % photos_.size()];
      auto tags = service_->ListPhotoTags(principals_[0], photo);
      if (!tags.ok()) Die("ListPhotoTags", tags.status());
      sink_ += tags->size();
    });
  }

  Series RawPhotoTags() {
    return Run(o_.readers, o_.seconds, [&](int t, uint64_t i) {
      const uint64_t photo = photos_[Random(t, i) % photos_.size()];
      std::vector<std::string> rows;
      Must(db_->Scan(Cf::kTags, storage::U64Key(photo), std::numeric_limits<size_t>::max(),
                     [&](std::string_view, std::string_view v) {
                       rows.emplace_back(v);
                       return true;
                     }),
           "scan tags");
      sink_ += rows.size();
    });
  }

  Series GlintTagged() {
    return Run(o_.readers, o_.seconds, [&](int t, uint64_t i) {
      const uint64_t user = users_[Random(t, i) % TaggedUsers()];
      auto page = service_->ListTaggedPhotos(principals_[0], user, "", 20);
      if (!page.ok()) Die("ListTaggedPhotos", page.status());
      sink_ += page->photos.size();
    });
  }

  Series RawTagged() {
    return Run(o_.readers, o_.seconds, [&](int t, uint64_t i) {
      const uint64_t user = users_[Random(t, i) % TaggedUsers()];
      std::vector<uint64_t> photos;
      Must(db_->Scan(Cf::kTagged, storage::U64Key(user), 20,
                     [&](std::string_view k, std::string_view) {
                       photos.push_back(~*storage::ReadU64BE(k, 16));
                       return true;
                     }),
           "scan tagged");
      std::vector<uint64_t> owners;  // each owner's user row read once, as glint does
      for (uint64_t photo : photos) {
        auto tag = Must(db_->Get(Cf::kTags, core::TagKey(photo, user)), "get tag");
        auto row = Must(db_->Get(Cf::kPhotos, storage::U64Key(photo)), "get photo");
        if (!row) continue;
        const uint64_t owner = Must(core::Photo::Decode(*row), "decode photo").owner;
        if (std::find(owners.begin(), owners.end(), owner) == owners.end()) {
          owners.push_back(owner);
          sink_ += Must(db_->Get(Cf::kUsers, storage::U64Key(owner)), "get user").has_value();
        }
        sink_ += tag.has_value();
      }
    });
  }

  // Users with a full set of tags (one in every photo): the tagged lists worth reading. The
  // i-th write tags user i / photos, so they are the first ones.
  size_t TaggedUsers() const {
    return std::clamp<size_t>(glint_written_ / photos_.size(), 1, users_.size());
  }

  uint64_t tags_written() const { return glint_written_; }
  uint64_t repeats() const { return repeats_; }

 private:
  static uint64_t Random(int thread, uint64_t i) {
    uint64_t x = (static_cast<uint64_t>(thread) << 40) ^ (i * 0x9E3779B97F4A7C15ull);
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
  }

  Options o_;
  std::string root_;
  SystemClock clock_;
  std::unique_ptr<storage::Db> db_, raw_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<core::EventLog> events_;
  std::unique_ptr<core::Service> service_;
  std::vector<uint64_t> users_, photos_;
  std::vector<core::Principal> principals_;
  uint64_t glint_written_ = 0, raw_written_ = 0;
  std::atomic<uint64_t> raw_seq_{0};
  std::atomic<uint64_t> repeats_{0};
  std::atomic<uint64_t> sink_{0};
};

}  // namespace
}  // namespace glint

int main(int argc, char** argv) {
  using namespace glint;
  Options o;
  o.dir = std::filesystem::path(argv[0]).parent_path().string();
  if (o.dir.empty()) o.dir = ".";
  CLI::App app{"tags_bench: tag writes and reads through glint against plain RocksDB"};
  app.add_option("--dir", o.dir, "parent of the temp dir the databases live in (the disk)");
  app.add_option("--users", o.users, "accounts (each photo gets at most this many tags)")
      ->check(CLI::Range(2, 100000));
  app.add_option("--photos", o.photos, "public photos to tag in")->check(CLI::Range(1, 1000000));
  app.add_option("--writers", o.writers, "threads writing tags")->check(CLI::Range(1, 256));
  app.add_option("--readers", o.readers, "threads reading tags")->check(CLI::Range(1, 256));
  app.add_option("--seconds", o.seconds, "time per side per run")->check(CLI::Range(0.1, 600.0));
  app.add_option("--repeat", o.repeat, "runs per measurement")->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);

  Bench bench(o);
  std::cerr << "tags_bench: " << o.users << " users, " << o.photos << " photos...\n";
  bench.SetUp();
  json::array writes, photo_tags, tagged;
  for (int r = 0; r < o.repeat; ++r) {
    std::cerr << "tags_bench: writes, run " << r + 1 << "\n";
    writes.push_back(
        json::object{{"glint", bench.GlintWrites().Json()}, {"rocksdb", bench.RawWrites().Json()}});
  }
  if (bench.tags_written() > static_cast<uint64_t>(o.users) * static_cast<uint64_t>(o.photos))
    std::cerr << "tags_bench: note: more writes than pairs; " << bench.repeats()
              << " were repeats of existing tags\n";
  for (int r = 0; r < o.repeat; ++r) {
    std::cerr << "tags_bench: reads, run " << r + 1 << "\n";
    photo_tags.push_back(json::object{{"glint", bench.GlintPhotoTags().Json()},
                                      {"rocksdb", bench.RawPhotoTags().Json()}});
    tagged.push_back(
        json::object{{"glint", bench.GlintTagged().Json()}, {"rocksdb", bench.RawTagged().Json()}});
  }
  json::object out{{"users", o.users},
                   {"photos", o.photos},
                   {"writers", o.writers},
                   {"readers", o.readers},
                   {"seconds", o.seconds},
                   {"tags", bench.tags_written()},
                   {"repeats", bench.repeats()},
                   {"writes", std::move(writes)},
                   {"photo_tags", std::move(photo_tags)},
                   {"tagged", std::move(tagged)}};
  std::cout << json::serialize(out) << "\n";
  return 0;
}
