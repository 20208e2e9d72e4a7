// The gate: the one place a request that needs a capability is decided,
// inside the transaction that then acts on it (docs/security.md, "One
// decision"). In that transaction it reads the account and its grants as
// they stand (the session's copy when the access version is unchanged),
// looks up the target's unit, calls access::Decide, charges the role's quota,
// and records a refusal (audit event and anomaly rules) in the same
// transaction. So a revocation lands either before the request (refused) or
// after it (the action stands, and is audited); never between.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/guard/quota.h"
#include "access/policy/acting.h"
#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "access/store/auth_service.h"
#include "core/ids.h"
#include "core/status.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::access {

// Rules that apply for a while and veto allows (the contests of
// src/contest): the gate asks for those in force, in its transaction, before
// deciding. Implementations cache and re-read only what changed.
class OverlaySource {
 public:
  virtual ~OverlaySource() = default;
  virtual Result<std::vector<std::shared_ptr<const Overlay>>> InForce(store::Tx& tx,
                                                                      Micros now) const = 0;
};

struct GateRequest {
  const ActiveSession* session = nullptr;
  std::string_view capability;
  // What a refusal is recorded as: the capability, or the route's id for
  // routes without one.
  std::string_view action;
  // The target's unit, read in the transaction: nullopt for a capability
  // that touches no unit (decided over the root); kNotFound when the thing
  // the request names does not exist.
  std::function<Result<std::optional<UnitId>>(store::Tx&)> unit;
  std::string_view what;  // "member", "campaign", ...: names a missing target
  MemberId member;        // a member the request names, recorded on refusal
  // What the request would publish, read in the transaction (a draft's new
  // text, a stored message being approved or sent); unset when nothing.
  std::function<Result<Publication>(store::Tx&)> publication;
  // The campaign or message the request acts on, read in the transaction.
  std::function<Result<Facility>(store::Tx&)> facility;
  // Overlays in force (contest rules); null for none.
  const OverlaySource* overlays = nullptr;
  Micros now = 0;
  std::string request_id;
  std::string client;
};

enum class GateOutcome {
  kAllowed,
  kDenied,     // Decide said no, or nothing of the kind exists and the
               // account holds the capability nowhere
  kNotFound,   // the target does not exist (told only to those who hold the
               // capability somewhere)
  kOverQuota,  // allowed, but the role's quota is spent
};

struct GateResult {
  GateOutcome outcome = GateOutcome::kDenied;
  Decision decision;  // the allow, or the refusal (rule and reason)
  QuotaCheck quota;   // kOverQuota: when it resets
  UnitId unit;        // the unit decided on (the root when none)
  // A severe anomaly rule fired on this refusal: the account is suspended.
  bool suspended = false;
  // The refusal is recorded in the transaction (Authorise with record).
  bool recorded = false;
  // Allowed without `record`, but the role meters the capability: the
  // caller charges it (ChargeQuota) in a write before acting.
  bool charge_pending = false;
  // The account and grants read in the transaction, when the access version
  // had changed since the session was read; otherwise the session's are
  // current (data()).
  std::optional<PrincipalData> fresh;

  // The account and grants the decision used.
  const PrincipalData& data(const GateRequest& r) const { return fresh ? *fresh : r.session->data; }
  bool allowed() const { return outcome == GateOutcome::kAllowed; }
  // Who acts, for the service operation that follows an allow.
  Acting acting(const GateRequest& r) const;
};

// Decides `r` in `tx` (see the top of this file). With `record` (a write
// transaction), refusals are recorded in `tx` and quotas charged; without,
// the caller records a refusal with RecordRefusal, and charges a metered
// capability with ChargeQuota, in a write of its own.
Result<GateResult> Authorise(store::Tx& tx, const Policy& policy, const members::OrgTree& tree,
                             const GateRequest& r, bool record);

// Records a refusal of `action` by `who`: a "deny" audit event under the
// refusal's rule (or "not_found"), naming `member` if valid, and the anomaly
// rules; returns whether a severe rule suspended the account.
Result<bool> RecordRefusal(store::Tx& tx, const Policy& policy, const Acting& who,
                           std::string_view action, const Decision& refusal, bool not_found,
                           MemberId member = MemberId());
// The same for a gate request.
Result<bool> RecordRefusal(store::Tx& tx, const Policy& policy, const GateRequest& r,
                           const Decision& refusal, bool not_found);
// Who acts with session `s` in a request (no decision yet).
Acting ActingOf(const ActiveSession& s, Micros now, std::string_view request_id,
                std::string_view client);
// Who acts in `r`, before any decision.
Acting ActingOf(const GateRequest& r);

// Charges the role's quota for `r` under the allow; a refusal (not
// QuotaCheck::allow) is recorded as a "deny" event under "quota.exceeded".
Result<QuotaCheck> ChargeQuota(store::Tx& tx, const GateRequest& r, const Decision& allow);

// Feeds an allowed read of `members` to the anomaly rules, in the read's
// transaction.
Status ObserveRead(store::Tx& tx, const Policy& policy, const Acting& who,
                   std::string_view capability, std::vector<MemberId> members);

}  // namespace switchboard::access
