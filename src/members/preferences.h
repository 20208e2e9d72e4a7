// A member's consents and suppressions (members/register.h's bits), and the
// one place they are written after import: the member row and its history
// (consent_events, suppression_events) change together, in the caller's
// transaction. Used by the member's own pages, bounces and complaints, and
// suppression lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::members {

struct Preferences {
  std::uint32_t consents = 0;
  std::uint32_t suppressions = 0;
  bool operator==(const Preferences&) const = default;
};

// The member's preferences; nullopt when no member has this id.
Result<std::optional<Preferences>> GetPreferences(store::Tx& tx, MemberId id);

// Writes `after` over `before` (as read in `tx`) with the history rows,
// naming `source` (e.g. "member:preferences"); nothing when unchanged.
// Returns whether anything changed.
Result<bool> SetPreferences(store::Tx& tx, MemberId id, const Preferences& before,
                            const Preferences& after, std::string_view source, Micros now);

// Adds suppression `bits` (a bounce, a complaint, a suppression list) to a
// member; returns whether the member changed (false: already suppressed, or
// no such member).
Result<bool> AddSuppressions(store::Tx& tx, MemberId id, std::uint32_t bits,
                             std::string_view source, Micros now);

// The history rows for a change from `before` (nullopt: a new member) to
// `after`: a consent event when consents changed, a suppression event when
// suppressions changed (or a new member starts suppressed).
Status RecordPreferenceHistory(store::Tx& tx, MemberId id, const std::optional<Preferences>& before,
                               const Preferences& after, std::string_view source, Micros now);

}  // namespace switchboard::members
