// The member register's storage: one MemberRecord in, the rows of members,
// contact_points, consent_events and suppression_events out, in the caller's
// transaction. Upserts are idempotent: a record whose content hash matches
// the stored one changes nothing.
//
// MemberRecord holds personal data (names; contact points only in sealed
// form). It deliberately has no formatter or stream operator, so it cannot be
// logged; log MemberId instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::members {

// Consents (bit flags, current state; history in consent_events).
enum Consent : std::uint32_t {
  kConsentEmail = 1,
  kConsentPhone = 2,
  kConsentSms = 4,
  kConsentCandidates = 8,  // contact by internal-election candidates
};

// Suppressions (bit flags, current state; history in suppression_events).
enum Suppression : std::uint32_t {
  kDoNotContact = 1,
  kDeceased = 2,
  kMoved = 4,
  kNoEmail = 16,
  kNoPhone = 32,
  kNoSms = 64,
};

// Membership statuses, as stored.
inline constexpr const char* kStatuses[] = {"current", "lapsed", "arrears", "suspended",
                                            "resigned"};

struct SealedContact {
  std::string kind;   // email, phone, address
  std::string label;  // primary, mobile, home, postal
  crypto::Sealed sealed;
  std::string blind_index;
};

struct MemberRecord {
  std::string source;       // native, nationbuilder, civicrm, synthetic
  std::string external_id;  // unique within source
  UnitId unit;              // constituency-level unit
  UnitId branch;            // optional
  std::string first_name;
  std::string last_name;
  std::optional<int> birth_year;
  std::string postcode_district;
  std::string status = "current";
  std::string membership_type = "standard";
  std::optional<std::int64_t> joined_on;  // days since 1970-01-01
  std::optional<std::int64_t> lapsed_on;
  std::uint32_t consents = 0;
  std::uint32_t suppressions = 0;
  std::vector<SealedContact> contacts;
  // Keyed hash over every imported value (plaintext contacts included), so
  // re-imports can tell "unchanged" without decrypting.
  std::string content_hash;
};

enum class UpsertOutcome { kInserted, kUpdated, kUnchanged };

struct UpsertResult {
  MemberId id;
  UpsertOutcome outcome;
};

// Inserts or updates one member by (source, external_id).
Result<UpsertResult> UpsertMember(store::Tx& tx, const MemberRecord& record, Micros now,
                                  std::string_view change_source);

// Inserts a member the caller knows is not stored under (source, external_id).
Result<MemberId> InsertMember(store::Tx& tx, const MemberRecord& record, Micros now,
                              std::string_view change_source);

// The member stored under (source, external_id), if any.
Result<std::optional<MemberId>> FindBySourceId(store::Tx& tx, std::string_view source,
                                               std::string_view external_id);

// A member holding an e-mail or phone contact point whose blind index is one
// of those asked for, with the stored name (for telling household phones
// apart). Each member appears once per kind, and at most kMaxContactHolders
// + 1 per kind: a contact point held by more members than that (an office
// line, a shared inbox) identifies nobody, and the caller needs to know only
// that there are too many (then ids beyond those read are the invalid id).
inline constexpr int kMaxContactHolders = 5;
struct ContactMatch {
  MemberId id;
  std::string kind;  // email or phone
  std::string first_name;
  std::string last_name;
};
Result<std::vector<ContactMatch>> FindByContactIndexes(store::Tx& tx,
                                                       const std::vector<std::string>& email_bi,
                                                       const std::vector<std::string>& phone_bi);

// Members with this last name (case-insensitive, ASCII), first name (same)
// and postcode district, at most `limit` of them, lowest id first.
Result<std::vector<MemberId>> FindByNameAndDistrict(store::Tx& tx, std::string_view first_name,
                                                    std::string_view last_name,
                                                    std::string_view district, int limit);

// Replaces member `id`'s fields and contact points with `record`'s, keeping
// the member's own source and external id (an import matching a member it
// did not create). Unchanged when the content hash is the stored one.
Result<UpsertOutcome> UpdateMemberFrom(store::Tx& tx, MemberId id, const MemberRecord& record,
                                       Micros now, std::string_view change_source);

// Marks a member as a canary (seed record). Only the canaries table knows.
Status PlantCanary(store::Tx& tx, MemberId id, Micros now, std::string_view purpose);

struct RegisterCounts {
  std::int64_t members = 0;
  std::int64_t contact_points = 0;
  std::int64_t canaries = 0;
  std::int64_t units = 0;
};
Result<RegisterCounts> CountRegister(store::Tx& tx);
// How many members the register holds (one index count; /metrics and `status`).
Result<std::int64_t> CountMembers(store::Tx& tx);
// The unit with the most current members who gave `consent` and suppressed
// nothing (ties: the lowest id); nullopt for an empty register.
Result<std::optional<UnitId>> BusiestUnit(store::Tx& tx, std::uint32_t consent);

}  // namespace switchboard::members
