// glint's one error vocabulary.
//
// core/, storage/ and codec/ return Status or Result<T>; nothing throws across a layer.
// Foreign errors (errno, RocksDB, OpenSSL, codec libraries) are mapped to a Status where
// they are first seen, and logged there once. http/ maps Code to an HTTP status in one
// table (http/errors.cc).
//
// A Status carries:
//   code    - the category; decides the HTTP status and whether a caller may retry.
//   reason  - a short machine-readable identifier shown to API clients as error.code
//             ("email_taken", "bad_signature"); empty means "use the category's name".
//   message - one human sentence, safe to show to the client that caused it.
//
// Status and Result are plain values: copy or move them freely between threads.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace glint {

enum class Code : unsigned char {
  kOk = 0,
  kInvalidArgument,   // malformed or out-of-range input (400)
  kUnauthenticated,   // no or bad credentials (401)
  kPermissionDenied,  // authenticated, but not allowed (403)
  kNotFound,          // unknown thing (404)
  kAlreadyExists,     // uniqueness violated (409)
  kConflict,          // state does not allow the change (409)
  kTooLarge,          // size limit exceeded (413)
  kUnsupportedMedia,  // not an accepted image (415)
  kUnavailable,       // temporarily cannot serve; retry later (503)
  kCorruption,        // stored bytes failed verification (500, never served)
  kIoError,           // the disk or OS failed (500)
  kInternal,          // a bug or an impossible state (500)
};

// Stable lower_snake name of a code ("not_found"), used as the default API error code.
std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message, std::string reason = {})
      : code_(code), message_(std::move(message)), reason_(std::move(reason)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // The API error code: the specific reason when set, else the category name.
  std::string_view reason() const { return reason_.empty() ? CodeName(code_) : reason_; }

  // "not_found: user 42 has no photo 7", for logs.
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string reason_;
};

inline Status InvalidArgument(std::string msg, std::string reason = {}) {
  return {Code::kInvalidArgument, std::move(msg), std::move(reason)};
}
inline Status Unauthenticated(std::string msg, std::string reason = {}) {
  return {Code::kUnauthenticated, std::move(msg), std::move(reason)};
}
inline Status PermissionDenied(std::string msg, std::string reason = {}) {
  return {Code::kPermissionDenied, std::move(msg), std::move(reason)};
}
inline Status NotFound(std::string msg, std::string reason = {}) {
  return {Code::kNotFound, std::move(msg), std::move(reason)};
}
inline Status AlreadyExists(std::string msg, std::string reason = {}) {
  return {Code::kAlreadyExists, std::move(msg), std::move(reason)};
}
inline Status Conflict(std::string msg, std::string reason = {}) {
  return {Code::kConflict, std::move(msg), std::move(reason)};
}
inline Status TooLarge(std::string msg, std::string reason = {}) {
  return {Code::kTooLarge, std::move(msg), std::move(reason)};
}
inline Status UnsupportedMedia(std::string msg, std::string reason = {}) {
  return {Code::kUnsupportedMedia, std::move(msg), std::move(reason)};
}
inline Status Unavailable(std::string msg, std::string reason = {}) {
  return {Code::kUnavailable, std::move(msg), std::move(reason)};
}
inline Status Corruption(std::string msg, std::string reason = {}) {
  return {Code::kCorruption, std::move(msg), std::move(reason)};
}
inline Status IoError(std::string msg, std::string reason = {}) {
  return {Code::kIoError, std::move(msg), std::move(reason)};
}
inline Status Internal(std::string msg, std::string reason = {}) {
  return {Code::kInternal, std::move(msg), std::move(reason)};
}

// Maps an errno value to a Status (ENOENT -> kNotFound, ENOSPC/EIO/... -> kIoError).
// `context` names the operation and the path: "open var/blobs/seg-000001.log".
Status ErrnoStatus(std::string_view context, int err);

// A value or an error. A Result holding an OK Status is a bug (asserted).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // The error; an OK Status when the Result holds a value.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace glint

// Early-return helpers. GLINT_ASSIGN_OR_RETURN(auto x, Foo()) declares x.
#define GLINT_CONCAT_INNER_(a, b) a##b
#define GLINT_CONCAT_(a, b) GLINT_CONCAT_INNER_(a, b)

#define GLINT_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::glint::Status glint_status_ = (expr);        \
    if (!glint_status_.ok()) return glint_status_; \
  } while (0)

#define GLINT_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  decl = std::move(tmp).value()

#define GLINT_ASSIGN_OR_RETURN(decl, expr) \
  GLINT_ASSIGN_OR_RETURN_IMPL_(GLINT_CONCAT_(glint_result_, __LINE__), decl, expr)
