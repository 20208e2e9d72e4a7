#include "access/policy/policy.h"

#include <openssl/sha.h>

#include <cstdio>

#include "core/toml_reader.h"
#include "crypto/keyring.h"

namespace switchboard::access {

const NameSet& KnownCapabilities() {
  static const NameSet kCaps = {
      "member.search",     "member.view",    "member.contact.view", "member.edit",
      "member.export",     "phonebank.call", "phonebank.manage",    "message.draft",
      "message.approve",   "message.send",   "grant.manage",        "contest.manage",
      "audit.read",        "privacy.sar",    "privacy.erase",       "privacy.breach",
      "privacy.retention", "account.manage", "policy.manage"};
  return kCaps;
}

const std::set<std::string>& KnownFieldClasses() {
  static const std::set<std::string> kFields = {"name",     "first_name", "membership",
                                                "location", "contact",    "notes"};
  return kFields;
}

const Role* Policy::FindRole(std::string_view name) const {
  auto it = roles.find(std::string(name));
  return it == roles.end() ? nullptr : &it->second;
}

namespace {

template <typename Allowed>
Result<std::set<std::string>> StringSet(const TomlReader& rd, const toml::node& n,
                                        const Allowed& allowed, const std::string& what) {
  const toml::array* arr = n.as_array();
  if (!arr) return rd.Bad(n, what + " must be a list of strings");
  std::set<std::string> out;
  for (const toml::node& e : *arr) {
    auto s = e.value<std::string>();
    if (!s) return rd.Bad(e, what + " must be a list of strings");
    if (!allowed.count(*s)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return rd.Bad(e, "unknown " + what + " '" + *s + "'; known: " + list);
    }
    out.insert(*s);
  }
  return out;
}

Result<int> Minutes(const TomlReader& rd, const toml::node& n) {
  auto s = n.value<std::string>();
  int h = 0, m = 0;
  char extra = 0;
  if (!s || std::sscanf(s->c_str(), "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 ||
      m > 59 || (h == 24 && m != 0)) {
    return rd.Bad(n, "expected a time of day as \"HH:MM\"");
  }
  return h * 60 + m;
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view text, std::string_view source) {
  const TomlReader rd(source);
  SB_ASSIGN_OR_RETURN(toml::table root, rd.Parse(text));
  Policy p;
  SB_RETURN_IF_ERROR(
      rd.OnlyKeys(root,
                  {"roles", "sessions", "calling_hours", "retention", "login", "search", "anomaly",
                   "messaging", "phonebank", "privacy", "export"},
                  "the policy file"));
  const toml::table* roles = root["roles"].as_table();
  if (!roles || roles->empty()) {
    return Status::InvalidArgument(std::string(source) + ": the policy defines no [roles.NAME]");
  }
  for (const auto& [name, node] : *roles) {
    const toml::table* t = node.as_table();
    if (!t) return rd.Bad(node, "[roles." + std::string(name.str()) + "] must be a table");
    SB_RETURN_IF_ERROR(
        rd.OnlyKeys(*t, {"capabilities", "fields", "max_grant_days", "privileged", "quotas"},
                    "[roles." + std::string(name.str()) + "]"));
    Role r;
    r.name = std::string(name.str());
    const toml::node* caps = t->get("capabilities");
    if (!caps) return rd.Bad(node, "role " + r.name + " lists no capabilities");
    SB_ASSIGN_OR_RETURN(auto caps_set, StringSet(rd, *caps, KnownCapabilities(), "capability"));
    r.capabilities = NameSet(caps_set.begin(), caps_set.end());
    if (const toml::node* f = t->get("fields")) {
      SB_ASSIGN_OR_RETURN(r.fields, StringSet(rd, *f, KnownFieldClasses(), "field class"));
    }
    SB_RETURN_IF_ERROR(rd.Int(*t, "max_grant_days", 1, 3660, &r.max_grant_days));
    if (const toml::node* pv = t->get("privileged")) {
      auto b = pv->value<bool>();
      if (!b) return rd.Bad(*pv, "'privileged' must be true or false");
      r.privileged = *b;
    }
    // Export and contact access are privileged whatever the file says.
    if (r.capabilities.count("member.export") || r.capabilities.count("member.contact.view") ||
        r.capabilities.count("grant.manage") || r.capabilities.count("policy.manage") ||
        r.fields.count("contact")) {
      r.privileged = true;
    }
    if (r.fields.count("contact") && !r.capabilities.count("member.contact.view")) {
      return rd.Bad(node, "role " + r.name +
                              " may see the contact field class but lacks member.contact.view");
    }
    if (const toml::node* q = t->get("quotas")) {
      const toml::table* qt = q->as_table();
      if (!qt) return rd.Bad(*q, "quotas must be a table of capability = { per_day, per_hour }");
      for (const auto& [cap, qn] : *qt) {
        const std::string c(cap.str());
        if (!r.capabilities.count(c)) {
          return rd.Bad(qn, "quota for '" + c + "', which role " + r.name + " does not have");
        }
        const toml::table* qv = qn.as_table();
        if (!qv) return rd.Bad(qn, "a quota must be { per_day = N, per_hour = N }");
        SB_RETURN_IF_ERROR(rd.OnlyKeys(*qv, {"per_day", "per_hour"}, "a quota"));
        Quota quota;
        SB_RETURN_IF_ERROR(rd.Int<std::int64_t>(*qv, "per_day", 0, 10'000'000, &quota.per_day));
        SB_RETURN_IF_ERROR(rd.Int<std::int64_t>(*qv, "per_hour", 0, 10'000'000, &quota.per_hour));
        r.quotas[c] = quota;
      }
    }
    p.roles[r.name] = std::move(r);
  }
  if (const toml::table* s = root["sessions"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(
        *s, {"idle_minutes_privileged", "idle_minutes_other", "absolute_hours"}, "[sessions]"));
    SB_RETURN_IF_ERROR(
        rd.Int(*s, "idle_minutes_privileged", 1, 1440, &p.session_idle_minutes_privileged));
    SB_RETURN_IF_ERROR(rd.Int(*s, "idle_minutes_other", 1, 10080, &p.session_idle_minutes_other));
    SB_RETURN_IF_ERROR(rd.Int(*s, "absolute_hours", 1, 720, &p.session_absolute_hours));
  }
  if (const toml::table* c = root["calling_hours"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(*c, {"start", "end"}, "[calling_hours]"));
    if (const toml::node* n = c->get("start")) {
      SB_ASSIGN_OR_RETURN(p.calling_start_minute, Minutes(rd, *n));
    }
    if (const toml::node* n = c->get("end")) {
      SB_ASSIGN_OR_RETURN(p.calling_end_minute, Minutes(rd, *n));
    }
    if (p.calling_end_minute <= p.calling_start_minute) {
      return Status::InvalidArgument(std::string(source) +
                                     ": [calling_hours] end must be after start");
    }
  }
  if (const toml::table* r = root["retention"].as_table()) {
    SB_RETURN_IF_ERROR(
        rd.OnlyKeys(*r,
                    {"lapsed_years", "session_days", "link_days", "invitation_days", "lease_hours",
                     "verification_hours", "throttle_days", "outbox_days", "run_hour"},
                    "[retention]"));
    SB_RETURN_IF_ERROR(rd.Int(*r, "lapsed_years", 1, 100, &p.retention_lapsed_years));
    SB_RETURN_IF_ERROR(rd.Int(*r, "session_days", 1, 3650, &p.retention_session_days));
    SB_RETURN_IF_ERROR(rd.Int(*r, "link_days", 1, 3650, &p.retention_link_days));
    SB_RETURN_IF_ERROR(rd.Int(*r, "invitation_days", 1, 3650, &p.retention_invitation_days));
    SB_RETURN_IF_ERROR(rd.Int(*r, "lease_hours", 1, 24 * 365, &p.retention_lease_hours));
    SB_RETURN_IF_ERROR(
        rd.Int(*r, "verification_hours", 1, 24 * 365, &p.retention_verification_hours));
    SB_RETURN_IF_ERROR(rd.Int(*r, "throttle_days", 1, 3650, &p.retention_throttle_days));
    SB_RETURN_IF_ERROR(rd.Int(*r, "outbox_days", 1, 3650, &p.retention_outbox_days));
    SB_RETURN_IF_ERROR(rd.Int(*r, "run_hour", 0, 23, &p.retention_run_hour));
  }
  if (const toml::table* l = root["login"].as_table()) {
    SB_RETURN_IF_ERROR(
        rd.OnlyKeys(*l,
                    {"max_failures_per_account", "max_failures_per_address", "window_minutes",
                     "lock_minutes", "link_minutes", "link_requests_per_identifier",
                     "link_requests_per_address", "link_window_minutes"},
                    "[login]"));
    SB_RETURN_IF_ERROR(
        rd.Int(*l, "max_failures_per_account", 1, 1000, &p.login_max_failures_per_account));
    SB_RETURN_IF_ERROR(
        rd.Int(*l, "max_failures_per_address", 1, 100000, &p.login_max_failures_per_address));
    SB_RETURN_IF_ERROR(rd.Int(*l, "window_minutes", 1, 1440, &p.login_window_minutes));
    SB_RETURN_IF_ERROR(rd.Int(*l, "lock_minutes", 1, 10080, &p.login_lock_minutes));
    SB_RETURN_IF_ERROR(rd.Int(*l, "link_minutes", 5, 1440, &p.link_minutes));
    SB_RETURN_IF_ERROR(
        rd.Int(*l, "link_requests_per_identifier", 1, 100, &p.link_requests_per_identifier));
    SB_RETURN_IF_ERROR(
        rd.Int(*l, "link_requests_per_address", 1, 100000, &p.link_requests_per_address));
    SB_RETURN_IF_ERROR(rd.Int(*l, "link_window_minutes", 1, 1440, &p.link_window_minutes));
  }
  if (const toml::table* s = root["search"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(*s, {"page_max"}, "[search]"));
    SB_RETURN_IF_ERROR(rd.Int(*s, "page_max", 1, 1000, &p.search_page_max));
  }
  if (const toml::table* m = root["messaging"].as_table()) {
    SB_RETURN_IF_ERROR(
        rd.OnlyKeys(*m, {"approval_audience_above", "hard_bounce_limit"}, "[messaging]"));
    SB_RETURN_IF_ERROR(rd.Int<std::int64_t>(*m, "approval_audience_above", 0, 1'000'000'000,
                                            &p.messaging_approval_audience_above));
    SB_RETURN_IF_ERROR(rd.Int(*m, "hard_bounce_limit", 1, 100, &p.messaging_hard_bounce_limit));
  }
  if (const toml::table* a = root["anomaly"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(*a,
                                   {"rate_factor", "rate_floor_per_hour", "baseline_days",
                                    "probe_run", "probe_window_minutes"},
                                   "[anomaly]"));
    SB_RETURN_IF_ERROR(rd.Int(*a, "rate_factor", 2, 1000, &p.anomaly_rate_factor));
    SB_RETURN_IF_ERROR(
        rd.Int(*a, "rate_floor_per_hour", 1, 10'000'000, &p.anomaly_rate_floor_per_hour));
    SB_RETURN_IF_ERROR(rd.Int(*a, "baseline_days", 1, 365, &p.anomaly_baseline_days));
    SB_RETURN_IF_ERROR(rd.Int(*a, "probe_run", 3, 10000, &p.anomaly_probe_run));
    SB_RETURN_IF_ERROR(
        rd.Int(*a, "probe_window_minutes", 1, 7 * 24 * 60, &p.anomaly_probe_window_minutes));
  }
  if (const toml::table* pb = root["phonebank"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(*pb, {"pace_burst_max"}, "[phonebank]"));
    SB_RETURN_IF_ERROR(rd.Int(*pb, "pace_burst_max", 1, 1000, &p.phonebank_pace_burst_max));
  }
  if (const toml::table* pr = root["privacy"].as_table()) {
    SB_RETURN_IF_ERROR(rd.OnlyKeys(*pr, {"name_volunteers"}, "[privacy]"));
    if (const toml::node* n = pr->get("name_volunteers")) {
      auto b = n->value<bool>();
      if (!b) return rd.Bad(*n, "'name_volunteers' must be true or false");
      p.privacy_name_volunteers = *b;
    }
  }
  if (const toml::table* e = root["export"].as_table()) {
    SB_RETURN_IF_ERROR(
        rd.OnlyKeys(*e, {"approval", "purpose_max_chars", "canaries_min"}, "[export]"));
    SB_RETURN_IF_ERROR(rd.Bool(*e, "approval", &p.export_approval));
    SB_RETURN_IF_ERROR(rd.Int(*e, "purpose_max_chars", 20, 5000, &p.export_purpose_max_chars));
    SB_RETURN_IF_ERROR(rd.Int(*e, "canaries_min", 10, 1000, &p.export_canaries_min));
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  p.source_hash = crypto::ToHex(digest, sizeof digest);
  return p;
}

std::string DefaultPolicyToml() {
  return R"toml(# Switchboard access policy. Roles are sets of capabilities plus the field
# classes they may see; grants give one role over one unit's scope for one
# purpose until a mandatory end. Validated at start-up; its hash is recorded
# in the audit log whenever it changes.

[roles.owner]
# The deployment's first account (created by the bootstrap command): may grant
# every role. Give it to as few people as possible; every use is audited.
capabilities = ["member.search", "member.view", "member.contact.view", "member.edit",
                "member.export", "phonebank.call", "phonebank.manage", "message.draft",
                "message.approve", "message.send", "grant.manage", "contest.manage",
                "audit.read", "privacy.sar", "privacy.erase", "privacy.breach",
                "privacy.retention", "account.manage", "policy.manage"]
fields = ["name", "first_name", "membership", "location", "contact", "notes"]
max_grant_days = 365

[roles.caller]
# Volunteer phone-bank callers: one member at a time, first name only.
capabilities = ["phonebank.call"]
fields = ["first_name", "membership", "location"]
max_grant_days = 84

[roles.candidate_campaign]
# Internal-election candidate campaigns: contact through the platform only.
capabilities = ["phonebank.call", "phonebank.manage", "message.draft", "message.send"]
fields = ["first_name", "location"]
max_grant_days = 84

[roles.officer]
# Local officers (secretary, chair) for their own unit.
capabilities = ["member.search", "member.view", "message.draft", "message.send",
                "phonebank.manage"]
fields = ["name", "first_name", "membership", "location", "notes"]
max_grant_days = 365
quotas = { "member.view" = { per_day = 300 }, "member.search" = { per_day = 300 } }

[roles.staff]
# Employed staff within their region or nation.
capabilities = ["member.search", "member.view", "message.draft", "message.approve",
                "phonebank.manage", "contest.manage"]
fields = ["name", "first_name", "membership", "location", "notes"]
max_grant_days = 365
quotas = { "member.view" = { per_day = 1000 } }

[roles.membership_admin]
# Keeps the register: contact details, edits, exports. Privileged.
capabilities = ["member.search", "member.view", "member.contact.view", "member.edit",
                "member.export"]
fields = ["name", "first_name", "membership", "location", "contact", "notes"]
max_grant_days = 365
quotas = { "member.contact.view" = { per_day = 50 }, "member.export" = { per_day = 2 } }

[roles.dpo]
# Data protection officer. Privileged.
capabilities = ["audit.read", "privacy.sar", "privacy.erase", "privacy.breach",
                "privacy.retention", "account.manage"]
fields = ["name", "first_name", "membership", "location", "notes"]
max_grant_days = 365
privileged = true

[roles.admin]
# Runs the service: accounts, grants, policy. Sees no member data by itself.
capabilities = ["grant.manage", "account.manage", "policy.manage", "audit.read"]
fields = []
max_grant_days = 365
privileged = true

[sessions]
idle_minutes_privileged = 30
idle_minutes_other = 480
absolute_hours = 12

[calling_hours]
start = "09:00"
end = "21:00"

[retention]
# Lapsed members are anonymised this many years after their lapse date.
lapsed_years = 6
# Short-lived rows are purged this long after they end (docs/privacy.md).
session_days = 30
link_days = 7
invitation_days = 30
lease_hours = 24
verification_hours = 24
throttle_days = 1
outbox_days = 90
# The daily run starts at this hour, in the organisation's time zone.
run_hour = 3

[login]
# Failed sign-ins within the window lock the account (or the client address).
max_failures_per_account = 5
max_failures_per_address = 20
window_minutes = 15
lock_minutes = 15
# One-time links by e-mail (sign-up, password reset): how long one works, and
# how many may be asked for within link_window_minutes per typed address or
# membership number (and per person on record), and per client address.
link_minutes = 30
link_requests_per_identifier = 3
link_requests_per_address = 20
link_window_minutes = 60

[search]
# The most members one page of search results may hold.
page_max = 50

[anomaly]
# Alerts to the DPO. "rate": record touches in an hour above rate_factor times
# the account's own hourly baseline and above the floor. "probing": probe_run
# denials or not-founds (ids the account could only be guessing) within
# probe_window_minutes, whatever succeeded in between; it suspends the account
# at once, as does touching a canary record outside normal assignment.
rate_factor = 5
rate_floor_per_hour = 200
baseline_days = 14
probe_run = 20
probe_window_minutes = 60

[phonebank]
# The most new contacts a caller may take in a burst before the campaign's
# interval applies; organisers choose up to this (RULEBOOK §6: 3 by default).
pace_burst_max = 5

[messaging]
# A second person approves any message to more members than this (RULEBOOK §7).
approval_audience_above = 1000
# Hard bounces (permanent refusals) after which an address is no longer mailed.
hard_bounce_limit = 2

[privacy]
# A member's own report ("who saw my data") shows volunteers by role and unit
# ("a caller in Aldershot"); true names them too.
name_volunteers = false

[export]
# Member exports (docs/privacy.md, "Exports"): a second account holding
# member.export or privacy.sar over the scope approves each one before it can
# be downloaded (never the requester); the stated purpose is at most
# purpose_max_chars characters; every file carries at least canaries_min
# synthetic records of its own (one per 100 rows in larger files).
approval = true
purpose_max_chars = 500
canaries_min = 40
)toml";
}

}  // namespace switchboard::access
