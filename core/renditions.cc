#include "core/renditions.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>
#include <utility>

#include "base/log.h"
#include "storage/record.h"

namespace glint::core {
namespace {

constexpr size_t kBatch = 32;
constexpr size_t kMaxWidths = 16;
constexpr uint32_t kMaxWidth = 16384;

// Storage and internal errors may pass; anything about the image itself will not.
bool Retryable(const Status& s) {
  return s.code() == Code::kIoError || s.code() == Code::kUnavailable ||
         s.code() == Code::kInternal;
}

}  // namespace

Result<std::vector<uint32_t>> ParseWidths(std::string_view text) {
  std::vector<uint32_t> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    uint32_t w = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), w);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || w == 0 ||
        w > kMaxWidth)
      return InvalidArgument("width \"" + std::string(item) + "\" is not a number 1.." +
                             std::to_string(kMaxWidth));
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    if (out.size() > kMaxWidths)
      return InvalidArgument("at most " + std::to_string(kMaxWidths) + " widths");
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

RenditionWorker::RenditionWorker(Service& service, Transformer& transformer, storage::Db& db,
                                 RenditionOptions options)
    : service_(service), transformer_(transformer), db_(db), options_(std::move(options)) {
  // Exactly the spec `?w=N` parses to, so these are the variants such URLs find.
  for (uint32_t w : options_.widths) {
    const std::pair<std::string, std::string> param{"w", std::to_string(w)};
    TransformLimits limits;
    limits.max_width = limits.max_height = kMaxWidth;
    auto spec = ParseTransform(std::span(&param, 1), limits);
    if (spec.ok()) specs_.push_back(*spec);
  }
}

RenditionWorker::~RenditionWorker() { Stop(); }

void RenditionWorker::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void RenditionWorker::Notify(uint64_t photo_id) {
  {
    std::lock_guard lock(mu_);
    rescan_from_ = notified_ ? std::min(rescan_from_, photo_id) : photo_id;
    notified_ = true;
  }
  wake_.notify_one();
}

void RenditionWorker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

bool RenditionWorker::Process(uint64_t photo_id) {
  auto view = service_.GetPhoto(Principal::Admin(), photo_id);
  Status done;
  if (!view.ok()) {
    done = service_.RecordRenditions(photo_id, "");  // gone: only the row remains
  } else {
    auto location = service_.AuthorizeBlob(Principal::Admin(), view->photo.blob_id);
    if (!location.ok()) {
      log::Error("renditions of photo " + std::to_string(photo_id) + ": " +
                 location.status().ToString());
      return !Retryable(location.status()) && service_.RecordRenditions(photo_id, "").ok();
    }
    SourceRef source{photo_id, *location, view->photo.owner};
    auto blurhash = transformer_.RenderRenditions(source, specs_);
    if (!blurhash.ok()) {
      // A photo deleted while it was rendered is simply done.
      if (blurhash.status().reason() != "photo_not_found")
        log::Warn("renditions of photo " + std::to_string(photo_id) + ": " +
                  blurhash.status().ToString());
      if (Retryable(blurhash.status())) return false;
      blurhash = std::string();  // the image itself is at fault: served as it is, no BlurHash
    }
    done = service_.RecordRenditions(photo_id, *blurhash);
  }
  if (!done.ok()) {
    log::Error("renditions of photo " + std::to_string(photo_id) + ": " + done.ToString());
    return false;
  }
  ++completed_;
  return true;
}

void RenditionWorker::Run() {
  // Below request threads: a burst of uploads must not slow down serving.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
  uint64_t cursor = 0;  // every due row below it has been taken in this run
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
      if (notified_) {
        cursor = std::min(cursor, rescan_from_);
        notified_ = false;
      }
    }
    std::vector<uint64_t> due;
    Status scan = db_.ScanFrom(storage::Cf::kRenditionsDue, storage::U64Key(cursor), kBatch,
                               [&](std::string_view key, std::string_view) {
                                 if (auto id = storage::ReadU64BE(key, 0)) due.push_back(*id);
                                 return true;
                               });
    bool pause = !scan.ok();
    for (uint64_t id : due) {
      {
        std::lock_guard lock(mu_);
        if (stop_) return;
      }
      if (!Process(id)) {
        pause = true;
        break;
      }
      cursor = id + 1;
    }
    std::unique_lock lock(mu_);
    if (pause) {
      wake_.wait_for(lock, options_.retry_pause, [this] { return stop_; });
    } else if (due.empty()) {
      wake_.wait(lock, [this] { return stop_ || notified_; });
    }
  }
}

}  // namespace glint::core
