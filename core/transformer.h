// Serving transforms: a variant (a photo rendered for one canonical TransformSpec) is
// computed once, then served from memory or from the blob store.
//
//   memory LRU (byte budget, sharded) -> `variants` CF + blob store -> render on the CPU pool
//
// Renders are single-flight: concurrent requests for one missing variant share one render.
// The CPU pool is separate from the event loops and bounded: when `max_queue` renders are
// already waiting or running, a miss is refused with kUnavailable ("server_busy", 503)
// while hits keep being served. A rendered variant is stored durably (blob + variants row
// naming the blob id, core/records.h VariantRecord), so a restart does not recompute it.
//
// Deletion (Service::DeletePhoto) and storing a variant are serialised by the blob index
// lock (storage::BlobStore::LockIndex): a variant is recorded only if its photo still exists
// under that lock, and the delete reads the photo's variants rows and deletes them under it.
// So a render that loses the race leaves no variants row, only an unreferenced blob record
// that compaction reclaims.
//
// Thread-safety: Get may be called from any event loop at once; the Transformer must
// outlive every Get it started (Drain() waits for renders in flight).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "base/status.h"
#include "codec/image_header.h"
#include "codec/pipeline.h"
#include "core/transform.h"
#include "storage/blob_store.h"
#include "storage/db.h"

namespace glint::core {

struct TransformerOptions {
  unsigned cpu_threads = 0;             // 0 = one per core
  size_t max_queue = 64;                // renders waiting or running; more are refused (503)
  uint64_t cache_bytes = 256ull << 20;  // memory for rendered variants
  uint64_t max_cached_variant_bytes = 4ull << 20;
  codec::HeaderLimits limits;  // decoder limits for sources
};

// What a source photo is, for rendering it.
struct SourceRef {
  uint64_t photo_id = 0;
  storage::BlobLocation blob;
  uint64_t owner = 0;
};

struct Variant {
  std::shared_ptr<const std::string> bytes;
  codec::Format format = codec::Format::kUnknown;
  std::string etag;  // strong, from the source's checksum and the variant key
};

class Transformer {
 public:
  // `next_blob_id` hands out blob ids from the same sequence as the Service's (variant blobs
  // are recorded in the blobs CF too, so ids stay unique across restarts).
  Transformer(storage::Db& db, storage::BlobStore& blobs, std::function<uint64_t()> next_blob_id,
              TransformerOptions options);
  ~Transformer();  // joins the CPU pool

  // The variant of `source` for `spec` (format already resolved; not the identity).
  // Errors: kNotFound "photo_not_found" when the photo was deleted before a fresh render could
  // be stored (callers check the photo first, so only a request racing the delete sees it).
  boost::asio::awaitable<Result<Variant>> Get(SourceRef source, TransformSpec spec);

  // An image that is not rendered from a photo (a generated default avatar): `render` runs
  // on the CPU pool once per `key` at a time (single-flight, the same queue bound as Get) and
  // the result is kept in the memory LRU under `key`; it is not persisted (rendering it again
  // after a restart is cheap). `render` must be deterministic for `key`: the ETag is derived
  // from the key alone (GeneratedEtag).
  boost::asio::awaitable<Result<Variant>> GetGenerated(
      std::string key, std::function<Result<codec::Rendered>()> render);
  static std::string GeneratedEtag(std::string_view key);

  // Drops every variant of `photo_id` from memory (after its rows were deleted). A Get that
  // read a variant before the delete may still put it back; it is then never asked for again
  // under this id (ids are not reused while the process runs) and ages out of the LRU.
  void ForgetPhoto(uint64_t photo_id);

  // The ETag a variant of `source` for `spec` has, known without rendering it (so a
  // conditional request can be answered 304 before any work).
  static std::string EtagFor(const SourceRef& source, const TransformSpec& spec);

  // Renders `specs` of `source` from a single decode (codec::RenderAll: no spec may rotate or
  // flip; formats resolved) and stores each durably as Get would, skipping variants already
  // stored; returns the source's BlurHash. Blocking (disk and CPU), for the background
  // renditions worker (core/renditions.h), never an event loop. Errors: reading or decoding
  // the source, storing a variant.
  Result<std::string> RenderRenditions(const SourceRef& source,
                                       std::span<const TransformSpec> specs);

  // Renders performed so far (tests prove single-flight and persistence with it).
  uint64_t renders() const { return renders_.load(); }

 private:
  struct Flight;
  struct Shard {
    std::mutex mu;
    std::list<std::pair<std::string, Variant>> lru;  // front = most recent; GUARDED_BY(mu)
    std::unordered_map<std::string, std::list<std::pair<std::string, Variant>>::iterator> index;
    uint64_t bytes = 0;  // GUARDED_BY(mu)
  };
  static constexpr size_t kShards = 16;

  std::optional<Variant> FindInMemory(const std::string& key);
  // Runs `work` for `key` unless a run for it is in flight (then waits for that one's result),
  // refusing with kUnavailable "server_busy" past max_queue.
  boost::asio::awaitable<Result<Variant>> Fly(
      const std::string& key, const std::function<boost::asio::awaitable<Result<Variant>>()>& work);
  void Remember(const std::string& key, const Variant& v);
  Result<Variant> RenderAndStore(const SourceRef& source, const TransformSpec& spec,
                                 const std::string& key, const std::string& source_bytes);
  // Where the variants row `row` says the bytes are: the blobs row of its blob id, or a
  // legacy row's own location. nullopt when the blobs row is gone (a cache miss).
  Result<std::optional<storage::BlobLocation>> Resolve(std::string_view row) const;
  // Writes a rendered variant (blob + blobs and variants rows) and remembers it in memory.
  // The rows are written only while the photo exists (checked under blobs_.LockIndex());
  // else kNotFound "photo_not_found" and the appended blob stays unreferenced.
  Result<Variant> Store(const SourceRef& source, const std::string& key, codec::Rendered rendered);

  storage::Db& db_;
  storage::BlobStore& blobs_;
  TransformerOptions options_;
  boost::asio::thread_pool cpu_;
  std::atomic<size_t> queued_{0};
  std::atomic<uint64_t> renders_{0};
  std::function<uint64_t()> next_blob_id_;
  std::array<Shard, kShards> shards_;
  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;  // GUARDED_BY(flights_mu_)
};

}  // namespace glint::core
