#include "codec/plan.h"

#include <algorithm>
#include <cmath>

namespace glint::codec {
namespace {

uint32_t AtLeastOne(double v) { return static_cast<uint32_t>(std::max(1.0, std::round(v))); }

// Where a `inner` long span sits inside an `outer` long span for the gravity's position on
// this axis (-1 start, 0 middle, +1 end).
uint32_t Place(uint32_t outer, uint32_t inner, int side) {
  if (inner >= outer) return 0;
  uint32_t room = outer - inner;
  return side < 0 ? 0 : side > 0 ? room : room / 2;
}

int HorizontalSide(Anchor g) {
  switch (g) {
    case Anchor::kWest:
    case Anchor::kNorthWest:
    case Anchor::kSouthWest:
      return -1;
    case Anchor::kEast:
    case Anchor::kNorthEast:
    case Anchor::kSouthEast:
      return 1;
    default:
      return 0;
  }
}

int VerticalSide(Anchor g) {
  switch (g) {
    case Anchor::kNorth:
    case Anchor::kNorthEast:
    case Anchor::kNorthWest:
      return -1;
    case Anchor::kSouth:
    case Anchor::kSouthEast:
    case Anchor::kSouthWest:
      return 1;
    default:
      return 0;
  }
}

}  // namespace

GeometryPlan PlanGeometry(uint32_t src_width, uint32_t src_height, const GeometryRequest& r) {
  GeometryPlan plan;
  Rect& src = plan.source;
  src = {0, 0, src_width, src_height};
  if (r.crop_w > 0 && r.crop_h > 0) {
    uint32_t x =
        std::min<uint32_t>(static_cast<uint32_t>(std::floor(r.crop_x * src_width)), src_width - 1);
    uint32_t y = std::min<uint32_t>(static_cast<uint32_t>(std::floor(r.crop_y * src_height)),
                                    src_height - 1);
    src = {x, y, std::min(AtLeastOne(r.crop_w * src_width), src_width - x),
           std::min(AtLeastOne(r.crop_h * src_height), src_height - y)};
  }
  const double sw = src.width, sh = src.height;
  double bw = r.width, bh = r.height;
  // A free side follows the source's aspect ratio; then every fit is the same.
  if (bw == 0 && bh == 0) {
    bw = sw;
    bh = sh;
  } else if (bw == 0) {
    bw = sw * bh / sh;
  } else if (bh == 0) {
    bh = sh * bw / sw;
  }
  FitMode fit = (r.width == 0 || r.height == 0) ? FitMode::kFill : r.fit;

  double out_w = bw, out_h = bh;  // size of the resampled image
  double box_w = bw, box_h = bh;  // canvas (contain only differs)
  switch (fit) {
    case FitMode::kFill:
      break;
    case FitMode::kInside:
    case FitMode::kContain: {
      double s = std::min(bw / sw, bh / sh);
      out_w = sw * s;
      out_h = sh * s;
      if (fit == FitMode::kInside) box_w = out_w, box_h = out_h;
      break;
    }
    case FitMode::kOutside: {
      double s = std::max(bw / sw, bh / sh);
      out_w = box_w = sw * s;
      out_h = box_h = sh * s;
      break;
    }
    case FitMode::kCover: {
      // Take the largest region of the box's aspect ratio, placed by gravity, then resample
      // it to the box.
      double s = std::max(bw / sw, bh / sh);
      uint32_t take_w = std::min(src.width, AtLeastOne(bw / s));
      uint32_t take_h = std::min(src.height, AtLeastOne(bh / s));
      src.x += Place(src.width, take_w, HorizontalSide(r.gravity));
      src.y += Place(src.height, take_h, VerticalSide(r.gravity));
      src.width = take_w;
      src.height = take_h;
      break;
    }
  }
  if (!r.enlarge) {
    // Never more pixels than the source region has: scale everything down together.
    double grow = std::max(out_w / src.width, out_h / src.height);
    if (grow > 1) {
      out_w /= grow;
      out_h /= grow;
      box_w /= grow;
      box_h /= grow;
    }
  }
  plan.resize_width = AtLeastOne(out_w);
  plan.resize_height = AtLeastOne(out_h);
  plan.canvas_width = std::max(plan.resize_width, AtLeastOne(box_w));
  plan.canvas_height = std::max(plan.resize_height, AtLeastOne(box_h));
  plan.offset_x = Place(plan.canvas_width, plan.resize_width, HorizontalSide(r.gravity));
  plan.offset_y = Place(plan.canvas_height, plan.resize_height, VerticalSide(r.gravity));
  return plan;
}

}  // namespace glint::codec
