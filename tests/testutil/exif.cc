#include "tests/testutil/exif.h"

#include <libexif/exif-data.h>
#include <spng.h>
#include <webp/mux.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "codec/handles.h"
#include "tests/testutil/images.h"

namespace glint::testutil {
namespace {

void AddAscii(ExifData* data, ExifIfd ifd, ExifTag tag, const std::string& value) {
  ExifMem* mem = exif_mem_new_default();
  ExifEntry* e = exif_entry_new_mem(mem);
  const size_t size = value.size() + 1;  // with the NUL
  e->data = static_cast<unsigned char*>(exif_mem_alloc(mem, static_cast<ExifLong>(size)));
  std::memcpy(e->data, value.c_str(), size);
  e->size = static_cast<unsigned>(size);
  e->components = size;
  e->format = EXIF_FORMAT_ASCII;
  e->tag = tag;
  exif_content_add_entry(data->ifd[ifd], e);
  exif_entry_unref(e);
  exif_mem_unref(mem);
}

void AddInitialised(ExifData* data, ExifIfd ifd, ExifTag tag) {
  ExifEntry* e = exif_entry_new();
  exif_content_add_entry(data->ifd[ifd], e);
  exif_entry_initialize(e, tag);
  exif_entry_unref(e);
}

}  // namespace

std::string MakeExifBlock(const ExifFields& f) {
  std::unique_ptr<ExifData, void (*)(ExifData*)> data(exif_data_new(), exif_data_unref);
  exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  const ExifByteOrder order = f.little_endian ? EXIF_BYTE_ORDER_INTEL : EXIF_BYTE_ORDER_MOTOROLA;
  exif_data_set_byte_order(data.get(), order);
  if (f.orientation != 0) {
    AddInitialised(data.get(), EXIF_IFD_0, EXIF_TAG_ORIENTATION);
    ExifEntry* e = exif_content_get_entry(data->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    exif_set_short(e->data, order, static_cast<ExifShort>(f.orientation));
  }
  if (!f.make.empty()) AddAscii(data.get(), EXIF_IFD_0, EXIF_TAG_MAKE, f.make);
  if (!f.model.empty()) AddAscii(data.get(), EXIF_IFD_0, EXIF_TAG_MODEL, f.model);
  if (!f.date_time_original.empty())
    AddAscii(data.get(), EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, f.date_time_original);
  if (!f.offset_time_original.empty())
    AddAscii(data.get(), EXIF_IFD_EXIF, EXIF_TAG_OFFSET_TIME_ORIGINAL, f.offset_time_original);
  if (f.gps) {
    AddAscii(data.get(), EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), "N");
    AddAscii(data.get(), EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF), "E");
  }
  unsigned char* raw = nullptr;
  unsigned int size = 0;
  exif_data_save_data(data.get(), &raw, &size);
  if (raw == nullptr || size == 0) throw std::runtime_error("libexif wrote no EXIF block");
  std::string out(reinterpret_cast<const char*>(raw), size);
  std::free(raw);
  return out;
}

std::string JpegWithExif(std::string jpeg, std::string_view block) {
  if (block.size() + 2 > 0xFFFF) throw std::invalid_argument("EXIF block too large for APP1");
  const size_t length = block.size() + 2;
  std::string segment = {static_cast<char>(0xFF), static_cast<char>(0xE1),
                         static_cast<char>(length >> 8), static_cast<char>(length & 0xFF)};
  segment.append(block);
  jpeg.insert(2, segment);
  return jpeg;
}

std::string PngWithExif(int width, int height, std::string_view tiff) {
  // Re-encode MakePng's pixels with the chunk: decode it, then encode with spng_set_exif.
  const std::string plain = MakePng(width, height, false);
  codec::SpngCtx dec(spng_ctx_new(0));
  spng_set_png_buffer(dec.get(), plain.data(), plain.size());
  size_t out_size = 0;
  spng_decoded_image_size(dec.get(), SPNG_FMT_RGB8, &out_size);
  std::string pixels(out_size, '\0');
  if (spng_decode_image(dec.get(), pixels.data(), pixels.size(), SPNG_FMT_RGB8, 0) != 0)
    throw std::runtime_error("spng decode failed");

  codec::SpngCtx enc(spng_ctx_new(SPNG_CTX_ENCODER));
  spng_set_option(enc.get(), SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(width);
  ihdr.height = static_cast<uint32_t>(height);
  ihdr.bit_depth = 8;
  ihdr.color_type = SPNG_COLOR_TYPE_TRUECOLOR;
  spng_set_ihdr(enc.get(), &ihdr);
  std::string exif_copy(tiff);
  spng_exif exif{exif_copy.size(), exif_copy.data()};
  int rc = spng_set_exif(enc.get(), &exif);
  if (rc == 0)
    rc = spng_encode_image(enc.get(), pixels.data(), pixels.size(), SPNG_FMT_PNG,
                           SPNG_ENCODE_FINALIZE);
  if (rc != 0) throw std::runtime_error(std::string("spng encode: ") + spng_strerror(rc));
  size_t size = 0;
  codec::MallocBuffer png(spng_get_png_buffer(enc.get(), &size, &rc));
  if (!png || rc != 0) throw std::runtime_error("spng_get_png_buffer failed");
  return std::string(static_cast<const char*>(png.get()), size);
}

std::string WebpWithExif(const std::string& webp, std::string_view tiff) {
  WebPData image{reinterpret_cast<const uint8_t*>(webp.data()), webp.size()};
  std::unique_ptr<WebPMux, void (*)(WebPMux*)> mux(WebPMuxCreate(&image, 1), WebPMuxDelete);
  if (!mux) throw std::runtime_error("WebPMuxCreate failed");
  WebPData exif{reinterpret_cast<const uint8_t*>(tiff.data()), tiff.size()};
  if (WebPMuxSetChunk(mux.get(), "EXIF", &exif, 1) != WEBP_MUX_OK)
    throw std::runtime_error("WebPMuxSetChunk failed");
  WebPData out{};
  if (WebPMuxAssemble(mux.get(), &out) != WEBP_MUX_OK)
    throw std::runtime_error("WebPMuxAssemble failed");
  std::string bytes(reinterpret_cast<const char*>(out.bytes), out.size);
  WebPDataClear(&out);
  return bytes;
}

}  // namespace glint::testutil
