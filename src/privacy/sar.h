// Subject access (RULEBOOK §10, UK GDPR Art. 15): everything Switchboard
// holds about one member, gathered from each module that holds it through
// that module's own HeldAbout() (members/, messaging/, phonebank/,
// access/; contest/ holds nothing per member), with every audit event that
// names the member: when, by which role in which unit, for which purpose,
// what was done, allowed or refused.
//
// The report is about one member only: audit events keep their own id and
// drop every other member they named (a search page lists many); messages
// are their template, not another recipient's copy; calls are the member's
// own with their own answers.
//
// Two readers: the DPO (Audience::kDpo: account names, client networks,
// register source ids) and the member themself (Audience::kMember:
// volunteers by role and unit unless the policy names them). Rendered as
// JSON, as a self-contained HTML document (everything escaped, no external
// resource), and as PDF through headless Chromium (PrintToPdf).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/acting.h"
#include "access/store/holdings.h"
#include "audit/audit_log.h"
#include "crypto/sealer.h"
#include "members/holdings.h"
#include "members/org_tree.h"
#include "messaging/holdings.h"
#include "phonebank/holdings.h"
#include "store/store.h"

namespace switchboard::privacy {

// One audit event about the member, with who acted as the report shows it.
struct AuditEntry {
  std::int64_t seq = -1;
  Micros at = 0;
  std::string action;
  std::string decision;  // allow, deny, or empty (a system event)
  std::string rule;
  std::optional<std::int64_t> actor;  // account id
  std::string actor_name;             // the account's display name (DPO only)
  bool actor_is_member = false;       // the member acting for themself
  std::string role;                   // from the event's grant, or empty
  UnitId unit;                        // the grant's scope
  std::string purpose;                // the campaign's, else the grant's
  std::vector<std::string> field_classes;
  std::optional<std::int64_t> campaign;
  std::optional<std::int64_t> message;
  std::string client;        // truncated network (DPO only)
  bool with_others = false;  // the event also named other members (not shown)
  // Below the newest checkpoint: the stored event's leaf hash and its
  // inclusion proof in that checkpoint's tree (RFC 6962), and the event's
  // canonical bytes, the leaf's input (audit::Encode).
  bool provable = false;
  audit::Hash leaf_hash{};
  std::vector<audit::Hash> proof;
  std::string body;
};

struct Report {
  Micros generated_at = 0;
  members::HeldMember member;
  messaging::HeldMail mail;
  phonebank::HeldCalls calls;
  access::HeldAccess access;
  std::vector<AuditEntry> audit;
  // The newest signed checkpoint: events with seq below its size carry their
  // inclusion proof in it (read from one pass over the log's leaves).
  std::int64_t checkpoint_size = 0;
  Micros checkpoint_at = 0;
  std::optional<audit::SignedCheckpoint> checkpoint;
};

// Gathers the report in `tx` (reads only).
Result<Report> BuildReport(store::Tx& tx, const crypto::Sealer& sealer, MemberId member,
                           Micros now);

// BuildReport, recorded: a "privacy.sar" event naming the member and every
// field class, by `who` under its decision (the gate or the caller decided
// privacy.sar; a member asking through their one-time link has none).
Result<Report> SubjectAccess(store::Tx& tx, const crypto::Sealer& sealer, const access::Acting& who,
                             MemberId member);

// Fills in the leaf hash and inclusion proof of each event below the
// report's checkpoint, from one read of the log's leaves. Those events and
// the checkpoint never change, so callers run this in a read transaction of
// its own once SubjectAccess has committed: reading the whole log inside the
// writing transaction would hold the store's writer for as long.
Status AddProofs(store::Store& store, Report& r);

enum class Audience { kDpo, kMember };

struct RenderOptions {
  Audience audience = Audience::kDpo;
  // Policy [privacy] name_volunteers: members see volunteers' names.
  bool name_volunteers = false;
  std::string organisation;  // the organisation's name, for the heading
  // Member pages only: HTML inserted after the summary (the consent form),
  // already escaped by its author.
  std::string member_form_html;
};

nlohmann::json ReportJson(const Report& r, const members::OrgTree& tree, const RenderOptions& o);
std::string ReportHtml(const Report& r, const members::OrgTree& tree, const RenderOptions& o);

// The Content-Security-Policy the HTML document needs (its one inline
// style, by hash; no script, nothing fetched; forms post to this origin),
// as its <meta> carries it; a server adds frame-ancestors in the header.
std::string ReportCsp();

// Checks every proof in a report's JSON (ReportJson) without the database:
// the checkpoint's signature by `key`, each event's inclusion proof up to the
// checkpoint's root, and, where the report carries an event's bytes, that
// they hash to its leaf and name its number. `switchboard audit check-report`.
struct ProofCheck {
  std::int64_t tree_size = 0;
  std::int64_t verified = 0;          // events whose proof holds
  std::int64_t with_bytes = 0;        // of those, checked from the event's own bytes too
  std::int64_t unprovable = 0;        // newer than the checkpoint: nothing to check yet
  std::vector<std::string> failures;  // "event 12: ..." for each that failed
  bool ok() const { return failures.empty(); }
};
// kInvalidArgument when the JSON is not a report; kDataLoss when the
// checkpoint's signature fails (nothing else can then be trusted).
Result<ProofCheck> CheckReportProofs(const nlohmann::json& report, const audit::VerifyKey& key);

// Plain words for an audit action ("looked at your record").
std::string DescribeAction(std::string_view action);

// Prints `html` to PDF with headless Chromium (`chromium` is the binary:
// a path, or empty for $CHROMIUM_BIN, then Debian's /usr/bin/chromium, as
// tests/browser finds it). kUnavailable naming the package when no binary is
// found; kInternal when printing fails. No network: the document is
// self-contained and Chromium runs with networking disabled.
Result<std::string> PrintToPdf(const std::string& html, const std::string& chromium);
// The Chromium binary PrintToPdf would use, or empty.
std::string FindChromium(const std::string& configured);

}  // namespace switchboard::privacy
