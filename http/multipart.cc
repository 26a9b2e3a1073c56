#include "http/multipart.h"

#include <gmime/gmime.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>

namespace glint::http {
namespace {

constexpr size_t kMaxBoundary = 70;        // RFC 2046 §5.1.1
constexpr size_t kMaxPartHeaders = 16384;  // bytes of one part's header block

void InitGMimeOnce() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

Status Invalid(std::string message) {
  return InvalidArgument("multipart/form-data: " + std::move(message), "invalid_multipart");
}

struct GObjectUnref {
  void operator()(void* p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GPtr = std::unique_ptr<T, GObjectUnref>;

struct GFree {
  void operator()(void* p) const { g_free(p); }
};

// Lends `bytes` to a GMime memory stream without copying them: the GByteArray adopts the
// pointer (g_byte_array_new_take) and is emptied again (g_byte_array_steal) before it is
// freed, and the stream is told it does not own the array, so GLib never frees the bytes.
// GMime only reads them. Must outlive every stream and object built over them.
class BorrowedBytes {
 public:
  explicit BorrowedBytes(std::string_view bytes)
      : array_(g_byte_array_new_take(
            const_cast<guint8*>(reinterpret_cast<const guint8*>(bytes.data())), bytes.size())) {}
  ~BorrowedBytes() {
    gsize len = 0;
    g_byte_array_steal(array_, &len);
    g_byte_array_unref(array_);
  }
  BorrowedBytes(const BorrowedBytes&) = delete;
  BorrowedBytes& operator=(const BorrowedBytes&) = delete;
  GByteArray* array() const { return array_; }

 private:
  GByteArray* array_;
};

bool IsBoundaryChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::strchr("'()+_,-./:=? ", c) != nullptr;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(),
                    [](char a, char b) { return g_ascii_tolower(a) == g_ascii_tolower(b); });
}

// Whether a part's header block declares a multipart/* or message/* Content-Type (GMime
// would parse those recursively, building objects we would only refuse).
bool DeclaresNestedEntity(std::string_view headers) {
  size_t pos = 0;
  while (pos < headers.size()) {
    size_t eol = headers.find('\n', pos);
    std::string_view line = headers.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    if (StartsWithNoCase(line, "content-type:")) {
      std::string_view value = line.substr(13);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      if (StartsWithNoCase(value, "multipart/") || StartsWithNoCase(value, "message/")) {
        return true;
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return false;
}

// One pass over the raw body before GMime sees it: counts the parts (delimiter lines
// "--boundary" at a line start, optionally followed by blanks) up to the limit, finds the
// closing delimiter, and refuses nested entities. Cheap (memchr-driven), allocation-free.
Status PreScan(std::string_view body, std::string_view boundary, size_t max_parts) {
  std::string delimiter = "--";
  delimiter += boundary;
  size_t parts = 0;
  size_t pos = 0;
  while (true) {
    size_t at = body.find(delimiter, pos);
    if (at == std::string_view::npos) break;
    pos = at + 1;
    if (at != 0 && body[at - 1] != '\n') continue;  // inside a line: data
    size_t after = at + delimiter.size();
    if (body.substr(after, 2) == "--") {
      if (parts == 0) return Invalid("the body has no part before its closing boundary");
      return Status::Ok();
    }
    size_t eol = after;
    while (eol < body.size() && (body[eol] == ' ' || body[eol] == '\t')) ++eol;
    if (eol < body.size() && body[eol] != '\r' && body[eol] != '\n') continue;  // "--bXYZ"
    if (++parts > max_parts) {
      return Invalid("more than " + std::to_string(max_parts) + " parts");
    }
    std::string_view headers = body.substr(eol, kMaxPartHeaders);
    headers = headers.substr(0, std::min(headers.find("\n\r\n"), headers.find("\n\n")));
    if (DeclaresNestedEntity(headers)) {
      return Invalid("part " + std::to_string(parts) + " is a nested multipart or message");
    }
  }
  if (parts == 0) return Invalid("the body does not start with the boundary");
  return Invalid("the body is truncated: no closing boundary");
}

// GMime reports what it had to guess; these guesses mean the body is not what it claims.
struct ParseProblems {
  const char* first = nullptr;
};

void OnParserWarning(gint64 /*offset*/, GMimeParserWarning code, const gchar* /*item*/,
                     gpointer user) {
  const char* what = nullptr;
  switch (code) {
    case GMIME_WARN_TRUNCATED_MESSAGE:
      what = "the body is truncated before its closing boundary";
      break;
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_WARN_MALFORMED_MESSAGE:
      what = "the body is malformed";
      break;
    case GMIME_CRIT_INVALID_HEADER_NAME:
      what = "a part has a malformed header";
      break;
    case GMIME_CRIT_CONFLICTING_HEADER:
    case GMIME_CRIT_CONFLICTING_PARAMETER:
      what = "a part has conflicting headers";
      break;
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
    case GMIME_CRIT_NESTING_OVERFLOW:
      what = "a part is a nested multipart";
      break;
    case GMIME_WARN_PART_WITHOUT_CONTENT:
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
      what = "a part has no headers or no blank line after them";
      break;
    default:  // duplicated headers, 8-bit header bytes (UTF-8 filenames), odd parameters
      return;
  }
  auto* problems = static_cast<ParseProblems*>(user);
  if (!problems->first) problems->first = what;
}

// The part's bytes: read straight from the body (GMime's content stream is a window on it),
// or decoded when the sender applied a Content-Transfer-Encoding.
Status ReadContent(GMimePart* part, size_t body_size, std::string* out) {
  out->clear();
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  if (!wrapper) return Status::Ok();
  switch (g_mime_data_wrapper_get_encoding(wrapper)) {
    case GMIME_CONTENT_ENCODING_DEFAULT:
    case GMIME_CONTENT_ENCODING_7BIT:
    case GMIME_CONTENT_ENCODING_8BIT:
    case GMIME_CONTENT_ENCODING_BINARY:
      break;
    default: {
      GPtr<GMimeStream> decoded(g_mime_stream_mem_new());
      if (g_mime_data_wrapper_write_to_stream(wrapper, decoded.get()) < 0) {
        return Invalid("a part's Content-Transfer-Encoding cannot be decoded");
      }
      GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(decoded.get()));
      out->assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
      return Status::Ok();
    }
  }
  GMimeStream* stream = g_mime_data_wrapper_get_stream(wrapper);
  if (g_mime_stream_reset(stream) < 0) return Internal("multipart: cannot rewind a part");
  // GMime's length of a window on a concatenated stream is an upper bound (it counts from the
  // start of the body); reserving it only maps address space, it touches no pages.
  gint64 hint = g_mime_stream_length(stream);
  if (hint > 0) out->reserve(std::min<size_t>(static_cast<size_t>(hint), body_size));
  char buf[16384];
  while (true) {
    ssize_t n = g_mime_stream_read(stream, buf, sizeof buf);
    if (n < 0) return Internal("multipart: reading a part failed");
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  if (out->capacity() > 2 * out->size() + 4096) out->shrink_to_fit();
  return Status::Ok();
}

Result<FormPart> ToFormPart(GMimeObject* object, size_t index, size_t body_size) {
  const std::string which = "part " + std::to_string(index + 1);
  if (!GMIME_IS_PART(object)) return Invalid(which + " is a nested multipart or message");
  GMimeContentDisposition* disposition = g_mime_object_get_content_disposition(object);
  if (!disposition) return Invalid(which + " has no Content-Disposition");
  const char* kind = g_mime_content_disposition_get_disposition(disposition);
  if (!kind || g_ascii_strcasecmp(kind, "form-data") != 0) {
    return Invalid(which + "'s Content-Disposition is not form-data");
  }
  const char* name = g_mime_content_disposition_get_parameter(disposition, "name");
  if (!name || !*name) return Invalid(which + "'s Content-Disposition has no name");

  FormPart out;
  out.name = name;
  if (const char* filename = g_mime_content_disposition_get_parameter(disposition, "filename")) {
    out.filename = filename;
  }
  if (!g_mime_object_get_header(object, "Content-Type")) {
    out.content_type = "text/plain";  // RFC 7578 §4.4
  } else {
    std::unique_ptr<char, GFree> type(
        g_mime_content_type_get_mime_type(g_mime_object_get_content_type(object)));
    out.content_type = type.get();
    for (char& c : out.content_type) c = g_ascii_tolower(c);
  }
  Status read = ReadContent(GMIME_PART(object), body_size, &out.data);
  if (!read.ok()) return read;
  return out;
}

}  // namespace

Result<std::vector<FormPart>> ParseMultipartForm(std::string_view content_type,
                                                 std::string_view body, const FormLimits& limits) {
  InitGMimeOnce();
  if (std::any_of(content_type.begin(), content_type.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 && c != '\t'; })) {
    return Invalid("the Content-Type holds a control character");
  }
  std::string boundary;
  {
    const std::string header(content_type);
    GPtr<GMimeContentType> type(g_mime_content_type_parse(nullptr, header.c_str()));
    if (!type || !g_mime_content_type_is_type(type.get(), "multipart", "form-data")) {
      return Invalid("the Content-Type is not multipart/form-data");
    }
    const char* b = g_mime_content_type_get_parameter(type.get(), "boundary");
    if (!b || !*b) return Invalid("the Content-Type has no boundary");
    boundary = b;
  }
  if (boundary.size() > kMaxBoundary || boundary.back() == ' ' ||
      !std::all_of(boundary.begin(), boundary.end(), IsBoundaryChar)) {
    return Invalid("the boundary is not 1 to 70 RFC 2046 characters");
  }
  if (body.size() > G_MAXUINT) return Invalid("the body is larger than 4 GiB");
  Status scanned = PreScan(body, boundary, limits.max_parts);
  if (!scanned.ok()) return scanned;

  // GMime parses an entity: its header, rebuilt from the validated boundary, then the body.
  const std::string header =
      "Content-Type: multipart/form-data; boundary=\"" + boundary + "\"\r\n\r\n";
  BorrowedBytes borrowed(body);  // outlives everything below
  GPtr<GMimeStream> head(g_mime_stream_mem_new_with_buffer(header.data(), header.size()));
  GPtr<GMimeStream> rest(g_mime_stream_mem_new_with_byte_array(borrowed.array()));
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(rest.get()), FALSE);
  GPtr<GMimeStream> whole(g_mime_stream_cat_new());
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(whole.get()), head.get());
  g_mime_stream_cat_add_source(GMIME_STREAM_CAT(whole.get()), rest.get());

  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(whole.get()));
  g_mime_parser_set_persist_stream(parser.get(), TRUE);  // parts are windows, not copies
  ParseProblems problems;
  std::unique_ptr<GMimeParserOptions, void (*)(GMimeParserOptions*)> options(
      g_mime_parser_options_new(), g_mime_parser_options_free);
  g_mime_parser_options_set_warning_callback(options.get(), OnParserWarning, &problems);
  GPtr<GMimeObject> root(g_mime_parser_construct_part(parser.get(), options.get()));
  if (problems.first) return Invalid(problems.first);
  if (!root || !GMIME_IS_MULTIPART(root.get())) return Invalid("the body is malformed");

  GMimeMultipart* multipart = GMIME_MULTIPART(root.get());
  const int count = g_mime_multipart_get_count(multipart);
  if (count <= 0) return Invalid("the body has no parts");
  if (static_cast<size_t>(count) > limits.max_parts) {
    return Invalid("more than " + std::to_string(limits.max_parts) + " parts");
  }
  std::vector<FormPart> parts;
  parts.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    Result<FormPart> part =
        ToFormPart(g_mime_multipart_get_part(multipart, i), static_cast<size_t>(i), body.size());
    if (!part.ok()) return part.status();
    parts.push_back(std::move(part).value());
  }
  return parts;
}

}  // namespace glint::http
