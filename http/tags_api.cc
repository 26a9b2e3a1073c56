// People tagged in photos: /v1/photos/{id}/tags..., /v1/users/{user}/tagged, the accounts'
// tag settings (/v1/me/settings/tags) and a photo's visibility (PATCH /v1/photos/{id}).
// Authorisation is core's (core/service.h); this file parses and shapes. Documented in
// docs/api.md.
#include <boost/json.hpp>

#include "http/api_util.h"
#include "http/handlers.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

constexpr uint64_t kDefaultTaggedLimit = 20;
constexpr uint64_t kMaxTaggedLimit = 100;

json::object TagJson(const core::TagRecord& t) {
  return json::object{
      {"photo_id", std::to_string(t.photo_id)},
      {"user_id", t.user_id},
      {"tagger_id", t.tagger},
      {"box", json::object{{"x", t.box.x}, {"y", t.box.y}, {"w", t.box.w}, {"h", t.box.h}}},
      {"state", t.approved ? "approved" : "pending"},
      {"created_at", IsoTime(t.created_at)},
      {"updated_at", IsoTime(std::max(t.created_at, t.updated_at))}};
}

// {"x":..,"y":..,"w":..,"h":..}: numbers (integers too: 0 and 1 are fractions); the
// geometry is core's to judge (CheckTagBox).
Result<core::TagBox> BoxFromJson(const json::object& body) {
  auto* v = body.if_contains("box");
  if (!v || !v->is_object())
    return InvalidArgument("'box' must be an object {\"x\", \"y\", \"w\", \"h\"}", "box_invalid");
  const json::object& o = v->as_object();
  core::TagBox box;
  for (auto [key, target] : {std::pair<std::string_view, double*>{"x", &box.x},
                             {"y", &box.y},
                             {"w", &box.w},
                             {"h", &box.h}}) {
    auto* n = o.if_contains(key);
    if (!n || !n->is_number()) {
      std::string msg = "box.";
      msg.append(key).append(" must be a number (a fraction 0..1 of the upright image)");
      return InvalidArgument(std::move(msg), "box_invalid");
    }
    *target = n->to_number<double>();
  }
  for (const auto& kv : o)
    if (kv.key() != "x" && kv.key() != "y" && kv.key() != "w" && kv.key() != "h")
      return InvalidArgument("box has only x, y, w and h", "box_invalid");
  return box;
}

json::object SettingsJson(const core::TagSettings& s) {
  return json::object{
      {"tag_policy_photos", s.photos == core::PhotoTagPolicy::kOnlyMe ? "only_me" : "viewers"},
      {"tag_policy_me", s.me == core::MeTagPolicy::kNobody ? "nobody" : "anyone"},
      {"tag_approval", s.approval}};
}

// One word of `allowed` from the optional string field `key` (nullopt when absent).
Result<std::optional<size_t>> OptionalChoice(const json::object& o, std::string_view key,
                                             std::initializer_list<std::string_view> allowed) {
  GLINT_ASSIGN_OR_RETURN(auto word, OptionalString(o, key));
  if (!word) return std::optional<size_t>();
  size_t i = 0;
  for (std::string_view a : allowed) {
    if (*word == a) return std::optional<size_t>(i);
    ++i;
  }
  std::string what = "must be one of";
  for (std::string_view a : allowed) what.append(" ").append(a);
  return FieldError(key, what);
}

// Photo ids in paths; the user of /tags/{user}.
struct TagTarget {
  uint64_t photo = 0;
  uint64_t user = 0;
};

Result<TagTarget> TagPath(const RequestContext& ctx) {
  TagTarget t;
  GLINT_ASSIGN_OR_RETURN(t.photo, PathId(ctx, "id"));
  GLINT_ASSIGN_OR_RETURN(t.user, PathId(ctx, "user"));
  return t;
}

}  // namespace

std::optional<Response> Api::CheckTagRate(const core::Principal& actor) {
  if (options_.tag_rate_limit.per_second <= 0) return std::nullopt;
  const std::string key = "tagger:" + std::to_string(actor.user_id);
  auto d = tag_limiter_.Take(key, std::chrono::steady_clock::now());
  if (d.allowed) return std::nullopt;
  return TooManyRequests(
      "tag_rate_limited",
      "you are tagging too fast; retry after " + std::to_string(d.retry_after.count()) + " s",
      d.retry_after);
}

awaitable<Response> Api::TagPhoto(RequestContext& ctx) {
  auto actor = RequireUser(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto photo_id = PathId(ctx, "id");
  if (!photo_id.ok()) co_return ErrorResponse(photo_id.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto user = OptionalU64(*body, "user");
  if (!user.ok()) co_return ErrorResponse(user.status());
  if (!*user || **user == 0)
    co_return ErrorResponse(FieldError("user", "must be the id of the user to tag"));
  auto box = BoxFromJson(*body);
  if (!box.ok()) co_return ErrorResponse(box.status());
  if (auto refused = CheckTagRate(*actor)) co_return *refused;
  auto tagged =
      co_await RunBlocking([&] { return service_.TagPhoto(*actor, *photo_id, **user, *box); });
  if (!tagged.ok()) co_return ErrorResponse(tagged.status());
  co_return JsonResponse(tagged->created ? bhttp::status::created : bhttp::status::ok,
                         TagJson(tagged->tag));
}

awaitable<Response> Api::ListPhotoTags(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto photo_id = PathId(ctx, "id");
  if (!photo_id.ok()) co_return ErrorResponse(photo_id.status());
  auto tags = service_.ListPhotoTags(*actor, *photo_id);
  if (!tags.ok()) co_return ErrorResponse(tags.status());
  json::array arr;
  for (const auto& t : *tags) arr.push_back(TagJson(t));
  co_return JsonResponse(bhttp::status::ok, json::object{{"tags", std::move(arr)}});
}

awaitable<Response> Api::ApproveTag(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto target = TagPath(ctx);
  if (!target.ok()) co_return ErrorResponse(target.status());
  auto tag = co_await RunBlocking(
      [&] { return service_.ApproveTag(*actor, target->photo, target->user); });
  if (!tag.ok()) co_return ErrorResponse(tag.status());
  co_return JsonResponse(bhttp::status::ok, TagJson(*tag));
}

awaitable<Response> Api::RemoveTag(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto target = TagPath(ctx);
  if (!target.ok()) co_return ErrorResponse(target.status());
  Status s =
      co_await RunBlocking([&] { return service_.RemoveTag(*actor, target->photo, target->user); });
  if (!s.ok()) co_return ErrorResponse(s);
  co_return Response{bhttp::status::no_content, 11};
}

awaitable<Response> Api::ListTaggedPhotos(RequestContext& ctx) {
  auto actor = Authorize(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  Query q = ParseQuery(ctx);
  uint64_t limit = kDefaultTaggedLimit;
  if (q.Get("limit")) {
    auto n = RequireU64(q, "limit");
    if (!n.ok()) co_return ErrorResponse(n.status());
    limit = *n;
  }
  if (limit == 0 || limit > kMaxTaggedLimit)
    co_return ErrorResponse(InvalidArgument(
        "'limit' must be between 1 and " + std::to_string(kMaxTaggedLimit), "invalid_query"));
  const std::string cursor(q.Get("cursor").value_or(""));
  auto page = service_.ListTaggedPhotos(*actor, *user, cursor, limit);
  if (!page.ok()) co_return ErrorResponse(page.status());
  json::array arr;
  const std::string base = BaseUrl(ctx);
  for (const auto& p : page->photos)
    arr.push_back(json::object{{"photo", PhotoJson(p.photo, base)}, {"tag", TagJson(p.tag)}});
  json::object out{{"photos", std::move(arr)}};
  out["next_cursor"] =
      page->next_cursor.empty() ? json::value(nullptr) : json::value(page->next_cursor);
  co_return JsonResponse(bhttp::status::ok, out);
}

awaitable<Response> Api::GetTagSettings(RequestContext& ctx) {
  auto who = ActingFor(ctx);
  if (!who.ok()) co_return ErrorResponse(who.status());
  auto settings = service_.GetTagSettings(who->actor, who->user);
  if (!settings.ok()) co_return ErrorResponse(settings.status());
  co_return JsonResponse(bhttp::status::ok, SettingsJson(*settings));
}

awaitable<Response> Api::SetTagSettings(RequestContext& ctx) {
  auto who = ActingFor(ctx);
  if (!who.ok()) co_return ErrorResponse(who.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  core::TagSettingsChange change;
  auto photos = OptionalChoice(*body, "tag_policy_photos", {"viewers", "only_me"});
  if (!photos.ok()) co_return ErrorResponse(photos.status());
  if (*photos)
    change.photos = **photos == 0 ? core::PhotoTagPolicy::kViewers : core::PhotoTagPolicy::kOnlyMe;
  auto me = OptionalChoice(*body, "tag_policy_me", {"anyone", "nobody"});
  if (!me.ok()) co_return ErrorResponse(me.status());
  if (*me) change.me = **me == 0 ? core::MeTagPolicy::kAnyone : core::MeTagPolicy::kNobody;
  if (auto* v = body->if_contains("tag_approval")) {
    if (!v->is_bool()) co_return ErrorResponse(FieldError("tag_approval", "must be true or false"));
    change.approval = v->as_bool();
  }
  for (const auto& kv : *body)
    if (kv.key() != "tag_policy_photos" && kv.key() != "tag_policy_me" &&
        kv.key() != "tag_approval")
      co_return ErrorResponse(FieldError(kv.key(), "is not a tag setting"));
  auto saved =
      co_await RunBlocking([&] { return service_.SetTagSettings(who->actor, who->user, change); });
  if (!saved.ok()) co_return ErrorResponse(saved.status());
  co_return JsonResponse(bhttp::status::ok, SettingsJson(*saved));
}

awaitable<Response> Api::UpdatePhoto(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto rating = OptionalString(*body, "rating");
  if (!rating.ok()) co_return ErrorResponse(rating.status());
  auto alt_text = OptionalString(*body, "alt_text");
  if (!alt_text.ok()) co_return ErrorResponse(alt_text.status());
  auto word = OptionalChoice(*body, "visibility", {"public", "private"});
  if (!word.ok()) co_return ErrorResponse(word.status());
  std::optional<core::Visibility> visibility;
  if (*word) visibility = **word == 0 ? core::Visibility::kPublic : core::Visibility::kPrivate;
  for (const auto& kv : *body)
    if (kv.key() != "rating" && kv.key() != "alt_text" && kv.key() != "visibility")
      co_return ErrorResponse(FieldError(kv.key(), "is not a photo field one may change"));
  auto photo = co_await RunBlocking([&] {
    return service_.UpdatePhoto(*actor, *id, std::move(*rating), std::move(*alt_text), visibility);
  });
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  co_return JsonResponse(bhttp::status::ok, PhotoJson(*photo, BaseUrl(ctx)));
}

}  // namespace glint::http
