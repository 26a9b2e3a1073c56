// The Gravatar-shaped account API: public profiles (/{hash}.json, /v3/profiles/{hash}), the
// v3 avatar management calls (/v3/me/avatars...), and glint's email and profile calls
// (/v1/me/emails..., /v1/me/profile). Documented in docs/api.md.
#include <boost/json.hpp>

#include "base/hex.h"
#include "core/email.h"
#include "http/api_util.h"
#include "http/handlers.h"
#include "http/multipart.h"

namespace glint::http {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

json::object EmailJson(const core::EmailView& e) {
  return json::object{
      {"email", e.address},
      {"hashes", json::object{{"md5", e.md5_hex}, {"sha256", e.sha256_hex}}},
      {"verified", e.verified},
      {"primary", e.primary},
      {"avatar_image_id", e.photo_id ? json::value(std::to_string(e.photo_id)) : nullptr},
      {"added_at", IsoTime(e.added_at)}};
}

json::object VerificationJson(const core::VerificationSent& v) {
  json::object o{{"email", EmailJson(v.email)},
                 {"verification",
                  json::object{{"sent_to", v.email.address}, {"expires_at", IsoTime(v.expires)}}}};
  // Only for admins: self-hosters without mail hand the token over themselves.
  if (!v.token.empty()) o["verification"].as_object()["token"] = v.token;
  return o;
}

// A hash from a path or query: hex MD5 or SHA-256; "invalid_hash" otherwise.
Result<std::string> HashParam(std::string_view hex) {
  auto raw = core::ParseEmailHash(hex);
  if (!raw)
    return InvalidArgument("an email hash is 32 (MD5) or 64 (SHA-256) hex characters",
                           "invalid_hash");
  return *raw;
}

// A JavaScript identifier path ("cb", "jQuery123.done"): the only JSONP callbacks answered,
// so a callback cannot inject script.
bool SafeCallback(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  bool start = true;
  for (char c : name) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return false;
      start = true;
      continue;
    }
    if (!(alpha || (digit && !start))) return false;
    start = false;
  }
  return !start;
}

std::string ProfileUrl(const std::string& base, const std::string& hash_hex) {
  return base + "/v3/profiles/" + hash_hex;
}

}  // namespace

Result<uint64_t> Api::TargetUser(const RequestContext& ctx, const core::Principal& actor) const {
  if (!ctx.Param("user").empty()) return PathId(ctx, "user");
  if (actor.user_id == 0)
    return InvalidArgument("the admin token has no account; use /v1/users/{id}/...",
                           "user_required");
  return actor.user_id;
}

Result<Api::Acting> Api::ActingFor(const RequestContext& ctx) const {
  Acting out;
  GLINT_ASSIGN_OR_RETURN(out.actor, RequireLogin(service_, ctx));
  GLINT_ASSIGN_OR_RETURN(out.user, TargetUser(ctx, out.actor));
  return out;
}

awaitable<Response> Api::Profile(RequestContext& ctx) {
  if (auto refused = CheckRate(ctx)) co_return *refused;
  std::string_view segment = ctx.Param("hash");
  segment.remove_suffix(5);  // ".json"
  auto hash = core::ParseEmailHash(segment);
  if (!hash) co_return ErrorResponse(bhttp::status::not_found, "not_found", "no such path");
  Query q = ParseQuery(ctx);
  auto callback = q.Get("callback");
  if (callback && !SafeCallback(*callback))
    co_return ErrorResponse(bhttp::status::bad_request, "invalid_callback",
                            "callback must be a JavaScript identifier (letters, digits, _, $, .)");
  auto profile = service_.GetPublicProfile(*hash);
  if (!profile.ok()) co_return ErrorResponse(profile.status());
  const std::string base = BaseUrl(ctx);
  const std::string avatar = base + "/avatar/" + profile->hash_hex;
  const core::Profile& p = profile->profile;
  // Gravatar's legacy profile document.
  json::object entry{
      {"id", profile->hash_hex},
      {"hash", profile->hash_hex},
      {"requestHash", profile->hash_hex},
      {"profileUrl", ProfileUrl(base, profile->hash_hex)},
      {"thumbnailUrl", avatar},
      {"photos", json::array{json::object{{"value", avatar}, {"type", "thumbnail"}}}},
      {"displayName", p.display_name}};
  if (!p.display_name.empty()) entry["preferredUsername"] = p.display_name;
  if (!p.description.empty()) entry["aboutMe"] = p.description;
  if (!p.location.empty()) entry["currentLocation"] = p.location;
  if (!p.pronouns.empty()) entry["pronouns"] = p.pronouns;
  if (!p.job_title.empty()) entry["job_title"] = p.job_title;
  if (!p.company.empty()) entry["company"] = p.company;
  if (!p.url.empty()) entry["urls"] = json::array{json::object{{"value", p.url}, {"title", p.url}}};
  json::object doc{{"entry", json::array{std::move(entry)}}};
  Response res = JsonResponse(bhttp::status::ok, doc);
  if (callback) {
    res.body() = "/**/" + std::string(*callback) + "(" + res.body() + ");";
    res.set(bhttp::field::content_type, "application/javascript; charset=utf-8");
    res.set("X-Content-Type-Options", "nosniff");
    res.prepare_payload();
  }
  res.set(bhttp::field::cache_control,
          "public, max-age=" + std::to_string(options_.avatar_max_age_seconds));
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set("Surrogate-Key", "avatar-" + profile->hash_hex);
  co_return res;
}

awaitable<Response> Api::V3Profile(RequestContext& ctx) {
  auto hash = HashParam(ctx.Param("hash"));
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  auto profile = service_.GetPublicProfile(*hash);
  if (!profile.ok()) co_return ErrorResponse(profile.status());
  const std::string base = BaseUrl(ctx);
  const core::Profile& p = profile->profile;
  json::object o{
      {"hash", profile->hash_hex},
      {"display_name", p.display_name},
      {"profile_url", ProfileUrl(base, profile->hash_hex)},
      {"avatar_url", base + "/avatar/" + profile->hash_hex},
      {"avatar_alt_text", profile->avatar_alt_text},
      {"location", p.location},
      {"description", p.description},
      {"job_title", p.job_title},
      {"company", p.company},
      {"pronouns", p.pronouns},
      {"verified_accounts", json::array{}},
      {"links", p.url.empty() ? json::array{}
                              : json::array{json::object{{"label", p.url}, {"url", p.url}}}}};
  Response res = JsonResponse(bhttp::status::ok, o);
  res.set(bhttp::field::cache_control,
          "public, max-age=" + std::to_string(options_.avatar_max_age_seconds));
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set("Surrogate-Key", "avatar-" + profile->hash_hex);
  co_return res;
}

awaitable<Response> Api::V3ListAvatars(RequestContext& ctx) {
  auto actor = RequireUser(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Query q = ParseQuery(ctx);
  std::optional<uint64_t> email_photo;  // the photo the selected email shows; 0 = default
  if (auto h = q.Get("selected_email_hash")) {
    auto hash = HashParam(*h);
    if (!hash.ok()) co_return ErrorResponse(hash.status());
    auto email = service_.FindEmail(*actor, actor->user_id, *hash);
    if (!email.ok()) co_return ErrorResponse(email.status());
    email_photo = email->photo_id;
  }
  auto photos = service_.ListPhotos(*actor, actor->user_id, 0, 1000);
  if (!photos.ok()) co_return ErrorResponse(photos.status());
  json::array arr;
  const std::string base = BaseUrl(ctx);
  for (const auto& p : *photos) {
    std::optional<bool> selected;
    if (email_photo && *email_photo != 0) selected = p.photo.id == *email_photo;
    arr.push_back(PhotoJson(p, base, selected));
  }
  co_return JsonResponse(bhttp::status::ok, arr);
}

awaitable<Response> Api::V3UploadAvatar(RequestContext& ctx) {
  auto actor = RequireUser(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Query q = ParseQuery(ctx);
  std::optional<std::string> email_hash;
  if (auto h = q.Get("selected_email_hash")) {
    auto hash = HashParam(*h);
    if (!hash.ok()) co_return ErrorResponse(hash.status());
    email_hash = *hash;
  }
  bool select = false;
  if (auto v = q.Get("select_avatar")) {
    if (*v != "true" && *v != "false")
      co_return ErrorResponse(
          InvalidArgument("select_avatar must be true or false", "invalid_query"));
    select = *v == "true";
  } else {
    select = email_hash.has_value();  // naming an email asks for it to show the upload
  }
  const std::string content_type(ctx.request[bhttp::field::content_type]);
  auto photo = co_await RunBlocking([&]() -> Result<core::PhotoView> {
    const std::string& body = ctx.request.body();
    std::span<const char> bytes(body.data(), body.size());
    std::vector<FormPart> parts;
    if (content_type.starts_with("multipart/")) {
      GLINT_ASSIGN_OR_RETURN(parts, ParseMultipartForm(content_type, body, FormLimits{}));
      const FormPart* image = nullptr;
      for (const FormPart& p : parts)
        if (p.name == "image") image = &p;
      if (!image) return InvalidArgument("the form has no 'image' part", "invalid_multipart");
      bytes = std::span<const char>(image->data.data(), image->data.size());
    }
    GLINT_ASSIGN_OR_RETURN(core::PhotoView view, service_.UploadPhoto(*actor, bytes));
    if (select && email_hash) {
      GLINT_RETURN_IF_ERROR(
          service_.SetEmailAvatar(*actor, actor->user_id, *email_hash, view.photo.id).status());
    } else if (select) {
      GLINT_RETURN_IF_ERROR(
          service_.SetActivePhoto(*actor, actor->user_id, view.photo.id).status());
      view.active = true;
    }
    return view;
  });
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  std::optional<bool> selected;
  if (email_hash) selected = select;
  co_return JsonResponse(bhttp::status::ok, PhotoJson(*photo, BaseUrl(ctx), selected));
}

awaitable<Response> Api::V3SetEmailAvatar(RequestContext& ctx) {
  auto actor = RequireUser(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto id = PathId(ctx, "id");
  if (!id.ok()) co_return ErrorResponse(id.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto hex = RequireString(*body, "email_hash");
  if (!hex.ok()) co_return ErrorResponse(hex.status());
  auto hash = HashParam(*hex);
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  auto photo = co_await RunBlocking([&]() -> Result<core::PhotoView> {
    GLINT_RETURN_IF_ERROR(service_.SetEmailAvatar(*actor, actor->user_id, *hash, *id).status());
    return service_.GetPhoto(*actor, *id);
  });
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  co_return JsonResponse(bhttp::status::ok, PhotoJson(*photo, BaseUrl(ctx), true));
}

awaitable<Response> Api::V3UpdateAvatar(RequestContext& ctx) {
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
  auto photo = co_await RunBlocking(
      [&] { return service_.UpdatePhoto(*actor, *id, std::move(*rating), std::move(*alt_text)); });
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  co_return JsonResponse(bhttp::status::ok, PhotoJson(*photo, BaseUrl(ctx)));
}

awaitable<Response> Api::V3DeleteAvatar(RequestContext& ctx) { return DeletePhoto(ctx); }

awaitable<Response> Api::V3AssociatedEmail(RequestContext& ctx) {
  auto actor = RequireUser(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  Query q = ParseQuery(ctx);
  auto hex = q.Get("email_hash");
  if (!hex)
    co_return ErrorResponse(
        InvalidArgument("missing query parameter 'email_hash'", "invalid_query"));
  auto hash = HashParam(*hex);
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  auto email = service_.FindEmail(*actor, actor->user_id, *hash);
  if (!email.ok() && email.status().code() != Code::kNotFound)
    co_return ErrorResponse(email.status());
  co_return JsonResponse(bhttp::status::ok, json::object{{"associated", email.ok()}});
}

awaitable<Response> Api::ListEmails(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  auto emails = service_.ListEmails(*actor, *user);
  if (!emails.ok()) co_return ErrorResponse(emails.status());
  json::array arr;
  for (const auto& e : *emails) arr.push_back(EmailJson(e));
  co_return JsonResponse(bhttp::status::ok, json::object{{"emails", std::move(arr)}});
}

awaitable<Response> Api::AddEmail(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  auto email = RequireString(*body, "email");
  if (!email.ok()) co_return ErrorResponse(email.status());
  auto sent = co_await RunBlocking([&] { return service_.AddEmail(*actor, *user, *email); });
  if (!sent.ok()) co_return ErrorResponse(sent.status());
  co_return JsonResponse(bhttp::status::created, VerificationJson(*sent));
}

awaitable<Response> Api::ResendVerification(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  auto hash = HashParam(ctx.Param("hash"));
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  auto sent =
      co_await RunBlocking([&] { return service_.ResendVerification(*actor, *user, *hash); });
  if (!sent.ok()) co_return ErrorResponse(sent.status());
  co_return JsonResponse(bhttp::status::accepted, VerificationJson(*sent));
}

awaitable<Response> Api::RemoveEmail(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  auto hash = HashParam(ctx.Param("hash"));
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  Status s = co_await RunBlocking([&] { return service_.RemoveEmail(*actor, *user, *hash); });
  if (!s.ok()) co_return ErrorResponse(s);
  co_return Response{bhttp::status::no_content, 11};
}

awaitable<Response> Api::SetEmailAvatar(RequestContext& ctx) {
  auto actor = RequireLogin(service_, ctx);
  if (!actor.ok()) co_return ErrorResponse(actor.status());
  auto user = TargetUser(ctx, *actor);
  if (!user.ok()) co_return ErrorResponse(user.status());
  auto hash = HashParam(ctx.Param("hash"));
  if (!hash.ok()) co_return ErrorResponse(hash.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  // {"image_id": "7"} shows photo 7 for this email; {"image_id": null} the account default.
  auto photo = OptionalU64(*body, "image_id");
  if (!photo.ok()) co_return ErrorResponse(photo.status());
  if (!body->contains("image_id"))
    co_return ErrorResponse(FieldError("image_id", "is required (null for the account default)"));
  auto email = co_await RunBlocking(
      [&] { return service_.SetEmailAvatar(*actor, *user, *hash, photo->value_or(0)); });
  if (!email.ok()) co_return ErrorResponse(email.status());
  co_return JsonResponse(bhttp::status::ok, EmailJson(*email));
}

awaitable<Response> Api::VerifyEmail(RequestContext& ctx) {
  std::string token;
  if (ctx.request.method() == bhttp::verb::get) {
    Query q = ParseQuery(ctx);
    auto t = q.Get("token");
    if (!t)
      co_return ErrorResponse(InvalidArgument("missing query parameter 'token'", "invalid_query"));
    token = *t;
  } else {
    auto body = ParseJsonBody(ctx, options_.max_json_bytes);
    if (!body.ok()) co_return ErrorResponse(body.status());
    auto t = RequireString(*body, "token");
    if (!t.ok()) co_return ErrorResponse(t.status());
    token = std::move(*t);
  }
  auto email = co_await RunBlocking([&] { return service_.VerifyEmail(token); });
  if (!email.ok()) co_return ErrorResponse(email.status());
  co_return JsonResponse(bhttp::status::ok, EmailJson(*email));
}

namespace {

json::object ProfileJson(const core::Profile& p) {
  return json::object{{"display_name", p.display_name},
                      {"location", p.location},
                      {"description", p.description},
                      {"pronouns", p.pronouns},
                      {"job_title", p.job_title},
                      {"company", p.company},
                      {"url", p.url}};
}

}  // namespace

awaitable<Response> Api::GetProfile(RequestContext& ctx) {
  auto who = ActingFor(ctx);
  if (!who.ok()) co_return ErrorResponse(who.status());
  auto profile = service_.GetProfile(who->actor, who->user);
  if (!profile.ok()) co_return ErrorResponse(profile.status());
  co_return JsonResponse(bhttp::status::ok, ProfileJson(*profile));
}

awaitable<Response> Api::SetProfile(RequestContext& ctx) {
  auto who = ActingFor(ctx);
  if (!who.ok()) co_return ErrorResponse(who.status());
  auto body = ParseJsonBody(ctx, options_.max_json_bytes);
  if (!body.ok()) co_return ErrorResponse(body.status());
  core::Profile p;
  for (auto [key, field] :
       {std::pair<std::string_view, std::string*>{"display_name", &p.display_name},
        {"location", &p.location},
        {"description", &p.description},
        {"pronouns", &p.pronouns},
        {"job_title", &p.job_title},
        {"company", &p.company},
        {"url", &p.url}}) {
    auto v = OptionalString(*body, key);
    if (!v.ok()) co_return ErrorResponse(v.status());
    if (*v) *field = std::move(**v);
  }
  for (const auto& kv : *body) {
    static constexpr std::string_view kKnown[] = {
        "display_name", "location", "description", "pronouns", "job_title", "company", "url"};
    if (std::find(std::begin(kKnown), std::end(kKnown), kv.key()) == std::end(kKnown))
      co_return ErrorResponse(FieldError(kv.key(), "is not a profile field"));
  }
  auto saved = co_await RunBlocking([&] { return service_.SetProfile(who->actor, who->user, p); });
  if (!saved.ok()) co_return ErrorResponse(saved.status());
  co_return JsonResponse(bhttp::status::ok, ProfileJson(*saved));
}

}  // namespace glint::http
