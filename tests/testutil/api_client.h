// glint's JSON API as the integration tests speak it: one HttpClient, bearer tokens, JSON
// bodies in and parsed JSON out, and the few set-up steps every API test takes (an account
// made with the admin token and logged in, a photo uploaded). Not thread-safe; one per test
// thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/json/value.hpp>

#include "tests/testutil/http_client.h"

namespace glint::testutil {

struct ApiReply {
  HttpResponse http;
  boost::json::value json;  // null when the body is not JSON (an image, a 204)

  int status() const { return http.status; }
  // error.code of an error answer; "" otherwise.
  std::string error_code() const;
  // The member `key` of an object answer (null when absent).
  const boost::json::value& operator[](std::string_view key) const;
};

class ApiClient {
 public:
  ApiClient(uint16_t port, std::string admin_token);

  // `token` "" sends no Authorization; `body` null sends none.
  ApiReply Call(const std::string& method, const std::string& target, const std::string& token = {},
                const boost::json::value& body = nullptr);
  ApiReply Get(const std::string& target, const std::string& token = {}) {
    return Call("GET", target, token);
  }

  struct Account {
    uint64_t id = 0;
    std::string token;
  };
  // Creates `email`'s account with the admin token and logs in (failing the test otherwise).
  Account NewAccount(const std::string& email);
  // POSTs `image` to /v1/photos as `token`: the photo's image_id ("" after a test failure).
  std::string UploadPhoto(const std::string& token, const std::string& image);

  const std::string& admin_token() const { return admin_token_; }

 private:
  std::unique_ptr<HttpClient> http_;
  std::string admin_token_;
};

}  // namespace glint::testutil
