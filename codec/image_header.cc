#include "codec/image_header.h"
#include "codec/exif.h"
#include "codec/handles.h"

#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

namespace glint::codec {
namespace {

constexpr char kNotAnImage[] = "not_an_image";
constexpr char kImageTooLarge[] = "image_too_large";

// The marker walk gives up after this many segments: real files have a few dozen before
// the first scan, and the walk must stay cheap on adversarial input.
constexpr int kJpegMaxSegments = 1024;

Status NotAnImage(std::string message) { return UnsupportedMedia(std::move(message), kNotAnImage); }

std::span<const unsigned char> AsBytes(std::span<const char> bytes) {
  return {reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()};
}

bool HasPrefixAt(std::span<const unsigned char> bytes, size_t at, std::string_view magic) {
  return bytes.size() >= at && bytes.size() - at >= magic.size() &&
         std::memcmp(bytes.data() + at, magic.data(), magic.size()) == 0;
}

// Refuses zero-sized images and decompression bombs. Runs on header values only, before
// anything proportional to the image size has been allocated.
Status CheckDimensions(std::string_view format, uint64_t width, uint64_t height,
                       const HeaderLimits& limits) {
  if (width == 0 || height == 0) {
    return NotAnImage(std::string(format) + " header declares an empty image");
  }
  if (width > limits.max_dimension || height > limits.max_dimension) {
    return TooLarge("the image is " + std::to_string(width) + "x" + std::to_string(height) +
                        " pixels; each side may be at most " + std::to_string(limits.max_dimension),
                    kImageTooLarge);
  }
  // Both factors are at most 2^32 - 1 here, so the product fits in 64 bits.
  if (width * height > limits.max_pixels) {
    return TooLarge("the image is " + std::to_string(width) + "x" + std::to_string(height) +
                        " pixels; at most " + std::to_string(limits.max_pixels) +
                        " pixels are accepted",
                    kImageTooLarge);
  }
  return Status::Ok();
}

// Walks the JPEG marker segments from SOI up to the first scan (SOS) and returns the
// payload of the first APP1 segment that carries EXIF ("Exif\0\0" + TIFF), or an empty
// span. Stops at anything malformed or past the end of the buffer; turbojpeg has already
// vouched for the header by then.
std::span<const unsigned char> JpegExif(std::span<const unsigned char> jpeg) {
  size_t pos = 2;  // after SOI
  for (int segment = 0; segment < kJpegMaxSegments; ++segment) {
    // Like libjpeg, skip stray bytes before a marker (it only warns about them).
    while (pos < jpeg.size() && jpeg[pos] != 0xFF) ++pos;
    while (pos < jpeg.size() && jpeg[pos] == 0xFF) ++pos;  // fill bytes
    if (pos >= jpeg.size()) return {};
    const unsigned char marker = jpeg[pos++];
    if (marker == 0xDA || marker == 0xD9 || marker == 0x00) return {};   // SOS, EOI, stuffing
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length field
    if (jpeg.size() - pos < 2) return {};
    const size_t length = (size_t{jpeg[pos]} << 8) | jpeg[pos + 1];
    if (length < 2 || length > jpeg.size() - pos) return {};
    const std::span<const unsigned char> payload = jpeg.subspan(pos + 2, length - 2);
    if (marker == 0xE1 && HasPrefixAt(payload, 0, std::string_view("Exif\0\0", 6))) return payload;
    pos += length;
  }
  return {};
}

// The EXIF chunk of a WebP file (VP8X extended format), read with libwebp's demuxer.
ExifInfo WebpExif(std::span<const unsigned char> bytes) {
  WebPData data{bytes.data(), bytes.size()};
  WebpDemuxer demux(WebPDemux(&data));
  if (!demux || !(WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG)) return {};
  WebPChunkIterator chunk{};
  ExifInfo info;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) {
    info = ParseExif({chunk.chunk.bytes, chunk.chunk.size});
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  return info;
}

Result<ImageHeader> ReadJpegHeader(std::span<const unsigned char> bytes,
                                   const HeaderLimits& limits) {
  TjHandle tj(tjInitDecompress());
  if (!tj) return Internal("could not create a JPEG decoder");
  int width = 0, height = 0, subsampling = -1, colorspace = -1;
  const int rc = tjDecompressHeader3(tj.get(), bytes.data(), bytes.size(), &width, &height,
                                     &subsampling, &colorspace);
  // turbojpeg 2.1 also fails the call when libjpeg only warned (e.g. stray bytes before a
  // marker) or when the chroma subsampling has no TJSAMP name. The outputs are then filled
  // in, since they are written only after libjpeg has read the whole header, and the file
  // is accepted: libjpeg itself found the header sound. Outputs left at their initial
  // values (or an unknown colour space) mean a real error.
  if (rc != 0 && (width <= 0 || height <= 0 || colorspace < 0)) {
    return NotAnImage(std::string("truncated or malformed JPEG header (") +
                      tjGetErrorStr2(tj.get()) + ")");
  }
  GLINT_RETURN_IF_ERROR(
      CheckDimensions("JPEG", static_cast<uint64_t>(width), static_cast<uint64_t>(height), limits));
  ImageHeader header;
  header.format = Format::kJpeg;
  header.width = static_cast<uint32_t>(width);
  header.height = static_cast<uint32_t>(height);
  header.exif = ParseExif(JpegExif(bytes));
  header.has_alpha = false;
  return header;
}

Result<ImageHeader> ReadPngHeader(std::span<const unsigned char> bytes,
                                  const HeaderLimits& limits) {
  SpngCtx ctx(spng_ctx_new(0));
  if (!ctx) return Internal("could not create a PNG decoder");
  const uint32_t max_side = std::min(limits.max_dimension, kSpngMaxDimension);
  if (spng_set_image_limits(ctx.get(), max_side, max_side) != 0 ||
      spng_set_chunk_limits(ctx.get(), kPngMaxChunkBytes, kPngMaxChunkCacheBytes) != 0 ||
      spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()) != 0) {
    return Internal("could not configure the PNG decoder");
  }
  spng_ihdr ihdr{};
  const int rc = spng_get_ihdr(ctx.get(), &ihdr);
  if (rc == SPNG_EUSER_WIDTH || rc == SPNG_EUSER_HEIGHT) {
    // libspng stops at its own limit without handing back the IHDR.
    return TooLarge(std::string("the PNG is ") + (rc == SPNG_EUSER_WIDTH ? "wider" : "taller") +
                        " than the limit of " + std::to_string(limits.max_dimension) + " pixels",
                    kImageTooLarge);
  }
  if (rc != 0) {
    return NotAnImage(std::string("truncated or malformed PNG header (") + spng_strerror(rc) + ")");
  }
  GLINT_RETURN_IF_ERROR(CheckDimensions("PNG", ihdr.width, ihdr.height, limits));
  // spng_get_ihdr reads only the IHDR data; it checks the IHDR's CRC, and everything else
  // before the image data, only when the next chunk is read. Asking for tRNS makes libspng
  // read and validate every chunk up to the first IDAT (within the chunk limits above), so
  // a truncated or corrupt header is refused here rather than by the decoder later.
  spng_trns trns{};
  const int trns_rc = spng_get_trns(ctx.get(), &trns);
  if (trns_rc == SPNG_ECHUNK_LIMITS) {
    return TooLarge("the PNG's metadata chunks exceed the size limit", kImageTooLarge);
  }
  if (trns_rc != 0 && trns_rc != SPNG_ECHUNKAVAIL) {
    return NotAnImage(std::string("truncated or malformed PNG header (") + spng_strerror(trns_rc) +
                      ")");
  }
  ImageHeader header;
  header.format = Format::kPng;
  header.width = ihdr.width;
  header.height = ihdr.height;
  header.has_alpha = ihdr.color_type == SPNG_COLOR_TYPE_GRAYSCALE_ALPHA ||
                     ihdr.color_type == SPNG_COLOR_TYPE_TRUECOLOR_ALPHA || trns_rc == 0;
  // An eXIf chunk before the image data (PNG 1.5); libspng has read it with the tRNS above.
  spng_exif exif{};
  if (spng_get_exif(ctx.get(), &exif) == 0 && exif.data != nullptr)
    header.exif = ParseExif({reinterpret_cast<const unsigned char*>(exif.data), exif.length});
  return header;
}

Result<ImageHeader> ReadWebpHeader(std::span<const unsigned char> bytes,
                                   const HeaderLimits& limits) {
  WebPBitstreamFeatures features{};
  const VP8StatusCode rc = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (rc == VP8_STATUS_NOT_ENOUGH_DATA) return NotAnImage("truncated WebP header");
  if (rc != VP8_STATUS_OK) {
    return NotAnImage("malformed WebP header (libwebp status " + std::to_string(rc) + ")");
  }
  if (features.width < 0 || features.height < 0) return NotAnImage("malformed WebP header");
  GLINT_RETURN_IF_ERROR(CheckDimensions("WebP", static_cast<uint64_t>(features.width),
                                        static_cast<uint64_t>(features.height), limits));
  ImageHeader header;
  header.format = Format::kWebp;
  header.width = static_cast<uint32_t>(features.width);
  header.height = static_cast<uint32_t>(features.height);
  header.has_alpha = features.has_alpha != 0;
  header.exif = WebpExif(bytes);
  return header;
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return AsciiLower(x) == AsciiLower(y);
         });
}

}  // namespace

std::string_view FormatName(Format f) {
  switch (f) {
    case Format::kJpeg:
      return "jpeg";
    case Format::kPng:
      return "png";
    case Format::kWebp:
      return "webp";
    case Format::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view MimeType(Format f) {
  switch (f) {
    case Format::kJpeg:
      return "image/jpeg";
    case Format::kPng:
      return "image/png";
    case Format::kWebp:
      return "image/webp";
    case Format::kUnknown:
      break;
  }
  return "application/octet-stream";
}

Format FormatFromName(std::string_view name) {
  if (EqualsIgnoreCase(name, "jpeg") || EqualsIgnoreCase(name, "jpg")) return Format::kJpeg;
  if (EqualsIgnoreCase(name, "png")) return Format::kPng;
  if (EqualsIgnoreCase(name, "webp")) return Format::kWebp;
  return Format::kUnknown;
}

Format Sniff(std::span<const char> bytes) {
  const std::span<const unsigned char> b = AsBytes(bytes);
  if (HasPrefixAt(b, 0, "\xFF\xD8\xFF")) return Format::kJpeg;
  if (HasPrefixAt(b, 0, "\x89PNG\r\n\x1A\n")) return Format::kPng;
  if (HasPrefixAt(b, 0, "RIFF") && HasPrefixAt(b, 8, "WEBP")) return Format::kWebp;
  return Format::kUnknown;
}

Result<ImageHeader> ReadHeader(std::span<const char> bytes, const HeaderLimits& limits) {
  if (bytes.empty()) return NotAnImage("the upload is empty");
  const std::span<const unsigned char> b = AsBytes(bytes);
  switch (Sniff(bytes)) {
    case Format::kJpeg:
      return ReadJpegHeader(b, limits);
    case Format::kPng:
      return ReadPngHeader(b, limits);
    case Format::kWebp:
      return ReadWebpHeader(b, limits);
    case Format::kUnknown:
      break;
  }
  return NotAnImage("the bytes are not a JPEG, PNG or WebP image");
}

}  // namespace glint::codec
