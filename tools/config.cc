#include "tools/config.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <sodium.h>
#include <toml++/toml.h>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>

#include "base/hex.h"
#include "base/log.h"
#include "core/email.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::tools {
namespace {

using Setter = std::function<Status(Config&, const std::string&)>;

struct Option {
  OptionSpec spec;
  Setter set;
};

Result<uint64_t> ParseUnsigned(const std::string& key, const std::string& v, uint64_t min,
                               uint64_t max) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max)
    return InvalidArgument(key + " must be an integer from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", not '" + v + "'");
  return n;
}

Result<bool> ParseBool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "on" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "off" || v == "no") return false;
  return InvalidArgument(key + " must be true or false, not '" + v + "'");
}

Option U(std::string key, std::string help, std::string def, uint64_t min, uint64_t max,
         std::function<void(Config&, uint64_t)> apply) {
  return {{key, std::move(help), std::move(def)},
          [key, min, max, apply](Config& c, const std::string& v) -> Status {
            GLINT_ASSIGN_OR_RETURN(uint64_t n, ParseUnsigned(key, v, min, max));
            apply(c, n);
            return Status::Ok();
          }};
}

Option B(std::string key, std::string help, std::string def,
         std::function<void(Config&, bool)> apply) {
  return {{key, std::move(help), std::move(def)},
          [key, apply](Config& c, const std::string& v) -> Status {
            GLINT_ASSIGN_OR_RETURN(bool b, ParseBool(key, v));
            apply(c, b);
            return Status::Ok();
          }};
}

// The non-empty items of `v` between `sep`s, spaces around them trimmed.
std::vector<std::string> SplitList(const std::string& v, char sep) {
  std::vector<std::string> items;
  size_t pos = 0;
  while (pos <= v.size() && !v.empty()) {
    size_t end = v.find(sep, pos);
    std::string item = v.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) items.push_back(std::move(item));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return items;
}

Option S(std::string key, std::string help, std::string def,
         std::function<Status(Config&, const std::string&)> apply) {
  return {{std::move(key), std::move(help), std::move(def)}, std::move(apply)};
}

const std::vector<Option>& AllOptions() {
  static const std::vector<Option> options = {
      S("listen", "address:port to serve HTTP on (port 0 picks a free one)", "127.0.0.1:8080",
        [](Config& c, const std::string& v) -> Status {
          size_t colon = v.rfind(':');
          if (colon == std::string::npos)
            return InvalidArgument("listen must be address:port, not '" + v + "'");
          GLINT_ASSIGN_OR_RETURN(uint64_t port,
                                 ParseUnsigned("listen port", v.substr(colon + 1), 0, 65535));
          std::string host = v.substr(0, colon);
          if (host.size() > 2 && host.front() == '[' && host.back() == ']')
            host = host.substr(1, host.size() - 2);
          c.server.address = host;
          c.server.port = static_cast<uint16_t>(port);
          return Status::Ok();
        }),
      S("data_dir", "where the database and blob segments live", "./var",
        [](Config& c, const std::string& v) -> Status {
          if (v.empty()) return InvalidArgument("data_dir must not be empty");
          c.data_dir = v;
          return Status::Ok();
        }),
      U("threads", "event loops (0 = one per core)", "0", 0, 1024,
        [](Config& c, uint64_t n) { c.server.threads = static_cast<unsigned>(n); }),
      U("blocking_threads",
        "threads for disk writes, password hashing and checking large blobs before sendfile", "4",
        1, 256, [](Config& c, uint64_t n) { c.blocking_threads = static_cast<unsigned>(n); }),
      B("open_registration", "anyone may create an account (else only the admin token)", "false",
        [](Config& c, bool b) { c.service.open_registration = b; }),
      S("admin_token",
        "bearer token with admin rights (empty: made once into <data_dir>/admin.token)", "",
        [](Config& c, const std::string& v) -> Status {
          if (!v.empty() && v.size() < 16)
            return InvalidArgument("admin_token must be at least 16 characters");
          c.service.admin_token = v;
          return Status::Ok();
        }),
      S("service_token",
        "bearer token of other backends: badge events in, the event log out (empty: made once "
        "into <data_dir>/service.token)",
        "",
        [](Config& c, const std::string& v) -> Status {
          if (!v.empty() && v.size() < 16)
            return InvalidArgument("service_token must be at least 16 characters");
          c.service.service_token = v;
          return Status::Ok();
        }),
      S("public_url", "external base URL for links (empty: http://<Host header>)", "",
        [](Config& c, const std::string& v) -> Status {
          std::string url = v;
          while (!url.empty() && url.back() == '/') url.pop_back();
          if (!url.empty() && !url.starts_with("http://") && !url.starts_with("https://"))
            return InvalidArgument("public_url must start with http:// or https://");
          c.api.public_url = url;
          return Status::Ok();
        }),
      U("max_upload_bytes", "largest accepted upload", "52428800", 1024, 1ull << 32,
        [](Config& c, uint64_t n) { c.service.max_upload_bytes = n; }),
      U("upload_url_ttl", "seconds a prepared upload URL stays valid by default", "900", 1,
        7 * 24 * 3600,
        [](Config& c, uint64_t n) { c.service.upload_url_ttl_seconds = static_cast<int64_t>(n); }),
      U("session_ttl", "seconds a login token stays valid", "2592000", 60, 365ull * 24 * 3600,
        [](Config& c, uint64_t n) { c.service.session_ttl_seconds = static_cast<int64_t>(n); }),
      U("max_image_pixels", "largest accepted image (width x height), checked from its header",
        "100000000", 1, 1ull << 32,
        [](Config& c, uint64_t n) { c.service.image_limits.max_pixels = n; }),
      U("avatar_max_age", "Cache-Control max-age of avatar responses, seconds", "300", 0, 31536000,
        [](Config& c, uint64_t n) { c.api.avatar_max_age_seconds = static_cast<int>(n); }),
      S("avatar_default",
        "what an avatar URL without d= shows when there is no avatar: mp, identicon, monsterid, "
        "wavatar, retro, robohash, blank, initials, color, 404 or an http(s) URL",
        "mp", [](Config& c, const std::string& v) -> Status {
          auto d = core::ParseAvatarDefault(v);
          if (!d.ok()) return InvalidArgument("avatar_default: " + d.status().message());
          c.api.avatar_default = *d;
          return Status::Ok();
        }),
      B("allow_md5",
        "answer avatar and profile lookups by MD5 hashes (off: only SHA-256; an MD5 is then "
        "an unknown hash)",
        "true", [](Config& c, bool b) { c.service.allow_md5 = b; }),
      S("photo_cache_control", "Cache-Control of /p/{id} (its URL names fixed bytes)",
        "private, max-age=31536000, immutable", [](Config& c, const std::string& v) -> Status {
          if (v.empty() || v.find_first_of("\r\n") != std::string::npos)
            return InvalidArgument("photo_cache_control must be one non-empty header line");
          c.api.photo_cache_control = v;
          return Status::Ok();
        }),
      U("api_rate_limit",
        "requests per second each client address may make to the JSON API and profiles (0 = "
        "unlimited; images are never limited)",
        "20", 0, 1000000,
        [](Config& c, uint64_t n) { c.api.api_rate_limit.per_second = static_cast<double>(n); }),
      U("api_rate_burst", "requests a client may make at once before api_rate_limit applies",
        "200", 1, 1000000,
        [](Config& c, uint64_t n) { c.api.api_rate_limit.burst = static_cast<double>(n); }),
      U("max_tags_per_photo", "people one photo may have tagged in it (pending or approved)",
        "50", 1, 10000,
        [](Config& c, uint64_t n) { c.service.max_tags_per_photo = static_cast<size_t>(n); }),
      U("tag_rate_limit",
        "tag requests per minute each user may make (POST /v1/photos/{id}/tags; 0 = unlimited)",
        "60", 0, 1000000,
        [](Config& c, uint64_t n) { c.api.tag_rate_limit.per_second = static_cast<double>(n) / 60; }),
      U("tag_rate_burst", "tag requests a user may make at once before tag_rate_limit applies",
        "30", 1, 1000000,
        [](Config& c, uint64_t n) { c.api.tag_rate_limit.burst = static_cast<double>(n); }),
      U("badge_memory_pairs",
        "(receiver, sender) pairs the badge keeps in memory to absorb repeated events without "
        "disk access (16 bytes each; 0 = look every event up in the database)",
        "4194304", 0, uint64_t{1} << 32,
        [](Config& c, uint64_t n) { c.badges.memory_pairs = static_cast<size_t>(n); }),
      B("badge_skip_online",
        "do not count badge events for receivers that have a badge stream open (they are "
        "online and saw the message live)",
        "false", [](Config& c, bool b) { c.badges.skip_online = b; }),
      U("badge_max_batch", "badge events one POST /v1/badges/events may carry", "10000", 1,
        1000000, [](Config& c, uint64_t n) { c.badges.max_batch = static_cast<size_t>(n); }),
      B("trust_forwarded_for",
        "rate-limit by the last X-Forwarded-For address instead of the peer's (set it when "
        "glint is reachable only through a proxy such as Varnish)",
        "false", [](Config& c, bool b) { c.api.trust_forwarded_for = b; }),
      U("email_token_ttl", "seconds an email verification token stays valid", "86400", 60,
        30ull * 24 * 3600, [](Config& c, uint64_t n) {
          c.service.email_token_ttl_seconds = static_cast<int64_t>(n);
        }),
      S("smtp_url",
        "SMTP server for verification mail, smtp://host:port or smtps://host:port (empty: mail "
        "is written to the log)",
        "", [](Config& c, const std::string& v) -> Status {
          c.smtp.url = v;
          return Status::Ok();
        }),
      S("smtp_from", "sender address of verification mail", "glint@localhost",
        [](Config& c, const std::string& v) -> Status {
          c.smtp.from = v;
          return Status::Ok();
        }),
      S("smtp_username", "SMTP AUTH user (empty: no authentication)", "",
        [](Config& c, const std::string& v) -> Status {
          c.smtp.username = v;
          return Status::Ok();
        }),
      S("smtp_password", "SMTP AUTH password", "", [](Config& c, const std::string& v) -> Status {
        c.smtp.password = v;
        return Status::Ok();
      }),
      B("smtp_starttls", "with smtp:// URLs, require STARTTLS (false: use it when offered)",
        "true", [](Config& c, bool b) { c.smtp.starttls = b; }),
      S("purge_targets",
        "comma-separated caches to purge when an avatar changes: ban:http://varnish:6081, "
        "purge:http://nginx:8080, webhook:https://cdn.example/purge?key={key}",
        "", [](Config& c, const std::string& v) -> Status {
          c.purge_targets.clear();
          for (const std::string& item : SplitList(v, ',')) {
            auto t = http::ParsePurgeTarget(item);
            if (!t.ok()) return InvalidArgument("purge_targets: " + t.status().message());
            c.purge_targets.push_back(item);
          }
          return Status::Ok();
        }),
      U("purge_timeout_ms", "timeout of one purge request to a cache", "5000", 100, 600000,
        [](Config& c, uint64_t n) { c.purge_timeout_ms = n; }),
      U("purge_max_backoff_ms", "longest wait between retries of a failing purge target", "60000",
        100, 3600000, [](Config& c, uint64_t n) {
          c.purger.max_backoff = std::chrono::milliseconds(n);
        }),
      S("webhooks",
        "space-separated webhook endpoints, each TYPE[,TYPE...]=URL or *=URL (every type): "
        "AVATAR_CHANGED=https://app.example/hooks/avatar *=http://127.0.0.1:9000/events",
        "", [](Config& c, const std::string& v) -> Status {
          c.webhooks.clear();
          for (const std::string& item : SplitList(v, ' ')) {
            auto w = http::ParseWebhook(item);
            if (!w.ok()) return InvalidArgument("webhooks: " + w.status().message());
            c.webhooks.push_back(*w);
          }
          return Status::Ok();
        }),
      S("webhook_secret",
        "key of the X-Glint-Signature HMAC-SHA256 on every webhook request (empty: unsigned)", "",
        [](Config& c, const std::string& v) -> Status {
          c.notifier.secret = v;
          return Status::Ok();
        }),
      U("webhook_timeout_ms", "timeout of one webhook request", "5000", 100, 600000,
        [](Config& c, uint64_t n) { c.webhook_timeout_ms = n; }),
      U("webhook_max_backoff_ms", "longest wait between retries of a failing webhook endpoint",
        "60000", 100, 3600000, [](Config& c, uint64_t n) {
          c.notifier.follow.max_backoff = std::chrono::milliseconds(n);
        }),
      U("notify_window",
        "seconds in which repeated webhook notifications to one recipient collapse into one "
        "(0: every one is sent)",
        "60", 0, 86400, [](Config& c, uint64_t n) { c.notifier.window = std::chrono::seconds(n); }),
      S("redis_url",
        "publish the event log to a Redis stream on this server: redis://[[user]:password@]host"
        "[:port][/db] or unix:///path/to/redis.sock (empty: off)",
        "", [](Config& c, const std::string& v) -> Status {
          if (!v.empty()) GLINT_RETURN_IF_ERROR(http::ParseRedisUrl(v).status());
          c.redis.url = v;
          return Status::Ok();
        }),
      S("redis_stream", "the Redis stream (key) the events are appended to", "glint:events",
        [](Config& c, const std::string& v) -> Status {
          if (v.empty()) return InvalidArgument("redis_stream must not be empty");
          c.redis.stream = v;
          return Status::Ok();
        }),
      U("redis_maxlen",
        "trim the Redis stream to about this many entries (XADD MAXLEN ~; 0: never trim)",
        "1000000", 0, UINT64_MAX, [](Config& c, uint64_t n) { c.redis.maxlen = n; }),
      S("redis_types",
        "comma-separated event types published to Redis, e.g. AVATAR_CHANGED,PHOTO_TAGGED "
        "(empty: every type)",
        "", [](Config& c, const std::string& v) -> Status {
          c.redis.types.clear();
          if (v.empty()) return Status::Ok();
          std::string joined;
          for (const std::string& item : SplitList(v, ','))
            joined += (joined.empty() ? "" : ",") + item;
          auto types = core::ParseEventTypes(joined);
          if (!types.ok()) return InvalidArgument("redis_types: " + types.status().message());
          c.redis.types = std::move(*types);
          return Status::Ok();
        }),
      U("redis_timeout_ms", "timeout of connecting to Redis and of each round trip", "5000", 100,
        600000,
        [](Config& c, uint64_t n) { c.redis.timeout = std::chrono::milliseconds(n); }),
      U("redis_max_backoff_ms", "longest wait between retries while Redis is failing", "60000",
        100, 3600000, [](Config& c, uint64_t n) {
          c.redis.follow.max_backoff = std::chrono::milliseconds(n);
        }),
      U("event_retention",
        "seconds events are kept once every consumer has read them (0: keep every event)",
        "604800", 0, 10ull * 365 * 24 * 3600,
        [](Config& c, uint64_t n) { c.trimmer.retention = std::chrono::seconds(n); }),
      U("event_trim_interval", "seconds between passes of the event-log trimmer", "60", 1, 86400,
        [](Config& c, uint64_t n) { c.trimmer.interval = std::chrono::seconds(n); }),
      U("max_event_waiters",
        "GET /v1/events long-polls waiting at once; more are answered 503 too_many_waiters",
        "1000", 1, 1000000,
        [](Config& c, uint64_t n) { c.api.max_event_waiters = static_cast<size_t>(n); }),
      U("header_limit", "largest request header, bytes", "16384", 1024, 1 << 20,
        [](Config& c, uint64_t n) { c.server.header_limit = static_cast<uint32_t>(n); }),
      U("idle_timeout", "seconds to wait for a request header on an open connection", "60", 1, 3600,
        [](Config& c, uint64_t n) { c.server.idle_timeout = std::chrono::seconds(n); }),
      U("read_timeout", "seconds to read one request body", "300", 1, 3600,
        [](Config& c, uint64_t n) { c.server.read_timeout = std::chrono::seconds(n); }),
      U("write_timeout", "seconds to write one response", "60", 1, 3600,
        [](Config& c, uint64_t n) { c.server.write_timeout = std::chrono::seconds(n); }),
      U("shutdown_grace", "seconds in-flight requests get to finish on SIGTERM", "10", 0, 3600,
        [](Config& c, uint64_t n) { c.server.shutdown_grace = std::chrono::seconds(n); }),
      U("max_connections", "open connections at most; more are refused", "10000", 1, 1000000,
        [](Config& c, uint64_t n) { c.server.max_connections = n; }),
      S("fsync",
        "when blob bytes reach the disk: \"always\" (before each upload is acknowledged; "
        "concurrent writes share one fdatasync) or \"interval:<ms>\" (a power loss may lose "
        "the last <ms> of acknowledged uploads; a process crash loses none)",
        "always",
        [](Config& c, const std::string& v) -> Status {
          GLINT_ASSIGN_OR_RETURN(c.blobs.fsync, storage::FsyncPolicy::Parse(v));
          return Status::Ok();
        }),
      U("segment_bytes", "size at which the blob store starts a new segment file", "1073741824",
        1 << 20, 1ull << 40, [](Config& c, uint64_t n) { c.blobs.max_segment_bytes = n; }),
      U("compact_below_percent",
        "rewrite a sealed blob segment once less than this percent of it is live (0 = never)",
        "50", 0, 100,
        [](Config& c, uint64_t n) { c.compactor.live_threshold = static_cast<double>(n) / 100; }),
      U("compact_interval", "seconds between looks for segments to compact after deletions", "60",
        1, 86400,
        [](Config& c, uint64_t n) { c.compactor.interval = std::chrono::seconds(n); }),
      S("s3_endpoint",
        "S3-compatible endpoint for tiering sealed blob segments, e.g. https://s3.amazonaws.com "
        "(\"\" = no tiering)",
        "", [](Config& c, const std::string& v) -> Status {
          c.s3.endpoint = v;
          return Status::Ok();
        }),
      S("s3_region", "region the S3 requests are signed for", "us-east-1",
        [](Config& c, const std::string& v) -> Status {
          c.s3.region = v;
          return Status::Ok();
        }),
      S("s3_bucket", "bucket that receives tiered segments", "",
        [](Config& c, const std::string& v) -> Status {
          c.s3.bucket = v;
          return Status::Ok();
        }),
      S("s3_access_key", "S3 access key id", "", [](Config& c, const std::string& v) -> Status {
        c.s3.access_key = v;
        return Status::Ok();
      }),
      S("s3_secret_key", "S3 secret access key", "",
        [](Config& c, const std::string& v) -> Status {
          c.s3.secret_key = v;
          return Status::Ok();
        }),
      S("s3_path_style", "path-style URLs (true) or the bucket in the host name (false)", "true",
        [](Config& c, const std::string& v) -> Status {
          if (v != "true" && v != "false") return InvalidArgument("must be true or false");
          c.s3.path_style = v == "true";
          return Status::Ok();
        }),
      S("s3_key_prefix", "prefix of the object keys of tiered segments", "glint/",
        [](Config& c, const std::string& v) -> Status {
          c.tiering.key_prefix = v;
          return Status::Ok();
        }),
      U("tier_after_seconds", "tier sealed segments whose last write is this old (0 = not by age)",
        "0", 0, 1ull << 40,
        [](Config& c, uint64_t n) { c.tiering.after_seconds = static_cast<int64_t>(n); }),
      U("tier_local_budget_bytes",
        "tier the oldest sealed segments while local segments take more than this (0 = no budget)",
        "0", 0, 1ull << 50, [](Config& c, uint64_t n) { c.tiering.local_budget_bytes = n; }),
      U("tier_cache_bytes", "disk for local copies of remote blobs", "1073741824", 0, 1ull << 50,
        [](Config& c, uint64_t n) { c.tiering.cache_bytes = n; }),
      U("tier_interval_ms", "how often the tiering policy is checked", "10000", 10, 86400000,
        [](Config& c, uint64_t n) { c.tiering.interval = std::chrono::milliseconds(n); }),
      U("blob_cache_bytes", "memory for hot small blobs such as avatars (0 = none)", "67108864", 0,
        1ull << 40, [](Config& c, uint64_t n) { c.blobs.cache_bytes = n; }),
      U("max_body_bytes_in_flight",
        "request body bytes held in memory at once; more waits with 503", "1073741824", 1 << 20,
        1ull << 40, [](Config& c, uint64_t n) { c.server.max_body_bytes_in_flight = n; }),
      U("max_blocking_queue",
        "writes, password hashes and large-blob checks queued at once; more get 503", "256", 1,
        1 << 20, [](Config& c, uint64_t n) { c.api.max_blocking_queue = n; }),
      U("sendfile_threshold",
        "originals larger than this many bytes are sent from their blob file with sendfile(2), "
        "without a copy through memory; smaller ones come through the blob cache (0 = never)",
        "262144", 0, 1ull << 40, [](Config& c, uint64_t n) { c.api.sendfile_threshold = n; }),
      U("transform_threads", "CPU threads for image transforms (0 = one per core)", "0", 0, 1024,
        [](Config& c, uint64_t n) { c.transformer.cpu_threads = static_cast<unsigned>(n); }),
      U("transform_queue", "transforms waiting or running at once; more get 503", "64", 1, 1 << 20,
        [](Config& c, uint64_t n) { c.transformer.max_queue = n; }),
      U("variant_cache_bytes", "memory for rendered variants", "268435456", 0, 1ull << 40,
        [](Config& c, uint64_t n) { c.transformer.cache_bytes = n; }),
      S("renditions",
        "widths made in the background for each new photo, with its BlurHash (\"\" = none)",
        "150,640,1080",
        [](Config& c, const std::string& v) -> Status {
          auto widths = core::ParseWidths(v);
          if (!widths.ok()) return InvalidArgument("renditions: " + widths.status().message());
          c.renditions.widths = *widths;
          return Status::Ok();
        }),
      U("max_output_dimension", "largest width or height a transform may produce", "4096", 16,
        16384,
        [](Config& c, uint64_t n) {
          c.api.transform_limits.max_width = c.api.transform_limits.max_height =
              static_cast<uint32_t>(n);
        }),
      B("access_log", "log one line per request", "true",
        [](Config& c, bool b) { c.server.access_log = b; }),
      S("log_level", "debug, info, warn or error", "info",
        [](Config& c, const std::string& v) -> Status {
          log::Level level;
          if (!log::ParseLevel(v, &level))
            return InvalidArgument("log_level must be debug, info, warn or error");
          c.log_level = v;
          return Status::Ok();
        }),
      U("kdf_memlimit_kib",
        "Argon2id memory per password hash, KiB (0 = libsodium interactive, 64 MiB)", "0", 0,
        4 << 20, [](Config& c, uint64_t n) { c.kdf_memlimit_kib = n; }),
      U("kdf_opslimit", "Argon2id passes (0 = libsodium interactive, 2)", "0", 0, 64,
        [](Config& c, uint64_t n) { c.kdf_opslimit = n; }),
  };
  return options;
}

std::string EnvName(const std::string& key) {
  std::string out = "GLINT_";
  for (char ch : key) out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return out;
}

Status Apply(Config& c, const std::string& key, const std::string& value,
             const std::string& layer) {
  for (const Option& o : AllOptions()) {
    if (o.spec.key != key) continue;
    Status s = o.set(c, value);
    if (!s.ok()) return InvalidArgument(layer + ": " + s.message());
    return Status::Ok();
  }
  return InvalidArgument(layer + ": unknown option '" + key + "'");
}

Status ApplyToml(Config& c, const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config file " << path << ": " << e.description() << " at line "
        << e.source().begin.line;
    return InvalidArgument(msg.str());
  }
  for (auto&& [k, node] : table) {
    std::string key(k.str()), value;
    if (auto s = node.value<std::string>())
      value = *s;
    else if (auto b = node.value<bool>(); b && node.is_boolean())
      value = *b ? "true" : "false";
    else if (auto i = node.value<int64_t>(); i && node.is_integer())
      value = std::to_string(*i);
    else
      return InvalidArgument("config file " + path + ": '" + key +
                             "' must be a string, integer or boolean");
    GLINT_RETURN_IF_ERROR(Apply(c, key, value, "config file " + path));
  }
  return Status::Ok();
}

// Reads `path`, or makes it with `make()` when it does not exist: written to a fresh
// temporary (O_EXCL|O_NOFOLLOW, mode 0600), fsynced, renamed into place, directory fsynced.
// A file that exists but cannot be read is an error, never silently replaced.
Result<std::string> ReadOrCreateSecret(const std::string& path,
                                       const std::function<std::string()>& make) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    std::string s;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0 && s.size() < 4096)
      s.append(buf, static_cast<size_t>(n));
    int err = errno;
    ::close(fd);
    if (n < 0) return ErrnoStatus("read " + path, err);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.empty()) return Corruption(path + " is empty; delete it to make a new one");
    return s;
  }
  if (errno != ENOENT) return ErrnoStatus("open " + path, errno);
  std::string value = make();
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());  // a leftover from a crash mid-creation
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create " + tmp, errno);
  std::string line = value + "\n";
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok) return ErrnoStatus("write " + tmp, err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename " + tmp, errno);
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return value;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  return HexEncode(raw);
}

// The stores and the service over them, opened from a config.
struct Stack {
  std::unique_ptr<storage::Db> db;
  std::unique_ptr<storage::BlobStore> blobs;
  std::unique_ptr<storage::S3Client> s3;      // with tiering
  std::unique_ptr<storage::Tiering> tiering;  // with tiering; reads of remote segments
  SystemClock clock;
  std::unique_ptr<core::EventLog> events;
  std::unique_ptr<core::Service> service;
  std::unique_ptr<core::Badges> badges;
  // Declared last: destroyed first, joining renders that still write to the stores.
  std::unique_ptr<core::Transformer> transformer;
  std::unique_ptr<core::RenditionWorker> renditions;    // only while serving
  std::unique_ptr<storage::Compactor> compactor;        // only while serving
  std::unique_ptr<http::PurgeClient> purge_client;      // only while serving
  std::unique_ptr<core::Purger> purger;                 // only while serving, with targets
  std::unique_ptr<http::WebhookClient> webhook_client;  // only while serving, with webhooks
  std::unique_ptr<core::Notifier> notifier;             // only while serving, with webhooks
  std::unique_ptr<http::RedisStreamsPublisher> redis;   // only while serving, with redis_url
  std::unique_ptr<core::EventTrimmer> trimmer;          // only while serving
  std::unique_ptr<core::Follower> badge_follower;       // only while serving
};

Result<std::unique_ptr<Stack>> OpenStack(Config& config) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return IoError("cannot create data_dir " + config.data_dir + ": " + ec.message());
  if (config.service.admin_token.empty()) {
    GLINT_ASSIGN_OR_RETURN(config.service.admin_token,
                           ReadOrCreateSecret(config.data_dir + "/admin.token",
                                              [] { return "gla_" + RandomHex(24); }));
  }
  if (config.service.service_token.empty()) {
    GLINT_ASSIGN_OR_RETURN(config.service.service_token,
                           ReadOrCreateSecret(config.data_dir + "/service.token",
                                              [] { return "gls_" + RandomHex(24); }));
  }
  GLINT_ASSIGN_OR_RETURN(std::string key_hex, ReadOrCreateSecret(config.data_dir + "/signing.key",
                                                                 [] { return RandomHex(32); }));
  auto key = HexDecode(key_hex);
  if (!key || key->size() < 32)
    return Corruption(config.data_dir + "/signing.key is not 64 hex characters");
  config.service.signing_key = *key;
  if (config.kdf_memlimit_kib) config.service.kdf.memlimit = config.kdf_memlimit_kib << 10;
  if (config.kdf_opslimit) config.service.kdf.opslimit = config.kdf_opslimit;

  // An upload the service accepts must fit in one blob.
  config.blobs.max_blob_bytes =
      std::max(config.blobs.max_blob_bytes, config.service.max_upload_bytes);
  auto stack = std::make_unique<Stack>();
  GLINT_ASSIGN_OR_RETURN(stack->db,
                         storage::Db::Open(config.data_dir + "/db", storage::DbOptions{}));
  GLINT_ASSIGN_OR_RETURN(stack->blobs,
                         storage::BlobStore::Open(config.data_dir + "/blobs", config.blobs));
  if (!config.s3.endpoint.empty()) {
    GLINT_ASSIGN_OR_RETURN(stack->s3, storage::S3Client::Create(config.s3));
    if (config.tiering.cache_dir.empty())
      config.tiering.cache_dir = config.data_dir + "/tier-cache";
    GLINT_ASSIGN_OR_RETURN(stack->tiering,
                           storage::Tiering::Open(*stack->blobs, *stack->s3, config.tiering));
    stack->blobs->SetRemoteTier(stack->tiering.get());
  }
  config.service.public_url = config.api.public_url;
  GLINT_ASSIGN_OR_RETURN(stack->events, core::EventLog::Open(*stack->db, stack->clock));
  GLINT_ASSIGN_OR_RETURN(stack->service, core::Service::Create(*stack->db, *stack->blobs,
                                                               stack->clock, config.service));
  stack->service->SetEventLog(stack->events.get());
  stack->badges =
      std::make_unique<core::Badges>(*stack->db, stack->clock, config.badges, stack->events.get());
  if (!config.smtp.url.empty()) {
    GLINT_RETURN_IF_ERROR(http::SmtpMailer::CheckOptions(config.smtp));
    stack->service->SetMailer(std::make_shared<http::SmtpMailer>(config.smtp));
  } else {
    stack->service->SetMailer(std::make_shared<core::LogMailer>());
  }
  config.transformer.limits = config.service.image_limits;
  core::Service* service = stack->service.get();
  stack->transformer = std::make_unique<core::Transformer>(
      *stack->db, *stack->blobs, [service] { return service->AllocateBlobId(); },
      config.transformer);
  // A deleted photo's variants leave memory with it. The transformer is destroyed before the
  // service (Stack's member order), and the service is not used after that.
  stack->service->SetPhotoDeletedListener(
      [transformer = stack->transformer.get()](uint64_t id) { transformer->ForgetPhoto(id); });
  return stack;
}

}  // namespace

std::vector<OptionSpec> OptionSpecs() {
  std::vector<OptionSpec> out;
  for (const Option& o : AllOptions()) out.push_back(o.spec);
  return out;
}

Status LoadConfig(const std::map<std::string, std::string>& flags, Config* config) {
  Config& c = *config;
  std::string file = c.config_file;
  if (const char* env = std::getenv("GLINT_CONFIG"); env && file.empty()) file = env;
  if (!file.empty()) GLINT_RETURN_IF_ERROR(ApplyToml(c, file));
  for (const Option& o : AllOptions()) {
    std::string env = EnvName(o.spec.key);
    if (const char* v = std::getenv(env.c_str()))
      GLINT_RETURN_IF_ERROR(Apply(c, o.spec.key, v, "environment " + env));
  }
  for (const auto& [k, v] : flags) GLINT_RETURN_IF_ERROR(Apply(c, k, v, "flag --" + k));
  log::Level level;
  log::ParseLevel(c.log_level, &level);
  log::SetLevel(level);
  return Status::Ok();
}

namespace {

// Each connection is a descriptor: raise the soft limit to the hard one so max_connections
// is reachable, and say so when it still is not.
void RaiseFileLimit(size_t max_connections) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
    ::getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < max_connections + 64)
    log::Warn("open-file limit " + std::to_string(lim.rlim_cur) + " is below max_connections " +
              std::to_string(max_connections) + "; raise it (ulimit -n) or lower max_connections");
}

}  // namespace

// Tells the service which built-in consumers run here, and warns about cursors left by ones
// that no longer do: they hold event retention back until deleted.
void ReportConsumers(Stack& stack) {
  std::vector<std::string> names;
  if (stack.purger) names = stack.purger->cursor_names();
  if (stack.notifier)
    for (std::string& n : stack.notifier->cursor_names()) names.push_back(std::move(n));
  if (stack.redis) names.push_back(stack.redis->cursor_name());
  names.push_back(stack.badge_follower->name());
  stack.service->SetActiveConsumers(std::move(names));
  auto consumers = stack.service->ListConsumers(core::Principal::Admin());
  if (!consumers.ok()) return;
  for (const core::ConsumerView& c : *consumers)
    if (!c.outside && !c.active)
      log::Warn("event consumer \"" + c.name + "\" is no longer configured but its cursor (" +
                std::to_string(c.cursor) + ", " + std::to_string(c.lag) +
                " behind) holds event retention back; remove it with DELETE "
                "/v1/events/consumers?builtin=<name> (admin token)");
}

int Serve(Config config) {
  RaiseFileLimit(config.server.max_connections);
  auto stack = OpenStack(config);
  if (!stack.ok()) {
    log::Error("cannot start: " + stack.status().ToString());
    return 1;
  }
  boost::asio::thread_pool blocking(config.blocking_threads);
  http::Router router;
  std::unique_ptr<http::Server> server;
  http::Api api(*(*stack)->service, *(*stack)->transformer, *(*stack)->badges, blocking, config.api,
                [&server] { return server && !server->draining(); });
  api.Register(router);
  server = std::make_unique<http::Server>(router, config.server);
  if (Status s = server->Listen(); !s.ok()) {
    log::Error("cannot start: " + s.ToString());
    return 1;
  }
  log::Info("glint listening on http://" + config.server.address + ":" +
            std::to_string(server->port()) + " data_dir=" + config.data_dir +
            " io_uring=" + ((*stack)->blobs->io_uring_enabled() ? "on" : "off") +
            " admin_token_file=" + config.data_dir + "/admin.token");
  core::Service& service = *(*stack)->service;
  (*stack)->renditions = std::make_unique<core::RenditionWorker>(service, *(*stack)->transformer,
                                                                 *(*stack)->db, config.renditions);
  service.SetPhotoListener(
      [worker = (*stack)->renditions.get()](uint64_t id) { worker->Notify(id); });
  (*stack)->renditions->Start();
  if (config.compactor.live_threshold > 0) {
    (*stack)->compactor =
        std::make_unique<storage::Compactor>(*(*stack)->db, *(*stack)->blobs, config.compactor);
    (*stack)->compactor->Start();
  }
  if ((*stack)->tiering) (*stack)->tiering->Start();
  if (!config.purge_targets.empty()) {
    (*stack)->purge_client =
        std::make_unique<http::PurgeClient>(std::chrono::milliseconds(config.purge_timeout_ms));
    std::vector<core::Purger::Target> targets;
    for (const std::string& spec : config.purge_targets) {
      http::PurgeTarget target = *http::ParsePurgeTarget(spec);  // checked by LoadConfig
      targets.push_back(
          {spec, [client = (*stack)->purge_client.get(), target](const core::PurgeBatch& b) {
             return client->Purge(target, http::PurgeJob{b.keys, b.paths});
           }});
    }
    (*stack)->purger =
        std::make_unique<core::Purger>(*(*stack)->events, std::move(targets), config.purger);
    (*stack)->purger->Start();
  }
  if (!config.webhooks.empty()) {
    (*stack)->webhook_client =
        std::make_unique<http::WebhookClient>(std::chrono::milliseconds(config.webhook_timeout_ms));
    (*stack)->notifier = std::make_unique<core::Notifier>(
        *(*stack)->events, (*stack)->clock, config.webhooks,
        [client = (*stack)->webhook_client.get()](const core::WebhookEndpoint& e,
                                                  const core::WebhookDelivery& d) {
          return client->Post(e, d);
        },
        config.notifier);
    (*stack)->notifier->Start();
  }
  if (!config.redis.url.empty()) {
    (*stack)->redis =
        std::make_unique<http::RedisStreamsPublisher>(*(*stack)->events, config.redis);
    (*stack)->redis->Start();
  }
  (*stack)->trimmer =
      std::make_unique<core::EventTrimmer>(*(*stack)->events, (*stack)->clock, config.trimmer);
  (*stack)->trimmer->Start();
  (*stack)->badge_follower =
      core::NewBadgeFollower(*(*stack)->events, *(*stack)->badges, core::FollowerOptions{});
  (*stack)->badge_follower->Start();
  ReportConsumers(**stack);
  server->Run();
  // Handlers still on the blocking pool finish their writes before the stores close.
  blocking.join();
  service.SetPhotoListener(nullptr);
  (*stack)->renditions->Stop();
  if ((*stack)->compactor) (*stack)->compactor->Stop();
  if ((*stack)->tiering) (*stack)->tiering->Stop();
  if ((*stack)->purger) (*stack)->purger->Stop();
  if ((*stack)->notifier) (*stack)->notifier->Stop();
  if ((*stack)->redis) (*stack)->redis->Stop();
  (*stack)->trimmer->Stop();
  (*stack)->badge_follower->Stop();
  server.reset();
  stack->reset();
  log::Info("glint stopped cleanly");
  return 0;
}

int AdminCreateUser(Config config, const std::string& email, const std::string& password) {
  auto stack = OpenStack(config);
  if (!stack.ok()) {
    std::cerr << "glint admin: " << stack.status().ToString() << "\n";
    return 1;
  }
  auto account = (*stack)->service->CreateAccount(core::Principal::Admin(), email, password);
  if (!account.ok()) {
    std::cerr << "glint admin: " << account.status().ToString() << "\n";
    return 1;
  }
  boost::json::object o{
      {"id", account->id},
      {"email", account->email},
      {"hashes", boost::json::object{{"md5", account->md5_hex}, {"sha256", account->sha256_hex}}}};
  std::cout << boost::json::serialize(o) << "\n";
  return 0;
}

int AdminEmailToken(Config config, const std::string& email) {
  auto fail = [](const Status& s) {
    std::cerr << "glint admin: " << s.ToString() << "\n";
    return 1;
  };
  auto normalized = core::NormalizeEmail(email);
  if (!normalized.ok()) return fail(normalized.status());
  const core::EmailHashes hashes = core::HashEmail(*normalized);
  auto stack = OpenStack(config);
  if (!stack.ok()) return fail(stack.status());
  core::Service& service = *(*stack)->service;
  auto owner = service.ResolveAvatar(hashes.sha256);
  if (!owner.ok()) return fail(owner.status());
  if (owner->missing == "unknown_hash")
    return fail(NotFound("no account has the address " + *normalized, "email_not_found"));
  auto sent = service.ResendVerification(core::Principal::Admin(), owner->user_id, hashes.sha256);
  if (!sent.ok()) return fail(sent.status());
  std::string verify = config.api.public_url.empty() ? "http://<glint>" : config.api.public_url;
  verify += "/v1/emails/verify?token=" + sent->token;
  boost::json::object o{{"email", sent->email.address},
                        {"token", sent->token},
                        {"expires_unix", sent->expires},
                        {"verify_url", verify}};
  std::cout << boost::json::serialize(o) << "\n";
  return 0;
}

int AdminToken(Config config) {
  if (!config.service.admin_token.empty()) {
    std::cout << config.service.admin_token << "\n";
    return 0;
  }
  if (sodium_init() < 0) return 1;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  auto token =
      ReadOrCreateSecret(config.data_dir + "/admin.token", [] { return "gla_" + RandomHex(24); });
  if (!token.ok()) {
    std::cerr << "glint admin: " << token.status().ToString() << "\n";
    return 1;
  }
  std::cout << *token << "\n";
  return 0;
}

}  // namespace glint::tools
