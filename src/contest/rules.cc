// ContestRules: the contest overlay on the one decision point, and the
// messaging and phone-bank hooks (contests.h).
#include <algorithm>

#include "access/store/access_store.h"
#include "contest/contests.h"
#include "members/register.h"

namespace switchboard::contest {

std::string Compiled::CampaignOf(std::int64_t account, Micros t) const {
  if (auto it = candidate_of.find(account); it != candidate_of.end()) return it->second;
  if (auto it = leave.find(account); it != leave.end()) {
    for (const LeaveRecord& l : it->second) {
      if (l.from <= t && t < l.until) return l.candidate;
    }
  }
  return {};
}

namespace {

Result<std::shared_ptr<const Snapshot>> LoadSnapshot(store::Tx& tx, std::int64_t version) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  struct Row {
    std::int64_t id;
    std::string slug;
    int version;
    std::int64_t scope;
    Micros released_at;
    std::string text;
  };
  std::vector<Row> rows;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT c.id, c.slug, c.version, c.scope_unit, c.released_at, r.text FROM contests c "
      "JOIN contest_rulebooks r ON r.contest_id = c.id AND r.version = c.version ORDER BY c.id",
      {}, [&](const store::Row& r) {
        rows.push_back({r.Int(0), std::string(r.Text(1)), static_cast<int>(r.Int(2)), r.Int(3),
                        r.IntOr(4, 0), std::string(r.Text(5))});
        return true;
      }));
  for (Row& row : rows) {
    Compiled c;
    c.id = row.id;
    c.slug = row.slug;
    c.version = row.version;
    c.scope = UnitId(row.scope);
    c.released_at = row.released_at;
    auto rb = ParseRulebook(row.text, row.slug + ".toml");
    if (!rb) {
      return Status::Internal("the stored rulebook of contest " + row.slug +
                              " no longer parses: " + rb.error().message());
    }
    c.rb = std::move(*rb);
    std::vector<NameEntry> entries;
    for (const Candidate& cand : c.rb.candidates) {
      NameEntry e{cand.id, {cand.name}};
      e.names.insert(e.names.end(), cand.aliases.begin(), cand.aliases.end());
      entries.push_back(std::move(e));
    }
    SB_ASSIGN_OR_RETURN(NameMatcher names, NameMatcher::Build(entries));
    c.names = std::make_shared<const NameMatcher>(std::move(names));
    // Accounts by login; Load refused names that did not exist, and
    // accounts are never deleted.
    auto id_of = [&](const std::string& login) -> std::int64_t {
      auto a = access::FindAccount(tx, login);
      return a ? a->id.value() : 0;
    };
    for (const Candidate& cand : c.rb.candidates) {
      for (const std::string& login : cand.accounts) {
        if (std::int64_t id = id_of(login)) c.candidate_of[id] = cand.id;
      }
    }
    for (const std::string& login : c.rb.staff_accounts) {
      if (std::int64_t id = id_of(login)) c.staff.insert(id);
    }
    for (const LeaveRecord& l : c.rb.leave) {
      if (std::int64_t id = id_of(l.account)) c.leave[id].push_back(l);
    }
    c.returning_officer = id_of(c.rb.returning_officer);
    for (const std::string& login : c.rb.procedures_committee) {
      if (std::int64_t id = id_of(login)) c.committee.insert(id);
    }
    SB_RETURN_IF_ERROR(
        tx.Query("SELECT candidate, access_from FROM contest_candidates WHERE contest_id = $1",
                 {c.id}, [&](const store::Row& r) {
                   c.qualified.emplace(std::string(r.Text(0)), r.Int(1));
                   return true;
                 }));
    snap->contests.push_back(std::move(c));
  }
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

// Every candidate named in the texts, with where the first mention is.
struct Named {
  std::set<std::string> candidates;
  std::string first_name, first_field;
  int first_line = 0;
};

Result<Named> FindNames(const Compiled& c, const std::vector<access::PublicationText>& texts) {
  Named out;
  for (const auto& t : texts) {
    SB_ASSIGN_OR_RETURN(std::vector<NameMatch> found, c.names->Find(t.text));
    for (const NameMatch& m : found) {
      if (out.candidates.empty()) {
        out.first_name = m.name;
        out.first_field = t.field;
        out.first_line = m.line;
      }
      out.candidates.insert(m.candidate);
    }
  }
  return out;
}

std::vector<access::PublicationText> TextsOf(const messaging::Message& m) {
  return {{"subject", m.subject}, {"text_body", m.text_body}, {"html_body", m.html_body}};
}

// Names every qualifying candidate (and there are some): an official notice.
bool NamesAll(const Compiled& c, const Named& n) {
  if (c.qualified.empty()) return false;
  for (const auto& [cand, from] : c.qualified) {
    if (!n.candidates.count(cand)) return false;
  }
  return true;
}

std::string When(const Compiled& c, Micros t) {
  auto zone = TimeZone::Find(c.rb.time_zone);
  return zone ? zone->FormatLocal(t) : FormatTimestamp(t);
}

bool Publishes(std::string_view capability) {
  return capability == "message.draft" || capability == "message.approve" ||
         capability == "message.send" || capability == "phonebank.manage";
}

// Staff neutrality's refusal: which contest, which name where, what to do.
access::Decision NeutralityRefusal(const Compiled& c, const Named& named, std::string_view kind) {
  const Candidate* cand = c.rb.FindCandidate(*named.candidates.begin());
  access::Decision d;
  d.rule = "contest.neutrality";
  d.contest = c.id;
  d.deny_reason =
      "staff neutrality is in force in " + c.rb.name + " until the ballot closes (" +
      When(c, c.rb.timeline.ballot_close.at) + "): the " + std::string(kind) + " names candidate " +
      (cand ? cand->name : *named.candidates.begin()) + " (\"" + named.first_name + "\" in " +
      named.first_field + ", line " + std::to_string(named.first_line) +
      "). Staff may not draft, approve or send anything naming a candidate. Either take "
      "leave for that campaign (the returning officer records it in the rulebook), or ask "
      "the returning officer for an official notice that covers every qualifying "
      "candidate alike";
  return d;
}

// A candidate campaign's own campaign or message: made by one of its
// accounts, reaching only the consenting electorate.
bool OwnFacility(const Compiled& c, const std::string& candidate, const access::Facility& f) {
  auto owner = c.candidate_of.find(f.owner.value());
  if (owner == c.candidate_of.end() || owner->second != candidate) return false;
  if (!(f.consents_all & members::kConsentCandidates) || f.statuses.empty()) return false;
  for (const std::string& st : f.statuses) {
    if (std::find(c.rb.electorate_statuses.begin(), c.rb.electorate_statuses.end(), st) ==
        c.rb.electorate_statuses.end()) {
      return false;
    }
  }
  return f.joined_to && *f.joined_to <= c.rb.frozen_on + 1;
}

class ContestOverlay final : public access::Overlay {
 public:
  explicit ContestOverlay(std::shared_ptr<const Snapshot> snap) : snap_(std::move(snap)) {}

  bool ReadsContent(const access::Principal& who, Micros now) const override {
    for (const Compiled& c : snap_->contests) {
      if (!c.Live(now)) continue;
      const std::int64_t account = who.account.value();
      if (c.candidate_of.count(account) || c.IsStaff(account, who.staff)) return true;
    }
    return false;
  }

  std::optional<access::Decision> Check(const access::Principal& who, std::string_view capability,
                                        const access::Target& target, Micros now,
                                        const access::Decision& allow) const override {
    for (const Compiled& c : snap_->contests) {
      if (!c.Live(now)) continue;
      const std::int64_t account = who.account.value();
      if (auto it = c.candidate_of.find(account); it != c.candidate_of.end()) {
        const std::string source = "contest:" + std::to_string(c.id);
        const auto g = std::find_if(who.grants.begin(), who.grants.end(),
                                    [&](const access::Grant& x) { return x.id == allow.grant; });
        if (g != who.grants.end() && g->source == source && target.facility &&
            !OwnFacility(c, it->second, *target.facility)) {
          access::Decision d;
          d.rule = "contest.own_facility";
          d.contest = c.id;
          d.deny_reason = "during " + c.rb.name +
                          " a candidate campaign acts only on its own phone banks and messages, "
                          "which reach only the electorate who agreed to contact by candidates";
          return d;
        }
        if (g == who.grants.end() || g->source != source) {
          access::Decision d;
          d.rule = "contest.data_release";
          d.contest = c.id;
          const Candidate* cand = c.rb.FindCandidate(it->second);
          const std::string who_for = cand ? cand->name : it->second;
          if (now < c.rb.timeline.data_release.at) {
            d.deny_reason = "member data is closed to candidate campaigns in " + c.rb.name +
                            " until data release (" + When(c, c.rb.timeline.data_release.at) +
                            "); this account works for " + who_for;
          } else if (!c.qualified.count(it->second)) {
            d.deny_reason = who_for + " has not qualified in " + c.rb.name +
                            ", so their campaign has no access to member data";
          } else {
            d.deny_reason = "during " + c.rb.name +
                            " a candidate campaign reaches members only "
                            "through the contest's own grants, not through other grants or links";
          }
          return d;
        }
      }
      if (target.publication && Publishes(capability) && c.IsStaff(account, who.staff) &&
          c.CampaignOf(account, now).empty()) {
        auto named = FindNames(c, target.publication->texts);
        if (!named) {
          access::Decision d;
          d.rule = "contest.neutrality";
          d.contest = c.id;
          d.deny_reason =
              "the text could not be checked for candidate names: " + named.error().message();
          return d;
        }
        if (named->candidates.empty()) continue;
        if (target.publication->kind == "message" && NamesAll(c, *named)) continue;
        return NeutralityRefusal(c, *named, target.publication->kind);
      }
    }
    return std::nullopt;
  }

 private:
  std::shared_ptr<const Snapshot> snap_;
};

// A candidate campaign's audience: only the electorate who consented to
// contact by candidates.
Status Narrow(const Compiled& c, segment::Segment& s) {
  s.consents_all |= members::kConsentCandidates;
  std::vector<std::string> statuses;
  if (s.statuses.empty()) {
    statuses = c.rb.electorate_statuses;
  } else {
    for (const std::string& st : s.statuses) {
      if (std::find(c.rb.electorate_statuses.begin(), c.rb.electorate_statuses.end(), st) !=
          c.rb.electorate_statuses.end()) {
        statuses.push_back(st);
      }
    }
    if (statuses.empty()) {
      return Status::InvalidArgument("audience.statuses: none of these members may vote in " +
                                     c.rb.name + ", and a candidate campaign reaches only them");
    }
  }
  s.statuses = std::move(statuses);
  const std::int64_t frozen_to = c.rb.frozen_on + 1;  // joined_to is exclusive
  if (!s.joined_to || *s.joined_to > frozen_to) s.joined_to = frozen_to;
  return Status::Ok();
}

bool Narrowed(const Compiled& c, const segment::Segment& s) {
  if (!(s.consents_all & members::kConsentCandidates)) return false;
  if (s.statuses.empty()) return false;
  for (const std::string& st : s.statuses) {
    if (std::find(c.rb.electorate_statuses.begin(), c.rb.electorate_statuses.end(), st) ==
        c.rb.electorate_statuses.end()) {
      return false;
    }
  }
  return s.joined_to && *s.joined_to <= c.rb.frozen_on + 1;
}

}  // namespace

Result<std::shared_ptr<const Snapshot>> ContestRules::Current(store::Tx& tx) const {
  SB_ASSIGN_OR_RETURN(std::int64_t version,
                      tx.QueryInt("SELECT n FROM contest_version WHERE id = 1"));
  {
    MutexLock lock(mu_);
    if (cached_ && cached_->version == version) return cached_;
  }
  SB_ASSIGN_OR_RETURN(auto snap, LoadSnapshot(tx, version));
  MutexLock lock(mu_);
  if (!cached_ || cached_->version < version) cached_ = snap;
  return snap;
}

Result<std::vector<std::shared_ptr<const access::Overlay>>> ContestRules::InForce(
    store::Tx& tx, Micros now) const {
  SB_ASSIGN_OR_RETURN(auto snap, Current(tx));
  std::vector<std::shared_ptr<const access::Overlay>> out;
  for (const Compiled& c : snap->contests) {
    if (c.Live(now)) {
      out.push_back(std::make_shared<ContestOverlay>(snap));
      break;
    }
  }
  return out;
}

namespace {

Status CheckStatement(const Compiled& c, const members::OrgTree& tree, const messaging::Message& m,
                      int* words) {
  *words = -1;
  if (m.kind != messaging::Kind::kEndorsement || !tree.IsWithin(m.scope, c.scope)) {
    return Status::Ok();
  }
  if (!m.html_body.empty()) {
    return Status::InvalidArgument(
        "html_body: during " + c.rb.name +
        " an endorsement is a plain-text statement; leave the HTML body empty");
  }
  SB_ASSIGN_OR_RETURN(*words, CountWords(m.text_body));
  if (*words > c.rb.word_limit) {
    return Status::InvalidArgument(
        "text_body: the statement has " + std::to_string(*words) + " words; " + c.rb.name +
        " allows " + std::to_string(c.rb.word_limit) + " (" + std::to_string(*words) + " / " +
        std::to_string(c.rb.word_limit) + " words, counted as docs/contests.md says)");
  }
  return Status::Ok();
}

}  // namespace

Status ContestRules::Shape(store::Tx& tx, const access::Acting& who, messaging::Message& m) const {
  SB_ASSIGN_OR_RETURN(auto snap, Current(tx));
  for (const Compiled& c : snap->contests) {
    if (!c.Live(who.now)) continue;
    if (!c.CampaignOf(who.account.value(), who.now).empty()) {
      SB_RETURN_IF_ERROR(Narrow(c, m.audience));
    }
    int words = 0;
    SB_RETURN_IF_ERROR(CheckStatement(c, tree_, m, &words));
  }
  return Status::Ok();
}

std::vector<messaging::RuleCheck> ContestRules::Check(store::Tx& tx, const messaging::Message& m,
                                                      AccountId sender, bool sender_is_staff,
                                                      Micros now) const {
  std::vector<messaging::RuleCheck> out;
  auto snap = Current(tx);
  if (!snap) {
    out.push_back({"contest.rules", false, "the contest rules could not be read"});
    return out;
  }
  for (const Compiled& c : (*snap)->contests) {
    if (!c.Live(now)) continue;
    int words = 0;
    Status st = CheckStatement(c, tree_, m, &words);
    if (!st.ok()) {
      out.push_back({"contest.statement", false, st.message()});
    } else if (words >= 0) {
      out.push_back({"contest.statement", true,
                     std::to_string(words) + " / " + std::to_string(c.rb.word_limit) + " words"});
    }
    if (!c.CampaignOf(sender.value(), now).empty()) {
      const bool ok = Narrowed(c, m.audience);
      out.push_back({"contest.electorate", ok,
                     ok ? "only members of the electorate who agreed to contact by candidates"
                        : "a candidate campaign's audience must be the contest's consenting "
                          "electorate; save the draft again to apply it"});
    } else if (c.IsStaff(sender.value(), sender_is_staff)) {
      auto named = FindNames(c, TextsOf(m));
      if (!named) {
        out.push_back({"contest.neutrality", false, named.error().message()});
        continue;
      }
      if (named->candidates.empty()) continue;
      auto approvals = messaging::CurrentApprovals(tx, m);
      const bool ok =
          approvals &&
          std::any_of(approvals->begin(), approvals->end(), [&](const messaging::Approval& a) {
            return a.kind == messaging::ApprovalKind::kSecond &&
                   a.account.value() == c.returning_officer;
          });
      out.push_back(
          {"contest.official_notice", ok,
           ok ? "an official notice of " + c.rb.name + ", approved by the returning officer"
              : "it names candidates in " + c.rb.name +
                    ": only an official notice approved by the returning officer may "
                    "be sent by staff"});
    }
  }
  return out;
}

std::string ContestRules::SecondApprovalReason(store::Tx& tx, const messaging::Message& m,
                                               AccountId sender, bool sender_is_staff,
                                               Micros now) const {
  auto snap = Current(tx);
  if (!snap) return "the contest rules could not be read";
  for (const Compiled& c : (*snap)->contests) {
    if (!c.Live(now) || !c.IsStaff(sender.value(), sender_is_staff) ||
        !c.CampaignOf(sender.value(), now).empty()) {
      continue;
    }
    auto named = FindNames(c, TextsOf(m));
    if (named && !named->candidates.empty()) {
      return "an official notice of " + c.rb.name + ": the returning officer approves it";
    }
  }
  return {};
}

Status ContestRules::Sent(store::Tx& tx, const access::Acting& who, const messaging::Message& m,
                          std::int64_t recipients) const {
  SB_ASSIGN_OR_RETURN(auto snap, Current(tx));
  const std::string ref = "message:" + std::to_string(m.id.value());
  for (const Compiled& c : snap->contests) {
    if (!c.Live(who.now)) continue;
    const std::string cand = c.CampaignOf(who.account.value(), who.now);
    if (!cand.empty()) {
      SB_RETURN_IF_ERROR(RecordUse(tx, c, who, cand, "mailing", recipients, ref));
    } else if (c.IsStaff(who.account.value(), who.staff)) {
      SB_ASSIGN_OR_RETURN(Named named, FindNames(c, TextsOf(m)));
      if (!named.candidates.empty()) {
        SB_RETURN_IF_ERROR(RecordUse(tx, c, who, "*", "notice", recipients, ref));
      }
    }
  }
  return Status::Ok();
}

std::optional<access::Decision> ContestRules::OwnApproval(store::Tx& tx, const access::Acting& who,
                                                          const messaging::Message& m) const {
  auto snap = Current(tx);
  if (!snap) {
    access::Decision d;
    d.rule = "contest.rules";
    d.deny_reason = "the contest rules could not be read";
    return d;
  }
  for (const Compiled& c : (*snap)->contests) {
    if (!c.Live(who.now) || !c.IsStaff(who.account.value(), who.staff) ||
        !c.CampaignOf(who.account.value(), who.now).empty()) {
      continue;
    }
    auto named = FindNames(c, TextsOf(m));
    if (!named) {
      access::Decision d;
      d.rule = "contest.neutrality";
      d.contest = c.id;
      d.deny_reason = "the text could not be checked for candidate names";
      return d;
    }
    if (named->candidates.empty() || NamesAll(c, *named)) continue;
    return NeutralityRefusal(c, *named, "message");
  }
  return std::nullopt;
}

Status ContestRules::Shape(store::Tx& tx, const access::Acting& who,
                           phonebank::Campaign& campaign) const {
  SB_ASSIGN_OR_RETURN(auto snap, Current(tx));
  for (const Compiled& c : snap->contests) {
    if (!c.Live(who.now) || c.CampaignOf(who.account.value(), who.now).empty()) continue;
    SB_RETURN_IF_ERROR(Narrow(c, campaign.audience));
    const Micros close = c.rb.timeline.ballot_close.at;
    if (campaign.ends_at == 0 || campaign.ends_at > close) campaign.ends_at = close;
  }
  return Status::Ok();
}

Status ContestRules::Launched(store::Tx& tx, const access::Acting& who,
                              const phonebank::Campaign& campaign, std::int64_t targets) const {
  SB_ASSIGN_OR_RETURN(auto snap, Current(tx));
  for (const Compiled& c : snap->contests) {
    if (!c.Live(who.now)) continue;
    const std::string cand = c.CampaignOf(who.account.value(), who.now);
    if (cand.empty()) continue;
    SB_RETURN_IF_ERROR(RecordUse(tx, c, who, cand, "phonebank", targets,
                                 "campaign:" + std::to_string(campaign.id.value())));
  }
  return Status::Ok();
}

}  // namespace switchboard::contest
