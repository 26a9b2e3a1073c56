#include "http/purge_client.h"

#include <algorithm>
#include <utility>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include "http/curl_request.h"

namespace glint::http {
namespace {

constexpr std::string_view kKeyPlaceholder = "{key}";
constexpr std::string_view kPathPlaceholder = "{path}";

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
    why = HttpUrlProblem(
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
    why = HttpUrlProblem(base, true);
  }
  if (!why.empty()) return BadTarget(spec, why);
  target.url = std::string(url);
  return target;
}

PurgeClient::PurgeClient(std::chrono::milliseconds timeout) : timeout_(timeout) { InitCurl(); }

Status PurgeClient::Purge(const PurgeTarget& target, const PurgeJob& job) const {
  GLINT_RETURN_IF_ERROR(CheckKeys(job.keys));
  GLINT_RETURN_IF_ERROR(CheckPaths(job.paths));
  switch (target.kind) {
    case PurgeTarget::Kind::kBan: {
      if (job.keys.empty()) return Status();
      std::string header = "Surrogate-Key:";
      for (const std::string& k : job.keys) header += " " + k;
      return CurlRequest("purge", "BAN", std::string(Base(target.url)) + "/", {header}, nullptr,
                         timeout_, false);
    }
    case PurgeTarget::Kind::kPurge: {
      const std::string_view suffix = target.url.ends_with('*') ? "*" : "";
      for (const std::string& p : job.paths) {
        GLINT_RETURN_IF_ERROR(CurlRequest("purge", "PURGE",
                                          std::string(Base(target.url)) + p + std::string(suffix),
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
        GLINT_RETURN_IF_ERROR(CurlRequest("purge", "POST", url, headers, &body, timeout_, false));
      }
      return Status();
    }
  }
  return Internal("purge target of an unknown kind", "purge_unexpected");
}

}  // namespace glint::http
