// `glint convert IN OUT [QUERY]`: one transform of a local image, offline, rendered exactly as
// the server renders it for the URL query QUERY (`w=640&fm=webp&q=75`, the language of
// core/transform.h), so a user can preview a variant before linking to it.
//
// Everything runs on the calling thread (one thread, like one render on the server's pool).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace glint::tools {

// The largest source ConvertFile reads (it holds the whole file in memory).
constexpr uint64_t kMaxConvertSourceBytes = 1ull << 30;

// Renders `source` for `query`, the part of a URL after '?' (a leading '?' is allowed;
// percent-escapes and '+' are decoded as in a URL). The server's default limits apply
// (output at most 4096 x 4096, sources up to 100 megapixels). With no Accept header to
// consult, fm=auto means the source's format, as does no fm at all; the output format
// never depends on a file name. A query that asks for nothing (empty) returns the source's
// bytes unchanged once its header has been checked, as the server serves the original.
//
// Errors: kInvalidArgument when `query` is not a URL query or a parameter is unknown or out
// of range (the message names it); otherwise those of codec::ReadHeader and codec::Render
// (not an image, corrupt, too large).
Result<std::string> ConvertImage(std::span<const char> source, std::string_view query);

// The subcommand: reads `in` ("-" = standard input), renders it with ConvertImage and writes
// `out` ("-" = standard output). Returns the exit code: 0 on success; 1 on any failure, after
// printing "glint convert: <message>" to standard error and removing a partly written `out`.
int ConvertFile(const std::string& in, const std::string& out, const std::string& query);

}  // namespace glint::tools
