#include "privacy/sar.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/text.h"

namespace switchboard::privacy {

namespace {

using json = nlohmann::json;

std::string Day(std::int64_t days) { return FormatTimestamp(days * kMicrosPerDay).substr(0, 10); }

std::string UnitName(const members::OrgTree& tree, UnitId id) {
  const members::Unit* u = tree.Find(id);
  return u ? u->name : std::string();
}

json UnitJson(const members::OrgTree& tree, UnitId id) {
  if (!id.valid()) return nullptr;
  const members::Unit* u = tree.Find(id);
  if (!u) return json{{"id", id.value()}};
  return json{{"id", id.value()}, {"code", u->code}, {"name", u->name}};
}

}  // namespace

Result<Report> BuildReport(store::Tx& tx, const crypto::Sealer& sealer, MemberId member,
                           Micros now) {
  Report r;
  r.generated_at = now;
  SB_ASSIGN_OR_RETURN(r.member, members::HeldAbout(tx, sealer, member));
  SB_ASSIGN_OR_RETURN(r.mail, messaging::HeldAbout(tx, member));
  SB_ASSIGN_OR_RETURN(r.calls, phonebank::HeldAbout(tx, member));
  SB_ASSIGN_OR_RETURN(r.access, access::HeldAbout(tx, member, now));

  audit::QueryFilter f;
  f.member = member.value();
  f.limit = 1'000'000;
  SB_ASSIGN_OR_RETURN(std::vector<audit::Event> events, audit::AuditLog::Query(tx, f));
  std::vector<std::int64_t> grant_ids;
  std::set<std::int64_t> actors;
  for (const audit::Event& e : events) {
    if (e.grant_id) grant_ids.push_back(*e.grant_id);
    if (e.actor) actors.insert(*e.actor);
  }
  SB_ASSIGN_OR_RETURN(std::vector<access::Grant> grants, access::GrantsByIds(tx, grant_ids));
  std::map<std::int64_t, const access::Grant*> by_id;
  for (const access::Grant& g : grants) by_id[g.id.value()] = &g;
  std::map<std::int64_t, std::string> names;
  for (std::int64_t a : actors) {
    auto acc = access::GetAccount(tx, AccountId(a));
    if (acc) names[a] = acc->display_name;
  }
  std::set<std::int64_t> own_accounts;
  for (const auto& a : r.access.accounts) own_accounts.insert(a.id.value());
  std::map<std::int64_t, std::string> campaign_purpose;
  for (const auto& t : r.calls.targets) campaign_purpose[t.campaign] = t.purpose;

  for (const audit::Event& e : events) {
    AuditEntry a;
    a.seq = e.seq;
    a.at = e.at;
    a.action = e.action;
    a.decision = e.decision;
    a.rule = e.rule;
    a.actor = e.actor;
    if (e.actor) {
      a.actor_name = names[*e.actor];
      a.actor_is_member = own_accounts.contains(*e.actor);
    } else if (e.rule == "self") {
      a.actor_is_member = true;  // the member, through their own link
    }
    if (e.grant_id) {
      if (auto it = by_id.find(*e.grant_id); it != by_id.end()) {
        a.role = it->second->role;
        a.unit = it->second->scope;
        a.purpose = it->second->purpose;
      }
    }
    a.campaign = e.campaign;
    if (e.campaign) {
      if (auto it = campaign_purpose.find(*e.campaign); it != campaign_purpose.end()) {
        a.purpose = it->second;
      }
    }
    a.message = e.message;
    a.field_classes = e.field_classes;
    a.client = e.client;
    a.with_others = e.members.size() > 1;
    r.audit.push_back(std::move(a));
  }
  SB_ASSIGN_OR_RETURN(r.checkpoint, audit::AuditLog::NewestCheckpoint(tx));
  if (r.checkpoint) {
    r.checkpoint_size = static_cast<std::int64_t>(r.checkpoint->checkpoint.tree_size);
    r.checkpoint_at = r.checkpoint->checkpoint.time;
  }
  for (size_t i = 0; i < r.audit.size(); ++i) {
    AuditEntry& a = r.audit[i];
    if (a.seq < r.checkpoint_size && !a.with_others) a.body = audit::Encode(events[i]);
  }
  return r;
}

Status AddProofs(store::Store& store, Report& r) {
  if (r.audit.empty() || r.audit.front().seq >= r.checkpoint_size) return Status::Ok();
  // One read of the leaves for every proof: thousands of events cost about
  // what one proof does.
  return store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(audit::ProofIndex tree, audit::AuditLog::LoadTree(tx, r.checkpoint_size));
    const auto size = static_cast<std::uint64_t>(r.checkpoint_size);
    for (AuditEntry& a : r.audit) {
      if (a.seq >= r.checkpoint_size) break;
      const auto seq = static_cast<std::uint64_t>(a.seq);
      a.leaf_hash = tree.leaf(seq);
      SB_ASSIGN_OR_RETURN(a.proof, tree.Inclusion(seq, size));
      a.provable = true;
    }
    return Status::Ok();
  });
}

Result<Report> SubjectAccess(store::Tx& tx, const crypto::Sealer& sealer, const access::Acting& who,
                             MemberId member) {
  SB_ASSIGN_OR_RETURN(Report r, BuildReport(tx, sealer, member, who.now));
  audit::Event e = who.Allow("privacy.sar");
  e.members = {member.value()};
  e.field_classes = {"name", "membership", "location", "contact", "notes"};
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
  return r;
}

std::string DescribeAction(std::string_view action) {
  static const std::map<std::string, std::string, std::less<>> kWords = {
      {"member.view", "looked at your record"},
      {"member.read", "looked at your record"},
      {"member.search", "saw your name in a page of search results"},
      {"member.contact.view", "opened your e-mail address and phone numbers"},
      {"member.edit", "changed your record"},
      {"member.update", "updated your record"},
      {"member.export", "included you in an export of the register"},
      {"member.import.add", "added you to the register from an import"},
      {"member.import.update", "updated your record from an import"},
      {"member.generate", "created this synthetic record"},
      {"member.preferences", "changed your consents"},
      {"member.preferences.view", "looked at your consents"},
      {"member.suppress", "recorded that you must not be contacted in some way"},
      {"member.unsubscribe", "unsubscribed you from e-mail"},
      {"phonebank.next", "was given you to call in a phone bank"},
      {"phonebank.connect", "rang you from a phone bank"},
      {"phonebank.outcome", "recorded how a phone-bank call to you went"},
      {"phonebank.call", "tried to call you in a phone bank"},
      {"message.send", "sent you an e-mail"},
      {"message.deliver", "handed an e-mail for you to the mail relay"},
      {"message.preview", "previewed an e-mail as you would get it"},
      {"audit.query", "searched the record of who saw your data"},
      {"privacy.sar", "produced a copy of everything we hold about you"},
      {"privacy.erase", "erased your personal data"},
      {"signup.member", "asked for a sign-up link for you"},
      {"account_link.complete", "used a one-time link sent to you"},
  };
  if (auto it = kWords.find(action); it != kWords.end()) return it->second;
  return "did \"" + std::string(action) + "\"";
}

json ReportJson(const Report& r, const members::OrgTree& tree, const RenderOptions& o) {
  const bool dpo = o.audience == Audience::kDpo;
  const members::HeldMember& m = r.member;
  json member{{"id", m.id.value()},
              {"first_name", m.first_name},
              {"last_name", m.last_name},
              {"status", m.status},
              {"membership_type", m.membership_type},
              {"unit", UnitJson(tree, m.unit)},
              {"branch", UnitJson(tree, m.branch)},
              {"postcode_district", m.postcode_district},
              {"consents", members::ConsentNames(m.consents)},
              {"suppressions", members::SuppressionNames(m.suppressions)},
              {"added_at", FormatTimestamp(m.created_at)},
              {"updated_at", FormatTimestamp(m.updated_at)}};
  if (m.birth_year) member["birth_year"] = *m.birth_year;
  if (m.joined_on) member["joined_on"] = Day(*m.joined_on);
  if (m.lapsed_on) member["lapsed_on"] = Day(*m.lapsed_on);
  if (dpo) {
    member["source"] = m.source;
    member["external_id"] = m.external_id;
  }
  json contacts = json::array();
  for (const auto& c : m.contacts) {
    contacts.push_back({{"kind", c.kind},
                        {"label", c.label},
                        {"value", c.value},
                        {"valid", c.valid},
                        {"added_at", FormatTimestamp(c.created_at)}});
  }
  member["contact_points"] = contacts;
  auto history = [](const std::vector<members::HeldPreferenceEvent>& h, bool consents) {
    json out = json::array();
    for (const auto& e : h) {
      out.push_back({{"at", FormatTimestamp(e.at)},
                     {consents ? "consents" : "suppressions",
                      consents ? members::ConsentNames(e.bits) : members::SuppressionNames(e.bits)},
                     {"source", e.source}});
    }
    return out;
  };
  json out{{"generated_at", FormatTimestamp(r.generated_at)},
           {"member", member},
           {"consent_history", history(m.consent_history, true)},
           {"suppression_history", history(m.suppression_history, false)}};

  json campaigns = json::array();
  for (const auto& t : r.calls.targets) {
    campaigns.push_back({{"campaign", t.campaign},
                         {"name", t.campaign_name},
                         {"purpose", t.purpose},
                         {"scope", UnitJson(tree, t.scope)},
                         {"attempts", t.passes},
                         {"finished", t.done},
                         {"last_outcome", t.last_outcome}});
  }
  json calls = json::array();
  for (const auto& c : r.calls.calls) {
    json j{{"campaign", c.campaign},
           {"state", c.state},
           {"started_at", FormatTimestamp(c.started_at)},
           {"outcome", c.outcome}};
    if (c.duration_seconds) j["duration_seconds"] = *c.duration_seconds;
    if (!c.answers.empty()) {
      json a = json::parse(c.answers, nullptr, false);
      j["answers"] = a.is_discarded() ? json(c.answers) : a;
    }
    if (dpo) j["caller"] = c.caller.value();
    calls.push_back(j);
  }
  json log = json::array();
  for (const auto& l : r.calls.contact_log) {
    json j{{"at", FormatTimestamp(l.at)}, {"channel", l.channel}, {"outcome", l.outcome}};
    if (l.campaign) j["campaign"] = *l.campaign;
    log.push_back(j);
  }
  out["phone_bank"] = {{"campaigns", campaigns}, {"calls", calls}, {"contact_log", log}};

  json messages = json::array();
  for (const auto& h : r.mail.messages) {
    json j{{"message", h.message}, {"kind", h.kind},
           {"from", h.from_name},  {"subject", h.subject},
           {"state", h.state},     {"updated_at", FormatTimestamp(h.updated_at)}};
    if (h.queued_at != 0) j["queued_at"] = FormatTimestamp(h.queued_at);
    if (dpo && h.smtp_code) j["smtp_code"] = *h.smtp_code;
    messages.push_back(j);
  }
  json unsubs = json::array();
  for (const auto& u : r.mail.unsubscribes) {
    json j{{"at", FormatTimestamp(u.at)}, {"how", u.how}};
    if (u.message) j["message"] = *u.message;
    unsubs.push_back(j);
  }
  out["email"] = {
      {"messages", messages}, {"unsubscribes", unsubs}, {"hard_bounces", r.mail.hard_bounces}};

  json accounts = json::array();
  for (const auto& a : r.access.accounts) {
    json grants = json::array();
    for (const auto& g : a.grants) {
      grants.push_back({{"role", g.role},
                        {"scope", UnitJson(tree, g.scope)},
                        {"purpose", g.purpose},
                        {"from", FormatTimestamp(g.not_before)},
                        {"until", FormatTimestamp(g.not_after)},
                        {"revoked", g.revoked_at != 0}});
    }
    accounts.push_back({{"login", a.login},
                        {"display_name", a.display_name},
                        {"state", a.state},
                        {"created_at", FormatTimestamp(a.created_at)},
                        {"grants", grants}});
  }
  json links = json::array();
  for (const auto& l : r.access.links) {
    json j{{"purpose", l.purpose},
           {"created_at", FormatTimestamp(l.created_at)},
           {"expires_at", FormatTimestamp(l.expires_at)}};
    if (l.used_at != 0) j["used_at"] = FormatTimestamp(l.used_at);
    links.push_back(j);
  }
  out["accounts"] = accounts;
  out["one_time_links"] = links;

  json events = json::array();
  for (const auto& a : r.audit) {
    json j{{"seq", a.seq},
           {"at", FormatTimestamp(a.at)},
           {"action", a.action},
           {"what", DescribeAction(a.action)},
           {"decision", a.decision.empty() ? "recorded" : a.decision}};
    if (!a.rule.empty()) j["rule"] = a.rule;
    if (!a.role.empty()) j["role"] = a.role;
    if (a.unit.valid()) j["unit"] = UnitJson(tree, a.unit);
    if (!a.purpose.empty()) j["purpose"] = a.purpose;
    if (!a.field_classes.empty()) j["field_classes"] = a.field_classes;
    if (a.campaign) j["campaign"] = *a.campaign;
    if (a.message) j["message"] = *a.message;
    if (a.actor_is_member) j["by_you"] = true;
    if (dpo) {
      if (a.actor) j["actor"] = {{"id", *a.actor}, {"name", a.actor_name}};
      if (!a.client.empty()) j["client"] = a.client;
    } else if (o.name_volunteers && a.actor && !a.actor_is_member) {
      j["actor_name"] = a.actor_name;
    }
    if (a.with_others) j["with_other_members"] = true;
    j["provable"] = a.provable;
    if (a.provable) {
      j["leaf_hash"] = audit::ToHex(a.leaf_hash);
      json proof = json::array();
      for (const auto& p : a.proof) proof.push_back(audit::ToHex(p));
      j["proof"] = std::move(proof);
      // The event's own bytes (its actor and network) for the DPO's copy
      // only, and only when they name no other member.
      if (dpo && !a.body.empty()) j["body"] = a.body;
    }
    events.push_back(j);
  }
  json checkpoint = nullptr;
  if (r.checkpoint) {
    const audit::SignedCheckpoint& cp = *r.checkpoint;
    checkpoint = {{"tree_size", cp.checkpoint.tree_size},
                  {"at", FormatTimestamp(cp.checkpoint.time)},
                  {"root", audit::ToHex(cp.checkpoint.root)},
                  {"key_id", cp.checkpoint.key_id},
                  {"note", cp.format == audit::CheckpointFormat::kSignedNote
                               ? json(audit::FormatSignedNote(cp))
                               : json(nullptr)},
                  {"witness_line", audit::FormatWitnessLine(cp)}};
  }
  out["audit"] = {
      {"events", events},
      {"checkpoint", checkpoint},
      {"how_to_check",
       "Each event below the checkpoint's tree size carries its leaf hash and its RFC 6962 "
       "inclusion proof in the signed checkpoint. Check them with `switchboard audit "
       "check-report FILE --key KEY`, KEY being the log's verifier key (`switchboard audit "
       "key`)."}};
  return out;
}

Result<ProofCheck> CheckReportProofs(const nlohmann::json& report, const audit::VerifyKey& key) {
  if (!report.is_object() || !report.contains("audit") || !report["audit"].is_object() ||
      !report["audit"].contains("events") || !report["audit"]["events"].is_array()) {
    return Status::InvalidArgument("this is not a subject-access report (no audit events)");
  }
  const json& audit_part = report["audit"];
  ProofCheck out;
  const json& events = audit_part["events"];
  const json cpj = audit_part.value("checkpoint", json(nullptr));
  if (cpj.is_null()) {
    out.unprovable = static_cast<std::int64_t>(events.size());
    return out;
  }
  Result<audit::SignedCheckpoint> cp = Status::InvalidArgument("the checkpoint has no signature");
  if (cpj.contains("note") && cpj["note"].is_string()) {
    cp = audit::ParseSignedNote(cpj["note"].get<std::string>());
  } else if (cpj.contains("witness_line") && cpj["witness_line"].is_string()) {
    cp = audit::ParseWitnessLine(cpj["witness_line"].get<std::string>());
  }
  if (!cp) return cp.error().WithContext("the report's checkpoint");
  SB_RETURN_IF_ERROR(key.Verify(*cp));
  const std::uint64_t size = cp->checkpoint.tree_size;
  out.tree_size = static_cast<std::int64_t>(size);
  for (const json& e : events) {
    const std::int64_t seq = e.value("seq", std::int64_t{-1});
    const std::string where = "event " + std::to_string(seq) + ": ";
    if (seq < 0) {
      out.failures.push_back("an event without its number");
      continue;
    }
    if (static_cast<std::uint64_t>(seq) >= size) {
      ++out.unprovable;
      continue;
    }
    if (!e.contains("leaf_hash") || !e["leaf_hash"].is_string() || !e.contains("proof") ||
        !e["proof"].is_array()) {
      out.failures.push_back(where + "below the checkpoint but without a proof");
      continue;
    }
    auto leaf = audit::HashFromHex(e["leaf_hash"].get<std::string>());
    std::vector<audit::Hash> proof;
    bool parsed = leaf.has_value();
    for (const json& p : e["proof"]) {
      auto hp = p.is_string() ? audit::HashFromHex(p.get<std::string>())
                              : Result<audit::Hash>(Status::InvalidArgument("not a hash"));
      if (!hp) parsed = false;
      if (hp) proof.push_back(*hp);
    }
    if (!parsed) {
      out.failures.push_back(where + "its leaf hash or proof is not hexadecimal");
      continue;
    }
    if (e.contains("body")) {
      const std::string body = e["body"].is_string() ? e["body"].get<std::string>() : "";
      const json parsed_body = json::parse(body, nullptr, false);
      if (audit::LeafHash(body) != *leaf) {
        out.failures.push_back(where + "its bytes do not hash to its leaf hash");
        continue;
      }
      if (!parsed_body.is_object() || parsed_body.value("seq", std::int64_t{-1}) != seq) {
        out.failures.push_back(where + "its bytes name another position in the log");
        continue;
      }
    }
    Status st = audit::VerifyInclusion(*leaf, static_cast<std::uint64_t>(seq), size, proof,
                                       cp->checkpoint.root);
    if (!st.ok()) {
      out.failures.push_back(where + st.message());
      continue;
    }
    ++out.verified;
    if (e.contains("body")) ++out.with_bytes;
  }
  return out;
}

// --- HTML -----------------------------------------------------------------

namespace {

std::string Esc(std::string_view s) { return text::EscapeHtml(s); }

std::string When(Micros t) {
  std::string s = FormatTimestamp(t);  // 2026-03-02T10:00:00Z
  if (s.size() >= 16) return s.substr(0, 10) + " " + s.substr(11, 5) + " UTC";
  return s;
}

std::string Join(const std::vector<std::string>& v, std::string_view none) {
  if (v.empty()) return std::string(none);
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const char* kStyle = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a1a1a;max-width:60rem;
margin:0 auto;padding:1.5rem;line-height:1.5}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:2px solid #444}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #767676;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}caption{text-align:left;font-weight:600;padding:.3rem 0}
.refused{color:#8b0000;font-weight:600}.note{color:#333;font-size:.95rem}
pre{white-space:pre-wrap;word-break:break-all;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
@media print{body{max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
)css";

void Table(std::ostringstream& h, std::string_view caption, const std::vector<std::string>& headers,
           const std::vector<std::vector<std::string>>& rows, std::string_view empty) {
  if (rows.empty()) {
    h << "<p>" << Esc(empty) << "</p>\n";
    return;
  }
  h << "<table><caption>" << Esc(caption) << "</caption><thead><tr>";
  for (const auto& c : headers) h << "<th scope=\"col\">" << Esc(c) << "</th>";
  h << "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    h << "<tr>";
    for (const auto& c : row) h << "<td>" << Esc(c) << "</td>";
    h << "</tr>\n";
  }
  h << "</tbody></table>\n";
}

std::string Who(const AuditEntry& a, const members::OrgTree& tree, const RenderOptions& o) {
  if (a.actor_is_member) return "You";
  if (!a.actor) return "Switchboard itself (an automatic process)";
  std::string role = a.role.empty() ? "someone without a grant for this" : "a " + a.role;
  if (!a.role.empty()) {
    for (char& c : role) {
      if (c == '_') c = ' ';
    }
  }
  if (a.unit.valid()) role += " in " + UnitName(tree, a.unit);
  const bool names = o.audience == Audience::kDpo || o.name_volunteers;
  if (names && !a.actor_name.empty()) {
    return a.actor_name + " (" + role + ")" +
           (o.audience == Audience::kDpo ? ", account " + std::to_string(*a.actor) : "");
  }
  role[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(role[0])));
  return role;
}

}  // namespace

std::string ReportHtml(const Report& r, const members::OrgTree& tree, const RenderOptions& o) {
  const bool dpo = o.audience == Audience::kDpo;
  const members::HeldMember& m = r.member;
  std::ostringstream h;
  const std::string title = dpo ? "Subject access report: member " + std::to_string(m.id.value())
                                : "Everything we hold about you";
  h << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    << "<meta http-equiv=\"Content-Security-Policy\" content=\"" << Esc(ReportCsp()) << "\">"
    << "<title>" << Esc(title) << "</title><style>" << kStyle << "</style></head><body><main>\n";
  h << "<h1>" << Esc(title) << "</h1>\n";
  h << "<p class=\"note\">" << (o.organisation.empty() ? "" : Esc(o.organisation) + ". ")
    << "Produced on " << Esc(When(r.generated_at))
    << ". This is a copy of the personal data we hold about " << (dpo ? "this member" : "you")
    << ", where it came from, and a record of every time someone opened it, as our audit "
       "log shows it. It contains nothing about anyone else.</p>\n";
  if (!o.member_form_html.empty()) h << o.member_form_html << "\n";

  h << "<h2>" << (dpo ? "Details held" : "Your details") << "</h2>\n<dl>";
  auto dd = [&](std::string_view k, const std::string& v) {
    h << "<dt>" << Esc(k) << "</dt><dd>" << Esc(v.empty() ? "(none)" : v) << "</dd>";
  };
  dd("Name", m.first_name + " " + m.last_name);
  dd("Membership", m.status + " (" + m.membership_type + ")");
  if (m.joined_on) dd("Joined", Day(*m.joined_on));
  if (m.lapsed_on) dd("Lapsed", Day(*m.lapsed_on));
  if (m.birth_year) dd("Year of birth", std::to_string(*m.birth_year));
  dd("Local party", UnitName(tree, m.unit));
  if (m.branch.valid()) dd("Branch", UnitName(tree, m.branch));
  dd("Postcode district", m.postcode_district);
  dd("You agreed to be contacted by", Join(members::ConsentNames(m.consents), "nothing yet"));
  dd("Never contact by", Join(members::SuppressionNames(m.suppressions), "(no restriction)"));
  dd("On our register since", When(m.created_at));
  if (dpo) dd("Register source", m.source + " / " + m.external_id);
  h << "</dl>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : m.contacts) {
      rows.push_back({c.kind, c.label, c.value, c.valid ? "yes" : "no", When(c.created_at)});
    }
    Table(h, "Contact details", {"Kind", "Label", "Value", "Usable", "Recorded"}, rows,
          "We hold no contact details.");
  }
  h << "<h2>Consents and restrictions over time</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : m.consent_history) {
      rows.push_back(
          {When(e.at), "consents: " + Join(members::ConsentNames(e.bits), "none"), e.source});
    }
    for (const auto& e : m.suppression_history) {
      rows.push_back({When(e.at),
                      "restrictions: " + Join(members::SuppressionNames(e.bits), "none"),
                      e.source});
    }
    Table(h, "Changes", {"When", "Became", "Source"}, rows, "No changes recorded.");
  }
  h << "<h2>Phone banks</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : r.calls.targets) {
      rows.push_back({t.campaign_name, t.purpose, UnitName(tree, t.scope), std::to_string(t.passes),
                      t.last_outcome.empty() ? "-" : t.last_outcome});
    }
    Table(h, "Campaigns that included you",
          {"Campaign", "Purpose", "Area", "Attempts", "Last outcome"}, rows,
          "No phone-bank campaign has included you.");
    rows.clear();
    for (const auto& c : r.calls.calls) {
      rows.push_back({When(c.started_at), std::to_string(c.campaign), c.state,
                      c.outcome.empty() ? "-" : c.outcome, c.answers.empty() ? "-" : c.answers});
    }
    Table(h, "Calls to you", {"When", "Campaign", "Call", "Outcome", "Your answers"}, rows,
          "No calls to you are recorded.");
    rows.clear();
    for (const auto& l : r.calls.contact_log) {
      rows.push_back({When(l.at), l.channel, l.outcome});
    }
    Table(h, "Contact log", {"When", "How", "Outcome"}, rows, "The contact log is empty.");
  }
  h << "<h2>E-mail</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : r.mail.messages) {
      rows.push_back({When(e.queued_at != 0 ? e.queued_at : e.updated_at), e.from_name, e.subject,
                      e.kind, e.state});
    }
    Table(h, "Messages to you", {"When", "From", "Subject", "Kind", "Delivery"}, rows,
          "We have sent you no e-mail.");
    rows.clear();
    for (const auto& u : r.mail.unsubscribes) rows.push_back({When(u.at), u.how});
    Table(h, "Unsubscribes", {"When", "How"}, rows, "You have not unsubscribed.");
  }
  h << "<h2>Your account</h2>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : r.access.accounts) {
      std::vector<std::string> g;
      for (const auto& gr : a.grants) g.push_back(gr.role + " in " + UnitName(tree, gr.scope));
      rows.push_back({a.login, a.display_name, a.state, When(a.created_at), Join(g, "none")});
    }
    Table(h, "Accounts linked to your membership",
          {"Sign-in name", "Shown as", "State", "Created", "Roles"}, rows,
          "No account is linked to your membership.");
  }
  h << "<h2>Who saw your data</h2>\n<p class=\"note\">Every time someone opened or used your "
       "data, or tried to and was refused, our audit log recorded it. Each entry is numbered; "
       "entries up to number "
    << (r.checkpoint_size > 0 ? std::to_string(r.checkpoint_size - 1) : std::string("(none yet)"))
    << " are sealed by a signed checkpoint (below), so none of them can be changed or removed "
       "later without it showing.</p>\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : r.audit) {
      std::string outcome = a.decision == "deny"    ? "refused"
                            : a.decision == "allow" ? "allowed"
                                                    : "recorded";
      std::string what = DescribeAction(a.action);
      if (!a.field_classes.empty()) what += " (" + Join(a.field_classes, "") + ")";
      rows.push_back({std::to_string(a.seq), When(a.at), Who(a, tree, o), what,
                      a.purpose.empty() ? "-" : a.purpose, outcome});
    }
    Table(h, "Audit log entries about you", {"No.", "When", "Who", "What", "Purpose", "Result"},
          rows, "Nobody has opened your data.");
  }
  h << "<h2>Checking this record</h2>\n<p>Each numbered entry above can be checked: the "
       "machine-readable copy of this report (JSON) carries, for every entry up to the number "
       "above, its fingerprint (a hash of the entry) and a proof that the fingerprint is in our "
       "audit log at that number, and the signed checkpoint below. A proof holds only if the "
       "entry is in the log exactly as recorded; the checkpoint's signature shows it is ours. "
       "Anyone can check every proof, without access to our systems, with the command "
       "<code>switchboard audit check-report report.json --key KEY</code>, where KEY is the "
       "log's public verifier key that our data protection officer will give you. "
    << (dpo ? "The console's subject-access screen checks them in the browser."
            : "Ask our data protection officer for the machine-readable copy.")
    << "</p>\n";
  if (r.checkpoint) {
    h << "<p>The signed checkpoint this report was checked against:</p>\n<pre>"
      << Esc(r.checkpoint->format == audit::CheckpointFormat::kSignedNote
                 ? audit::FormatSignedNote(*r.checkpoint)
                 : audit::FormatWitnessLine(*r.checkpoint))
      << "</pre>\n";
  } else {
    h << "<p>No checkpoint has been signed yet.</p>\n";
  }
  h << "<p class=\"note\">Questions, or want something corrected or erased? Write to our data "
       "protection officer. You may also complain to the Information Commissioner's Office.</p>\n";
  h << "</main></body></html>\n";
  return h.str();
}

std::string ReportCsp() {
  unsigned char digest[crypto_hash_sha256_BYTES];
  const std::string_view style(kStyle);
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(style.data()), style.size());
  char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
  return std::string("default-src 'none'; style-src 'sha256-") + b64 +
         "'; form-action 'self'; base-uri 'none'";
}

// --- PDF ------------------------------------------------------------------

std::string FindChromium(const std::string& configured) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!configured.empty()) return fs::exists(configured, ec) ? configured : std::string();
  if (const char* env = std::getenv("CHROMIUM_BIN"); env && *env && fs::exists(env, ec)) {
    return env;
  }
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(p, ec)) return p;
  }
  return {};
}

Result<std::string> PrintToPdf(const std::string& html, const std::string& chromium) {
  const std::string bin = FindChromium(chromium);
  if (bin.empty()) {
    return Status::Unavailable(
        "no Chromium to print the PDF with: install Debian's chromium package, or set "
        "CHROMIUM_BIN to its path");
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string tmpl = (fs::temp_directory_path(ec) / "sb-sar-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Status::Internal("could not make a directory for printing");
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code e;
      std::filesystem::remove_all(path, e);
    }
  } cleanup{tmpl};
  const std::string in = tmpl + "/report.html";
  const std::string out = tmpl + "/report.pdf";
  {
    std::ofstream f(in, std::ios::binary);
    f << html;
    if (!f) return Status::Internal("could not write the report for printing");
  }
  const std::string print = "--print-to-pdf=" + out;
  const std::string profile = "--user-data-dir=" + tmpl + "/profile";
  const std::string url = "file://" + in;
  std::vector<const char*> argv = {bin.c_str(),
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-extensions",
                                   "--disable-background-networking",
                                   "--proxy-server=127.0.0.1:9",
                                   "--no-pdf-header-footer",
                                   profile.c_str(),
                                   print.c_str(),
                                   url.c_str(),
                                   nullptr};
  const pid_t pid = fork();
  if (pid < 0) return Status::Internal("could not start Chromium");
  if (pid == 0) {
    // Chromium's chatter is not ours to show.
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execv(bin.c_str(), const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::Internal("lost track of Chromium");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::Internal("Chromium could not print the report (exit status " +
                            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  std::ifstream f(out, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string pdf = ss.str();
  if (pdf.rfind("%PDF", 0) != 0) return Status::Internal("Chromium wrote no PDF");
  return pdf;
}

}  // namespace switchboard::privacy
