#include "messaging/erase.h"

namespace switchboard::messaging {

Result<MessagingCounts> EraseMember(store::Tx& tx, MemberId member) {
  const std::int64_t m = member.value();
  MessagingCounts counts;
  SB_ASSIGN_OR_RETURN(counts["outbox"], tx.Exec("DELETE FROM outbox WHERE member_id = $1", {m}));
  SB_ASSIGN_OR_RETURN(counts["email_bounces"],
                      tx.Exec("DELETE FROM email_bounces WHERE member_id = $1", {m}));
  SB_ASSIGN_OR_RETURN(counts["unsubscribes"],
                      tx.Exec("DELETE FROM unsubscribes WHERE member_id = $1", {m}));
  return counts;
}

Result<std::int64_t> PurgeOutbox(store::Tx& tx, Micros before, bool dry_run) {
  const std::string where =
      " outbox WHERE state NOT IN ('queued', 'deferred', 'handed') AND updated_at < $1 AND "
      "message_id IN (SELECT id FROM messages WHERE state <> 'sending')";
  if (dry_run) return tx.QueryInt("SELECT COUNT(*) FROM" + where, {before});
  return tx.Exec("DELETE FROM" + where, {before});
}

}  // namespace switchboard::messaging
