#include "members/draft.h"

#include <nlohmann/json.hpp>

namespace switchboard::members {

namespace {
void Add(std::string* s, std::string_view v) {
  s->append(v);
  s->push_back('\x1f');
}
}  // namespace

std::string DerivedExternalId(const Email& email, const crypto::Sealer& sealer) {
  return "email:" + crypto::ToHex(sealer.BlindIndex("email", email.match_key));
}

MemberRecord SealDraft(MemberDraft d, const crypto::Sealer& sealer) {
  MemberRecord r = std::move(d.base);
  r.contacts.clear();
  std::string canon;
  canon.reserve(256);
  Add(&canon, r.external_id);
  Add(&canon, std::to_string(r.unit.value()));
  Add(&canon, std::to_string(r.branch.value()));
  Add(&canon, r.first_name);
  Add(&canon, r.last_name);
  Add(&canon, r.birth_year ? std::to_string(*r.birth_year) : "");
  Add(&canon, r.postcode_district);
  Add(&canon, r.status);
  Add(&canon, r.membership_type);
  Add(&canon, r.joined_on ? std::to_string(*r.joined_on) : "");
  Add(&canon, r.lapsed_on ? std::to_string(*r.lapsed_on) : "");
  Add(&canon, std::to_string(r.consents));
  Add(&canon, std::to_string(r.suppressions));
  if (d.email) {
    Add(&canon, d.email->address);
    r.contacts.push_back({"email", "primary", sealer.Seal(d.email->address, "email"),
                          sealer.BlindIndex("email", d.email->match_key)});
  } else {
    Add(&canon, "");
  }
  auto add_phone = [&](const std::optional<Phone>& p, const char* label) {
    if (!p) {
      Add(&canon, "");
      return;
    }
    Add(&canon, p->e164);
    r.contacts.push_back(
        {"phone", label, sealer.Seal(p->e164, "phone"), sealer.BlindIndex("phone", p->e164)});
  };
  add_phone(d.phone, "home");
  if (d.mobile && d.phone && d.mobile->e164 == d.phone->e164) d.mobile.reset();
  add_phone(d.mobile, "mobile");
  if (!d.address_line1.empty() || !d.postcode.empty()) {
    nlohmann::json a = {{"line1", d.address_line1},
                        {"line2", d.address_line2},
                        {"town", d.town},
                        {"postcode", d.postcode}};
    const std::string text = a.dump();
    Add(&canon, text);
    r.contacts.push_back(
        {"address", "postal", sealer.Seal(text, "address"), sealer.BlindIndex("address", text)});
  } else {
    Add(&canon, "");
  }
  r.content_hash = sealer.BlindIndex("member-row", canon);
  return r;
}

}  // namespace switchboard::members
