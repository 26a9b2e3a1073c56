#include "http/curl_request.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include <boost/url/parse.hpp>

namespace glint::http {
namespace {

// The start of an error answer is kept for the message; the status is what counts.
constexpr size_t kMaxErrorBody = 200;

struct CurlDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t len = size * n;
  if (body->size() < kMaxErrorBody) body->append(data, std::min(len, kMaxErrorBody - body->size()));
  return len;  // the rest is read and dropped
}

}  // namespace

Status CurlRequest(std::string_view label, std::string_view method, const std::string& url,
                   const std::vector<std::string>& headers, const std::string* body,
                   std::chrono::milliseconds timeout, bool not_found_ok) {
  const std::string what = std::string(label) + " " + std::string(method) + " " + url;
  const std::string prefix(label);
  std::unique_ptr<CURL, CurlDeleter> easy(curl_easy_init());
  if (!easy) return Internal(what + ": curl_easy_init failed", prefix + "_unexpected");
  std::unique_ptr<curl_slist, CurlDeleter> list;
  for (const std::string& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (!next) return Internal(what + ": out of memory", prefix + "_unexpected");
    (void)list.release();
    list.reset(next);
  }
  std::string response;
  char error[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &response);
  if (body) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());  // copied by curl
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, list.get());

  CURLcode result = curl_easy_perform(e);
  if (result != CURLE_OK) {
    std::string detail = what + ": " + (error[0] ? error : curl_easy_strerror(result));
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
      case CURLE_AGAIN:
        return Unavailable(detail, prefix + "_unavailable");
      case CURLE_PEER_FAILED_VERIFICATION:
        return PermissionDenied(detail, prefix + "_tls");
      default:
        return Internal(detail, prefix + "_unexpected");
    }
  }
  long code = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  if ((code >= 200 && code < 300) || (not_found_ok && code == 404)) return Status();
  std::string msg = what + ": HTTP " + std::to_string(code);
  while (!response.empty() && (response.back() == '\n' || response.back() == '\r')) {
    response.pop_back();
  }
  if (!response.empty()) msg += ": " + response;
  if (code >= 500 || code == 408 || code == 429) return Unavailable(msg, prefix + "_unavailable");
  return InvalidArgument(msg, prefix + "_rejected");
}

std::string HttpUrlProblem(std::string_view url, bool base) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return "not an absolute URL (" + parsed.error().message() + ")";
  auto scheme = parsed->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    return "only http and https URLs are supported";
  }
  if (!parsed->has_authority() || parsed->encoded_host().empty()) return "the URL has no host";
  if (parsed->has_fragment()) return "the URL has a fragment";
  if (base && parsed->has_query()) return "a ban or purge base URL takes no query";
  return {};
}

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace glint::http
