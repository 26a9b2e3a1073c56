#include "codec/exif.h"

#include <libexif/exif-data.h>

#include <cstring>
#include <memory>
#include <string_view>

namespace glint::codec {
namespace {

constexpr std::string_view kExifId("Exif\0\0", 6);
constexpr size_t kMaxTextBytes = 64;

struct ExifDataUnref {
  void operator()(ExifData* d) const { exif_data_unref(d); }
};
using ExifDataPtr = std::unique_ptr<ExifData, ExifDataUnref>;

// The ASCII value of `tag` in `ifd`, printable characters only, trimmed; "" if absent.
std::string Text(ExifData* data, ExifIfd ifd, ExifTag tag) {
  ExifEntry* e = exif_content_get_entry(data->ifd[ifd], tag);
  if (e == nullptr || e->format != EXIF_FORMAT_ASCII || e->data == nullptr) return "";
  std::string out;
  for (unsigned i = 0; i < e->size && e->data[i] != '\0' && out.size() < kMaxTextBytes; ++i) {
    const unsigned char c = e->data[i];
    if (c >= 0x20 && c < 0x7F) out += static_cast<char>(c);
  }
  const size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

bool Digits(std::string_view s, size_t at, size_t n, int min, int max, int* value) {
  if (s.size() < at + n) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return v >= min && v <= max;
}

// "YYYY:MM:DD HH:MM:SS" (EXIF's form) as "YYYY-MM-DDTHH:MM:SS"; "" when malformed, including
// the all-zero and blank values cameras write when their clock was never set.
std::string IsoDateTime(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (s.size() < 19 || s[4] != ':' || s[7] != ':' || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
      !Digits(s, 0, 4, 1800, 9999, &year) || !Digits(s, 5, 2, 1, 12, &month) ||
      !Digits(s, 8, 2, 1, 31, &day) || !Digits(s, 11, 2, 0, 23, &hour) ||
      !Digits(s, 14, 2, 0, 59, &minute) || !Digits(s, 17, 2, 0, 60, &second))
    return "";
  std::string out(s.substr(0, 19));
  out[4] = out[7] = '-';
  out[10] = 'T';
  return out;
}

// "+HH:MM" / "-HH:MM" (EXIF 2.31 OffsetTime*), validated; "" otherwise.
std::string UtcOffset(std::string_view s) {
  int hours, minutes;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' ||
      !Digits(s, 1, 2, 0, 14, &hours) || !Digits(s, 4, 2, 0, 59, &minutes))
    return "";
  return std::string(s);
}

}  // namespace

ExifInfo ParseExif(std::span<const unsigned char> block) {
  ExifInfo info;
  if (block.size() > kMaxExifBytes) return info;
  // libexif wants the "Exif\0\0" identifier in front of the TIFF structure.
  std::string owned;
  if (block.size() < kExifId.size() ||
      std::memcmp(block.data(), kExifId.data(), kExifId.size()) != 0) {
    owned.reserve(kExifId.size() + block.size());
    owned.append(kExifId).append(reinterpret_cast<const char*>(block.data()), block.size());
    block = {reinterpret_cast<const unsigned char*>(owned.data()), owned.size()};
  }
  ExifDataPtr data(exif_data_new());
  if (!data) return info;
  // Read the block as it is: no "fixing" it up to the specification, no unknown tags.
  exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_set_option(data.get(), EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
  exif_data_load_data(data.get(), block.data(), static_cast<unsigned>(block.size()));

  if (ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
      e != nullptr && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->size >= 2 &&
      e->data != nullptr) {
    const ExifShort v = exif_get_short(e->data, exif_data_get_byte_order(data.get()));
    if (v >= 1 && v <= 8) info.orientation = static_cast<uint8_t>(v);
  }
  info.camera_make = Text(data.get(), EXIF_IFD_0, EXIF_TAG_MAKE);
  info.camera_model = Text(data.get(), EXIF_IFD_0, EXIF_TAG_MODEL);
  info.taken_at = IsoDateTime(Text(data.get(), EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL));
  ExifTag offset_tag = EXIF_TAG_OFFSET_TIME_ORIGINAL;
  if (info.taken_at.empty()) {
    info.taken_at = IsoDateTime(Text(data.get(), EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED));
    offset_tag = EXIF_TAG_OFFSET_TIME_DIGITIZED;
  }
  if (!info.taken_at.empty())
    info.taken_at += UtcOffset(Text(data.get(), EXIF_IFD_EXIF, offset_tag));
  return info;
}

}  // namespace glint::codec
