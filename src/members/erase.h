// Erasing a member from the register (RULEBOOK §10), and the one list that
// outlives an erasure: contact suppressions, keyed hashes of the e-mail
// addresses and phone numbers nobody may contact again. Called by
// privacy::Erase in its transaction; nothing here audits.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "members/register.h"
#include "store/store.h"

namespace switchboard::members {

// The status of an erased member's row (the tombstone that keeps its id).
inline constexpr std::string_view kErasedStatus = "erased";

// Rows removed or rewritten, by table name.
using EraseCounts = std::map<std::string, std::int64_t>;

// The member's contact points as stored (sealed), e-mail and phone first.
// kNotFound when no member has this id.
Result<std::vector<SealedContact>> ContactPointsOf(store::Tx& tx, MemberId id);

// Whether the member's row is a tombstone already.
Result<bool> IsErased(store::Tx& tx, MemberId id);

// Turns member `id` into a tombstone: names, birth year, postcode district,
// dates, external id and content hash emptied, status "erased", every
// contact point, consent and suppression history row deleted. With
// `suppress`, the blind index of each e-mail and phone contact point goes on
// the contact-suppression list first (reason `reason`). kNotFound for no
// such member, kFailedPrecondition when it is erased already.
Result<EraseCounts> EraseMember(store::Tx& tx, MemberId id, bool suppress, std::string_view reason,
                                Micros now);

// Members whose status is "lapsed" and whose lapse date (days since
// 1970-01-01) is before `before_day`, lowest id first, at most `limit`.
// A lapsed member without a lapse date is never chosen: nobody can say when
// the period started (docs/privacy.md).
Result<std::vector<MemberId>> LapsedBefore(store::Tx& tx, std::int64_t before_day, int limit);

// Adds a blind index (kind "email" or "phone", crypto::Sealer::BlindIndex of
// the match key or E.164) to the contact-suppression list; true when new.
Result<bool> SuppressContact(store::Tx& tx, std::string_view kind, std::string_view blind_index,
                             std::string_view reason, Micros now);

// Whether a blind index is on the contact-suppression list.
Result<bool> ContactSuppressed(store::Tx& tx, std::string_view kind, std::string_view blind_index);

// The suppression bits a record's contact points call for: kNoEmail for a
// suppressed e-mail address, kNoPhone and kNoSms for a suppressed phone.
Result<std::uint32_t> SuppressionsForContacts(store::Tx& tx,
                                              const std::vector<SealedContact>& contacts);

}  // namespace switchboard::members
