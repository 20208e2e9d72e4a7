#include "access/store/holdings.h"

#include <set>

namespace switchboard::access {

Result<HeldAccess> HeldAbout(store::Tx& tx, MemberId member, Micros now) {
  HeldAccess out;
  std::vector<AccountId> ids;
  SB_RETURN_IF_ERROR(tx.Query("SELECT id FROM accounts WHERE member_id = $1 ORDER BY id",
                              {member.value()}, [&](const store::Row& r) {
                                ids.emplace_back(r.Int(0));
                                return true;
                              }));
  for (AccountId id : ids) {
    SB_ASSIGN_OR_RETURN(Account a, GetAccount(tx, id));
    HeldAccount h;
    h.id = a.id;
    h.login = a.login;
    h.display_name = a.display_name;
    h.state = std::string(AccountStateName(a.state));
    h.created_at = a.created_at;
    GrantFilter f;
    f.account = id;
    SB_ASSIGN_OR_RETURN(h.grants, ListGrants(tx, f, now));
    out.accounts.push_back(std::move(h));
  }
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT purpose, created_at, expires_at, used_at FROM account_links WHERE member_id = $1 "
      "ORDER BY id",
      {member.value()}, [&](const store::Row& r) {
        out.links.push_back({std::string(r.Text(0)), r.Int(1), r.Int(2), r.IntOr(3, 0)});
        return true;
      }));
  return out;
}

Result<std::vector<Grant>> GrantsByIds(store::Tx& tx, const std::vector<std::int64_t>& ids) {
  std::vector<Grant> out;
  for (std::int64_t id : std::set<std::int64_t>(ids.begin(), ids.end())) {
    auto g = GetGrant(tx, GrantId(id));
    if (!g) {
      if (g.error().code() == StatusCode::kNotFound) continue;
      return g.error();
    }
    out.push_back(std::move(*g));
  }
  return out;
}

Result<std::vector<GrantPurpose>> GrantPurposes(store::Tx& tx, Micros now) {
  std::vector<GrantPurpose> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT role, purpose, COUNT(*), SUM(CASE WHEN revoked_at IS NULL AND not_before <= $1 AND "
      "not_after > $1 THEN 1 ELSE 0 END) FROM grants GROUP BY role, purpose ORDER BY role, purpose",
      {now}, [&](const store::Row& r) {
        out.push_back({std::string(r.Text(0)), std::string(r.Text(1)), r.Int(2), r.IntOr(3, 0)});
        return true;
      }));
  return out;
}

}  // namespace switchboard::access
