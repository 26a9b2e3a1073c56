// Pixel operations of the transform language, on straight-alpha (not premultiplied) images:
// extract a region, grayscale, Gaussian blur, unsharp-mask sharpen, flatten alpha onto a
// colour, and embed on a larger canvas. Each returns a new image; inputs are not modified.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>

#include "codec/image.h"
#include "codec/plan.h"

namespace glint::codec {

// The pixels of `rect`, which must lie inside the image.
Image Extract(const Image& image, const Rect& rect);

// Rec. 601 luma written to R, G and B (alpha kept).
Image Grayscale(const Image& image);

// Separable Gaussian blur of standard deviation `sigma` (> 0), edges clamped; alpha is
// blurred premultiplied so transparent pixels lend no colour. Up to sigma 2 the kernel is
// exact; above, three box blurs of the same variance stand in for it (the usual fast
// approximation, as in browsers' CSS blur), so the cost per pixel is constant in sigma: a
// large blur cannot be used to tie up a CPU worker.
Image GaussianBlur(const Image& image, double sigma);

// Unsharp mask: image + (image - blur(image, sigma)), clamped to 0..255; alpha untouched.
Image Sharpen(const Image& image, double sigma);

// Composites RGBA over an opaque 0xRRGGBB colour and returns RGB; RGB images are returned
// unchanged.
Image Flatten(const Image& image, uint32_t rgb);

// Places `image` at (x, y) on a canvas of width x height filled with `rgb`, or transparent
// when `rgb` is nullopt (the canvas then has alpha). The image must fit.
Image Embed(const Image& image, uint32_t width, uint32_t height, uint32_t x, uint32_t y,
            std::optional<uint32_t> rgb);

}  // namespace glint::codec
