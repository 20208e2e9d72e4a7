// Progress (phonebank.h, "progress"): a campaign's counts and a caller's
// stats and badges.
#include <set>

#include "phonebank/phonebank.h"

namespace switchboard::phonebank {

Result<Progress> CampaignProgress(store::Tx& tx, const members::OrgTree& tree, CampaignId c) {
  Progress p;
  SB_ASSIGN_OR_RETURN(p.targets, tx.QueryInt("SELECT COUNT(*) FROM campaign_targets WHERE "
                                             "campaign_id = $1",
                                             {c.value()}));
  SB_ASSIGN_OR_RETURN(p.done, tx.QueryInt("SELECT COUNT(*) FROM campaign_targets WHERE "
                                          "campaign_id = $1 AND done = 1",
                                          {c.value()}));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT outcome, COUNT(*) FROM calls WHERE campaign_id = $1 AND "
               "outcome IS NOT NULL GROUP BY outcome ORDER BY outcome",
               {c.value()}, [&](const store::Row& r) {
                 p.by_outcome.emplace_back(std::string(r.Text(0)), r.Int(1));
                 return true;
               }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT m.unit_id, COUNT(*) FROM calls k JOIN members m ON m.id = "
               "k.member_id WHERE k.campaign_id = $1 AND k.outcome IS NOT NULL "
               "GROUP BY m.unit_id ORDER BY COUNT(*) DESC",
               {c.value()}, [&](const store::Row& r) {
                 const members::Unit* u = tree.Find(UnitId(r.Int(0)));
                 p.by_unit.emplace_back(u ? u->name : "?", r.Int(1));
                 return true;
               }));
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT k.caller_id, a.display_name, COUNT(*), SUM(CASE WHEN k.outcome = 'answered' THEN 1 "
      "ELSE 0 END) FROM calls k JOIN accounts a ON a.id = k.caller_id WHERE k.campaign_id = $1 "
      "AND k.outcome IS NOT NULL GROUP BY k.caller_id, a.display_name ORDER BY COUNT(*) DESC",
      {c.value()}, [&](const store::Row& r) {
        p.by_caller.push_back({AccountId(r.Int(0)), std::string(r.Text(1)), r.Int(2), r.Int(3)});
        return true;
      }));
  return p;
}

Result<CallerStats> StatsFor(store::Tx& tx, AccountId caller, Micros now) {
  CallerStats s;
  std::set<std::int64_t> days;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT outcome, recorded_at FROM calls WHERE caller_id = $1 AND outcome IS NOT NULL",
      {caller.value()}, [&](const store::Row& r) {
        ++s.calls;
        if (r.Text(0) == "answered") ++s.conversations;
        days.insert(r.Int(1) / kMicrosPerDay);
        return true;
      }));
  std::int64_t day = now / kMicrosPerDay;
  if (!days.count(day)) --day;  // a streak is not broken until today is over
  while (days.count(day)) {
    ++s.streak_days;
    --day;
  }
  if (s.calls >= 1) s.badges.push_back("first_call");
  if (s.conversations >= 10) s.badges.push_back("ten_conversations");
  if (s.calls >= 100) s.badges.push_back("hundred_calls");
  return s;
}

}  // namespace switchboard::phonebank
