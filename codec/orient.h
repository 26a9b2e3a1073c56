// Orientation: turning decoded pixels upright, and the explicit rotate/flip operations of
// the transform language.
//
// Every function takes an Image by value (move it in to avoid a copy) and returns the
// result; 3- and 4-channel images are handled alike and `premultiplied` is carried over
// unchanged (these operations only move pixels). REQUIRES: image.pixels.size() ==
// image.height * image.stride() (asserted).
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>

#include "codec/image.h"

namespace glint::codec {

// Returns `image` turned upright for EXIF orientation `orientation`, using the EXIF/TIFF
// definitions: 1 unchanged; 2 flip horizontal; 3 rotate 180; 4 flip vertical; 5 transpose
// (mirror across the top-left/bottom-right diagonal); 6 rotate 90 clockwise; 7 transverse
// (mirror across the top-right/bottom-left diagonal); 8 rotate 90 counter-clockwise.
// Width and height swap for 5..8. Values outside 1..8 are treated as 1.
Image ApplyOrientation(Image image, uint8_t orientation);

// Returns `image` rotated clockwise by `degrees_cw`.
// REQUIRES: degrees_cw is 0, 90, 180 or 270 (asserted); other values return the image
// unchanged in release builds.
Image Rotate(Image image, int degrees_cw);

// Returns `image` mirrored left to right.
Image FlipHorizontal(Image image);

// Returns `image` mirrored top to bottom.
Image FlipVertical(Image image);

}  // namespace glint::codec
