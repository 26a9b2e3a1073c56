#include "http/webhook_client.h"

#include <string>
#include <vector>

#include "http/curl_request.h"

namespace glint::http {

Result<core::WebhookEndpoint> ParseWebhook(std::string_view spec) {
  GLINT_ASSIGN_OR_RETURN(core::WebhookEndpoint e, core::ParseWebhookSpec(spec));
  if (std::string why = HttpUrlProblem(e.url, false); !why.empty())
    return InvalidArgument("webhook \"" + std::string(spec) + "\": " + why, "bad_webhook");
  return e;
}

WebhookClient::WebhookClient(std::chrono::milliseconds timeout) : timeout_(timeout) { InitCurl(); }

Status WebhookClient::Post(const core::WebhookEndpoint& endpoint,
                           const core::WebhookDelivery& d) const {
  std::vector<std::string> headers = {
      "Content-Type: application/json",    "Expect:",
      "X-Glint-Event: " + d.type,          "Idempotency-Key: " + std::to_string(d.seq),
      "X-Glint-Timestamp: " + d.timestamp,
  };
  if (!d.signature.empty()) headers.push_back("X-Glint-Signature: " + d.signature);
  return CurlRequest("webhook", "POST", endpoint.url, headers, &d.body, timeout_, false);
}

}  // namespace glint::http
