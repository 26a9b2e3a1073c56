#include "core/event_json.h"

#include <boost/json.hpp>

namespace glint::core {

boost::json::object EventJson(const EventRecord& e) {
  boost::json::object o;
  o["seq"] = e.seq;
  o["type"] = e.type;
  o["subject"] = e.subject;
  o["actor"] = e.actor;
  o["recipient"] = e.recipient;
  o["time"] = e.time;
  boost::system::error_code ec;
  boost::json::value payload = boost::json::parse(e.payload, ec);
  if (ec || !payload.is_object()) payload = boost::json::string(e.payload);
  o["payload"] = std::move(payload);
  return o;
}

}  // namespace glint::core
