#include "core/transformer.h"

#include <xxhash.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>
#include <vector>

#include "codec/pipeline.h"
#include "core/records.h"
#include "core/service.h"
#include "storage/record.h"

namespace glint::core {
namespace {

namespace asio = boost::asio;
using storage::Cf;

// Keys of generated images in the memory cache: photo variant keys start with an 8-byte
// big-endian photo id, whose first byte is 0 for every id below 2^56.
constexpr std::string_view kGeneratedPrefix = "gen:";

std::string VariantEtag(uint64_t source_checksum, const std::string& key) {
  std::string material(reinterpret_cast<const char*>(&source_checksum), sizeof source_checksum);
  material += key;
  return BlobEtag(XXH3_64bits(material.data(), material.size()));
}

}  // namespace

// One render in progress; waiters park on a timer that the leader cancels when done.
struct Transformer::Flight {
  std::mutex mu;
  bool done = false;                      // GUARDED_BY(mu)
  std::optional<Result<Variant>> result;  // GUARDED_BY(mu)
  std::vector<std::pair<asio::any_io_executor, std::shared_ptr<asio::steady_timer>>> waiters;
};

Transformer::Transformer(storage::Db& db, storage::BlobStore& blobs,
                         std::function<uint64_t()> next_blob_id, TransformerOptions options)
    : db_(db),
      blobs_(blobs),
      options_(options),
      cpu_(options.cpu_threads ? options.cpu_threads
                               : std::max(1u, std::thread::hardware_concurrency())),
      next_blob_id_(std::move(next_blob_id)) {}

Transformer::~Transformer() { cpu_.join(); }

std::string Transformer::EtagFor(const SourceRef& source, const TransformSpec& spec) {
  return VariantEtag(source.blob.checksum, storage::U64Key(source.photo_id) + spec.CanonicalKey());
}

std::optional<Variant> Transformer::FindInMemory(const std::string& key) {
  Shard& s = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return std::nullopt;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->second;
}

void Transformer::Remember(const std::string& key, const Variant& v) {
  const uint64_t size = v.bytes->size();
  const uint64_t budget = options_.cache_bytes / kShards;
  if (size > options_.max_cached_variant_bytes || size > budget) return;
  Shard& s = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(s.mu);
  if (s.index.contains(key)) return;
  while (!s.lru.empty() && s.bytes + size > budget) {
    s.bytes -= s.lru.back().second.bytes->size();
    s.index.erase(s.lru.back().first);
    s.lru.pop_back();
  }
  s.lru.emplace_front(key, v);
  s.index.emplace(key, s.lru.begin());
  s.bytes += size;
}

void Transformer::ForgetPhoto(uint64_t photo_id) {
  const std::string prefix = storage::U64Key(photo_id);
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      if (it->first.starts_with(prefix)) {
        s.bytes -= it->second.bytes->size();
        s.index.erase(it->first);
        it = s.lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

Result<std::optional<storage::BlobLocation>> Transformer::Resolve(std::string_view row) const {
  GLINT_ASSIGN_OR_RETURN(VariantRecord rec, VariantRecord::Decode(row));
  if (rec.legacy) return std::optional<storage::BlobLocation>(*rec.legacy);
  GLINT_ASSIGN_OR_RETURN(auto blob_row, db_.Get(Cf::kBlobs, storage::U64Key(rec.blob_id)));
  if (!blob_row) return std::optional<storage::BlobLocation>();
  GLINT_ASSIGN_OR_RETURN(storage::BlobLocation loc, storage::BlobLocation::Decode(*blob_row));
  return std::optional<storage::BlobLocation>(loc);
}

Result<Variant> Transformer::RenderAndStore(const SourceRef& source, const TransformSpec& spec,
                                            const std::string& key,
                                            const std::string& source_bytes) {
  GLINT_ASSIGN_OR_RETURN(
      codec::Rendered rendered,
      codec::Render(std::span<const char>(source_bytes.data(), source_bytes.size()),
                    ToPipelineOptions(spec, options_.limits)));
  ++renders_;
  return Store(source, key, std::move(rendered));
}

Result<Variant> Transformer::Store(const SourceRef& source, const std::string& key,
                                   codec::Rendered rendered) {
  uint64_t blob_id = next_blob_id_();
  GLINT_ASSIGN_OR_RETURN(
      storage::BlobLocation loc,
      blobs_.Append(blob_id, std::span<const char>(rendered.bytes.data(), rendered.bytes.size())));
  loc.owner = source.owner;
  storage::WriteBatch batch;
  batch.Put(Cf::kBlobs, storage::U64Key(blob_id), loc.Encode());
  batch.Put(Cf::kVariants, key, VariantRecord{blob_id, std::nullopt}.Encode());
  {
    // Service::DeletePhoto deletes the photo row and scans its variants under this lock, so
    // either it sees this row or this sees the photo gone.
    auto index = blobs_.LockIndex();
    GLINT_ASSIGN_OR_RETURN(auto photo, db_.Get(Cf::kPhotos, storage::U64Key(source.photo_id)));
    if (!photo)
      return NotFound("photo " + std::to_string(source.photo_id) + " was deleted",
                      "photo_not_found");
    GLINT_RETURN_IF_ERROR(db_.Write(batch));
  }
  Variant v{std::make_shared<const std::string>(std::move(rendered.bytes)), rendered.format,
            VariantEtag(source.blob.checksum, key)};
  Remember(key, v);
  return v;
}

Result<std::string> Transformer::RenderRenditions(const SourceRef& source,
                                                  std::span<const TransformSpec> specs) {
  std::vector<std::string> keys;
  std::vector<codec::PipelineOptions> options;
  for (const TransformSpec& spec : specs) {
    std::string key = storage::U64Key(source.photo_id) + spec.CanonicalKey();
    GLINT_ASSIGN_OR_RETURN(auto stored, db_.Get(Cf::kVariants, key));
    if (stored) continue;  // asked for (and rendered) before the background got to it
    keys.push_back(std::move(key));
    options.push_back(ToPipelineOptions(spec, options_.limits));
  }
  GLINT_ASSIGN_OR_RETURN(std::string bytes, blobs_.Read(source.blob));
  GLINT_ASSIGN_OR_RETURN(codec::RenderSet set,
                         codec::RenderAll(std::span<const char>(bytes.data(), bytes.size()),
                                          options, options_.limits));
  renders_ += set.renders.size();
  for (size_t i = 0; i < keys.size(); ++i) {
    GLINT_RETURN_IF_ERROR(Store(source, keys[i], std::move(set.renders[i])).status());
  }
  return std::move(set.blurhash);
}

asio::awaitable<Result<Variant>> Transformer::Get(SourceRef source, TransformSpec spec) {
  const std::string key = storage::U64Key(source.photo_id) + spec.CanonicalKey();
  if (auto hit = FindInMemory(key)) co_return *hit;

  // Persisted by an earlier render (perhaps before a restart).
  auto row = db_.Get(Cf::kVariants, key);
  if (!row.ok()) co_return row.status();
  if (*row) {
    auto loc = Resolve(**row);
    if (loc.ok() && *loc) {
      auto bytes = co_await blobs_.ReadAsync(**loc);
      // A variant that cannot be read is only a cache entry: render it again below.
      if (bytes.ok()) {
        codec::Format format = codec::Sniff(std::span<const char>(bytes->data(), bytes->size()));
        Variant v{std::make_shared<const std::string>(std::move(*bytes)), format,
                  VariantEtag(source.blob.checksum, key)};
        Remember(key, v);
        co_return v;
      }
    }
  }

  // Named, not a temporary in the co_await: GCC 12 mishandles the lifetime of class-type
  // temporaries across a suspension.
  const std::function<asio::awaitable<Result<Variant>>()> render =
      [&]() -> asio::awaitable<Result<Variant>> {
    auto source_bytes = co_await blobs_.ReadAsync(source.blob);
    if (!source_bytes.ok()) co_return source_bytes.status();
    std::optional<Result<Variant>> out = co_await asio::co_spawn(
        cpu_,
        [&]() -> asio::awaitable<std::optional<Result<Variant>>> {
          co_return RenderAndStore(source, spec, key, *source_bytes);
        },
        asio::use_awaitable);
    co_return std::move(*out);
  };
  co_return co_await Fly(key, render);
}

asio::awaitable<Result<Variant>> Transformer::GetGenerated(
    std::string key, std::function<Result<codec::Rendered>()> render) {
  const std::string etag = GeneratedEtag(key);
  key.insert(0, kGeneratedPrefix);
  if (auto hit = FindInMemory(key)) co_return *hit;
  const std::function<asio::awaitable<Result<Variant>>()> work =
      [&]() -> asio::awaitable<Result<Variant>> {
    std::optional<Result<Variant>> out = co_await asio::co_spawn(
        cpu_,
        [&]() -> asio::awaitable<std::optional<Result<Variant>>> {
          auto rendered = render();
          if (!rendered.ok()) co_return Result<Variant>(rendered.status());
          ++renders_;
          Variant v{std::make_shared<const std::string>(std::move(rendered->bytes)),
                    rendered->format, etag};
          Remember(key, v);
          co_return Result<Variant>(std::move(v));
        },
        asio::use_awaitable);
    co_return std::move(*out);
  };
  co_return co_await Fly(key, work);
}

std::string Transformer::GeneratedEtag(std::string_view key) {
  return BlobEtag(XXH3_64bits(key.data(), key.size()));
}

asio::awaitable<Result<Variant>> Transformer::Fly(
    const std::string& key, const std::function<asio::awaitable<Result<Variant>>()>& work) {
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard lock(flights_mu_);
    auto& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    auto executor = co_await asio::this_coro::executor;
    auto timer =
        std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
    {
      std::lock_guard lock(flight->mu);
      if (flight->done) co_return *flight->result;
      flight->waiters.emplace_back(executor, timer);
    }
    // The leader cancels the timer when the result is in.
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    std::lock_guard lock(flight->mu);
    co_return *flight->result;
  }

  Result<Variant> result = Unavailable("the transform queue is full; retry shortly", "server_busy");
  if (queued_.fetch_add(1) < options_.max_queue) result = co_await work();
  --queued_;

  {
    std::lock_guard lock(flights_mu_);
    flights_.erase(key);
  }
  {
    std::lock_guard lock(flight->mu);
    flight->done = true;
    flight->result = result;
    for (auto& [executor, timer] : flight->waiters)
      asio::post(executor, [timer = timer] { timer->cancel(); });
  }
  co_return result;
}

}  // namespace glint::core
