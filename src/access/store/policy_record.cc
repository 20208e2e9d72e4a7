#include "access/store/policy_record.h"

#include "audit/audit_log.h"
#include "store/settings.h"

namespace switchboard::access {

Status RecordPolicyInForce(store::Tx& tx, const Policy& policy, Micros now) {
  SB_ASSIGN_OR_RETURN(std::string recorded, store::GetSetting(tx, "policy_sha256"));
  if (recorded == policy.source_hash) return Status::Ok();
  SB_RETURN_IF_ERROR(store::PutSetting(tx, "policy_sha256", policy.source_hash, /*replace=*/true));
  audit::Event e;
  e.at = now;
  e.action = recorded.empty() ? "policy.load" : "policy.change";
  e.decision = "allow";
  e.rule = "sha256:" + policy.source_hash;
  return audit::AuditLog::Append(tx, e).status();
}

}  // namespace switchboard::access
