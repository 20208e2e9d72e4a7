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
  // Texts the code to the caller's phone as a SIP MESSAGE through the trunk.
  switchboard::Status SendVerificationCode(std::string_view e164, std::string_view code) override;

  telephony::Engine& engine() { return *engine_; }

 private:
  SipConnector(store::Store& store, const crypto::Sealer& sealer, const Clock& clock,
               RecordedHook on_recorded);
  void Enqueue(const telephony::CallEvent& e);
  void Drain();
  switchboard::Status Record(const telephony::CallEvent& e);

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
};

}  // namespace switchboard::phonebank
