// The transform language of image URLs (`/avatar/{hash}?s=80`, `/p/{id}?w=640&fm=webp&q=75`)
// and its canonical form.
//
// ParseTransform validates every parameter strictly: an unknown name or a value out of range
// is kInvalidArgument whose reason is "invalid_parameter" and whose message names the
// parameter. Spellings are normalised (s/size, fm=jpg/jpeg, gravity=centre/center...), dpr is
// folded into the pixel sizes, and the result's CanonicalKey() names the variant: two URLs
// asking for the same pixels give the same key, whatever their order or spelling.
//
// Pure functions and value types; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "codec/image_header.h"
#include "codec/pipeline.h"

namespace glint::core {

enum class Fit : uint8_t { kCover, kContain, kFill, kInside, kOutside };
enum class Gravity : uint8_t {
  kCenter,
  kNorth,
  kSouth,
  kEast,
  kWest,
  kNorthEast,
  kNorthWest,
  kSouthEast,
  kSouthWest
};
enum class OutputFormat : uint8_t { kSource, kJpeg, kPng, kWebp, kAuto };
enum class Flip : uint8_t { kNone, kHorizontal, kVertical, kBoth };
// The resampling filter (codec::Filter, same order).
enum class Resample : uint8_t { kLanczos3, kCatmullRom, kLinear };

// A crop in fractions of the (upright) source, so it survives any resize of the source.
struct CropBox {
  double x = 0, y = 0, w = 1, h = 1;
};

struct TransformLimits {
  uint32_t max_width = 4096;  // of the output, after dpr
  uint32_t max_height = 4096;
};

struct TransformSpec {
  uint32_t width = 0;  // 0 = follow the other dimension / the source (after dpr)
  uint32_t height = 0;
  Fit fit = Fit::kInside;  // s= implies cover (a square, like Gravatar)
  Gravity gravity = Gravity::kCenter;
  std::optional<CropBox> crop;
  int quality = 0;  // 0 = the encoder default (80)
  OutputFormat format = OutputFormat::kSource;
  bool grayscale = false;
  double blur = 0;     // Gaussian sigma, 0 = none
  double sharpen = 0;  // sigma, 0 = none
  int rotate = 0;      // clockwise, 0/90/180/270, after EXIF orientation
  Flip flip = Flip::kNone;
  std::optional<uint32_t> background;  // 0xRRGGBB for flattening alpha; default white
  bool enlarge = false;                // allow output larger than the source
  bool progressive = false;            // progressive JPEG output
  bool lossless = false;               // lossless WebP output
  Resample filter = Resample::kLanczos3;

  // True when the spec asks for nothing: the original bytes are served as they are.
  bool IsIdentity() const;

  // The variant key: a short, stable, human-readable string of the non-default fields in a
  // fixed order ("w=64;h=64;fit=cover;fm=webp;q=75"), "" for the identity. kAuto must be
  // resolved (ResolveFormat) before asking for the key: the key names real bytes.
  std::string CanonicalKey() const;
};

// Parses decoded query parameters. Names in `ignored` (e.g. Gravatar's d, r, f on avatar
// URLs) are accepted and not interpreted. A repeated parameter is an error.
Result<TransformSpec> ParseTransform(std::span<const std::pair<std::string, std::string>> params,
                                     const TransformLimits& limits,
                                     std::span<const std::string_view> ignored = {});

// True for the names ParseTransform interprets (and their aliases).
bool IsTransformParameter(std::string_view name);

// Replaces OutputFormat::kAuto with WebP when the client's Accept header allows it, else
// with the source's format; `*vary_accept` is set when the answer depends on Accept.
void ResolveFormat(TransformSpec& spec, std::string_view accept_header, bool* vary_accept);

// The codec pipeline's options for `spec`, decoding under `limits`: the one translation from
// the URL language to codec::Render, used by the server and `glint convert`. kAuto must be
// resolved first (ResolveFormat); kSource gives codec::Format::kUnknown, the source's format.
// Quality 0 becomes 80, the encoder default.
codec::PipelineOptions ToPipelineOptions(const TransformSpec& spec,
                                         const codec::HeaderLimits& limits);

}  // namespace glint::core
