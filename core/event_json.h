// The one JSON shape of an event, shared by everything that shows events outside glint (the
// webhook body, GET /v1/events); docs/api.md documents it:
//   {"seq":..,"type":..,"subject":..,"actor":..,"recipient":..,"time":<unix s>,"payload":{..}}
// A payload that is not a JSON object is given as a string. Pure; any thread.
#pragma once

#include <boost/json/object.hpp>

#include "core/records.h"

namespace glint::core {

boost::json::object EventJson(const EventRecord& e);

}  // namespace glint::core
