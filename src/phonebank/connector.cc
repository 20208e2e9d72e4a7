#include "phonebank/connector.h"

#include <sodium.h>

#include "access/credentials/token.h"
#include "access/store/sessions.h"
#include "audit/audit_log.h"

namespace switchboard::phonebank {

namespace {

Result<std::string> OpenPhone(store::Tx& tx, const crypto::Sealer& sealer, MemberId member) {
  std::optional<crypto::Sealed> sealed;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT key_id, sealed FROM contact_points WHERE member_id = $1 AND kind = 'phone' AND "
      "valid = 1 ORDER BY label LIMIT 1",
      {member.value()}, [&](const store::Row& r) {
        sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
        return false;
      }));
  if (!sealed) return Status::FailedPrecondition("the member has no valid phone number");
  return sealer.Open(*sealed, "phone");
}

}  // namespace

store::Value Connector::LineNumberValue(const Campaign& c) {
  return c.caller_id_number.empty() ? store::Value() : store::Value(c.caller_id_number);
}

store::Value Connector::RingSecondsValue(const Campaign& c) {
  return c.ring_seconds == 0 ? store::Value() : store::Value(c.ring_seconds);
}

std::string Connector::SuggestedOutcome(std::string_view end) {
  if (end == "busy" || end == "no_answer" || end == "wrong_number") return std::string(end);
  return "";
}

bool Connector::CallerLegEnd(std::string_view end) {
  return end == "caller_busy" || end == "caller_no_answer" || end == "caller_declined";
}

Result<bool> Connector::RecordEnd(store::Tx& tx, CallId call, std::string_view end, Micros now) {
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE calls SET state = 'ended', end_reason = $2, ended_at = $3, "
              "duration_seconds = CASE WHEN answered_at IS NULL THEN 0 ELSE ($3 - answered_at) / "
              "1000000 END WHERE id = $1 AND state IN ('calling_you', 'calling_member', "
              "'connected', 'ringing', 'answered')",
              {call.value(), std::string(end), now}));
  if (n != 1) return false;
  if (CallerLegEnd(end)) {
    // The member was never rung: the lease goes back as it was, passes and
    // recall untouched, for this caller or another to take again.
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE campaign_targets SET leased_by = NULL, lease_expires = NULL, lease_call = "
                "NULL WHERE lease_call = $1 AND campaign_id = (SELECT campaign_id FROM calls "
                "WHERE id = $1) AND member_id = (SELECT member_id FROM calls WHERE id = $1)",
                {call.value()})
            .status());
  }
  return true;
}

Result<std::vector<CallId>> Connector::ActiveCalls(store::Tx& tx,
                                                   std::optional<CampaignId> campaign) {
  std::vector<CallId> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id FROM calls WHERE state IN ('calling_you', 'calling_member', 'connected', "
               "'ringing', 'answered') AND ($1 = 0 OR campaign_id = $1) ORDER BY id",
               {campaign ? campaign->value() : std::int64_t{0}}, [&](const store::Row& r) {
                 out.emplace_back(r.Int(0));
                 return true;
               }));
  return out;
}

SandboxConnector::Timeline SandboxConnector::TimelineOf(CallId call, int ring_seconds) {
  switch (call.value() % 10) {
    case 4:
      return {kNoAnswerSeconds, 0, 0, "caller_no_answer"};
    case 3:
    case 7:
      return {kCallerRingSeconds, ring_seconds > 0 ? ring_seconds : kNoAnswerSeconds, 0,
              "no_answer"};
    case 9:
      return {kCallerRingSeconds, kBusySeconds, 0, "busy"};
    default:
      return {kCallerRingSeconds, kMemberRingSeconds, kTalkSeconds, "completed"};
  }
}

namespace {

bool Active(std::string_view state) {
  return state == "calling_you" || state == "calling_member" || state == "connected" ||
         state == "ringing" || state == "answered";
}

// Where a sandbox call's timeline is at `now`.
struct Point {
  std::string state;
  Micros answered_at = 0;  // when the member answered; 0 before
  Micros ended_at = 0;     // when it ended; 0 before
  std::string_view end;
};

Point TimelineAt(const SandboxConnector::Timeline& t, Micros connected_at, Micros now) {
  const Micros s1 = connected_at + t.caller_ring * kMicrosPerSecond;
  const Micros s2 = s1 + t.member_ring * kMicrosPerSecond;
  const Micros s3 = s2 + t.talk * kMicrosPerSecond;
  Point p;
  if (now < s1) {
    p.state = "calling_you";
  } else if (t.member_ring == 0) {
    p = {"ended", 0, s1, t.end};
  } else if (now < s2) {
    p.state = "calling_member";
  } else if (t.talk == 0) {
    p = {"ended", 0, s2, t.end};
  } else if (now < s3) {
    p = {"connected", s2, 0, ""};
  } else {
    p = {"ended", s2, s3, t.end};
  }
  return p;
}

// Brings an active sandbox call's row up to its timeline at `now` (state,
// answered_at; the end through RecordEnd, at the instant it happened).
// Returns the point and whether it recorded the end.
Result<std::pair<Point, bool>> Settle(store::Tx& tx, CallId call, std::string_view state,
                                      Micros connected_at, int ring_seconds, Micros now) {
  Point p = TimelineAt(SandboxConnector::TimelineOf(call, ring_seconds), connected_at, now);
  if (p.answered_at != 0) {
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE calls SET answered_at = $2 WHERE id = $1 AND "
                               "answered_at IS NULL",
                               {call.value(), p.answered_at})
                           .status());
  }
  if (p.state == "ended") {
    SB_ASSIGN_OR_RETURN(bool did, Connector::RecordEnd(tx, call, p.end, p.ended_at));
    return std::make_pair(p, did);
  }
  if (p.state != state) {
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE calls SET state = $2 WHERE id = $1 AND state IN "
                               "('calling_you', 'calling_member', 'connected', 'ringing', "
                               "'answered')",
                               {call.value(), p.state})
                           .status());
  }
  return std::make_pair(p, false);
}

}  // namespace

Result<CallState> SandboxConnector::Connect(store::Tx& tx, const Campaign& campaign,
                                            AccountId caller, const Lease& lease, Micros now) {
  SB_ASSIGN_OR_RETURN(bool verified, EndpointVerified(tx, caller));
  if (!verified) {
    return Status::FailedPrecondition(
        "register and verify your own phone first (the number the platform rings you on)");
  }
  // Resolve the number here, as a real connector must; it goes nowhere else.
  SB_ASSIGN_OR_RETURN(std::string number, OpenPhone(tx, sealer_, lease.member));
  sodium_memzero(number.data(), number.size());
  // The lease wrote a call row; this connection is that call (again, after
  // an earlier attempt ended).
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE calls SET connector = 'sandbox', state = 'calling_you', connected_at = $2, "
              "answered_at = NULL, ended_at = NULL, duration_seconds = NULL, end_reason = NULL, "
              "caller_id_number = $5, ring_seconds = $6 WHERE id = $1 AND campaign_id = $3 AND "
              "caller_id = $4 AND outcome IS NULL AND state NOT IN ('calling_you', "
              "'calling_member', 'connected', 'ringing', 'answered')",
              {lease.call.value(), now, campaign.id.value(), caller.value(),
               LineNumberValue(campaign), RingSecondsValue(campaign)}));
  if (n != 1) {
    return Status::FailedPrecondition(
        "this contact's call is already in progress, or has ended with an outcome");
  }
  return CallState{lease.call, "calling_you", "", "", 0, true};
}

Result<CallState> SandboxConnector::Status(store::Tx& tx, CallId call, AccountId caller,
                                           Micros now) {
  std::optional<CallState> out;
  Micros connected = 0;
  int ring_seconds = 0;
  std::string state;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT connected_at, connector, state, end_reason, duration_seconds, ring_seconds FROM "
      "calls WHERE id = $1 AND caller_id = $2",
      {call.value(), caller.value()}, [&](const store::Row& r) {
        connected = r.IntOr(0, 0);
        ring_seconds = static_cast<int>(r.IntOr(5, 0));
        out = CallState{call, "", "", "", 0, r.Text(1) == "sandbox"};
        state = std::string(r.Text(2));
        out->end = r.TextOr(3);
        out->duration_seconds = r.IntOr(4, 0);
        return false;
      }));
  if (!out || !out->simulated || connected == 0) {
    return switchboard::Status::NotFound("no call of yours has that id");
  }
  if (!Active(state)) {
    // Recorded: by the timeline, a hang-up, the kill switch or a restart.
    out->state = state;
    out->suggested = SuggestedOutcome(out->end);
    return *out;
  }
  SB_ASSIGN_OR_RETURN(auto settled, Settle(tx, call, state, connected, ring_seconds, now));
  const Point& p = settled.first;
  out->state = p.state;
  if (p.state == "ended") {
    out->end = std::string(p.end);
    out->suggested = SuggestedOutcome(p.end);
    out->duration_seconds =
        p.answered_at == 0 ? 0 : (p.ended_at - p.answered_at) / kMicrosPerSecond;
  } else if (p.state == "connected") {
    out->duration_seconds = (now - p.answered_at) / kMicrosPerSecond;
  }
  return *out;
}

Result<int> SandboxConnector::SettleDue(store::Tx& tx, Micros now) {
  struct Row {
    CallId id;
    std::string state;
    Micros connected;
    int ring_seconds;
  };
  std::vector<Row> rows;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, state, connected_at, ring_seconds FROM calls WHERE state IN ('calling_you', "
      "'calling_member', 'connected', 'ringing', 'answered') AND connector = 'sandbox'",
      {}, [&](const store::Row& r) {
        rows.push_back({CallId(r.Int(0)), std::string(r.Text(1)), r.IntOr(2, now),
                        static_cast<int>(r.IntOr(3, 0))});
        return true;
      }));
  int ended = 0;
  for (const Row& r : rows) {
    SB_ASSIGN_OR_RETURN(auto settled, Settle(tx, r.id, r.state, r.connected, r.ring_seconds, now));
    ended += settled.second ? 1 : 0;
  }
  return ended;
}

Status SandboxConnector::Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) {
  // What the timeline did before the hang-up stands (an end it reached, the
  // member's answer, from which the duration counts).
  SB_ASSIGN_OR_RETURN(CallState s, Status(tx, call, caller, now));
  if (s.state == "ended") return switchboard::Status::Ok();
  return RecordEnd(tx, call, "completed", now).status();
}

Result<int> SandboxConnector::EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                                       Micros now) {
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended = 0;
    SB_RETURN_IF_ERROR(SettleDue(tx, now).status());
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, campaign));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "killed", now));
      ended += did ? 1 : 0;
    }
    return switchboard::Status::Ok();
  }));
  return ended;
}

Result<int> SandboxConnector::Reconcile(store::Store& store, Micros now) {
  // A simulated call has no legs to hang up: what its timeline finished
  // before now ended as it would have; what was still going is lost.
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended = 0;
    SB_RETURN_IF_ERROR(SettleDue(tx, now).status());
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, std::nullopt));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "lost", now));
      ended += did ? 1 : 0;
    }
    return switchboard::Status::Ok();
  }));
  return ended;
}

Result<EndpointVerification> RegisterEndpoint(store::Tx& tx, const crypto::Sealer& sealer,
                                              AccountId account, std::string_view e164,
                                              Micros now) {
  const crypto::Sealed sealed = sealer.Seal(e164, "caller-endpoint");
  EndpointVerification v;
  v.code = std::to_string(100000 + randombytes_uniform(900000));
  SB_RETURN_IF_ERROR(
      tx.Exec("INSERT INTO caller_endpoints (account_id, key_id, sealed, verify_hash, "
              "verified_at, created_at) VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT "
              "(account_id) DO UPDATE SET key_id = excluded.key_id, sealed = excluded.sealed, "
              "verify_hash = excluded.verify_hash, verified_at = NULL, created_at = "
              "excluded.created_at",
              {account.value(), static_cast<std::int64_t>(sealed.key_id),
               store::Value::Bytes(sealed.bytes), access::HashToken(v.code), now})
          .status());
  return v;
}

Status VerifyEndpoint(store::Tx& tx, AccountId account, std::string_view code, Micros now) {
  std::optional<std::string> hash;
  SB_RETURN_IF_ERROR(tx.Query("SELECT verify_hash FROM caller_endpoints WHERE account_id = $1",
                              {account.value()}, [&](const store::Row& r) {
                                hash = r.TextOr(0);
                                return false;
                              }));
  if (!hash) return Status::NotFound("register your phone first");
  if (hash->empty() || !access::ConstantTimeEquals(access::HashToken(code), *hash)) {
    return Status::InvalidArgument("that code is not the one we sent");
  }
  return tx
      .Exec(
          "UPDATE caller_endpoints SET verified_at = $2, verify_hash = NULL WHERE account_id = $1",
          {account.value(), now})
      .status();
}

EndpointRules EndpointRules::From(const access::Policy& policy) {
  EndpointRules r;
  r.max_failures = policy.login_max_failures_per_account;
  r.window = static_cast<Micros>(policy.login_window_minutes) * 60 * kMicrosPerSecond;
  r.lock = static_cast<Micros>(policy.login_lock_minutes) * 60 * kMicrosPerSecond;
  return r;
}

Result<EndpointCheck> CheckEndpointCode(store::Tx& tx, const EndpointRules& rules,
                                        const access::Acting& who, std::string_view code,
                                        std::string_view way) {
  const std::string subject = "endpoint:" + who.account.ToString();
  const std::string action = "endpoint.verify";
  const std::string rule = "endpoint." + std::string(way);
  EndpointCheck out;
  auto deny = [&](EndpointAnswer answer, std::string_view why,
                  std::string message) -> Result<EndpointCheck> {
    out.answer = answer;
    out.message = std::move(message);
    SB_RETURN_IF_ERROR(
        audit::AuditLog::Append(tx, who.Deny(action, rule + "." + std::string(why))).status());
    return out;
  };
  std::optional<std::string> hash;
  Micros registered = 0;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT verify_hash, created_at FROM caller_endpoints WHERE account_id = $1",
               {who.account.value()}, [&](const store::Row& r) {
                 hash = r.TextOr(0);
                 registered = r.Int(1);
                 return false;
               }));
  if (!hash || hash->empty()) {
    return deny(EndpointAnswer::kNotRegistered, "not_registered",
                "register your phone first: there is no code waiting for it");
  }
  SB_ASSIGN_OR_RETURN(access::ThrottleState t, access::GetThrottle(tx, subject));
  if (t.locked_until > who.now) {
    out.retry_at = t.locked_until;
    return deny(EndpointAnswer::kThrottled, "throttled",
                "too many wrong codes; try again after " + FormatTimestamp(t.locked_until));
  }
  if (who.now - registered >= static_cast<Micros>(kEndpointCodeMinutes) * 60 * kMicrosPerSecond) {
    return deny(EndpointAnswer::kExpired, "expired",
                "that code has expired (codes work for " + std::to_string(kEndpointCodeMinutes) +
                    " minutes); register your phone again for a new one");
  }
  if (!access::ConstantTimeEquals(access::HashToken(code), *hash)) {
    SB_ASSIGN_OR_RETURN(t, access::RecordLoginFailure(tx, subject, rules.max_failures, rules.window,
                                                      rules.lock, who.now));
    if (t.locked_until > who.now) {
      out.retry_at = t.locked_until;
      return deny(EndpointAnswer::kThrottled, "wrong",
                  "that code is not the one we gave you, and that was one wrong code too many; "
                  "try again after " +
                      FormatTimestamp(t.locked_until));
    }
    return deny(EndpointAnswer::kWrong, "wrong", "that code is not the one we gave you");
  }
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE caller_endpoints SET verified_at = $2, verify_hash = NULL "
                             "WHERE account_id = $1",
                             {who.account.value(), who.now})
                         .status());
  SB_RETURN_IF_ERROR(access::ClearThrottle(tx, subject));
  audit::Event e = who.Allow(action);
  e.rule = rule;
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  out.answer = EndpointAnswer::kVerified;
  out.message = "your phone is verified";
  return out;
}

Result<EndpointState> EndpointStateOf(store::Tx& tx, AccountId account) {
  EndpointState out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT verified_at, created_at FROM caller_endpoints WHERE account_id = $1",
               {account.value()}, [&](const store::Row& r) {
                 out.registered = true;
                 out.verified = !r.IsNull(0);
                 out.registered_at = r.Int(1);
                 return false;
               }));
  return out;
}

Result<bool> EndpointVerified(store::Tx& tx, AccountId account) {
  bool verified = false;
  SB_RETURN_IF_ERROR(tx.Query("SELECT verified_at FROM caller_endpoints WHERE account_id = $1",
                              {account.value()}, [&](const store::Row& r) {
                                verified = !r.IsNull(0);
                                return false;
                              }));
  return verified;
}

}  // namespace switchboard::phonebank
