#include "codec/avatar_defaults.h"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace glint::codec {
namespace {

// ---------------------------------------------------------------------------------------
// Fixed-point geometry. Coordinates are 1/256 pixel (Fx); the drawings are designed on a
// 1024 x 1024 grid of "design units" and scaled to the requested size exactly in integers.

using Fx = int64_t;
constexpr Fx kOne = 256;  // one pixel
constexpr int kDesign = 1024;

Fx FloorDiv(Fx a, Fx b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// floor(sqrt(v)), exact: the double estimate is corrected in integers, so the result does
// not depend on the platform's floating point.
Fx ISqrt(Fx v) {
  if (v <= 0) return 0;
  Fx r = static_cast<Fx>(std::sqrt(static_cast<double>(v)));
  while (r > 0 && r * r > v) --r;
  while ((r + 1) * (r + 1) <= v) ++r;
  return r;
}

// cos(k * pi / 32) * 16384 for k = 0..16; CosTurn/SinTurn extend it to a whole turn of 64
// steps. A table, not std::cos, so arcs are identical on every libm.
constexpr std::array<Fx, 17> kCosQuarter = {16384, 16305, 16069, 15679, 15137, 14449,
                                            13623, 12665, 11585, 10394, 9102,  7723,
                                            6270,  4756,  3196,  1606,  0};
Fx CosTurn(int k) {  // k in 1/64 turns
  k = ((k % 64) + 64) % 64;
  if (k <= 16) return kCosQuarter[k];
  if (k <= 32) return -kCosQuarter[32 - k];
  if (k <= 48) return -kCosQuarter[k - 32];
  return kCosQuarter[64 - k];
}
Fx SinTurn(int k) { return CosTurn(k - 16); }

struct Point {
  Fx x = 0;
  Fx y = 0;
};

// A convex shape: its intersection with any horizontal line is one interval, which is what
// the scanline rasteriser asks for (SpanAt).
struct Shape {
  enum class Kind { kEllipse, kRoundRect, kPolygon, kCapsule };
  static constexpr int kMaxPoints = 24;

  Kind kind = Kind::kPolygon;
  Point a, b;  // ellipse: centre, radii; round rect: corners; capsule: ends
  Fx r = 0;    // round rect: corner radius; capsule: half the stroke width
  std::array<Point, kMaxPoints> pts{};  // polygon; capsule: the quad between the end caps
  int n = 0;
  Fx min_x = 0, min_y = 0, max_x = 0, max_y = 0;  // bounding box

  static Shape Ellipse(Fx cx, Fx cy, Fx rx, Fx ry) {
    Shape s;
    s.kind = Kind::kEllipse;
    s.a = {cx, cy};
    s.b = {std::max<Fx>(rx, 1), std::max<Fx>(ry, 1)};
    s.min_x = cx - s.b.x, s.max_x = cx + s.b.x, s.min_y = cy - s.b.y, s.max_y = cy + s.b.y;
    return s;
  }
  static Shape RoundRect(Fx x0, Fx y0, Fx x1, Fx y1, Fx r) {
    Shape s;
    s.kind = Kind::kRoundRect;
    s.a = {std::min(x0, x1), std::min(y0, y1)};
    s.b = {std::max(x0, x1), std::max(y0, y1)};
    s.r = std::clamp<Fx>(r, 0, std::min(s.b.x - s.a.x, s.b.y - s.a.y) / 2);
    s.min_x = s.a.x, s.max_x = s.b.x, s.min_y = s.a.y, s.max_y = s.b.y;
    return s;
  }
  static Shape Polygon(std::span<const Point> points) {
    assert(points.size() >= 3 && points.size() <= kMaxPoints);
    Shape s;
    s.kind = Kind::kPolygon;
    s.n = static_cast<int>(points.size());
    std::copy(points.begin(), points.end(), s.pts.begin());
    s.Bound();
    return s;
  }
  static Shape Capsule(Point p0, Point p1, Fx r) {
    Shape s;
    s.kind = Kind::kCapsule;
    s.a = p0;
    s.b = p1;
    s.r = std::max<Fx>(r, 1);
    const Fx dx = p1.x - p0.x, dy = p1.y - p0.y;
    const Fx len = ISqrt(dx * dx + dy * dy);
    if (len > 0) {
      const Fx nx = -dy * s.r / len, ny = dx * s.r / len;
      s.pts[0] = {p0.x + nx, p0.y + ny};
      s.pts[1] = {p1.x + nx, p1.y + ny};
      s.pts[2] = {p1.x - nx, p1.y - ny};
      s.pts[3] = {p0.x - nx, p0.y - ny};
      s.n = 4;
    }
    s.min_x = std::min(p0.x, p1.x) - s.r, s.max_x = std::max(p0.x, p1.x) + s.r;
    s.min_y = std::min(p0.y, p1.y) - s.r, s.max_y = std::max(p0.y, p1.y) + s.r;
    return s;
  }

  void Bound() {
    min_x = max_x = pts[0].x;
    min_y = max_y = pts[0].y;
    for (int i = 1; i < n; ++i) {
      min_x = std::min(min_x, pts[i].x), max_x = std::max(max_x, pts[i].x);
      min_y = std::min(min_y, pts[i].y), max_y = std::max(max_y, pts[i].y);
    }
  }
};

// The interval [*l, *r) of row `y` inside the ellipse centred at c with radii rad.
bool EllipseSpan(Point c, Point rad, Fx y, Fx* l, Fx* r) {
  const Fx dy = y - c.y;
  if (dy <= -rad.y || dy >= rad.y) return false;
  const Fx half = rad.x * ISqrt(rad.y * rad.y - dy * dy) / rad.y;
  *l = c.x - half;
  *r = c.x + half;
  return true;
}

bool PolygonSpan(const Shape& s, Fx y, Fx* l, Fx* r) {
  bool hit = false;
  for (int i = 0; i < s.n; ++i) {
    const Point p = s.pts[i], q = s.pts[(i + 1) % s.n];
    if (p.y == q.y) continue;
    if (y < std::min(p.y, q.y) || y >= std::max(p.y, q.y)) continue;
    const Fx x = p.x + (y - p.y) * (q.x - p.x) / (q.y - p.y);
    *l = hit ? std::min(*l, x) : x;
    *r = hit ? std::max(*r, x) : x;
    hit = true;
  }
  return hit && *l < *r;
}

bool SpanAt(const Shape& s, Fx y, Fx* l, Fx* r) {
  if (y < s.min_y || y >= s.max_y) return false;
  switch (s.kind) {
    case Shape::Kind::kEllipse:
      return EllipseSpan(s.a, s.b, y, l, r);
    case Shape::Kind::kRoundRect: {
      Fx inset = 0;
      const Fx top = s.a.y + s.r, bottom = s.b.y - s.r;
      const Fx dy = y < top ? top - y : (y > bottom ? y - bottom : 0);
      if (dy > 0) inset = s.r - ISqrt(s.r * s.r - dy * dy);
      *l = s.a.x + inset;
      *r = s.b.x - inset;
      return *l < *r;
    }
    case Shape::Kind::kPolygon:
      return PolygonSpan(s, y, l, r);
    case Shape::Kind::kCapsule: {
      // A capsule is convex, so its row is the hull of the rows of its three parts.
      bool hit = false;
      Fx pl, pr;
      auto merge = [&](bool ok) {
        if (!ok) return;
        *l = hit ? std::min(*l, pl) : pl;
        *r = hit ? std::max(*r, pr) : pr;
        hit = true;
      };
      merge(EllipseSpan(s.a, {s.r, s.r}, y, &pl, &pr));
      merge(EllipseSpan(s.b, {s.r, s.r}, y, &pl, &pr));
      if (s.n == 4) merge(PolygonSpan(s, y, &pl, &pr));
      return hit && *l < *r;
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Colours.

struct Rgba {
  uint8_t r = 0, g = 0, b = 0, a = 255;
};

constexpr Rgba Rgb(uint8_t r, uint8_t g, uint8_t b) { return {r, g, b, 255}; }

// HSL (hue in degrees, saturation and lightness in percent) to RGB, in integers.
Rgba Hsl(int h, int s, int l, uint8_t alpha = 255) {
  h = ((h % 360) + 360) % 360;
  s = std::clamp(s, 0, 100);
  l = std::clamp(l, 0, 100);
  const int c = (100 - std::abs(2 * l - 100)) * s;  // chroma, scaled by 10000
  const int x = c * (60 - std::abs(h % 120 - 60)) / 60;
  const int m = l * 100 - c / 2;
  int rgb[3] = {0, 0, 0};
  switch (h / 60) {
    case 0:
      rgb[0] = c, rgb[1] = x;
      break;
    case 1:
      rgb[0] = x, rgb[1] = c;
      break;
    case 2:
      rgb[1] = c, rgb[2] = x;
      break;
    case 3:
      rgb[1] = x, rgb[2] = c;
      break;
    case 4:
      rgb[0] = x, rgb[2] = c;
      break;
    default:
      rgb[0] = c, rgb[2] = x;
      break;
  }
  auto channel = [&](int v) {
    return static_cast<uint8_t>(std::clamp(((v + m) * 255 + 5000) / 10000, 0, 255));
  };
  return {channel(rgb[0]), channel(rgb[1]), channel(rgb[2]), alpha};
}

// The seed's random stream: XXH3 of the seed (salted per style, so one email's styles do
// not share colours), then splitmix64.
class Rng {
 public:
  Rng(std::string_view seed, uint64_t salt)
      : state_(XXH3_64bits_withSeed(seed.data(), seed.size(), salt)) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (the modulo bias is irrelevant for drawing).
  int Range(int lo, int hi) { return lo + static_cast<int>(Next() % uint64_t(hi - lo + 1)); }
  bool Chance(int percent) { return Range(0, 99) < percent; }

 private:
  uint64_t state_;
};

// ---------------------------------------------------------------------------------------
// The canvas: opaque straight RGBA (every style clears it to an opaque colour first) and a
// scanline rasteriser with exact horizontal coverage and kSub sample rows per pixel.

class Canvas {
 public:
  static constexpr int kSub = 8;
  static constexpr int kFull = kSub * kOne;  // coverage of a fully covered pixel

  explicit Canvas(uint32_t size)
      : size_(static_cast<int>(size)),
        pixels_(static_cast<size_t>(size) * size * 4, 0),
        delta_(size + 2, 0),
        row_(size, 0) {}

  int size() const { return size_; }

  // Design units (1024 per side) to fixed point, rounded to the nearest 1/256 pixel.
  Fx D(Fx v) const { return FloorDiv(v * size_ * kOne + kDesign / 2, kDesign); }

  void Clear(Rgba c) { FillPixels(0, 0, size_, size_, c); }

  // Whole pixels [x0, x1) x [y0, y1), no anti-aliasing: the pixel-art styles' cells.
  void FillPixels(int x0, int y0, int x1, int y1, Rgba c) {
    x0 = std::max(x0, 0), y0 = std::max(y0, 0);
    x1 = std::min(x1, size_), y1 = std::min(y1, size_);
    if (x0 >= x1 || y0 >= y1) return;
    for (int x = x0; x < x1; ++x) Put(x, y0, c);
    const size_t stride = static_cast<size_t>(size_) * 4, bytes = static_cast<size_t>(x1 - x0) * 4;
    const uint8_t* first = &pixels_[y0 * stride + static_cast<size_t>(x0) * 4];
    for (int y = y0 + 1; y < y1; ++y) {
      std::memcpy(&pixels_[y * stride + static_cast<size_t>(x0) * 4], first, bytes);
    }
  }

  void Fill(const Shape& shape, Rgba c) { Fill(std::span<const Shape>(&shape, 1), c); }

  // Paints the union of `shapes` once (overlaps do not darken edges: per pixel the largest
  // coverage counts), so a polyline of capsules reads as one stroke.
  void Fill(std::span<const Shape> shapes, Rgba c) {
    if (shapes.empty()) return;
    Fx min_y = shapes[0].min_y, max_y = shapes[0].max_y;
    for (const Shape& s : shapes)
      min_y = std::min(min_y, s.min_y), max_y = std::max(max_y, s.max_y);
    const int y0 = static_cast<int>(std::max<Fx>(0, FloorDiv(min_y, kOne)));
    const int y1 = static_cast<int>(std::min<Fx>(size_, FloorDiv(max_y, kOne) + 1));
    const bool single = shapes.size() == 1;
    for (int y = y0; y < y1; ++y) {
      int row_lo = size_, row_hi = 0;
      for (const Shape& s : shapes) {
        if (s.max_y <= Fx{y} * kOne || s.min_y >= Fx{y + 1} * kOne) continue;
        int lo = 0, hi = 0;
        if (!Accumulate(s, y, &lo, &hi)) continue;
        int32_t acc = 0;
        for (int x = lo; x <= hi; ++x) {
          acc += delta_[x];
          delta_[x] = 0;
          if (x >= size_) continue;
          if (single) {
            Blend(x, y, acc, c);
          } else {
            row_[x] = std::max(row_[x], acc);
          }
        }
        row_lo = std::min(row_lo, lo), row_hi = std::max(row_hi, std::min(hi, size_ - 1));
      }
      if (single) continue;
      for (int x = row_lo; x <= row_hi; ++x) {
        Blend(x, y, row_[x], c);
        row_[x] = 0;
      }
    }
  }

  Image Take() && {
    Image image;
    image.width = image.height = static_cast<uint32_t>(size_);
    image.channels = 4;
    image.premultiplied = false;
    image.pixels = std::move(pixels_);
    return image;
  }

 private:
  // Adds the coverage of `s` in pixel row y to delta_ (a difference array: the running sum
  // is the coverage), and says which delta_ entries [*lo, *hi] it touched.
  bool Accumulate(const Shape& s, int y, int* lo, int* hi) {
    const Fx limit = Fx{size_} * kOne;
    bool any = false;
    for (int k = 0; k < kSub; ++k) {
      const Fx sy = Fx{y} * kOne + (2 * k + 1) * kOne / (2 * kSub);
      Fx l, r;
      if (!SpanAt(s, sy, &l, &r)) continue;
      l = std::max<Fx>(l, 0), r = std::min(r, limit);
      if (l >= r) continue;
      const int il = static_cast<int>(l / kOne), ir = static_cast<int>(r / kOne);
      if (il == ir) {
        Add(il, static_cast<int32_t>(r - l));
      } else {
        Add(il, static_cast<int32_t>(Fx{il + 1} * kOne - l));
        delta_[il + 1] += kOne;
        delta_[ir] -= kOne;
        Add(ir, static_cast<int32_t>(r - Fx{ir} * kOne));
      }
      *lo = any ? std::min(*lo, il) : il;
      *hi = any ? std::max(*hi, ir + 1) : ir + 1;
      any = true;
    }
    return any;
  }
  void Add(int x, int32_t v) {
    delta_[x] += v;
    delta_[x + 1] -= v;
  }

  void Put(int x, int y, Rgba c) {
    uint8_t* p = &pixels_[(static_cast<size_t>(y) * size_ + x) * 4];
    p[0] = c.r, p[1] = c.g, p[2] = c.b, p[3] = c.a;
  }
  // Source-over onto the opaque canvas with coverage `cov` (0..kFull).
  void Blend(int x, int y, int32_t cov, Rgba c) {
    const int a = (cov * c.a + kFull / 2) / kFull;
    if (a <= 0) return;
    uint8_t* p = &pixels_[(static_cast<size_t>(y) * size_ + x) * 4];
    if (a >= 255) {
      p[0] = c.r, p[1] = c.g, p[2] = c.b;
      return;
    }
    p[0] = static_cast<uint8_t>((c.r * a + p[0] * (255 - a) + 127) / 255);
    p[1] = static_cast<uint8_t>((c.g * a + p[1] * (255 - a) + 127) / 255);
    p[2] = static_cast<uint8_t>((c.b * a + p[2] * (255 - a) + 127) / 255);
  }

  int size_;
  std::vector<uint8_t> pixels_;
  std::vector<int32_t> delta_;
  std::vector<int32_t> row_;
};

// Drawing in design units (0..1024 on both axes, y down).
class Painter {
 public:
  explicit Painter(Canvas* canvas) : c_(canvas) {}

  void Circle(int cx, int cy, int r, Rgba col) { Ellipse(cx, cy, r, r, col); }
  void Ellipse(int cx, int cy, int rx, int ry, Rgba col) {
    c_->Fill(Shape::Ellipse(c_->D(cx), c_->D(cy), c_->D(rx), c_->D(ry)), col);
  }
  void RoundRect(int x0, int y0, int x1, int y1, int r, Rgba col) {
    c_->Fill(Shape::RoundRect(c_->D(x0), c_->D(y0), c_->D(x1), c_->D(y1), c_->D(r)), col);
  }
  void Poly(std::initializer_list<std::array<int, 2>> pts, Rgba col) {
    std::vector<Point> fx;
    for (const auto& p : pts) fx.push_back({c_->D(p[0]), c_->D(p[1])});
    c_->Fill(Shape::Polygon(fx), col);
  }
  // The lower half of an ellipse (flat side up): open mouths.
  void HalfEllipseDown(int cx, int cy, int rx, int ry, Rgba col) {
    std::vector<Point> fx;
    for (int k = 0; k <= 16; ++k) {
      const int t = 2 * k;  // 0..32 in 1/64 turns: east, down, west
      fx.push_back(
          {c_->D(cx) + c_->D(rx) * CosTurn(t) / 16384, c_->D(cy) + c_->D(ry) * SinTurn(t) / 16384});
    }
    c_->Fill(Shape::Polygon(fx), col);
  }
  // A stroke of half-width r through `pts`, with round caps and joins.
  void Stroke(std::span<const std::array<int, 2>> pts, int r, Rgba col) {
    std::vector<Shape> caps;
    for (size_t i = 0; i + 1 < pts.size(); ++i) {
      caps.push_back(Shape::Capsule({c_->D(pts[i][0]), c_->D(pts[i][1])},
                                    {c_->D(pts[i + 1][0]), c_->D(pts[i + 1][1])}, c_->D(r)));
    }
    c_->Fill(caps, col);
  }
  void Line(int x0, int y0, int x1, int y1, int r, Rgba col) {
    const std::array<std::array<int, 2>, 2> pts = {{{x0, y0}, {x1, y1}}};
    Stroke(pts, r, col);
  }
  // A parabola from (cx - hw, y) through (cx, y + depth) to (cx + hw, y): a smile for a
  // positive depth, a frown or a closed eye for a negative one.
  void Curve(int cx, int y, int hw, int depth, int r, Rgba col) {
    std::vector<std::array<int, 2>> pts;
    for (int i = -8; i <= 8; ++i) {
      const int dx = hw * i / 8;
      pts.push_back({cx + dx, y + depth - depth * i * i / 64});
    }
    Stroke(pts, r, col);
  }

 private:
  Canvas* c_;
};

// ---------------------------------------------------------------------------------------
// The styles.

constexpr Rgba kInk = Rgb(38, 36, 48);
constexpr Rgba kWhite = Rgb(250, 250, 250);

void DrawMysteryPerson(Canvas* canvas) {
  canvas->Clear(Rgb(226, 228, 232));
  Painter p(canvas);
  const Rgba figure = Rgb(163, 168, 176);
  p.Ellipse(512, 1010, 372, 350, figure);  // shoulders
  p.Circle(512, 420, 188, figure);         // head
}

void DrawColor(Canvas* canvas, Rng* rng) {
  const int h = rng->Range(0, 359), s = rng->Range(45, 70), l = rng->Range(42, 60);
  canvas->Clear(Hsl(h, s, l));
}

void DrawIdenticon(Canvas* canvas, Rng* rng) {
  const int size = canvas->size();
  const Rgba fg = Hsl(rng->Range(0, 359), rng->Range(45, 70), rng->Range(42, 58));
  canvas->Clear(Rgb(240, 240, 242));
  // 15 cells: the left three columns of a 5x5 grid, mirrored. Too empty or too full
  // patterns are flipped to keep a readable shape.
  uint32_t bits = static_cast<uint32_t>(rng->Next()) & 0x7FFF;
  const int on = std::popcount(bits);
  if (on < 4 || on > 12) bits ^= 0x5A5A & 0x7FFF;
  // Half a cell of margin around a 5-cell grid: boundary k at (2k + 1) / 12 of the side.
  std::vector<int> b;
  for (int k = 0; k <= 5; ++k) b.push_back((2 * k + 1) * size / 12);
  for (int row = 0; row < 5; ++row) {
    for (int col = 0; col < 3; ++col) {
      if (!(bits >> (row * 3 + col) & 1)) continue;
      const int y0 = b[row], y1 = b[row + 1];
      if (col < 2) {
        canvas->FillPixels(b[col], y0, b[col + 1], y1, fg);
        canvas->FillPixels(size - b[col + 1], y0, size - b[col], y1, fg);
      } else {
        canvas->FillPixels(b[2], y0, size - b[2], y1, fg);
      }
    }
  }
}

void DrawRetro(Canvas* canvas, Rng* rng) {
  const int size = canvas->size();
  // The left half of a 12x12 face, mirrored. '.' background, 'F' face, 'h' hair or
  // background, 'e' ear, 'j' jaw, 'E' eye, 'M' mouth.
  static constexpr std::array<std::string_view, 12> kTemplate = {
      "......", "..hhhh", ".hFFFF", ".FFFFF", "eFEEFF", "eFEEFF",
      ".FFFFF", ".FFMMM", ".jFMMM", "..FFFF", "..jjFF", "......",
  };
  const int hue = rng->Range(0, 359);
  const Rgba bg = Rgb(244, 243, 240);
  const Rgba face = Hsl(hue, rng->Range(50, 75), rng->Range(52, 64));
  const Rgba hair = Hsl(hue + rng->Range(90, 270), rng->Range(40, 65), rng->Range(22, 36));
  const Rgba dark = Hsl(hue, 30, 16);
  const int eyes = rng->Range(0, 3), mouth = rng->Range(0, 3);
  const bool ears = rng->Chance(50);
  std::array<bool, 6> hair_on{}, jaw_on{};
  for (auto& h : hair_on) h = rng->Chance(70);
  for (auto& j : jaw_on) j = rng->Chance(50);

  canvas->Clear(bg);
  // Whole-pixel boundaries, symmetric: column 5's right edge is the centre (rounded up, so
  // an odd size shares its middle pixel column between the two mirrored halves).
  std::array<int, 7> bx{};
  for (int i = 0; i < 6; ++i) bx[i] = i * size / 12;
  bx[6] = (size + 1) / 2;
  for (int row = 0; row < 12; ++row) {
    const int y0 = row * size / 12, y1 = (row + 1) * size / 12;
    for (int col = 0; col < 6; ++col) {
      const char t = kTemplate[row][col];
      Rgba c = bg;
      bool paint = true;
      switch (t) {
        case 'F':
          c = face;
          break;
        case 'h':
          c = hair_on[col] ? hair : (row == 2 ? face : bg);
          break;
        case 'e':
          c = ears ? face : bg;
          break;
        case 'j':
          c = jaw_on[col] ? face : bg;
          break;
        case 'E': {
          const bool top = row == 4, inner = col == 3;
          bool ink = true, white = false;
          switch (eyes) {
            case 0:  // square eyes
              break;
            case 1:  // looking inwards
              white = !inner;
              break;
            case 2:  // sleepy
              ink = !top;
              break;
            default:  // with a glint
              white = top && !inner;
              break;
          }
          c = white ? kWhite : (ink ? dark : face);
          break;
        }
        case 'M': {
          const bool top = row == 7;
          bool ink = false;
          switch (mouth) {
            case 0:  // wide and flat
              ink = top;
              break;
            case 1:  // smile
              ink = top ? col == 3 : col >= 4;
              break;
            case 2:  // open
              ink = col >= 4;
              break;
            default:  // small
              ink = top && col >= 4;
              break;
          }
          c = ink ? dark : face;
          break;
        }
        default:
          paint = false;
          break;
      }
      if (!paint) continue;
      canvas->FillPixels(bx[col], y0, bx[col + 1], y1, c);
      canvas->FillPixels(size - bx[col + 1], y0, size - bx[col], y1, c);
    }
  }
}

void DrawMonster(Canvas* canvas, Rng* rng) {
  Painter p(canvas);
  const int hue = rng->Range(0, 359), sat = rng->Range(50, 75), lum = rng->Range(50, 60);
  const Rgba body = Hsl(hue, sat, lum), dark = Hsl(hue, sat, lum - 18);
  const Rgba light = Hsl(hue, sat, lum + 16);
  const Rgba accent = Hsl(hue + rng->Range(120, 240), 80, 55);
  canvas->Clear(Hsl(hue + 180, 25, 94));

  const int cx = 512, cy = 540;
  const int shape = rng->Range(0, 2);
  int bw = 0, bh = 0;  // half-sizes of the body
  switch (shape) {
    case 0:
      bw = rng->Range(250, 310), bh = rng->Range(260, 300);
      break;
    case 1:
      bw = rng->Range(230, 290), bh = rng->Range(250, 290);
      break;
    default:
      bw = rng->Range(200, 240), bh = rng->Range(290, 310);
      break;
  }
  const int top = cy - bh, bottom = cy + bh;

  // Legs and feet, behind the body.
  const int legs = rng->Range(2, 3);
  for (int i = 0; i < legs; ++i) {
    const int x = legs == 2 ? cx + (i == 0 ? -1 : 1) * bw * 45 / 100 : cx + (i - 1) * bw * 55 / 100;
    p.RoundRect(x - 42, bottom - 100, x + 42, 950, 42, dark);
    p.Ellipse(x, 950, 72, 42, dark);
  }
  // Arms: up, out or down.
  const int arm_r = rng->Range(26, 38), arm_dy = rng->Range(-230, 170), reach = rng->Range(90, 170);
  for (int side : {-1, 1}) {
    const int sx = cx + side * bw * 85 / 100, sy = cy + 30;
    const int hx = std::clamp(cx + side * (bw + reach), 70, 954);
    const int hy = std::clamp(sy + arm_dy, 70, 950);
    const std::array<std::array<int, 2>, 3> arm = {
        {{sx, sy}, {(sx + hx) / 2 + side * 20, (sy + hy) / 2 + 30}, {hx, hy}}};
    p.Stroke(arm, arm_r, dark);
    p.Circle(hx, hy, arm_r + 22, dark);
  }
  // Horns or antennae, behind the top of the body.
  const int head = rng->Range(0, 3);
  const Rgba horn = Rgb(240, 228, 196);
  if (head == 1) {
    for (int side : {-1, 1}) {
      const int bx = cx + side * bw * 40 / 100;
      p.Poly({{bx - 45, top + 70}, {bx + 45, top + 70}, {bx + side * 70, std::max(top - 150, 24)}},
             horn);
    }
  } else if (head == 2) {
    for (int side : {-1, 1}) {
      const int tx = cx + side * rng->Range(100, 170), ty = std::max(top - 140, 60);
      p.Line(cx + side * 60, top + 40, tx, ty, 14, dark);
      p.Circle(tx, ty, 34, accent);
    }
  } else if (head == 3) {
    p.Poly({{cx - 55, top + 60}, {cx + 55, top + 60}, {cx, std::max(top - 160, 20)}}, horn);
  }

  switch (shape) {
    case 0:
      p.Ellipse(cx, cy, bw, bh, body);
      break;
    case 1:
      p.RoundRect(cx - bw, top, cx + bw, bottom, rng->Range(110, 170), body);
      break;
    default:
      p.Ellipse(cx, cy + bh / 3, bw + 40, bh * 2 / 3, body);
      p.Ellipse(cx, cy - bh / 4, bw - 20, bh * 3 / 4, body);
      break;
  }
  // Spots on the belly.
  for (int i = rng->Range(0, 4); i > 0; --i) {
    p.Circle(cx + rng->Range(-bw / 2, bw / 2), cy + rng->Range(bh / 5, bh * 3 / 5),
             rng->Range(18, 40), light);
  }
  // Eyes: one, two or three.
  const int eyes = rng->Range(0, 9) < 3 ? 1 : (rng->Chance(70) ? 2 : 3);
  const int ey = cy - rng->Range(70, 120);
  const int gx = rng->Range(-30, 30), gy = rng->Range(-25, 25);
  auto eye = [&](int x, int y, int r) {
    p.Circle(x, y, r + 9, dark);
    p.Circle(x, y, r, kWhite);
    p.Circle(x + gx * r / 100, y + gy * r / 100, r * 45 / 100, kInk);
    p.Circle(x + gx * r / 100 - r / 6, y + gy * r / 100 - r / 6, std::max(r / 8, 6), kWhite);
  };
  if (eyes == 1) {
    eye(cx, ey, rng->Range(85, 110));
  } else if (eyes == 2) {
    const int d = rng->Range(90, 120), r = rng->Range(55, 75);
    eye(cx - d, ey, r);
    eye(cx + d, ey, r);
  } else {
    eye(cx - 115, ey + 15, 52);
    eye(cx + 115, ey + 15, 52);
    eye(cx, ey - 75, 58);
  }
  // Mouth.
  const int my = cy + rng->Range(85, 130), mw = rng->Range(80, 130);
  switch (rng->Range(0, 3)) {
    case 0:
      p.Curve(cx, my, mw, rng->Range(35, 60), 16, kInk);
      break;
    case 1: {
      const int ry = mw * 55 / 100;
      p.HalfEllipseDown(cx, my, mw, ry, Rgb(70, 20, 35));
      for (int side : {-1, 1}) {
        const int tx = cx + side * mw / 2;
        p.Poly({{tx - 22, my - 1}, {tx + 22, my - 1}, {tx, my + ry / 2}}, kWhite);
      }
      break;
    }
    case 2: {
      p.RoundRect(cx - mw, my - 32, cx + mw, my + 32, 28, Rgb(70, 20, 35));
      const int teeth = 4;
      for (int i = 0; i < teeth; ++i) {
        const int x0 = cx - mw + 20 + i * (2 * mw - 40) / teeth;
        const int x1 = cx - mw + 20 + (i + 1) * (2 * mw - 40) / teeth;
        p.Poly({{x0, my - 31}, {x1, my - 31}, {(x0 + x1) / 2, my + 4}}, kWhite);
      }
      break;
    }
    default:
      p.Ellipse(cx, my + 20, 42, 52, Rgb(70, 20, 35));
      break;
  }
}

void DrawWavatar(Canvas* canvas, Rng* rng) {
  Painter p(canvas);
  const int hue = rng->Range(0, 359);
  canvas->Clear(Hsl(hue, rng->Range(50, 70), rng->Range(68, 80)));
  const int face_hue = hue + rng->Range(60, 300), face_sat = rng->Range(40, 70);
  const int face_lum = rng->Range(58, 70);
  const Rgba face = Hsl(face_hue, face_sat, face_lum);
  const Rgba shade = Hsl(face_hue, face_sat, face_lum - 22);
  const Rgba hair = Hsl(rng->Range(0, 359), rng->Range(35, 60), rng->Range(20, 38));

  const int cx = 512, cy = 545;
  int fw = 0, fh = 0;
  const int shape = rng->Range(0, 3);
  switch (shape) {
    case 0:
      fw = fh = 340;
      break;
    case 1:
      fw = 300, fh = 370;
      break;
    case 2:
      fw = 370, fh = 320;
      break;
    default:
      fw = 320, fh = 340;
      break;
  }
  const int top = cy - fh;
  // Hair behind the face.
  switch (rng->Range(0, 3)) {
    case 1:
      p.Ellipse(cx, top + 150, fw + 25, 210, hair);
      break;
    case 2:
      for (int i = -2; i <= 2; ++i) {
        const int x = cx + i * fw * 30 / 100;
        p.Poly(
            {{x - 80, top + 120}, {x + 80, top + 120}, {x + i * 25, top - 90 + std::abs(i) * 40}},
            hair);
      }
      break;
    case 3:
      p.Circle(cx, top + 10, 120, hair);
      break;
    default:
      break;
  }
  if (shape == 3) {
    p.RoundRect(cx - fw, top, cx + fw, cy + fh, 190, face);
  } else {
    p.Ellipse(cx, cy, fw, fh, face);
  }
  // Eyes.
  const int ey = cy - rng->Range(50, 100), ex = rng->Range(115, 150);
  const int gx = rng->Range(-18, 18), gy = rng->Range(-14, 14);
  const int eye_style = rng->Range(0, 3);
  for (int side : {-1, 1}) {
    const int x = cx + side * ex;
    switch (eye_style) {
      case 0:
        p.Ellipse(x, ey, 62, 78, kWhite);
        p.Circle(x + gx, ey + gy, 34, kInk);
        break;
      case 1:
        p.Ellipse(x, ey, 30, 38, kInk);
        break;
      case 2:
        p.Curve(x, ey + 10, 58, -40, 14, kInk);
        break;
      default:
        p.Circle(x, ey, 82, kWhite);
        p.Circle(x + gx, ey + gy, 26, kInk);
        p.Circle(x + gx - 9, ey + gy - 9, 8, kWhite);
        break;
    }
  }
  if (rng->Chance(50)) {
    const int tilt = rng->Range(-30, 30);
    for (int side : {-1, 1}) {
      const int x = cx + side * ex;
      p.Line(x - 60, ey - 120 + side * tilt, x + 60, ey - 120 - side * tilt, 15, shade);
    }
  }
  if (rng->Chance(50)) p.Ellipse(cx, cy + 40, 26, 20, shade);  // nose
  // Mouth.
  const int my = cy + rng->Range(120, 160), mw = rng->Range(85, 135);
  const Rgba mouth = Rgb(110, 28, 48);
  switch (rng->Range(0, 3)) {
    case 0:
      p.Curve(cx, my, mw, rng->Range(40, 70), 16, kInk);
      break;
    case 1: {
      const int ry = mw * 60 / 100;
      p.HalfEllipseDown(cx, my, mw, ry, mouth);
      p.Ellipse(cx, my + ry * 62 / 100, mw * 45 / 100, ry * 28 / 100, Rgb(236, 110, 130));
      break;
    }
    case 2:
      p.Line(cx - mw * 3 / 4, my + 20, cx + mw * 3 / 4, my + 20, 14, kInk);
      break;
    default:
      p.Ellipse(cx, my + 25, 42, 52, mouth);
      break;
  }
  if (rng->Chance(60)) {
    for (int side : {-1, 1}) p.Circle(cx + side * (ex + 70), my - 45, 50, Rgba{255, 110, 130, 100});
  }
}

void DrawRobot(Canvas* canvas, Rng* rng) {
  Painter p(canvas);
  canvas->Clear(Hsl(rng->Range(0, 359), rng->Range(30, 45), rng->Range(82, 90)));
  const int mh = rng->Range(0, 359), ms = rng->Range(10, 40), ml = rng->Range(58, 70);
  const Rgba metal = Hsl(mh, ms, ml), dark = Hsl(mh, ms, ml - 22), darker = Hsl(mh, ms, ml - 38);
  const Rgba shine = Hsl(mh, ms, ml + 16);
  const int ah = rng->Range(0, 359);
  const Rgba accent = Hsl(ah, 90, 55), accent2 = Hsl(ah + 120, 85, 55);
  const int cx = 512;

  // Body and shoulders.
  const int bw = rng->Range(260, 320);
  p.Circle(cx - bw + 10, 820, 70, dark);
  p.Circle(cx + bw - 10, 820, 70, dark);
  p.RoundRect(cx - bw, 760, cx + bw, 1124, 80, metal);
  p.RoundRect(cx - 130, 830, cx + 130, 960, 30, dark);
  const int lights = rng->Range(0, 7);
  for (int i = 0; i < 3; ++i) {
    const Rgba c = (lights >> i & 1) ? accent : accent2;
    p.Circle(cx - 75 + i * 75, 895, 24, c);
  }
  // Neck.
  p.RoundRect(cx - 56, 600, cx + 56, 780, 10, dark);
  p.RoundRect(cx - 56, 660, cx + 56, 676, 4, darker);
  p.RoundRect(cx - 56, 710, cx + 56, 726, 4, darker);

  const int hw = rng->Range(200, 260), top = rng->Range(230, 290), bottom = 650;
  const int mid = (top + bottom) / 2;
  // Antennae, behind the head.
  switch (rng->Range(0, 3)) {
    case 0:
      p.Line(cx, top + 20, cx, top - 120, 14, dark);
      p.Circle(cx, top - 130, 40, accent);
      break;
    case 1:
      for (int side : {-1, 1}) {
        p.Line(cx + side * 80, top + 20, cx + side * 150, top - 110, 12, dark);
        p.Circle(cx + side * 150, top - 115, 28, accent);
      }
      break;
    case 2:
      p.RoundRect(cx - 55, top - 45, cx + 55, top + 20, 14, dark);
      break;
    default:
      p.Line(cx, top + 20, cx, top - 70, 12, dark);
      p.Ellipse(cx, top - 80, 95, 30, dark);
      break;
  }
  // Ears.
  for (int side : {-1, 1}) {
    p.RoundRect(cx + side * hw - 45, mid - 65, cx + side * hw + 45, mid + 65, 18, dark);
    p.Circle(cx + side * (hw + 28), mid, 20, accent);
  }
  // Head.
  const int shape = rng->Range(0, 3);
  switch (shape) {
    case 0:
      p.RoundRect(cx - hw, top, cx + hw, bottom, 40, metal);
      break;
    case 1:
      p.RoundRect(cx - hw, top, cx + hw, bottom, 130, metal);
      break;
    case 2:
      p.Ellipse(cx, mid, hw, (bottom - top) / 2, metal);
      break;
    default:
      p.Poly({{cx - hw, top},
              {cx + hw, top},
              {cx + hw * 78 / 100, bottom},
              {cx - hw * 78 / 100, bottom}},
             metal);
      break;
  }
  if (shape != 2) p.RoundRect(cx - hw + 30, top + 22, cx + hw - 30, top + 38, 8, shine);
  // Eyes.
  const int ey = top + (bottom - top) * 40 / 100, ex = std::min(hw - 95, rng->Range(85, 110));
  switch (rng->Range(0, 3)) {
    case 0:
      for (int side : {-1, 1}) {
        p.Circle(cx + side * ex, ey, 68, darker);
        p.Circle(cx + side * ex, ey, 50, accent);
        p.Circle(cx + side * ex - 16, ey - 16, 13, kWhite);
      }
      break;
    case 1:
      p.RoundRect(cx - hw + 55, ey - 48, cx + hw - 55, ey + 48, 48, darker);
      p.RoundRect(cx - hw + 72, ey - 30, cx + hw - 72, ey + 30, 30, accent);
      p.RoundRect(cx - hw + 100, ey - 18, cx - hw + 180, ey - 6, 6, kWhite);
      break;
    case 2:
      for (int side : {-1, 1}) {
        const int x = cx + side * ex;
        p.RoundRect(x - 55, ey - 45, x + 55, ey + 45, 12, darker);
        p.RoundRect(x - 22, ey - 22, x + 22, ey + 22, 6, accent);
      }
      break;
    default:
      p.Circle(cx, ey, 95, darker);
      p.Circle(cx, ey, 72, accent);
      p.Circle(cx, ey, 28, darker);
      p.Circle(cx - 24, ey - 24, 12, kWhite);
      break;
  }
  // Mouth.
  const int my = top + (bottom - top) * 76 / 100;
  switch (rng->Range(0, 3)) {
    case 0:
      p.RoundRect(cx - 110, my - 38, cx + 110, my + 38, 18, darker);
      for (int i = -2; i <= 2; ++i)
        p.RoundRect(cx + i * 40 - 8, my - 26, cx + i * 40 + 8, my + 26, 6, shine);
      break;
    case 1:
      p.RoundRect(cx - 115, my - 34, cx + 115, my + 34, 10, kWhite);
      for (int i = -2; i <= 2; ++i)
        p.RoundRect(cx + i * 40 - 4, my - 34, cx + i * 40 + 4, my + 34, 2, darker);
      p.RoundRect(cx - 115, my - 3, cx + 115, my + 3, 2, darker);
      break;
    case 2:
      p.RoundRect(cx - 100, my - 13, cx + 100, my + 13, 13, darker);
      break;
    default:
      p.Curve(cx, my - 20, 100, 40, 15, accent);
      break;
  }
}

// ---------------------------------------------------------------------------------------
// The stroke font for kInitials: glyphs designed on a grid 20 units tall (cap height), as
// strokes of points "x,y" and arcs "acx,cy,rx,ry,a0,a1" (angles in 1/64 turns, 0 = east,
// 16 = down), strokes separated by ';'. Drawn with round caps and joins.

struct Glyph {
  char c;
  int width;
  std::string_view strokes;
};

constexpr std::array<Glyph, 36> kGlyphs = {{
    {'A', 12, "0,20 6,0 12,20;2,14 10,14"},
    {'B', 12, "0,10 0,0 6,0 a6,5,5,5,48,80 0,10;0,10 7,10 a7,15,5,5,48,80 0,20 0,10"},
    {'C', 12, "a6,10,6,10,56,8"},
    {'D', 12, "0,0 4,0 a4,10,8,10,48,80 0,20 0,0"},
    {'E', 11, "11,0 0,0 0,20 11,20;0,10 8,10"},
    {'F', 11, "11,0 0,0 0,20;0,10 8,10"},
    {'G', 12, "a6,10,6,10,56,0 7,10"},
    {'H', 12, "0,0 0,20;12,0 12,20;0,10 12,10"},
    {'I', 8, "4,0 4,20;0,0 8,0;0,20 8,20"},
    {'J', 11, "11,0 11,14 a5,14,6,6,0,32"},
    {'K', 12, "0,0 0,20;12,0 0,13;4,9 12,20"},
    {'L', 11, "0,0 0,20 11,20"},
    {'M', 14, "0,20 0,0 7,13 14,0 14,20"},
    {'N', 12, "0,20 0,0 12,20 12,0"},
    {'O', 13, "a6,10,7,10,0,64"},
    {'P', 12, "0,20 0,0 6,0 a6,5,6,5,48,80 0,10"},
    {'Q', 13, "a6,10,7,10,0,64;8,14 13,21"},
    {'R', 12, "0,20 0,0 6,0 a6,5,6,5,48,80 0,10;6,10 12,20"},
    {'S', 12, "a6,5,5,5,56,16 a6,15,6,5,48,88"},
    {'T', 12, "0,0 12,0;6,0 6,20"},
    {'U', 12, "0,0 0,14 a6,14,6,6,32,0 12,0"},
    {'V', 12, "0,0 6,20 12,0"},
    {'W', 16, "0,0 4,20 8,6 12,20 16,0"},
    {'X', 12, "0,0 12,20;12,0 0,20"},
    {'Y', 12, "0,0 6,10 12,0;6,10 6,20"},
    {'Z', 12, "0,0 12,0 0,20 12,20"},
    {'0', 10, "a5,10,5,10,0,64"},
    {'1', 10, "2,4 6,0 6,20;2,20 10,20"},
    {'2', 12, "a6,6,6,6,40,68 0,20 12,20"},
    {'3', 12, "a6,5,5,5,40,80 a6,15,6,5,48,88"},
    {'4', 12, "9,20 9,0 0,14 12,14"},
    {'5', 11, "11,0 1,0 0,9 a5,13,6,7,42,88"},
    {'6', 12, "a12,14,12,13,46,32 a6,14,6,6,32,96"},
    {'7', 12, "0,0 12,0 4,20"},
    {'8', 12, "a6,5,5,5,0,64;a6,15,6,5,0,64"},
    {'9', 12, "a6,6,6,6,0,64 a0,6,12,13,0,14"},
}};
constexpr int kCapHeight = 20;
constexpr int kLetterGap = 5;

const Glyph* FindGlyph(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (const Glyph& g : kGlyphs)
    if (g.c == c) return &g;
  return nullptr;
}

std::vector<int> ParseInts(std::string_view s) {
  std::vector<int> out;
  int v = 0, sign = 1;
  bool in = false;
  for (char ch : s) {
    if (ch == '-') {
      sign = -1;
    } else if (ch >= '0' && ch <= '9') {
      v = v * 10 + (ch - '0'), in = true;
    } else if (in) {
      out.push_back(sign * v), v = 0, sign = 1, in = false;
    }
  }
  if (in) out.push_back(sign * v);
  return out;
}

// The strokes of `g` as polylines in glyph units scaled by `unit` (Fx per unit), offset by
// `origin`.
void GlyphPolylines(const Glyph& g, Point origin, Fx unit, std::vector<std::vector<Point>>* out) {
  std::string_view rest = g.strokes;
  while (!rest.empty()) {
    const size_t semi = rest.find(';');
    std::string_view stroke = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    std::vector<Point> line;
    while (!stroke.empty()) {
      const size_t sp = stroke.find(' ');
      std::string_view token = stroke.substr(0, sp);
      stroke = sp == std::string_view::npos ? std::string_view() : stroke.substr(sp + 1);
      if (token.empty()) continue;
      const std::vector<int> v = ParseInts(token);
      if (token[0] == 'a' && v.size() == 6) {
        const int step = v[5] >= v[4] ? 1 : -1;
        for (int k = v[4];; k += step) {
          line.push_back({origin.x + v[0] * unit + v[2] * unit * CosTurn(k) / 16384,
                          origin.y + v[1] * unit + v[3] * unit * SinTurn(k) / 16384});
          if (k == v[5]) break;
        }
      } else if (v.size() == 2) {
        line.push_back({origin.x + v[0] * unit, origin.y + v[1] * unit});
      }
    }
    out->push_back(std::move(line));
  }
}

void DrawInitials(Canvas* canvas, Rng* rng, std::string_view initials) {
  canvas->Clear(Hsl(rng->Range(0, 359), rng->Range(45, 65), rng->Range(36, 46)));
  std::vector<const Glyph*> glyphs;
  for (char c : initials) {
    if (glyphs.size() == 3) break;
    if (const Glyph* g = FindGlyph(c)) glyphs.push_back(g);
  }
  if (glyphs.empty()) return;
  int width = 0;
  for (const Glyph* g : glyphs) width += g->width + (width > 0 ? kLetterGap : 0);
  // Cap height 42% of the side, narrowed so the line fits in 76% of it.
  const Fx side = canvas->D(kDesign);
  const Fx unit =
      std::max<Fx>(1, std::min(side * 42 / 100 / kCapHeight, side * 76 / 100 / (width + 3)));
  const Fx radius = std::max<Fx>(1, unit * 13 / 10);
  std::vector<std::vector<Point>> lines;
  Fx x = 0;
  for (const Glyph* g : glyphs) {
    GlyphPolylines(*g, {x, 0}, unit, &lines);
    x += (g->width + kLetterGap) * unit;
  }
  // Centre the ink (not the advance boxes) on the canvas.
  Fx min_x = lines[0][0].x, max_x = min_x, min_y = lines[0][0].y, max_y = min_y;
  for (const auto& line : lines)
    for (const Point& pt : line) {
      min_x = std::min(min_x, pt.x), max_x = std::max(max_x, pt.x);
      min_y = std::min(min_y, pt.y), max_y = std::max(max_y, pt.y);
    }
  const Fx dx = side / 2 - (min_x + max_x) / 2, dy = side / 2 - (min_y + max_y) / 2;
  std::vector<Shape> caps;
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i) {
      const Point a = {line[i].x + dx, line[i].y + dy};
      const Point b = i + 1 < line.size() ? Point{line[i + 1].x + dx, line[i + 1].y + dy} : a;
      if (i + 1 < line.size() || line.size() == 1) caps.push_back(Shape::Capsule(a, b, radius));
    }
  }
  canvas->Fill(caps, kWhite);
}

// Salts for the seed hash, one per style.
uint64_t StyleSalt(DefaultStyle style) {
  return 0x676C696E74000000ULL + static_cast<uint64_t>(style);
}

}  // namespace

Result<Image> RenderDefault(const DefaultRequest& request) {
  if (request.size == 0 || request.size > kMaxDefaultSize) {
    return InvalidArgument("default image size must be 1.." + std::to_string(kMaxDefaultSize),
                           "bad_size");
  }
  Canvas canvas(request.size);
  Rng rng(request.seed, StyleSalt(request.style));
  switch (request.style) {
    case DefaultStyle::kMysteryPerson:
      DrawMysteryPerson(&canvas);
      break;
    case DefaultStyle::kIdenticon:
      DrawIdenticon(&canvas, &rng);
      break;
    case DefaultStyle::kMonsterId:
      DrawMonster(&canvas, &rng);
      break;
    case DefaultStyle::kWavatar:
      DrawWavatar(&canvas, &rng);
      break;
    case DefaultStyle::kRetro:
      DrawRetro(&canvas, &rng);
      break;
    case DefaultStyle::kRobohash:
      DrawRobot(&canvas, &rng);
      break;
    case DefaultStyle::kBlank:
      break;  // the canvas starts transparent
    case DefaultStyle::kInitials:
      DrawInitials(&canvas, &rng, request.initials);
      break;
    case DefaultStyle::kColor:
      DrawColor(&canvas, &rng);
      break;
  }
  return std::move(canvas).Take();
}

namespace {

// Splits UTF-8 into code points (as byte strings); invalid bytes count as one each.
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

void AppendDrawable(std::string_view code_point, std::string* out) {
  if (code_point.size() != 1) return;
  const char c = code_point[0];
  if (FindGlyph(c) != nullptr) out->push_back(c >= 'a' && c <= 'z' ? char(c - 'a' + 'A') : c);
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string InitialsFor(std::string_view initials_param, std::string_view name_param) {
  std::string out;
  const std::vector<std::string_view> chars = CodePoints(initials_param);
  for (size_t i = 0; i < chars.size() && i < 3; ++i) AppendDrawable(chars[i], &out);
  if (!out.empty()) return out;

  std::vector<std::string_view> words;
  for (size_t i = 0; i < name_param.size();) {
    while (i < name_param.size() && IsSpace(name_param[i])) ++i;
    const size_t start = i;
    while (i < name_param.size() && !IsSpace(name_param[i])) ++i;
    if (i > start) words.push_back(name_param.substr(start, i - start));
  }
  if (words.empty()) return out;
  AppendDrawable(CodePoints(words.front()).front(), &out);
  if (words.size() > 1) AppendDrawable(CodePoints(words.back()).front(), &out);
  return out;
}

std::optional<DefaultStyle> DefaultStyleFromName(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, DefaultStyle>, 10> kNames = {{
      {"mp", DefaultStyle::kMysteryPerson},
      {"mm", DefaultStyle::kMysteryPerson},
      {"identicon", DefaultStyle::kIdenticon},
      {"monsterid", DefaultStyle::kMonsterId},
      {"wavatar", DefaultStyle::kWavatar},
      {"retro", DefaultStyle::kRetro},
      {"robohash", DefaultStyle::kRobohash},
      {"blank", DefaultStyle::kBlank},
      {"initials", DefaultStyle::kInitials},
      {"color", DefaultStyle::kColor},
  }};
  for (const auto& [n, style] : kNames)
    if (n == name) return style;
  return std::nullopt;
}

}  // namespace glint::codec
