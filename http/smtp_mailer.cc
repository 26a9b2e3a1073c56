#include "http/smtp_mailer.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

#include "base/hex.h"
#include "base/log.h"

namespace glint::http {
namespace {

constexpr size_t kMaxAddress = 254;       // RFC 5321's path limit, less the brackets
constexpr size_t kMaxPlainSubject = 900;  // longer ones are folded as encoded-words
constexpr size_t kQpLine = 76;            // RFC 2045 §6.7 (5): encoded line length

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Status BadMail(std::string message) { return InvalidArgument(std::move(message), "invalid_mail"); }

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// A bare addr-spec, local@domain, in printable ASCII without the characters that would let it
// escape an SMTP path or a header (RFC 5321 §4.1.2, simplified: no quoted local parts).
bool ValidAddrSpec(std::string_view a) {
  if (a.empty() || a.size() > kMaxAddress) return false;
  size_t at = a.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == a.size()) return false;
  if (a.find('@', at + 1) != std::string_view::npos) return false;
  return std::all_of(a.begin(), a.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && !std::strchr("<>()[],;:\\\"", c);
  });
}

struct Address {
  std::string display;  // the header's rendering: `addr` or `"Name" <addr>`
  std::string addr;     // the addr-spec alone, for the SMTP envelope
  std::string_view domain() const { return std::string_view(addr).substr(addr.find('@') + 1); }
};

// Parses `addr` or `Name <addr>` (`allow_name`); `what` names the field in errors.
Result<Address> ParseAddress(std::string_view s, bool allow_name, std::string_view what) {
  if (HasControl(s)) {
    return BadMail(std::string(what) + " holds a line break or control character");
  }
  Address out;
  std::string_view name;
  std::string_view addr = s;
  if (allow_name && !s.empty() && s.back() == '>') {
    size_t lt = s.rfind('<');
    if (lt == std::string_view::npos) return BadMail(std::string(what) + " is not an address");
    name = s.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    addr = s.substr(lt + 1, s.size() - lt - 2);
  }
  if (!ValidAddrSpec(addr)) {
    return BadMail(std::string(what) + " \"" + std::string(addr) + "\" is not a valid address");
  }
  out.addr = std::string(addr);
  if (name.empty()) {
    out.display = out.addr;
    return out;
  }
  // The display name as an RFC 5322 quoted-string.
  out.display = "\"";
  for (char c : name) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return BadMail(std::string(what) + " display name must be ASCII");
    }
    if (c == '"' || c == '\\') out.display += '\\';
    out.display += c;
  }
  out.display += "\" <" + out.addr + ">";
  return out;
}

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16 |
                 static_cast<unsigned char>(in[i + 1]) << 8 | static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The Subject header's value: as is when short printable ASCII, else RFC 2047 "B"
// encoded-words of at most 45 bytes (75 characters) each, never splitting a UTF-8 sequence,
// folded onto continuation lines.
std::string EncodeSubject(std::string_view subject) {
  bool plain = subject.size() <= kMaxPlainSubject &&
               std::all_of(subject.begin(), subject.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (plain) return std::string(subject);
  std::string out;
  size_t i = 0;
  while (i < subject.size()) {
    size_t n = std::min<size_t>(45, subject.size() - i);
    // Back off to the start of a UTF-8 sequence (a continuation byte is 10xxxxxx).
    while (n > 1 && i + n < subject.size() &&
           (static_cast<unsigned char>(subject[i + n]) & 0xC0) == 0x80) {
      --n;
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(subject.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: "\r\n", "\n" and a lone "\r" become CRLF
// line breaks; '=', control and 8-bit bytes, whitespace at a line's end and a '.' starting a
// line are encoded; lines are soft-broken at 76 characters. Always ends with CRLF.
std::string QuotedPrintable(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8 + 2);
  size_t col = 0;
  bool line_open = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      col = 0;
      line_open = false;
      continue;
    }
    auto u = static_cast<unsigned char>(c);
    bool at_line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    bool literal = (u >= 33 && u <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    size_t width = literal ? 1 : 3;
    if (col + width > kQpLine - 1) {  // leave room for the soft break's '='
      out += "=\r\n";
      col = 0;
    }
    if (c == '.' && col == 0) {  // a relay may take a lone "." line for the end of the data
      literal = false;
      width = 3;
    }
    if (literal) {
      out += c;
    } else {
      out += '=';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
    col += width;
    line_open = true;
  }
  if (line_open) out += "\r\n";
  return out;
}

std::string RfcDate(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string NewMessageId(std::string_view domain) {
  std::random_device rd;
  std::string bytes;
  for (int i = 0; i < 4; ++i) {
    uint32_t v = rd();
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return "<" + HexEncode(bytes) + "@" + std::string(domain) + ">";
}

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t OnRead(char* buffer, size_t size, size_t nitems, void* user) {
  auto* up = static_cast<Upload*>(user);
  size_t n = std::min(size * nitems, up->data.size() - up->offset);
  std::memcpy(buffer, up->data.data() + up->offset, n);
  up->offset += n;
  return n;
}

}  // namespace

Result<std::string> FormatMessage(const core::Mail& mail, std::string_view from,
                                  int64_t unix_seconds, std::string_view message_id) {
  GLINT_ASSIGN_OR_RETURN(Address sender, ParseAddress(from, /*allow_name=*/true, "sender"));
  GLINT_ASSIGN_OR_RETURN(Address to, ParseAddress(mail.to, /*allow_name=*/false, "recipient"));
  if (HasControl(mail.subject)) return BadMail("subject holds a line break or control character");
  if (HasControl(message_id)) return BadMail("message id holds a control character");

  std::string out;
  out.reserve(mail.text.size() + mail.text.size() / 8 + 512);
  out += "Date: " + RfcDate(unix_seconds) + "\r\n";
  out += "From: " + sender.display + "\r\n";
  out += "To: " + to.display + "\r\n";
  out += "Subject: " + EncodeSubject(mail.subject) + "\r\n";
  out += "Message-ID: " + std::string(message_id) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n";
  out += "\r\n";
  out += QuotedPrintable(mail.text);
  return out;
}

SmtpMailer::SmtpMailer(SmtpOptions options) : options_(std::move(options)) {}

Status SmtpMailer::CheckOptions(const SmtpOptions& options) {
  std::string_view url = options.url;
  if (!url.starts_with("smtp://") && !url.starts_with("smtps://")) {
    return InvalidArgument("SMTP URL must start with smtp:// or smtps://", "invalid_smtp_config");
  }
  if (HasControl(url)) {
    return InvalidArgument("SMTP URL holds a control character", "invalid_smtp_config");
  }
  Result<Address> from = ParseAddress(options.from, /*allow_name=*/true, "sender");
  if (!from.ok()) return InvalidArgument(from.status().message(), "invalid_smtp_config");
  if (options.timeout.count() <= 0) {
    return InvalidArgument("SMTP timeout must be positive", "invalid_smtp_config");
  }
  return Status::Ok();
}

Status SmtpMailer::Send(const core::Mail& mail) {
  GLINT_RETURN_IF_ERROR(CheckOptions(options_));
  GLINT_ASSIGN_OR_RETURN(Address sender, ParseAddress(options_.from, true, "sender"));
  GLINT_ASSIGN_OR_RETURN(Address to, ParseAddress(mail.to, false, "recipient"));
  GLINT_ASSIGN_OR_RETURN(std::string message, FormatMessage(mail, options_.from, std::time(nullptr),
                                                            NewMessageId(sender.domain())));

  InitCurlOnce();
  CURL* e = curl_easy_init();
  if (!e) return Internal("curl_easy_init failed", "smtp_unexpected");
  char error[CURL_ERROR_SIZE] = {};
  std::string mail_from = "<" + sender.addr + ">";
  curl_slist* rcpt = curl_slist_append(nullptr, ("<" + to.addr + ">").c_str());
  Upload upload{message};
  const long timeout_ms = static_cast<long>(options_.timeout.count());

  curl_easy_setopt(e, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(
      e, CURLOPT_USE_SSL,
      options_.starttls ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_TRY));
  if (!options_.username.empty()) {
    curl_easy_setopt(e, CURLOPT_USERNAME, options_.username.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, options_.password.c_str());
  }
  curl_easy_setopt(e, CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(e, CURLOPT_READFUNCTION, OnRead);
  curl_easy_setopt(e, CURLOPT_READDATA, &upload);

  CURLcode rc = curl_easy_perform(e);
  long reply = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(e);
  if (rc == CURLE_OK) return Status::Ok();

  std::string msg = "SMTP send to " + to.addr + " failed: ";
  msg += error[0] ? error : curl_easy_strerror(rc);
  if (reply >= 400) msg += " (SMTP reply " + std::to_string(reply) + ")";
  Status s = (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
                 ? InvalidArgument(msg, "invalid_smtp_config")
                 : Unavailable(msg, "smtp_unavailable");
  log::Warn(s.ToString());
  return s;
}

}  // namespace glint::http
