#include "core/badge.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "base/log.h"
#include "core/records.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::Cf;
using storage::U64Key;
using storage::U64PairKey;

constexpr size_t kShards = 256;  // lock stripes and memory shards, by receiver
// Commit lanes: stripes shard / (kShards / kLanes) are written by one batch at a time.
// A batch with at least kSplitAt pairs to write commits lane by lane (one synced write
// each, taking whichever lane is free first), so concurrent callers count and write in
// parallel, and RocksDB groups their fsyncs; a smaller batch is one write.
constexpr size_t kLanes = 8;
constexpr size_t kStripesPerLane = kShards / kLanes;
constexpr size_t kSplitAt = 2048;
constexpr size_t kWindow = 8;  // slots a pair may occupy in its shard's table

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

// True for a MESSAGE_UNSENT a Badges wrote (CountedEvents): its payload has "count".
bool CountedByBadges(const EventRecord& e) {
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(e.payload, ec);
  return !ec && payload.is_object() && payload.as_object().contains("count");
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A fixed-capacity set of (receiver, sender) pairs: a pair lives in one of kWindow slots
// from its hash; when they are all taken, one of them is overwritten (evicted). calloc'd,
// so pages are touched only as the set fills. Receiver 0 marks a free slot (ids are > 0).
class PairSet {
 public:
  void Init(size_t capacity) {
    if (capacity == 0) return;
    capacity = std::bit_ceil(std::max(capacity, kWindow));
    slots_.reset(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
    if (!slots_) return;  // no memory for the set: every lookup goes to RocksDB
    mask_ = capacity - 1;
  }
  bool Contains(uint64_t receiver, uint64_t sender) const {
    if (!slots_) return false;
    const size_t base = Start(receiver, sender);
    for (size_t i = 0; i < kWindow; ++i) {
      const Slot& s = slots_.get()[(base + i) & mask_];
      if (s.receiver == receiver && s.sender == sender) return true;
    }
    return false;
  }
  // Adds a pair not in the set; true when another pair was evicted for it.
  bool Insert(uint64_t receiver, uint64_t sender) {
    if (!slots_) return false;
    const size_t base = Start(receiver, sender);
    for (size_t i = 0; i < kWindow; ++i) {
      Slot& s = slots_.get()[(base + i) & mask_];
      if (s.receiver == 0) {
        s = {receiver, sender};
        return false;
      }
    }
    slots_.get()[(base + (victim_++ % kWindow)) & mask_] = {receiver, sender};
    return true;
  }
  void Erase(uint64_t receiver, uint64_t sender) {
    if (!slots_) return;
    const size_t base = Start(receiver, sender);
    for (size_t i = 0; i < kWindow; ++i) {
      Slot& s = slots_.get()[(base + i) & mask_];
      if (s.receiver == receiver && s.sender == sender) s = {};
    }
  }

 private:
  struct Slot {
    uint64_t receiver;
    uint64_t sender;
  };
  size_t Start(uint64_t receiver, uint64_t sender) const {
    return Mix(receiver * 0x9e3779b97f4a7c15ull ^ sender) & mask_;
  }
  std::unique_ptr<Slot, FreeDeleter> slots_;
  size_t mask_ = 0;
  size_t victim_ = 0;
};

}  // namespace

struct alignas(64) Badges::Shard {
  std::mutex mu;
  PairSet pairs;  // GUARDED_BY(mu)
  // receiver -> (watch id -> callback); a receiver with an entry is online. GUARDED_BY(mu)
  std::unordered_map<uint64_t, std::unordered_map<uint64_t, OnCount>> watches;

  void Notify(uint64_t receiver, uint64_t count) {  // REQUIRES(mu)
    auto it = watches.find(receiver);
    if (it == watches.end()) return;
    for (auto& [id, fn] : it->second) fn(count);
  }
};

struct alignas(64) Badges::Lane {
  std::mutex mu;
};

struct Badges::PendingPair {
  size_t shard;
  uint64_t receiver;
  uint64_t sender;
};

// A receiver's senders counted by one batch: first how many, then the count after them.
struct Badges::NewCount {
  uint64_t receiver;
  uint64_t count;
  size_t shard;
};

// The MESSAGE_UNSENT events of the pairs `fresh` (grouped by receiver, in the order of
// `counts`), each with the receiver's count after it.
std::vector<EventRecord> Badges::CountedEvents(const std::vector<const PendingPair*>& fresh,
                                               const std::vector<NewCount>& counts) {
  std::vector<EventRecord> out;
  out.reserve(fresh.size());
  size_t at = 0;
  for (const NewCount& c : counts) {
    size_t n = 0;
    while (at + n < fresh.size() && fresh[at + n]->receiver == c.receiver) ++n;
    for (size_t i = 0; i < n; ++i) {
      const PendingPair& p = *fresh[at + i];
      EventRecord& e = out.emplace_back();
      e.type = std::string(kMessageUnsent);
      e.subject = std::to_string(p.receiver);
      e.actor = p.sender;
      e.recipient = p.receiver;
      e.payload = "{\"src\":" + std::to_string(p.sender) +
                  ",\"dest\":" + std::to_string(p.receiver) +
                  ",\"count\":" + std::to_string(c.count - n + 1 + i) + "}";
    }
    at += n;
  }
  return out;
}

Badges::Badges(storage::Db& db, const Clock& clock, BadgeOptions options, EventLog* log)
    : db_(db),
      clock_(clock),
      options_(options),
      log_(log),
      shards_(new Shard[kShards]),
      lanes_(new Lane[kLanes]) {
  // Each stripe holds a power of two of at least kWindow pairs (so the set may be a little
  // larger than asked for).
  const size_t per_shard =
      options_.memory_pairs == 0 ? 0 : std::max<size_t>(1, options_.memory_pairs / kShards);
  for (size_t i = 0; i < kShards; ++i) shards_[i].pairs.Init(per_shard);
}

Badges::~Badges() = default;

Badges::Shard& Badges::ShardOf(uint64_t receiver) const { return shards_[Mix(receiver) % kShards]; }

Badges::Stats Badges::stats() const {
  return {received_.load(),  absorbed_.load(),  durable_writes_.load(), skipped_online_.load(),
          disk_hits_.load(), evictions_.load(), batches_.load(),        acks_.load()};
}

Result<BadgeIngestResult> Badges::Ingest(const Principal& actor,
                                         std::span<const BadgeEvent> events) {
  if (!actor.backend())
    return actor.authenticated()
               ? PermissionDenied("badge events come from the service token",
                                  "service_token_required")
               : Unauthenticated("badge events need the service token", "login_required");
  return IngestChecked(events, /*log_counted=*/true);
}

Result<BadgeIngestResult> Badges::IngestChecked(std::span<const BadgeEvent> events,
                                                bool log_counted) {
  if (events.size() > options_.max_batch)
    return TooLarge("a batch holds at most " + std::to_string(options_.max_batch) +
                        " events, not " + std::to_string(events.size()),
                    "batch_too_large");
  for (size_t i = 0; i < events.size(); ++i) {
    const BadgeEvent& e = events[i];
    if (e.src == 0 || e.dest == 0 || e.src == e.dest)
      return InvalidArgument(
          "event " + std::to_string(i) + ": src and dest must be two different positive user ids",
          "invalid_event");
  }
  BadgeIngestResult out;
  out.received = events.size();
  received_ += events.size();

  // Fast path, one stripe at a time: a pair already in memory is absorbed with no disk access
  // (it was counted since the last acknowledgement: an Ack after this resets it). A stripe
  // that another batch holds through its write is not waited for: its events are decided
  // with the pending ones, which are looked at again under the locks anyway.
  std::vector<PendingPair> pending;
  for (const BadgeEvent& e : events) {
    const size_t index = Mix(e.dest) % kShards;
    Shard& shard = shards_[index];
    std::unique_lock lock(shard.mu, std::try_to_lock);
    if (!lock) {
      pending.push_back({index, e.dest, e.src});
    } else if (options_.skip_online && shard.watches.contains(e.dest)) {
      ++out.skipped;
    } else if (shard.pairs.Contains(e.dest, e.src)) {
      ++out.absorbed;
    } else {
      pending.push_back({index, e.dest, e.src});
    }
  }
  if (!pending.empty()) {
    BadgeIngestResult more;
    Status s = CountPending(pending, log_counted && log_ != nullptr, more);
    if (!s.ok()) {
      absorbed_ += out.absorbed;
      skipped_online_ += out.skipped;
      return s;
    }
    out.counted += more.counted;
    out.absorbed += more.absorbed;
    out.skipped += more.skipped;
  }
  absorbed_ += out.absorbed;
  skipped_online_ += out.skipped;
  return out;
}

Status Badges::CountPending(std::vector<PendingPair>& pending, bool log_counted,
                            BadgeIngestResult& out) {
  // By lane, then in key order (receiver, sender): the point reads walk the memtable and the
  // SST blocks in order, and the rows go into each batch sorted, so RocksDB's memtable
  // inserts reuse the skip list's last splice instead of searching from the top for each.
  auto lane_of = [](const PendingPair& p) { return p.shard / kStripesPerLane; };
  std::sort(pending.begin(), pending.end(), [&](const PendingPair& a, const PendingPair& b) {
    return std::make_tuple(lane_of(a), a.receiver, a.sender) <
           std::make_tuple(lane_of(b), b.receiver, b.sender);
  });
  if (pending.size() < kSplitAt) return CountUnit(pending, log_counted, out);  // one write
  // Lane by lane, a free one first. Lanes only pick the work (a thread holds one at a time,
  // before any stripe); the stripes still order everything.
  std::vector<std::span<const PendingPair>> units;
  for (size_t begin = 0, i = 1; i <= pending.size(); ++i)
    if (i == pending.size() || lane_of(pending[i]) != lane_of(pending[begin])) {
      units.emplace_back(pending.data() + begin, i - begin);
      begin = i;
    }
  while (!units.empty()) {
    size_t pick = 0;
    std::unique_lock<std::mutex> lock;
    for (size_t u = 0; u < units.size() && !lock; ++u) {
      std::unique_lock<std::mutex> attempt(lanes_[lane_of(units[u].front())].mu, std::try_to_lock);
      if (attempt) {
        lock = std::move(attempt);
        pick = u;
      }
    }
    if (!lock) lock = std::unique_lock<std::mutex>(lanes_[lane_of(units[0].front())].mu);
    GLINT_RETURN_IF_ERROR(CountUnit(units[pick], log_counted, out));
    units.erase(units.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  return Status::Ok();
}

Status Badges::CountUnit(std::span<const PendingPair> pending, bool log_counted,
                         BadgeIngestResult& out) {
  // Every stripe the pending pairs touch, locked in ascending order (so two batches never
  // deadlock) for the whole decide-write-remember sequence: an Ack of one of these receivers
  // waits for it, or happened before it.
  std::vector<size_t> stripes;
  stripes.reserve(pending.size());
  for (const PendingPair& p : pending) stripes.push_back(p.shard);
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (size_t stripe : stripes) locks.emplace_back(shards_[stripe].mu);

  storage::WriteBatch batch;
  std::vector<const PendingPair*> fresh;  // to remember once the batch is durable
  std::vector<NewCount> counts;
  uint64_t disk_hits = 0;
  for (size_t i = 0; i < pending.size(); ++i) {
    const PendingPair& p = pending[i];
    Shard& shard = shards_[p.shard];
    const bool same_pair_as_previous =
        i > 0 && pending[i - 1].receiver == p.receiver && pending[i - 1].sender == p.sender;
    if (same_pair_as_previous) {  // a duplicate within this batch: decided with the first
      if (options_.skip_online && shard.watches.contains(p.receiver))
        ++out.skipped;
      else
        ++out.absorbed;
      continue;
    }
    // Rechecked under the batch's locks: the receiver may have come online, or another
    // batch counted the pair since the fast path looked.
    if (options_.skip_online && shard.watches.contains(p.receiver)) {
      ++out.skipped;
      continue;
    }
    if (shard.pairs.Contains(p.receiver, p.sender)) {
      ++out.absorbed;
      continue;
    }
    const std::string key = U64PairKey(p.receiver, p.sender);
    GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBadgeSenders, key));
    if (row) {  // counted before a restart or an eviction: remember it again
      if (shard.pairs.Insert(p.receiver, p.sender)) ++evictions_;
      ++disk_hits;
      ++out.absorbed;
      continue;
    }
    batch.Put(Cf::kBadgeSenders, key, {});
    fresh.push_back(&p);
    if (counts.empty() || counts.back().receiver != p.receiver)
      counts.push_back({p.receiver, 0, p.shard});
    ++counts.back().count;
  }
  disk_hits_ += disk_hits;
  if (fresh.empty()) return Status::Ok();
  for (NewCount& c : counts) {
    GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBadges, U64Key(c.receiver)));
    BadgeRecord badge;
    if (row) {
      GLINT_ASSIGN_OR_RETURN(badge, BadgeRecord::Decode(*row));
    }
    badge.count += c.count;
    c.count = badge.count;
    batch.Put(Cf::kBadges, U64Key(c.receiver), badge.Encode());
  }
  EventLog::Staged staged;
  if (log_counted) staged = log_->Stage(batch, CountedEvents(fresh, counts));
  Status written = db_.Write(batch);
  staged.Done(written);
  GLINT_RETURN_IF_ERROR(written);
  ++batches_;
  uint64_t evicted = 0;
  for (const PendingPair* p : fresh)
    if (shards_[p->shard].pairs.Insert(p->receiver, p->sender)) ++evicted;
  evictions_ += evicted;
  durable_writes_ += fresh.size();
  out.counted += fresh.size();
  for (const NewCount& c : counts) shards_[c.shard].Notify(c.receiver, c.count);
  return Status::Ok();
}

Status Badges::CheckReader(const Principal& actor, uint64_t receiver) const {
  if (!actor.authenticated()) return Unauthenticated("log in to see your badge", "login_required");
  if (!actor.CanActFor(receiver))
    return PermissionDenied("only the receiver (or an admin) may see or reset a badge",
                            "not_allowed");
  return Status::Ok();
}

Result<uint64_t> Badges::ReadCount(uint64_t receiver) const {
  GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBadges, U64Key(receiver)));
  if (!row) return uint64_t{0};
  GLINT_ASSIGN_OR_RETURN(BadgeRecord badge, BadgeRecord::Decode(*row));
  return badge.count;
}

Result<uint64_t> Badges::Count(const Principal& actor, uint64_t receiver) const {
  GLINT_RETURN_IF_ERROR(CheckReader(actor, receiver));
  return ReadCount(receiver);
}

Result<uint64_t> Badges::Ack(const Principal& actor, uint64_t receiver) {
  GLINT_RETURN_IF_ERROR(CheckReader(actor, receiver));
  Shard& shard = ShardOf(receiver);
  std::lock_guard lock(shard.mu);
  std::vector<uint64_t> senders;
  GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kBadgeSenders, U64Key(receiver), SIZE_MAX,
                                 [&](std::string_view key, std::string_view) {
                                   if (auto s = storage::ReadU64BE(key, 8)) senders.push_back(*s);
                                   return true;
                                 }));
  GLINT_ASSIGN_OR_RETURN(uint64_t count, ReadCount(receiver));
  ++acks_;
  if (senders.empty() && count == 0) return uint64_t{0};  // nothing to reset: no write
  storage::WriteBatch batch;
  for (uint64_t s : senders) batch.Delete(Cf::kBadgeSenders, U64PairKey(receiver, s));
  batch.Put(Cf::kBadges, U64Key(receiver), BadgeRecord{0, clock_.NowUnixSeconds()}.Encode());
  GLINT_RETURN_IF_ERROR(db_.Write(batch));
  for (uint64_t s : senders) shard.pairs.Erase(receiver, s);
  shard.Notify(receiver, 0);
  return count;
}

Result<std::unique_ptr<Badges::Watch>> Badges::Subscribe(const Principal& actor, uint64_t receiver,
                                                         OnCount on_count) {
  GLINT_RETURN_IF_ERROR(CheckReader(actor, receiver));
  Shard& shard = ShardOf(receiver);
  std::lock_guard lock(shard.mu);
  // Read under the stripe: no count change slips between this value and the callback.
  GLINT_ASSIGN_OR_RETURN(uint64_t count, ReadCount(receiver));
  const uint64_t id = next_watch_++;
  shard.watches[receiver].emplace(id, std::move(on_count));
  return std::unique_ptr<Watch>(new Watch(*this, receiver, id, count));
}

void Badges::Unsubscribe(uint64_t receiver, uint64_t id) {
  Shard& shard = ShardOf(receiver);
  std::lock_guard lock(shard.mu);
  auto it = shard.watches.find(receiver);
  if (it == shard.watches.end()) return;
  it->second.erase(id);
  if (it->second.empty()) shard.watches.erase(it);
}

Badges::Watch::~Watch() { badges_.Unsubscribe(receiver_, id_); }

bool Badges::Online(uint64_t receiver) const {
  Shard& shard = ShardOf(receiver);
  std::lock_guard lock(shard.mu);
  return shard.watches.contains(receiver);
}

Status Badges::ApplyLogEvents(const std::vector<EventRecord>& events) {
  std::vector<BadgeEvent> batch;
  for (const EventRecord& e : events) {
    if (e.type != kMessageUnsent || CountedByBadges(e)) continue;
    if (e.actor == 0 || e.recipient == 0 || e.actor == e.recipient) {
      log::Warn("badge: skipping MESSAGE_UNSENT event " + std::to_string(e.seq) +
                " without two different users");
      continue;
    }
    batch.push_back({e.actor, e.recipient});
  }
  const size_t step = std::max<size_t>(1, options_.max_batch);
  for (size_t at = 0; at < batch.size(); at += step) {
    const size_t n = std::min(step, batch.size() - at);
    auto done = IngestChecked(std::span(batch).subspan(at, n), /*log_counted=*/false);
    if (!done.ok()) return done.status();
  }
  return Status::Ok();
}

std::unique_ptr<Follower> NewBadgeFollower(EventLog& log, Badges& badges, FollowerOptions options) {
  return std::make_unique<Follower>(
      log, "badge",
      [&badges](const std::vector<EventRecord>& events) { return badges.ApplyLogEvents(events); },
      options);
}

}  // namespace glint::core
