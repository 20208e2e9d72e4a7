#include "phonebank/sip_connector.h"

#include <sodium.h>

#include "core/log.h"

namespace switchboard::phonebank {
namespace {

using telephony::CallEvent;

constexpr char kLegContext[] = "sip-leg";
// How long a verification text may take to be accepted by the trunk.
constexpr int kTextTimeoutMs = 10000;

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

Result<std::optional<crypto::Sealed>> MemberPhone(store::Tx& tx, MemberId member) {
  std::optional<crypto::Sealed> sealed;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT key_id, sealed FROM contact_points WHERE member_id = $1 AND kind = 'phone' AND "
      "valid = 1 ORDER BY label LIMIT 1",
      {member.value()}, [&](const store::Row& r) {
        sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
        return false;
      }));
  return sealed;
}

Result<std::optional<crypto::Sealed>> CallerPhone(store::Tx& tx, AccountId caller) {
  std::optional<crypto::Sealed> sealed;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT key_id, sealed FROM caller_endpoints WHERE account_id = $1 AND verified_at IS NOT "
      "NULL",
      {caller.value()}, [&](const store::Row& r) {
        sealed = crypto::Sealed{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
        return false;
      }));
  return sealed;
}

std::string SuggestedFor(std::string_view end) {
  if (end == "busy" || end == "no_answer" || end == "wrong_number") return std::string(end);
  return "";
}

}  // namespace

SipConnector::SipConnector(store::Store& store, const crypto::Sealer& sealer, const Clock& clock,
                           RecordedHook on_recorded)
    : store_(store), sealer_(sealer), clock_(clock), on_recorded_(std::move(on_recorded)) {}

Result<std::unique_ptr<SipConnector>> SipConnector::Start(store::Store& store,
                                                          const crypto::Sealer& sealer,
                                                          const Clock& clock,
                                                          telephony::EngineOptions options,
                                                          RecordedHook on_recorded) {
  std::unique_ptr<SipConnector> c(new SipConnector(store, sealer, clock, std::move(on_recorded)));
  SipConnector* raw = c.get();
  const crypto::Sealer* seal = &sealer;
  options.seal_leg = [seal](std::string_view plaintext) {
    const crypto::Sealed s = seal->Seal(plaintext, kLegContext);
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i)
      out[static_cast<size_t>(i)] = static_cast<char>(s.key_id >> (24 - 8 * i));
    return out + s.bytes;
  };
  SB_ASSIGN_OR_RETURN(
      c->engine_,
      telephony::Engine::Start(std::move(options), [raw](const CallEvent& e) { raw->Enqueue(e); }));
  c->writer_ = std::thread([raw] { raw->Drain(); });
  return c;
}

SipConnector::~SipConnector() {
  // The engine hangs up what is still up (reported as killed) and stops;
  // then the writer records what is queued and stops.
  {
    MutexLock lock(engine_mu_);
    engine_gone_ = true;
  }
  engine_.reset();
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.SignalAll();
  }
  if (writer_.joinable()) writer_.join();
}

void SipConnector::Enqueue(const CallEvent& e) {
  MutexLock lock(mu_);
  queue_.push_back(e);
  cv_.Signal();
}

void SipConnector::Drain() {
  for (;;) {
    CallEvent e;
    {
      MutexLock lock(mu_);
      while (queue_.empty() && !stopping_) cv_.Wait(mu_);
      if (queue_.empty()) return;
      e = std::move(queue_.front());
      queue_.pop_front();
    }
    const switchboard::Status st = Record(e);
    if (!st.ok()) {
      log::Error("telephony", "call state not recorded",
                 {{"call", e.call}, {"error", st.ToString()}});
    }
    if (on_recorded_) on_recorded_(e);
    if (!e.keys.empty()) sodium_memzero(e.keys.data(), e.keys.size());
  }
}

switchboard::Status SipConnector::Record(const CallEvent& e) {
  if (e.kind == CallEvent::Kind::kVerifyAnswered || e.kind == CallEvent::Kind::kVerifyKeys ||
      e.kind == CallEvent::Kind::kVerifyEnded) {
    return RecordVerify(e);
  }
  const Micros now = clock_.Now();
  std::optional<crypto::Sealed> leg;
  if (e.kind == CallEvent::Kind::kLegUp) {
    // The engine sealed it (SealLeg): a 4-byte key id, then the sealed bytes.
    if (e.sealed_leg.size() < 5) return switchboard::Status::Internal("a SIP leg came unsealed");
    std::uint32_t key_id = 0;
    for (int i = 0; i < 4; ++i) {
      key_id = (key_id << 8) | static_cast<unsigned char>(e.sealed_leg[static_cast<size_t>(i)]);
    }
    leg = crypto::Sealed{key_id, e.sealed_leg.substr(4)};
  }
  return store_.Write([&](store::Tx& tx) -> switchboard::Status {
    switch (e.kind) {
      case CallEvent::Kind::kCallingMember:
        return tx
            .Exec(
                "UPDATE calls SET state = 'calling_member' WHERE id = $1 AND state = "
                "'calling_you'",
                {e.call})
            .status();
      case CallEvent::Kind::kConnected:
        return tx
            .Exec(
                "UPDATE calls SET state = 'connected', answered_at = $2 WHERE id = $1 AND "
                "state IN ('calling_you', 'calling_member')",
                {e.call, now})
            .status();
      case CallEvent::Kind::kLegUp: {
        SB_ASSIGN_OR_RETURN(std::int64_t active,
                            tx.QueryInt("SELECT COUNT(*) FROM calls WHERE id = $1 AND state IN "
                                        "('calling_you', 'calling_member', 'connected')",
                                        {e.call}));
        if (active == 0) return switchboard::Status::Ok();  // ended meanwhile
        return tx
            .Exec(
                "INSERT INTO sip_legs (call_id, leg, key_id, sealed, created_at) VALUES ($1, "
                "$2, $3, $4, $5) ON CONFLICT (call_id, leg) DO UPDATE SET key_id = "
                "excluded.key_id, sealed = excluded.sealed, created_at = excluded.created_at",
                {e.call, e.leg, static_cast<std::int64_t>(leg->key_id),
                 store::Value::Bytes(leg->bytes), now})
            .status();
      }
      case CallEvent::Kind::kEnded:
        SB_RETURN_IF_ERROR(RecordEnd(tx, CallId(e.call), e.end, now).status());
        return tx.Exec("DELETE FROM sip_legs WHERE call_id = $1", {e.call}).status();
      default:
        break;  // verification calls: RecordVerify
    }
    return switchboard::Status::Ok();
  });
}

Result<CallState> SipConnector::Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                                        const Lease& lease, Micros now) {
  SB_ASSIGN_OR_RETURN(bool verified, EndpointVerified(tx, caller));
  if (!verified) {
    return switchboard::Status::FailedPrecondition(
        "register and verify your own phone first (the number the platform rings you on)");
  }
  SB_ASSIGN_OR_RETURN(std::optional<crypto::Sealed> phone, MemberPhone(tx, lease.member));
  if (!phone)
    return switchboard::Status::FailedPrecondition("the member has no valid phone number");
  // Decided and recorded here; dialled in Dial, once this has committed.
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.Exec("UPDATE calls SET connector = 'sip', state = 'calling_you', "
                              "connected_at = $2, caller_id_number = $5, ring_seconds = $6 "
                              "WHERE id = $1 AND campaign_id = $3 AND caller_id = $4 AND "
                              "outcome IS NULL",
                              {lease.call.value(), now, campaign.id.value(), caller.value(),
                               LineNumberValue(campaign), RingSecondsValue(campaign)}));
  if (n != 1) {
    return switchboard::Status::FailedPrecondition("the call for this contact has already ended");
  }
  return CallState{lease.call, "calling_you", "", "", 0, false};
}

void SipConnector::Dial(CallId call) {
  telephony::CallRequest request;
  request.call = call.value();
  const switchboard::Status st = store_.Read([&](store::Tx& tx) -> switchboard::Status {
    std::int64_t caller = 0;
    std::int64_t member = 0;
    bool calling = false;
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT caller_id, member_id, state, caller_id_number, ring_seconds FROM calls "
                 "WHERE id = $1 AND connector = 'sip'",
                 {call.value()}, [&](const store::Row& r) {
                   caller = r.Int(0);
                   member = r.Int(1);
                   calling = r.Text(2) == "calling_you";
                   // The campaign's line as Connect recorded it; empty and 0
                   // leave the engine's defaults ([telephony]).
                   request.caller_id = r.TextOr(3);
                   request.member_ring_seconds = static_cast<int>(r.IntOr(4, 0));
                   return false;
                 }));
    if (!calling)
      return switchboard::Status::FailedPrecondition("the call is not waiting to be dialled");
    SB_ASSIGN_OR_RETURN(std::optional<crypto::Sealed> caller_sealed,
                        CallerPhone(tx, AccountId(caller)));
    SB_ASSIGN_OR_RETURN(std::optional<crypto::Sealed> member_sealed,
                        MemberPhone(tx, MemberId(member)));
    if (!caller_sealed || !member_sealed) {
      return switchboard::Status::FailedPrecondition("a phone number went away");
    }
    SB_ASSIGN_OR_RETURN(request.caller_number, sealer_.Open(*caller_sealed, "caller-endpoint"));
    SB_ASSIGN_OR_RETURN(request.member_number, sealer_.Open(*member_sealed, "phone"));
    return switchboard::Status::Ok();
  });
  if (!st.ok()) {
    Wipe(request.caller_number);
    Wipe(request.member_number);
    log::Warn("telephony", "call not dialled", {{"call", call.value()}, {"error", st.ToString()}});
    Enqueue(CallEvent{call.value(), CallEvent::Kind::kEnded, "failed"});
    return;
  }
  engine_->Place(std::move(request));
}

Result<CallState> SipConnector::Status(store::Tx& tx, CallId call, AccountId caller, Micros) {
  std::optional<CallState> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT state, end_reason, duration_seconds FROM calls WHERE id = $1 AND caller_id = $2 "
      "AND connector = 'sip'",
      {call.value(), caller.value()}, [&](const store::Row& r) {
        out = CallState{call, std::string(r.Text(0)), std::string(r.TextOr(1)),
                        "",   r.IntOr(2, 0),          false};
        return false;
      }));
  if (!out) return switchboard::Status::NotFound("no call of yours has that id");
  out->suggested = SuggestedFor(out->end);
  return *out;
}

switchboard::Status SipConnector::Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) {
  SB_ASSIGN_OR_RETURN(std::int64_t mine,
                      tx.QueryInt("SELECT COUNT(*) FROM calls WHERE id = $1 AND caller_id = $2",
                                  {call.value(), caller.value()}));
  if (mine == 0) return switchboard::Status::NotFound("no call of yours has that id");
  SB_RETURN_IF_ERROR(RecordEnd(tx, call, "completed", now).status());
  // Hanging up twice (the transaction ran again) is harmless; so is hanging
  // up a call that had already ended.
  engine_->Hangup(call.value(), "completed");
  return switchboard::Status::Ok();
}

Result<int> SipConnector::EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                                   Micros now) {
  std::vector<CallId> ended;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended.clear();
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, campaign));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "killed", now));
      if (did) ended.push_back(c);
    }
    return switchboard::Status::Ok();
  }));
  if (!campaign) {
    engine_->HangupAll();
  } else {
    for (CallId c : ended) engine_->Hangup(c.value(), "killed");
  }
  return static_cast<int>(ended.size());
}

Result<int> SipConnector::Reconcile(store::Store& store, Micros now) {
  std::vector<telephony::LegRecord> legs;
  int unreadable = 0;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> switchboard::Status {
    legs.clear();
    unreadable = 0;
    return tx.Query(
        "SELECT key_id, sealed FROM sip_legs ORDER BY call_id, leg", {}, [&](const store::Row& r) {
          crypto::Sealed s{static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))};
          Result<std::string> text = sealer_.Open(s, kLegContext);
          Result<telephony::LegRecord> leg = text ? telephony::LegRecord::Decode(*text)
                                                  : Result<telephony::LegRecord>(text.error());
          if (text) Wipe(*text);
          if (leg) {
            legs.push_back(std::move(*leg));
          } else {
            ++unreadable;
          }
          return true;
        });
  }));
  if (unreadable > 0) {
    log::Warn("telephony", "stored SIP legs could not be read", {{"count", unreadable}});
  }
  const std::size_t leg_count = legs.size();
  engine_->EndLegs(std::move(legs));
  int ended = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> switchboard::Status {
    ended = 0;
    SB_ASSIGN_OR_RETURN(std::vector<CallId> calls, ActiveCalls(tx, std::nullopt));
    for (CallId c : calls) {
      SB_ASSIGN_OR_RETURN(bool did, RecordEnd(tx, c, "lost", now));
      ended += did ? 1 : 0;
    }
    return tx.Exec("DELETE FROM sip_legs", {}).status();
  }));
  if (ended > 0 || leg_count > 0) {
    log::Info("telephony", "calls found unfinished at start-up",
              {{"calls", ended}, {"legs_hung_up", static_cast<std::int64_t>(leg_count)}});
  }
  return ended;
}

switchboard::Status SipConnector::SendVerificationCode(std::string_view e164,
                                                       std::string_view code) {
  return engine_->SendText(std::string(e164),
                           "Your Switchboard phone verification code is " + std::string(code),
                           kTextTimeoutMs);
}

}  // namespace switchboard::phonebank

namespace switchboard::phonebank {

switchboard::Status SipConnector::CallToVerify(AccountId account, std::string_view e164,
                                               std::size_t code_length,
                                               const EndpointRules& rules) {
  if (code_length == 0 || code_length > 16) {
    return switchboard::Status::InvalidArgument("a phone code has 1 to 16 digits");
  }
  std::int64_t id = 0;
  std::int64_t replaced = 0;
  {
    MutexLock lock(verify_mu_);
    id = next_verify_++;
    auto it = verify_call_of_.find(account.value());
    if (it != verify_call_of_.end()) {
      replaced = it->second;
      verifying_.erase(replaced);
    }
    verify_call_of_[account.value()] = id;
    verifying_[id] = Verifying{account, rules};
    progress_[account.value()] = VerifyProgress{"calling", "", "", 0};
  }
  if (replaced != 0) EndVerify(replaced, "replaced");
  engine_->PlaceVerify(telephony::VerifyRequest{id, std::string(e164), code_length});
  return switchboard::Status::Ok();
}

std::optional<Connector::VerifyProgress> SipConnector::VerifyProgressOf(AccountId account) const {
  MutexLock lock(verify_mu_);
  auto it = progress_.find(account.value());
  if (it == progress_.end()) return std::nullopt;
  return it->second;
}

void SipConnector::EndVerify(std::int64_t id, std::string end) {
  MutexLock lock(engine_mu_);
  if (!engine_gone_) engine_->EndVerify(id, std::move(end));
}

switchboard::Status SipConnector::RecordVerify(const CallEvent& e) {
  Verifying v;
  {
    MutexLock lock(verify_mu_);
    auto it = verifying_.find(e.call);
    if (it == verifying_.end()) return switchboard::Status::Ok();  // replaced meanwhile
    v = it->second;
    VerifyProgress& p = progress_[v.account.value()];
    if (e.kind == CallEvent::Kind::kVerifyAnswered) {
      p.state = "answered";
      return switchboard::Status::Ok();
    }
    if (e.kind == CallEvent::Kind::kVerifyEnded) {
      verifying_.erase(it);
      verify_call_of_.erase(v.account.value());
      if (p.state != "verified" && p.state != "failed") {
        p.state = e.end == "verified" ? "verified" : "failed";
        p.end = e.end;
      }
      return switchboard::Status::Ok();
    }
  }
  // Keys: checked and recorded like a code typed back, in one transaction.
  access::Acting who;
  who.account = v.account;
  who.now = clock_.Now();
  EndpointCheck check;
  const switchboard::Status st = store_.Write([&](store::Tx& tx) -> switchboard::Status {
    SB_ASSIGN_OR_RETURN(check, CheckEndpointCode(tx, v.rules, who, e.keys, "keypad"));
    return switchboard::Status::Ok();
  });
  std::string end;
  switch (check.answer) {
    case EndpointAnswer::kVerified:
      end = "verified";
      break;
    case EndpointAnswer::kWrong:
      break;  // the call stays up for another try
    case EndpointAnswer::kExpired:
      end = "expired";
      break;
    case EndpointAnswer::kThrottled:
      end = "throttled";
      break;
    case EndpointAnswer::kNotRegistered:
      end = "failed";
      break;
  }
  if (!st.ok()) end = "failed";
  {
    MutexLock lock(verify_mu_);
    VerifyProgress& p = progress_[v.account.value()];
    if (verifying_.count(e.call)) {
      p.message = st.ok() ? check.message : "your keys could not be checked; try again";
      p.retry_at = check.retry_at;
      if (end.empty()) {
        p.state = "wrong";
      } else {
        p.state = end == "verified" ? "verified" : "failed";
        p.end = end;
      }
    }
  }
  if (!end.empty()) EndVerify(e.call, end);
  return st;
}

}  // namespace switchboard::phonebank
