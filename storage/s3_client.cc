#include "storage/s3_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include "base/hex.h"
#include "base/log.h"

namespace glint::storage {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxKeyBytes = 1024;
// Error bodies are small XML documents; anything longer is cut (the status is what counts).
constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr int kMaxBackoffMs = 10000;
constexpr size_t kFileChunk = 1 << 20;

enum class Op { kPut, kHead, kGet, kDelete, kCreateBucket };

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kPut:
    case Op::kCreateBucket:
      return "PUT";
    case Op::kHead:
      return "HEAD";
    case Op::kGet:
      return "GET";
    case Op::kDelete:
      return "DELETE";
  }
  return "?";
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Result<Fd> OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  return Fd(fd);
}

// pread until `len` bytes or end of file; returns the bytes read or -errno.
ssize_t PreadFull(int fd, char* buf, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

// The <Code> and <Message> of an S3 XML error body, when there is one.
struct S3ErrorBody {
  std::string code;
  std::string message;
};

S3ErrorBody ParseErrorBody(const std::string& body) {
  S3ErrorBody out;
  if (body.empty()) return out;
  try {
    std::istringstream in(body);
    boost::property_tree::ptree tree;
    boost::property_tree::read_xml(in, tree);
    out.code = tree.get<std::string>("Error.Code", "");
    out.message = tree.get<std::string>("Error.Message", "");
  } catch (const std::exception&) {
    // Not XML (a proxy's HTML page, a cut body): the HTTP status alone decides.
  }
  return out;
}

// Strips the quotes around an ETag and lower-cases it.
std::string NormalizeEtag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  std::string out(etag);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// A response header's value (the last request's, after any 100 Continue), or "".
std::string ResponseHeader(CURL* easy, const char* name) {
  struct curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h) return {};
  return h->value;
}

// Parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*").
bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last) {
  constexpr std::string_view kPrefix = "bytes ";
  if (v.substr(0, kPrefix.size()) != kPrefix) return false;
  v.remove_prefix(kPrefix.size());
  const char* end = v.data() + v.size();
  auto [p1, e1] = std::from_chars(v.data(), end, *first);
  if (e1 != std::errc() || p1 == end || *p1 != '-') return false;
  auto [p2, e2] = std::from_chars(p1 + 1, end, *last);
  if (e2 != std::errc() || p2 == end || *p2 != '/') return false;
  return *first <= *last;
}

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool ValidRegion(std::string_view r) {
  return !r.empty() && std::all_of(r.begin(), r.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Status BadConfig(std::string msg) { return InvalidArgument("S3 config: " + msg, "s3_bad_config"); }

}  // namespace

// One operation: its inputs, the state of its current attempt and how to finish it.
struct S3Client::Request {
  Op op = Op::kHead;
  std::string key;
  std::string url;
  // kPut from a file: [file_offset, file_offset + length) of `file`; kCreateBucket: `body`.
  Fd file;
  uint64_t file_offset = 0;
  uint64_t length = 0;
  std::string body;
  std::string payload_sha256_hex;
  std::string content_md5_b64;
  // kGet: the first byte asked for (length is `length`).
  uint64_t range_offset = 0;

  // The current attempt.
  int attempt = 0;
  Clock::time_point due;
  uint64_t sent = 0;
  std::string response;
  Status abort;  // set by a callback that aborted the transfer
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  // Called once with the transfer's outcome (OK: a 2xx answer is in `response` and the
  // headers are readable from `easy`); validates and calls the user's callback.
  std::function<void(Request&, Status)> finish;

  std::string What() const { return std::string(OpName(op)) + " " + (key.empty() ? url : key); }

  void ResetAttempt() {
    if (easy) curl_easy_cleanup(easy);
    easy = nullptr;
    if (headers) curl_slist_free_all(headers);
    headers = nullptr;
    sent = 0;
    response.clear();
    abort = Status();
    error[0] = '\0';
  }
  ~Request() { ResetAttempt(); }
};

// The worker thread and everything only it touches, plus the hand-over queue.
struct S3Client::Worker {
  explicit Worker(const S3Config& c) : config(c), rng(std::random_device{}()) {}
  ~Worker() {
    if (multi) curl_multi_cleanup(multi);
  }

  const S3Config& config;
  CURLM* multi = nullptr;
  std::thread thread;
  std::thread::id thread_id;
  std::atomic<size_t> pending{0};  // accepted and not yet completed

  std::mutex mu;
  std::vector<std::unique_ptr<Request>> incoming;  // GUARDED_BY(mu)
  bool stopping = false;                           // GUARDED_BY(mu)

  // Worker thread only.
  std::unordered_map<Request*, std::unique_ptr<Request>> active;
  std::multimap<Clock::time_point, std::unique_ptr<Request>> retries;
  std::minstd_rand rng;

  void Run();
  void Start(std::unique_ptr<Request> r);
  void Done(Request* r, CURLcode result);
  void Complete(std::unique_ptr<Request> r, Status status);
  void CancelAll();
  Status Outcome(Request& r, CURLcode result);
  int BackoffMs(int attempt);
  // libcurl callbacks; `user` is the Request.
  static size_t OnWrite(char* data, size_t size, size_t nmemb, void* user);
  static size_t OnRead(char* buf, size_t size, size_t nitems, void* user);
  static int OnSeek(void* user, curl_off_t offset, int origin);
};

size_t S3Client::Worker::OnWrite(char* data, size_t size, size_t nmemb, void* user) {
  auto* r = static_cast<Request*>(user);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
  bool success = code >= 200 && code < 300;
  if (success && r->op == Op::kGet) {
    if (r->response.size() + n > r->length) {
      r->abort = Corruption("S3 " + r->What() + ": the server sent more than the " +
                                std::to_string(r->length) + " bytes asked for",
                            "s3_short_read");
      return CURL_WRITEFUNC_ERROR;
    }
    if (r->response.empty()) r->response.reserve(r->length);
  } else if (r->response.size() + n > kMaxErrorBody) {
    n = kMaxErrorBody - std::min(kMaxErrorBody, r->response.size());  // keep the head only
    r->response.append(data, n);
    return size * nmemb;
  }
  r->response.append(data, n);
  return size * nmemb;
}

size_t S3Client::Worker::OnRead(char* buf, size_t size, size_t nitems, void* user) {
  auto* r = static_cast<Request*>(user);
  uint64_t left = r->length - r->sent;
  size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * nitems));
  if (want == 0) return 0;
  if (r->file.get() < 0) {
    std::copy_n(r->body.data() + r->sent, want, buf);
    r->sent += want;
    return want;
  }
  ssize_t n = PreadFull(r->file.get(), buf, want, r->file_offset + r->sent);
  if (n < 0) {
    r->abort = ErrnoStatus("read for S3 " + r->What(), static_cast<int>(-n));
    return CURL_READFUNC_ABORT;
  }
  if (static_cast<size_t>(n) < want) {
    r->abort = IoError("S3 " + r->What() + ": the file ended before the region did");
    return CURL_READFUNC_ABORT;
  }
  r->sent += want;
  return want;
}

int S3Client::Worker::OnSeek(void* user, curl_off_t offset, int origin) {
  auto* r = static_cast<Request*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > r->length) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  r->sent = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int S3Client::Worker::BackoffMs(int attempt) {
  int64_t ms = config.retry_backoff_ms;
  for (int i = 1; i < attempt && ms < kMaxBackoffMs; ++i) ms *= 2;
  ms = std::min<int64_t>(ms, kMaxBackoffMs);
  // Half fixed, half random, so clients that failed together do not return together.
  return static_cast<int>(ms / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(ms / 2 + 1)));
}

void S3Client::Worker::Start(std::unique_ptr<Request> r) {
  ++r->attempt;
  r->ResetAttempt();
  CURL* e = curl_easy_init();
  if (!e) {
    Complete(std::move(r), Internal("curl_easy_init failed", "s3_unexpected"));
    return;
  }
  r->easy = e;
  Request* raw = r.get();
  curl_easy_setopt(e, CURLOPT_URL, raw->url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, raw);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, raw->error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout_ms));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(config.request_timeout_ms));
  const std::string sigv4 = "aws:amz:" + config.region + ":s3";
  curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4.c_str());  // copied by curl
  curl_easy_setopt(e, CURLOPT_USERNAME, config.access_key.c_str());
  curl_easy_setopt(e, CURLOPT_PASSWORD, config.secret_key.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, raw);

  // libcurl 7.88 signs whatever x-amz-content-sha256 we send as the payload hash (and does
  // not add the header itself); S3 requires it and checks the body against it.
  std::string payload_hash = "x-amz-content-sha256: " + raw->payload_sha256_hex;
  raw->headers = curl_slist_append(raw->headers, payload_hash.c_str());
  switch (raw->op) {
    case Op::kPut:
    case Op::kCreateBucket: {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(e, CURLOPT_READDATA, raw);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, raw);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(raw->length));
      if (!raw->content_md5_b64.empty()) {
        std::string md5 = "Content-MD5: " + raw->content_md5_b64;
        raw->headers = curl_slist_append(raw->headers, md5.c_str());
        raw->headers = curl_slist_append(raw->headers, "Content-Type: application/octet-stream");
      }
      break;
    }
    case Op::kHead:
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
      break;
    case Op::kGet: {
      std::string range = std::to_string(raw->range_offset) + "-" +
                          std::to_string(raw->range_offset + raw->length - 1);
      curl_easy_setopt(e, CURLOPT_RANGE, range.c_str());  // copied by curl
      break;
    }
    case Op::kDelete:
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
      break;
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, raw->headers);

  CURLMcode mc = curl_multi_add_handle(multi, e);
  if (mc != CURLM_OK) {
    Complete(std::move(r),
             Internal(std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc),
                      "s3_unexpected"));
    return;
  }
  active.emplace(raw, std::move(r));
}

// Maps one attempt's transport result and HTTP status to the error vocabulary.
Status S3Client::Worker::Outcome(Request& r, CURLcode result) {
  if (!r.abort.ok()) return r.abort;
  const std::string what = "S3 " + r.What();
  if (result != CURLE_OK) {
    std::string detail = r.error[0] ? r.error : curl_easy_strerror(result);
    switch (result) {
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_CONNECT:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
      case CURLE_SEND_FAIL_REWIND:
      case CURLE_AGAIN:
        return Unavailable(what + ": " + detail, "s3_unavailable");
      case CURLE_PEER_FAILED_VERIFICATION:
        return PermissionDenied(what + ": " + detail, "s3_tls");
      default:
        return Internal(what + ": " + detail, "s3_unexpected");
    }
  }
  long code = 0;
  curl_easy_getinfo(r.easy, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 200 && code < 300) return Status();

  S3ErrorBody err = ParseErrorBody(r.response);
  std::string msg = what + ": HTTP " + std::to_string(code);
  if (!err.code.empty()) msg += " " + err.code;
  if (!err.message.empty()) msg += ": " + err.message;
  if (code >= 500 || code == 429 || err.code == "SlowDown") {
    return Unavailable(msg, "s3_unavailable");
  }
  if (code == 404) return NotFound(msg, "s3_not_found");
  if (code == 401 || code == 403) return PermissionDenied(msg, "s3_forbidden");
  if (code == 416) return InvalidArgument(msg, "s3_range_not_satisfiable");
  if (err.code == "BadDigest" || err.code == "XAmzContentSHA256Mismatch") {
    return Corruption(msg, "s3_bad_digest");
  }
  if (code == 409 && r.op == Op::kCreateBucket) return AlreadyExists(msg, err.code);
  if (code >= 400) return InvalidArgument(msg, "s3_bad_request");
  return Internal(msg, "s3_unexpected");
}

void S3Client::Worker::Done(Request* raw, CURLcode result) {
  curl_multi_remove_handle(multi, raw->easy);
  auto it = active.find(raw);
  assert(it != active.end());
  std::unique_ptr<Request> r = std::move(it->second);
  active.erase(it);
  Status status = Outcome(*r, result);
  if (status.code() == Code::kUnavailable && r->attempt < config.max_attempts) {
    int wait = BackoffMs(r->attempt);
    log::Debug("S3 retry in " + std::to_string(wait) + " ms: " + status.ToString());
    r->ResetAttempt();
    auto due = Clock::now() + std::chrono::milliseconds(wait);
    retries.emplace(due, std::move(r));
    return;
  }
  Complete(std::move(r), std::move(status));
}

void S3Client::Worker::Complete(std::unique_ptr<Request> r, Status status) {
  // Expected outcomes (a missing key; CreateBucket's "exists", settled by its finish) are the
  // caller's to report.
  if (!status.ok() && status.code() != Code::kNotFound && status.code() != Code::kAlreadyExists) {
    log::Warn(status.ToString());
  }
  r->finish(*r, std::move(status));
  r.reset();
  pending.fetch_sub(1);
}

void S3Client::Worker::CancelAll() {
  std::vector<std::unique_ptr<Request>> all;
  for (auto& [raw, r] : active) {
    curl_multi_remove_handle(multi, raw->easy);
    all.push_back(std::move(r));
  }
  active.clear();
  for (auto& [due, r] : retries) all.push_back(std::move(r));
  retries.clear();
  {
    std::lock_guard lock(mu);
    for (auto& r : incoming) all.push_back(std::move(r));
    incoming.clear();
  }
  for (auto& r : all) {
    std::string what = r->What();
    r->abort = Status();
    r->finish(*r, Unavailable("S3 " + what + ": the client is shutting down", "s3_cancelled"));
    r.reset();
    pending.fetch_sub(1);
  }
}

void S3Client::Worker::Run() {
  for (;;) {
    std::vector<std::unique_ptr<Request>> fresh;
    {
      std::lock_guard lock(mu);
      if (stopping) break;
      fresh.swap(incoming);
    }
    for (auto& r : fresh) Start(std::move(r));
    const auto now = Clock::now();
    while (!retries.empty() && retries.begin()->first <= now) {
      auto node = retries.extract(retries.begin());
      Start(std::move(node.mapped()));
    }

    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
      if (m->msg != CURLMSG_DONE) continue;
      Request* raw = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &raw);
      Done(raw, m->data.result);
    }

    int timeout_ms = 1000;
    if (!retries.empty()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(retries.begin()->first -
                                                                         Clock::now())
                       .count();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(until, 0, timeout_ms));
    }
    {
      // A submission that arrived meanwhile must not wait for the poll timeout.
      std::lock_guard lock(mu);
      if (!incoming.empty() || stopping) timeout_ms = 0;
    }
    curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
  }
  CancelAll();
}

Result<std::unique_ptr<S3Client>> S3Client::Create(S3Config config) {
  InitCurlOnce();
  if (!ValidBucket(config.bucket)) {
    return BadConfig("bucket must be 3-63 characters of a-z, 0-9, '.' and '-'");
  }
  if (!ValidRegion(config.region)) return BadConfig("region must be like \"us-east-1\"");
  if (config.access_key.empty() || config.secret_key.empty()) {
    return BadConfig("the access key and the secret key are required");
  }
  if (config.connect_timeout_ms <= 0 || config.request_timeout_ms < 0 || config.max_attempts < 1 ||
      config.retry_backoff_ms < 1 || config.max_connections < 1 || config.max_pending < 1) {
    return BadConfig("timeouts, attempts, backoff, connections and pending must be positive");
  }

  CURLU* url = curl_url();
  if (!url) return Internal("curl_url failed", "s3_unexpected");
  std::unique_ptr<CURLU, void (*)(CURLU*)> url_owner(url, curl_url_cleanup);
  if (curl_url_set(url, CURLUPART_URL, config.endpoint.c_str(), 0) != CURLUE_OK) {
    return BadConfig("endpoint \"" + config.endpoint + "\" is not a URL");
  }
  auto part = [&](CURLUPart which, unsigned flags = 0) -> std::string {
    char* v = nullptr;
    if (curl_url_get(url, which, &v, flags) != CURLUE_OK || !v) return {};
    std::string s = v;
    curl_free(v);
    return s;
  };
  const std::string scheme = part(CURLUPART_SCHEME);
  const std::string host = part(CURLUPART_HOST);
  const std::string port = part(CURLUPART_PORT, CURLU_NO_DEFAULT_PORT);
  const std::string path = part(CURLUPART_PATH);
  if (scheme != "http" && scheme != "https") {
    return BadConfig("endpoint must start with http:// or https://");
  }
  if (host.empty() || (path != "/" && !path.empty()) || !part(CURLUPART_QUERY).empty() ||
      !part(CURLUPART_USER).empty()) {
    return BadConfig("endpoint must be scheme://host[:port] with no path, query or user");
  }
  const std::string host_port = port.empty() ? host : host + ":" + port;
  auto client = std::unique_ptr<S3Client>(new S3Client(std::move(config)));
  if (client->config_.path_style) {
    client->bucket_url_ = scheme + "://" + host_port + "/" + client->config_.bucket;
  } else {
    const bool is_ip = host.front() == '[' || std::all_of(host.begin(), host.end(), [](char c) {
                         return (c >= '0' && c <= '9') || c == '.';
                       });
    if (is_ip) return BadConfig("virtual-host style needs a host name, not an IP address");
    client->bucket_url_ = scheme + "://" + client->config_.bucket + "." + host_port;
  }

  Worker& w = *client->worker_;
  w.multi = curl_multi_init();
  if (!w.multi) return Internal("curl_multi_init failed", "s3_unexpected");
  curl_multi_setopt(w.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    static_cast<long>(client->config_.max_connections));
  curl_multi_setopt(w.multi, CURLMOPT_MAXCONNECTS,
                    static_cast<long>(client->config_.max_connections));
  std::promise<std::thread::id> started;
  w.thread = std::thread([&w, &started] {
    started.set_value(std::this_thread::get_id());
    w.Run();
  });
  w.thread_id = started.get_future().get();
  return client;
}

S3Client::S3Client(S3Config config)
    : config_(std::move(config)), worker_(std::make_unique<Worker>(config_)) {}

S3Client::~S3Client() {
  if (!worker_->thread.joinable()) return;
  {
    std::lock_guard lock(worker_->mu);
    worker_->stopping = true;
  }
  curl_multi_wakeup(worker_->multi);
  worker_->thread.join();
}

Result<std::string> S3Client::ObjectUrl(const std::string& key) const {
  auto bad = [&](const char* why) {
    return InvalidArgument(std::string("S3 key \"") + key + "\" " + why, "s3_bad_key");
  };
  if (key.empty() || key.size() > kMaxKeyBytes) return bad("must be 1-1024 bytes");
  // Each '/'-separated segment is escaped on its own; empty, "." and ".." segments are refused
  // because a URL parser would fold them and the request would name another object.
  std::string url = bucket_url_;
  size_t start = 0;
  for (;;) {
    size_t slash = key.find('/', start);
    std::string_view seg(key.data() + start,
                         (slash == std::string::npos ? key.size() : slash) - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return bad("has an empty, \".\" or \"..\" path segment");
    }
    char* esc = curl_easy_escape(nullptr, seg.data(), static_cast<int>(seg.size()));
    if (!esc) return Internal("curl_easy_escape failed", "s3_unexpected");
    url += '/';
    url += esc;
    curl_free(esc);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return url;
}

void S3Client::Submit(std::unique_ptr<Request> r) {
  if (r->url.empty()) {  // bucket-level requests come with the bucket's URL
    Result<std::string> url = ObjectUrl(r->key);
    if (!url.ok()) {
      r->finish(*r, url.status());
      return;
    }
    r->url = std::move(url).value();
  }
  if (r->payload_sha256_hex.empty()) r->payload_sha256_hex = HexEncode(Sha256(r->body));
  Worker& w = *worker_;
  if (w.pending.fetch_add(1) >= config_.max_pending) {
    w.pending.fetch_sub(1);
    r->finish(*r, Unavailable("S3 " + r->What() + ": too many requests waiting", "s3_queue_full"));
    return;
  }
  {
    std::unique_lock lock(w.mu);
    if (!w.stopping) {
      w.incoming.push_back(std::move(r));
      lock.unlock();
      curl_multi_wakeup(w.multi);
      return;
    }
  }
  w.pending.fetch_sub(1);
  r->finish(*r, Unavailable("S3 " + r->What() + ": the client is shutting down", "s3_cancelled"));
}

Result<S3PayloadDigest> S3Client::DigestFileRegion(const std::string& path, uint64_t offset,
                                                   uint64_t length) {
  GLINT_ASSIGN_OR_RETURN(Fd fd, OpenForRead(path));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> md5(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> sha(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md5 || !sha || EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr) != 1 ||
      EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("EVP digest init failed");
  }
  std::string buf(static_cast<size_t>(std::min<uint64_t>(length, kFileChunk)), '\0');
  uint64_t done = 0;
  while (done < length) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length - done, buf.size()));
    ssize_t n = PreadFull(fd.get(), buf.data(), want, offset + done);
    if (n < 0) return ErrnoStatus("read " + path, static_cast<int>(-n));
    if (static_cast<size_t>(n) < want) {
      return IoError(path + " ends before offset " + std::to_string(offset + length));
    }
    EVP_DigestUpdate(md5.get(), buf.data(), want);
    EVP_DigestUpdate(sha.get(), buf.data(), want);
    done += want;
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  S3PayloadDigest d;
  EVP_DigestFinal_ex(md5.get(), out, &len);
  d.md5.assign(reinterpret_cast<char*>(out), len);
  EVP_DigestFinal_ex(sha.get(), out, &len);
  d.sha256.assign(reinterpret_cast<char*>(out), len);
  return d;
}

void S3Client::PutFile(std::string key, const std::string& path, uint64_t offset, uint64_t length,
                       S3PayloadDigest digest, Callback<std::string> done) {
  auto r = std::make_unique<Request>();
  r->op = Op::kPut;
  r->key = std::move(key);
  r->file_offset = offset;
  r->length = length;
  if (digest.md5.size() != 16 || digest.sha256.size() != 32) {
    done(InvalidArgument("S3 PUT " + r->key + ": digest is not MD5 + SHA-256", "s3_bad_argument"));
    return;
  }
  Result<Fd> fd = OpenForRead(path);
  if (!fd.ok()) {
    done(fd.status());
    return;
  }
  r->file = std::move(fd).value();
  r->content_md5_b64 = Base64(digest.md5);
  r->payload_sha256_hex = HexEncode(digest.sha256);
  r->finish = [done = std::move(done), md5_hex = HexEncode(digest.md5)](Request& req,
                                                                        Status status) {
    if (!status.ok()) return done(std::move(status));
    std::string etag = NormalizeEtag(ResponseHeader(req.easy, "ETag"));
    if (etag != md5_hex) {
      return done(Corruption("S3 " + req.What() + ": ETag \"" + etag +
                                 "\" is not the MD5 of the bytes sent (" + md5_hex + ")",
                             "s3_etag_mismatch"));
    }
    done(std::move(etag));
  };
  Submit(std::move(r));
}

void S3Client::Head(std::string key, Callback<S3ObjectInfo> done) {
  auto r = std::make_unique<Request>();
  r->op = Op::kHead;
  r->key = std::move(key);
  r->finish = [done = std::move(done)](Request& req, Status status) {
    if (!status.ok()) return done(std::move(status));
    curl_off_t size = -1;
    curl_easy_getinfo(req.easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &size);
    if (size < 0) {
      return done(Internal("S3 " + req.What() + ": no Content-Length", "s3_unexpected"));
    }
    S3ObjectInfo info;
    info.size = static_cast<uint64_t>(size);
    info.etag = NormalizeEtag(ResponseHeader(req.easy, "ETag"));
    done(std::move(info));
  };
  Submit(std::move(r));
}

void S3Client::Get(std::string key, uint64_t offset, uint64_t length, Callback<std::string> done) {
  if (length == 0) return done(std::string());
  if (offset > UINT64_MAX - length) {
    return done(InvalidArgument("S3 GET " + key + ": range overflows", "s3_bad_argument"));
  }
  auto r = std::make_unique<Request>();
  r->op = Op::kGet;
  r->key = std::move(key);
  r->range_offset = offset;
  r->length = length;
  r->finish = [done = std::move(done)](Request& req, Status status) {
    if (!status.ok()) return done(std::move(status));
    long code = 0;
    curl_easy_getinfo(req.easy, CURLINFO_RESPONSE_CODE, &code);
    const uint64_t last = req.range_offset + req.length - 1;
    bool exact = false;
    std::string got;
    if (code == 206) {
      std::string cr = ResponseHeader(req.easy, "Content-Range");
      uint64_t first = 0, end = 0;
      exact = ParseContentRange(cr, &first, &end) && first == req.range_offset && end == last;
      got = "Content-Range \"" + cr + "\"";
    } else if (code == 200) {
      // A server that ignores Range answers the whole object: right only when the object
      // is exactly the range asked for.
      exact = req.range_offset == 0;
      got = "the whole object";
    } else {
      got = "HTTP " + std::to_string(code);
    }
    if (!exact || req.response.size() != req.length) {
      return done(Corruption("S3 " + req.What() + ": asked for bytes " +
                                 std::to_string(req.range_offset) + "-" + std::to_string(last) +
                                 ", got " + got + " with " + std::to_string(req.response.size()) +
                                 " bytes",
                             "s3_short_read"));
    }
    done(std::move(req.response));
  };
  Submit(std::move(r));
}

boost::asio::awaitable<Result<std::string>> S3Client::GetRange(std::string key, uint64_t offset,
                                                               uint64_t length) {
  auto init = [this](auto handler, std::string k, uint64_t off, uint64_t len) {
    // The awaiting coroutine's executor: tracked, so its io_context does not run out of work
    // while the request is on the worker thread.
    auto executor = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    Get(std::move(k), off, len, [shared, executor](Result<std::string> r) {
      boost::asio::post(executor,
                        [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
    });
  };
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                 void(Result<std::string>)>(
      std::move(init), boost::asio::use_awaitable, std::move(key), offset, length);
}

void S3Client::Delete(std::string key, StatusCallback done) {
  auto r = std::make_unique<Request>();
  r->op = Op::kDelete;
  r->key = std::move(key);
  r->finish = [done = std::move(done)](Request&, Status status) { done(std::move(status)); };
  Submit(std::move(r));
}

void S3Client::CreateBucket(StatusCallback done) {
  auto r = std::make_unique<Request>();
  r->op = Op::kCreateBucket;
  if (config_.region != "us-east-1") {
    // Outside us-east-1, AWS wants the region restated in the body.
    r->body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        config_.region + "</LocationConstraint></CreateBucketConfiguration>";
  }
  r->length = r->body.size();
  r->url = bucket_url_;
  r->finish = [this, done = std::move(done)](Request&, Status status) {
    if (status.code() != Code::kAlreadyExists) return done(std::move(status));
    if (status.reason() == "BucketAlreadyOwnedByYou") return done(Status());
    // BucketAlreadyExists: another owner's (AWS) or, from servers that do not tell the two
    // apart (s3rver), possibly ours. HEAD on the bucket succeeds only if we may use it.
    auto head = std::make_unique<Request>();
    head->op = Op::kHead;
    head->url = bucket_url_;
    head->finish = [done, taken = std::move(status)](Request&, Status s) {
      if (s.ok() || s.code() == Code::kUnavailable) return done(std::move(s));
      done(AlreadyExists(taken.message(), "s3_bucket_taken"));
    };
    Submit(std::move(head));
  };
  Submit(std::move(r));
}

namespace {

template <class T, class Start>
Result<T> Wait(Start start) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto f = p->get_future();
  start([p](Result<T> r) { p->set_value(std::move(r)); });
  return f.get();
}

template <class Start>
Status WaitStatus(Start start) {
  auto p = std::make_shared<std::promise<Status>>();
  auto f = p->get_future();
  start([p](Status s) { p->set_value(std::move(s)); });
  return f.get();
}

Status SyncOnWorker() {
  assert(false && "S3Client *Sync called on the client's worker thread");
  return Internal("S3Client: a blocking call from the client's own worker thread",
                  "s3_sync_on_worker");
}

}  // namespace

Result<std::string> S3Client::PutFileSync(const std::string& key, const std::string& path,
                                          uint64_t offset, uint64_t length) {
  if (std::this_thread::get_id() == worker_->thread_id) return SyncOnWorker();
  GLINT_ASSIGN_OR_RETURN(S3PayloadDigest digest, DigestFileRegion(path, offset, length));
  return Wait<std::string>([&](Callback<std::string> cb) {
    PutFile(key, path, offset, length, std::move(digest), std::move(cb));
  });
}

Result<S3ObjectInfo> S3Client::HeadSync(const std::string& key) {
  if (std::this_thread::get_id() == worker_->thread_id) return SyncOnWorker();
  return Wait<S3ObjectInfo>([&](Callback<S3ObjectInfo> cb) { Head(key, std::move(cb)); });
}

Result<std::string> S3Client::GetSync(const std::string& key, uint64_t offset, uint64_t length) {
  if (std::this_thread::get_id() == worker_->thread_id) return SyncOnWorker();
  return Wait<std::string>(
      [&](Callback<std::string> cb) { Get(key, offset, length, std::move(cb)); });
}

Status S3Client::DeleteSync(const std::string& key) {
  if (std::this_thread::get_id() == worker_->thread_id) return SyncOnWorker();
  return WaitStatus([&](StatusCallback cb) { Delete(key, std::move(cb)); });
}

Status S3Client::CreateBucketSync() {
  if (std::this_thread::get_id() == worker_->thread_id) return SyncOnWorker();
  return WaitStatus([&](StatusCallback cb) { CreateBucket(std::move(cb)); });
}

}  // namespace glint::storage
