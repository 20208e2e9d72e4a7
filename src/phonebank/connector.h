// Telephony connectors: how the platform rings a caller's own phone and
// bridges it to a member, presenting the organisation's number. The member's
// number is resolved here, from the sealed contact point, and never leaves
// the connector: the API layer only ever passes a member id.
//
// The sandbox connector is a simulator for practice and tests: nothing is
// dialled. Its call runs the same life cycle as a real one by the clock alone
// (SandboxConnector::TimelineOf), decided deterministically from the call id,
// so a test can predict it and nothing needs a background thread. Every state
// it reports says `simulated`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "phonebank/phonebank.h"
#include "store/store.h"

namespace switchboard::phonebank {

// A bridged call as the calling screen shows it (docs/telephony.md):
//   calling_you     ringing the caller's own phone
//   calling_member  the caller answered; ringing the member
//   connected       both phones up; media flows phone to phone
//   ended           over; `end` says why
// `end` is one of: completed (someone hung up after talking), caller_busy,
// caller_no_answer, caller_declined (the caller's own phone), busy,
// no_answer, wrong_number (the member's), killed (the kill switch or the
// campaign ending), failed (the trunk or the network), lost (found
// unfinished at start-up after a crash). `suggested` is the outcome the
// calling screen preselects (busy, no_answer, wrong_number) or empty.
struct CallState {
  CallId id;
  std::string state;
  std::string end;
  std::string suggested;
  std::int64_t duration_seconds = 0;  // connected time, once ended
  bool simulated = false;
};

struct EndpointRules;

// Every connector runs the same life cycle; the rows of `calls` (state,
// connected_at, answered_at, ended_at, duration_seconds, end_reason) are its
// record, written by the connector in the caller's transaction (Connect,
// Hangup) or in its own (events from the network).
//
// `Connect` runs inside the caller's transaction, which the group writer may
// run twice: it decides and records, and dials nothing. `Dial` is called once
// the transaction is durable and starts the call; a crash between the two
// leaves a call that `Reconcile` ends as `lost` at the next start.
class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string_view name() const = 0;
  // Checks the caller may be rung (a verified phone of their own) and the
  // member has a phone; marks the lease's call row `calling_you`, with the
  // campaign's caller ID and ring time (Campaign::caller_id_number,
  // ring_seconds; NULL for the defaults), which Dial then uses: an edit of
  // the campaign while the call rings changes nothing for it.
  virtual Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                                    const Lease& lease, Micros now) = 0;
  // Starts a call `Connect` recorded, after its transaction committed.
  virtual void Dial(CallId call) = 0;
  virtual Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) = 0;
  // Records what the connector's own clock says has happened by `now` (the
  // sandbox's timeline) to calls still active; a connector driven by network
  // events has nothing to do. Called before active calls are counted and
  // every second by `serve`. Returns how many calls it ended.
  virtual Result<int> SettleDue(store::Tx& tx, Micros now) {
    (void)tx;
    (void)now;
    return 0;
  }
  // The caller ends their call from the screen: both legs are hung up.
  virtual switchboard::Status Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) = 0;
  // The kill switch, a campaign ending or the server stopping: every active
  // call of `campaign` (of every campaign when absent) is ended on both legs
  // at once and recorded `killed`. Returns how many were active.
  virtual Result<int> EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                               Micros now) = 0;
  // At start-up: calls left active by a crash are ended (legs the trunk still
  // knows are hung up), recorded `lost`, and their leases kept for the caller
  // to record an outcome or expire as usual. Returns how many.
  virtual Result<int> Reconcile(store::Store& store, Micros now) = 0;
  // Texts a verification code to a caller's own phone (RegisterEndpoint);
  // called once the endpoint is stored.
  virtual switchboard::Status SendVerificationCode(std::string_view e164,
                                                   std::string_view code) = 0;
  // A simulator dials and texts nothing; only then may the API show what it
  // would have sent (the verification code) to the caller.
  virtual bool simulated() const { return false; }

  // How a caller's phone proves itself. kCode: the code is sent to it
  // (SendVerificationCode; a simulator shows it instead) and typed back.
  // kCall: the server calls the phone, the screen shows the code and the
  // caller keys it on the phone's keypad (CallToVerify); typing it back
  // would prove nothing, so it is refused.
  enum class Verification { kCode, kCall };
  virtual Verification verification() const { return Verification::kCode; }
  // kCall: rings `e164`, the phone registered for `account` whose code has
  // `code_length` digits, once the registration has committed. The keys are
  // checked (CheckEndpointCode under `rules`) and recorded by the connector;
  // VerifyProgressOf tells how far it got. A new call for the same account
  // replaces one still going on.
  virtual switchboard::Status CallToVerify(AccountId account, std::string_view e164,
                                           std::size_t code_length, const EndpointRules& rules) {
    (void)account;
    (void)e164;
    (void)code_length;
    (void)rules;
    return switchboard::Status::FailedPrecondition("this connector does not call to verify phones");
  }
  // The verification call of `account` as the connector last saw it:
  // state is calling (ringing the phone), answered (waiting for the keys),
  // wrong (keys that were not the code; it waits for more), verified or
  // failed (`end` says why: no_answer, busy, declined, hung_up, timeout,
  // expired, throttled, too_many_keys, failed). Nothing when no call was made
  // since the server started.
  struct VerifyProgress {
    std::string state;
    std::string end;
    std::string message;  // the check's answer, for the screen
    Micros retry_at = 0;
  };
  virtual std::optional<VerifyProgress> VerifyProgressOf(AccountId account) const {
    (void)account;
    return std::nullopt;
  }

  // The outcome the calling screen preselects for an end: busy, no_answer,
  // wrong_number, or empty.
  static std::string SuggestedOutcome(std::string_view end);
  // Ends in which the caller's own phone never joined: the member was not
  // rung, so the lease goes back without using a pass.
  static bool CallerLegEnd(std::string_view end);

  // The bookkeeping every connector shares. Records the end of an active
  // call (state, end_reason, ended_at, duration from answered_at); false when
  // it had already ended, so an end reported twice counts once. An end of
  // the caller's own leg (CallerLegEnd) gives the lease back untouched: no
  // pass used, no outcome, the member callable again at once.
  static Result<bool> RecordEnd(store::Tx& tx, CallId call, std::string_view end, Micros now);
  // What Connect records on the call row for the campaign's caller ID and
  // ring time: the campaign's own, or NULL for the defaults.
  static store::Value LineNumberValue(const Campaign& c);
  static store::Value RingSecondsValue(const Campaign& c);
  // The active calls (calling_you, calling_member, connected; ringing and
  // answered in rows from before schema v17) of `campaign`, or of all.
  static Result<std::vector<CallId>> ActiveCalls(store::Tx& tx, std::optional<CampaignId> campaign);
};

class SandboxConnector final : public Connector {
 public:
  explicit SandboxConnector(const crypto::Sealer& sealer) : sealer_(sealer) {}
  std::string_view name() const override { return "sandbox"; }
  Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                            const Lease& lease, Micros now) override;
  // The timeline starts in Connect; nothing to dial.
  void Dial(CallId) override {}
  // The timeline's state now; an end it reached is recorded (RecordEnd).
  Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  Result<int> SettleDue(store::Tx& tx, Micros now) override;
  switchboard::Status Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  Result<int> EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                       Micros now) override;
  Result<int> Reconcile(store::Store& store, Micros now) override;
  // Sends nothing: the API shows the code instead.
  switchboard::Status SendVerificationCode(std::string_view, std::string_view) override {
    return switchboard::Status::Ok();
  }
  bool simulated() const override { return true; }

  // The simulated timeline of a call, in seconds from Connect: the caller's
  // phone rings for `caller_ring`, then the member's for `member_ring` (0:
  // never reached), then they talk for `talk` (0: never connected); then the
  // call ends with `end`. By the call id's last digit: 4 the caller does not
  // answer (caller_no_answer), 3 and 7 the member does not (no_answer, after
  // the campaign's ring time `ring_seconds`, or kNoAnswerSeconds when it
  // chose none: a practice call need not ring for the server's default), 9
  // the member is busy, every other completes after kTalkSeconds.
  struct Timeline {
    int caller_ring = 0;
    int member_ring = 0;
    int talk = 0;
    std::string_view end;
  };
  static Timeline TimelineOf(CallId call, int ring_seconds = 0);
  static constexpr int kCallerRingSeconds = 2;
  static constexpr int kMemberRingSeconds = 3;
  static constexpr int kNoAnswerSeconds = 8;
  static constexpr int kBusySeconds = 1;
  static constexpr int kTalkSeconds = 20;
  // No timeline of a campaign without a ring time of its own runs longer.
  static constexpr int kLongestSeconds = kCallerRingSeconds + kMemberRingSeconds + kTalkSeconds;

 private:
  const crypto::Sealer& sealer_;
};

// Caller endpoints: the caller's own phone, sealed, verified once with a
// code, which the connector texts (Connector::SendVerificationCode); the
// sandbox texts nothing and the API shows the code instead.
struct EndpointVerification {
  std::string code;
};
Result<EndpointVerification> RegisterEndpoint(store::Tx& tx, const crypto::Sealer& sealer,
                                              AccountId account, std::string_view e164, Micros now);
// Marks the phone verified when `code` is its code; no rules, no record (the
// demo's set-up and tests). People go through CheckEndpointCode.
Status VerifyEndpoint(store::Tx& tx, AccountId account, std::string_view code, Micros now);
Result<bool> EndpointVerified(store::Tx& tx, AccountId account);
// Whether `account` has registered a phone, and whether it is verified.
struct EndpointState {
  bool registered = false;
  bool verified = false;
  Micros registered_at = 0;
};
Result<EndpointState> EndpointStateOf(store::Tx& tx, AccountId account);

// The rules a phone code is checked under, as a TOTP code at sign-in is: it
// works for kEndpointCodeMinutes after the phone was registered, and wrong
// codes count against the sign-in throttle's limits (policy [login]: so many
// failures within the window lock for lock_minutes), under a subject of
// their own ("endpoint:<account>"), so a mistyped phone code never locks
// anybody out of signing in.
inline constexpr int kEndpointCodeMinutes = 10;
struct EndpointRules {
  std::int64_t max_failures = 5;
  Micros window = 15 * 60 * kMicrosPerSecond;
  Micros lock = 15 * 60 * kMicrosPerSecond;
  static EndpointRules From(const access::Policy& policy);
};
enum class EndpointAnswer {
  kVerified,
  kWrong,          // counted as a failure
  kExpired,        // older than kEndpointCodeMinutes: register again
  kThrottled,      // too many failures; `retry_at` says when
  kNotRegistered,  // no phone, or it is verified already
};
struct EndpointCheck {
  EndpointAnswer answer = EndpointAnswer::kNotRegistered;
  Micros retry_at = 0;
  std::string message;  // for the caller; names no number
  bool verified() const { return answer == EndpointAnswer::kVerified; }
};
// Checks `code` (typed back, or keyed on the phone's keypad: `way` is
// "typed" or "keypad") for `who.account`'s phone and records the attempt in
// `tx`: the phone verified or a failure counted, and an "endpoint.verify"
// audit event, allowed or denied, whose rule names the way and the answer.
// Refusals are answers, not errors, so that they commit.
Result<EndpointCheck> CheckEndpointCode(store::Tx& tx, const EndpointRules& rules,
                                        const access::Acting& who, std::string_view code,
                                        std::string_view way);

}  // namespace switchboard::phonebank
