// Progress (phonebank.h, "progress"): a campaign's counts and a caller's
// stats and badges.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "members/register.h"
#include "phonebank/phonebank.h"

namespace switchboard::phonebank {

namespace {

// A target still to call: not finished, and passing the rules Next() leases
// by (calling.cc). `t` is campaign_targets, `m` members.
std::string Callable() {
  return "t.done = 0 AND (m.consents & " + std::to_string(members::kConsentPhone) +
         ") <> 0 AND (m.suppressions & " + std::to_string(kNotCallable) +
         ") = 0 AND NOT EXISTS (SELECT 1 FROM canaries k WHERE k.member_id = m.id) AND EXISTS "
         "(SELECT 1 FROM contact_points p WHERE p.member_id = m.id AND p.kind = 'phone' AND "
         "p.valid = 1)";
}

}  // namespace

Result<Progress> CampaignProgress(store::Tx& tx, const members::OrgTree& tree, CampaignId c,
                                  Micros now) {
  Progress p;
  // Targets per unit: all, finished, still to call.
  std::map<std::int64_t, Progress::UnitRow> units;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT m.unit_id, COUNT(*), SUM(t.done), SUM(CASE WHEN " + Callable() +
          " THEN 1 ELSE 0 END) FROM campaign_targets t JOIN members m ON m.id = t.member_id "
          "WHERE t.campaign_id = $1 GROUP BY m.unit_id",
      {c.value()}, [&](const store::Row& r) {
        Progress::UnitRow& u = units[r.Int(0)];
        u.targets = r.Int(1);
        u.done = r.IntOr(2, 0);
        u.to_call = r.IntOr(3, 0);
        return true;
      }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT m.unit_id, COUNT(*) FROM calls k JOIN members m ON m.id = k.member_id "
               "WHERE k.campaign_id = $1 AND k.outcome IS NOT NULL GROUP BY m.unit_id",
               {c.value()}, [&](const store::Row& r) {
                 units[r.Int(0)].calls = r.Int(1);
                 return true;
               }));
  for (auto& [id, u] : units) {
    const members::Unit* unit = tree.Find(UnitId(id));
    u.unit = unit ? unit->name : "?";
    p.targets += u.targets;
    p.done += u.done;
    p.to_call += u.to_call;
    p.by_unit.push_back(u);
  }
  std::stable_sort(p.by_unit.begin(), p.by_unit.end(), [](const auto& a, const auto& b) {
    return std::tie(b.calls, b.targets, a.unit) < std::tie(a.calls, a.targets, b.unit);
  });
  SB_ASSIGN_OR_RETURN(p.in_progress,
                      tx.QueryInt("SELECT COUNT(*) FROM campaign_targets WHERE campaign_id = $1 "
                                  "AND done = 0 AND leased_by IS NOT NULL AND lease_expires > $2",
                                  {c.value(), now}));
  // Calls going on now, by state (the calls_active index, schema v17).
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT state, COUNT(*) FROM calls WHERE campaign_id = $1 AND state IN "
               "('calling_you', 'calling_member', 'connected') GROUP BY state",
               {c.value()}, [&](const store::Row& r) {
                 const std::string_view state = r.Text(0);
                 if (state == "calling_you") p.live.calling_you = r.Int(1);
                 if (state == "calling_member") p.live.calling_member = r.Int(1);
                 if (state == "connected") p.live.connected = r.Int(1);
                 return true;
               }));
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT outcome, COUNT(*) FROM calls WHERE campaign_id = $1 AND "
               "outcome IS NOT NULL GROUP BY outcome ORDER BY outcome",
               {c.value()}, [&](const store::Row& r) {
                 p.by_outcome.emplace_back(std::string(r.Text(0)), r.Int(1));
                 p.calls += r.Int(1);
                 if (r.Text(0) == "answered") p.conversations += r.Int(1);
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
