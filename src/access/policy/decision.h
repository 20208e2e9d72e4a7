// Decide: the one decision point. Every action on member data asks it and
// obeys. Deny by default; allow only when the account is active and an
// unexpired, unrevoked, approved grant whose role holds the capability covers
// the target's unit — and every overlay (quotas, contest rules, consent,
// calling hours, added by later modules) allows too. A Decision names the rule
// that decided, the grant used and a reason a person can read; for allows it
// carries the field classes the response may contain.
//
// Pure and thread-safe: everything it needs is passed in, including `now`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "members/org_tree.h"

namespace switchboard::access {

using GrantId = Id<struct GrantIdTag>;

enum class AccountState { kActive, kSuspended, kDisabled };

struct Grant {
  GrantId id;
  AccountId account;
  std::string role;
  UnitId scope;
  std::string purpose;
  Micros not_before = 0;
  Micros not_after = 0;  // mandatory; the grant allows nothing from this instant
  AccountId granted_by;
  std::string reason;
  std::string source = "direct";  // direct, campaign:<id>, contest:<id>
  Micros source_end = 0;          // for derived grants: the source's own end (0 = none)
  Micros revoked_at = 0;          // 0 = not revoked
  bool approved = true;           // privileged grants wait for a second approver
  Micros approved_at = 0;         // when a second approver approved it (0: not needed/yet)
  Micros created_at = 0;          // when it was recorded
};

struct Principal {
  AccountId account;
  AccountState state = AccountState::kActive;
  bool staff = false;
  bool second_factor = false;  // this session passed TOTP
  std::span<const Grant> grants;
};

// What an action would publish to members (a message's subject and bodies, a
// phone-bank script), for overlays that rule on content (contest neutrality).
struct PublicationText {
  std::string field;  // "subject", "text_body", "script", ...
  std::string text;
};
struct Publication {
  std::string kind;  // "message" or "script"
  std::vector<PublicationText> texts;
};

// The campaign or message a request acts on, for overlays that rule on whose
// it is and whom it reaches (a contest's candidate campaigns act only on
// their own, and reach only the consenting electorate).
struct Facility {
  std::string kind;  // "campaign" or "message"
  AccountId owner;   // who created it
  // Its audience's conditions: consent bits all required, statuses (empty:
  // any), joined before this day (days since 1970; nullopt: any).
  std::uint32_t consents_all = 0;
  std::vector<std::string> statuses;
  std::optional<std::int64_t> joined_to;
};

struct Target {
  // The unit the action touches (a member's unit, or the scope acted on).
  // Capabilities that touch no unit (e.g. account.manage) leave it unset and
  // need a grant over the root.
  std::optional<UnitId> unit;
  // What the action publishes, when it publishes anything.
  const Publication* publication = nullptr;
  // The campaign or message it acts on, when it acts on one.
  const Facility* facility = nullptr;
};

struct Decision {
  bool allow = false;
  std::string rule;            // stable name of the rule that decided, e.g. "grant.covers"
  GrantId grant;               // the grant used (allow) or the nearest miss (deny)
  const Role* role = nullptr;  // the grant's role (allow), owned by the Policy
  Micros until = 0;            // allow: when the covering grant ends
  std::int64_t contest = 0;    // the contest whose rules decided (0: none)

  // For people: why. Allows build the text on demand so the hot path does not
  // allocate; denies carry it from the start.
  std::string reason() const;
  // Field classes the response may carry; empty for a deny.
  const std::set<std::string>& fields() const;

  std::string deny_reason;  // set for denies
};

// An overlay may veto an allow (quotas, contest rules, calling hours, ...).
// A veto of one grant's allow does not end the search: another grant that
// covers the target may still allow (a contest grant where a campaign grant
// was vetoed); when none does, the last veto is the answer.
class Overlay {
 public:
  virtual ~Overlay() = default;
  // Returns a deny decision to veto, or nullopt to let the allow stand.
  virtual std::optional<Decision> Check(const Principal& who, std::string_view capability,
                                        const Target& target, Micros now,
                                        const Decision& allow) const = 0;
  // Whether Check would look at the target's publication or facility for
  // `who` (the gate reads them only then).
  virtual bool ReadsContent(const Principal& who, Micros now) const {
    (void)who;
    (void)now;
    return true;
  }
};

Decision Decide(const Policy& policy, const members::OrgTree& tree, const Principal& who,
                std::string_view capability, const Target& target, Micros now,
                std::span<const Overlay* const> overlays = {});

// Whether a grant is in force at `now` (window, revocation, approval, source).
bool GrantInForce(const Grant& g, Micros now);

// The scopes where `who` holds `capability` under a grant in force at `now`.
// Every "where may this account do C" question asks this.
std::vector<UnitId> ScopesHolding(const Policy& policy, const Principal& who,
                                  std::string_view capability, Micros now);

}  // namespace switchboard::access
