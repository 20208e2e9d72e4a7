#include "messaging/holdings.h"

namespace switchboard::messaging {

Result<HeldMail> HeldAbout(store::Tx& tx, MemberId member) {
  HeldMail out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT m.id, m.kind, m.from_name, m.scope_unit, m.subject, o.state, o.attempts, "
               "m.queued_at, o.updated_at, o.smtp_code FROM outbox o JOIN messages m ON m.id = "
               "o.message_id WHERE o.member_id = $1 ORDER BY o.id",
               {member.value()}, [&](const store::Row& r) {
                 HeldMessage h;
                 h.message = r.Int(0);
                 h.kind = r.Text(1);
                 h.from_name = r.Text(2);
                 h.scope = UnitId(r.Int(3));
                 h.subject = r.Text(4);
                 h.state = r.Text(5);
                 h.attempts = r.Int(6);
                 h.queued_at = r.IntOr(7, 0);
                 h.updated_at = r.Int(8);
                 if (!r.IsNull(9)) h.smtp_code = r.Int(9);
                 out.messages.push_back(std::move(h));
                 return true;
               }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT at, message_id, how FROM unsubscribes WHERE member_id = $1 ORDER BY at, id",
               {member.value()}, [&](const store::Row& r) {
                 HeldUnsubscribe u;
                 u.at = r.Int(0);
                 if (!r.IsNull(1)) u.message = r.Int(1);
                 u.how = r.Text(2);
                 out.unsubscribes.push_back(std::move(u));
                 return true;
               }));
  SB_RETURN_IF_ERROR(tx.Query("SELECT hard_count, last_at FROM email_bounces WHERE member_id = $1",
                              {member.value()}, [&](const store::Row& r) {
                                out.hard_bounces = r.Int(0);
                                out.last_bounce_at = r.Int(1);
                                return false;
                              }));
  return out;
}

}  // namespace switchboard::messaging
