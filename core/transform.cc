#include "core/transform.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace glint::core {
namespace {

Status Bad(std::string_view name, std::string_view why) {
  std::string msg = "parameter '";
  msg.append(name).append("' ").append(why);
  return InvalidArgument(std::move(msg), "invalid_parameter");
}

std::optional<uint64_t> ParseUint(std::string_view v) {
  uint64_t n = 0;
  if (v.empty() || v.size() > 10) return std::nullopt;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
  return n;
}

std::optional<double> ParseDouble(std::string_view v) {
  double d = 0;
  if (v.empty() || v.size() > 24) return std::nullopt;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<bool> ParseFlag(std::string_view v) {
  if (v.empty() || v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  return std::nullopt;
}

std::optional<Gravity> ParseGravity(std::string_view v) {
  struct Name {
    std::string_view a, b, c;
    Gravity g;
  };
  static constexpr Name kNames[] = {
      {"center", "centre", "c", Gravity::kCenter},
      {"north", "top", "n", Gravity::kNorth},
      {"south", "bottom", "s", Gravity::kSouth},
      {"east", "right", "e", Gravity::kEast},
      {"west", "left", "w", Gravity::kWest},
      {"northeast", "ne", "ne", Gravity::kNorthEast},
      {"northwest", "nw", "nw", Gravity::kNorthWest},
      {"southeast", "se", "se", Gravity::kSouthEast},
      {"southwest", "sw", "sw", Gravity::kSouthWest},
  };
  for (const Name& n : kNames)
    if (v == n.a || v == n.b || v == n.c) return n.g;
  return std::nullopt;
}

std::string_view GravityName(Gravity g) {
  switch (g) {
    case Gravity::kCenter:
      return "c";
    case Gravity::kNorth:
      return "n";
    case Gravity::kSouth:
      return "s";
    case Gravity::kEast:
      return "e";
    case Gravity::kWest:
      return "w";
    case Gravity::kNorthEast:
      return "ne";
    case Gravity::kNorthWest:
      return "nw";
    case Gravity::kSouthEast:
      return "se";
    case Gravity::kSouthWest:
      return "sw";
  }
  return "c";
}

std::string_view FitName(Fit f) {
  switch (f) {
    case Fit::kCover:
      return "cover";
    case Fit::kContain:
      return "contain";
    case Fit::kFill:
      return "fill";
    case Fit::kInside:
      return "inside";
    case Fit::kOutside:
      return "outside";
  }
  return "inside";
}

std::string_view FormatName(OutputFormat f) {
  switch (f) {
    case OutputFormat::kSource:
      return "";
    case OutputFormat::kJpeg:
      return "jpeg";
    case OutputFormat::kPng:
      return "png";
    case OutputFormat::kWebp:
      return "webp";
    case OutputFormat::kAuto:
      return "auto";
  }
  return "";
}

// Fixed-precision decimal text, so 0.25 and 0.250 key alike.
std::string Decimal(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  std::string s = buf;
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

bool TransformSpec::IsIdentity() const { return CanonicalKey().empty(); }

std::string TransformSpec::CanonicalKey() const {
  std::string key;
  auto add = [&key](std::string_view name, std::string_view value) {
    if (!key.empty()) key += ';';
    key.append(name).append("=").append(value);
  };
  if (width) add("w", std::to_string(width));
  if (height) add("h", std::to_string(height));
  // With one side free, every fit gives the same pixels; so does gravity outside cover.
  if (width && height) {
    add("fit", FitName(fit));
    if (fit == Fit::kCover && gravity != Gravity::kCenter) add("g", GravityName(gravity));
  }
  if ((width || height) && enlarge) add("enlarge", "1");
  if (crop) {
    add("crop", Decimal(crop->x, 4) + "," + Decimal(crop->y, 4) + "," + Decimal(crop->w, 4) + "," +
                    Decimal(crop->h, 4));
  }
  if (rotate) add("rot", std::to_string(rotate));
  if (flip == Flip::kHorizontal) add("flip", "h");
  if (flip == Flip::kVertical) add("flip", "v");
  if (flip == Flip::kBoth) add("flip", "hv");
  if (grayscale) add("gray", "1");
  if (blur > 0) add("blur", Decimal(blur, 2));
  if (sharpen > 0) add("sharpen", Decimal(sharpen, 2));
  if (background) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%06x", *background);
    add("bg", hex);
  }
  if ((width || height) && filter == Resample::kCatmullRom) add("filter", "catmullrom");
  if ((width || height) && filter == Resample::kLinear) add("filter", "linear");
  if (format != OutputFormat::kSource) add("fm", FormatName(format));
  // Each encoder option only where the output may be of its format.
  const bool maybe_jpeg = format == OutputFormat::kSource || format == OutputFormat::kJpeg;
  const bool maybe_webp = format == OutputFormat::kSource || format == OutputFormat::kWebp;
  if (progressive && maybe_jpeg) add("prog", "1");
  if (lossless && maybe_webp) add("lossless", "1");
  if (quality && format != OutputFormat::kPng && !(lossless && format == OutputFormat::kWebp))
    add("q", std::to_string(quality));
  return key;
}

Result<TransformSpec> ParseTransform(std::span<const std::pair<std::string, std::string>> params,
                                     const TransformLimits& limits,
                                     std::span<const std::string_view> ignored) {
  TransformSpec spec;
  double dpr = 1;
  std::optional<uint32_t> square;
  std::vector<std::string_view> seen;
  for (const auto& [raw_name, value] : params) {
    std::string_view name = raw_name;
    bool skip = false;
    for (std::string_view i : ignored) skip = skip || i == name;
    if (skip) continue;
    // Aliases name one parameter: "s" and "size" may not both appear.
    std::string_view canonical = name == "size"      ? "s"
                                 : name == "quality" ? "q"
                                 : name == "format"  ? "fm"
                                 : name == "g"       ? "gravity"
                                                     : name;
    for (std::string_view s : seen)
      if (s == canonical) return Bad(name, "is given twice");
    seen.push_back(canonical);

    if (canonical == "w" || canonical == "h" || canonical == "s") {
      auto n = ParseUint(value);
      uint32_t max = canonical == "h" ? limits.max_height : limits.max_width;
      if (canonical == "s") max = std::min(limits.max_width, limits.max_height);
      if (!n || *n == 0 || *n > max)
        return Bad(name, "must be an integer from 1 to " + std::to_string(max));
      if (canonical == "w") spec.width = static_cast<uint32_t>(*n);
      if (canonical == "h") spec.height = static_cast<uint32_t>(*n);
      if (canonical == "s") square = static_cast<uint32_t>(*n);
    } else if (canonical == "dpr") {
      auto d = ParseDouble(value);
      if (!d || *d < 1 || *d > 4) return Bad(name, "must be a number from 1 to 4");
      dpr = *d;
    } else if (canonical == "fit") {
      if (value == "cover")
        spec.fit = Fit::kCover;
      else if (value == "contain")
        spec.fit = Fit::kContain;
      else if (value == "fill")
        spec.fit = Fit::kFill;
      else if (value == "inside")
        spec.fit = Fit::kInside;
      else if (value == "outside")
        spec.fit = Fit::kOutside;
      else
        return Bad(name, "must be cover, contain, fill, inside or outside");
    } else if (canonical == "gravity") {
      auto g = ParseGravity(value);
      if (!g)
        return Bad(name,
                   "must be center, north, south, east, west, northeast, northwest, southeast or "
                   "southwest");
      spec.gravity = *g;
    } else if (canonical == "crop") {
      double v[4];
      size_t start = 0;
      for (int i = 0; i < 4; ++i) {
        size_t comma = value.find(',', start);
        bool last = i == 3;
        if (last != (comma == std::string::npos))
          return Bad(name, "must be four fractions x,y,w,h");
        auto d = ParseDouble(
            std::string_view(value).substr(start, last ? std::string::npos : comma - start));
        if (!d || *d < 0 || *d > 1)
          return Bad(name, "must be four fractions x,y,w,h between 0 and 1");
        v[i] = *d;
        start = comma + 1;
      }
      if (v[2] <= 0 || v[3] <= 0 || v[0] + v[2] > 1 + 1e-9 || v[1] + v[3] > 1 + 1e-9)
        return Bad(name, "must lie inside the image (x+w <= 1, y+h <= 1, w and h above 0)");
      spec.crop = CropBox{v[0], v[1], v[2], v[3]};
    } else if (canonical == "q") {
      auto n = ParseUint(value);
      if (!n || *n < 1 || *n > 100) return Bad(name, "must be an integer from 1 to 100");
      spec.quality = static_cast<int>(*n);
    } else if (canonical == "fm") {
      if (value == "jpeg" || value == "jpg")
        spec.format = OutputFormat::kJpeg;
      else if (value == "png")
        spec.format = OutputFormat::kPng;
      else if (value == "webp")
        spec.format = OutputFormat::kWebp;
      else if (value == "auto")
        spec.format = OutputFormat::kAuto;
      else
        return Bad(name, "must be jpeg, png, webp or auto");
    } else if (canonical == "grayscale") {
      auto f = ParseFlag(value);
      if (!f) return Bad(name, "must be empty, 1 or 0");
      spec.grayscale = *f;
    } else if (canonical == "blur") {
      auto d = ParseDouble(value);
      if (!d || *d < 0.3 || *d > 100) return Bad(name, "must be a sigma from 0.3 to 100");
      spec.blur = *d;
    } else if (canonical == "sharpen") {
      if (value.empty()) {
        spec.sharpen = 1;
      } else {
        auto d = ParseDouble(value);
        if (!d || *d < 0.3 || *d > 10) return Bad(name, "must be empty or a sigma from 0.3 to 10");
        spec.sharpen = *d;
      }
    } else if (canonical == "rotate") {
      auto n = ParseUint(value);
      if (!n || (*n != 0 && *n != 90 && *n != 180 && *n != 270))
        return Bad(name, "must be 0, 90, 180 or 270");
      spec.rotate = static_cast<int>(*n);
    } else if (canonical == "flip") {
      if (value == "h")
        spec.flip = Flip::kHorizontal;
      else if (value == "v")
        spec.flip = Flip::kVertical;
      else if (value == "hv" || value == "vh")
        spec.flip = Flip::kBoth;
      else
        return Bad(name, "must be h, v or hv");
    } else if (canonical == "bg") {
      std::string_view hex = value;
      if (hex.starts_with('#')) hex.remove_prefix(1);
      std::string full;
      if (hex.size() == 3) {
        for (char c : hex) full.append(2, c);
      } else {
        full = hex;
      }
      uint32_t rgb = 0;
      auto [p, ec] = std::from_chars(full.data(), full.data() + full.size(), rgb, 16);
      if (full.size() != 6 || ec != std::errc() || p != full.data() + full.size())
        return Bad(name, "must be a hex colour (rgb or rrggbb)");
      spec.background = rgb;
    } else if (canonical == "progressive" || canonical == "lossless") {
      auto f = ParseFlag(value);
      if (!f) return Bad(name, "must be empty, 1 or 0");
      (canonical == "progressive" ? spec.progressive : spec.lossless) = *f;
    } else if (canonical == "filter") {
      if (value == "lanczos3" || value == "lanczos")
        spec.filter = Resample::kLanczos3;
      else if (value == "catmullrom" || value == "cubic")
        spec.filter = Resample::kCatmullRom;
      else if (value == "linear" || value == "bilinear")
        spec.filter = Resample::kLinear;
      else
        return Bad(name, "must be lanczos3, catmullrom or linear");
    } else if (canonical == "enlarge") {
      auto f = ParseFlag(value);
      if (!f) return Bad(name, "must be empty, 1 or 0");
      spec.enlarge = *f;
    } else {
      return Bad(name, "is not a known parameter");
    }
  }
  if (square) {
    if (spec.width || spec.height) return Bad("s", "cannot be combined with w or h");
    spec.width = spec.height = *square;
    // A Gravatar size is a square: crop to fill it, unless a fit was asked for.
    bool fit_given = false;
    for (std::string_view s : seen) fit_given = fit_given || s == "fit";
    if (!fit_given) spec.fit = Fit::kCover;
  }
  if (dpr != 1) {
    auto scale = [&](uint32_t v, uint32_t max, std::string_view which) -> Result<uint32_t> {
      if (!v) return uint32_t{0};
      double scaled = std::round(v * dpr);
      if (scaled > max)
        return Bad("dpr", "makes " + std::string(which) + " exceed " + std::to_string(max));
      return static_cast<uint32_t>(scaled);
    };
    GLINT_ASSIGN_OR_RETURN(spec.width, scale(spec.width, limits.max_width, "the width"));
    GLINT_ASSIGN_OR_RETURN(spec.height, scale(spec.height, limits.max_height, "the height"));
  }
  return spec;
}

codec::PipelineOptions ToPipelineOptions(const TransformSpec& spec,
                                         const codec::HeaderLimits& limits) {
  codec::PipelineOptions o;
  o.geometry.width = spec.width;
  o.geometry.height = spec.height;
  o.geometry.fit = static_cast<codec::FitMode>(spec.fit);  // same order, checked below
  o.geometry.gravity = static_cast<codec::Anchor>(spec.gravity);
  if (spec.crop) {
    o.geometry.crop_x = spec.crop->x;
    o.geometry.crop_y = spec.crop->y;
    o.geometry.crop_w = spec.crop->w;
    o.geometry.crop_h = spec.crop->h;
  }
  o.geometry.enlarge = spec.enlarge;
  o.rotate = spec.rotate;
  o.flip_horizontal = spec.flip == Flip::kHorizontal || spec.flip == Flip::kBoth;
  o.flip_vertical = spec.flip == Flip::kVertical || spec.flip == Flip::kBoth;
  o.grayscale = spec.grayscale;
  o.blur = spec.blur;
  o.sharpen = spec.sharpen;
  o.background = spec.background;
  switch (spec.format) {
    case OutputFormat::kJpeg:
      o.format = codec::Format::kJpeg;
      break;
    case OutputFormat::kPng:
      o.format = codec::Format::kPng;
      break;
    case OutputFormat::kWebp:
      o.format = codec::Format::kWebp;
      break;
    default:
      o.format = codec::Format::kUnknown;
      break;
  }
  o.quality = spec.quality ? spec.quality : 80;
  o.progressive = spec.progressive;
  o.lossless = spec.lossless;
  o.filter = static_cast<codec::Filter>(spec.filter);
  o.limits = limits;
  return o;
}
static_assert(static_cast<int>(Fit::kOutside) == static_cast<int>(codec::FitMode::kOutside));
static_assert(static_cast<int>(Resample::kLinear) == static_cast<int>(codec::Filter::kLinear));
static_assert(static_cast<int>(Gravity::kSouthWest) == static_cast<int>(codec::Anchor::kSouthWest));

bool IsTransformParameter(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "w",      "h",    "s",       "size",        "dpr",      "fit",       "gravity", "g",
      "crop",   "q",    "quality", "fm",          "format",   "grayscale", "blur",    "sharpen",
      "rotate", "flip", "bg",      "progressive", "lossless", "filter",    "enlarge"};
  for (std::string_view n : kNames)
    if (n == name) return true;
  return false;
}

void ResolveFormat(TransformSpec& spec, std::string_view accept, bool* vary_accept) {
  if (spec.format != OutputFormat::kAuto) return;
  *vary_accept = true;
  spec.format = accept.find("image/webp") != std::string_view::npos ? OutputFormat::kWebp
                                                                    : OutputFormat::kSource;
}

}  // namespace glint::core
