#include "core/mailer.h"

#include "base/log.h"

namespace glint::core {

Status LogMailer::Send(const Mail& mail) {
  std::string line = "mail (not sent, no SMTP server configured) to=";
  line += mail.to;
  line += " subject=\"";
  line += mail.subject;
  line += "\" body=\"";
  line += mail.text;
  line += "\"";
  log::Info(line);
  return Status::Ok();
}

}  // namespace glint::core
