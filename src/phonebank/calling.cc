// Calling (phonebank.h, "calling"): leases one member at a time under the
// campaign's pace, the contact shown to the caller, and outcomes.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <tuple>

#include "members/preferences.h"
#include "members/register.h"
#include "messaging/template.h"
#include "phonebank/phonebank.h"
#include "phonebank/phonebank_internal.h"

namespace switchboard::phonebank {

using json = nlohmann::json;
using internal::ParseOrDiscarded;

const std::vector<std::string>& OutcomeNames() {
  static const std::vector<std::string> k = {"answered",     "no_answer",   "busy",  "voicemail",
                                             "wrong_number", "do_not_call", "moved", "deceased"};
  return k;
}

std::string FormatMinutes(int minutes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d", minutes / 60, minutes % 60);
  return buf;
}

Result<std::optional<Lease>> CurrentLease(store::Tx& tx, const Campaign& c, AccountId caller,
                                          Micros now) {
  std::optional<Lease> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT member_id, lease_call, lease_expires FROM campaign_targets WHERE campaign_id = $1 "
      "AND leased_by = $2 AND lease_expires > $3",
      {c.id.value(), caller.value(), now}, [&](const store::Row& r) {
        out = Lease{MemberId(r.Int(0)), CallId(r.IntOr(1, 0)), r.Int(2), true};
        return false;
      }));
  if (out && out->call.value() == 0) {
    // Leased before schema v12, which records the call with the lease: the
    // call row Next() wrote is the caller's latest for this member.
    SB_ASSIGN_OR_RETURN(std::int64_t call,
                        tx.QueryInt("SELECT MAX(id) FROM calls WHERE campaign_id = $1 AND "
                                    "member_id = $2 AND caller_id = $3",
                                    {c.id.value(), out->member.value(), caller.value()}));
    out->call = CallId(call);
  }
  return out;
}

Result<NextResult> Next(store::Tx& tx, const Campaign& c, AccountId caller, Micros now) {
  NextResult out;
  SB_ASSIGN_OR_RETURN(out.lease, CurrentLease(tx, c, caller, now));
  if (out.lease) return out;
  // Pace: leases handed to this caller recently (calls rows are written at
  // lease time, so they count every new contact), in each window at once.
  struct Window {
    const char* name;
    Micros length;
    int limit;
  };
  const Window windows[] = {
      {"burst", static_cast<Micros>(c.pace.burst) * c.pace.interval_seconds * kMicrosPerSecond,
       c.pace.burst},
      {"hour", 3600 * kMicrosPerSecond, c.pace.per_hour},
      {"day", kMicrosPerDay, c.pace.per_day},
  };
  Micros longest = 0;
  for (const Window& w : windows) longest = std::max(longest, w.length);
  std::int64_t counts[3] = {0, 0, 0};
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT COALESCE(SUM(CASE WHEN started_at > $3 THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN started_at > $4 THEN 1 ELSE 0 END), 0), "
               "COALESCE(SUM(CASE WHEN started_at > $5 THEN 1 ELSE 0 END), 0) FROM calls "
               "WHERE campaign_id = $1 AND caller_id = $2 AND started_at > $6",
               {c.id.value(), caller.value(), now - windows[0].length, now - windows[1].length,
                now - windows[2].length, now - longest},
               [&](const store::Row& r) {
                 for (int i = 0; i < 3; ++i) counts[i] = r.Int(i);
                 return false;
               }));
  for (int i = 0; i < 3; ++i) {
    const Window& w = windows[i];
    if (counts[i] >= w.limit) {
      // Free again when the oldest contact inside the window leaves it.
      std::int64_t oldest = now;
      SB_RETURN_IF_ERROR(
          tx.Query("SELECT started_at FROM calls WHERE campaign_id = $1 AND caller_id = $2 AND "
                   "started_at > $3 ORDER BY started_at DESC LIMIT " +
                       std::to_string(w.limit),
                   {c.id.value(), caller.value(), now - w.length}, [&](const store::Row& r) {
                     oldest = r.Int(0);
                     return true;
                   }));
      out.retry_at = oldest + w.length;
      out.pace_limit = w.name;
      return out;
    }
  }
  // The first callable target in lease order (fewest passes, longest due,
  // lowest id): the better of the first free one and the first whose lease
  // lapsed. Each has its own partial index (schema v11), so neither query
  // steps over the targets other callers are working on.
  const std::string callable =
      " AND (m.consents & " + std::to_string(members::kConsentPhone) +
      ") <> 0 AND (m.suppressions & " + std::to_string(kNotCallable) +
      ") = 0 AND NOT EXISTS (SELECT 1 FROM canaries k WHERE k.member_id = m.id) AND EXISTS "
      "(SELECT 1 FROM contact_points p WHERE p.member_id = m.id AND p.kind = 'phone' AND "
      "p.valid = 1) ORDER BY t.passes, t.next_at, t.member_id LIMIT 1";
  struct Candidate {
    std::int64_t passes, next_at, member;
    bool operator<(const Candidate& o) const {
      return std::tie(passes, next_at, member) < std::tie(o.passes, o.next_at, o.member);
    }
  };
  std::optional<Candidate> best;
  auto consider = [&](const store::Row& r) {
    Candidate cand{r.Int(0), r.Int(1), r.Int(2)};
    if (!best || cand < *best) best = cand;
    return false;
  };
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT t.passes, t.next_at, t.member_id FROM campaign_targets t JOIN members m ON "
      "m.id = t.member_id WHERE t.campaign_id = $1 AND t.done = 0 AND t.leased_by IS NULL AND "
      "t.next_at <= $2" +
          callable,
      {c.id.value(), now}, consider));
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT t.passes, t.next_at, t.member_id FROM campaign_targets t JOIN members m ON "
      "m.id = t.member_id WHERE t.campaign_id = $1 AND t.done = 0 AND t.leased_by IS NOT NULL "
      "AND t.lease_expires <= $2 AND t.next_at <= $2" +
          callable,
      {c.id.value(), now}, consider));
  if (!best) return out;
  const MemberId pick(best->member);
  const Micros expires = now + kLeaseMicros;
  // The call row first, so that the lease can name it. A lease that loses
  // the race below fails this write, and the call row goes with it.
  SB_ASSIGN_OR_RETURN(
      std::int64_t call,
      tx.QueryInt("INSERT INTO calls (campaign_id, member_id, caller_id, connector, state, "
                  "started_at) VALUES ($1, $2, $3, 'none', 'leased', $4) RETURNING id",
                  {c.id.value(), pick.value(), caller.value(), now}));
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("UPDATE campaign_targets SET leased_by = $3, lease_expires = $4, lease_call = $6 "
              "WHERE campaign_id = $1 AND member_id = $2 AND (leased_by IS NULL OR "
              "lease_expires <= $5)",
              {c.id.value(), pick.value(), caller.value(), expires, now, call}));
  if (n != 1) return Status::Aborted("the member was leased concurrently; ask again");
  out.lease = Lease{pick, CallId(call), expires, false};
  return out;
}

Result<Contact> ContactFor(store::Tx& tx, const access::Decision& decision,
                           const members::OrgTree& tree, const Campaign& c, MemberId member,
                           Micros now) {
  if (!decision.allow || !decision.role ||
      !decision.role->capabilities.contains("phonebank.call")) {
    return Status::PermissionDenied(
        "reading a contact for a call needs an allow for "
        "phonebank.call");
  }
  Contact out;
  out.member = member;
  auto shown = [&](const char* f) {
    return std::find(c.fields.begin(), c.fields.end(), f) != c.fields.end();
  };
  bool found = false;
  std::string first_name;
  std::string unit_name;  // the member's unit, as e-mail's {{unit_name}}
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT first_name, joined_on, lapsed_on, branch_id, unit_id FROM members WHERE "
               "id = $1",
               {member.value()}, [&](const store::Row& r) {
                 found = true;
                 first_name = std::string(r.Text(0));
                 if (shown("membership_years") && !r.IsNull(1)) {
                   const std::int64_t until = r.IsNull(2) ? now / kMicrosPerDay : r.Int(2);
                   out.membership_years =
                       static_cast<int>(std::max<std::int64_t>(0, (until - r.Int(1)) / 365));
                 }
                 if (shown("branch") && !r.IsNull(3)) {
                   if (const members::Unit* u = tree.Find(UnitId(r.Int(3)))) out.branch = u->name;
                 }
                 if (shown("branch")) {
                   if (const members::Unit* u = tree.Find(UnitId(r.Int(4)))) unit_name = u->name;
                 }
                 return false;
               }));
  if (!found) return Status::NotFound("the member is no longer on the register");
  if (shown("first_name")) out.first_name = first_name;
  // Someone else shares the phone number (same blind index): say whom to
  // ask for. Whether anyone does, not how many: the first match ends it.
  SB_ASSIGN_OR_RETURN(
      std::int64_t sharing,
      tx.QueryInt("SELECT COUNT(*) FROM contact_points p WHERE p.member_id = $1 AND "
                  "p.kind = 'phone' AND p.valid = 1 AND EXISTS (SELECT 1 FROM contact_points o "
                  "WHERE o.blind_index = p.blind_index AND o.kind = 'phone' AND "
                  "o.member_id <> p.member_id)",
                  {member.value()}));
  if (sharing > 0) out.ask_for = first_name;
  out.script = ScriptFor(c, out.first_name.value_or(""), unit_name);
  return out;
}

std::string ScriptFor(const Campaign& c, std::string_view first_name, std::string_view unit_name) {
  // Text without a tag renders as itself: no template to compile on this
  // request's path (every Next).
  if (c.script.find("{{") == std::string::npos) return c.script;
  auto t = messaging::Template::Compile(c.script, messaging::BodyKind::kScript, "script");
  if (!t) return c.script;
  messaging::MergeValues v;
  v.first_name = std::string(first_name);
  v.unit_name = std::string(unit_name);
  return t->Render(v);
}

Result<MemberId> RecordOutcome(store::Tx& tx, const Campaign& c, AccountId caller,
                               std::string_view outcome, const std::string& answers_json,
                               Micros now) {
  if (std::find(OutcomeNames().begin(), OutcomeNames().end(), outcome) == OutcomeNames().end()) {
    return Status::InvalidArgument(
        "outcome: one of answered, no_answer, busy, voicemail, wrong_number, do_not_call, moved, "
        "deceased");
  }
  json answers = answers_json.empty() ? json::object() : ParseOrDiscarded(answers_json);
  if (!answers.is_object()) return Status::InvalidArgument("answers: must be an object");
  for (const auto& item : answers.items()) {
    const std::string k = item.key();
    const json& v = item.value();
    auto q = std::find_if(c.survey.begin(), c.survey.end(),
                          [&](const SurveyQuestion& s) { return s.id == k; });
    if (q == c.survey.end()) {
      return Status::InvalidArgument("answers." + k + ": not a question of this survey");
    }
    const bool ok =
        (q->type == "yesno" && v.is_boolean()) ||
        (q->type == "scale" && v.is_number_integer() && v.get<int>() >= 1 && v.get<int>() <= 5) ||
        (q->type == "text" && v.is_string() && v.get<std::string>().size() <= 1000) ||
        (q->type == "choice" && v.is_string() &&
         std::find(q->options.begin(), q->options.end(), v.get<std::string>()) != q->options.end());
    if (!ok) {
      return Status::InvalidArgument("answers." + k + ": expected " +
                                     (q->type == "yesno"    ? std::string("true or false")
                                      : q->type == "scale"  ? std::string("a whole number 1-5")
                                      : q->type == "choice" ? std::string("one of the options")
                                                            : std::string("text")));
    }
  }
  if (outcome != "answered" && !answers.empty()) {
    return Status::InvalidArgument("answers: only an answered call has survey answers");
  }
  SB_ASSIGN_OR_RETURN(auto held, CurrentLease(tx, c, caller, now));
  if (!held) {
    return Status::FailedPrecondition(
        "you hold no contact in this campaign (the lease may have expired); ask for the next one");
  }
  const MemberId m = held->member;
  const bool retry = outcome == "no_answer" || outcome == "busy" || outcome == "voicemail";
  // Done unless the outcome is worth another try and passes remain.
  SB_RETURN_IF_ERROR(
      tx.Exec("UPDATE campaign_targets SET passes = passes + 1, next_at = $3, done = CASE WHEN "
              "$4 = 0 OR passes + 1 >= $6 THEN 1 ELSE 0 END, last_outcome = $5, leased_by = NULL, "
              "lease_expires = NULL, lease_call = NULL WHERE campaign_id = $1 AND member_id = $2",
              {c.id.value(), m.value(),
               now + static_cast<Micros>(c.recall_minutes) * 60 * kMicrosPerSecond, retry ? 1 : 0,
               outcome, c.max_passes})
          .status());
  // The lease's call row gets the outcome.
  const std::int64_t call = held->call.value();
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE calls SET outcome = $2, answers = $3, recorded_at = $4, "
                             "state = CASE WHEN state = 'leased' THEN 'ended' ELSE state END "
                             "WHERE id = $1",
                             {call, outcome, answers.dump(), now})
                         .status());
  SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO contact_log (member_id, channel, campaign_id, outcome, "
                             "at) VALUES ($1, 'phone', $2, $3, $4)",
                             {m.value(), c.id.value(), outcome, now})
                         .status());
  std::uint32_t suppress = 0;
  if (outcome == "do_not_call") suppress = members::kNoPhone;
  if (outcome == "deceased") suppress = members::kDeceased;
  if (outcome == "moved") suppress = members::kMoved;
  if (suppress != 0) {
    SB_RETURN_IF_ERROR(
        members::AddSuppressions(tx, m, suppress, "phonebank:" + c.id.ToString(), now).status());
  }
  if (outcome == "wrong_number") {
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE contact_points SET valid = 0 WHERE member_id = $1 AND kind = 'phone'",
                {m.value()})
            .status());
  }
  return m;
}

}  // namespace switchboard::phonebank
