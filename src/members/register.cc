#include "members/register.h"

#include <algorithm>

#include "members/erase.h"
#include "members/preferences.h"

namespace switchboard::members {

namespace {

store::Value OptInt(const std::optional<std::int64_t>& v) {
  return v ? store::Value(*v) : store::Value();
}
store::Value OptInt(const std::optional<int>& v) {
  return OptInt(v ? std::optional<std::int64_t>(*v) : std::nullopt);
}

Status InsertChildren(store::Tx& tx, std::int64_t id, const MemberRecord& r,
                      std::uint32_t suppressions, Micros now, std::string_view change_source,
                      std::optional<std::uint32_t> old_consents,
                      std::optional<std::uint32_t> old_suppressions) {
  for (const SealedContact& c : r.contacts) {
    SB_RETURN_IF_ERROR(
        tx.Exec("INSERT INTO contact_points (member_id, kind, label, key_id, sealed, blind_index, "
                "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                {id, c.kind, c.label, static_cast<std::int64_t>(c.sealed.key_id),
                 store::Value::Bytes(c.sealed.bytes), store::Value::Bytes(c.blind_index), now}));
  }
  std::optional<Preferences> before;
  if (old_consents) before = Preferences{*old_consents, old_suppressions.value_or(0)};
  SB_RETURN_IF_ERROR(RecordPreferenceHistory(
      tx, MemberId(id), before, Preferences{r.consents, suppressions}, change_source, now));
  return Status::Ok();
}

}  // namespace

Result<UpsertResult> UpsertMember(store::Tx& tx, const MemberRecord& r, Micros now,
                                  std::string_view change_source) {
  SB_ASSIGN_OR_RETURN(std::optional<MemberId> existing,
                      FindBySourceId(tx, r.source, r.external_id));
  if (existing) {
    SB_ASSIGN_OR_RETURN(UpsertOutcome o, UpdateMemberFrom(tx, *existing, r, now, change_source));
    return UpsertResult{*existing, o};
  }
  SB_ASSIGN_OR_RETURN(MemberId id, InsertMember(tx, r, now, change_source));
  return UpsertResult{id, UpsertOutcome::kInserted};
}

Result<MemberId> InsertMember(store::Tx& tx, const MemberRecord& r, Micros now,
                              std::string_view change_source) {
  const store::Value branch =
      OptInt(r.branch.valid() ? std::optional<std::int64_t>(r.branch.value()) : std::nullopt);
  const store::Value birth = OptInt(r.birth_year);
  // An address or number erased earlier stays suppressed when it comes back.
  SB_ASSIGN_OR_RETURN(std::uint32_t listed, SuppressionsForContacts(tx, r.contacts));
  const std::uint32_t suppressions = r.suppressions | listed;
  std::int64_t id = 0;
  SB_RETURN_IF_ERROR(tx.Query(
      "INSERT INTO members (source, external_id, unit_id, branch_id, first_name, last_name, "
      "birth_year, postcode_district, status, membership_type, joined_on, lapsed_on, consents, "
      "suppressions, content_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
      "$8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
      {r.source, r.external_id, r.unit.value(), branch, r.first_name, r.last_name, birth,
       r.postcode_district, r.status, r.membership_type, OptInt(r.joined_on), OptInt(r.lapsed_on),
       static_cast<std::int64_t>(r.consents), static_cast<std::int64_t>(suppressions),
       store::Value::Bytes(r.content_hash), now},
      [&](const store::Row& row) {
        id = row.Int(0);
        return false;
      }));
  SB_RETURN_IF_ERROR(
      InsertChildren(tx, id, r, suppressions, now, change_source, std::nullopt, std::nullopt));
  return MemberId(id);
}

Result<std::optional<MemberId>> FindBySourceId(store::Tx& tx, std::string_view source,
                                               std::string_view external_id) {
  std::optional<MemberId> id;
  SB_RETURN_IF_ERROR(tx.Query("SELECT id FROM members WHERE source = $1 AND external_id = $2",
                              {std::string(source), std::string(external_id)},
                              [&](const store::Row& row) {
                                id = MemberId(row.Int(0));
                                return false;
                              }));
  return id;
}

Result<std::vector<ContactMatch>> FindByContactIndexes(store::Tx& tx,
                                                       const std::vector<std::string>& email_bi,
                                                       const std::vector<std::string>& phone_bi) {
  std::vector<ContactMatch> out;
  // Per kind, one IN list over the indexed column, reading at most
  // kMaxContactHolders + 1 holders (no ORDER BY or DISTINCT: either would read
  // them all first), and the holders' names only when they are few.
  for (const char* kind : {"email", "phone"}) {
    const auto& bis = std::string_view(kind) == "email" ? email_bi : phone_bi;
    if (bis.empty()) continue;
    std::string in;
    std::vector<store::Value> params;
    for (const std::string& bi : bis) {
      params.push_back(store::Value::Bytes(bi));
      in += (params.size() > 1 ? ", $" : "$") + std::to_string(params.size());
    }
    std::vector<std::int64_t> ids;
    SB_RETURN_IF_ERROR(tx.Query("SELECT member_id FROM contact_points WHERE blind_index IN (" + in +
                                    ") AND kind = '" + kind + "' LIMIT " +
                                    std::to_string(kMaxContactHolders + 1),
                                params, [&](const store::Row& row) {
                                  ids.push_back(row.Int(0));
                                  return true;
                                }));
    const bool too_many = ids.size() > static_cast<size_t>(kMaxContactHolders);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (too_many) {
      while (ids.size() <= static_cast<size_t>(kMaxContactHolders)) ids.push_back(0);
      for (std::int64_t id : ids) out.push_back({MemberId(id), kind, "", ""});
      continue;
    }
    for (std::int64_t id : ids) {
      ContactMatch m{MemberId(id), kind, "", ""};
      SB_RETURN_IF_ERROR(tx.Query("SELECT first_name, last_name FROM members WHERE id = $1", {id},
                                  [&](const store::Row& row) {
                                    m.first_name = std::string(row.Text(0));
                                    m.last_name = std::string(row.Text(1));
                                    return false;
                                  }));
      out.push_back(std::move(m));
    }
  }
  return out;
}

Result<std::vector<MemberId>> FindByNameAndDistrict(store::Tx& tx, std::string_view first_name,
                                                    std::string_view last_name,
                                                    std::string_view district, int limit) {
  std::vector<MemberId> out;
  if (district.empty() || last_name.empty()) return out;
  auto lower = [](std::string_view s) {
    std::string o(s);
    for (char& c : o) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return o;
  };
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT id FROM members WHERE postcode_district = $1 AND lower(last_name) = $2 AND "
               "lower(first_name) = $3 ORDER BY id LIMIT $4",
               {std::string(district), lower(last_name), lower(first_name),
                static_cast<std::int64_t>(limit)},
               [&](const store::Row& row) {
                 out.push_back(MemberId(row.Int(0)));
                 return true;
               }));
  return out;
}

Result<UpsertOutcome> UpdateMemberFrom(store::Tx& tx, MemberId member, const MemberRecord& r,
                                       Micros now, std::string_view change_source) {
  const std::int64_t id = member.value();
  std::string old_hash;
  std::uint32_t old_consents = 0, old_suppressions = 0;
  bool found = false;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT content_hash, consents, suppressions FROM members WHERE id = $1", {id},
               [&](const store::Row& row) {
                 found = true;
                 old_hash = std::string(row.Bytes(0));
                 old_consents = static_cast<std::uint32_t>(row.Int(1));
                 old_suppressions = static_cast<std::uint32_t>(row.Int(2));
                 return false;
               }));
  if (!found) return Status::NotFound("no member " + std::to_string(id));
  if (old_hash == r.content_hash) return UpsertOutcome::kUnchanged;
  const store::Value branch =
      OptInt(r.branch.valid() ? std::optional<std::int64_t>(r.branch.value()) : std::nullopt);
  const store::Value birth = OptInt(r.birth_year);
  SB_ASSIGN_OR_RETURN(std::uint32_t listed, SuppressionsForContacts(tx, r.contacts));
  const std::uint32_t suppressions = r.suppressions | listed;
  SB_RETURN_IF_ERROR(tx.Exec(
      "UPDATE members SET unit_id = $2, branch_id = $3, first_name = $4, last_name = $5, "
      "birth_year = $6, postcode_district = $7, status = $8, membership_type = $9, joined_on = "
      "$10, lapsed_on = $11, consents = $12, suppressions = $13, content_hash = $14, updated_at = "
      "$15 WHERE id = $1",
      {id, r.unit.value(), branch, r.first_name, r.last_name, birth, r.postcode_district, r.status,
       r.membership_type, OptInt(r.joined_on), OptInt(r.lapsed_on),
       static_cast<std::int64_t>(r.consents), static_cast<std::int64_t>(suppressions),
       store::Value::Bytes(r.content_hash), now}));
  SB_RETURN_IF_ERROR(tx.Exec("DELETE FROM contact_points WHERE member_id = $1", {id}));
  SB_RETURN_IF_ERROR(
      InsertChildren(tx, id, r, suppressions, now, change_source, old_consents, old_suppressions));
  return UpsertOutcome::kUpdated;
}

Status PlantCanary(store::Tx& tx, MemberId id, Micros now, std::string_view purpose) {
  return tx
      .Exec(
          "INSERT INTO canaries (member_id, planted_at, purpose) VALUES ($1, $2, $3) ON "
          "CONFLICT (member_id) DO NOTHING",
          {id.value(), now, purpose})
      .status();
}

Result<RegisterCounts> CountRegister(store::Tx& tx) {
  RegisterCounts c;
  SB_ASSIGN_OR_RETURN(c.members, tx.QueryInt("SELECT COUNT(*) FROM members"));
  SB_ASSIGN_OR_RETURN(c.contact_points, tx.QueryInt("SELECT COUNT(*) FROM contact_points"));
  SB_ASSIGN_OR_RETURN(c.canaries, tx.QueryInt("SELECT COUNT(*) FROM canaries"));
  SB_ASSIGN_OR_RETURN(c.units, tx.QueryInt("SELECT COUNT(*) FROM units"));
  return c;
}

Result<std::int64_t> CountMembers(store::Tx& tx) {
  return tx.QueryInt("SELECT COUNT(*) FROM members");
}

Result<std::optional<UnitId>> BusiestUnit(store::Tx& tx, std::uint32_t consent) {
  std::optional<UnitId> unit;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT unit_id FROM members WHERE (consents & $1) <> 0 AND suppressions = 0 AND status = "
      "'current' GROUP BY unit_id ORDER BY COUNT(*) DESC, unit_id LIMIT 1",
      {static_cast<std::int64_t>(consent)}, [&](const store::Row& r) {
        unit = UnitId(r.Int(0));
        return false;
      }));
  return unit;
}

}  // namespace switchboard::members
