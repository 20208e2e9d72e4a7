#include "members/preferences.h"

namespace switchboard::members {

Result<std::optional<Preferences>> GetPreferences(store::Tx& tx, MemberId id) {
  std::optional<Preferences> p;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT consents, suppressions FROM members WHERE id = $1", {id.value()},
      [&](const store::Row& r) {
        p = Preferences{static_cast<std::uint32_t>(r.Int(0)), static_cast<std::uint32_t>(r.Int(1))};
        return false;
      }));
  return p;
}

Status RecordPreferenceHistory(store::Tx& tx, MemberId id, const std::optional<Preferences>& before,
                               const Preferences& after, std::string_view source, Micros now) {
  if (!before || before->consents != after.consents) {
    SB_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO consent_events (member_id, at, consents, source) VALUES ($1, $2, $3, $4)",
        {id.value(), now, static_cast<std::int64_t>(after.consents), std::string(source)}));
  }
  if ((!before && after.suppressions != 0) ||
      (before && before->suppressions != after.suppressions)) {
    SB_RETURN_IF_ERROR(tx.Exec(
        "INSERT INTO suppression_events (member_id, at, suppressions, source) VALUES ($1, $2, "
        "$3, $4)",
        {id.value(), now, static_cast<std::int64_t>(after.suppressions), std::string(source)}));
  }
  return Status::Ok();
}

Result<bool> SetPreferences(store::Tx& tx, MemberId id, const Preferences& before,
                            const Preferences& after, std::string_view source, Micros now) {
  if (before == after) return false;
  SB_RETURN_IF_ERROR(tx.Exec("UPDATE members SET consents = $2, suppressions = $3, "
                             "updated_at = $4 WHERE id = $1",
                             {id.value(), static_cast<std::int64_t>(after.consents),
                              static_cast<std::int64_t>(after.suppressions), now})
                         .status());
  SB_RETURN_IF_ERROR(RecordPreferenceHistory(tx, id, before, after, source, now));
  return true;
}

Result<bool> AddSuppressions(store::Tx& tx, MemberId id, std::uint32_t bits,
                             std::string_view source, Micros now) {
  SB_ASSIGN_OR_RETURN(std::optional<Preferences> before, GetPreferences(tx, id));
  if (!before) return false;
  Preferences after = *before;
  after.suppressions |= bits;
  return SetPreferences(tx, id, *before, after, source, now);
}

}  // namespace switchboard::members
