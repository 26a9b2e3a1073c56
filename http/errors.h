// The one table from glint's Status codes to HTTP, and the response builders every handler
// uses. Errors always have the body {"error": {"code": "...", "message": "..."}}.
// Pure functions; any thread.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

#include "base/status.h"

namespace glint::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

bhttp::status HttpStatusFor(Code code);

// An error response for `status` (never for an OK Status). 5xx responses carry a generic
// message: internal details go to the log, not to the client.
Response ErrorResponse(const Status& status);
// A specific error that has no Status behind it (routing, parsing).
Response ErrorResponse(bhttp::status http_status, std::string_view code, std::string_view message);

// A JSON response (Content-Type: application/json).
Response JsonResponse(bhttp::status http_status, const boost::json::value& body);

}  // namespace glint::http
