#include "http/errors.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>

namespace glint::http {

bhttp::status HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return bhttp::status::ok;
    case Code::kInvalidArgument:
      return bhttp::status::bad_request;
    case Code::kUnauthenticated:
      return bhttp::status::unauthorized;
    case Code::kPermissionDenied:
      return bhttp::status::forbidden;
    case Code::kNotFound:
      return bhttp::status::not_found;
    case Code::kAlreadyExists:
    case Code::kConflict:
      return bhttp::status::conflict;
    case Code::kTooLarge:
      return bhttp::status::payload_too_large;
    case Code::kUnsupportedMedia:
      return bhttp::status::unsupported_media_type;
    case Code::kUnavailable:
      return bhttp::status::service_unavailable;
    case Code::kCorruption:
    case Code::kIoError:
    case Code::kInternal:
      return bhttp::status::internal_server_error;
  }
  return bhttp::status::internal_server_error;
}

Response ErrorResponse(bhttp::status http_status, std::string_view code, std::string_view message) {
  boost::json::object inner;
  inner["code"] = code;
  inner["message"] = message;
  boost::json::object body;
  body["error"] = std::move(inner);
  Response res = JsonResponse(http_status, body);
  if (http_status == bhttp::status::unauthorized)
    res.set(bhttp::field::www_authenticate, "Bearer realm=\"glint\"");
  if (http_status == bhttp::status::service_unavailable) res.set(bhttp::field::retry_after, "1");
  return res;
}

Response ErrorResponse(const Status& status) {
  bhttp::status http_status = HttpStatusFor(status.code());
  if (static_cast<unsigned>(http_status) >= 500 &&
      http_status != bhttp::status::service_unavailable)
    return ErrorResponse(http_status, "internal",
                         "the server failed; the request id is in its log");
  return ErrorResponse(http_status, status.reason(), status.message());
}

Response JsonResponse(bhttp::status http_status, const boost::json::value& body) {
  Response res{http_status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  res.body() = boost::json::serialize(body);
  res.prepare_payload();
  return res;
}

}  // namespace glint::http
