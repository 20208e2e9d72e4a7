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
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "phonebank/phonebank.h"
#include "store/store.h"

namespace switchboard::phonebank {

struct CallState {
  CallId id;
  std::string state;  // ringing, answered, completed, failed
  std::int64_t duration_seconds = 0;
  bool simulated = false;
};

class Connector {
 public:
  virtual ~Connector() = default;
  virtual std::string_view name() const = 0;
  // Rings `caller_endpoint` (the caller's own verified phone, opened by the
  // connector) and bridges to the leased member's phone. Records the call
  // on the lease's row in `calls`.
  virtual Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                                    const Lease& lease, Micros now) = 0;
  virtual Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) = 0;
  // Texts a verification code to a caller's own phone (RegisterEndpoint);
  // called once the endpoint is stored.
  virtual switchboard::Status SendVerificationCode(std::string_view e164,
                                                   std::string_view code) = 0;
  // A simulator dials and texts nothing; only then may the API show what it
  // would have sent (the verification code) to the caller.
  virtual bool simulated() const { return false; }
};

class SandboxConnector final : public Connector {
 public:
  explicit SandboxConnector(const crypto::Sealer& sealer) : sealer_(sealer) {}
  std::string_view name() const override { return "sandbox"; }
  Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                            const Lease& lease, Micros now) override;
  Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
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
