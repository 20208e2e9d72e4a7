// Contests (RULEBOOK §8): the rulebook in force, nominations and who
// qualifies, the one instant of data release, the equal-access ledger and
// the contest's report — and the rules every other part of the platform
// consults while a contest runs:
//  - ContestRules is an access::OverlaySource: the gate (access/guard/gate.h)
//    asks it for the contests in force and passes them to access::Decide, the
//    one decision point. Its overlay vetoes (a) any capability of a candidate
//    campaign's account that is not used through the contest's own grants
//    (data release: before it there are none), and (b) a staff account's
//    draft, approval or send of anything that names a candidate while
//    neutrality is in force, unless the staffer is on leave for a campaign
//    or it names every qualifying candidate (an official notice, which the
//    returning officer must then approve before it is sent).
//  - It is messaging's SendHooks and the phone bank's CampaignHooks: a
//    candidate campaign's mailing or phone bank reaches only the contest's
//    electorate who consented to contact by candidates and ends at ballot
//    close; an endorsement's statement keeps to the word limit; every
//    facility a campaign uses goes into the ledger, and every rival gets a
//    matching entitlement.
// The compiled contests are cached and re-read only when contest_version
// changes (every write here bumps it), like the access version.
//
// ContestOperations run in the caller's transaction and append their own
// audit events (with the audit `contest` column set) there.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "access/guard/gate.h"
#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "contest/rulebook.h"
#include "contest/text.h"
#include "core/mutex.h"
#include "members/org_tree.h"
#include "messaging/messaging.h"
#include "phonebank/operations.h"
#include "store/store.h"

namespace switchboard::contest {

// One contest as the rules use it: its rulebook in force, with accounts
// resolved to ids.
struct Compiled {
  std::int64_t id = 0;
  std::string slug;
  UnitId scope;
  int version = 0;
  Micros released_at = 0;  // when data release ran (0: not yet)
  Rulebook rb;
  std::shared_ptr<const NameMatcher> names;
  std::map<std::int64_t, std::string> candidate_of;        // campaign account -> candidate id
  std::set<std::int64_t> staff;                            // accounts named staff in the rulebook
  std::map<std::int64_t, std::vector<LeaveRecord>> leave;  // by account
  std::int64_t returning_officer = 0;
  std::set<std::int64_t> committee;
  std::map<std::string, Micros, std::less<>> qualified;  // candidate -> access from

  bool Live(Micros t) const { return rb.NeutralityAt(t); }
  bool IsStaff(std::int64_t account, bool staff_flag) const {
    return (rb.staff_flag && staff_flag) || staff.count(account) > 0;
  }
  // The candidate `account` works for at `t` (a campaign account, or staff on
  // leave for it); "" for none.
  std::string CampaignOf(std::int64_t account, Micros t) const;
};

// What `account` is in contest `c` at `t`: "returning_officer",
// "procedures_committee", "candidate:<id>" (a campaign's account),
// "on_leave:<id>", "staff" (bound by neutrality). Empty: the contest does not
// bind it.
std::vector<std::string> PartsOf(const Compiled& c, std::int64_t account, bool staff_flag,
                                 Micros t);
// Whether `account` may read the contest's standing, nominations and ledger:
// the returning officer, the committee, the candidates' campaigns, and anyone
// holding contest.manage (`manager`).
bool MayRead(const Compiled& c, std::int64_t account, bool manager);

struct Snapshot {
  std::int64_t version = -1;
  std::vector<Compiled> contests;
};

class ContestRules final : public access::OverlaySource,
                           public messaging::SendHooks,
                           public phonebank::CampaignHooks {
 public:
  explicit ContestRules(const members::OrgTree& tree) : tree_(tree) {}

  // The contests as `tx` sees them (cached by contest_version).
  Result<std::shared_ptr<const Snapshot>> Current(store::Tx& tx) const;

  // access::OverlaySource
  Result<std::vector<std::shared_ptr<const access::Overlay>>> InForce(store::Tx& tx,
                                                                      Micros now) const override;
  // messaging::SendHooks
  Status Shape(store::Tx& tx, const access::Acting& who, messaging::Message& m) const override;
  std::vector<messaging::RuleCheck> Check(store::Tx& tx, const messaging::Message& m,
                                          AccountId sender, bool sender_is_staff,
                                          Micros now) const override;
  std::string SecondApprovalReason(store::Tx& tx, const messaging::Message& m, AccountId sender,
                                   bool sender_is_staff, Micros now) const override;
  Status Sent(store::Tx& tx, const access::Acting& who, const messaging::Message& m,
              std::int64_t recipients) const override;
  std::optional<access::Decision> OwnApproval(store::Tx& tx, const access::Acting& who,
                                              const messaging::Message& m) const override;
  // phonebank::CampaignHooks
  Status Shape(store::Tx& tx, const access::Acting& who, phonebank::Campaign& c) const override;
  Status Launched(store::Tx& tx, const access::Acting& who, const phonebank::Campaign& c,
                  std::int64_t targets) const override;

 private:
  const members::OrgTree& tree_;
  mutable Mutex mu_;
  mutable std::shared_ptr<const Snapshot> cached_ SB_GUARDED_BY(mu_);
};

// ---- the ledger --------------------------------------------------------------

struct LedgerEntry {
  std::int64_t id = 0;
  Micros at = 0;
  std::string candidate;     // "*" for an official notice (all alike)
  std::string entry;         // "used", "entitlement", "released"
  std::string facility;      // "mailing", "phonebank", "notice", "data", "export"
  std::int64_t size = 0;     // recipients, audience or members released
  std::string ref;           // "message:12", "campaign:4", "grant:7"
  std::int64_t matches = 0;  // entitlement: the use it matches; use: the entitlement it used
  Micros used_at = 0;        // entitlement: when it was used (0: not yet)
  std::string used_ref;
  std::int64_t account = 0;  // who used it (0 for the system)
};

// Records that `candidate`'s campaign used `facility` of `size` (by `who`):
// the use, and either the entitlement it consumes or a matching entitlement
// for every other qualifying candidate. Each entry is an audit event.
Status RecordUse(store::Tx& tx, const Compiled& c, const access::Acting& who,
                 std::string_view candidate, std::string_view facility, std::int64_t size,
                 std::string_view ref);

// ---- operations ----------------------------------------------------------------

struct ContestSummary {
  std::int64_t id = 0;
  std::string slug, name;
  int version = 0;
  std::string sha256;
  Phase phase = Phase::kBefore;
  Micros released_at = 0;
};

struct CandidateStanding {
  std::string candidate, name;
  Qualification qualification;
  Micros qualified_at = 0;                          // 0: not (yet) recorded as qualified
  Micros access_from = 0;                           // when its grants start (0: none)
  std::map<std::string, std::int64_t> nominations;  // by body
};

struct Standing {
  ContestSummary contest;
  std::vector<CandidateStanding> candidates;
  std::map<std::string, std::int64_t, std::less<>> unit_counts;  // eligible units by body
};

struct NominationInput {
  std::string body;
  std::string nominator;  // unit code, affiliate id, or a person's identifier
  std::string candidate;
  std::string decided_by;       // "all-member meeting", "executive committee", ...
  std::int64_t meeting_on = 0;  // days since 1970-01-01
  std::int64_t votes_for = 0, votes_against = 0, votes_abstaining = 0;
};

struct Nomination : NominationInput {
  std::int64_t id = 0;
  Micros recorded_at = 0;
  std::int64_t recorded_by = 0;
};

struct ReportLine {
  std::int64_t index = 0;  // audit log index
  Micros at = 0;
  std::string action, decision, rule;
  std::int64_t actor = 0;
  std::string actor_name;
  std::int64_t on_behalf_of = 0;
  std::int64_t grant = 0;
  std::int64_t message = 0, campaign = 0;
  std::string leaf_hash;  // hex: what an inclusion proof proves
};

class ContestOperations {
 public:
  ContestOperations(const access::Policy& policy, const members::OrgTree& tree,
                    const ContestRules& rules)
      : policy_(policy), tree_(tree), rules_(rules) {}

  // ParseRulebook plus the checks against the store (the scope and every
  // account named must exist); nothing is written.
  Result<Rulebook> Validate(store::Tx& tx, std::string_view text,
                            std::string_view source_name) const;
  // Validates `text` (ParseRulebook plus the accounts and scope it names)
  // and stores it as a new contest ("contest.load"). `who` without an
  // account is the operator at the command line.
  Result<ContestSummary> Load(store::Tx& tx, const access::Acting& who, std::string_view text,
                              std::string_view source_name) const;
  // A new version of a loaded contest's rulebook. Before announcement the
  // returning officer (or the operator) replaces it at once; once the
  // contest is announced it waits for a second approver ("contest.amend").
  // Returns the version number proposed (and whether it is in force).
  Result<std::pair<int, bool>> Amend(store::Tx& tx, const access::Acting& who,
                                     std::string_view slug, std::string_view text,
                                     std::string_view source_name) const;
  // A second person (not the proposer) holding contest.manage puts a
  // proposed version in force ("contest.amend_approve").
  Status ApproveAmendment(store::Tx& tx, const access::Acting& who, std::string_view slug,
                          int version) const;
  Result<std::vector<ContestSummary>> List(store::Tx& tx, Micros now) const;
  Result<Compiled> Get(store::Tx& tx, std::string_view slug) const;
  Result<Compiled> GetById(store::Tx& tx, std::int64_t id) const;
  // The contests `who` may see (that bind it, or all for a manager), with
  // its parts in each.
  Result<std::vector<std::pair<Compiled, std::vector<std::string>>>> Visible(
      store::Tx& tx, const access::Acting& who, bool manager) const;
  // Who may see a contest: any account it binds (or a manager), or only
  // those who may read its standing and ledger (MayRead).
  enum class Viewing { kBound, kReader };
  // Contest `id` as `viewer` sees it, with its parts in it; kNotFound when
  // the viewer may not (the contest is not theirs to know about).
  Result<std::pair<Compiled, std::vector<std::string>>> View(store::Tx& tx,
                                                             const access::Acting& viewer,
                                                             std::int64_t id, bool manager,
                                                             Viewing need) const;
  struct RulebookVersion {
    int version = 0;
    std::string text, sha256;
  };
  // Version `version` (0: the one in force), as stored.
  Result<RulebookVersion> RulebookText(store::Tx& tx, std::string_view slug, int version) const;

  // Records one nomination ("contest.nominate"); a nominator nominates at
  // most one candidate per contest. After nominations close, a candidate
  // who now qualifies gets access at once (Release).
  Result<Nomination> Nominate(store::Tx& tx, const access::Acting& who, std::string_view slug,
                              const NominationInput& n) const;
  Result<std::vector<Nomination>> Nominations(store::Tx& tx, std::string_view slug) const;
  // Who qualifies at `now` and why.
  Result<Standing> StandingOf(store::Tx& tx, std::string_view slug, Micros now) const;

  // From nominations close: every qualifying candidate without grants gets
  // them, all with the same start (data release; or now for a candidate who
  // qualifies after it), ending at ballot close; one transaction, audited
  // ("contest.release"). Returns how many candidates were released.
  Result<int> Release(store::Tx& tx, const access::Acting& who, std::string_view slug) const;
  // Release for every contest that is due (serve runs this every second).
  Result<int> Tick(store::Tx& tx, const access::Acting& who) const;
  // Whether some contest is due for Release at `now` (read only, cached).
  Result<bool> Due(store::Tx& tx, Micros now) const;

  // The ledger; `viewer` must be the returning officer, the procedures
  // committee, a candidate's account, or hold contest.manage over the scope
  // (kNotFound otherwise: the contest is not theirs to know about).
  Result<std::vector<LedgerEntry>> Ledger(store::Tx& tx, const access::Acting& viewer,
                                          std::string_view slug, bool manager) const;
  // Every audit event under the contest's rules or touching its electorate
  // through a candidate campaign, an official notice or a staff message that
  // named a candidate.
  Result<std::vector<ReportLine>> Report(store::Tx& tx, std::string_view slug) const;

 private:
  const access::Policy& policy_;
  const members::OrgTree& tree_;
  const ContestRules& rules_;
};

}  // namespace switchboard::contest
