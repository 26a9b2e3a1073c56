#include "storage/s3_client.h"

#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "base/hex.h"
#include "tests/testutil/process.h"
#include "tests/testutil/s3rver.h"

namespace glint::storage {
namespace {

using testutil::S3rver;
using namespace std::chrono_literals;

std::string Md5Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_md5(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

S3Config ConfigFor(const S3rver& server) {
  S3Config c;
  c.endpoint = server.endpoint();
  c.bucket = server.bucket();
  c.access_key = S3rver::kAccessKey;
  c.secret_key = S3rver::kSecretKey;
  c.connect_timeout_ms = 1000;
  c.request_timeout_ms = 30000;
  c.retry_backoff_ms = 50;
  return c;
}

std::unique_ptr<S3Client> MakeClient(const S3Config& config) {
  auto client = S3Client::Create(config);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client).value() : nullptr;
}

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Running()) << server_.log();
    client_ = MakeClient(ConfigFor(server_));
    ASSERT_NE(client_, nullptr);
  }

  // Uploads `bytes` as `key` from the middle of a file with other bytes around it.
  void Put(const std::string& key, const std::string& bytes) {
    const std::string path = dir_.path() + "/upload";
    WriteFile(path, "head" + bytes + "tail");
    auto etag = client_->PutFileSync(key, path, 4, bytes.size());
    ASSERT_TRUE(etag.ok()) << etag.status().ToString();
    EXPECT_EQ(*etag, Md5Hex(bytes));
  }

  testutil::TempDir dir_;
  S3rver server_;
  std::unique_ptr<S3Client> client_;
};

TEST_F(S3ClientTest, PutFileRegionThenHeadShowsSizeAndMd5Etag) {
  // A multi-MB region at an odd offset inside a larger file: only the region is uploaded.
  const std::string region = RandomBytes(5 * 1024 * 1024 + 17, 1);
  const std::string path = dir_.path() + "/segment";
  WriteFile(path, RandomBytes(1024 * 1024 + 3, 2) + region + RandomBytes(4096, 3));

  auto etag =
      client_->PutFileSync("segments/seg-00000001.log", path, 1024 * 1024 + 3, region.size());
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  EXPECT_EQ(*etag, Md5Hex(region));

  auto info = client_->HeadSync("segments/seg-00000001.log");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, region.size());
  EXPECT_EQ(info->etag, Md5Hex(region));

  auto all = client_->GetSync("segments/seg-00000001.log", 0, region.size());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(*all == region);
}

TEST_F(S3ClientTest, RangedGetReturnsExactlyTheBytesAsked) {
  const std::string bytes = RandomBytes(3 * 1024 * 1024 + 5, 4);
  Put("obj", bytes);
  struct Case {
    uint64_t offset, length;
  };
  // The first byte is asked as 0-1: s3rver 3.7.1 reads "bytes=0-0" as "from 0 to the end"
  // (see StrayRangeAnswerIsRefused).
  for (Case c : {Case{0, 2}, Case{bytes.size() / 2, 1}, Case{bytes.size() - 1, 1},
                 Case{12345, 1024 * 1024}, Case{bytes.size() - 100, 100}}) {
    auto got = client_->GetSync("obj", c.offset, c.length);
    ASSERT_TRUE(got.ok()) << c.offset << "+" << c.length << ": " << got.status().ToString();
    EXPECT_TRUE(*got == bytes.substr(c.offset, c.length)) << c.offset << "+" << c.length;
  }
  auto empty = client_->GetSync("obj", 7, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(S3ClientTest, StrayRangeAnswerIsRefused) {
  // s3rver 3.7.1 answers "Range: bytes=0-0" with the whole object (it reads the end 0 as
  // "none"): more bytes than asked, so an error rather than the wrong bytes.
  Put("one", "0123456789");
  auto got = client_->GetSync("one", 0, 1);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_EQ(got.status().reason(), "s3_short_read");
}

TEST_F(S3ClientTest, RangePastTheEndIsAnErrorNeverShortData) {
  Put("short", "0123456789");
  // The server answers bytes 8-9 of a range 8-11: fewer than asked, so no data at all.
  auto overlapping = client_->GetSync("short", 8, 4);
  ASSERT_FALSE(overlapping.ok());
  EXPECT_EQ(overlapping.status().code(), Code::kCorruption);
  EXPECT_EQ(overlapping.status().reason(), "s3_short_read");

  auto beyond = client_->GetSync("short", 20, 5);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(beyond.status().reason(), "s3_range_not_satisfiable");
}

TEST_F(S3ClientTest, MissingKeyIsNotFound) {
  auto head = client_->HeadSync("no/such/key");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().code(), Code::kNotFound);
  EXPECT_EQ(head.status().reason(), "s3_not_found");

  auto get = client_->GetSync("no/such/key", 0, 10);
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.status().code(), Code::kNotFound);
  EXPECT_NE(get.status().message().find("NoSuchKey"), std::string::npos) << get.status().message();
}

TEST_F(S3ClientTest, DeleteRemovesTheObjectAndIsIdempotent) {
  Put("doomed", "bytes");
  ASSERT_TRUE(client_->HeadSync("doomed").ok());
  Status deleted = client_->DeleteSync("doomed");
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(client_->HeadSync("doomed").status().code(), Code::kNotFound);
  Status again = client_->DeleteSync("doomed");
  EXPECT_TRUE(again.ok()) << again.ToString();
}

TEST_F(S3ClientTest, KeysAreEscapedAndSignedAsS3Expects) {
  // Spaces, '+', non-ASCII and sub-delimiters must be percent-encoded per segment, with the
  // same bytes in the URL and in the signed canonical request (checked by the server).
  const std::string key = "dir with space/seg+1 (copy)/\xc3\xbc=*.log";
  Put(key, "escaped");
  auto got = client_->GetSync(key, 0, 7);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "escaped");
}

TEST_F(S3ClientTest, BadKeysAreRefusedBeforeSending) {
  for (std::string key : {std::string(), std::string("a//b"), std::string("../x"),
                          std::string("x/./y"), std::string("/lead"), std::string(1025, 'k')}) {
    auto r = client_->HeadSync(key);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.status().reason(), "s3_bad_key") << key;
  }
}

TEST_F(S3ClientTest, WrongSecretIsForbidden) {
  Put("secret", "bytes");
  S3Config config = ConfigFor(server_);
  config.secret_key = "not-the-secret";
  auto wrong = MakeClient(config);
  ASSERT_NE(wrong, nullptr);
  auto r = wrong->GetSync("secret", 0, 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "s3_forbidden");
  EXPECT_NE(r.status().message().find("SignatureDoesNotMatch"), std::string::npos)
      << r.status().message();

  // An upload with the wrong secret is refused as well, and stores nothing.
  const std::string path = dir_.path() + "/f";
  WriteFile(path, "other");
  auto put = wrong->PutFileSync("secret", path, 0, 5);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().reason(), "s3_forbidden");
  auto still = client_->GetSync("secret", 0, 5);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(*still, "bytes");
}

TEST_F(S3ClientTest, UnknownAccessKeyIsForbidden) {
  S3Config config = ConfigFor(server_);
  config.access_key = "NOBODY";
  auto wrong = MakeClient(config);
  ASSERT_NE(wrong, nullptr);
  auto r = wrong->HeadSync("anything");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_EQ(r.status().reason(), "s3_forbidden");
}

TEST_F(S3ClientTest, VirtualHostStylePutsTheBucketInTheHostName) {
  S3Config config = ConfigFor(server_);
  config.endpoint =
      std::string("http://") + S3rver::kServiceHost + ":" + std::to_string(server_.port());
  config.path_style = false;
  auto vhost = MakeClient(config);
  ASSERT_NE(vhost, nullptr);
  const std::string path = dir_.path() + "/v";
  WriteFile(path, "virtual host");
  auto etag = vhost->PutFileSync("v/key", path, 0, 12);
  ASSERT_TRUE(etag.ok()) << etag.status().ToString();
  // The same object through a path-style client: the bucket was really taken from the host.
  auto got = client_->GetSync("v/key", 8, 4);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "host");
}

TEST_F(S3ClientTest, CreateBucketSucceedsAgainWhenItIsOurs) {
  S3Config config = ConfigFor(server_);
  config.bucket = "second-bucket";
  auto other = MakeClient(config);
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->HeadSync("k").status().code(), Code::kNotFound);
  Status created = other->CreateBucketSync();
  ASSERT_TRUE(created.ok()) << created.ToString();
  Status again = other->CreateBucketSync();
  EXPECT_TRUE(again.ok()) << again.ToString();
  const std::string path = dir_.path() + "/b";
  WriteFile(path, "in the second bucket");
  ASSERT_TRUE(other->PutFileSync("k", path, 0, 20).ok());
  EXPECT_EQ(client_->HeadSync("k").status().code(), Code::kNotFound);
}

TEST_F(S3ClientTest, ServerDownIsUnavailableQuicklyThenTheSameClientRecovers) {
  Put("durable", "survives a restart");
  server_.Stop();

  auto start = std::chrono::steady_clock::now();
  auto down = client_->GetSync("durable", 0, 8);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_EQ(down.status().reason(), "s3_unavailable");
  EXPECT_LT(took, 5s);  // 3 refused connects with 50-200 ms backoff, not a hang

  auto head = client_->HeadSync("durable");
  EXPECT_EQ(head.status().code(), Code::kUnavailable);

  ASSERT_TRUE(server_.Start());
  auto up = client_->GetSync("durable", 0, 8);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(*up, "survives");
}

TEST_F(S3ClientTest, ManyConcurrentGetRangeAwaitablesOnOneIoContext) {
  const std::string bytes = RandomBytes(1024 * 1024, 5);
  Put("shared", bytes);

  boost::asio::io_context io;
  constexpr int kReads = 64;
  int done = 0;
  int wrong = 0;
  const auto io_thread = std::this_thread::get_id();
  for (int i = 0; i < kReads; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          const uint64_t offset = static_cast<uint64_t>(i) * 16381 % (bytes.size() - 5000);
          const uint64_t length = 2 + static_cast<uint64_t>(i) * 73;
          Result<std::string> got = co_await client_->GetRange("shared", offset, length);
          // Resumed on the io_context's thread, not the client's worker.
          if (std::this_thread::get_id() != io_thread) ++wrong;
          if (!got.ok() || *got != bytes.substr(offset, length)) ++wrong;
          ++done;
        },
        boost::asio::detached);
  }
  // run() returns only when every coroutine has finished: in-flight requests keep it busy.
  io.run();
  EXPECT_EQ(done, kReads);
  EXPECT_EQ(wrong, 0);
}

TEST_F(S3ClientTest, DestroyingTheClientCancelsRequestsInFlight) {
  const std::string bytes = RandomBytes(256 * 1024, 6);
  Put("many", bytes);
  constexpr int kRequests = 200;
  std::mutex mu;
  std::condition_variable cv;
  int called = 0;
  int ok = 0;
  int cancelled = 0;
  for (int i = 0; i < kRequests; ++i) {
    client_->Get("many", 0, bytes.size(), [&](Result<std::string> r) {
      std::lock_guard lock(mu);
      ++called;
      if (r.ok()) {
        ++ok;
      } else if (r.status().reason() == "s3_cancelled") {
        ++cancelled;
      }
      cv.notify_all();
    });
  }
  client_.reset();  // returns only after every callback ran
  std::lock_guard lock(mu);
  EXPECT_EQ(called, kRequests);
  EXPECT_EQ(ok + cancelled, kRequests);
  EXPECT_GT(cancelled, 0);
}

TEST(S3ClientConfigTest, BadConfigIsRefused) {
  S3Config good;
  good.endpoint = "http://127.0.0.1:9";
  good.bucket = "bucket";
  good.access_key = "a";
  good.secret_key = "s";
  ASSERT_TRUE(S3Client::Create(good).ok());

  auto expect_bad = [](S3Config c, const char* what) {
    auto r = S3Client::Create(std::move(c));
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().reason(), "s3_bad_config") << what;
  };
  S3Config c = good;
  c.endpoint = "ftp://127.0.0.1";
  expect_bad(c, "scheme");
  c = good;
  c.endpoint = "http://127.0.0.1:9/prefix";
  expect_bad(c, "path");
  c = good;
  c.endpoint = "not a url";
  expect_bad(c, "garbage");
  c = good;
  c.bucket = "Upper_Case";
  expect_bad(c, "bucket");
  c = good;
  c.secret_key.clear();
  expect_bad(c, "secret");
  c = good;
  c.path_style = false;
  expect_bad(c, "virtual host on an IP");
}

// A scripted HTTP server for answers s3rver never gives: 5xx, lies about ranges.
class ScriptedServer {
 public:
  // `handler` is the source of a node function (req, res, n, body) called once the request
  // body (a Buffer) is in; n counts requests from 1.
  explicit ScriptedServer(const std::string& handler) : log_path_(dir_.path() + "/scripted.log") {
    const std::string script =
        "let n = 0; const s = require('http').createServer((req, res) => {"
        " n += 1; const seq = n; const chunks = [];"
        " req.on('data', c => chunks.push(c)); req.on('end', () => { (" +
        handler +
        ")(req, res, seq, Buffer.concat(chunks)); }); });"
        " s.listen(0, '127.0.0.1', () => console.log('listening on 127.0.0.1:' +"
        " s.address().port));";
    process_ = testutil::StartNode({"-e", script}, log_path_);
    port_ = testutil::WaitForListening(*process_, log_path_, "listening on 127.0.0.1:", 30000);
    EXPECT_NE(port_, 0) << testutil::ReadFileOrEmpty(log_path_);
  }
  S3Config Config() const {
    S3Config c;
    c.endpoint = "http://127.0.0.1:" + std::to_string(port_);
    c.bucket = "bucket";
    c.access_key = "a";
    c.secret_key = "s";
    c.retry_backoff_ms = 10;
    return c;
  }

 private:
  testutil::TempDir dir_;
  std::string log_path_;
  std::unique_ptr<testutil::ChildProcess> process_;
  uint16_t port_ = 0;
};

TEST(S3ClientFaultTest, ServerErrorsAreRetriedThenReportedUnavailable) {
  // 503 SlowDown twice, then the right answer.
  ScriptedServer server(
      "(req, res, n) => { if (n <= 2) { res.writeHead(503); "
      "res.end('<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>'); }"
      " else { res.writeHead(206, {'Content-Range': 'bytes 0-4/10'}); res.end('hello'); } }");
  S3Config config = server.Config();
  config.max_attempts = 2;
  auto two = MakeClient(config);
  auto failed = two->GetSync("k", 0, 5);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_EQ(failed.status().reason(), "s3_unavailable");
  EXPECT_NE(failed.status().message().find("SlowDown"), std::string::npos);

  // Requests 3 onwards succeed; a fresh 3-attempt client sees success on its first try.
  config.max_attempts = 3;
  auto three = MakeClient(config);
  auto ok = three->GetSync("k", 0, 5);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "hello");
}

TEST(S3ClientFaultTest, RetriesRideOutAShortOutage) {
  ScriptedServer server(
      "(req, res, n) => { if (n <= 2) { res.writeHead(500); res.end(); }"
      " else { res.writeHead(206, {'Content-Range': 'bytes 5-9/10'}); res.end('world'); } }");
  S3Config config = server.Config();
  config.max_attempts = 3;
  auto client = MakeClient(config);
  auto got = client->GetSync("k", 5, 5);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "world");
}

TEST(S3ClientFaultTest, ARetriedPutSendsTheWholeRegionAgain) {
  // The first attempt is read in full and answered 503; the second must carry the same bytes
  // (the server answers the MD5 of what it received as the ETag, as S3 does).
  ScriptedServer server(
      "(req, res, n, body) => { if (n === 1) { res.writeHead(503); res.end(); return; }"
      " const md5 = require('crypto').createHash('md5').update(body).digest('hex');"
      " res.writeHead(200, {'ETag': '\"' + md5 + '\"'}); res.end(); }");
  S3Config config = server.Config();
  config.max_attempts = 2;
  auto client = MakeClient(config);
  testutil::TempDir dir;
  const std::string bytes = RandomBytes(2 * 1024 * 1024, 7);
  WriteFile(dir.path() + "/f", "xx" + bytes);
  auto put = client->PutFileSync("k", dir.path() + "/f", 2, bytes.size());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(*put, Md5Hex(bytes));
}

TEST(S3ClientFaultTest, AWrongContentRangeIsNeverReturnedAsData) {
  ScriptedServer server(
      "(req, res, n) => { res.writeHead(206, {'Content-Range': 'bytes 1-5/10'});"
      " res.end('hello'); }");
  auto client = MakeClient(server.Config());
  auto got = client->GetSync("k", 0, 5);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kCorruption);
  EXPECT_EQ(got.status().reason(), "s3_short_read");
}

TEST(S3ClientFaultTest, AServerIgnoringRangeIsNeverReturnedAsData) {
  ScriptedServer server("(req, res, n) => { res.writeHead(200); res.end('0123456789'); }");
  auto client = MakeClient(server.Config());
  auto got = client->GetSync("k", 2, 3);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "s3_short_read");
  auto head = client->GetSync("k", 0, 4);  // more bytes than asked: cut off, an error
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().reason(), "s3_short_read");
}

TEST(S3ClientFaultTest, AnEtagThatIsNotTheMd5FailsThePut) {
  ScriptedServer server(
      "(req, res, n) => { res.writeHead(200, {'ETag': '\"0123456789abcdef0123456789abcdef\"'});"
      " res.end(); }");
  auto client = MakeClient(server.Config());
  testutil::TempDir dir;
  WriteFile(dir.path() + "/f", "payload");
  auto put = client->PutFileSync("k", dir.path() + "/f", 0, 7);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kCorruption);
  EXPECT_EQ(put.status().reason(), "s3_etag_mismatch");
}

TEST(S3ClientFaultTest, ARequestTimeoutIsUnavailable) {
  ScriptedServer server("(req, res, n) => { /* never answers */ }");
  S3Config config = server.Config();
  config.request_timeout_ms = 300;
  config.max_attempts = 1;
  auto client = MakeClient(config);
  auto start = std::chrono::steady_clock::now();
  auto got = client->HeadSync("k");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().reason(), "s3_unavailable");
}

TEST(S3ClientFaultTest, AMissingFileFailsThePutWithoutARequest) {
  S3Config c;
  c.endpoint = "http://127.0.0.1:9";
  c.bucket = "bucket";
  c.access_key = "a";
  c.secret_key = "s";
  auto client = MakeClient(c);
  auto put = client->PutFileSync("k", "/nonexistent/file", 0, 10);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kNotFound);

  testutil::TempDir dir;
  WriteFile(dir.path() + "/short", "abc");
  auto short_file = client->PutFileSync("k", dir.path() + "/short", 0, 10);
  ASSERT_FALSE(short_file.ok());
  EXPECT_EQ(short_file.status().code(), Code::kIoError);
}

}  // namespace
}  // namespace glint::storage
