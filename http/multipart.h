// multipart/form-data request bodies (RFC 7578): the parts of an HTML form or `curl -F`
// upload, parsed with GMime (a maintained MIME parser) rather than by hand.
//
// Every part must be a leaf with `Content-Disposition: form-data; name="..."`; nested
// multipart (RFC 2388's multipart/mixed for several files) and message/* parts are refused.
// A part's data is its raw bytes (binary-safe: NUL bytes, CRLF and "--" runs inside are data),
// decoded only if the sender used a Content-Transfer-Encoding (RFC 7578 deprecates it).
//
// Limits: at most `max_parts` parts, counted on the raw body before GMime builds anything, so
// a body of a million tiny parts costs one scan and no allocations. The body's total size is
// the HTTP session's limit.
//
// Pure function over borrowed bytes; any thread (GMime is initialised once, on first use).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace glint::http {

struct FormPart {
  std::string name;          // the Content-Disposition name, non-empty
  std::string filename;      // its filename parameter as sent (may hold a path), or empty
  std::string content_type;  // "type/subtype", lower case; "text/plain" when absent (§4.4)
  std::string data;          // the part's bytes
};

struct FormLimits {
  size_t max_parts = 16;
};

// Parses `body`, sent with the request header `Content-Type: <content_type>`, which must be
// multipart/form-data with a boundary parameter. Returns the parts in body order; the caller
// owns them. Errors, all kInvalidArgument with reason "invalid_multipart" and a message saying
// which: not multipart/form-data; no or an invalid boundary; a malformed body (no opening
// boundary, truncated before the closing one, a part without headers); a part that is not a
// leaf or lacks `Content-Disposition: form-data; name=...`; more than `limits.max_parts`
// parts.
Result<std::vector<FormPart>> ParseMultipartForm(std::string_view content_type,
                                                 std::string_view body, const FormLimits& limits);

}  // namespace glint::http
