#include "members/canaries.h"

namespace switchboard::members {

Result<std::set<std::int64_t>> CanaryIds(store::Tx& tx) {
  std::set<std::int64_t> out;
  SB_RETURN_IF_ERROR(tx.Query("SELECT member_id FROM canaries", {}, [&](const store::Row& r) {
    out.insert(r.Int(0));
    return true;
  }));
  return out;
}

Result<std::vector<UnitCanaries>> CanariesByUnit(store::Tx& tx, std::string_view purpose) {
  std::vector<UnitCanaries> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT m.unit_id, u.name, MIN(m.postcode_district), COUNT(c.member_id) FROM members m "
      "JOIN units u ON u.id = m.unit_id LEFT JOIN canaries c ON c.member_id = m.id AND "
      "c.purpose = $1 WHERE m.status <> 'erased' GROUP BY m.unit_id, u.name ORDER BY m.unit_id",
      {std::string(purpose)}, [&](const store::Row& r) {
        out.push_back({UnitId(r.Int(0)), std::string(r.Text(1)),
                       r.IsNull(2) ? std::string() : std::string(r.Text(2)), r.Int(3)});
        return true;
      }));
  return out;
}

Result<std::vector<MemberId>> CanariesHolding(store::Tx& tx, std::string_view kind,
                                              std::string_view blind_index) {
  std::vector<MemberId> out;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT DISTINCT p.member_id FROM contact_points p JOIN canaries c ON c.member_id = "
      "p.member_id WHERE p.blind_index = $2 AND p.kind = $1 ORDER BY p.member_id",
      {std::string(kind), store::Value::Bytes(std::string(blind_index))}, [&](const store::Row& r) {
        out.push_back(MemberId(r.Int(0)));
        return true;
      }));
  return out;
}

Result<std::string> CommonestSource(store::Tx& tx) {
  std::string source = "native";
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT source FROM members GROUP BY source ORDER BY COUNT(*) DESC, source LIMIT 1",
               {}, [&](const store::Row& r) {
                 source = std::string(r.Text(0));
                 return false;
               }));
  return source;
}

}  // namespace switchboard::members
