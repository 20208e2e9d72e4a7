#include "members/holdings.h"

#include <utility>

#include "members/register.h"

namespace switchboard::members {

Result<HeldMember> HeldAbout(store::Tx& tx, const crypto::Sealer& sealer, MemberId id) {
  HeldMember m;
  bool found = false;
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT source, external_id, unit_id, branch_id, first_name, last_name, birth_year, "
      "postcode_district, status, membership_type, joined_on, lapsed_on, consents, suppressions, "
      "created_at, updated_at FROM members WHERE id = $1",
      {id.value()}, [&](const store::Row& r) {
        found = true;
        m.id = id;
        m.source = r.Text(0);
        m.external_id = r.Text(1);
        m.unit = UnitId(r.Int(2));
        if (!r.IsNull(3)) m.branch = UnitId(r.Int(3));
        m.first_name = r.Text(4);
        m.last_name = r.Text(5);
        if (!r.IsNull(6)) m.birth_year = static_cast<int>(r.Int(6));
        m.postcode_district = r.TextOr(7);
        m.status = r.Text(8);
        m.membership_type = r.Text(9);
        if (!r.IsNull(10)) m.joined_on = r.Int(10);
        if (!r.IsNull(11)) m.lapsed_on = r.Int(11);
        m.consents = static_cast<std::uint32_t>(r.Int(12));
        m.suppressions = static_cast<std::uint32_t>(r.Int(13));
        m.created_at = r.Int(14);
        m.updated_at = r.Int(15);
        return false;
      }));
  if (!found) return Status::NotFound("no member has this id");
  struct Sealed {
    HeldContact c;
    crypto::Sealed s;
  };
  std::vector<Sealed> sealed;
  SB_RETURN_IF_ERROR(
      tx.Query("SELECT kind, label, key_id, sealed, valid, created_at FROM contact_points "
               "WHERE member_id = $1 ORDER BY id",
               {id.value()}, [&](const store::Row& r) {
                 Sealed s;
                 s.c.kind = r.Text(0);
                 s.c.label = r.Text(1);
                 s.s.key_id = static_cast<std::uint32_t>(r.Int(2));
                 s.s.bytes = std::string(r.Bytes(3));
                 s.c.valid = r.Int(4) != 0;
                 s.c.created_at = r.Int(5);
                 sealed.push_back(std::move(s));
                 return true;
               }));
  for (Sealed& s : sealed) {
    auto opened = sealer.Open(s.s, s.c.kind);
    if (!opened) return opened.error().WithContext("a contact point of the member");
    s.c.value = std::move(*opened);
    m.contacts.push_back(std::move(s.c));
  }
  auto history = [&](std::string_view table, std::string_view column,
                     std::vector<HeldPreferenceEvent>& out) {
    return tx.Query(
        "SELECT at, " + std::string(column) + ", source FROM " + std::string(table) +
            " WHERE member_id = $1 ORDER BY at, id",
        {id.value()}, [&](const store::Row& r) {
          out.push_back({r.Int(0), static_cast<std::uint32_t>(r.Int(1)), std::string(r.Text(2))});
          return true;
        });
  };
  SB_RETURN_IF_ERROR(history("consent_events", "consents", m.consent_history));
  SB_RETURN_IF_ERROR(history("suppression_events", "suppressions", m.suppression_history));
  return m;
}

std::vector<std::string> ConsentNames(std::uint32_t bits) {
  std::vector<std::string> out;
  const std::pair<std::uint32_t, const char*> names[] = {{kConsentEmail, "email"},
                                                         {kConsentPhone, "phone"},
                                                         {kConsentSms, "sms"},
                                                         {kConsentCandidates, "candidates"}};
  for (const auto& [bit, name] : names) {
    if (bits & bit) out.emplace_back(name);
  }
  return out;
}

std::vector<std::string> SuppressionNames(std::uint32_t bits) {
  std::vector<std::string> out;
  const std::pair<std::uint32_t, const char*> names[] = {{kDoNotContact, "do_not_contact"},
                                                         {kDeceased, "deceased"},
                                                         {kMoved, "moved"},
                                                         {kNoEmail, "no_email"},
                                                         {kNoPhone, "no_phone"},
                                                         {kNoSms, "no_sms"}};
  for (const auto& [bit, name] : names) {
    if (bits & bit) out.emplace_back(name);
  }
  return out;
}

}  // namespace switchboard::members
