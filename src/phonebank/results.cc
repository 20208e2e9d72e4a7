// Results (phonebank.h, "results"): survey answers counted per question,
// unit and day, and calls per hour and day, in the organisation's time zone.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "phonebank/phonebank.h"
#include "phonebank/phonebank_internal.h"

namespace switchboard::phonebank {

namespace {

using json = nlohmann::json;

// The answers a question's results count, as their labels.
std::vector<std::string> OptionsOf(const SurveyQuestion& q) {
  if (q.type == "yesno") return {"yes", "no"};
  if (q.type == "scale") return {"1", "2", "3", "4", "5"};
  if (q.type == "choice") return q.options;
  return {};
}

// Which option `v` is for question `q` (-1: none, e.g. an answer recorded
// before the survey could hold it); free text counts as a response only.
int OptionIndex(const SurveyQuestion& q, const std::vector<std::string>& options, const json& v) {
  std::string label;
  if (q.type == "yesno" && v.is_boolean()) label = v.get<bool>() ? "yes" : "no";
  if (q.type == "scale" && v.is_number_integer()) label = std::to_string(v.get<std::int64_t>());
  if (q.type == "choice" && v.is_string()) label = v.get<std::string>();
  auto it = std::find(options.begin(), options.end(), label);
  return it == options.end() ? -1 : static_cast<int>(it - options.begin());
}

// Counts being gathered: responses and per option.
struct Tally {
  std::int64_t responses = 0;
  std::vector<std::int64_t> counts;
  void Add(size_t options, int option) {
    if (counts.size() < options) counts.resize(options, 0);
    ++responses;
    if (option >= 0) ++counts[option];
  }
  AnswerCounts Done(size_t options, bool breakdown) const {
    AnswerCounts out;
    out.responses = responses;
    if (breakdown && responses < kSmallCell) {
      out.withheld = true;
      return out;
    }
    out.counts = counts;
    out.counts.resize(options, 0);
    return out;
  }
};

// `t` on the organisation's wall clock, as if that were UTC.
Micros LocalMicros(const TimeZone& zone, Micros t) {
  return t + static_cast<Micros>(zone.OffsetSeconds(t)) * kMicrosPerSecond;
}

// The local day ("2026-03-02") and hour ("2026-03-02T10:00") of `t`.
std::pair<std::string, std::string> LocalBuckets(const TimeZone& zone, Micros t) {
  const std::string local = FormatTimestamp(LocalMicros(zone, t));
  return {local.substr(0, 10), local.substr(0, 13) + ":00"};
}

std::string Percent(std::int64_t n, std::int64_t of) {
  if (of <= 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", 100.0 * static_cast<double>(n) / static_cast<double>(of));
  return buf;
}

}  // namespace

Result<Results> CampaignResults(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                const TimeZone& zone) {
  Results out;
  std::map<std::string, TimeBucket> hours, days;
  std::map<std::string, std::int64_t> outcomes;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT outcome, recorded_at FROM calls WHERE campaign_id = $1 AND outcome IS NOT NULL",
      {c.id.value()}, [&](const store::Row& r) {
        const bool answered = r.Text(0) == "answered";
        ++outcomes[std::string(r.Text(0))];
        ++out.calls;
        out.answered += answered;
        const Micros local = LocalMicros(zone, r.Int(1));
        const auto [day, hour] = LocalBuckets(zone, r.Int(1));
        hours[hour].index = local / (3600 * kMicrosPerSecond);
        days[day].index = local / kMicrosPerDay;
        for (auto* b : {&hours[hour], &days[day]}) {
          ++b->calls;
          b->answered += answered;
        }
        return true;
      }));
  for (auto& [at, b] : hours) {
    b.at = at;
    out.by_hour.push_back(b);
  }
  for (auto& [at, b] : days) {
    b.at = at;
    out.by_day.push_back(b);
  }
  for (const auto& [k, v] : outcomes) out.by_outcome.emplace_back(k, v);

  // Each question: campaign-wide, per unit (by name) and per day.
  struct Gathering {
    std::vector<std::string> options;
    Tally total;
    std::map<std::string, Tally> units, days;
  };
  std::vector<Gathering> g(c.survey.size());
  for (size_t i = 0; i < c.survey.size(); ++i) g[i].options = OptionsOf(c.survey[i]);
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT k.answers, m.unit_id, k.recorded_at FROM calls k JOIN members m ON m.id = "
      "k.member_id WHERE k.campaign_id = $1 AND k.outcome = 'answered' AND k.answers IS NOT NULL",
      {c.id.value()}, [&](const store::Row& r) {
        const json answers = internal::ParseOrDiscarded(r.Text(0));
        if (!answers.is_object()) return true;
        const members::Unit* u = tree.Find(UnitId(r.Int(1)));
        const std::string unit = u ? u->name : "?";
        const std::string day = LocalBuckets(zone, r.Int(2)).first;
        for (size_t i = 0; i < c.survey.size(); ++i) {
          const SurveyQuestion& q = c.survey[i];
          auto it = answers.find(q.id);
          if (it == answers.end() || it->is_null()) continue;
          if (q.type == "text" && (!it->is_string() || it->get<std::string>().empty())) continue;
          const int option = OptionIndex(q, g[i].options, *it);
          if (q.type != "text" && option < 0) continue;
          const size_t n = g[i].options.size();
          g[i].total.Add(n, option);
          g[i].units[unit].Add(n, option);
          g[i].days[day].Add(n, option);
        }
        return true;
      }));
  for (size_t i = 0; i < c.survey.size(); ++i) {
    QuestionResult q;
    q.question = c.survey[i];
    q.options = g[i].options;
    const size_t n = q.options.size();
    q.total = g[i].total.Done(n, false);
    for (const auto& [unit, t] : g[i].units) q.by_unit.emplace_back(unit, t.Done(n, true));
    for (const auto& [day, t] : g[i].days) q.by_day.emplace_back(day, t.Done(n, true));
    out.questions.push_back(std::move(q));
  }
  return out;
}

std::string ResultsCsv(const Campaign& c, const Results& r) {
  std::string out;
  csv::AppendRow(&out, {"section", "question_id", "question", "breakdown", "group", "answer",
                        "count", "percent", "responses"});
  const std::string calls = std::to_string(r.calls);
  csv::AppendRow(&out, {"calls", "", "", "campaign", c.name, "all", calls, "", calls});
  for (const auto& [outcome, n] : r.by_outcome) {
    csv::AppendRow(&out, {"outcome", "", "", "campaign", c.name, outcome, std::to_string(n),
                          Percent(n, r.calls), calls});
  }
  for (const auto& b : r.by_day) {
    csv::AppendRow(&out, {"calls", "", "", "day", b.at, "all", std::to_string(b.calls), "",
                          std::to_string(b.calls)});
  }
  for (const auto& b : r.by_hour) {
    csv::AppendRow(&out, {"calls", "", "", "hour", b.at, "all", std::to_string(b.calls), "",
                          std::to_string(b.calls)});
  }
  for (const QuestionResult& q : r.questions) {
    auto rows = [&](std::string_view breakdown, const std::string& group, const AnswerCounts& a) {
      const std::string responses = std::to_string(a.responses);
      if (q.options.empty() || a.withheld) {
        csv::AppendRow(
            &out,
            {"survey", q.question.id, q.question.question, std::string(breakdown), group,
             a.withheld ? "(fewer than " + std::to_string(kSmallCell) + " responses: withheld)"
                        : "(responses)",
             "", "", responses});
        return;
      }
      for (size_t i = 0; i < q.options.size(); ++i) {
        const std::int64_t n = i < a.counts.size() ? a.counts[i] : 0;
        csv::AppendRow(&out,
                       {"survey", q.question.id, q.question.question, std::string(breakdown), group,
                        q.options[i], std::to_string(n), Percent(n, a.responses), responses});
      }
    };
    rows("campaign", c.name, q.total);
    for (const auto& [unit, a] : q.by_unit) rows("unit", unit, a);
    for (const auto& [day, a] : q.by_day) rows("day", day, a);
  }
  return out;
}

}  // namespace switchboard::phonebank
