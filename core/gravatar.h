// Gravatar's avatar URL language (https://docs.gravatar.com/general/images/): the parameters
// of `/avatar/{hash}` that are not transforms, and the generated default images.
//
//   s, size          1..2048, default 80; a square, cover-cropped from the centre. Values out
//                    of range are clamped to 1..2048 (as Gravatar's clients do); a value that
//                    is not a whole number is refused (400).
//   d, default       404 | mp (mm) | identicon | monsterid | wavatar | retro | robohash |
//                    blank | initials | color | an http(s) URL (302 to it). Anything else: 400.
//   f, forcedefault  y|yes|true|1 serve the default even when an avatar exists; n|no|false|0.
//   r, rating        g|pg|r|x (either case), default g: an avatar rated above it is not shown.
//   initials, name   what kInitials draws (explicit initials win).
// The transform parameters (core/transform.h: fm, q, dpr, grayscale, ...) apply too, and are
// validated strictly; any other parameter is ignored, as Gravatar ignores what it does not
// know (cache busters, clients' own additions).
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codec/avatar_defaults.h"
#include "codec/pipeline.h"
#include "core/transform.h"

namespace glint::core {

inline constexpr uint32_t kAvatarDefaultSize = 80;
inline constexpr uint32_t kAvatarMaxSize = 2048;

// What to answer when there is no avatar to show.
struct AvatarDefault {
  enum class Kind { kNotFound, kRedirect, kGenerated } kind = Kind::kGenerated;
  codec::DefaultStyle style = codec::DefaultStyle::kMysteryPerson;  // kGenerated
  std::string url;                                                  // kRedirect
};

// Parses a `d=` value. kInvalidArgument "invalid_parameter" for anything else.
Result<AvatarDefault> ParseAvatarDefault(std::string_view value);

struct AvatarQuery {
  uint32_t size = kAvatarDefaultSize;
  bool has_default = false;  // `d` was given (else the server's configured default applies)
  AvatarDefault fallback;
  bool force_default = false;
  int max_rating = 0;    // RatingRank: 0 = g
  std::string initials;  // for kInitials, already chosen (codec::InitialsFor)
  // The transform the URL asks for: `s` (as a square cover of `size`) plus every
  // non-Gravatar parameter.
  TransformSpec transform;
};

// Parses the query of an avatar URL. Errors: kInvalidArgument "invalid_parameter" naming the
// parameter (also for a transform parameter ParseTransform refuses).
Result<AvatarQuery> ParseAvatarQuery(std::span<const std::pair<std::string, std::string>> params,
                                     const TransformLimits& limits);

// The cache key of a generated default: style, seed (except for mp and blank, which do not
// depend on it), pixel size, format and quality, initials. Two requests for the same pixels
// and encoding share it.
std::string GeneratedDefaultKey(codec::DefaultStyle style, std::string_view seed,
                                const TransformSpec& spec, std::string_view initials);

// Draws and encodes a generated default for `seed` (the raw hash the URL named) at the
// spec's pixel size (clamped to 1..2048) in its format (PNG when the spec keeps the
// "source" format) and quality. Grayscale is honoured; other transforms do not apply to a
// drawing. CPU-bound: run it on the transform pool.
Result<codec::Rendered> RenderDefaultAvatar(codec::DefaultStyle style, std::string_view seed,
                                            const TransformSpec& spec, std::string_view initials);

}  // namespace glint::core
