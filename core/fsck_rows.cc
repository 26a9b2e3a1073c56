#include "core/fsck_rows.h"

#include <limits>
#include <string_view>
#include <utility>

#include "core/records.h"
#include "storage/record.h"

namespace glint::core {
namespace {

using storage::Cf;
using storage::U64Key;

constexpr size_t kAllRows = std::numeric_limits<size_t>::max();

std::string Tag(uint64_t photo_id, uint64_t user_id) {
  return "tag of user " + std::to_string(user_id) + " in photo " + std::to_string(photo_id);
}

Finding Make(FindingKind kind, uint64_t photo_id, std::string what, std::string fix_note) {
  Finding f;
  f.kind = kind;
  f.photo_id = photo_id;
  f.what = std::move(what);
  f.fixable = true;
  f.fix_note = std::move(fix_note);
  return f;
}

// The tags row a tagged row was made from: it exists, decodes, and gives this tagged key.
// An empty string when it does; otherwise why not.
Result<std::string> TaggedRowProblem(const storage::Db& db, std::string_view tagged_key,
                                     uint64_t user_id, uint64_t photo_id) {
  GLINT_ASSIGN_OR_RETURN(auto row, db.Get(Cf::kTags, TagKey(photo_id, user_id)));
  if (!row) return std::string("there is no such tag");
  auto tag = TagRecord::Decode(*row);
  if (!tag.ok()) return "its tags row does not decode: " + tag.status().message();
  if (tag->photo_id != photo_id || tag->user_id != user_id || TaggedKey(*tag) != tagged_key) {
    return "the tag's created_at is " + std::to_string(tag->created_at) +
           ", which puts its tagged row elsewhere";
  }
  return std::string();
}

class RowChecker {
 public:
  RowChecker(const storage::Db& db, RowCounts& counts, std::vector<RowFix>& fixes,
             const std::function<void(Finding)>& add,
             const std::function<void(uint64_t rows)>& progress)
      : db_(db), counts_(counts), fixes_(fixes), add_(add), progress_(progress) {}

  Status Run() {
    GLINT_RETURN_IF_ERROR(Tags());
    GLINT_RETURN_IF_ERROR(Tagged());
    GLINT_RETURN_IF_ERROR(BadgeSenders());
    return Badges();
  }

 private:
  void Row() {
    if (progress_) progress_(++rows_);
  }
  void Fix(Finding f, Cf cf, std::string key, std::optional<std::string> value) {
    fixes_.push_back({cf, std::move(key), std::move(value)});
    add_(std::move(f));
  }
  void Malformed(Cf cf, std::string_view key, std::string what) {
    Fix(Make(FindingKind::kMalformedRow, 0, std::move(what), "delete the row"), cf,
        std::string(key), std::nullopt);
  }
  void MalformedKey(Cf cf, std::string_view table, std::string_view key,
                    std::string_view expected) {
    Malformed(cf, key,
              "a " + std::string(table) + " row has a " + std::to_string(key.size()) +
                  "-byte key, not " + std::string(expected));
  }

  // Whether a photos row exists for `photo_id` (one lookup per photo: tags come in photo
  // order). A photos row that does not decode still exists: the blob check names it.
  Result<bool> PhotoExists(uint64_t photo_id) {
    if (photo_id != last_photo_) {
      GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kPhotos, U64Key(photo_id)));
      last_photo_ = photo_id;
      last_photo_exists_ = row.has_value();
    }
    return last_photo_exists_;
  }

  Status Tags() {
    Status error;
    GLINT_RETURN_IF_ERROR(
        db_.Scan(Cf::kTags, "", kAllRows, [&](std::string_view key, std::string_view value) {
          Row();
          ++counts_.tags;
          auto photo_id = storage::ReadU64BE(key);
          auto user_id = storage::ReadU64BE(key, 8);
          if (key.size() != 16 || !photo_id || !user_id) {
            MalformedKey(Cf::kTags, "tags", key, "a photo id and a user id");
            return true;
          }
          auto tag = TagRecord::Decode(value);
          if (!tag.ok() || tag->photo_id != *photo_id || tag->user_id != *user_id) {
            Malformed(Cf::kTags, key,
                      "the tags row of the " + Tag(*photo_id, *user_id) +
                          (tag.ok() ? " names photo " + std::to_string(tag->photo_id) +
                                          " and user " + std::to_string(tag->user_id)
                                    : " does not decode: " + tag.status().message()));
            return true;
          }
          auto exists = PhotoExists(*photo_id);
          if (!exists.ok()) {
            error = exists.status();
            return false;
          }
          const std::string tagged_key = TaggedKey(*tag);
          if (!*exists) {
            Fix(Make(FindingKind::kOrphanTagRow, *photo_id,
                     "the " + Tag(*photo_id, *user_id) + ": the photo does not exist",
                     "delete the tag's rows"),
                Cf::kTags, std::string(key), std::nullopt);
            fixes_.push_back({Cf::kTagged, tagged_key, std::nullopt});
            return true;
          }
          auto tagged = db_.Get(Cf::kTagged, tagged_key);
          if (!tagged.ok()) {
            error = tagged.status();
            return false;
          }
          if (!*tagged) {
            Fix(Make(FindingKind::kMissingTaggedRow, *photo_id,
                     "the " + Tag(*photo_id, *user_id) +
                         " has no tagged row: the photos the user is tagged in miss it",
                     "add the tagged row"),
                Cf::kTagged, tagged_key, std::string());
          }
          return true;
        }));
    return error;
  }

  Status Tagged() {
    Status error;
    GLINT_RETURN_IF_ERROR(
        db_.Scan(Cf::kTagged, "", kAllRows, [&](std::string_view key, std::string_view) {
          Row();
          ++counts_.tagged;
          auto user_id = storage::ReadU64BE(key);
          auto inverted_photo = storage::ReadU64BE(key, 16);
          if (key.size() != 24 || !user_id || !inverted_photo) {
            MalformedKey(Cf::kTagged, "tagged", key, "a user id, a time and a photo id");
            return true;
          }
          const uint64_t photo_id = ~*inverted_photo;
          auto problem = TaggedRowProblem(db_, key, *user_id, photo_id);
          if (!problem.ok()) {
            error = problem.status();
            return false;
          }
          if (!problem->empty()) {
            Fix(Make(FindingKind::kStrayTaggedRow, photo_id,
                     "a tagged row lists photo " + std::to_string(photo_id) + " for user " +
                         std::to_string(*user_id) + ", but " + *problem,
                     "delete the tagged row"),
                Cf::kTagged, std::string(key), std::nullopt);
          }
          return true;
        }));
    return error;
  }

  // Whether the receiver has a badge_senders row (a malformed key is not a sender).
  Result<bool> HasSenders(uint64_t receiver) const {
    bool found = false;
    GLINT_RETURN_IF_ERROR(db_.Scan(Cf::kBadgeSenders, U64Key(receiver), kAllRows,
                                   [&](std::string_view key, std::string_view) {
                                     found = key.size() == 16;
                                     return !found;
                                   }));
    return found;
  }

  void CountMismatch(uint64_t receiver, uint64_t senders, int64_t acked_at, std::string what) {
    Fix(Make(FindingKind::kBadgeCountMismatch, 0,
             "the badge of user " + std::to_string(receiver) + " " + std::move(what) + " but " +
                 std::to_string(senders) + " senders are counted",
             "set the count to " + std::to_string(senders)),
        Cf::kBadges, U64Key(receiver), BadgeRecord{senders, acked_at}.Encode());
  }

  // A receiver's badges row (nullopt: none) against its `senders` rows.
  void CheckBadge(uint64_t receiver, const std::optional<std::string>& row, uint64_t senders) {
    if (!row) {
      if (senders != 0) CountMismatch(receiver, senders, 0, "has no row (count 0)");
      return;
    }
    auto badge = BadgeRecord::Decode(*row);
    if (!badge.ok()) {
      CountMismatch(receiver, senders, 0, "does not decode (" + badge.status().message() + ")");
    } else if (badge->count != senders) {
      CountMismatch(receiver, senders, badge->acked_at, "says " + std::to_string(badge->count));
    }
  }

  // Receivers with counted senders: each run of badge_senders rows (they come grouped by
  // receiver) against the receiver's badges row. Every sender row is read once.
  Status BadgeSenders() {
    Status error;
    std::optional<uint64_t> receiver;
    uint64_t run = 0;
    auto end_run = [&]() -> Status {
      if (!receiver || run == 0) return Status::Ok();
      GLINT_ASSIGN_OR_RETURN(auto row, db_.Get(Cf::kBadges, U64Key(*receiver)));
      CheckBadge(*receiver, row, run);
      run = 0;
      return Status::Ok();
    };
    GLINT_RETURN_IF_ERROR(
        db_.Scan(Cf::kBadgeSenders, "", kAllRows, [&](std::string_view key, std::string_view) {
          Row();
          ++counts_.badge_senders;
          auto r = storage::ReadU64BE(key);
          if (key.size() != 16 || !r) {
            MalformedKey(Cf::kBadgeSenders, "badge_senders", key, "a receiver and a sender");
            return true;
          }
          if (receiver != r) {
            error = end_run();
            if (!error.ok()) return false;
            receiver = r;
          }
          ++run;
          return true;
        }));
    GLINT_RETURN_IF_ERROR(error);
    return end_run();
  }

  // Receivers without counted senders: their badges row must say 0. (A row with senders was
  // checked with them; one lookup for each row that does not say 0.)
  Status Badges() {
    Status error;
    GLINT_RETURN_IF_ERROR(
        db_.Scan(Cf::kBadges, "", kAllRows, [&](std::string_view key, std::string_view value) {
          Row();
          ++counts_.badges;
          auto receiver = storage::ReadU64BE(key);
          if (key.size() != 8 || !receiver) {
            MalformedKey(Cf::kBadges, "badges", key, "a user id");
            return true;
          }
          auto badge = BadgeRecord::Decode(value);
          if (badge.ok() && badge->count == 0) return true;
          auto has_senders = HasSenders(*receiver);
          if (!has_senders.ok()) {
            error = has_senders.status();
            return false;
          }
          if (!*has_senders) CheckBadge(*receiver, std::string(value), 0);
          return true;
        }));
    return error;
  }

  const storage::Db& db_;
  RowCounts& counts_;
  std::vector<RowFix>& fixes_;
  const std::function<void(Finding)>& add_;
  const std::function<void(uint64_t)>& progress_;
  uint64_t rows_ = 0;
  uint64_t last_photo_ = 0;  // photo ids start at 1
  bool last_photo_exists_ = false;
};

}  // namespace

Status CheckRowIndexes(const storage::Db& db, RowCounts& counts, std::vector<RowFix>& fixes,
                       const std::function<void(Finding)>& add,
                       const std::function<void(uint64_t rows)>& progress) {
  return RowChecker(db, counts, fixes, add, progress).Run();
}

}  // namespace glint::core
