#include "members/erase.h"

namespace switchboard::members {

Result<std::vector<SealedContact>> ContactPointsOf(store::Tx& tx, MemberId id) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.QueryInt("SELECT COUNT(*) FROM members WHERE id = $1", {id.value()}));
  if (n == 0) return Status::NotFound("no member " + std::to_string(id.value()));
  std::vector<SealedContact> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT kind, label, key_id, sealed, blind_index FROM contact_points WHERE member_id = $1 "
      "ORDER BY id",
      {id.value()}, [&](const store::Row& r) {
        out.push_back(
            {std::string(r.Text(0)), std::string(r.Text(1)),
             crypto::Sealed{static_cast<std::uint32_t>(r.Int(2)), std::string(r.Bytes(3))},
             std::string(r.Bytes(4))});
        return true;
      }));
  return out;
}

Result<bool> IsErased(store::Tx& tx, MemberId id) {
  SB_ASSIGN_OR_RETURN(std::int64_t n,
                      tx.QueryInt("SELECT COUNT(*) FROM members WHERE id = $1 AND status = $2",
                                  {id.value(), std::string(kErasedStatus)}));
  return n > 0;
}

Result<EraseCounts> EraseMember(store::Tx& tx, MemberId id, bool suppress, std::string_view reason,
                                Micros now) {
  SB_ASSIGN_OR_RETURN(std::vector<SealedContact> contacts, ContactPointsOf(tx, id));
  SB_ASSIGN_OR_RETURN(bool erased, IsErased(tx, id));
  if (erased) {
    return Status::FailedPrecondition("member " + std::to_string(id.value()) +
                                      " is erased already");
  }
  EraseCounts counts;
  if (suppress) {
    std::int64_t added = 0;
    for (const SealedContact& c : contacts) {
      if (c.kind != "email" && c.kind != "phone") continue;
      SB_ASSIGN_OR_RETURN(bool is_new, SuppressContact(tx, c.kind, c.blind_index, reason, now));
      if (is_new) ++added;
    }
    counts["contact_suppressions"] = added;
  }
  const std::int64_t m = id.value();
  SB_ASSIGN_OR_RETURN(counts["contact_points"],
                      tx.Exec("DELETE FROM contact_points WHERE member_id = $1", {m}));
  SB_ASSIGN_OR_RETURN(counts["consent_events"],
                      tx.Exec("DELETE FROM consent_events WHERE member_id = $1", {m}));
  SB_ASSIGN_OR_RETURN(counts["suppression_events"],
                      tx.Exec("DELETE FROM suppression_events WHERE member_id = $1", {m}));
  SB_ASSIGN_OR_RETURN(
      counts["members"],
      tx.Exec("UPDATE members SET external_id = $2, first_name = '', last_name = '', "
              "birth_year = NULL, postcode_district = NULL, status = $3, joined_on = NULL, "
              "lapsed_on = NULL, consents = 0, suppressions = $4, content_hash = $5, "
              "updated_at = $6 WHERE id = $1",
              {m, "erased:" + std::to_string(m), std::string(kErasedStatus),
               static_cast<std::int64_t>(kDoNotContact), store::Value::Bytes(""), now}));
  return counts;
}

Result<std::vector<MemberId>> LapsedBefore(store::Tx& tx, std::int64_t before_day, int limit) {
  std::vector<MemberId> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id FROM members WHERE status = 'lapsed' AND lapsed_on IS NOT NULL AND lapsed_on < "
      "$1 ORDER BY id LIMIT $2",
      {before_day, static_cast<std::int64_t>(limit)}, [&](const store::Row& r) {
        out.push_back(MemberId(r.Int(0)));
        return true;
      }));
  return out;
}

Result<bool> SuppressContact(store::Tx& tx, std::string_view kind, std::string_view blind_index,
                             std::string_view reason, Micros now) {
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.Exec("INSERT INTO contact_suppressions (kind, blind_index, reason, created_at) VALUES "
              "($1, $2, $3, $4) ON CONFLICT DO NOTHING",
              {std::string(kind), store::Value::Bytes(std::string(blind_index)),
               std::string(reason), now}));
  return n > 0;
}

Result<bool> ContactSuppressed(store::Tx& tx, std::string_view kind, std::string_view blind_index) {
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.QueryInt("SELECT COUNT(*) FROM contact_suppressions WHERE kind = $1 AND blind_index = $2",
                  {std::string(kind), store::Value::Bytes(std::string(blind_index))}));
  return n > 0;
}

Result<std::uint32_t> SuppressionsForContacts(store::Tx& tx,
                                              const std::vector<SealedContact>& contacts) {
  std::uint32_t bits = 0;
  for (const SealedContact& c : contacts) {
    if (c.kind != "email" && c.kind != "phone") continue;
    SB_ASSIGN_OR_RETURN(bool listed, ContactSuppressed(tx, c.kind, c.blind_index));
    if (listed) bits |= c.kind == "email" ? kNoEmail : (kNoPhone | kNoSms);
  }
  return bits;
}

}  // namespace switchboard::members
