// Badge ingest throughput through core::Badges (issue 6); bench/badge.sh runs it next to
// redis-benchmark SADD and writes the table. Run by hand:
//
//   badge_bench [--dir D] [--threads 2] [--batch 10000] [--events 2000000]
//
// Set-up: a fresh RocksDB (fsync on every write, as `glint serve` runs it) in a temp dir
// under --dir, an EventLog, and a Badges with the default options (4M pairs in memory)
// that appends each counted event to the log, as `glint serve` does.
// first_time: --threads threads ingest batches of --batch events, every event a new
//   (receiver, sender) pair: each batch is one synced WriteBatch of its sender rows, counts
//   and MESSAGE_UNSENT events. --events events in all.
// redundant: the same threads ingest the same pairs again: every event is absorbed by the
//   in-memory set, no disk access.
// stdout gets one JSON object with events/s for each, and the counters.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "base/clock.h"
#include "core/badge.h"
#include "storage/db.h"

namespace {

using namespace glint;

// Seconds to ingest every batch of `batches` once, split round-robin over `threads`.
double Ingest(core::Badges& badges, const std::vector<std::vector<core::BadgeEvent>>& batches,
              int threads) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (size_t i = next++; i < batches.size(); i = next++) {
        auto r = badges.Ingest(core::Principal::Service(), batches[i]);
        if (!r.ok()) {
          std::cerr << "ingest failed: " << r.status().ToString() << "\n";
          failed = true;
        }
      }
    });
  for (auto& th : pool) th.join();
  if (failed) std::exit(1);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"badge ingest throughput through core::Badges"};
  std::string dir = ".";
  int threads = 2;
  size_t batch = 10000;
  size_t events = 2000000;
  app.add_option("--dir", dir, "where the temp database goes");
  app.add_option("--threads", threads, "ingesting threads");
  app.add_option("--batch", batch, "events per Ingest call");
  app.add_option("--events", events, "events per measurement");
  CLI11_PARSE(app, argc, argv);

  const std::string db_dir = dir + "/badge-bench-" + std::to_string(::getpid());
  int code = 0;
  {
    auto db = storage::Db::Open(db_dir, storage::DbOptions{});
    if (!db.ok()) {
      std::cerr << db.status().ToString() << "\n";
      return 1;
    }
    SystemClock clock;
    auto log = core::EventLog::Open(**db, clock);
    if (!log.ok()) {
      std::cerr << log.status().ToString() << "\n";
      return 1;
    }
    core::BadgeOptions options;
    options.max_batch = batch;
    core::Badges badges(**db, clock, options, log->get());

    // Pairs: 100,000 receivers interleaved (event i goes to receiver i mod 100,000, so a
    // batch mixes receivers as a chat backend's traffic would), every sender new.
    std::vector<std::vector<core::BadgeEvent>> batches;
    for (size_t i = 0; i < events; ++i) {
      if (i % batch == 0) batches.emplace_back();
      const uint64_t receiver = 1 + (i % 100000);
      const uint64_t sender = 1000000 + i;
      batches.back().push_back({sender, receiver});
    }
    const double first = Ingest(badges, batches, threads);
    const core::Badges::Stats after_first = badges.stats();
    const double redundant = Ingest(badges, batches, threads);
    const core::Badges::Stats s = badges.stats();
    if (after_first.durable_writes != events || s.absorbed != events) {
      std::cerr << "unexpected counters: durable " << after_first.durable_writes << ", absorbed "
                << s.absorbed << "\n";
      code = 1;
    }
    boost::json::object out{{"events", events},
                            {"batch", batch},
                            {"threads", threads},
                            {"first_time_per_s", static_cast<double>(events) / first},
                            {"redundant_per_s", static_cast<double>(events) / redundant},
                            {"durable_writes", s.durable_writes},
                            {"absorbed", s.absorbed},
                            {"batches", s.batches}};
    std::cout << boost::json::serialize(out) << "\n";
  }
  std::filesystem::remove_all(db_dir);
  return code;
}
