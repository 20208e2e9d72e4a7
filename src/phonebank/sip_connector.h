// SipConnector: real calls through the organisation's SIP trunk
// (docs/telephony.md). The engine (telephony/sip_engine.h) rings the
// caller's own phone, then the member, and joins them; this class opens the
// two numbers from their sealed contact points, hands them to the engine and
// writes every state the engine reports to the call's row. What is needed
// to hang up an established leg after a crash is kept, sealed, in sip_legs
// until the call ends.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "core/mutex.h"
#include "phonebank/connector.h"
#include "telephony/sip_engine.h"

namespace switchboard::phonebank {

class SipConnector final : public Connector {
 public:
  // Called after an engine event has been written (or failed to be); for
  // tests and metrics. Runs on the connector's writer thread.
  using RecordedHook = std::function<void(const telephony::CallEvent&)>;

  static Result<std::unique_ptr<SipConnector>> Start(store::Store& store,
                                                     const crypto::Sealer& sealer,
                                                     const Clock& clock,
                                                     telephony::EngineOptions options,
                                                     RecordedHook on_recorded = nullptr);
  ~SipConnector() override;

  std::string_view name() const override { return "sip"; }
  Result<CallState> Connect(store::Tx& tx, const Campaign& campaign, AccountId caller,
                            const Lease& lease, Micros now) override;
  void Dial(CallId call) override;
  Result<CallState> Status(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  switchboard::Status Hangup(store::Tx& tx, CallId call, AccountId caller, Micros now) override;
  Result<int> EndCalls(store::Store& store, std::optional<CampaignId> campaign,
                       Micros now) override;
  Result<int> Reconcile(store::Store& store, Micros now) override;
  // Texts the code to the caller's phone as a SIP MESSAGE through the trunk
  // (not used while verification() is kCall).
  switchboard::Status SendVerificationCode(std::string_view e164, std::string_view code) override;

  // A caller's phone is verified by a call: the engine rings it (PlaceVerify)
  // and reports the keys; the writer thread checks them (CheckEndpointCode,
  // verified or a failure, with the audit event, in one transaction) and
  // hangs up once the phone is verified, the code expired or the throttle
  // locked. Wrong keys leave the call up for another try.
  Verification verification() const override { return Verification::kCall; }
  switchboard::Status CallToVerify(AccountId account, std::string_view e164,
                                   std::size_t code_length, const EndpointRules& rules) override;
  std::optional<VerifyProgress> VerifyProgressOf(AccountId account) const override;

  telephony::Engine& engine() { return *engine_; }

 private:
  SipConnector(store::Store& store, const crypto::Sealer& sealer, const Clock& clock,
               RecordedHook on_recorded);
  void Enqueue(const telephony::CallEvent& e);
  void Drain();
  switchboard::Status Record(const telephony::CallEvent& e);
  switchboard::Status RecordVerify(const telephony::CallEvent& e);
  // Ends a verification call, unless the engine is being stopped.
  void EndVerify(std::int64_t id, std::string end);

  store::Store& store_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  RecordedHook on_recorded_;
  std::unique_ptr<telephony::Engine> engine_;
  Mutex mu_;
  CondVar cv_;
  std::deque<telephony::CallEvent> queue_ SB_GUARDED_BY(mu_);
  bool stopping_ SB_GUARDED_BY(mu_) = false;
  std::thread writer_;
  // Verification calls: by call id, the account and rules; by account, its
  // latest call and what became of it.
  struct Verifying {
    AccountId account;
    EndpointRules rules;
  };
  mutable Mutex verify_mu_;
  std::map<std::int64_t, Verifying> verifying_ SB_GUARDED_BY(verify_mu_);
  std::map<std::int64_t, std::int64_t> verify_call_of_ SB_GUARDED_BY(verify_mu_);
  std::map<std::int64_t, VerifyProgress> progress_ SB_GUARDED_BY(verify_mu_);
  std::int64_t next_verify_ SB_GUARDED_BY(verify_mu_) = 1;
  // Held while the writer thread reaches the engine, so that the destructor
  // can take the engine away from it first.
  Mutex engine_mu_;
  bool engine_gone_ SB_GUARDED_BY(engine_mu_) = false;
};

}  // namespace switchboard::phonebank
