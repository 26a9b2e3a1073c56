// Outgoing mail (password resets, sign-up confirmation): what core/ asks for, not how it is
// delivered. http/smtp_mailer.h sends through an SMTP server; LogMailer, for self-hosters
// without one, writes each mail to glint's log so an operator can pass the link on by hand.
#pragma once

#include <string>

#include "base/status.h"

namespace glint::core {

struct Mail {
  std::string to;       // one address: "alice@example.com"
  std::string subject;  // UTF-8, one line
  std::string text;     // UTF-8 plain text; "\n" or "\r\n" line breaks
};

// A way to deliver a Mail. Implementations are safe to call from several threads at once;
// Send may block (network), so it is called from a background or blocking thread, never an
// event loop.
class Mailer {
 public:
  virtual ~Mailer() = default;
  // OK once the mail was handed on (accepted by the relay, or logged). Errors:
  // kInvalidArgument when the mail cannot be sent as given (a bad address, a line break in
  // the subject), kUnavailable when delivery failed and may work later.
  virtual Status Send(const Mail& mail) = 0;
};

// Writes the recipient, subject and body to glint's log (base/log.h) at INFO, as one line
// (line breaks in the body are shown as \x0a by the log). Always OK. Stateless: any thread.
class LogMailer final : public Mailer {
 public:
  Status Send(const Mail& mail) override;
};

}  // namespace glint::core
