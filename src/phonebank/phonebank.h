// The phone bank (RULEBOOK §6): campaigns, invitation links, assignment of
// one member at a time, outcomes and surveys, progress. Plain functions
// inside the caller's store transaction; the HTTP layer (server/api.cc)
// decides first (phonebank.manage for organisers, phonebank.call for
// callers, over the campaign's scope) and records the audit event in the
// same transaction.
//
// Everything that ends does so by comparing times, never by a job: a
// campaign refuses calling at `ends_at`; the grants made by joining carry the
// campaign's end as their source end (access::GrantInForce); links expire no
// later than the campaign; leases carry their own expiry.
//
// Callers never choose whom to call: Next() picks one member of the
// campaign's audience (fixed into campaign_targets when it goes live) that
// still has phone consent, is not suppressed, is not a canary, is due (recall
// interval, passes left) and is not leased to anyone; a caller holds at most
// one lease, and asking again returns the same one. All of it runs on the
// store's single writer, so two callers can never lease the same member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "access/policy/decision.h"
#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "core/time_zone.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "members/register.h"
#include "segment/segment.h"
#include "store/store.h"

namespace switchboard::phonebank {

// ---- campaigns (campaigns.cc) ----------------------------------------------

using CampaignId = Id<struct CampaignIdTag>;
using InviteId = Id<struct InviteIdTag>;
using CallId = Id<struct CallIdTag>;

enum class CampaignState { kDraft, kLive, kPaused, kEnded, kKilled };
std::string_view StateName(CampaignState s);
std::optional<CampaignState> ParseState(std::string_view s);

// Who is called: a segment (segment/segment.h) inside the campaign's scope,
// as the organiser chose it (units, statuses, membership types, consents,
// joined and lapsed date ranges, not contacted since), with the callable
// rules always on top, whatever was chosen: phone consent, none of the
// do-not-contact, no-phone, moved or deceased suppressions, never a canary
// (AudienceOf). A valid phone number is checked per member as well, when the
// audience is counted, when it is fixed and at every lease.
constexpr std::uint32_t kNotCallable =
    members::kDoNotContact | members::kDeceased | members::kMoved | members::kNoPhone;

// The audience a campaign gets when none is chosen: current members of the
// scope (the callable rules apply as always).
segment::Segment DefaultAudience();

struct SurveyQuestion {
  std::string id;
  std::string question;
  std::string type;  // yesno, choice, scale, text
  std::vector<std::string> options;
};

// Pace per caller (RULEBOOK §6 defaults): `burst` new contacts, then at most
// one per `interval_seconds`, `per_hour` and `per_day` at most.
struct Pace {
  int burst = 3;
  int interval_seconds = 15;
  int per_hour = 120;
  int per_day = 600;
};

// Who may join: any signed-in active account (default), or only accounts
// linked to a current member inside the campaign's scope.
struct Eligibility {
  bool members_in_scope_only = false;
  int min_membership_years = 0;
  // People who are not members may sign themselves up from an invitation by
  // proving an e-mail address of their own (access/store/enrolment.h).
  bool non_members_may_sign_up = false;
};

// The field classes a campaign may show callers.
const std::vector<std::string>& CallerFieldNames();  // first_name, membership_years, branch

struct Campaign {
  CampaignId id;
  std::string name;
  AccountId owner;
  UnitId scope;
  std::string purpose;
  segment::Segment audience = DefaultAudience();  // its scope is always `scope`
  std::string script;                             // Markdown, shown as text
  std::vector<SurveyQuestion> survey;
  std::vector<std::string> fields = {"first_name", "membership_years", "branch"};
  int calling_start = 9 * 60;  // minutes after midnight, the organisation's time zone
  int calling_end = 21 * 60;
  Micros starts_at = 0;
  Micros ends_at = 0;
  CampaignState state = CampaignState::kDraft;
  Eligibility eligibility;
  Pace pace;
  int recall_minutes = 240;
  int max_passes = 3;
  Micros created_at = 0;
  Micros updated_at = 0;
  // 1 when created; each saved change adds one (live edits included), so a
  // caller's script and an audit event can say which version they mean.
  int version = 1;
  // The number both phones show (From and P-Asserted-Identity), E.164; empty:
  // the organisation's default. Only a number the organisation lists as its
  // own (CallerLine) is accepted.
  std::string caller_id_number;
  // How long the member's phone rings before the call ends as no answer, in
  // seconds (kMinRingSeconds to kMaxRingSeconds); 0: the server's default.
  int ring_seconds = 0;
};

// The organisation's calling line ([telephony] in the configuration): the
// numbers its campaigns may present and the default ring time. A campaign
// chooses among these; it can never present a number not listed here, so a
// campaign cannot spoof one (docs/telephony.md, "Caller ID per campaign").
struct CallerLine {
  std::string default_number;        // [telephony] caller_id; may be empty
  std::vector<std::string> numbers;  // [telephony] caller_ids
  int default_ring_seconds = 30;     // [telephony] ring_seconds
  // default_number and numbers, without repeats, in that order.
  std::vector<std::string> Choices() const;
  bool Listed(std::string_view e164) const;
};
inline constexpr int kMinRingSeconds = 10;
inline constexpr int kMaxRingSeconds = 60;

// A caller ID as an organiser typed it ("+44 1632 960001", "01632 960001",
// read as a UK number without a country code) in E.164. kInvalidArgument
// naming the field; the message never repeats the input.
Result<std::string> ParseCallerIdNumber(std::string_view text);

// Checks a campaign's caller ID (E.164 and listed in `line`) and ring time
// (0, or kMinRingSeconds to kMaxRingSeconds). kInvalidArgument naming the
// field.
Status ValidateLine(const Campaign& c, const CallerLine& line);

// The campaign's audience as it is counted, fixed and stored: the scope set
// to the campaign's and the callable rules added.
segment::Segment AudienceOf(const Campaign& c);

// The audience from its JSON form in the API: a segment (segment.h) without
// a scope, or with the campaign's own. Statuses default to ["current"];
// `consents` and `suppressions_none` add to the callable rules (listing
// "phone" or "no_phone" is allowed and changes nothing); "exclude_canaries":
// false is refused. Errors are kInvalidArgument naming the field
// ("audience.units[1]: ...").
Result<segment::Segment> ParseAudience(std::string_view json, const members::OrgTree& tree,
                                       UnitId scope);

// Checks a campaign definition against the policy (window no longer than the
// caller role's maximum grant, calling hours inside the policy's), the tree
// and itself. kInvalidArgument naming the field.
Status Validate(const Campaign& c, const access::Policy& policy, const members::OrgTree& tree);

// Stores the audience as AudienceOf(c) in its JSON form (units by code).
Result<CampaignId> InsertCampaign(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                  Micros now);
// The tree reads the stored audience (units by code).
Result<Campaign> GetCampaign(store::Tx& tx, const members::OrgTree& tree, CampaignId id);
// Just the scope, for deciding who may act on the campaign.
Result<UnitId> CampaignScope(store::Tx& tx, CampaignId id);

// What may change, and when (docs/phonebank.md, "Changing a campaign"):
//  - a draft: everything but its scope;
//  - live or paused: the script, the fields shown to callers, the caller ID
//    and the ring time only (the last two as a carrier's trouble may need). The
//    audience was fixed when it went live, callers joined under its purpose,
//    name, window, hours, eligibility and pace, and answers already recorded
//    follow its survey; changing any of these is kFailedPrecondition naming
//    the field ("audience: ...");
//  - ended or killed: nothing.
// The fields whose names LiveEditableFields() lists are the live-editable ones.
// script, fields, caller_id_number, ring_seconds
const std::vector<std::string>& LiveEditableFields();
struct CampaignEdit {
  int version = 0;                   // after the edit
  std::vector<std::string> changed;  // API field names, e.g. "script"; empty: nothing changed
};
// Saves `c` over the stored campaign of the same id, under the rules above.
// A change increments the version; saving an unchanged campaign changes
// nothing. `expected_version` (0: any) refuses, with kFailedPrecondition, an
// edit made from an older version than the stored one, so two organisers
// cannot silently overwrite each other.
Result<CampaignEdit> UpdateCampaign(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                    Micros now, int expected_version = 0);

struct CampaignRole {
  Campaign campaign;
  std::string role;  // organiser or caller
};
// Campaigns the account owns or has joined as a caller.
Result<std::vector<CampaignRole>> ListCampaigns(store::Tx& tx, const members::OrgTree& tree,
                                                AccountId account);

// How many members AudienceOf(c) holds now who also have a valid phone
// number: exactly the members going live now would fix as targets.
Result<std::int64_t> CountAudience(store::Tx& tx, const members::OrgTree& tree, const Campaign& c);

// State changes: draft -> live (fixes AudienceOf(c), members with a valid
// phone number, into campaign_targets),
// live <-> paused, live/paused -> ended or killed (final). Returns the
// number of targets when going live.
Result<std::int64_t> SetState(store::Tx& tx, const members::OrgTree& tree, Campaign& c,
                              CampaignState to, Micros now);

// Whether calling is open now; otherwise kFailedPrecondition with a message
// a caller understands (ended on <date>, paused, not started, outside hours).
// Calling hours are the organisation's wall clock in `zone` ([organisation]
// time_zone in switchboard.toml), daylight saving included; a refusal for
// the hours names them, the zone and the time there now.
Status CallingOpen(const Campaign& c, const TimeZone& zone, Micros now);

// ---- invitations (invitations.cc) ------------------------------------------

struct Invite {
  InviteId id;
  CampaignId campaign;
  std::string label;
  AccountId created_by;
  Micros created_at = 0;
  Micros expires_at = 0;
  int max_joins = 0;
  int joins = 0;
  Micros revoked_at = 0;
};

struct Joined {
  AccountId account;
  std::string display_name;
  InviteId invite;
  Micros joined_at = 0;
};

struct NewInvite {
  Invite invite;
  std::string token;  // shown once; the link is /join/<token>
};

// expires_at 0: the campaign's end; never later than it.
Result<NewInvite> CreateInvite(store::Tx& tx, const Campaign& c, AccountId by,
                               std::string_view label, Micros expires_at, int max_joins,
                               Micros now);
Result<std::vector<Invite>> ListInvites(store::Tx& tx, CampaignId campaign);
Result<std::vector<Joined>> ListJoined(store::Tx& tx, CampaignId campaign);
Status RevokeInvite(store::Tx& tx, CampaignId campaign, InviteId invite, Micros now);
// The invite a token opens; kNotFound for an unknown token.
Result<Invite> FindInvite(store::Tx& tx, std::string_view token);

// Whether `account` may join through `invite` now: kFailedPrecondition for
// a link that expired, was revoked or is used up, or a campaign that ended,
// was killed or has not gone live; kPermissionDenied when not eligible.
Status CheckJoin(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                 const Invite& invite, AccountId account, Micros now);
struct JoinResult {
  access::GrantId grant;
  Micros not_after = 0;
  bool already = false;  // had joined before; nothing changed
};
// CheckJoin, then a `caller` grant over the campaign's scope whose source is
// campaign:<id> and which ends with the campaign.
Result<JoinResult> Join(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                        const Invite& invite, AccountId account, Micros now);

// ---- calling (calling.cc) --------------------------------------------------

struct Contact {
  MemberId member;  // stays on the server: callers get an opaque `ref`
  std::optional<std::string> first_name;
  std::optional<int> membership_years;
  std::optional<std::string> branch;
  std::optional<std::string> ask_for;  // when others share the number: whom to ask for
  std::string script;                  // the campaign's script for this member (ScriptFor)
};

// The campaign's script for one contact: a Mustache template
// (messaging/template.h, BodyKind::kScript) with the merge fields of e-mail
// that a caller may see, {{first_name}} and {{unit_name}} (the member's
// unit). ContactFor passes each only when the campaign shows callers that
// field class (first_name; branch for where the member belongs), and ""
// otherwise ({{^first_name}}...{{/first_name}} copes). A script stored
// before scripts were checked that no longer compiles is shown as written.
std::string ScriptFor(const Campaign& c, std::string_view first_name, std::string_view unit_name);

struct Lease {
  MemberId member;
  // The call row written when the member was leased: connect and outcome
  // act on it. Zero only for a lease taken before schema v12.
  CallId call;
  Micros expires_at = 0;
  bool renewed = false;  // the caller already held it
};

struct NextResult {
  std::optional<Lease> lease;  // empty: nobody is left to call now
  Micros retry_at = 0;         // when pace-limited
  std::string pace_limit;      // "burst", "hour", "day" when pace-limited
};

constexpr Micros kLeaseMicros = 10 * 60 * kMicrosPerSecond;

// The caller's current lease, or the next member to call (pace permitting).
Result<NextResult> Next(store::Tx& tx, const Campaign& c, AccountId caller, Micros now);
// The fields the campaign shows callers, and its script filled in with them
// (ScriptFor), for a leased member. Like every
// member read (access/store/member_reader.h) it takes the Decision that
// allowed it: an allow for phonebank.call over the campaign's scope.
Result<Contact> ContactFor(store::Tx& tx, const access::Decision& decision,
                           const members::OrgTree& tree, const Campaign& c, MemberId member,
                           Micros now);

// "HH:MM" for minutes after midnight.
std::string FormatMinutes(int minutes);
// The caller's live lease in this campaign, if any: the member and the call.
Result<std::optional<Lease>> CurrentLease(store::Tx& tx, const Campaign& c, AccountId caller,
                                          Micros now);

const std::vector<std::string>& OutcomeNames();
// Records the outcome of the caller's current lease and releases it:
// answered -> never again in this campaign; no_answer, busy, voicemail ->
// back after the recall interval, up to max_passes; do_not_call -> phone
// suppressed for every campaign; wrong_number -> the number is marked
// invalid; moved, deceased -> suppressed. Answers are checked against the
// survey. Returns the member.
Result<MemberId> RecordOutcome(store::Tx& tx, const Campaign& c, AccountId caller,
                               std::string_view outcome, const std::string& answers_json,
                               Micros now);

// ---- progress (progress.cc) ------------------------------------------------

// A campaign's figures (docs/phonebank.md, "Progress and results"):
//  - targets: members fixed as the audience when it went live;
//  - to_call: targets not finished that can still be called: phone consent,
//    none of the suppressions that end phone contact, a valid number, not a
//    canary (the rules Next() leases by); a target suppressed meanwhile by
//    another campaign's "do not call" is no longer counted;
//  - done: targets finished (answered, passes used up, or an outcome that
//    ends calling: wrong number, do not call, moved, deceased);
//  - calls: calls with an outcome recorded; conversations: those answered;
//  - in_progress: targets leased to a caller now;
//  - live: the campaign's calls going on now, by state (connector.h), as
//    the connector last recorded them.
struct Progress {
  std::int64_t targets = 0;
  std::int64_t to_call = 0;
  std::int64_t done = 0;
  std::int64_t calls = 0;
  std::int64_t conversations = 0;
  std::int64_t in_progress = 0;
  struct Live {
    std::int64_t calling_you = 0;
    std::int64_t calling_member = 0;
    std::int64_t connected = 0;
  };
  Live live;
  std::vector<std::pair<std::string, std::int64_t>> by_outcome;
  // The same figures per unit of the members called, most calls first.
  struct UnitRow {
    std::string unit;  // the unit's name
    std::int64_t targets = 0;
    std::int64_t to_call = 0;
    std::int64_t done = 0;
    std::int64_t calls = 0;
  };
  std::vector<UnitRow> by_unit;
  struct CallerRow {
    AccountId account;
    std::string display_name;
    std::int64_t calls = 0;
    std::int64_t conversations = 0;
  };
  std::vector<CallerRow> by_caller;
};
Result<Progress> CampaignProgress(store::Tx& tx, const members::OrgTree& tree, CampaignId c,
                                  Micros now);

// ---- results (results.cc) --------------------------------------------------

// Survey results are aggregates over the campaign's answered calls; no
// member, caller or free text appears. A breakdown cell (a unit or a day)
// with fewer than kSmallCell responses to a question shows its number of
// responses only, never how they answered, so that a small branch's one
// answer cannot be read back to a person. Campaign-wide totals are shown
// whatever their size (they are over the whole audience).
inline constexpr std::int64_t kSmallCell = 5;

struct AnswerCounts {
  std::int64_t responses = 0;
  // Per answer option, in QuestionResult::options order; empty when
  // withheld, and for free-text questions (whose answers are never shown).
  std::vector<std::int64_t> counts;
  bool withheld = false;  // fewer than kSmallCell responses in a breakdown
};

struct QuestionResult {
  SurveyQuestion question;
  // The answers counted: yes/no, the choices, 1-5; none for free text.
  std::vector<std::string> options;
  AnswerCounts total;
  std::vector<std::pair<std::string, AnswerCounts>> by_unit;  // unit name, by name
  std::vector<std::pair<std::string, AnswerCounts>> by_day;   // "YYYY-MM-DD", in order
};

// Calls with an outcome recorded in one hour or day of the organisation's
// time zone ("2026-03-02T10:00" or "2026-03-02"): buckets with calls only.
struct TimeBucket {
  std::string at;
  std::int64_t index = 0;  // hours (or days) since 1970-01-01 00:00 on the local clock
  std::int64_t calls = 0;
  std::int64_t answered = 0;
};

struct Results {
  std::int64_t calls = 0;
  std::int64_t answered = 0;  // answered calls: the surveys' denominator
  std::vector<std::pair<std::string, std::int64_t>> by_outcome;
  std::vector<QuestionResult> questions;  // in survey order
  std::vector<TimeBucket> by_hour;
  std::vector<TimeBucket> by_day;
};

// The results of campaign `c`; times bucketed in `zone` (the organisation's).
Result<Results> CampaignResults(store::Tx& tx, const members::OrgTree& tree, const Campaign& c,
                                const TimeZone& zone);

// The results as CSV (core/csv.h, formulas neutralised): one row per
// question, breakdown, group and answer, with counts and percentages; no
// member-level row. Withheld cells have their responses and empty counts.
std::string ResultsCsv(const Campaign& c, const Results& r);

struct CallerStats {
  std::int64_t calls = 0;
  std::int64_t conversations = 0;
  int streak_days = 0;
  std::vector<std::string> badges;  // first_call, ten_conversations, hundred_calls
};
Result<CallerStats> StatsFor(store::Tx& tx, AccountId caller, Micros now);

}  // namespace switchboard::phonebank
