// glint_make_image OUT.jpg WIDTH HEIGHT [QUALITY]
// glint_make_image OUT.png WIDTH HEIGHT [alpha]
//
// Writes a deterministic image of tests/testutil/images.h to OUT, so benchmark scripts use
// the same fixtures as the tests and the in-process benchmarks: MakeJpeg(WIDTH, HEIGHT,
// QUALITY) when OUT ends in .jpg or .jpeg, MakePng(WIDTH, HEIGHT, alpha given) when it ends
// in .png. Exits 0 on success; on bad arguments or a failed write it prints why to stderr and
// exits 2 (usage) or 1 (anything else).
#include <charconv>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "tests/testutil/images.h"

namespace {

constexpr int kUsageError = 2;

// The whole of `text` as an integer in [min, max], or nothing.
std::optional<int> ParseInt(std::string_view text, int min, int max) {
  int n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < min || n > max)
    return std::nullopt;
  return n;
}

int Usage(const char* argv0, const std::string& why) {
  std::cerr << argv0 << ": " << why << "\n"
            << "usage: " << argv0 << " OUT.jpg WIDTH HEIGHT [QUALITY]\n"
            << "       " << argv0 << " OUT.png WIDTH HEIGHT [alpha]\n"
            << "  WIDTH, HEIGHT: 1..65500; QUALITY: 1..100 (default 85)\n";
  return kUsageError;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) return Usage(argv[0], "expected 3 or 4 arguments");
  const std::string out_path = argv[1];
  const bool png = out_path.ends_with(".png");
  if (!png && !out_path.ends_with(".jpg") && !out_path.ends_with(".jpeg"))
    return Usage(argv[0], "OUT must end in .jpg, .jpeg or .png");
  auto width = ParseInt(argv[2], 1, 65500);
  if (!width) return Usage(argv[0], std::string("bad WIDTH '") + argv[2] + "'");
  auto height = ParseInt(argv[3], 1, 65500);
  if (!height) return Usage(argv[0], std::string("bad HEIGHT '") + argv[3] + "'");
  std::optional<int> quality = 85;
  bool alpha = false;
  if (argc == 5 && png) {
    if (std::string_view(argv[4]) != "alpha")
      return Usage(argv[0], std::string("expected 'alpha', not '") + argv[4] + "'");
    alpha = true;
  } else if (argc == 5) {
    quality = ParseInt(argv[4], 1, 100);
    if (!quality) return Usage(argv[0], std::string("bad QUALITY '") + argv[4] + "'");
  }

  std::string image;
  try {
    image = png ? glint::testutil::MakePng(*width, *height, alpha)
                : glint::testutil::MakeJpeg(*width, *height, *quality);
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": cannot encode the image: " << e.what() << "\n";
    return 1;
  }

  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(image.data(), static_cast<std::streamsize>(image.size()));
  out.close();
  if (!out) {
    std::cerr << argv[0] << ": cannot write " << out_path << "\n";
    std::remove(out_path.c_str());
    return 1;
  }
  return 0;
}
