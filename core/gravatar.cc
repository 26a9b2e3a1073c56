#include "core/gravatar.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/url/parse.hpp>

#include "base/hex.h"
#include "codec/encode.h"
#include "codec/ops.h"
#include "core/service.h"

namespace glint::core {
namespace {

Status Bad(std::string_view name, std::string_view what) {
  std::string msg = "'";
  msg.append(name).append("' ").append(what);
  return InvalidArgument(std::move(msg), "invalid_parameter");
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct StyleName {
  std::string_view name;
  codec::DefaultStyle style;
};
constexpr StyleName kStyles[] = {
    {"mp", codec::DefaultStyle::kMysteryPerson},
    {"mm", codec::DefaultStyle::kMysteryPerson},  // Gravatar's legacy name ("mystery man")
    {"mysteryman", codec::DefaultStyle::kMysteryPerson},
    {"identicon", codec::DefaultStyle::kIdenticon},
    {"monsterid", codec::DefaultStyle::kMonsterId},
    {"wavatar", codec::DefaultStyle::kWavatar},
    {"retro", codec::DefaultStyle::kRetro},
    {"robohash", codec::DefaultStyle::kRobohash},
    {"blank", codec::DefaultStyle::kBlank},
    {"initials", codec::DefaultStyle::kInitials},
    {"color", codec::DefaultStyle::kColor},
};

std::string_view StyleKeyName(codec::DefaultStyle style) {
  for (const StyleName& s : kStyles)
    if (s.style == style) return s.name;
  return "?";
}

}  // namespace

Result<AvatarDefault> ParseAvatarDefault(std::string_view value) {
  AvatarDefault d;
  if (value == "404") {
    d.kind = AvatarDefault::Kind::kNotFound;
    return d;
  }
  for (const StyleName& s : kStyles) {
    if (IEquals(value, s.name)) {
      d.style = s.style;
      return d;
    }
  }
  auto url = boost::urls::parse_absolute_uri(value);
  if (url && (IEquals(url->scheme(), "http") || IEquals(url->scheme(), "https")) &&
      !url->host().empty() && value.size() <= 2048) {
    d.kind = AvatarDefault::Kind::kRedirect;
    d.url = std::string(value);
    return d;
  }
  return Bad("d",
             "must be 404, mp, identicon, monsterid, wavatar, retro, robohash, blank, "
             "initials, color or an http(s) image URL");
}

Result<AvatarQuery> ParseAvatarQuery(std::span<const std::pair<std::string, std::string>> params,
                                     const TransformLimits& limits) {
  AvatarQuery q;
  std::string initials_param, name_param;
  std::vector<std::pair<std::string, std::string>> rest;
  // Gravatar's parameters; like the transform parameters, the last occurrence wins only
  // where a repetition is harmless: a repeated alias pair (s and size) is refused.
  bool seen_size = false, seen_default = false, seen_force = false, seen_rating = false;
  auto once = [](bool& seen, std::string_view name) -> Status {
    if (seen) return Bad(name, "is given more than once (with its long or short spelling)");
    seen = true;
    return Status::Ok();
  };
  for (const auto& [key, value] : params) {
    if (key == "s" || key == "size") {
      GLINT_RETURN_IF_ERROR(once(seen_size, key));
      int64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || p != value.data() + value.size())
        return Bad(key, "must be a whole number of pixels (1 to 2048)");
      // A number too long for int64 is still a number: clamp it like the others.
      if (ec == std::errc::result_out_of_range) n = value.starts_with('-') ? 1 : kAvatarMaxSize;
      q.size = static_cast<uint32_t>(std::clamp<int64_t>(n, 1, kAvatarMaxSize));
    } else if (key == "d" || key == "default") {
      GLINT_RETURN_IF_ERROR(once(seen_default, key));
      GLINT_ASSIGN_OR_RETURN(q.fallback, ParseAvatarDefault(value));
      q.has_default = true;
    } else if (key == "f" || key == "forcedefault") {
      GLINT_RETURN_IF_ERROR(once(seen_force, key));
      if (IEquals(value, "y") || IEquals(value, "yes") || IEquals(value, "true") || value == "1")
        q.force_default = true;
      else if (IEquals(value, "n") || IEquals(value, "no") || IEquals(value, "false") ||
               value == "0")
        q.force_default = false;
      else
        return Bad(key, "must be y or n");
    } else if (key == "r" || key == "rating") {
      GLINT_RETURN_IF_ERROR(once(seen_rating, key));
      auto rank = RatingRank(value);
      if (!rank) return Bad(key, "must be g, pg, r or x");
      q.max_rating = *rank;
    } else if (key == "initials") {
      initials_param = value;
    } else if (key == "name") {
      name_param = value;
    } else if (IsTransformParameter(key)) {
      rest.emplace_back(key, value);
    }
    // Anything else is ignored, as Gravatar does (clients add cache busters and their own
    // parameters): it cannot change the image.
  }
  rest.emplace_back("s", std::to_string(q.size));
  GLINT_ASSIGN_OR_RETURN(q.transform, ParseTransform(rest, limits));
  q.initials = codec::InitialsFor(initials_param, name_param);
  return q;
}

std::string GeneratedDefaultKey(codec::DefaultStyle style, std::string_view seed,
                                const TransformSpec& spec, std::string_view initials) {
  std::string key(StyleKeyName(style));
  // The silhouette and the transparent square draw the same pixels for every hash: one
  // cache entry (and one ETag) serves them all.
  const bool seeded =
      style != codec::DefaultStyle::kMysteryPerson && style != codec::DefaultStyle::kBlank;
  key.append(":").append(seeded ? HexEncode(seed) : "").append(":").append(spec.CanonicalKey());
  if (style == codec::DefaultStyle::kInitials) key.append(":").append(initials);
  return key;
}

Result<codec::Rendered> RenderDefaultAvatar(codec::DefaultStyle style, std::string_view seed,
                                            const TransformSpec& spec, std::string_view initials) {
  codec::DefaultRequest request;
  request.style = style;
  request.seed = seed;
  request.size = std::clamp<uint32_t>(std::max(spec.width, spec.height), 1, kAvatarMaxSize);
  request.initials = std::string(initials);
  GLINT_ASSIGN_OR_RETURN(codec::Image image, codec::RenderDefault(request));
  if (spec.grayscale) image = codec::Grayscale(image);
  codec::EncodeOptions options;
  switch (spec.format) {
    case OutputFormat::kJpeg:
      options.format = codec::Format::kJpeg;
      break;
    case OutputFormat::kWebp:
      options.format = codec::Format::kWebp;
      break;
    default:  // a drawing has no source format: PNG keeps its edges and transparency
      options.format = codec::Format::kPng;
      break;
  }
  options.quality = spec.quality ? spec.quality : 80;
  options.lossless = spec.lossless;
  options.progressive = spec.progressive;
  if (spec.background) options.background = *spec.background;
  codec::Rendered out;
  GLINT_ASSIGN_OR_RETURN(out.bytes, codec::Encode(image, options));
  out.format = options.format;
  out.width = image.width;
  out.height = image.height;
  return out;
}

}  // namespace glint::core
