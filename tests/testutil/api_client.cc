#include "tests/testutil/api_client.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace glint::testutil {

namespace json = boost::json;

std::string ApiReply::error_code() const {
  const json::object* o = json.if_object();
  const json::value* e = o ? o->if_contains("error") : nullptr;
  const json::value* code = e && e->is_object() ? e->as_object().if_contains("code") : nullptr;
  return code && code->is_string() ? std::string(code->as_string()) : std::string();
}

const json::value& ApiReply::operator[](std::string_view key) const {
  static const json::value kNull;
  const json::object* o = json.if_object();
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v ? *v : kNull;
}

ApiClient::ApiClient(uint16_t port, std::string admin_token)
    : http_(std::make_unique<HttpClient>(port)), admin_token_(std::move(admin_token)) {}

ApiReply ApiClient::Call(const std::string& method, const std::string& target,
                         const std::string& token, const json::value& body) {
  Headers headers;
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  std::string payload;
  if (!body.is_null()) {
    payload = json::serialize(body);
    headers.emplace_back("Content-Type", "application/json");
  }
  ApiReply reply;
  reply.http = http_->Request(method, target, payload, headers);
  if (reply.http.Header("content-type") == "application/json") {
    boost::system::error_code ec;
    reply.json = json::parse(reply.http.body, ec);
    EXPECT_FALSE(ec) << method << " " << target << ": not JSON: " << reply.http.body;
  }
  return reply;
}

ApiClient::Account ApiClient::NewAccount(const std::string& email) {
  const json::object credentials{{"email", email}, {"password", "correct horse battery"}};
  ApiReply created = Call("POST", "/v1/accounts", admin_token_, credentials);
  EXPECT_EQ(created.status(), 201) << created.http.body;
  ApiReply login = Call("POST", "/v1/sessions", {}, credentials);
  EXPECT_EQ(login.status(), 201) << login.http.body;
  Account out;
  if (login["user_id"].is_number()) out.id = login["user_id"].to_number<uint64_t>();
  if (login["token"].is_string()) out.token = std::string(login["token"].as_string());
  return out;
}

std::string ApiClient::UploadPhoto(const std::string& token, const std::string& image) {
  HttpResponse r =
      http_->Request("POST", "/v1/photos", image,
                     {{"Authorization", "Bearer " + token}, {"Content-Type", "image/jpeg"}});
  EXPECT_EQ(r.status, 201) << r.body;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("image_id")) return {};
  return std::string(v.as_object()["image_id"].as_string());
}

}  // namespace glint::testutil
