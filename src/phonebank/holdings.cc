#include "phonebank/holdings.h"

namespace switchboard::phonebank {

Result<HeldCalls> HeldAbout(store::Tx& tx, MemberId member) {
  HeldCalls out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT c.id, c.name, c.purpose, c.scope_unit, t.passes, t.done, t.last_outcome "
               "FROM campaign_targets t JOIN campaigns c ON c.id = t.campaign_id "
               "WHERE t.member_id = $1 ORDER BY c.id",
               {member.value()}, [&](const store::Row& r) {
                 HeldTarget t;
                 t.campaign = r.Int(0);
                 t.campaign_name = r.Text(1);
                 t.purpose = r.Text(2);
                 t.scope = UnitId(r.Int(3));
                 t.passes = r.Int(4);
                 t.done = r.Int(5) != 0;
                 t.last_outcome = r.TextOr(6);
                 out.targets.push_back(std::move(t));
                 return true;
               }));
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, campaign_id, caller_id, state, started_at, duration_seconds, outcome, answers "
      "FROM calls WHERE member_id = $1 ORDER BY started_at, id",
      {member.value()}, [&](const store::Row& r) {
        HeldCall c;
        c.id = r.Int(0);
        c.campaign = r.Int(1);
        c.caller = AccountId(r.Int(2));
        c.state = r.Text(3);
        c.started_at = r.Int(4);
        if (!r.IsNull(5)) c.duration_seconds = r.Int(5);
        c.outcome = r.TextOr(6);
        c.answers = r.TextOr(7);
        out.calls.push_back(std::move(c));
        return true;
      }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT at, channel, campaign_id, outcome FROM contact_log WHERE member_id = $1 "
               "ORDER BY at, id",
               {member.value()}, [&](const store::Row& r) {
                 HeldContactLog l;
                 l.at = r.Int(0);
                 l.channel = r.Text(1);
                 if (!r.IsNull(2)) l.campaign = r.Int(2);
                 l.outcome = r.Text(3);
                 out.contact_log.push_back(std::move(l));
                 return true;
               }));
  return out;
}

Result<std::vector<CampaignPurpose>> CampaignPurposes(store::Tx& tx) {
  std::vector<CampaignPurpose> out;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id, name, purpose, state, scope_unit FROM campaigns ORDER BY id", {},
               [&](const store::Row& r) {
                 out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)),
                                std::string(r.Text(3)), UnitId(r.Int(4))});
                 return true;
               }));
  return out;
}

}  // namespace switchboard::phonebank
