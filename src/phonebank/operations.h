// The phone bank's operations as the API calls them (RULEBOOK §6). Each runs
// inside the caller's transaction, after the gate (access/guard/gate.h)
// allowed it: it decides what is left to decide there (the caller's join and
// its grant, calling hours, pace, the campaign's state), acts, and appends its
// own audit event in that same transaction, so an action and its record
// commit together or not at all. Organiser operations need phonebank.manage
// over the campaign's scope; calling operations phonebank.call there *and* a
// join of this very campaign whose grant is in force.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "core/time_zone.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "phonebank/connector.h"
#include "phonebank/phonebank.h"
#include "store/store.h"

namespace switchboard::phonebank {

// A campaign with its counts, as organisers see it.
struct CampaignSummary {
  Campaign campaign;
  std::int64_t audience_count = 0;
  std::int64_t targets = 0;  // members fixed when it went live
};

// Contest rules (RULEBOOK §8, src/contest) plug in here; the gate's contest
// overlay decides who may create and call, these shape the campaign itself.
class CampaignHooks {
 public:
  virtual ~CampaignHooks() = default;
  // Before a campaign by `who` is stored (new or edited): may narrow its
  // audience (a candidate campaign's phone bank reaches only the contest's
  // consenting electorate) and bring its end forward (to the ballot's close).
  virtual Status Shape(store::Tx& tx, const access::Acting& who, Campaign& c) const = 0;
  // After `c` went live with `targets` members fixed (the contest's
  // equal-access ledger).
  virtual Status Launched(store::Tx& tx, const access::Acting& who, const Campaign& c,
                          std::int64_t targets) const = 0;
};
// No contest rules.
const CampaignHooks& NoCampaignHooks();

// What "next" gave a caller.
struct NextContact {
  Campaign campaign;
  NextResult next;
  Contact contact;
  // An opaque reference to the leased member for the caller's page: a keyed
  // hash of campaign and member, never the member id.
  std::string ref;
  // Pace-limited: the refusal was recorded (audit and anomaly rules) and
  // this says whether a severe rule suspended the account.
  bool suspended = false;
};

// One unit's line in the leaderboard: counts only.
struct UnitCalls {
  std::string unit;
  std::int64_t calls = 0;
};

// How many calls may go on at once ([telephony] in the configuration): in
// total, and in any one campaign. Counted from the calls recorded active
// (calling_you, calling_member, connected) when a caller connects.
struct CallLimits {
  int total = 1000;
  int per_campaign = 250;
};

// Called as Connect records a call, in its transaction, with the member and
// the blind index of the number the connector dials, so a check above this
// module (the canaries of exports, privacy/leak.h) records what it finds with
// the call. An error refuses the call (the transaction rolls back).
struct OutboundCall {
  MemberId member;
  std::string_view phone_index;  // contact_points.blind_index of the number
  std::string_view request_id;
  Micros now = 0;
};
using CanaryCheck = std::function<Status(store::Tx&, const OutboundCall&)>;

class Operations {
 public:
  // `hooks`: the contest rules (src/contest), borrowed.
  // `line`: the numbers campaigns may present and the default ring time.
  Operations(const access::Policy& policy, const members::OrgTree& tree,
             const crypto::Sealer& sealer, TimeZone zone, Connector& connector,
             const CampaignHooks& hooks = NoCampaignHooks(), CallLimits limits = {},
             CallerLine line = {});

  // ---- organisers --------------------------------------------------------
  // Validates (ValidateLine too) and stores a new draft; returns its
  // audience count.
  Result<std::int64_t> Create(store::Tx& tx, const access::Acting& who, Campaign& c) const;
  Result<CampaignSummary> Get(store::Tx& tx, CampaignId id) const;
  // Applies `edit` to the stored campaign, checks it (ValidateLine too), and
  // saves it under the rules of UpdateCampaign (phonebank.h); `c` is the
  // campaign after. The audit event names the fields changed, never a value.
  Result<CampaignEdit> Edit(store::Tx& tx, const access::Acting& who, CampaignId id,
                            int expected_version, const std::function<Status(Campaign&)>& edit,
                            Campaign& c) const;
  // How many members the campaign would reach with `edit` applied (nothing
  // is saved).
  Result<std::int64_t> CountWith(store::Tx& tx, CampaignId id,
                                 const std::function<Status(Campaign&)>& edit) const;
  // Live, paused, ended, killed; returns the targets fixed on going live.
  Result<std::int64_t> ChangeState(store::Tx& tx, const access::Acting& who, CampaignId id,
                                   CampaignState to, Campaign& c) const;
  Result<NewInvite> Invite(store::Tx& tx, const access::Acting& who, CampaignId id,
                           std::string_view label, Micros expires_at, int max_joins) const;
  Status WithdrawInvite(store::Tx& tx, const access::Acting& who, CampaignId id,
                        InviteId invite) const;

  // ---- progress and results (organisers) ------------------------------------
  // The campaign's figures now (phonebank.h, Progress).
  Result<Progress> ProgressOf(store::Tx& tx, const access::Acting& who, CampaignId id) const;
  // Survey results and calls over time, in the organisation's time zone.
  Result<Results> ResultsOf(store::Tx& tx, CampaignId id, Campaign& c) const;
  // The results as CSV (ResultsCsv), recorded as a "campaign.results_export"
  // event: aggregates only, but a copy leaves the system.
  Result<std::string> ExportResults(store::Tx& tx, const access::Acting& who, CampaignId id) const;

  // ---- joining -------------------------------------------------------------
  // Joins through the link `token`; kNotFound for an unknown link.
  Result<JoinResult> JoinByLink(store::Tx& tx, const access::Acting& who, std::string_view token,
                                Campaign& c) const;
  // Records a refused join ("campaign.join", deny): a shared link tried by
  // strangers is worth knowing about. In a transaction of its own, since the
  // refused one rolled back.
  Status RecordJoinRefusal(store::Tx& tx, const access::Acting& who, const Status& why) const;

  // ---- calling -------------------------------------------------------------
  // The caller's current lease, or the next member to call, pace permitting.
  Result<NextContact> Next(store::Tx& tx, const access::Acting& who, CampaignId id) const;
  // Records the call to the leased member (the connector rings nothing yet):
  // kResourceExhausted when the limits (CallLimits) are reached;
  // kFailedPrecondition when the campaign's caller ID is no longer one of
  // the organisation's numbers. Dial() it once this transaction has
  // committed.
  Result<CallState> Connect(store::Tx& tx, const access::Acting& who, CampaignId id) const;
  // The state recorded for `caller`'s call `call`, no connector asked; empty
  // when it is not theirs.
  Result<std::string> RecordedState(store::Tx& tx, AccountId caller, CallId call) const;
  // Starts the call Connect recorded, after its transaction committed.
  void Dial(CallId call) const { connector_.Dial(call); }
  // The caller hangs up their call `call` of campaign `id` (both legs);
  // returns its state after. kNotFound unless it is theirs, in that campaign.
  Result<CallState> Hangup(store::Tx& tx, const access::Acting& who, CampaignId id,
                           CallId call) const;
  // Records the outcome and survey answers of the current lease; releases it.
  // A call still going on is hung up first.
  Status Outcome(store::Tx& tx, const access::Acting& who, CampaignId id, std::string_view outcome,
                 const std::string& answers_json) const;

  // ---- the caller's own ----------------------------------------------------
  Result<EndpointVerification> RegisterEndpoint(store::Tx& tx, const access::Acting& who,
                                                std::string_view e164) const;
  // The code typed back (connectors that send it, and the simulator): the
  // attempt is recorded whatever the answer (CheckEndpointCode). A connector
  // that calls the phone refuses it: the code must come from the keypad.
  Result<EndpointCheck> VerifyEndpoint(store::Tx& tx, const access::Acting& who,
                                       std::string_view code) const;
  // The caller's phone as the registration screen shows it: registered,
  // verified, and the verification call's progress (connectors that call).
  struct EndpointView {
    EndpointState state;
    Connector::Verification method = Connector::Verification::kCode;
    std::optional<Connector::VerifyProgress> call;
  };
  Result<EndpointView> Endpoint(store::Tx& tx, const access::Acting& who) const;
  // The rules phone codes are checked under (policy [login]).
  EndpointRules endpoint_rules() const { return EndpointRules::From(policy_); }
  // Units ranked by calls made in the campaigns `caller` calls for.
  Result<std::vector<UnitCalls>> Leaderboard(store::Tx& tx, AccountId caller) const;

  // ---- the calls going on ----------------------------------------------------
  // Ends every active call of `campaign` (of all when absent) on both legs,
  // recorded `killed`: after a campaign's pause, end or kill has committed,
  // and when the server stops. Returns how many.
  Result<int> EndCalls(store::Store& store, std::optional<CampaignId> campaign, Micros now) const;
  // Whether going to `to` ends the campaign's calls (paused, ended, killed).
  static bool EndsCalls(CampaignState to);
  // At start-up, before requests: calls a crash left active (Connector::
  // Reconcile). Returns how many.
  Result<int> Reconcile(store::Store& store, Micros now) const;
  // Records what the connector's clock says has happened (Connector::
  // SettleDue); a read when no call is active. `serve` calls it each second.
  Result<int> SettleDue(store::Store& store, Micros now) const;

  Connector& connector() const { return connector_; }
  const CallLimits& limits() const { return limits_; }
  // Installs the check Connect runs on each call (before any request).
  void SetCanaryCheck(CanaryCheck check) { canary_check_ = std::move(check); }
  const CallerLine& line() const { return line_; }

 private:
  // The caller must have joined this campaign, with that grant still in
  // force, and calling must be open.
  Status CheckJoined(store::Tx& tx, const Campaign& c, const access::Acting& who, Micros now) const;

  const access::Policy& policy_;
  const members::OrgTree& tree_;
  const crypto::Sealer& sealer_;
  TimeZone zone_;
  Connector& connector_;
  const CampaignHooks& hooks_;
  CallLimits limits_;
  CanaryCheck canary_check_;
  CallerLine line_;
};

}  // namespace switchboard::phonebank
