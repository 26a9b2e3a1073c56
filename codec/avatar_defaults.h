// Gravatar's generated default images: what `GET /avatar/{hash}?d=...` shows when the hash
// names no avatar. Every style is drawn here by glint's own vector code (no third-party
// artwork, fonts or sprite sheets): shapes are rasterised at the requested size with
// anti-aliased edges, and the pixel-art styles (identicon, retro) snap their cells to whole
// pixels so they stay crisp at any size.
//
// Output is deterministic: the same request gives the same bytes on every run and machine.
// Geometry is integer fixed-point (1/256 pixel) with an exact integer square root, colours
// are integer HSL, and the seed is hashed with XXH3; nothing depends on time, rand() or
// floating-point rounding.
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "codec/image.h"

namespace glint::codec {

enum class DefaultStyle {
  kMysteryPerson,  // `mp` / `mm`: grey head-and-shoulders silhouette, the same for every seed
  kIdenticon,      // a 5x5 mirrored grid of cells, pattern and colour from the seed
  kMonsterId,      // a monster: body, eyes, mouth, limbs, horns and colours from the seed
  kWavatar,        // a cartoon face: face shape, hair, eyes, mouth and colours from the seed
  kRetro,          // an 8-bit arcade face on a mirrored 12x12 pixel grid
  kRobohash,       // a robot: head, antennae, eyes, mouth, body and colours from the seed
  kBlank,          // fully transparent
  kInitials,       // initials in white on a background colour from the seed
  kColor,          // a solid colour from the seed
};

// The largest side RenderDefault draws.
inline constexpr uint32_t kMaxDefaultSize = 2048;

struct DefaultRequest {
  DefaultStyle style = DefaultStyle::kMysteryPerson;
  // The raw email-hash digest the URL named (16 B MD5 or 32 B SHA-256); any bytes of any
  // length are accepted. Only the seeded styles read it.
  std::string_view seed;
  uint32_t size = 80;  // 1..kMaxDefaultSize; the output is size x size
  // kInitials: the characters to draw, normally chosen by InitialsFor. A-Z and 0-9 are drawn
  // (a-z as their capitals), at most 3 of them; anything else is skipped.
  std::string initials;
};

// Draws `request` as straight (not premultiplied) RGBA, size x size. Every style but kBlank
// is opaque. The result is owned by the caller.
// Cost is proportional to the pixel count: a few milliseconds at 2048 in a Release build.
// Errors: kInvalidArgument (reason "bad_size") for size 0 or larger than kMaxDefaultSize.
Result<Image> RenderDefault(const DefaultRequest& request);

// Gravatar's `initials=` / `name=` rules. Explicit initials win: the first 3 characters of
// `initials_param` (UTF-8 code points), upper-cased, keeping those RenderDefault can draw.
// When that leaves nothing, the first character of the first and of the last
// whitespace-separated word of `name_param` ("Ada King Lovelace" -> "AL", "cher" -> "C"),
// again keeping only drawable ones. Returns "" when neither gives a drawable character.
std::string InitialsFor(std::string_view initials_param, std::string_view name_param);

// The style a Gravatar `d=` value names: "mp" (and the legacy "mm"), "identicon",
// "monsterid", "wavatar", "retro", "robohash", "blank", "initials", "color". nullopt for
// anything else ("404", a URL, an unknown word), which the caller handles.
std::optional<DefaultStyle> DefaultStyleFromName(std::string_view name);

}  // namespace glint::codec
