#include "privacy/erasure.h"

#include <vector>

#include "access/store/erase.h"
#include "audit/audit_log.h"
#include "members/contact.h"
#include "members/erase.h"
#include "members/preferences.h"
#include "messaging/erase.h"
#include "phonebank/erase.h"

namespace switchboard::privacy {

namespace {

void Add(EraseCounts& into, const std::map<std::string, std::int64_t>& from) {
  for (const auto& [table, n] : from) into[table] += n;
}

}  // namespace

Result<EraseCounts> Erase(store::Tx& tx, const crypto::Sealer& sealer, const EraseRequest& req,
                          Micros now) {
  if (req.reason.empty()) return Status::InvalidArgument("reason: required");
  if (req.reason.size() > 500) return Status::InvalidArgument("reason: at most 500 bytes");
  SB_ASSIGN_OR_RETURN(std::vector<members::SealedContact> contacts,
                      members::ContactPointsOf(tx, req.member));
  SB_ASSIGN_OR_RETURN(bool erased, members::IsErased(tx, req.member));
  if (erased) {
    return Status::FailedPrecondition("member " + std::to_string(req.member.value()) +
                                      " is erased already");
  }
  // The e-mail addresses, to find what names them without the member id.
  std::vector<std::string> email_keys;
  for (const members::SealedContact& c : contacts) {
    if (c.kind != "email") continue;
    SB_ASSIGN_OR_RETURN(std::string address, sealer.Open(c.sealed, "email"));
    auto email = members::NormaliseEmail(address);
    if (email) email_keys.push_back(email->match_key);
  }
  bool suppress = req.kind == EraseKind::kRequest;
  if (!suppress) {
    SB_ASSIGN_OR_RETURN(std::optional<members::Preferences> prefs,
                        members::GetPreferences(tx, req.member));
    suppress = prefs && prefs->suppressions != 0;
  }
  const char* rule = req.kind == EraseKind::kRequest ? "request" : "retention";

  EraseCounts counts;
  SB_ASSIGN_OR_RETURN(access::AccessErasure acc,
                      access::EraseMemberAccess(tx, sealer, req.member, email_keys, now));
  Add(counts, acc.counts);
  for (const AccountId a : acc.accounts) {
    SB_ASSIGN_OR_RETURN(std::int64_t n, phonebank::EraseCallerEndpoint(tx, a));
    counts["caller_endpoints"] += n;
  }
  SB_ASSIGN_OR_RETURN(auto pb, phonebank::EraseMember(tx, req.member));
  Add(counts, pb);
  SB_ASSIGN_OR_RETURN(auto mail, messaging::EraseMember(tx, req.member));
  Add(counts, mail);
  SB_ASSIGN_OR_RETURN(auto reg, members::EraseMember(tx, req.member, suppress, rule, now));
  Add(counts, reg);
  SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO privacy_erasures (member_id, at, actor, kind, reason) "
                             "VALUES ($1, $2, $3, $4, $5)",
                             {req.member.value(), now,
                              req.actor ? store::Value(req.actor->value()) : store::Value(),
                              std::string(rule), req.reason})
                         .status());
  for (auto it = counts.begin(); it != counts.end();) {
    it = it->second == 0 ? counts.erase(it) : std::next(it);
  }

  audit::Event e;
  e.at = now;
  if (req.actor) e.actor = req.actor->value();
  e.action = "privacy.erase";
  e.decision = "allow";
  e.rule = rule;
  e.members = {req.member.value()};
  for (const auto& [table, n] : counts) e.field_classes.push_back(table + ":" + std::to_string(n));
  e.request_id = req.request_id;
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return counts;
}

std::string DescribeCounts(const EraseCounts& counts) {
  std::string out;
  for (const auto& [table, n] : counts) out += "  " + table + ": " + std::to_string(n) + "\n";
  return out;
}

}  // namespace switchboard::privacy
