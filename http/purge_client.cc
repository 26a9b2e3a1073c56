#include "http/purge_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <utility>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

namespace glint::http {
namespace {

constexpr std::string_view kKeyPlaceholder = "{key}";
constexpr std::string_view kPathPlaceholder = "{path}";
// The start of an error answer is kept for the message; the status is what counts.
constexpr size_t kMaxErrorBody = 200;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status BadTarget(std::string_view spec, std::string_view why) {
  return InvalidArgument("purge target \"" + std::string(spec) + "\": " + std::string(why),
                         "bad_purge_target");
}

Status BadJob(std::string msg) { return InvalidArgument("purge job: " + msg, "bad_purge_job"); }

// Every occurrence of `from` in `s` replaced by `to`.
std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

std::string Encode(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

// Checks an absolute http(s) URL with a host; `base` also refuses a query and a fragment.
// Returns an empty string when it is fine, else what is wrong.
std::string CheckUrl(std::string_view url, bool base) {
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

// A key goes into a header and a path into a request line: visible ASCII only.
bool Sendable(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 127; });
}

// The base URL without the wildcard marker and trailing slashes.
std::string_view Base(std::string_view url) {
  if (url.ends_with('*')) url.remove_suffix(1);
  while (url.ends_with('/')) url.remove_suffix(1);
  return url;
}

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

// One request; maps its transport result and status to the error vocabulary.
Status Send(std::string_view method, const std::string& url,
            const std::vector<std::string>& headers, const std::string* body,
            std::chrono::milliseconds timeout, bool not_found_ok) {
  const std::string what = "purge " + std::string(method) + " " + url;
  std::unique_ptr<CURL, CurlDeleter> easy(curl_easy_init());
  if (!easy) return Internal(what + ": curl_easy_init failed", "purge_unexpected");
  std::unique_ptr<curl_slist, CurlDeleter> list;
  for (const std::string& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (!next) return Internal(what + ": out of memory", "purge_unexpected");
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
        return Unavailable(detail, "purge_unavailable");
      case CURLE_PEER_FAILED_VERIFICATION:
        return PermissionDenied(detail, "purge_tls");
      default:
        return Internal(detail, "purge_unexpected");
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
  if (code >= 500 || code == 408 || code == 429) return Unavailable(msg, "purge_unavailable");
  return InvalidArgument(msg, "purge_rejected");
}

Status CheckKeys(const std::vector<std::string>& keys) {
  for (const std::string& k : keys) {
    if (!Sendable(k)) return BadJob("key \"" + k + "\" is empty or has spaces or control bytes");
  }
  return Status();
}

Status CheckPaths(const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    if (!p.starts_with('/') || !Sendable(p)) {
      return BadJob("path \"" + p + "\" does not start with '/' or has spaces or control bytes");
    }
  }
  return Status();
}

}  // namespace

Result<PurgeTarget> ParsePurgeTarget(std::string_view spec) {
  PurgeTarget target;
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) {
    return BadTarget(spec, "expected ban:URL, purge:URL or webhook:URL");
  }
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view url = spec.substr(colon + 1);
  if (kind == "ban") {
    target.kind = PurgeTarget::Kind::kBan;
  } else if (kind == "purge") {
    target.kind = PurgeTarget::Kind::kPurge;
  } else if (kind == "webhook") {
    target.kind = PurgeTarget::Kind::kWebhook;
  } else {
    return BadTarget(spec, "unknown kind \"" + std::string(kind) + "\" (ban, purge or webhook)");
  }
  std::string why;
  if (target.kind == PurgeTarget::Kind::kWebhook) {
    why = CheckUrl(
        ReplaceAll(ReplaceAll(std::string(url), kKeyPlaceholder, "k"), kPathPlaceholder, "p"),
        false);
  } else {
    std::string_view base = url;
    if (base.ends_with('*')) {
      if (target.kind != PurgeTarget::Kind::kPurge) {
        return BadTarget(spec, "only purge targets take a trailing '*'");
      }
      base.remove_suffix(1);
    }
    why = CheckUrl(base, true);
  }
  if (!why.empty()) return BadTarget(spec, why);
  target.url = std::string(url);
  return target;
}

PurgeClient::PurgeClient(std::chrono::milliseconds timeout) : timeout_(timeout) { InitCurlOnce(); }

Status PurgeClient::Purge(const PurgeTarget& target, const PurgeJob& job) const {
  GLINT_RETURN_IF_ERROR(CheckKeys(job.keys));
  GLINT_RETURN_IF_ERROR(CheckPaths(job.paths));
  switch (target.kind) {
    case PurgeTarget::Kind::kBan: {
      if (job.keys.empty()) return Status();
      std::string header = "Surrogate-Key:";
      for (const std::string& k : job.keys) header += " " + k;
      return Send("BAN", std::string(Base(target.url)) + "/", {header}, nullptr, timeout_, false);
    }
    case PurgeTarget::Kind::kPurge: {
      const std::string_view suffix = target.url.ends_with('*') ? "*" : "";
      for (const std::string& p : job.paths) {
        GLINT_RETURN_IF_ERROR(Send("PURGE", std::string(Base(target.url)) + p + std::string(suffix),
                                   {}, nullptr, timeout_, true));
      }
      return Status();
    }
    case PurgeTarget::Kind::kWebhook: {
      if (job.keys.empty() && job.paths.empty()) return Status();
      boost::json::array keys(job.keys.begin(), job.keys.end());
      boost::json::array paths(job.paths.begin(), job.paths.end());
      const std::string body =
          boost::json::serialize(boost::json::object{{"keys", keys}, {"paths", paths}});
      const std::vector<std::string> headers = {"Content-Type: application/json", "Expect:"};
      const bool per_path = target.url.find(kPathPlaceholder) != std::string::npos;
      const bool per_key = !per_path && target.url.find(kKeyPlaceholder) != std::string::npos;
      std::string all_keys;
      for (const std::string& k : job.keys) all_keys += (all_keys.empty() ? "" : " ") + k;
      std::vector<std::string> urls;
      if (per_path) {
        for (const std::string& p : job.paths) {
          urls.push_back(ReplaceAll(ReplaceAll(target.url, kPathPlaceholder, Encode(p)),
                                    kKeyPlaceholder, Encode(all_keys)));
        }
      } else if (per_key) {
        for (const std::string& k : job.keys) {
          urls.push_back(ReplaceAll(target.url, kKeyPlaceholder, Encode(k)));
        }
      } else {
        urls.push_back(target.url);
      }
      for (const std::string& url : urls) {
        GLINT_RETURN_IF_ERROR(Send("POST", url, headers, &body, timeout_, false));
      }
      return Status();
    }
  }
  return Internal("purge target of an unknown kind", "purge_unexpected");
}

}  // namespace glint::http
