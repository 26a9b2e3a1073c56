#include "http/smtp_mailer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <regex>
#include <string>

#include "tests/testutil/smtp_sink.h"

namespace glint::http {
namespace {

namespace json = boost::json;
using testutil::SmtpSink;

SmtpOptions OptionsFor(const SmtpSink& sink) {
  SmtpOptions o;
  o.url = sink.url();
  o.from = "glint <noreply@glint.test>";
  o.starttls = false;  // smtpd offers no STARTTLS: a loopback relay in clear text
  o.timeout = std::chrono::seconds(10);
  return o;
}

json::object Record(const std::string& text) { return json::parse(text).as_object(); }
std::string Str(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

// A loopback TCP socket bound to a free port; listening (connections complete but nothing is
// ever said) or not (connections are refused).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listen) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (listen) {
      EXPECT_EQ(::listen(fd_, 8), 0);
    }
  }
  ~LoopbackPort() { ::close(fd_); }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(SmtpMailerTest, DeliversHeadersBodyAndEnvelopeToARealServer) {
  SmtpSink sink;
  SmtpMailer mailer(OptionsFor(sink));
  const std::string long_line(200, 'x');
  const std::string text = "Hello Alice,\n\nYour café link: https://glint.test/r?t=a=b&c=d\n" +
                           long_line + "\n.\n..dots start this line\ntrailing space \r\nend";
  core::Mail mail{.to = "alice@example.com", .subject = "Welcome to glint ✓", .text = text};
  Status s = mailer.Send(mail);
  ASSERT_TRUE(s.ok()) << s.ToString() << "\n" << sink.log();

  std::vector<std::string> messages = sink.Messages();
  ASSERT_EQ(messages.size(), 1u);
  json::object m = Record(messages[0]);
  // Envelope.
  EXPECT_EQ(Str(m, "mail_from"), "noreply@glint.test");
  ASSERT_EQ(m.at("rcpt_tos").as_array().size(), 1u);
  EXPECT_EQ(m.at("rcpt_tos").as_array()[0].as_string(), "alice@example.com");
  // Headers, as Python's email parser reads them.
  EXPECT_EQ(Str(m, "subject"), "Welcome to glint ✓");
  EXPECT_EQ(Str(m, "from"), "glint <noreply@glint.test>");
  EXPECT_EQ(Str(m, "to"), "alice@example.com");
  EXPECT_EQ(Str(m, "mime_version"), "1.0");
  EXPECT_EQ(Str(m, "content_type"), "text/plain");
  EXPECT_EQ(Str(m, "charset"), "utf-8");
  EXPECT_EQ(Str(m, "transfer_encoding"), "quoted-printable");
  EXPECT_TRUE(std::regex_match(Str(m, "message_id"), std::regex("<[0-9a-f]{32}@glint\\.test>")))
      << Str(m, "message_id");
  EXPECT_TRUE(std::regex_match(
      Str(m, "date"),
      std::regex("(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d\\d [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d "
                 "\\+0000")))
      << Str(m, "date");
  EXPECT_TRUE(m.at("defects").as_array().empty()) << messages[0];
  // Body: decoded back to the text, line breaks normalised (smtpd keeps the last one as part
  // of the end-of-data marker).
  std::string expected = "Hello Alice,\n\nYour café link: https://glint.test/r?t=a=b&c=d\n" +
                         long_line + "\n.\n..dots start this line\ntrailing space \nend";
  EXPECT_EQ(Str(m, "body"), expected);
  // On the wire: 7-bit, no line longer than 76 characters, no line that is a lone ".".
  std::string raw = Str(m, "raw");
  EXPECT_EQ(raw.find("\\x"), std::string::npos) << raw;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\n', start);
    if (end == std::string::npos) end = raw.size();
    std::string_view line(raw.data() + start, end - start);
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_NE(line, ".");
    start = end + 1;
  }
}

TEST(SmtpMailerTest, LineBreaksInHeadersAreRefusedAndNothingIsSent) {
  SmtpSink sink;
  SmtpMailer mailer(OptionsFor(sink));
  const core::Mail kBad[] = {
      {.to = "alice@example.com", .subject = "Hi\r\nBcc: victim@example.com", .text = "x"},
      {.to = "alice@example.com", .subject = "Hi\nBcc: victim@example.com", .text = "x"},
      {.to = "alice@example.com\r\nBcc: victim@example.com", .subject = "Hi", .text = "x"},
      {.to = "alice@example.com>\r\nRCPT TO:<victim@example.com", .subject = "Hi", .text = "x"},
      {.to = "Alice <alice@example.com>", .subject = "Hi", .text = "x"},  // one bare address
      {.to = "alice@example.com, victim@example.com", .subject = "Hi", .text = "x"},
      {.to = "", .subject = "Hi", .text = "x"},
      {.to = "not-an-address", .subject = "Hi", .text = "x"},
  };
  for (const core::Mail& mail : kBad) {
    Status s = mailer.Send(mail);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << mail.to << " / " << mail.subject;
    EXPECT_EQ(s.reason(), "invalid_mail") << mail.to << " / " << mail.subject;
  }
  SmtpOptions bad_from = OptionsFor(sink);
  bad_from.from = "noreply@glint.test\r\nBcc: victim@example.com";
  Status s = SmtpMailer(bad_from).Send({.to = "alice@example.com", .subject = "Hi", .text = "x"});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.reason(), "invalid_smtp_config");
  EXPECT_TRUE(sink.Messages().empty());
}

TEST(SmtpMailerTest, ConnectionRefusedIsUnavailable) {
  SmtpOptions o;
  {
    LoopbackPort closed(/*listen=*/false);  // bound, not listening: connections are refused
    o.url = closed.url();
    o.from = "noreply@glint.test";
    o.starttls = false;
    Status s = SmtpMailer(o).Send({.to = "alice@example.com", .subject = "Hi", .text = "x"});
    EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
    EXPECT_EQ(s.reason(), "smtp_unavailable");
    EXPECT_NE(s.message().find("onnect"), std::string::npos) << s.message();  // curl's error
  }
}

TEST(SmtpMailerTest, AServerThatNeverAnswersTimesOut) {
  LoopbackPort silent(/*listen=*/true);
  SmtpOptions o;
  o.url = silent.url();
  o.from = "noreply@glint.test";
  o.starttls = false;
  o.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  Status s = SmtpMailer(o).Send({.to = "alice@example.com", .subject = "Hi", .text = "x"});
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SmtpMailerTest, ARefusedMessageIsUnavailableWithTheReplyCode) {
  SmtpSink sink;
  Status s = SmtpMailer(OptionsFor(sink))
                 .Send({.to = "reject-me@example.com", .subject = "Hi", .text = "x"});
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("554"), std::string::npos) << s.message();
  EXPECT_TRUE(sink.Messages().empty());
}

TEST(SmtpMailerTest, RequiredStarttlsFailsAgainstAServerWithoutIt) {
  SmtpSink sink;
  SmtpOptions o = OptionsFor(sink);
  o.starttls = true;  // the default: never fall back to clear text
  Status s = SmtpMailer(o).Send({.to = "alice@example.com", .subject = "Hi", .text = "x"});
  EXPECT_EQ(s.code(), Code::kUnavailable) << s.ToString();
  EXPECT_TRUE(sink.Messages().empty());
}

TEST(SmtpMailerTest, CheckOptionsWantsAnSmtpUrlAndASender) {
  SmtpOptions o;
  o.url = "smtp://127.0.0.1:25";
  o.from = "noreply@glint.test";
  EXPECT_TRUE(SmtpMailer::CheckOptions(o).ok());
  o.url = "smtps://mail.example.com:465";
  EXPECT_TRUE(SmtpMailer::CheckOptions(o).ok());
  o.url = "http://mail.example.com";
  EXPECT_EQ(SmtpMailer::CheckOptions(o).reason(), "invalid_smtp_config");
  o.url = "smtp://127.0.0.1:25";
  o.from = "";
  EXPECT_EQ(SmtpMailer::CheckOptions(o).reason(), "invalid_smtp_config");
  o.from = "glint \"bot\" <noreply@glint.test>";
  EXPECT_TRUE(SmtpMailer::CheckOptions(o).ok());
}

TEST(FormatMessageTest, HeadersInOrderAndQuotedPrintableBody) {
  Result<std::string> m =
      FormatMessage({.to = "bob@example.com", .subject = "Hi", .text = "a=b\n\xc3\xa9t\xc3\xa9 \n"},
                    "noreply@glint.test", 0, "<id@glint.test>");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(*m,
            "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"
            "From: noreply@glint.test\r\n"
            "To: bob@example.com\r\n"
            "Subject: Hi\r\n"
            "Message-ID: <id@glint.test>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "a=3Db\r\n"
            "=C3=A9t=C3=A9=20\r\n");
}

TEST(FormatMessageTest, LongLinesGetSoftBreaksAndDotsAtALineStartAreEncoded) {
  std::string text(100, 'y');
  text += "\n.";
  Result<std::string> m = FormatMessage({.to = "bob@example.com", .subject = "s", .text = text},
                                        "a@glint.test", 0, "<id@glint.test>");
  ASSERT_TRUE(m.ok());
  std::string body = m->substr(m->find("\r\n\r\n") + 4);
  EXPECT_EQ(body, std::string(75, 'y') + "=\r\n" + std::string(25, 'y') + "\r\n=2E\r\n");
}

TEST(FormatMessageTest, NonAsciiSubjectsBecomeFoldedEncodedWords) {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "\xc3\xa9";  // 60 bytes of "é"
  Result<std::string> m = FormatMessage({.to = "bob@example.com", .subject = subject, .text = ""},
                                        "a@glint.test", 0, "<id@glint.test>");
  ASSERT_TRUE(m.ok());
  // 44 bytes (22 whole characters; 45 would split one) then the remaining 16.
  EXPECT_NE(m->find("Subject: =?UTF-8?B?"), std::string::npos) << *m;
  EXPECT_NE(m->find("?=\r\n =?UTF-8?B?"), std::string::npos) << *m;
}

}  // namespace
}  // namespace glint::http
