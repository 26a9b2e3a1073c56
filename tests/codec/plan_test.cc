#include "codec/plan.h"

#include <gtest/gtest.h>

namespace glint::codec {
namespace {

GeometryRequest Box(uint32_t w, uint32_t h, FitMode fit, Anchor g = Anchor::kCenter) {
  GeometryRequest r;
  r.width = w;
  r.height = h;
  r.fit = fit;
  r.gravity = g;
  return r;
}

TEST(PlanTest, NoBoxKeepsTheSource) {
  GeometryPlan p = PlanGeometry(640, 480, {});
  EXPECT_EQ(p.source, (Rect{0, 0, 640, 480}));
  EXPECT_EQ(p.resize_width, 640u);
  EXPECT_EQ(p.resize_height, 480u);
}

TEST(PlanTest, OneSideFollowsTheAspectRatio) {
  GeometryPlan p = PlanGeometry(4000, 3000, Box(150, 0, FitMode::kCover));
  EXPECT_EQ(p.resize_width, 150u);
  EXPECT_EQ(p.resize_height, 113u);  // 112.5 rounds up
  EXPECT_EQ(p.source, (Rect{0, 0, 4000, 3000}));
}

TEST(PlanTest, InsideFitsWithinTheBox) {
  GeometryPlan p = PlanGeometry(4000, 3000, Box(200, 200, FitMode::kInside));
  EXPECT_EQ(p.resize_width, 200u);
  EXPECT_EQ(p.resize_height, 150u);
  EXPECT_EQ(p.canvas_width, 200u);
  EXPECT_EQ(p.canvas_height, 150u);
}

TEST(PlanTest, CoverCropsToTheBoxAspectByGravity) {
  GeometryPlan c = PlanGeometry(400, 200, Box(100, 100, FitMode::kCover));
  EXPECT_EQ(c.source, (Rect{100, 0, 200, 200}));
  EXPECT_EQ(c.resize_width, 100u);
  EXPECT_EQ(c.resize_height, 100u);
  GeometryPlan w = PlanGeometry(400, 200, Box(100, 100, FitMode::kCover, Anchor::kWest));
  EXPECT_EQ(w.source, (Rect{0, 0, 200, 200}));
  GeometryPlan e = PlanGeometry(400, 200, Box(100, 100, FitMode::kCover, Anchor::kSouthEast));
  EXPECT_EQ(e.source, (Rect{200, 0, 200, 200}));
  GeometryPlan n = PlanGeometry(200, 400, Box(100, 100, FitMode::kCover, Anchor::kNorth));
  EXPECT_EQ(n.source, (Rect{0, 0, 200, 200}));
}

TEST(PlanTest, ContainLetterboxesOnTheBox) {
  GeometryPlan p = PlanGeometry(400, 200, Box(100, 100, FitMode::kContain));
  EXPECT_EQ(p.resize_width, 100u);
  EXPECT_EQ(p.resize_height, 50u);
  EXPECT_EQ(p.canvas_width, 100u);
  EXPECT_EQ(p.canvas_height, 100u);
  EXPECT_EQ(p.offset_x, 0u);
  EXPECT_EQ(p.offset_y, 25u);
}

TEST(PlanTest, FillStretches) {
  GeometryPlan p = PlanGeometry(400, 200, Box(100, 100, FitMode::kFill));
  EXPECT_EQ(p.source, (Rect{0, 0, 400, 200}));
  EXPECT_EQ(p.resize_width, 100u);
  EXPECT_EQ(p.resize_height, 100u);
}

TEST(PlanTest, OutsideCoversTheBoxWithoutCropping) {
  GeometryPlan p = PlanGeometry(400, 200, Box(100, 100, FitMode::kOutside));
  EXPECT_EQ(p.resize_width, 200u);
  EXPECT_EQ(p.resize_height, 100u);
}

TEST(PlanTest, NoUpscaleUnlessAsked) {
  GeometryPlan p = PlanGeometry(80, 60, Box(800, 0, FitMode::kInside));
  EXPECT_EQ(p.resize_width, 80u);
  EXPECT_EQ(p.resize_height, 60u);
  GeometryPlan cover = PlanGeometry(80, 60, Box(200, 200, FitMode::kCover));
  EXPECT_EQ(cover.resize_width, 60u) << "the square keeps its shape at the source's scale";
  EXPECT_EQ(cover.resize_height, 60u);
  GeometryRequest big = Box(800, 0, FitMode::kInside);
  big.enlarge = true;
  GeometryPlan up = PlanGeometry(80, 60, big);
  EXPECT_EQ(up.resize_width, 800u);
  EXPECT_EQ(up.resize_height, 600u);
}

TEST(PlanTest, CropIsInFractionsOfTheSource) {
  GeometryRequest r;
  r.crop_x = 0.25;
  r.crop_y = 0.5;
  r.crop_w = 0.5;
  r.crop_h = 0.5;
  GeometryPlan p = PlanGeometry(400, 200, r);
  EXPECT_EQ(p.source, (Rect{100, 100, 200, 100}));
  EXPECT_EQ(p.resize_width, 200u);
  // The same fractions on a 4x larger source select the same region.
  GeometryPlan big = PlanGeometry(1600, 800, r);
  EXPECT_EQ(big.source, (Rect{400, 400, 800, 400}));
}

TEST(PlanTest, TinyResultsAreAtLeastOnePixel) {
  GeometryPlan p = PlanGeometry(10000, 10, Box(5, 0, FitMode::kInside));
  EXPECT_GE(p.resize_width, 1u);
  EXPECT_GE(p.resize_height, 1u);
  GeometryRequest r;
  r.crop_x = 0.9999;
  r.crop_w = 0.0001;
  r.crop_h = 1;
  GeometryPlan c = PlanGeometry(3, 3, r);
  EXPECT_GE(c.source.width, 1u);
  EXPECT_LE(c.source.x + c.source.width, 3u);
}

}  // namespace
}  // namespace glint::codec
