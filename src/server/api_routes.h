// The API's route table: every route, who may call it and what it acts on.
// It is the single source for the router (api.cc registers exactly these),
// for docs/openapi.yaml (checked by tests/integration/openapi_test.py through
// `switchboard api routes`) and for the authorisation matrix test
// (api_matrix_test.cc), which fails to compile when a route here has no
// probe there.
#pragma once

#include <string_view>

namespace switchboard::server {

enum class RouteAuth {
  kPublic,      // anyone (sign-in, health)
  kSession,     // any signed-in account, acting on itself
  kCapability,  // a decision on `capability` over the route's target must allow
};

// What a capability route acts on: the unit the decision is about.
enum class RouteTarget {
  kNone,          // the whole organisation (the root unit)
  kMemberPath,    // the unit of the member named by {id}
  kUnitQuery,     // the unit named by ?unit= (an id or a code)
  kUnitBody,      // the unit named by the JSON body's "scope"
  kGrantPath,     // the scope of the grant named by {id}
  kCampaignPath,  // the scope of the campaign named by {id}
  kMessagePath,   // the scope of the e-mail message named by {id}
  kExportPath,    // the scope of the member export named by {id}
};

// What a path target names, for messages: "member", "grant", ...
constexpr std::string_view TargetName(RouteTarget t) {
  switch (t) {
    case RouteTarget::kMemberPath:
      return "member";
    case RouteTarget::kGrantPath:
      return "grant";
    case RouteTarget::kCampaignPath:
      return "campaign";
    case RouteTarget::kMessagePath:
      return "message";
    case RouteTarget::kExportPath:
      return "export";
    default:
      return "unit";
  }
}

struct ApiRoute {
  std::string_view id;  // stable name, e.g. "members.view"
  std::string_view method;
  std::string_view path;
  RouteAuth auth;
  std::string_view capability;  // for kCapability
  RouteTarget target;
  std::string_view summary;
  // A second capability that also allows the route (an export's approver
  // holds member.export or privacy.sar); such routes are decided by their
  // module's operation, not by the gate.
  std::string_view also = {};
};

inline constexpr ApiRoute kApiRoutes[] = {
    {"session.login", "POST", "/api/v1/session", RouteAuth::kPublic, "", RouteTarget::kNone,
     "Sign in; a browser gets a session cookie and a CSRF token, an API client a bearer token"},
    {"session.get", "GET", "/api/v1/session", RouteAuth::kSession, "", RouteTarget::kNone,
     "The signed-in account, its session and the grants in force"},
    {"session.logout", "DELETE", "/api/v1/session", RouteAuth::kSession, "", RouteTarget::kNone,
     "Sign out this session"},
    {"session.logout_everywhere", "POST", "/api/v1/session/sign-out-everywhere",
     RouteAuth::kSession, "", RouteTarget::kNone, "End every session of the signed-in account"},
    {"members.search", "GET", "/api/v1/members", RouteAuth::kCapability, "member.search",
     RouteTarget::kUnitQuery, "Search members within one unit, a page at a time"},
    {"members.view", "GET", "/api/v1/members/{id}", RouteAuth::kCapability, "member.view",
     RouteTarget::kMemberPath, "One member, with the field classes the grant's role may see"},
    {"members.contact", "GET", "/api/v1/members/{id}/contact", RouteAuth::kCapability,
     "member.contact.view", RouteTarget::kMemberPath,
     "One member's e-mail addresses and phone numbers (privileged roles only)"},
    {"grants.list", "GET", "/api/v1/grants", RouteAuth::kCapability, "grant.manage",
     RouteTarget::kNone, "Grants, optionally of one account"},
    {"grants.add", "POST", "/api/v1/grants", RouteAuth::kCapability, "grant.manage",
     RouteTarget::kUnitBody, "Grant a role over a scope for a purpose until an end"},
    {"grants.approve", "POST", "/api/v1/grants/{id}/approve", RouteAuth::kCapability,
     "grant.manage", RouteTarget::kGrantPath, "Second approval of a privileged grant"},
    {"grants.revoke", "POST", "/api/v1/grants/{id}/revoke", RouteAuth::kCapability, "grant.manage",
     RouteTarget::kGrantPath, "End a grant now"},
    {"accounts.list", "GET", "/api/v1/accounts", RouteAuth::kCapability, "account.manage",
     RouteTarget::kNone, "Accounts and their states"},
    {"accounts.suspend", "POST", "/api/v1/accounts/{id}/suspend", RouteAuth::kCapability,
     "account.manage", RouteTarget::kNone, "Suspend an account and end its sessions"},
    {"accounts.reinstate", "POST", "/api/v1/accounts/{id}/reinstate", RouteAuth::kCapability,
     "account.manage", RouteTarget::kNone, "Reinstate a suspended account, with a reason"},
    {"access.explain", "GET", "/api/v1/access/explain", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone, "Why could an account do something at a time?"},
    {"audit.events", "GET", "/api/v1/audit/events", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone, "Audit events by member, actor and time range"},
    {"audit.checkpoints", "GET", "/api/v1/audit/checkpoints", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone, "Signed checkpoints of the audit log"},
    {"audit.proof", "GET", "/api/v1/audit/proof", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone, "Inclusion proof of one event in a checkpointed tree"},
    {"audit.witness", "GET", "/api/v1/audit/witness", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone,
     "Signed checkpoints after a tree size, each with its consistency proof, for a witness"},
    {"alerts.list", "GET", "/api/v1/alerts", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone, "Anomaly alerts raised for the DPO (open ones with ?open=true)"},
    {"alerts.acknowledge", "POST", "/api/v1/alerts/{id}/acknowledge", RouteAuth::kCapability,
     "audit.read", RouteTarget::kNone, "Record that an alert was reviewed, with a note"},
    // The breach register (RULEBOOK §10, privacy/breach.h; api_breach.cc).
    {"breaches.list", "GET", "/api/v1/breaches", RouteAuth::kCapability, "privacy.breach",
     RouteTarget::kNone, "The breach register, newest first, each with its 72-hour deadline"},
    {"breaches.create", "POST", "/api/v1/breaches", RouteAuth::kCapability, "privacy.breach",
     RouteTarget::kNone, "Record a personal-data breach (discovered at, description, categories)"},
    {"breaches.get", "GET", "/api/v1/breaches/{id}", RouteAuth::kCapability, "privacy.breach",
     RouteTarget::kNone,
     "One breach with its deadline and the draft notifications to the regulator and to members"},
    {"breaches.update", "PATCH", "/api/v1/breaches/{id}", RouteAuth::kCapability, "privacy.breach",
     RouteTarget::kNone,
     "Edit a breach or record that it was reported, members were told, or it was closed"},
    {"breaches.affected", "POST", "/api/v1/breaches/{id}/affected", RouteAuth::kCapability,
     "privacy.breach", RouteTarget::kNone,
     "Compute the affected members (an account's or a campaign's reads in a window, or everyone "
     "in an export's file) and store them with the breach"},
    // The DPO console's overviews (api_dpo.cc).
    {"access.overview", "GET", "/api/v1/access/overview", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone,
     "Grants in force now: who holds which role over what, what it shows, who granted it, and "
     "which end within 14 days"},
    {"audit.charts", "GET", "/api/v1/audit/charts/{chart}", RouteAuth::kCapability, "audit.read",
     RouteTarget::kNone,
     "A chart as SVG over the last 30 days: reads-per-day, reads-by-role or alerts-per-day"},
    // The phone bank (RULEBOOK §6).
    {"campaigns.list", "GET", "/api/v1/campaigns", RouteAuth::kSession, "", RouteTarget::kNone,
     "Campaigns the account organises or calls for"},
    {"campaigns.create", "POST", "/api/v1/campaigns", RouteAuth::kCapability, "phonebank.manage",
     RouteTarget::kUnitBody, "Create a draft phone-bank campaign"},
    {"campaigns.get", "GET", "/api/v1/campaigns/{id}", RouteAuth::kCapability, "phonebank.manage",
     RouteTarget::kCampaignPath, "A campaign with its audience count"},
    {"campaigns.update", "PATCH", "/api/v1/campaigns/{id}", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath,
     "Edit a campaign: a draft entirely, a live or paused one only its script and fields"},
    {"campaigns.audience_count", "POST", "/api/v1/campaigns/{id}/audience-count",
     RouteAuth::kCapability, "phonebank.manage", RouteTarget::kCampaignPath,
     "How many members an audience would reach"},
    {"audience.count", "POST", "/api/v1/audience-count", RouteAuth::kCapability, "phonebank.manage",
     RouteTarget::kUnitBody,
     "How many members an audience inside a scope would reach, before a campaign exists"},
    {"campaigns.state", "POST", "/api/v1/campaigns/{id}/state", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath, "Go live, pause, resume, end or kill"},
    {"campaigns.progress", "GET", "/api/v1/campaigns/{id}/progress", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath, "Progress by outcome, unit and caller"},
    {"campaigns.results", "GET", "/api/v1/campaigns/{id}/results", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath,
     "Survey results per question (counts and percentages, by unit and day) and calls over time"},
    {"campaigns.results_csv", "GET", "/api/v1/campaigns/{id}/results.csv", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath,
     "The results as an aggregate CSV download (no member-level rows; audited)"},
    {"campaigns.chart", "GET", "/api/v1/campaigns/{id}/charts/{chart}", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath,
     "A results chart as SVG: calls-per-hour, outcomes or question-<n>"},
    {"invites.create", "POST", "/api/v1/campaigns/{id}/invites", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath, "Create an invitation link"},
    {"invites.list", "GET", "/api/v1/campaigns/{id}/invites", RouteAuth::kCapability,
     "phonebank.manage", RouteTarget::kCampaignPath, "Invitations and who joined through each"},
    {"invites.revoke", "POST", "/api/v1/campaigns/{id}/invites/{invite}/revoke",
     RouteAuth::kCapability, "phonebank.manage", RouteTarget::kCampaignPath,
     "Withdraw an invitation link at once"},
    {"join.get", "GET", "/api/v1/join/{token}", RouteAuth::kSession, "", RouteTarget::kNone,
     "What an invitation link is for, and whether you may join"},
    {"join.post", "POST", "/api/v1/join/{token}", RouteAuth::kSession, "", RouteTarget::kNone,
     "Join a campaign as a caller through an invitation link"},
    // Self-service: sign-up from an invitation, password reset (api_signup.cc).
    {"join.about", "GET", "/api/v1/join/{token}/about", RouteAuth::kPublic, "", RouteTarget::kNone,
     "Which campaign an invitation link is for, before signing in"},
    {"signup.request", "POST", "/api/v1/join/{token}/sign-up", RouteAuth::kPublic, "",
     RouteTarget::kNone,
     "Ask for a one-time sign-up link, sent to the address on record (same answer for anyone)"},
    {"password_reset.request", "POST", "/api/v1/password-reset", RouteAuth::kPublic, "",
     RouteTarget::kNone,
     "Ask for a one-time password-reset link, sent to the address on record (same answer for "
     "anyone)"},
    {"account_link.check", "POST", "/api/v1/account-link/check", RouteAuth::kPublic, "",
     RouteTarget::kNone, "What a one-time sign-up or reset link is for, and whether it works"},
    {"account_link.complete", "POST", "/api/v1/account-link", RouteAuth::kPublic, "",
     RouteTarget::kNone,
     "Use a one-time link: set the password (and make the account), then sign in"},
    {"calling.next", "POST", "/api/v1/campaigns/{id}/next", RouteAuth::kCapability,
     "phonebank.call", RouteTarget::kCampaignPath, "The next member to call, chosen by the server"},
    {"calling.connect", "POST", "/api/v1/campaigns/{id}/connect", RouteAuth::kCapability,
     "phonebank.call", RouteTarget::kCampaignPath, "Ring your phone and bridge to the member"},
    {"calling.outcome", "POST", "/api/v1/campaigns/{id}/outcome", RouteAuth::kCapability,
     "phonebank.call", RouteTarget::kCampaignPath, "Record the outcome and survey; release"},
    {"calls.get", "GET", "/api/v1/calls/{id}", RouteAuth::kSession, "", RouteTarget::kNone,
     "The state of one of your calls"},
    // Issue 17: the caller hangs up from the calling screen.
    {"calling.hangup", "POST", "/api/v1/campaigns/{id}/calls/{call}/hangup", RouteAuth::kCapability,
     "phonebank.call", RouteTarget::kCampaignPath, "Hang up your call: both phones"},
    {"me.stats", "GET", "/api/v1/me/stats", RouteAuth::kSession, "", RouteTarget::kNone,
     "Your calls, conversations, streak, badges and the unit leaderboard"},
    {"me.endpoint", "POST", "/api/v1/me/endpoint", RouteAuth::kSession, "", RouteTarget::kNone,
     "Register the phone the platform rings you on"},
    {"me.endpoint_verify", "POST", "/api/v1/me/endpoint/verify", RouteAuth::kSession, "",
     RouteTarget::kNone, "Confirm your phone with the code sent to it"},
    // Issue 17: the phone verified by a call and its keypad.
    {"me.endpoint_get", "GET", "/api/v1/me/endpoint", RouteAuth::kSession, "", RouteTarget::kNone,
     "Your phone: registered, verified, and how the verification call is going"},
    {"messages.list", "GET", "/api/v1/messages", RouteAuth::kSession, "", RouteTarget::kNone,
     "E-mail messages the signed-in account drafted, sent or is named in, and those it may open"},
    {"messages.create", "POST", "/api/v1/messages", RouteAuth::kCapability, "message.draft",
     RouteTarget::kUnitBody, "Draft an e-mail message to an audience inside a scope"},
    {"messages.count", "POST", "/api/v1/messages/audience-count", RouteAuth::kCapability,
     "message.draft", RouteTarget::kUnitBody,
     "How many members an audience reaches for a kind of message (consent applied)"},
    {"messages.get", "GET", "/api/v1/messages/{id}", RouteAuth::kCapability, "message.draft",
     RouteTarget::kMessagePath, "One message, its approvals and what sending it requires"},
    {"messages.update", "PATCH", "/api/v1/messages/{id}", RouteAuth::kCapability, "message.draft",
     RouteTarget::kMessagePath,
     "Edit a draft (its author only); every edit voids earlier approvals"},
    {"messages.preview", "POST", "/api/v1/messages/{id}/preview", RouteAuth::kCapability,
     "message.draft", RouteTarget::kMessagePath,
     "The message as a sample recipient would get it, footer included"},
    {"messages.approve", "POST", "/api/v1/messages/{id}/approve", RouteAuth::kCapability,
     "message.approve", RouteTarget::kMessagePath, "Second-person approval of one exact version"},
    {"messages.send", "POST", "/api/v1/messages/{id}/send", RouteAuth::kCapability, "message.send",
     RouteTarget::kMessagePath,
     "Run the checks and, when all pass, queue the message for its audience"},
    {"messages.cancel", "POST", "/api/v1/messages/{id}/cancel", RouteAuth::kCapability,
     "message.send", RouteTarget::kMessagePath,
     "Stop a message: recipients not yet handed to the relay get nothing"},
    {"messages.report", "GET", "/api/v1/messages/{id}/report", RouteAuth::kCapability,
     "message.draft", RouteTarget::kMessagePath,
     "Delivery counts, approvals, rule checks, who drafted and who sent"},
    {"me.approvals", "GET", "/api/v1/me/approvals", RouteAuth::kSession, "", RouteTarget::kNone,
     "Drafts that speak in the signed-in person's name and wait for their approval"},
    {"me.approve", "POST", "/api/v1/me/approvals/{id}", RouteAuth::kSession, "", RouteTarget::kNone,
     "Approve, from one's own account, a message sent in one's name"},
    // Issue 16: approvers see what they approve; the organisation's name.
    {"messages.speakers", "GET", "/api/v1/messages/speakers", RouteAuth::kCapability,
     "message.draft", RouteTarget::kUnitQuery,
     "Accounts a message inside the unit could speak for, found by part of their name"},
    {"organisation.get", "GET", "/api/v1/organisation", RouteAuth::kPublic, "", RouteTarget::kNone,
     "The organisation's name, as the app shows it"},
    // Internal elections (RULEBOOK §8).
    {"contests.list", "GET", "/api/v1/contests", RouteAuth::kSession, "", RouteTarget::kNone,
     "Contests that bind the signed-in account (all for contest managers), with their phase"},
    {"contests.check", "POST", "/api/v1/contests/check", RouteAuth::kCapability, "contest.manage",
     RouteTarget::kNone, "Validate a rulebook file without storing it"},
    {"contests.load", "POST", "/api/v1/contests", RouteAuth::kCapability, "contest.manage",
     RouteTarget::kNone, "Load a new contest from its rulebook file"},
    {"contests.get", "GET", "/api/v1/contests/{id}", RouteAuth::kSession, "", RouteTarget::kNone,
     "A contest: timeline, candidates, phase, and the signed-in account's part in it"},
    {"contests.rulebook", "GET", "/api/v1/contests/{id}/rulebook", RouteAuth::kSession, "",
     RouteTarget::kNone, "The rulebook's text (the version in force, or ?version=N)"},
    {"contests.amend", "POST", "/api/v1/contests/{id}/rulebook", RouteAuth::kCapability,
     "contest.manage", RouteTarget::kNone,
     "A new version of the rulebook (once announced: by the returning officer, then approved)"},
    {"contests.approve_amendment", "POST", "/api/v1/contests/{id}/rulebook/approve",
     RouteAuth::kCapability, "contest.manage", RouteTarget::kNone,
     "A second person puts a proposed rulebook version in force"},
    {"contests.standing", "GET", "/api/v1/contests/{id}/standing", RouteAuth::kSession, "",
     RouteTarget::kNone, "Nominations, and who qualifies and why"},
    {"contests.nominate", "POST", "/api/v1/contests/{id}/nominations", RouteAuth::kCapability,
     "contest.manage", RouteTarget::kNone, "Record a unit's or affiliate's nomination"},
    {"contests.ledger", "GET", "/api/v1/contests/{id}/ledger", RouteAuth::kSession, "",
     RouteTarget::kNone, "The equal-access ledger: facilities used and matching entitlements"},
    // Privacy operations (RULEBOOK §10): subject access and the request queue.
    {"privacy.report", "GET", "/api/v1/privacy/members/{id}/report", RouteAuth::kCapability,
     "privacy.sar", RouteTarget::kMemberPath,
     "Everything held about one member and who saw it (?format=json|html|pdf; recorded)"},
    {"privacy.requests.list", "GET", "/api/v1/privacy/requests", RouteAuth::kCapability,
     "privacy.sar", RouteTarget::kNone,
     "Subject-access and erasure requests with their deadlines (open ones with ?open=true)"},
    {"privacy.requests.create", "POST", "/api/v1/privacy/requests", RouteAuth::kCapability,
     "privacy.sar", RouteTarget::kNone,
     "Record a request from a member; it is due one calendar month after receipt"},
    {"privacy.requests.close", "POST", "/api/v1/privacy/requests/{id}/close",
     RouteAuth::kCapability, "privacy.sar", RouteTarget::kNone,
     "Close a request; an access request is answered with the report, made now"},
    {"privacy.requests.reminders", "GET", "/api/v1/privacy/reminders", RouteAuth::kCapability,
     "privacy.sar", RouteTarget::kNone,
     "Open requests due within seven days or late, for the DPO's dashboard"},
    {"privacy.my_report.request", "POST", "/api/v1/privacy/my-report", RouteAuth::kPublic, "",
     RouteTarget::kNone,
     "A member asks for a one-time link to their own report (same answer for anyone)"},
    {"privacy.my_report.open", "POST", "/api/v1/privacy/my-report/open", RouteAuth::kPublic, "",
     RouteTarget::kNone, "Open one's own report with the one-time link (once)"},
    {"privacy.records", "GET", "/api/v1/privacy/records", RouteAuth::kCapability, "privacy.sar",
     RouteTarget::kNone,
     "Records of processing (Art. 30) from the policy and the register (?format=md|html)"},
    // Issue 18: erasure (docs/privacy.md).
    {"members.erase", "POST", "/api/v1/members/{id}/erase", RouteAuth::kCapability, "privacy.erase",
     RouteTarget::kMemberPath,
     "Erase a member: personal data gone, the id kept as a tombstone, contacts suppressed"},
    // Issue 18: exports and leak tracing (privacy/export.h decides; api_exports.cc).
    {"exports.list", "GET", "/api/v1/exports", RouteAuth::kCapability, "member.export",
     RouteTarget::kUnitQuery,
     "Exports over a unit and the units within it, newest first, with what you may do with each",
     "privacy.sar"},
    {"exports.request", "POST", "/api/v1/exports", RouteAuth::kCapability, "member.export",
     RouteTarget::kUnitBody,
     "Ask for an export: purpose, public key, columns and a fresh authenticator code"},
    {"exports.approve", "POST", "/api/v1/exports/{id}/approve", RouteAuth::kCapability,
     "member.export", RouteTarget::kExportPath,
     "Approve someone else's export, with your own authenticator code", "privacy.sar"},
    {"exports.cancel", "POST", "/api/v1/exports/{id}/cancel", RouteAuth::kCapability,
     "member.export", RouteTarget::kExportPath,
     "Withdraw an export not yet downloaded: cancelled by its requester, refused by an approver",
     "privacy.sar"},
    {"exports.download", "POST", "/api/v1/exports/{id}/download", RouteAuth::kCapability,
     "member.export", RouteTarget::kExportPath,
     "Produce your approved export, once: the file sealed to your public key"},
    {"leaks.trace", "POST", "/api/v1/leaks/trace", RouteAuth::kCapability, "privacy.breach",
     RouteTarget::kNone, "Name the export a leaked file came from, by the canaries in it"},
};

constexpr const ApiRoute* FindApiRoute(std::string_view id) {
  for (const ApiRoute& r : kApiRoutes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace switchboard::server
