#include "http/multipart.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace glint::http {
namespace {

constexpr std::string_view kBoundary = "------------------------d74496d66958873e";
const std::string kContentType = "multipart/form-data; boundary=" + std::string(kBoundary);

struct Field {
  std::string name;
  std::string data;
  std::string filename;      // empty: a plain field (-F name=value)
  std::string content_type;  // empty: no Content-Type line
};

// -F name=value
Field Text(std::string name, std::string data) {
  return {std::move(name), std::move(data), {}, {}};
}
// -F name=@file;type=...
Field File(std::string name, std::string data, std::string filename, std::string type = {}) {
  return {std::move(name), std::move(data), std::move(filename), std::move(type)};
}

// A body as `curl -F` writes it.
std::string Body(const std::vector<Field>& fields, std::string_view boundary = kBoundary) {
  std::string out;
  for (const Field& f : fields) {
    out += "--";
    out += boundary;
    out += "\r\nContent-Disposition: form-data; name=\"" + f.name + "\"";
    if (!f.filename.empty()) out += "; filename=\"" + f.filename + "\"";
    out += "\r\n";
    if (!f.content_type.empty()) out += "Content-Type: " + f.content_type + "\r\n";
    out += "\r\n";
    out += f.data;
    out += "\r\n";
  }
  out += "--";
  out += boundary;
  out += "--\r\n";
  return out;
}

Result<std::vector<FormPart>> Parse(std::string_view body, std::string_view type = kContentType,
                                    size_t max_parts = 16) {
  return ParseMultipartForm(type, body, FormLimits{.max_parts = max_parts});
}

void ExpectInvalid(const Result<std::vector<FormPart>>& r, std::string_view message_part) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().reason(), "invalid_multipart");
  EXPECT_NE(r.status().message().find(message_part), std::string::npos) << r.status().message();
}

std::string PseudoRandomBytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  for (char& c : out) {
    seed = seed * 1664525u + 1013904223u;
    c = static_cast<char>(seed >> 24);
  }
  return out;
}

TEST(MultipartTest, ACurlTextField) {
  auto r = Parse(Body({Text("rating", "pg")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "rating");
  EXPECT_EQ((*r)[0].filename, "");
  EXPECT_EQ((*r)[0].content_type, "text/plain");  // RFC 7578 §4.4 default
  EXPECT_EQ((*r)[0].data, "pg");
}

TEST(MultipartTest, SeveralPartsWithAFileInBodyOrder) {
  const std::string png = "\x89PNG\r\n\x1a\n" + std::string(100, '\0');
  auto r =
      Parse(Body({Text("title", "Me at the beach"), File("file", png, "avatar.png", "image/png"),
                  Text("empty", ""),
                  File("note", "caf\xc3\xa9", "caf\xc3\xa9.txt", "Text/Plain; charset=utf-8")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].name, "title");
  EXPECT_EQ((*r)[0].data, "Me at the beach");
  EXPECT_EQ((*r)[1].name, "file");
  EXPECT_EQ((*r)[1].filename, "avatar.png");
  EXPECT_EQ((*r)[1].content_type, "image/png");
  EXPECT_EQ((*r)[1].data, png);
  EXPECT_EQ((*r)[2].name, "empty");
  EXPECT_EQ((*r)[2].data, "");
  EXPECT_EQ((*r)[3].filename, "caf\xc3\xa9.txt");  // browsers send UTF-8 filenames raw
  EXPECT_EQ((*r)[3].content_type, "text/plain");
  EXPECT_EQ((*r)[3].data, "caf\xc3\xa9");
}

TEST(MultipartTest, BinaryDataWithCrlfAndDashesIsKeptExactly) {
  std::string tricky = std::string("\0\r\n--\r\n", 7);
  tricky += "--";
  tricky += kBoundary;
  tricky += "x\r\n";  // the boundary followed by more characters is data
  tricky += "a--";
  tricky += kBoundary;
  tricky += "\r\n";  // not at a line start: data
  tricky += "\r\n--\r\n\r\n";
  for (int i = 0; i < 256; ++i) tricky += static_cast<char>(i);
  tricky += "\r\n\r\n";  // data ending in line breaks keeps them
  auto r = Parse(Body({File("a", tricky, "a.bin"), Text("b", std::string("\0", 1))}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].data, tricky);
  EXPECT_EQ((*r)[1].data, std::string("\0", 1));
  EXPECT_EQ((*r)[0].content_type, "text/plain");
}

TEST(MultipartTest, ContentTypeSpellings) {
  const std::string body = Body({Text("a", "1")}, "simple boundary");
  EXPECT_TRUE(Parse(body, "multipart/form-data; boundary=\"simple boundary\"").ok());
  EXPECT_TRUE(Parse(body, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"simple boundary\"").ok());
  // A preamble before the first boundary and an epilogue after the last are ignored.
  auto r = Parse("preamble\r\n" + body + "epilogue",
                 "multipart/form-data; boundary=\"simple "
                 "boundary\"");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].data, "1");
}

TEST(MultipartTest, NotMultipartFormDataIsRefused) {
  const std::string body = Body({Text("a", "1")});
  ExpectInvalid(Parse(body, "application/json"), "not multipart/form-data");
  ExpectInvalid(Parse(body, "multipart/mixed; boundary=" + std::string(kBoundary)),
                "not multipart/form-data");
  ExpectInvalid(Parse(body, ""), "not multipart/form-data");
  ExpectInvalid(Parse(body, "multipart/form-data; boundary=x\r\nX-Injected: 1"),
                "control character");
}

TEST(MultipartTest, AMissingOrInvalidBoundaryIsRefused) {
  const std::string body = Body({Text("a", "1")});
  ExpectInvalid(Parse(body, "multipart/form-data"), "no boundary");
  ExpectInvalid(Parse(body, "multipart/form-data; boundary="), "no boundary");
  ExpectInvalid(Parse(body, "multipart/form-data; boundary=" + std::string(71, 'b')), "boundary");
  ExpectInvalid(Parse(body, "multipart/form-data; boundary=\"a<b\""), "boundary");
}

TEST(MultipartTest, TruncatedBodiesAreRefused) {
  const std::string body = Body({Text("a", "hello"), File("f", std::string(1000, 'z'), "f")});
  ExpectInvalid(Parse(body.substr(0, body.size() - 10)), "truncated");  // in the last boundary
  ExpectInvalid(Parse(body.substr(0, body.size() / 2)), "truncated");   // inside the data
  ExpectInvalid(Parse(body.substr(0, 60)), "truncated");                // inside the headers
  // Without the closing "--".
  std::string open = body.substr(0, body.rfind("--\r\n")) + "\r\n";
  ExpectInvalid(Parse(open), "truncated");
}

TEST(MultipartTest, MalformedBodiesAreRefused) {
  ExpectInvalid(Parse(""), "does not start with the boundary");
  ExpectInvalid(Parse("just some text"), "does not start with the boundary");
  ExpectInvalid(Parse("--" + std::string(kBoundary) + "--\r\n"), "no part");
  // A part with no blank line after its headers.
  std::string b = "--" + std::string(kBoundary) +
                  "\r\nContent-Disposition: form-data; name=\"a\"\r\n--" + std::string(kBoundary) +
                  "--\r\n";
  ExpectInvalid(Parse(b), "a part has no headers or no blank line");
}

TEST(MultipartTest, PartsMustBeNamedFormData) {
  const std::string d = "--" + std::string(kBoundary) + "\r\n";
  const std::string end = "\r\n--" + std::string(kBoundary) + "--\r\n";
  ExpectInvalid(Parse(d + "Content-Type: text/plain\r\n\r\nx" + end), "no Content-Disposition");
  ExpectInvalid(Parse(d + "\r\nx" + end), "");
  ExpectInvalid(Parse(d + "Content-Disposition: attachment; name=\"a\"\r\n\r\nx" + end),
                "not form-data");
  ExpectInvalid(Parse(d + "Content-Disposition: form-data\r\n\r\nx" + end), "no name");
  ExpectInvalid(Parse(d + "Content-Disposition: form-data; name=\"\"\r\n\r\nx" + end), "no name");
}

TEST(MultipartTest, NestedMultipartIsRefused) {
  const std::string inner = Body({Text("x", "1")}, "inner");
  ExpectInvalid(Parse(Body({File("files", inner, "", "multipart/mixed; boundary=inner")})),
                "nested");
  ExpectInvalid(Parse(Body({File("m", "Subject: x\r\n\r\nhi", "", "message/rfc822")})), "nested");
}

TEST(MultipartTest, TooManyPartsAreRefusedBeforeParsing) {
  std::vector<Field> fields;
  for (int i = 0; i < 16; ++i) fields.push_back(Text("f" + std::to_string(i), "v"));
  auto ok = Parse(Body(fields));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 16u);
  fields.push_back(Text("f16", "v"));
  ExpectInvalid(Parse(Body(fields)), "more than 16 parts");
  ExpectInvalid(Parse(Body(fields), kContentType, 2), "more than 2 parts");

  // A million tiny parts cost one scan, not a million GMime objects.
  std::string many;
  const std::string part =
      "--" + std::string(kBoundary) + "\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n\r\n";
  for (int i = 0; i < 1'000'000; ++i) many += part;
  many += "--" + std::string(kBoundary) + "--\r\n";
  auto start = std::chrono::steady_clock::now();
  ExpectInvalid(Parse(many), "more than 16 parts");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST(MultipartTest, ATransferEncodedPartIsDecoded) {
  const std::string d = "--" + std::string(kBoundary) + "\r\n";
  auto r = Parse(d +
                 "Content-Disposition: form-data; name=\"a\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--" +
                 std::string(kBoundary) + "--\r\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].data, "hello");
}

TEST(MultipartTest, AFiftyMegabytePartIsParsedWellUnderASecond) {
  const std::string data = PseudoRandomBytes(50 << 20, 7);
  const std::string body =
      Body({Text("title", "big"), File("file", data, "big.jpg", "image/jpeg")});
  auto start = std::chrono::steady_clock::now();
  auto r = Parse(body);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].data.size(), data.size());
  EXPECT_TRUE((*r)[1].data == data);  // not EXPECT_EQ: no 50 MB diff on failure
  EXPECT_EQ((*r)[1].content_type, "image/jpeg");
  double ms = std::chrono::duration<double, std::milli>(elapsed).count();
  std::cout << "parsing a 50 MB part took " << ms << " ms\n";
  RecordProperty("parse_ms", std::to_string(ms));
  EXPECT_LT(ms, 1000);
}

}  // namespace
}  // namespace glint::http
