// Minimal structured logging to stderr: one line per call, written with a single write(2)
// so lines from different threads never interleave.
//
//   2026-11-21T20:40:00.123Z INFO  req=1a2b-7 GET /avatar/... 200 3812B 0.21ms
//
// Control characters in a message are written as \xNN, so one call is always one line.
// Safe from any thread. Request-scoped lines pass the request id explicitly (coroutines
// move between requests on one thread, so a thread-local id would lie).
#pragma once

#include <string_view>

namespace glint::log {

enum class Level : unsigned char { kDebug = 0, kInfo, kWarn, kError };

void SetLevel(Level level);
bool Enabled(Level level);
// Parses "debug", "info", "warn", "error"; false when unknown.
bool ParseLevel(std::string_view name, Level* out);

void Write(Level level, std::string_view request_id, std::string_view message);

inline void Debug(std::string_view m) { Write(Level::kDebug, {}, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, {}, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, {}, m); }
inline void Error(std::string_view m) { Write(Level::kError, {}, m); }

}  // namespace glint::log
