// Sends core::Mail through an SMTP server (a relay such as Postfix on the host, or a mail
// provider's submission port) with libcurl's SMTP client.
//
// Each mail is one RFC 5322 message: Date, From, To, Subject (RFC 2047 encoded-words when it
// is not plain ASCII or is very long), Message-ID, MIME-Version, a text/plain; charset=utf-8
// body in quoted-printable (so any UTF-8 text, long lines and lines starting with "." travel
// through 7-bit relays unchanged).
//
// Transport security:
//   smtps://host:465  TLS from the first byte (implicit TLS); `starttls` is not consulted.
//   smtp://host:587   starttls = true: STARTTLS is required (CURLUSESSL_ALL); a server that
//                     does not offer it fails the send (kUnavailable) rather than receiving
//                     the password and mail in clear text.
//                     starttls = false: STARTTLS is used when the server offers it, else the
//                     session stays in clear text (CURLUSESSL_TRY); only for a relay on the
//                     loopback interface or a trusted network.
// Server certificates are verified against the system's CA store.
//
// Thread-safety: Send may be called from several threads at once (one connection per call).
// Send blocks for up to `timeout`: call it from a background or blocking thread, never an
// event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "core/mailer.h"

namespace glint::http {

struct SmtpOptions {
  std::string url;       // smtp://host:port or smtps://host:port
  std::string from;      // "noreply@example.com" or "glint <noreply@example.com>" (ASCII name)
  std::string username;  // empty: no SMTP AUTH
  std::string password;
  bool starttls = true;  // for smtp:// URLs: require STARTTLS (true) or use it when offered
  std::chrono::milliseconds timeout{10000};  // connecting and the whole SMTP session, each
};

class SmtpMailer final : public core::Mailer {
 public:
  // The options are not checked here; CheckOptions says whether Send can work with them.
  explicit SmtpMailer(SmtpOptions options);

  // OK when `options` name an smtp:// or smtps:// URL and a valid sender; else
  // kInvalidArgument "invalid_smtp_config" (for refusing a bad configuration at start-up).
  static Status CheckOptions(const SmtpOptions& options);

  // Sends `mail` to its one recipient. Errors: kInvalidArgument "invalid_mail" for a bad
  // recipient address or a subject or address holding CR, LF or another control character
  // (header injection), "invalid_smtp_config" when CheckOptions fails; kUnavailable
  // "smtp_unavailable" when the server cannot be reached, the session times out, TLS cannot
  // be set up, or the server answers with a 4xx/5xx reply (the message carries libcurl's
  // error and the SMTP reply code). Failures are logged here (WARN), once.
  Status Send(const core::Mail& mail) override;

 private:
  SmtpOptions options_;
};

// The message Send transmits for `mail` from `from` at `unix_seconds` with `message_id`
// ("<id@domain>"), CRLF line endings. Pure; exposed so its format is testable on its own.
// Errors: kInvalidArgument "invalid_mail" as Send's.
Result<std::string> FormatMessage(const core::Mail& mail, std::string_view from,
                                  int64_t unix_seconds, std::string_view message_id);

}  // namespace glint::http
