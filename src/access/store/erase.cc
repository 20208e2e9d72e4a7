#include "access/store/erase.h"

#include <nlohmann/json.hpp>
#include <set>

#include "access/store/access_store.h"
#include "core/json.h"
#include "members/contact.h"

namespace switchboard::access {

namespace {

using json = nlohmann::json;

// Runs `sql` (a "FROM ... WHERE ..." tail) as a count or as a DELETE.
Result<std::int64_t> CountOrDelete(store::Tx& tx, const std::string& tail, Micros before,
                                   bool dry_run) {
  if (dry_run) return tx.QueryInt("SELECT COUNT(*) " + tail, {before});
  return tx.Exec("DELETE " + tail, {before});
}

}  // namespace

Result<AccessErasure> EraseMemberAccess(store::Tx& tx, const crypto::Sealer& sealer,
                                        MemberId member,
                                        const std::vector<std::string>& email_match_keys,
                                        Micros now) {
  AccessErasure out;
  AccessCounts& c = out.counts;
  SB_RETURN_IF_ERROR(tx.Query("SELECT id FROM accounts WHERE member_id = $1 ORDER BY id",
                              {member.value()}, [&](const store::Row& r) {
                                out.accounts.push_back(AccountId(r.Int(0)));
                                return true;
                              }));
  std::set<std::string> keys(email_match_keys.begin(), email_match_keys.end());
  std::vector<std::string> indexes;
  for (const std::string& k : keys) indexes.push_back(sealer.BlindIndex("email", k));

  c["accounts"] = 0;
  for (const AccountId a : out.accounts) {
    const std::int64_t id = a.value();
    SB_ASSIGN_OR_RETURN(
        std::int64_t n,
        tx.Exec("UPDATE accounts SET login = $2, display_name = 'Erased account', state = "
                "'disabled', state_reason = 'erased', state_changed_at = $3, password_hash = "
                "NULL, totp_key_id = NULL, totp_secret = NULL, totp_last_step = NULL WHERE id = $1",
                {id, "erased-" + std::to_string(id), now}));
    c["accounts"] += n;
    SB_ASSIGN_OR_RETURN(std::int64_t codes,
                        tx.Exec("DELETE FROM recovery_codes WHERE account_id = $1", {id}));
    c["recovery_codes"] += codes;
    SB_ASSIGN_OR_RETURN(std::int64_t sessions,
                        tx.Exec("DELETE FROM sessions WHERE account_id = $1", {id}));
    c["sessions"] += sessions;
    SB_ASSIGN_OR_RETURN(
        std::int64_t grants,
        tx.Exec("UPDATE grants SET revoked_at = $2, revoke_reason = 'account erased' WHERE "
                "account_id = $1 AND revoked_at IS NULL",
                {id, now}));
    c["grants"] += grants;
    SB_ASSIGN_OR_RETURN(std::int64_t addr,
                        tx.Exec("DELETE FROM account_addresses WHERE account_id = $1", {id}));
    c["account_addresses"] += addr;
    SB_ASSIGN_OR_RETURN(std::int64_t links,
                        tx.Exec("DELETE FROM account_links WHERE account_id = $1", {id}));
    c["account_links"] += links;
    SB_ASSIGN_OR_RETURN(std::int64_t throttles,
                        tx.Exec("DELETE FROM login_throttle WHERE subject = $1",
                                {"account:" + std::to_string(id)}));
    c["login_throttle"] += throttles;
  }
  SB_ASSIGN_OR_RETURN(std::int64_t links,
                      tx.Exec("DELETE FROM account_links WHERE member_id = $1", {member.value()}));
  c["account_links"] += links;
  for (const std::string& index : indexes) {
    SB_ASSIGN_OR_RETURN(std::int64_t l,
                        tx.Exec("DELETE FROM account_links WHERE address_index = $1",
                                {store::Value::Bytes(index)}));
    c["account_links"] += l;
    SB_ASSIGN_OR_RETURN(std::int64_t a,
                        tx.Exec("DELETE FROM account_addresses WHERE blind_index = $1",
                                {store::Value::Bytes(index)}));
    c["account_addresses"] += a;
  }

  // Queued account mail names its recipient only inside the sealed mail.
  std::vector<std::int64_t> mail;
  Status inner = Status::Ok();
  if (!keys.empty()) {
    SB_RETURN_IF_ERROR(tx.Query(
        "SELECT id, key_id, sealed FROM account_mail WHERE sealed <> $1 ORDER BY id",
        {store::Value::Bytes("")}, [&](const store::Row& r) {
          auto opened = sealer.Open(
              crypto::Sealed{static_cast<std::uint32_t>(r.Int(1)), std::string(r.Bytes(2))},
              "account-mail");
          if (!opened) {
            inner = opened.status();
            return false;
          }
          auto m = ParseJson(*opened);
          if (!m || !m->is_object() || !(*m)["to"].is_string()) return true;
          auto to = members::NormaliseEmail((*m)["to"].get<std::string>());
          if (to && keys.count(to->match_key)) mail.push_back(r.Int(0));
          return true;
        }));
  }
  SB_RETURN_IF_ERROR(inner);
  c["account_mail"] = 0;
  for (std::int64_t id : mail) {
    SB_ASSIGN_OR_RETURN(std::int64_t n, tx.Exec("DELETE FROM account_mail WHERE id = $1", {id}));
    c["account_mail"] += n;
  }
  if (!out.accounts.empty()) SB_RETURN_IF_ERROR(BumpAccessVersion(tx));
  return out;
}

Result<AccessCounts> PurgeExpired(store::Tx& tx, const AccessPurge& p, bool dry_run) {
  AccessCounts c;
  SB_ASSIGN_OR_RETURN(c["sessions"],
                      CountOrDelete(tx, "FROM sessions WHERE expires_at < $1 OR revoked_at < $1",
                                    p.sessions_before, dry_run));
  SB_ASSIGN_OR_RETURN(
      c["account_links"],
      CountOrDelete(tx, "FROM account_links WHERE expires_at < $1", p.links_before, dry_run));
  SB_ASSIGN_OR_RETURN(
      c["login_throttle"],
      CountOrDelete(tx, "FROM login_throttle WHERE locked_until < $1 AND window_start < $1",
                    p.throttles_before, dry_run));
  SB_ASSIGN_OR_RETURN(
      c["account_mail"],
      CountOrDelete(tx, "FROM account_mail WHERE state IN ('sent', 'failed') AND updated_at < $1",
                    p.mail_before, dry_run));
  return c;
}

}  // namespace switchboard::access
