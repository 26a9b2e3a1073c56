#include "tools/convert.h"

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <utility>
#include <vector>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "codec/image_header.h"
#include "codec/pipeline.h"
#include "core/transform.h"

namespace glint::tools {
namespace {

// The whole of `file` (already open), refusing more than kMaxConvertSourceBytes.
Result<std::string> ReadAll(std::FILE* file, const std::string& name) {
  std::string bytes;
  char buf[1 << 16];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
    if (bytes.size() + n > kMaxConvertSourceBytes)
      return TooLarge(name + " is larger than " + std::to_string(kMaxConvertSourceBytes >> 20) +
                      " MiB");
    bytes.append(buf, n);
  }
  if (std::ferror(file)) return ErrnoStatus("read " + name, errno);
  return bytes;
}

Result<std::string> ReadSource(const std::string& in) {
  if (in == "-") return ReadAll(stdin, "standard input");
  std::FILE* file = std::fopen(in.c_str(), "rb");
  if (!file) return ErrnoStatus("open " + in, errno);
  Result<std::string> bytes = ReadAll(file, in);
  std::fclose(file);
  return bytes;
}

Status WriteAll(std::FILE* file, const std::string& bytes, const std::string& name) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fflush(file) != 0)
    return ErrnoStatus("write " + name, errno);
  return Status::Ok();
}

Status WriteOutput(const std::string& out, const std::string& bytes) {
  if (out == "-") return WriteAll(stdout, bytes, "standard output");
  std::FILE* file = std::fopen(out.c_str(), "wb");
  if (!file) return ErrnoStatus("open " + out, errno);
  Status s = WriteAll(file, bytes, out);
  if (std::fclose(file) != 0 && s.ok()) s = ErrnoStatus("close " + out, errno);
  if (!s.ok()) std::remove(out.c_str());
  return s;
}

// The decoded parameters of `query`, read the way the server reads a request's query.
Result<std::vector<std::pair<std::string, std::string>>> QueryParams(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  if (query.starts_with('?')) query.remove_prefix(1);
  if (query.empty()) return params;
  // A relative reference that is only a query; the view borrows `target`. (Not
  // urls::parse_query: in Boost 1.81 it can read past the end of its input.)
  std::string target = "?";
  target.append(query);
  auto url = boost::urls::parse_relative_ref(target);
  if (!url)
    return InvalidArgument("QUERY is not a URL query string (" + url.error().message() + ")",
                           "invalid_query");
  if (url->has_fragment())
    return InvalidArgument("QUERY must not contain '#' (write it as %23)", "invalid_query");
  for (auto p : url->params()) params.emplace_back(p.key, p.has_value ? p.value : std::string());
  return params;
}

}  // namespace

Result<std::string> ConvertImage(std::span<const char> source, std::string_view query) {
  GLINT_ASSIGN_OR_RETURN(auto params, QueryParams(query));
  GLINT_ASSIGN_OR_RETURN(core::TransformSpec spec,
                         core::ParseTransform(params, core::TransformLimits{}));
  bool vary_accept = false;
  core::ResolveFormat(spec, /*accept_header=*/"", &vary_accept);  // auto -> the source's
  const codec::HeaderLimits limits;
  if (spec.IsIdentity()) {
    GLINT_RETURN_IF_ERROR(codec::ReadHeader(source, limits).status());
    return std::string(source.begin(), source.end());
  }
  GLINT_ASSIGN_OR_RETURN(codec::Rendered rendered,
                         codec::Render(source, core::ToPipelineOptions(spec, limits)));
  return std::move(rendered.bytes);
}

int ConvertFile(const std::string& in, const std::string& out, const std::string& query) {
  Status s;
  Result<std::string> source = ReadSource(in);
  if (source.ok()) {
    Result<std::string> bytes =
        ConvertImage(std::span<const char>(source->data(), source->size()), query);
    s = bytes.ok() ? WriteOutput(out, *bytes) : bytes.status();
  } else {
    s = source.status();
  }
  if (s.ok()) return 0;
  std::cerr << "glint convert: " << s.message() << "\n";
  return 1;
}

}  // namespace glint::tools
