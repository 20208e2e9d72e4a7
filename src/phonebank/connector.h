// Telephony connectors: how the platform rings a caller's own phone and
// bridges it to a member, presenting the organisation's number. The member's
// number is resolved here, from the sealed contact point, and never leaves
// the connector: the API layer only ever passes a member id.
//
// The sandbox connector is a simulator for practice and tests: nothing is
// dialled. Its call progresses by the clock alone (ringing, then answered or
// not, then completed), decided deterministically from the call id, so a
// test can predict it and nothing needs a background thread. Every state it
// reports says `simulated`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // member has a phone; marks the lease's call row `calling_you`.
  virtual Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                                    const Lease& lease, Micros now) = 0;
  // Starts a call `Connect` recorded, after its transaction committed.
  virtual void Dial(CallId call) = 0;
  virtual Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) = 0;
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

 protected:
  // The bookkeeping every connector shares. Records the end of an active
  // call (state, end_reason, ended_at, duration from answered_at); false when
  // it had already ended, so an end reported twice counts once.
  static Result<bool> RecordEnd(store::Tx& tx, CallId call, std::string_view end, Micros now);
  // The active calls (calling_you, calling_member, connected; and the
  // sandbox's ringing and answered) of `campaign`, or of every campaign.
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
  Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  switchboard::Status Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  Result<int> EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                       Micros now) override;
  Result<int> Reconcile(store::Store& store, Micros now) override;
  // Sends nothing: the API shows the code instead.
  switchboard::Status SendVerificationCode(std::string_view, std::string_view) override {
    return switchboard::Status::Ok();
  }
  bool simulated() const override { return true; }

  // The simulated timeline: ringing for kRingSeconds; calls whose id is not
  // a multiple of 3 are answered and complete after kTalkSeconds; the rest
  // fail (no answer) when the ringing ends.
  static constexpr int kRingSeconds = 3;
  static constexpr int kTalkSeconds = 20;

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
Status VerifyEndpoint(store::Tx& tx, AccountId account, std::string_view code, Micros now);
Result<bool> EndpointVerified(store::Tx& tx, AccountId account);

}  // namespace switchboard::phonebank
