// Crash test: the real `glint` binary under concurrent uploads, killed with SIGKILL at random
// moments and restarted on the same data directory, several rounds in a row. After every
// restart: each upload the server acknowledged (2xx) is listed and reads back byte for byte;
// every listed photo is a body a client really sent that was not refused (an upload in flight
// at the kill may or may not be there); the server came up without reporting corruption.
//
// SIGKILL ends the process, not the machine: bytes in the page cache survive. So this checks
// that glint acknowledges only what it has written completely, that a crash anywhere in a
// write leaves a store that opens and reads, and that ids and metadata stay consistent with
// the blobs; not that fsync reaches the disk (that needs the fault-injecting Env seams).
//
// The kill delays, image sizes and contents come from one seed, printed with every failure.
// Reproduce with GLINT_CRASH_SEED=<seed> (thread scheduling still varies between runs).
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "tests/testutil/http_client.h"
#include "tests/testutil/images.h"
#include "tests/testutil/process.h"

namespace glint {
namespace {

using testutil::GlintServer;
using testutil::Headers;
using testutil::HttpClient;
using testutil::HttpResponse;
using testutil::TempDir;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr int kRounds = 6;
constexpr int kThreads = 8;
constexpr int kUsers = 2;
constexpr int kMinKillDelayMs = 100;
constexpr int kMaxKillDelayMs = 700;

// Extra `glint serve` flags per variant: the same crash test runs once for each.
struct CrashVariant {
  std::string name;
  std::vector<std::string> flags;
};

void PrintTo(const CrashVariant& v, std::ostream* os) { *os << v.name; }

std::string Sha256Hex(const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

// A JSON object body, or an empty object when the body is not one.
json::object Json(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return !ec && v.is_object() ? v.as_object() : json::object{};
}

std::string Str(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string ErrorCode(const HttpResponse& r) {
  json::object o = Json(r.body);
  auto* e = o.if_contains("error");
  return e && e->is_object() ? Str(e->as_object(), "code") : std::string();
}

// The path of an absolute URL returned by the server.
std::string PathOf(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The blob store's report of a torn tail it cut at open: what a crash is expected to leave.
bool IsTailCut(const std::string& line) {
  return line.find("blob store ") != std::string::npos &&
         line.find(" bytes from the end of ") != std::string::npos;
}

// The bytes the blob store reports cutting at open, summed over its tail-cut lines.
uint64_t TailCutBytes(const std::string& log) {
  uint64_t total = 0;
  for (size_t at = log.find(": cut "); at != std::string::npos; at = log.find(": cut ", at + 1))
    total += std::strtoull(log.c_str() + at + 6, nullptr, 10);
  return total;
}

// Lines of a server log that report trouble: errors, corruption, checksum failures and
// sanitizer reports, except the blob store's tail-cut report.
std::vector<std::string> TroubleLines(const std::string& log) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    std::string line = log.substr(start, end - start);
    start = end + 1;
    std::string lower = Lower(line);
    if (IsTailCut(line)) continue;
    if (line.find(" ERROR ") != std::string::npos || lower.find("corrupt") != std::string::npos ||
        lower.find("checksum") != std::string::npos ||
        lower.find("sanitizer") != std::string::npos ||
        lower.find("runtime error") != std::string::npos)
      out.push_back(line);
  }
  return out;
}

class CrashTest : public ::testing::TestWithParam<CrashVariant> {
 protected:
  // What became of a body a client began to send.
  enum class Fate { kInFlight, kRefused, kStored };

  struct Body {
    int user = 0;
    int round = 0;
    int thread = 0;
    size_t size = 0;
    const char* how = "";  // "direct" or "presigned"
    Fate fate = Fate::kInFlight;
  };

  // A photo that must exist from now on, with the bytes it must hold.
  struct KnownPhoto {
    std::string sha;
    int user = 0;
    int round = 0;
    std::string why;  // "acknowledged ..." or "found after the restart of round N"
  };

  // A pre-signed upload whose registration was not acknowledged.
  struct PendingUpload {
    std::string upload_id;
    std::string sha;
    int user = 0;
    int round = 0;
    bool put_acked = false;  // the PUT got its 201: the bytes must be there
  };

  struct RoundStats {
    int acked = 0;
    int direct = 0;
    int presigned = 0;
    int refused = 0;
    int in_flight_at_kill = 0;
  };

  void SetUp() override {
    const char* env = std::getenv("GLINT_CRASH_SEED");
    seed_ = env && *env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
    std::printf("crash test [%s]: seed %llu (rerun with GLINT_CRASH_SEED=%llu)\n",
                GetParam().name.c_str(), static_cast<unsigned long long>(seed_),
                static_cast<unsigned long long>(seed_));
    RecordProperty("seed", std::to_string(seed_));
    bases_ = {testutil::MakeJpeg(64, 48), testutil::MakeJpeg(320, 240),
              testutil::MakeJpeg(640, 480)};
  }

  // Context for every failure message.
  std::string Where() const {
    return "[" + GetParam().name + " seed=" + std::to_string(seed_) +
           " round=" + std::to_string(round_) + "]";
  }

  // Reports what the workers found wrong, from the test's own thread.
  void FlushProblems() {
    std::vector<std::string> found;
    {
      std::lock_guard lock(mu_);
      found.swap(problems_);
    }
    for (const auto& p : found) ADD_FAILURE() << Where() << " " << p;
  }

  // A distinct JPEG: a generated picture followed by a unique tag and seeded filler up to a
  // size drawn from the mix (most small, some medium, a few of megabytes). Bytes after the
  // image's end are stored and served as uploaded.
  std::string MakeBody(std::mt19937_64& rng, int thread, uint64_t seq) {
    uint64_t pick = rng() % 100;
    size_t target;
    if (pick < 60) {
      target = 8000 + rng() % 8000;
    } else if (pick < 92) {
      target = 200000 + rng() % 200000;
    } else {
      target = 1000000 + rng() % 1500000;
    }
    const std::string* base = &bases_[0];
    for (const auto& b : bases_)
      if (b.size() + 64 <= target && rng() % 2) base = &b;
    std::string body = *base;
    body += "glint-crash seed=" + std::to_string(seed_) + " round=" + std::to_string(round_) +
            " thread=" + std::to_string(thread) + " seq=" + std::to_string(seq) + ";";
    while (body.size() < target) {
      uint64_t r = rng();
      body.append(reinterpret_cast<const char*>(&r), sizeof r);
    }
    body.resize(target);
    return body;
  }

  // Records a photo the server answered 201 for. REQUIRES: mu_ held.
  void AckPhotoLocked(const json::object& photo, const std::string& sha, int user,
                      const char* how) {
    const std::string id = Str(photo, "image_id");
    uint64_t photo_id = std::strtoull(id.c_str(), nullptr, 10);
    if (photo_id == 0) {
      problems_.push_back(std::string(how) +
                          " upload answered 201 without an image_id: " + json::serialize(photo));
      return;
    }
    if (auto it = known_.find(photo_id); it != known_.end() && it->second.sha != sha) {
      problems_.push_back("photo " + id +
                          " acknowledged again for other bytes (first: " + it->second.why + ")");
    }
    known_[photo_id] = {
        sha, user, round_,
        "acknowledged (" + std::string(how) + ") in round " + std::to_string(round_)};
    bodies_[sha].fate = Fate::kStored;
  }

  // One client thread: uploads distinct bodies, alternating direct and pre-signed uploads,
  // until the server is killed under it.
  void Worker(int thread, uint16_t port, RoundStats* stats) {
    const int user = thread % kUsers;
    const std::string& token = tokens_[user];
    std::mt19937_64 rng(seed_ * 1000003 + static_cast<uint64_t>(round_) * 101 +
                        static_cast<uint64_t>(thread));
    std::unique_ptr<HttpClient> client;
    for (uint64_t seq = 0; !killed_.load(); ++seq) {
      std::string body = MakeBody(rng, thread, seq);
      const std::string sha = Sha256Hex(body);
      const bool direct = rng() % 2 == 0;
      const char* how = direct ? "direct" : "presigned";
      {
        std::lock_guard lock(mu_);
        bodies_[sha] = {user, round_, thread, body.size(), how, Fate::kInFlight};
      }
      std::string upload_id;
      bool put_acked = false;
      try {
        if (!client) client = std::make_unique<HttpClient>(port);
        if (direct) {
          HttpResponse r = client->Request(
              "POST", "/v1/photos", body,
              {{"Authorization", "Bearer " + token}, {"Content-Type", "image/jpeg"}});
          std::lock_guard lock(mu_);
          if (r.status == 201) {
            AckPhotoLocked(Json(r.body), sha, user, how);
            ++stats->acked;
            ++stats->direct;
          } else if (r.status == 503) {
            bodies_[sha].fate = Fate::kRefused;
            ++stats->refused;
          } else {
            problems_.push_back("direct upload: " + std::to_string(r.status) + " " + r.body);
          }
          continue;
        }
        HttpResponse prep = client->Request("POST", "/v1/uploads", "", Bearer(token));
        if (prep.status != 201) {
          std::lock_guard lock(mu_);
          bodies_[sha].fate = Fate::kRefused;  // its bytes were never sent
          if (prep.status == 503) {
            ++stats->refused;
          } else {
            problems_.push_back("POST /v1/uploads: " + std::to_string(prep.status) + " " +
                                prep.body);
          }
          continue;
        }
        json::object ticket = Json(prep.body);
        upload_id = Str(ticket, "upload_id");
        HttpResponse put = client->Request("PUT", PathOf(Str(ticket, "upload_url")), body,
                                           {{"Content-Type", "image/jpeg"}});
        if (put.status != 201) {
          std::lock_guard lock(mu_);
          if (put.status == 503) {
            bodies_[sha].fate = Fate::kRefused;
            ++stats->refused;
          } else {
            problems_.push_back("PUT of upload " + upload_id + ": " + std::to_string(put.status) +
                                " " + put.body);
          }
          continue;
        }
        put_acked = true;
        HttpResponse reg =
            client->Request("POST", "/v1/photos",
                            json::serialize(json::object{{"upload_id", upload_id}}), Bearer(token));
        std::lock_guard lock(mu_);
        if (reg.status == 201) {
          AckPhotoLocked(Json(reg.body), sha, user, how);
          ++stats->acked;
          ++stats->presigned;
        } else {
          // Stored but not registered: registered after the restart instead.
          pending_.push_back({upload_id, sha, user, round_, true});
          if (reg.status == 503) {
            ++stats->refused;
          } else {
            problems_.push_back("registering upload " + upload_id + ": " +
                                std::to_string(reg.status) + " " + reg.body);
          }
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        if (!killed_.load()) {
          problems_.push_back("thread " + std::to_string(thread) +
                              ": a request failed while the server was up: " + e.what());
        }
        ++stats->in_flight_at_kill;
        // Its fate is unknown: a pre-signed upload may have been stored, and registered.
        if (!upload_id.empty()) pending_.push_back({upload_id, sha, user, round_, put_acked});
        return;
      }
    }
  }

  // Registers every pre-signed upload whose registration was not acknowledged. An upload
  // whose PUT got a 201 must still be there; one whose PUT was cut by the kill may not be.
  void ResolvePending(HttpClient& client) {
    std::vector<PendingUpload> pending;
    pending.swap(pending_);
    for (const auto& p : pending) {
      HttpResponse r = client.Request("POST", "/v1/photos",
                                      json::serialize(json::object{{"upload_id", p.upload_id}}),
                                      Bearer(tokens_[p.user]));
      const std::string what = "upload " + p.upload_id + " (sha256 " + p.sha.substr(0, 16) +
                               ", round " + std::to_string(p.round) +
                               (p.put_acked ? ", PUT acknowledged)" : ", PUT in flight)");
      if (r.status == 201) {
        AckPhotoLocked(Json(r.body), p.sha, p.user, "presigned, registered after a restart");
      } else if (r.status == 409 && ErrorCode(r) == "upload_already_registered") {
        must_list_.insert(p.sha);  // a registration in flight at the kill made it a photo
      } else if (r.status == 404 && ErrorCode(r) == "upload_not_found" && !p.put_acked) {
        // The PUT never completed: nothing to find.
      } else {
        problems_.push_back(what + " could not be registered after the restart: " +
                            std::to_string(r.status) + " " + r.body);
      }
    }
  }

  // Lists every user's photos and reads each one back. Returns the bytes read.
  uint64_t VerifyAll(HttpClient& client, int* photos_seen, int* found_in_flight) {
    uint64_t bytes_read = 0;
    std::set<uint64_t> seen;
    std::set<std::string> seen_sha;
    for (int user = 0; user < kUsers; ++user) {
      std::string after;
      for (;;) {
        std::string target = "/v1/photos?limit=1000" + (after.empty() ? "" : "&after=" + after);
        HttpResponse list = client.Get(target, Bearer(tokens_[user]));
        if (list.status != 200) {
          problems_.push_back("GET " + target + ": " + std::to_string(list.status) + " " +
                              list.body);
          return bytes_read;
        }
        json::object page = Json(list.body);
        auto* photos = page.if_contains("photos");
        if (!photos || !photos->is_array()) {
          problems_.push_back("GET " + target + " has no photos array: " + list.body);
          return bytes_read;
        }
        for (const auto& v : photos->as_array()) {
          const json::object& p = v.as_object();
          const std::string id = Str(p, "image_id");
          const uint64_t photo_id = std::strtoull(id.c_str(), nullptr, 10);
          const std::string raw = PathOf(Str(p, "image_url"));
          seen.insert(photo_id);
          HttpResponse bytes = client.Get(raw, Bearer(tokens_[user]));
          if (bytes.status != 200) {
            problems_.push_back("photo " + id + " is listed but " + raw + " answers " +
                                std::to_string(bytes.status) + " " + bytes.body);
            continue;
          }
          bytes_read += bytes.body.size();
          ++*photos_seen;
          const std::string sha = Sha256Hex(bytes.body);
          if (!seen_sha.insert(sha).second)
            problems_.push_back("photo " + id + " holds the same bytes as another listed photo");
          auto body = bodies_.find(sha);
          auto known = known_.find(photo_id);
          if (known != known_.end()) {
            if (known->second.sha != sha) {
              problems_.push_back("photo " + id + " (" + known->second.why + ") reads back " +
                                  std::to_string(bytes.body.size()) + " bytes with sha256 " + sha +
                                  ", expected " + known->second.sha);
            }
            continue;
          }
          if (body == bodies_.end()) {
            problems_.push_back("photo " + id + " (" + raw + ", " +
                                std::to_string(bytes.body.size()) +
                                " bytes) is listed but is none of the bodies sent");
            continue;
          }
          if (body->second.user != user) {
            problems_.push_back("photo " + id + " of user " + std::to_string(user) +
                                " holds a body another user sent");
          }
          if (body->second.fate == Fate::kRefused) {
            problems_.push_back("photo " + id + " holds a body whose upload was refused (" +
                                body->second.how + ", round " + std::to_string(body->second.round) +
                                ")");
          } else if (body->second.fate == Fate::kStored) {
            problems_.push_back("photo " + id + " holds the bytes of an acknowledged photo " +
                                "under another id (a duplicate)");
          }
          // An upload in flight at a kill that made it: it must stay from now on.
          ++*found_in_flight;
          body->second.fate = Fate::kStored;
          known_[photo_id] = {sha, user, body->second.round,
                              "in flight at the kill of round " +
                                  std::to_string(body->second.round) + ", found after restart " +
                                  std::to_string(round_)};
        }
        after = Str(page, "next_after");
        if (after.empty()) break;
      }
    }
    for (const auto& [id, k] : known_) {
      if (!seen.count(id)) {
        problems_.push_back("photo " + std::to_string(id) + " (" + k.why + ", user " +
                            std::to_string(k.user) + ", sha256 " + k.sha + ") is not listed");
      }
    }
    for (const auto& sha : must_list_) {
      if (!seen_sha.count(sha)) {
        problems_.push_back("the upload with sha256 " + sha +
                            " answers upload_already_registered but no photo holds its bytes");
      }
    }
    must_list_.clear();
    return bytes_read;
  }

  void CheckLog(const std::string& log, const std::string& which) {
    for (const auto& line : TroubleLines(log))
      ADD_FAILURE() << Where() << " the server's log (" << which << ") reports: " << line;
  }

  uint64_t seed_ = 0;
  int round_ = 0;
  std::vector<std::string> bases_;
  std::string tokens_[kUsers];
  std::atomic<bool> killed_{false};

  std::mutex mu_;                         // guards everything below while workers run
  std::map<std::string, Body> bodies_;    // by sha256 hex: every body a worker began to send
  std::map<uint64_t, KnownPhoto> known_;  // photos that must exist, by photo id
  std::vector<PendingUpload> pending_;    // pre-signed uploads not (known to be) registered
  std::set<std::string> must_list_;       // sha256 of bodies that must be listed now
  std::vector<std::string> problems_;
};

TEST_P(CrashTest, AcknowledgedUploadsSurviveKill9) {
  const auto started = Clock::now();
  TempDir dir;
  std::mt19937_64 rng(seed_);
  GlintServer server(dir.path() + "/var", GetParam().flags);
  ASSERT_NE(server.port(), 0);
  {
    HttpClient admin(server.port());
    for (int u = 0; u < kUsers; ++u) {
      const std::string email = "crash" + std::to_string(u) + "@example.com";
      const std::string creds =
          json::serialize(json::object{{"email", email}, {"password", "crash-test-password"}});
      HttpResponse made =
          admin.Request("POST", "/v1/accounts", creds, Bearer(server.admin_token()));
      ASSERT_EQ(made.status, 201) << made.body;
      HttpResponse login = admin.Request("POST", "/v1/sessions", creds);
      ASSERT_EQ(login.status, 201) << login.body;
      tokens_[u] = Str(Json(login.body), "token");
      ASSERT_FALSE(tokens_[u].empty()) << login.body;
    }
  }

  for (round_ = 1; round_ <= kRounds; ++round_) {
    const int delay_ms =
        kMinKillDelayMs + static_cast<int>(rng() % (kMaxKillDelayMs - kMinKillDelayMs + 1));
    RoundStats stats;
    killed_ = false;
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t)
      workers.emplace_back([this, t, port = server.port(), &stats] { Worker(t, port, &stats); });
    // The delay runs from the round's first acknowledged upload, so that every round has
    // something to lose (a slow first start under ASan would otherwise waste a round).
    for (auto give_up = Clock::now() + std::chrono::seconds(10); Clock::now() < give_up;) {
      {
        std::lock_guard lock(mu_);
        if (stats.acked > 0 || !problems_.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    killed_ = true;
    const int status = server.Kill9();
    for (auto& w : workers) w.join();
    FlushProblems();
    EXPECT_EQ(status, 128 + 9) << Where() << " the server was not killed by our SIGKILL, it "
                               << "had exited by itself; its log:\n"
                               << server.log();
    CheckLog(server.log(), "the run killed in round " + std::to_string(round_));

    const auto restart = Clock::now();
    server.Restart();
    ASSERT_NE(server.port(), 0) << Where() << " glint did not restart after the kill";
    const auto up = Clock::now();
    const std::string start_log = server.log();
    CheckLog(start_log, "start after the kill of round " + std::to_string(round_));

    HttpClient client(server.port());
    int photos_seen = 0, found_in_flight = 0;
    uint64_t bytes_read = 0;
    {
      std::lock_guard lock(mu_);
      ResolvePending(client);
      bytes_read = VerifyAll(client, &photos_seen, &found_in_flight);
    }
    FlushProblems();
    std::printf(
        "round %d: kill %d ms after the first acknowledgement; acknowledged %d (%d direct, "
        "%d pre-signed), refused %d, in flight at the kill %d (%d of them found after the "
        "restart); restart %.2f s, tail cut %llu bytes; verified %d photos, %.1f MB in %.2f s\n",
        round_, delay_ms, stats.acked, stats.direct, stats.presigned, stats.refused,
        stats.in_flight_at_kill, found_in_flight,
        std::chrono::duration<double>(up - restart).count(),
        static_cast<unsigned long long>(TailCutBytes(start_log)), photos_seen, bytes_read / 1e6,
        std::chrono::duration<double>(Clock::now() - up).count());
    std::fflush(stdout);
    if (HasFailure()) break;  // later rounds would only repeat the first failure
  }

  // The store a crash left behind also shuts down cleanly (and LeakSanitizer has its say).
  EXPECT_EQ(server.Stop(), 0) << Where() << " " << server.log();
  EXPECT_NE(server.log().find("stopped cleanly"), std::string::npos) << server.log();
  CheckLog(server.log(), "the last run");
  std::printf("crash test [%s]: %zu photos known after %d rounds, %.1f s\n",
              GetParam().name.c_str(), known_.size(), std::min(round_, kRounds),
              std::chrono::duration<double>(Clock::now() - started).count());
}

// One line per variant. `always` is also the default; under `interval:<ms>` a process crash
// must lose nothing acknowledged either (only a power loss may).
INSTANTIATE_TEST_SUITE_P(Fsync, CrashTest,
                         ::testing::Values(CrashVariant{"always", {"--fsync", "always"}},
                                           CrashVariant{"interval50", {"--fsync", "interval:50"}}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace glint
