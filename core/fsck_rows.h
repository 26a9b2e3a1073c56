// The second half of `glint admin fsck`: the rows that index other rows, beside the blob
// index of core/fsck.h.
//   - tags and tagged: every tags row (photo ‖ tagged user -> tag record) decodes, names the
//     photo and user of its key, belongs to a photo that exists, and has its tagged row
//     (user ‖ ~created_at ‖ ~photo); every tagged row has the tags row it was made from.
//   - badges and badge_senders: every receiver's count is the number of its badge_senders
//     rows (a receiver without a badges row counts 0).
// Both pairs are written in one batch by core/, so a difference here is a bug or damaged
// bytes, never an interrupted write.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "core/fsck.h"
#include "storage/db.h"

namespace glint::core {

// One repair, as a RocksDB operation: put `value`, or delete when it is nullopt.
struct RowFix {
  storage::Cf cf = storage::Cf::kTags;
  std::string key;
  std::optional<std::string> value;
};

// Reads the four column families once each, in key order, with one point lookup per tags
// row, per tagged row, per receiver with counted senders and per nonzero badge (memory: the
// fixes only). Each difference goes to `add`, with its repair appended to `fixes`;
// `progress(rows)` is called after every row.
// Errors: the Db failing to read.
Status CheckRowIndexes(const storage::Db& db, RowCounts& counts, std::vector<RowFix>& fixes,
                       const std::function<void(Finding)>& add,
                       const std::function<void(uint64_t rows)>& progress);

}  // namespace glint::core
