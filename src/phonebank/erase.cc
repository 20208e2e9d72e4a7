#include "phonebank/erase.h"

#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "access/store/sessions.h"
#include "phonebank/phonebank_internal.h"

namespace switchboard::phonebank {

namespace {
using json = nlohmann::json;
using internal::ParseOrDiscarded;
}  // namespace

Result<PhonebankCounts> EraseMember(store::Tx& tx, MemberId member) {
  const std::int64_t m = member.value();
  struct Answered {
    std::int64_t id;
    std::int64_t campaign;
    std::string answers;
  };
  std::vector<Answered> calls;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, campaign_id, answers FROM calls WHERE member_id = $1 AND answers IS NOT NULL "
      "ORDER BY id",
      {m}, [&](const store::Row& r) {
        calls.push_back({r.Int(0), r.Int(1), std::string(r.Text(2))});
        return true;
      }));
  std::map<std::int64_t, std::set<std::string>> text_questions;  // by campaign
  PhonebankCounts counts;
  counts["calls"] = 0;
  for (const Answered& c : calls) {
    if (!text_questions.count(c.campaign)) {
      std::set<std::string>& ids = text_questions[c.campaign];
      SB_RETURN_IF_ERROR(tx.Query("SELECT survey FROM campaigns WHERE id = $1", {c.campaign},
                                  [&](const store::Row& r) {
                                    json s = ParseOrDiscarded(r.Text(0));
                                    if (!s.is_array()) return false;
                                    for (const json& q : s) {
                                      if (q.is_object() && q.value("type", "") == "text") {
                                        ids.insert(q.value("id", ""));
                                      }
                                    }
                                    return false;
                                  }));
    }
    const std::set<std::string>& text = text_questions[c.campaign];
    json a = ParseOrDiscarded(c.answers);
    json kept = json::object();
    bool changed = !a.is_object();  // unreadable answers go entirely
    if (a.is_object()) {
      for (const auto& item : a.items()) {
        if (text.count(item.key())) {
          changed = true;
          continue;
        }
        kept[item.key()] = item.value();
      }
    }
    if (!changed) continue;
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE calls SET answers = $2 WHERE id = $1",
                               {c.id, kept.empty() ? store::Value() : store::Value(kept.dump())}));
    ++counts["calls"];
  }
  SB_ASSIGN_OR_RETURN(counts["campaign_targets"],
                      tx.Exec("UPDATE campaign_targets SET done = 1, leased_by = NULL, "
                              "lease_expires = NULL, lease_call = NULL WHERE member_id = $1 AND "
                              "(done = 0 OR leased_by IS NOT NULL)",
                              {m}));
  return counts;
}

Result<std::int64_t> EraseCallerEndpoint(store::Tx& tx, AccountId account) {
  // The count of wrong phone codes (CheckEndpointCode) goes with the phone.
  SB_RETURN_IF_ERROR(access::ClearThrottle(tx, "endpoint:" + account.ToString()));
  return tx.Exec("DELETE FROM caller_endpoints WHERE account_id = $1", {account.value()});
}

Result<PhonebankCounts> PurgeExpired(store::Tx& tx, const PhonebankPurge& p, bool dry_run) {
  PhonebankCounts counts;
  const std::string leases =
      " campaign_targets WHERE leased_by IS NOT NULL AND lease_expires IS NOT NULL AND "
      "lease_expires < $1";
  const std::string codes = " caller_endpoints WHERE verified_at IS NULL AND created_at < $1";
  // An invitation somebody joined by stays: campaign_callers names it.
  const std::string invites =
      " campaign_invites WHERE expires_at < $1 AND NOT EXISTS (SELECT 1 FROM campaign_callers cc "
      "WHERE cc.invite_id = campaign_invites.id)";
  if (dry_run) {
    SB_ASSIGN_OR_RETURN(counts["phonebank_leases"],
                        tx.QueryInt("SELECT COUNT(*) FROM" + leases, {p.leases_before}));
    SB_ASSIGN_OR_RETURN(counts["caller_verification_codes"],
                        tx.QueryInt("SELECT COUNT(*) FROM" + codes, {p.verifications_before}));
    SB_ASSIGN_OR_RETURN(counts["campaign_invites"],
                        tx.QueryInt("SELECT COUNT(*) FROM" + invites, {p.invitations_before}));
    return counts;
  }
  SB_ASSIGN_OR_RETURN(counts["phonebank_leases"],
                      tx.Exec("UPDATE campaign_targets SET leased_by = NULL, lease_expires = "
                              "NULL, lease_call = NULL WHERE leased_by IS NOT NULL AND "
                              "lease_expires IS NOT NULL AND lease_expires < $1",
                              {p.leases_before}));
  SB_ASSIGN_OR_RETURN(counts["caller_verification_codes"],
                      tx.Exec("DELETE FROM" + codes, {p.verifications_before}));
  SB_ASSIGN_OR_RETURN(counts["campaign_invites"],
                      tx.Exec("DELETE FROM" + invites, {p.invitations_before}));
  return counts;
}

}  // namespace switchboard::phonebank
