#include "codec/pipeline.h"

#include <algorithm>
#include <cmath>

#include "codec/blurhash.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/ops.h"
#include "codec/orient.h"
#include "codec/resize.h"

namespace glint::codec {
namespace {

bool SwapsAxes(uint8_t orientation, int rotate) {
  bool exif = orientation >= 5 && orientation <= 8;
  bool turn = rotate == 90 || rotate == 270;
  return exif != turn;
}

// `rect` of an image `from_w` x `from_h`, mapped onto the same image at `to_w` x `to_h`.
Rect ScaleRect(const Rect& rect, uint32_t from_w, uint32_t from_h, uint32_t to_w, uint32_t to_h) {
  if (from_w == to_w && from_h == to_h) return rect;
  double sx = static_cast<double>(to_w) / from_w, sy = static_cast<double>(to_h) / from_h;
  Rect out;
  out.x = std::min<uint32_t>(static_cast<uint32_t>(std::floor(rect.x * sx)), to_w - 1);
  out.y = std::min<uint32_t>(static_cast<uint32_t>(std::floor(rect.y * sy)), to_h - 1);
  out.width =
      std::clamp<uint32_t>(static_cast<uint32_t>(std::lround(rect.width * sx)), 1, to_w - out.x);
  out.height =
      std::clamp<uint32_t>(static_cast<uint32_t>(std::lround(rect.height * sy)), 1, to_h - out.y);
  return out;
}

// The decode target for one render: the whole upright image must keep at least 2x what the
// planned region becomes (in stored, pre-orientation axes).
DecodeOptions DecodeTargetFor(const GeometryPlan& plan, uint32_t upright_w, uint32_t upright_h,
                              bool swap) {
  DecodeOptions decode;
  uint64_t tw = (static_cast<uint64_t>(plan.resize_width) * upright_w + plan.source.width - 1) /
                plan.source.width;
  uint64_t th = (static_cast<uint64_t>(plan.resize_height) * upright_h + plan.source.height - 1) /
                plan.source.height;
  decode.target_width = static_cast<uint32_t>(std::min<uint64_t>(swap ? th : tw, UINT32_MAX));
  decode.target_height = static_cast<uint32_t>(std::min<uint64_t>(swap ? tw : th, UINT32_MAX));
  return decode;
}

// Everything after decoding and turning: region, resample, pixel operations, canvas, encode.
// `image` is the upright (and rotated/flipped) source at any scale of `upright_w` x
// `upright_h`.
Result<Rendered> Finish(Image image, uint32_t upright_w, uint32_t upright_h,
                        const GeometryPlan& plan, Format source_format, uint32_t shrink,
                        const PipelineOptions& o) {
  Rect region = ScaleRect(plan.source, upright_w, upright_h, image.width, image.height);
  if (region.x != 0 || region.y != 0 || region.width != image.width ||
      region.height != image.height)
    image = Extract(image, region);
  if (image.width != plan.resize_width || image.height != plan.resize_height) {
    GLINT_ASSIGN_OR_RETURN(image, Resize(image, plan.resize_width, plan.resize_height, o.filter));
  }
  if (o.grayscale) image = Grayscale(image);
  if (o.blur > 0) image = GaussianBlur(image, o.blur);
  if (o.sharpen > 0) image = Sharpen(image, o.sharpen);

  const Format format = o.format == Format::kUnknown ? source_format : o.format;
  const bool keeps_alpha = format != Format::kJpeg;
  if (plan.canvas_width != plan.resize_width || plan.canvas_height != plan.resize_height) {
    std::optional<uint32_t> canvas = o.background;
    if (!canvas && !keeps_alpha) canvas = 0xFFFFFF;
    image =
        Embed(image, plan.canvas_width, plan.canvas_height, plan.offset_x, plan.offset_y, canvas);
  }
  if (image.has_alpha() && (!keeps_alpha || o.background))
    image = Flatten(image, o.background.value_or(0xFFFFFF));

  EncodeOptions encode;
  encode.format = format;
  encode.quality = o.quality;
  encode.progressive = o.progressive;
  encode.lossless = o.lossless;
  encode.background = o.background.value_or(0xFFFFFF);
  GLINT_ASSIGN_OR_RETURN(std::string bytes, Encode(image, encode));
  return Rendered{std::move(bytes), format, image.width, image.height, shrink};
}

}  // namespace

Result<Rendered> Render(std::span<const char> source, const PipelineOptions& o) {
  GLINT_ASSIGN_OR_RETURN(ImageHeader header, ReadHeader(source, o.limits));
  const bool swap = SwapsAxes(header.exif.orientation, o.rotate);
  const uint32_t upright_w = swap ? header.height : header.width;
  const uint32_t upright_h = swap ? header.width : header.height;
  const GeometryPlan plan = PlanGeometry(upright_w, upright_h, o.geometry);

  DecodeOptions decode = DecodeTargetFor(plan, upright_w, upright_h, swap);
  decode.limits = o.limits;
  GLINT_ASSIGN_OR_RETURN(Decoded decoded, Decode(source, header, decode));

  Image image = ApplyOrientation(std::move(decoded.image), header.exif.orientation);
  if (o.rotate) image = Rotate(std::move(image), o.rotate);
  if (o.flip_horizontal) image = FlipHorizontal(std::move(image));
  if (o.flip_vertical) image = FlipVertical(std::move(image));
  return Finish(std::move(image), upright_w, upright_h, plan, header.format, decoded.shrink, o);
}

Result<RenderSet> RenderAll(std::span<const char> source, std::span<const PipelineOptions> options,
                            const HeaderLimits& limits) {
  for (const PipelineOptions& o : options) {
    if (o.rotate != 0 || o.flip_horizontal || o.flip_vertical)
      return InvalidArgument("RenderAll applies the EXIF orientation only");
  }
  GLINT_ASSIGN_OR_RETURN(ImageHeader header, ReadHeader(source, limits));
  const bool swap = SwapsAxes(header.exif.orientation, 0);
  const uint32_t upright_w = swap ? header.height : header.width;
  const uint32_t upright_h = swap ? header.width : header.height;

  // One decode, shrunk on load only as far as the most demanding render allows.
  std::vector<GeometryPlan> plans;
  DecodeOptions decode;
  decode.limits = limits;
  for (const PipelineOptions& o : options) {
    plans.push_back(PlanGeometry(upright_w, upright_h, o.geometry));
    DecodeOptions target = DecodeTargetFor(plans.back(), upright_w, upright_h, swap);
    decode.target_width = std::max(decode.target_width, target.target_width);
    decode.target_height = std::max(decode.target_height, target.target_height);
  }
  GLINT_ASSIGN_OR_RETURN(Decoded decoded, Decode(source, header, decode));
  const Image upright = ApplyOrientation(std::move(decoded.image), header.exif.orientation);

  RenderSet out;
  GLINT_ASSIGN_OR_RETURN(out.blurhash, BlurHashOf(upright));
  for (size_t i = 0; i < options.size(); ++i) {
    GLINT_ASSIGN_OR_RETURN(Rendered r, Finish(upright, upright_w, upright_h, plans[i],
                                              header.format, decoded.shrink, options[i]));
    out.renders.push_back(std::move(r));
  }
  return out;
}

}  // namespace glint::codec
