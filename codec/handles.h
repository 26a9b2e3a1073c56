// Owning handles for the codec libraries' objects and buffers, and the PNG limits that the
// header reader and the decoder must share. Used by codec/ and by tests that call the
// libraries directly. Header-only; the including target links the libraries it uses.
#pragma once

#include <spng.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

namespace glint::codec {

struct TjDestroyer {
  void operator()(void* handle) const { tjDestroy(handle); }
};
// A turbojpeg compressor or decompressor.
using TjHandle = std::unique_ptr<void, TjDestroyer>;

struct TjFree {
  void operator()(unsigned char* buffer) const { tjFree(buffer); }
};
// A buffer turbojpeg allocated (tjCompress2 output).
using TjBuffer = std::unique_ptr<unsigned char, TjFree>;

struct SpngCtxFree {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using SpngCtx = std::unique_ptr<spng_ctx, SpngCtxFree>;

struct MallocFree {
  void operator()(void* p) const { std::free(p); }
};
// libspng's encoded output, allocated with the default (malloc) allocator.
using MallocBuffer = std::unique_ptr<void, MallocFree>;

struct WebpFree {
  void operator()(uint8_t* p) const { WebPFree(p); }
};
// A buffer libwebp allocated (WebPEncode* output).
using WebpBuffer = std::unique_ptr<uint8_t, WebpFree>;

struct WebpDemuxDelete {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
using WebpDemuxer = std::unique_ptr<WebPDemuxer, WebpDemuxDelete>;

// libspng's own ceiling for a dimension (2^31 - 1), and the bounds on what ancillary chunks
// may make it hold: the header reader and the decoder must refuse the same files.
inline constexpr uint32_t kSpngMaxDimension = 0x7fffffff;
inline constexpr size_t kPngMaxChunkBytes = 8u << 20;
inline constexpr size_t kPngMaxChunkCacheBytes = 32u << 20;

}  // namespace glint::codec
