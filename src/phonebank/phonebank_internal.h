// Helpers shared by the phone bank's sources (campaigns.cc, calling.cc).
// Internal to phonebank/; phonebank.h is the module's interface.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "core/json.h"

namespace switchboard::phonebank::internal {

// Stored columns and request parts, read under the common JSON limits
// (core/json.h); whatever is refused reads as "not JSON".
inline nlohmann::json ParseOrDiscarded(std::string_view text) {
  auto r = ParseJson(text);
  return r ? std::move(*r) : nlohmann::json(nlohmann::json::value_t::discarded);
}

}  // namespace switchboard::phonebank::internal
