// The DPO's queue of requests from members (RULEBOOK §10): subject access
// and erasure, each due one calendar month after receipt (UK GDPR Art.
// 12(3)): the same day of the next month, or its last day when the next
// month is shorter (received 31 January, due 28 or 29 February). A request
// is due by the end of that day (UTC). Recording and closing are audited
// ("privacy.request.record", "privacy.request.close") in the caller's
// transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/acting.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::privacy {

enum class RequestKind { kAccess, kErasure };
std::string_view RequestKindName(RequestKind k);
std::optional<RequestKind> ParseRequestKind(std::string_view s);

// Days since 1970-01-01 of the date one calendar month after `day`.
std::int64_t OneMonthLater(std::int64_t day);

struct PrivacyRequest {
  std::int64_t id = 0;
  RequestKind kind = RequestKind::kAccess;
  MemberId member;
  std::string source;  // how it arrived: "email", "letter", "member-link", ...
  Micros received_at = 0;
  std::int64_t due_day = 0;  // the last day to answer (days since 1970-01-01)
  Micros due_at = 0;         // the end of that day: the first instant it is late
  std::string state;         // open, closed
  Micros closed_at = 0;
  AccountId closed_by;
  // As of the time asked: whole days from today to the due day (negative
  // when late), and the reminder the dashboard shows.
  std::int64_t days_left = 0;
  std::string reminder;  // "", "due_soon" (7 days or fewer), "overdue"
};

inline constexpr int kReminderDays = 7;

// Records a request received at `received_at`; kNotFound when no member has
// this id, kInvalidArgument for an empty source or a receipt in the future.
Result<PrivacyRequest> RecordRequest(store::Tx& tx, const access::Acting& who, RequestKind kind,
                                     MemberId member, std::string_view source, Micros received_at);

struct RequestFilter {
  bool open_only = false;
  int limit = 500;
};
// Open requests first by due date, then closed ones newest first.
Result<std::vector<PrivacyRequest>> ListRequests(store::Tx& tx, const RequestFilter& f, Micros now);
Result<PrivacyRequest> GetRequest(store::Tx& tx, std::int64_t id, Micros now);

// Open requests due within kReminderDays or late, soonest first.
Result<std::vector<PrivacyRequest>> Reminders(store::Tx& tx, Micros now);

// Closes an open request (kFailedPrecondition when already closed).
Result<PrivacyRequest> CloseRequest(store::Tx& tx, const access::Acting& who, std::int64_t id);

}  // namespace switchboard::privacy
