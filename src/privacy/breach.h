// The breach register (RULEBOOK §10, UK GDPR Articles 33 and 34): each
// personal-data breach as the DPO recorded it, the 72-hour deadline for
// reporting it to the regulator (from the moment it was discovered), what was
// done and when, and the members it affected.
//
// The affected members are computed from the audit log, by the log's owner
// (audit::AuditLog::Revealed): "everything account X read between T1 and T2"
// or "everything campaign C revealed between T1 and T2", with the field
// classes each read revealed. The result is stored with the incident as a
// snapshot (breach_members), so the register says what was known when the
// DPO decided, even after the log grows.
//
// Every change is an audit event in the same transaction ("breach.record",
// "breach.update" naming the fields changed, "breach.affected" naming the
// scope). Events hold ids only; the description and categories stay in the
// register.
//
// The drafts (DraftForRegulator, DraftForMembers) are plain text under the
// ICO's headings for the DPO to edit; they hold counts and categories, never
// a member.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy/acting.h"
#include "audit/audit_log.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::privacy {

using BreachId = Id<struct BreachIdTag>;

// 72 hours from discovery (Article 33(1)).
inline constexpr Micros kRegulatorDeadline = 72 * 3600 * kMicrosPerSecond;

// The description and categories; every field required but the last two.
struct BreachDetails {
  std::string description;        // what happened
  std::string data_categories;    // e.g. "names, phone numbers"
  std::string people_categories;  // e.g. "members in two constituencies"
  std::string consequences;       // likely consequences (may be filled in later)
  std::string measures;           // measures taken or proposed (may be filled in later)
};

// Whose reads the affected set gathers: an account's or a campaign's in
// [from, to), or an export's file ("export": the members in it, from its
// export.produce event, by the field classes of its columns; from and to
// are set to when it was produced). Canaries are never counted: the
// export's own are not members, and the register's are no real people.
struct AffectedScope {
  std::string kind;  // "account", "campaign" or "export"
  std::int64_t id = 0;
  Micros from = 0;
  Micros to = 0;
};

struct Breach {
  BreachId id;
  Micros discovered_at = 0;
  Micros recorded_at = 0;
  AccountId recorded_by;  // invalid: recorded at the command line
  BreachDetails details;
  Micros reported_at = 0;  // 0: not yet reported to the regulator
  Micros notified_at = 0;  // 0: members not (yet) told
  Micros closed_at = 0;    // 0: open
  Micros updated_at = 0;
  std::optional<AffectedScope> scope;  // set once the affected set was computed
  Micros computed_at = 0;
  std::int64_t affected = 0;                   // members in the snapshot
  std::map<std::string, std::int64_t> counts;  // members per field class

  Micros deadline() const { return discovered_at + kRegulatorDeadline; }
  // "open", "reported", "notified" or "closed".
  std::string status() const;
};

// Records a breach discovered at `discovered_at` (not after who.now).
Result<BreachId> RecordBreach(store::Tx& tx, const access::Acting& who,
                              const BreachDetails& details, Micros discovered_at);

// A change to a breach; unset fields stay as they are. A time of 0 in
// reported_at / notified_at / closed_at is refused (a record is not undone).
struct BreachUpdate {
  std::optional<std::string> description, data_categories, people_categories, consequences,
      measures;
  std::optional<Micros> discovered_at, reported_at, notified_at, closed_at;
};
Status UpdateBreach(store::Tx& tx, const access::Acting& who, BreachId id, const BreachUpdate& u);

Result<Breach> GetBreach(store::Tx& tx, BreachId id);
// Every breach, newest discovery first.
Result<std::vector<Breach>> ListBreaches(store::Tx& tx);

// Computes the affected members for `scope` from the audit log and stores
// them with the breach, replacing an earlier snapshot.
Result<Breach> ComputeAffected(store::Tx& tx, const access::Acting& who, BreachId id,
                               const AffectedScope& scope);
// The stored snapshot, by member id.
Result<std::vector<audit::RevealedMember>> AffectedMembers(store::Tx& tx, BreachId id);

// Editable drafts. `organisation` and `contact` name the controller and the
// DPO's contact point for the regulator.
std::string DraftForRegulator(const Breach& b, std::string_view organisation,
                              std::string_view contact);
std::string DraftForMembers(const Breach& b, std::string_view organisation,
                            std::string_view contact);

// "2 days 3 hours" left (or "overdue by ...") until the regulator deadline at
// `now`, for a breach not yet reported.
std::string DeadlineText(const Breach& b, Micros now);

}  // namespace switchboard::privacy
