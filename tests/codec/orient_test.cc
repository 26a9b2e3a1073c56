#include "codec/orient.h"

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "codec/image.h"

namespace glint::codec {
namespace {

// A 3x2 image whose pixels are labelled 1..6 in reading order (every channel holds
// label * 10 + channel index), so any misplaced pixel or channel shows:
//   1 2 3
//   4 5 6
Image Labelled(uint32_t width, uint32_t height, uint8_t channels) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  for (uint32_t i = 0; i < width * height; ++i) {
    for (uint8_t c = 0; c < channels; ++c) {
      image.pixels.push_back(static_cast<uint8_t>((i + 1) * 10 + c));
    }
  }
  return image;
}

// The labels of `image` in reading order, checking every channel agrees with its label.
std::vector<int> Labels(const Image& image) {
  std::vector<int> labels;
  for (size_t i = 0; i < image.pixels.size(); i += image.channels) {
    const int label = image.pixels[i] / 10;
    for (uint8_t c = 0; c < image.channels; ++c) {
      EXPECT_EQ(image.pixels[i + c], label * 10 + c) << "pixel " << i / image.channels;
    }
    labels.push_back(label);
  }
  return labels;
}

struct Expected {
  uint8_t orientation;
  uint32_t width;
  uint32_t height;
  std::vector<int> labels;
};

// The upright layouts of the stored 3x2 image "1 2 3 / 4 5 6" under each EXIF orientation.
const std::vector<Expected>& ExpectedLayouts() {
  static const std::vector<Expected> kLayouts = {
      {1, 3, 2, {1, 2, 3, 4, 5, 6}},  // 1 2 3 / 4 5 6
      {2, 3, 2, {3, 2, 1, 6, 5, 4}},  // mirrored left-right
      {3, 3, 2, {6, 5, 4, 3, 2, 1}},  // upside down
      {4, 3, 2, {4, 5, 6, 1, 2, 3}},  // mirrored top-bottom
      {5, 2, 3, {1, 4, 2, 5, 3, 6}},  // transpose: 1 4 / 2 5 / 3 6
      {6, 2, 3, {4, 1, 5, 2, 6, 3}},  // 90 CW: 4 1 / 5 2 / 6 3
      {7, 2, 3, {6, 3, 5, 2, 4, 1}},  // transverse: 6 3 / 5 2 / 4 1
      {8, 2, 3, {3, 6, 2, 5, 1, 4}},  // 90 CCW: 3 6 / 2 5 / 1 4
  };
  return kLayouts;
}

TEST(OrientTest, EveryOrientationMatchesTheExifDefinition) {
  for (uint8_t channels : {3, 4}) {
    for (const Expected& e : ExpectedLayouts()) {
      SCOPED_TRACE(testing::Message()
                   << "orientation " << int{e.orientation} << ", " << int{channels} << " channels");
      Image out = ApplyOrientation(Labelled(3, 2, channels), e.orientation);
      EXPECT_EQ(out.width, e.width);
      EXPECT_EQ(out.height, e.height);
      EXPECT_EQ(out.channels, channels);
      EXPECT_EQ(out.pixels.size(), 6u * channels);
      EXPECT_EQ(Labels(out), e.labels);
    }
  }
}

TEST(OrientTest, OrientationOutsideOneToEightIsIdentity) {
  for (uint8_t orientation : {0, 9, 255}) {
    Image out = ApplyOrientation(Labelled(3, 2, 3), orientation);
    EXPECT_EQ(out.width, 3u);
    EXPECT_EQ(out.height, 2u);
    EXPECT_EQ(Labels(out), (std::vector<int>{1, 2, 3, 4, 5, 6}));
  }
}

// Orienting then applying the inverse restores the stored image: 6 and 8 undo each other;
// every other orientation is its own inverse.
TEST(OrientTest, InverseOrientationRestoresTheImage) {
  const uint8_t kInverse[9] = {0, 1, 2, 3, 4, 5, 8, 7, 6};
  const Image original = Labelled(5, 3, 4);
  for (uint8_t o = 1; o <= 8; ++o) {
    Image back = ApplyOrientation(ApplyOrientation(original, o), kInverse[o]);
    EXPECT_EQ(back.width, original.width) << int{o};
    EXPECT_EQ(back.height, original.height) << int{o};
    EXPECT_EQ(back.pixels, original.pixels) << int{o};
  }
}

TEST(OrientTest, RotateMatchesOrientations) {
  const Image original = Labelled(3, 2, 3);
  EXPECT_EQ(Rotate(original, 0).pixels, original.pixels);
  EXPECT_EQ(Labels(Rotate(original, 90)), (std::vector<int>{4, 1, 5, 2, 6, 3}));
  EXPECT_EQ(Labels(Rotate(original, 180)), (std::vector<int>{6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(Labels(Rotate(original, 270)), (std::vector<int>{3, 6, 2, 5, 1, 4}));
  EXPECT_EQ(Rotate(original, 90).width, 2u);
  EXPECT_EQ(Rotate(original, 270).height, 3u);
}

TEST(OrientTest, RotatingFourQuarterTurnsIsIdentity) {
  for (uint8_t channels : {3, 4}) {
    const Image original = Labelled(7, 4, channels);
    Image image = original;
    for (int i = 0; i < 4; ++i) image = Rotate(std::move(image), 90);
    EXPECT_EQ(image.width, original.width);
    EXPECT_EQ(image.height, original.height);
    EXPECT_EQ(image.pixels, original.pixels);
    image = Rotate(Rotate(std::move(image), 180), 180);
    EXPECT_EQ(image.pixels, original.pixels);
    image = Rotate(Rotate(std::move(image), 90), 270);
    EXPECT_EQ(image.pixels, original.pixels);
  }
}

TEST(OrientTest, FlipsMatchOrientationsAndUndoThemselves) {
  for (uint8_t channels : {3, 4}) {
    const Image original = Labelled(3, 2, channels);
    EXPECT_EQ(Labels(FlipHorizontal(original)), (std::vector<int>{3, 2, 1, 6, 5, 4}));
    EXPECT_EQ(Labels(FlipVertical(original)), (std::vector<int>{4, 5, 6, 1, 2, 3}));
    EXPECT_EQ(FlipHorizontal(FlipHorizontal(original)).pixels, original.pixels);
    EXPECT_EQ(FlipVertical(FlipVertical(original)).pixels, original.pixels);
  }
  // Odd sizes have a middle row/column that stays put.
  const Image odd = Labelled(5, 3, 3);
  EXPECT_EQ(FlipHorizontal(FlipHorizontal(odd)).pixels, odd.pixels);
  EXPECT_EQ(FlipVertical(FlipVertical(odd)).pixels, odd.pixels);
}

TEST(OrientTest, PremultipliedFlagIsKept) {
  Image image = Labelled(3, 2, 4);
  image.premultiplied = true;
  for (uint8_t o = 1; o <= 8; ++o) EXPECT_TRUE(ApplyOrientation(image, o).premultiplied);
  EXPECT_TRUE(Rotate(image, 90).premultiplied);
  EXPECT_TRUE(FlipHorizontal(image).premultiplied);
  EXPECT_TRUE(FlipVertical(image).premultiplied);
}

TEST(OrientTest, SinglePixelAndSingleRowImagesWork) {
  const Image one = Labelled(1, 1, 3);
  for (uint8_t o = 1; o <= 8; ++o) EXPECT_EQ(ApplyOrientation(one, o).pixels, one.pixels);
  Image column = Rotate(Labelled(4, 1, 4), 90);
  EXPECT_EQ(column.width, 1u);
  EXPECT_EQ(column.height, 4u);
  EXPECT_EQ(Labels(column), (std::vector<int>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace glint::codec
