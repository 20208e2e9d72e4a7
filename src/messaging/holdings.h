// What member e-mail holds about one member, for a subject-access report
// (privacy/): every message queued for them with its delivery state, their
// unsubscribes and their bounce count. The message's text is the template
// every recipient got (merge tags unfilled), so it names no other member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::messaging {

struct HeldMessage {
  std::int64_t message = 0;
  std::string kind;       // service, campaign, endorsement
  std::string from_name;  // who it spoke for
  UnitId scope;
  std::string subject;  // the template
  std::string state;    // the outbox row's: queued, sent, bounced, suppressed, ...
  std::int64_t attempts = 0;
  Micros queued_at = 0;  // the message's
  Micros updated_at = 0;
  std::optional<std::int64_t> smtp_code;
};

struct HeldUnsubscribe {
  Micros at = 0;
  std::optional<std::int64_t> message;
  std::string how;
};

struct HeldMail {
  std::vector<HeldMessage> messages;
  std::vector<HeldUnsubscribe> unsubscribes;
  std::int64_t hard_bounces = 0;
  Micros last_bounce_at = 0;
};

Result<HeldMail> HeldAbout(store::Tx& tx, MemberId member);

}  // namespace switchboard::messaging
