#include "base/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace glint::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO ";
    case Level::kWarn:
      return "WARN ";
    case Level::kError:
      return "ERROR";
  }
  return "?    ";
}

}  // namespace

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool ParseLevel(std::string_view name, Level* out) {
  if (name == "debug")
    *out = Level::kDebug;
  else if (name == "info")
    *out = Level::kInfo;
  else if (name == "warn")
    *out = Level::kWarn;
  else if (name == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

void Write(Level level, std::string_view request_id, std::string_view message) {
  if (!Enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string line(stamp, n);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ ", static_cast<int>(millis.count()));
  line += frac;
  line += LevelName(level);
  line += ' ';
  if (!request_id.empty()) {
    line += "req=";
    line += request_id;
    line += ' ';
  }
  // Control bytes are escaped: a decoded URL path must not be able to forge a log line.
  for (char c : message) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", u);
      line += esc;
    } else {
      line += c;
    }
  }
  line += '\n';
  // One write(2) per line: atomic for pipes up to PIPE_BUF and effectively so for files.
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace glint::log
