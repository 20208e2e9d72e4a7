// Contest routes (RULEBOOK §8): each parses, calls one operation of
// contest/contests.h in the request's transaction (Api::Act) and renders.
// Loading, amending and nominating need contest.manage; reading a contest
// needs to be bound by it (returning officer, procedures committee, a
// candidate's campaign, staff under its neutrality) or to hold
// contest.manage; its standing, nominations and ledger are for the first
// three and managers.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "contest/contests.h"
#include "contest/rulebook.h"
#include "messaging/messaging.h"
#include "phonebank/phonebank.h"
#include "server/api.h"
#include "server/api_internal.h"
#include "server/api_routes.h"

namespace switchboard::server {

using namespace api_internal;  // NOLINT(build/namespaces)

namespace {

constexpr size_t kRulebookMaxBytes = 256 * 1024;

json Instant(const contest::Rulebook& rb, Micros t) {
  json j{{"at", FormatTimestamp(t)}};
  if (auto zone = TimeZone::Find(rb.time_zone)) j["local"] = zone->FormatLocal(t);
  return j;
}

json ContestJson(const contest::Compiled& c, const std::vector<std::string>& parts, Micros now) {
  const contest::Rulebook& rb = c.rb;
  const contest::Timeline& t = rb.timeline;
  json candidates = json::array();
  for (const contest::Candidate& cand : rb.candidates) {
    json j{{"id", cand.id}, {"name", cand.name}, {"aliases", cand.aliases}};
    auto it = c.qualified.find(cand.id);
    j["released"] = it != c.qualified.end();
    if (it != c.qualified.end()) j["access_from"] = FormatTimestamp(it->second);
    candidates.push_back(j);
  }
  return {{"id", c.id},
          {"slug", c.slug},
          {"name", rb.name},
          {"version", c.version},
          {"sha256", rb.sha256},
          {"phase", contest::PhaseName(rb.PhaseAt(now))},
          {"now", FormatTimestamp(now)},
          {"time_zone", rb.time_zone},
          {"timeline",
           {{"announced", Instant(rb, t.announced.at)},
            {"nominations_open", Instant(rb, t.nominations_open.at)},
            {"nominations_close", Instant(rb, t.nominations_close.at)},
            {"data_release", Instant(rb, t.data_release.at)},
            {"ballot_open", Instant(rb, t.ballot_open.at)},
            {"ballot_close", Instant(rb, t.ballot_close.at)}}},
          {"neutrality_in_force", rb.NeutralityAt(now)},
          {"released_at", c.released_at ? json(FormatTimestamp(c.released_at)) : json()},
          {"candidates", candidates},
          {"word_limit", rb.word_limit},
          {"counting", rb.counting},
          {"exports", rb.receive == contest::Receive::kWatermarkedExports ? "watermarked" : "none"},
          {"your_parts", parts}};
}

json SummaryJson(const contest::ContestSummary& s) {
  return {{"id", s.id},
          {"slug", s.slug},
          {"name", s.name},
          {"version", s.version},
          {"sha256", s.sha256},
          {"phase", contest::PhaseName(s.phase)},
          {"released_at", s.released_at ? json(FormatTimestamp(s.released_at)) : json()}};
}

json LedgerJson(const contest::LedgerEntry& e) {
  json j{{"id", e.id},       {"at", FormatTimestamp(e.at)}, {"candidate", e.candidate},
         {"entry", e.entry}, {"facility", e.facility},      {"size", e.size},
         {"ref", e.ref}};
  if (e.matches) j["matches"] = e.matches;
  if (e.entry == "entitlement") {
    j["used"] = e.used_at != 0;
    if (e.used_at) {
      j["used_at"] = FormatTimestamp(e.used_at);
      j["used_ref"] = e.used_ref;
    }
  }
  if (e.account) j["account"] = e.account;
  return j;
}

Result<std::int64_t> ContestId(const ApiCall& call) {
  return ParseId(call.req.params.at("id"), "the contest id");
}

Result<std::string> RulebookField(const json& body) {
  return StringField(body, "rulebook", true, kRulebookMaxBytes);
}

std::string SourceName(const json& body) {
  auto name = StringField(body, "file_name", false, 200);
  return name && !name->empty() ? *name : "rulebook.toml";
}

}  // namespace

void Api::AddContestHandlers() {
  handlers_["contests.list"] = [this](const ApiCall& c) { return ListContests(c); };
  handlers_["contests.check"] = [this](const ApiCall& c) { return CheckRulebook(c); };
  handlers_["contests.load"] = [this](const ApiCall& c) { return LoadContest(c); };
  handlers_["contests.get"] = [this](const ApiCall& c) { return GetContest(c); };
  handlers_["contests.rulebook"] = [this](const ApiCall& c) { return ContestRulebook(c); };
  handlers_["contests.amend"] = [this](const ApiCall& c) { return AmendContest(c); };
  handlers_["contests.approve_amendment"] = [this](const ApiCall& c) {
    return ApproveContestAmendment(c);
  };
  handlers_["contests.standing"] = [this](const ApiCall& c) { return ContestStanding(c); };
  handlers_["contests.nominate"] = [this](const ApiCall& c) { return Nominate(c); };
  handlers_["contests.ledger"] = [this](const ApiCall& c) { return ContestLedger(c); };
}

bool Api::ContestManager(const ApiCall& call) const {
  return !access::ScopesHolding(*deps_.policy, call.session->principal(), "contest.manage",
                                call.now)
              .empty();
}

HttpResponse Api::ListContests(const ApiCall& call) {
  json out = json::array();
  const bool manager = ContestManager(call);
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        out = json::array();
        SB_ASSIGN_OR_RETURN(auto list, contests_->Visible(tx, who, manager));
        for (const auto& [c, parts] : list) out.push_back(ContestJson(c, parts, who.now));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"contests", out}, {"manager", manager}});
      });
}

HttpResponse Api::CheckRulebook(const ApiCall& call) {
  json out;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(std::string text, RulebookField(call.body));
        auto rb = contests_->Validate(tx, text, SourceName(call.body));
        if (!rb) {
          if (rb.error().code() != StatusCode::kInvalidArgument) return rb.error();
          out = {{"valid", false}, {"error", rb.error().message()}};
          return Status::Ok();
        }
        out = {{"valid", true},
               {"sha256", rb->sha256},
               {"rulebook", json::parse(contest::RulebookJson(*rb))}};
        return Status::Ok();
      },
      [&](const Status&) { return Json(200, out); });
}

HttpResponse Api::LoadContest(const ApiCall& call) {
  contest::ContestSummary s;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::string text, RulebookField(call.body));
        SB_ASSIGN_OR_RETURN(s, contests_->Load(tx, who, text, SourceName(call.body)));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(201, {{"contest", SummaryJson(s)}});
      });
}

HttpResponse Api::GetContest(const ApiCall& call) {
  json out;
  const bool manager = ContestManager(call);
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(
            auto seen,
            contests_->View(tx, who, id, manager, contest::ContestOperations::Viewing::kBound));
        const auto& [c, parts] = seen;
        out = ContestJson(c, parts, who.now);
        out["may_read_ledger"] = contest::MayRead(c, who.account.value(), manager);
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"contest", out}});
      });
}

HttpResponse Api::ContestRulebook(const ApiCall& call) {
  json out;
  const bool manager = ContestManager(call);
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(
            auto seen,
            contests_->View(tx, who, id, manager, contest::ContestOperations::Viewing::kBound));
        const contest::Compiled& c = seen.first;
        int version = 0;
        if (const std::string v = QueryParam(call.req, "version"); !v.empty()) {
          SB_ASSIGN_OR_RETURN(std::int64_t n, ParseId(v, "the query parameter \"version\""));
          version = static_cast<int>(std::min<std::int64_t>(n, 1'000'000));
        }
        SB_ASSIGN_OR_RETURN(auto stored, contests_->RulebookText(tx, c.slug, version));
        out = {{"version", stored.version},
               {"in_force", stored.version == c.version},
               {"text", stored.text},
               {"sha256", stored.sha256}};
        return Status::Ok();
      },
      [&](const Status&) { return Json(200, out); });
}

HttpResponse Api::AmendContest(const ApiCall& call) {
  std::pair<int, bool> result;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(contest::Compiled c, contests_->GetById(tx, id));
        SB_ASSIGN_OR_RETURN(std::string text, RulebookField(call.body));
        SB_ASSIGN_OR_RETURN(result, contests_->Amend(tx, who, c.slug, text, SourceName(call.body)));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200,
                    {{"version", result.first},
                     {"in_force", result.second},
                     {"waiting_for",
                      result.second ? json() : json("a second approver with contest.manage")}});
      });
}

HttpResponse Api::ApproveContestAmendment(const ApiCall& call) {
  int version = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(contest::Compiled c, contests_->GetById(tx, id));
        if (!call.body.contains("version") || !call.body["version"].is_number_integer()) {
          return Status::InvalidArgument("version: the version number to approve");
        }
        const std::int64_t v = call.body["version"].get<std::int64_t>();
        if (v <= 0 || v > 1'000'000) return Status::InvalidArgument("version: out of range");
        version = static_cast<int>(v);
        return contests_->ApproveAmendment(tx, who, c.slug, version);
      },
      [&](const Status&) {
        return Json(200, {{"version", version}, {"in_force", true}});
      });
}

HttpResponse Api::ContestStanding(const ApiCall& call) {
  json out;
  const bool manager = ContestManager(call);
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(
            auto seen,
            contests_->View(tx, who, id, manager, contest::ContestOperations::Viewing::kReader));
        const contest::Compiled& c = seen.first;
        SB_ASSIGN_OR_RETURN(contest::Standing s, contests_->StandingOf(tx, c.slug, who.now));
        SB_ASSIGN_OR_RETURN(auto noms, contests_->Nominations(tx, c.slug));
        json candidates = json::array();
        for (const auto& cs : s.candidates) {
          json clauses = json::array();
          for (const auto& cl : cs.qualification.clauses) {
            clauses.push_back({{"text", cl.text},
                               {"met", cl.met},
                               {"have", cl.have},
                               {"need", cl.need},
                               {"of", cl.of}});
          }
          candidates.push_back(
              {{"candidate", cs.candidate},
               {"name", cs.name},
               {"qualified", cs.qualification.qualified},
               {"explanation", cs.qualification.explanation},
               {"clauses", clauses},
               {"nominations", cs.nominations},
               {"qualified_at", cs.qualified_at ? json(FormatTimestamp(cs.qualified_at)) : json()},
               {"access_from", cs.access_from ? json(FormatTimestamp(cs.access_from)) : json()}});
        }
        json nominations = json::array();
        for (const auto& n : noms) {
          nominations.push_back({{"id", n.id},
                                 {"body", n.body},
                                 {"nominator", n.nominator},
                                 {"candidate", n.candidate},
                                 {"decided_by", n.decided_by},
                                 {"meeting_on", IsoDay(n.meeting_on)},
                                 {"votes_for", n.votes_for},
                                 {"votes_against", n.votes_against},
                                 {"votes_abstaining", n.votes_abstaining},
                                 {"recorded_at", FormatTimestamp(n.recorded_at)}});
        }
        json bodies = json::array();
        for (const contest::Body& b : c.rb.bodies) {
          json j{{"id", b.id}, {"label", b.label}, {"kind", contest::BodyKindName(b.kind)}};
          if (b.kind == contest::BodyKind::kPeople) j["size"] = b.size;
          if (b.kind == contest::BodyKind::kUnits) {
            j["unit_kind"] = b.unit_kind;
            j["size"] = s.unit_counts.count(b.id) ? s.unit_counts.at(b.id) : 0;
          }
          if (b.kind == contest::BodyKind::kAffiliates) {
            json affs = json::array();
            for (const auto& a : b.affiliates) {
              affs.push_back({{"id", a.id},
                              {"name", a.name},
                              {"trade_union", a.trade_union},
                              {"membership", a.membership}});
            }
            j["affiliates"] = affs;
            j["size"] = b.affiliates.size();
          }
          bodies.push_back(j);
        }
        out = {{"contest", SummaryJson(s.contest)},
               {"qualification", c.rb.qualification},
               {"bodies", bodies},
               {"candidates", candidates},
               {"nominations", nominations}};
        return Status::Ok();
      },
      [&](const Status&) { return Json(200, out); });
}

HttpResponse Api::Nominate(const ApiCall& call) {
  contest::Nomination n;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(contest::Compiled c, contests_->GetById(tx, id));
        contest::NominationInput in;
        SB_ASSIGN_OR_RETURN(in.body, StringField(call.body, "body", true, 32));
        SB_ASSIGN_OR_RETURN(in.nominator, StringField(call.body, "nominator", true, 64));
        SB_ASSIGN_OR_RETURN(in.candidate, StringField(call.body, "candidate", true, 32));
        SB_ASSIGN_OR_RETURN(in.decided_by, StringField(call.body, "decided_by", true, 100));
        SB_ASSIGN_OR_RETURN(std::string day, StringField(call.body, "meeting_on", true, 10));
        auto parsed = ParseDate(day);
        if (!parsed) return Status::InvalidArgument("meeting_on: a date, YYYY-MM-DD");
        in.meeting_on = *parsed;
        for (auto [key, out] :
             {std::pair{"votes_for", &in.votes_for}, std::pair{"votes_against", &in.votes_against},
              std::pair{"votes_abstaining", &in.votes_abstaining}}) {
          if (!call.body.contains(key)) continue;
          if (!call.body[key].is_number_integer()) {
            return Status::InvalidArgument(std::string(key) + ": a whole number");
          }
          *out = call.body[key].get<std::int64_t>();
        }
        SB_ASSIGN_OR_RETURN(n, contests_->Nominate(tx, who, c.slug, in));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(201, {{"nomination", {{"id", n.id}}}});
      });
}

HttpResponse Api::ContestLedger(const ApiCall& call) {
  json out = json::array();
  const bool manager = ContestManager(call);
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        out = json::array();
        SB_ASSIGN_OR_RETURN(std::int64_t id, ContestId(call));
        SB_ASSIGN_OR_RETURN(contest::Compiled c, contests_->GetById(tx, id));
        SB_ASSIGN_OR_RETURN(auto entries, contests_->Ledger(tx, who, c.slug, manager));
        for (const auto& e : entries) out.push_back(LedgerJson(e));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, {{"ledger", out}});
      });
}

std::function<Result<access::Publication>(store::Tx&)> Api::PublicationFor(
    const ApiCall& call) const {
  const std::string_view route = call.route.id;
  // The text fields a body sets, over what is stored.
  auto from_body = [body = call.body](std::vector<access::PublicationText>& texts,
                                      std::initializer_list<const char*> keys) {
    for (const char* key : keys) {
      auto it = body.find(key);
      if (it == body.end() || !it->is_string()) continue;
      auto same = std::find_if(texts.begin(), texts.end(),
                               [&](const access::PublicationText& t) { return t.field == key; });
      if (same != texts.end()) {
        same->text = it->get<std::string>();
      } else {
        texts.push_back({key, it->get<std::string>()});
      }
    }
  };
  const std::int64_t id = call.target_id;
  const members::OrgTree* tree = deps_.tree;
  if (route == "messages.create" || route == "messages.update" || route == "messages.approve" ||
      route == "messages.send") {
    const bool stored = route != "messages.create";
    const bool edits = route == "messages.create" || route == "messages.update";
    return [=](store::Tx& tx) -> Result<access::Publication> {
      access::Publication p{"message", {}};
      if (stored) {
        SB_ASSIGN_OR_RETURN(messaging::Message m,
                            messaging::GetMessage(tx, *tree, messaging::MessageId(id)));
        p.texts = {{"subject", m.subject}, {"text_body", m.text_body}, {"html_body", m.html_body}};
      }
      if (edits) from_body(p.texts, {"subject", "text_body", "html_body"});
      return p;
    };
  }
  if (route == "campaigns.create" || route == "campaigns.update") {
    const bool stored = route == "campaigns.update";
    return [=](store::Tx& tx) -> Result<access::Publication> {
      access::Publication p{"script", {}};
      if (stored) {
        SB_ASSIGN_OR_RETURN(phonebank::Campaign c,
                            phonebank::GetCampaign(tx, *tree, phonebank::CampaignId(id)));
        p.texts = {{"name", c.name}, {"script", c.script}};
      }
      from_body(p.texts, {"name", "script"});
      return p;
    };
  }
  return {};
}

std::function<Result<access::Facility>(store::Tx&)> Api::FacilityFor(const ApiCall& call) const {
  const std::int64_t id = call.target_id;
  const members::OrgTree* tree = deps_.tree;
  auto from = [](std::string kind, AccountId owner, const segment::Segment& s) {
    access::Facility f;
    f.kind = std::move(kind);
    f.owner = owner;
    f.consents_all = s.consents_all;
    f.statuses = s.statuses;
    f.joined_to = s.joined_to;
    return f;
  };
  switch (call.route.target) {
    case RouteTarget::kCampaignPath:
      return [=](store::Tx& tx) -> Result<access::Facility> {
        SB_ASSIGN_OR_RETURN(phonebank::Campaign c,
                            phonebank::GetCampaign(tx, *tree, phonebank::CampaignId(id)));
        return from("campaign", c.owner, c.audience);
      };
    case RouteTarget::kMessagePath:
      return [=](store::Tx& tx) -> Result<access::Facility> {
        SB_ASSIGN_OR_RETURN(messaging::Message m,
                            messaging::GetMessage(tx, *tree, messaging::MessageId(id)));
        return from("message", m.author, m.audience);
      };
    default:
      return {};
  }
}

}  // namespace switchboard::server
