// An asynchronous client for S3-compatible object stores (AWS S3, MinIO, Ceph RGW, Garage,
// s3rver): the transport under blob-store tiering, where sealed segment files are uploaded,
// verified and later read back with ranged GETs.
//
// Requests are signed with AWS Signature V4 by libcurl (CURLOPT_AWS_SIGV4) and run on one
// worker thread that owns a curl multi handle, so no caller ever blocks on the network:
//   - the callback forms (PutFile, Head, Get, Delete, CreateBucket) return at once and
//     invoke their callback later, exactly once, on the worker thread;
//   - GetRange is a coroutine that resumes on the awaiting coroutine's executor;
//   - the *Sync forms block the calling thread until the answer is in (background threads
//     only: never an event loop, never from inside a callback of this client).
//
// Errors (Status code / reason):
//   kUnavailable      s3_unavailable      cannot connect, timed out, connection dropped, 5xx,
//                                          429; worth retrying later
//   kUnavailable      s3_cancelled        the client was destroyed before the answer came
//   kUnavailable      s3_queue_full       more than S3Config::max_pending requests waiting
//   kNotFound         s3_not_found        404 (no such key or bucket)
//   kPermissionDenied s3_forbidden        401/403 (bad access key or signature, no access)
//   kPermissionDenied s3_tls              the server's TLS certificate did not verify
//   kCorruption       s3_short_read       a ranged GET answered other bytes than those asked
//   kCorruption       s3_etag_mismatch    a PUT's ETag is not the MD5 of the bytes sent
//   kCorruption       s3_bad_digest       the server found the body did not match Content-MD5
//   kAlreadyExists    s3_bucket_taken     CreateBucket: the name is someone else's
//   kInvalidArgument  s3_range_not_satisfiable  416
//   kInvalidArgument  s3_bad_request      another 4xx (the S3 error code is in the message)
//   kInvalidArgument  s3_bad_config, s3_bad_key, s3_bad_argument: refused before sending
//   kIoError / errno  (from the file)     reading the local file region failed or it shrank
//   kInternal         s3_unexpected       curl failed in a way that is a bug, or a status
//                                          S3 never sends
// The S3 error code and message (from the XML error body) are part of the Status message.
//
// Retries: the client itself retries every operation (all of them are idempotent) whose
// attempt ended in kUnavailable, up to S3Config::max_attempts attempts in all, waiting
// retry_backoff_ms, then twice that, and so on (capped at 10 s, with jitter) on the worker
// thread. What reaches the callback is the last attempt's result; a caller that wants to
// retry for longer (the tiering loop, across minutes of outage) does so itself.
//
// Thread-safety and lifetime: every method may be called from any thread at once, except
// the destructor, which must not race with any other call. The destructor stops the worker:
// requests not yet answered complete with kUnavailable/s3_cancelled, their callbacks
// running on the worker thread before the destructor returns; such a callback must not
// touch the client, and a request it submits is cancelled at once. Callbacks must not block:
// they run on the one thread that drives every transfer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "base/status.h"

namespace glint::storage {

struct S3Config {
  // Scheme, host and optional port, no path: "http://127.0.0.1:9000",
  // "https://s3.eu-central-1.amazonaws.com".
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  // true: http://host/bucket/key. false (virtual-host style): http://bucket.host/key, which
  // needs DNS (or *.localhost) to resolve the bucket's name.
  bool path_style = true;
  int connect_timeout_ms = 3000;
  // The whole of one attempt, from the moment it starts until its last byte; size it for the
  // largest upload at the slowest acceptable rate. 0: no limit.
  int request_timeout_ms = 300000;
  // Attempts per operation for kUnavailable outcomes (1: no retry), and the first wait.
  int max_attempts = 3;
  int retry_backoff_ms = 200;
  // Connections kept open to the endpoint; further requests wait for one inside curl.
  int max_connections = 16;
  // Requests accepted but not yet answered; past this a new one fails with s3_queue_full.
  size_t max_pending = 4096;
};

// What HEAD says about an object.
struct S3ObjectInfo {
  uint64_t size = 0;
  // The ETag without quotes, lower case: the hex MD5 of the bytes for a single-part PUT.
  std::string etag;
};

// MD5 and SHA-256 of the bytes to upload. The MD5 goes out as Content-MD5 (the server
// refuses a body that does not match it) and is compared with the ETag the server answers;
// the SHA-256 is the signed payload hash (x-amz-content-sha256).
struct S3PayloadDigest {
  std::string md5;     // 16 raw bytes
  std::string sha256;  // 32 raw bytes
};

class S3Client {
 public:
  template <class T>
  using Callback = std::function<void(Result<T>)>;
  using StatusCallback = std::function<void(Status)>;

  // Checks `config` (endpoint scheme http/https with no path, bucket, key and region present:
  // kInvalidArgument/s3_bad_config otherwise) and starts the worker thread. Nothing is sent.
  static Result<std::unique_ptr<S3Client>> Create(S3Config config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Config& config() const { return config_; }

  // Reads [offset, offset + length) of `path` once and returns its digests. Blocking disk
  // I/O on the calling thread. kIoError (errno-mapped) when the file cannot be read or is
  // shorter than offset + length.
  static Result<S3PayloadDigest> DigestFileRegion(const std::string& path, uint64_t offset,
                                                  uint64_t length);

  // PUT `key` with the bytes [offset, offset + length) of `path`, streamed from the file (it
  // is opened now and read with pread on the worker thread as the upload goes; never loaded
  // whole). `digest` must be DigestFileRegion of the same region; if the bytes have changed
  // since, the server refuses them (s3_bad_digest) or the ETag check fails
  // (s3_etag_mismatch). Success: the object's ETag (hex MD5, as in S3ObjectInfo), and
  // the object holds exactly those bytes.
  void PutFile(std::string key, const std::string& path, uint64_t offset, uint64_t length,
               S3PayloadDigest digest, Callback<std::string> done);
  // DigestFileRegion + PutFile, waiting for the answer.
  Result<std::string> PutFileSync(const std::string& key, const std::string& path, uint64_t offset,
                                  uint64_t length);

  // HEAD `key`: its size and ETag. kNotFound when there is no such object.
  void Head(std::string key, Callback<S3ObjectInfo> done);
  Result<S3ObjectInfo> HeadSync(const std::string& key);

  // GET bytes [offset, offset + length) of `key` (Range: bytes=offset-(offset+length-1)).
  // Success means exactly `length` bytes from exactly that place, checked against the
  // answer's status, Content-Range and length; anything else (the object is shorter, the
  // server sent other bytes) is an error, never partial data. length 0 succeeds with ""
  // without a request. The read is held in memory: ask for what you need.
  void Get(std::string key, uint64_t offset, uint64_t length, Callback<std::string> done);
  Result<std::string> GetSync(const std::string& key, uint64_t offset, uint64_t length);
  // Get as a coroutine: resumes on the awaiting coroutine's executor, whose execution
  // context must outlive the request. The client must outlive the returned awaitable.
  boost::asio::awaitable<Result<std::string>> GetRange(std::string key, uint64_t offset,
                                                       uint64_t length);

  // DELETE `key`. Deleting a key that does not exist succeeds (S3 answers 204 either way).
  void Delete(std::string key, StatusCallback done);
  Status DeleteSync(const std::string& key);

  // PUT the configured bucket. Succeeds when it already exists and these credentials can
  // use it (a HEAD on the bucket decides when the server only says BucketAlreadyExists);
  // kAlreadyExists/s3_bucket_taken when it belongs to someone else.
  void CreateBucket(StatusCallback done);
  Status CreateBucketSync();

 private:
  struct Request;
  struct Worker;

  explicit S3Client(S3Config config);
  // Checks the key, builds the URL and queues `request` for the worker (or completes it at
  // once with the error).
  void Submit(std::unique_ptr<Request> request);
  // The object's URL: escaped key appended to the bucket's base URL.
  Result<std::string> ObjectUrl(const std::string& key) const;

  S3Config config_;
  std::string bucket_url_;  // "http://host:port/bucket" or "http://bucket.host:port"
  std::unique_ptr<Worker> worker_;
};

}  // namespace glint::storage
