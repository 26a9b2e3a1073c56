// Geometry of a transform: from the upright source size and what was asked (box, fit,
// gravity, crop, enlarge) to the pixel rectangle to take and the size to resample it to.
// Pure functions; any thread.
#pragma once

#include <cstdint>

namespace glint::codec {

enum class FitMode : uint8_t { kCover, kContain, kFill, kInside, kOutside };
enum class Anchor : uint8_t {
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

struct Rect {
  uint32_t x = 0, y = 0, width = 0, height = 0;
  bool operator==(const Rect&) const = default;
};

struct GeometryRequest {
  uint32_t width = 0;  // the box asked for; 0 = free (follows the aspect ratio)
  uint32_t height = 0;
  FitMode fit = FitMode::kInside;
  Anchor gravity = Anchor::kCenter;
  // Crop in fractions of the upright source, applied first (x, y, w, h); all 0 = none.
  double crop_x = 0, crop_y = 0, crop_w = 0, crop_h = 0;
  bool enlarge = false;  // allow the result to be larger than the (cropped) source
};

struct GeometryPlan {
  Rect source;                // the region of the upright source to use
  uint32_t resize_width = 0;  // what that region is resampled to
  uint32_t resize_height = 0;
  // The output canvas: equal to the resize size except for contain, where the resized image
  // is centred (per gravity) on a canvas of the asked box filled with the background.
  uint32_t canvas_width = 0;
  uint32_t canvas_height = 0;
  uint32_t offset_x = 0, offset_y = 0;  // where the resized image sits on the canvas
};

// Plans for a source of `src_width` x `src_height` (both > 0). Every output size is at least
// 1 x 1. Without `enlarge`, a request larger than the source is scaled down to fit the
// source's own pixels (the aspect ratio asked for is kept for cover/fill/contain).
GeometryPlan PlanGeometry(uint32_t src_width, uint32_t src_height, const GeometryRequest& request);

}  // namespace glint::codec
