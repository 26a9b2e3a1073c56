// BlurHash (https://blurha.sh): a 20-30 character ASCII string that a client decodes into a
// blurred placeholder while the real image loads. The encoding follows the published
// algorithm and its reference implementations exactly (sRGB <-> linear, a cosine basis of
// `x_components` x `y_components`, base-83 digits), so any BlurHash decoder reads it.
//
// Pure functions; any thread.
#pragma once

#include <string>

#include "base/status.h"
#include "codec/image.h"

namespace glint::codec {

// The BlurHash of `image` (RGB, or RGBA laid over white). Components 1..9 on each axis.
// Cost is width * height * x_components * y_components: callers pass a small image (a few
// dozen pixels a side, see BlurHashOf). Errors: kInvalidArgument for an empty image or a
// component count out of range.
Result<std::string> EncodeBlurHash(const Image& image, int x_components, int y_components);

// The BlurHash of a photo at any size: shrinks `image` to at most 32 pixels a side first,
// and uses 4 components along the longer side and 3 along the shorter.
Result<std::string> BlurHashOf(const Image& image);

}  // namespace glint::codec
