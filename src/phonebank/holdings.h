// What the phone bank holds about one member, for a subject-access report
// (privacy/): the campaigns that had them in their audience, every call to
// them with its outcome and their own survey answers, and the contact log.
// The caller of a call is given by account id only; the report decides how
// to show them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::phonebank {

struct HeldTarget {
  std::int64_t campaign = 0;
  std::string campaign_name;
  std::string purpose;
  UnitId scope;
  std::int64_t passes = 0;
  bool done = false;
  std::string last_outcome;
};

struct HeldCall {
  std::int64_t id = 0;
  std::int64_t campaign = 0;
  AccountId caller;
  std::string state;
  Micros started_at = 0;
  std::optional<std::int64_t> duration_seconds;
  std::string outcome;
  std::string answers;  // the member's own survey answers (JSON), or empty
};

struct HeldContactLog {
  Micros at = 0;
  std::string channel;
  std::optional<std::int64_t> campaign;
  std::string outcome;
};

struct HeldCalls {
  std::vector<HeldTarget> targets;
  std::vector<HeldCall> calls;
  std::vector<HeldContactLog> contact_log;
};

Result<HeldCalls> HeldAbout(store::Tx& tx, MemberId member);

// Every campaign's stated purpose (records of processing).
struct CampaignPurpose {
  std::int64_t campaign = 0;
  std::string name;
  std::string purpose;
  std::string state;
  UnitId scope;
};
Result<std::vector<CampaignPurpose>> CampaignPurposes(store::Tx& tx);

}  // namespace switchboard::phonebank
