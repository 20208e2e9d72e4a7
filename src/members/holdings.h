// What the register holds about one member, for a subject-access report
// (privacy/): the member row, every contact point opened from its sealed
// form, and the consent and suppression history. Nothing about any other
// member. Personal data: never log it; the caller decides who may see it.
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

struct HeldContact {
  std::string kind;   // email, phone, address
  std::string label;  // primary, mobile, home, postal
  std::string value;  // opened
  bool valid = true;
  Micros created_at = 0;
};

struct HeldPreferenceEvent {
  Micros at = 0;
  std::uint32_t bits = 0;  // consents or suppressions after the change
  std::string source;
};

struct HeldMember {
  MemberId id;
  std::string source;
  std::string external_id;
  UnitId unit;
  UnitId branch;
  std::string first_name;
  std::string last_name;
  std::optional<int> birth_year;
  std::string postcode_district;
  std::string status;
  std::string membership_type;
  std::optional<std::int64_t> joined_on;  // days since 1970-01-01
  std::optional<std::int64_t> lapsed_on;
  std::uint32_t consents = 0;
  std::uint32_t suppressions = 0;
  Micros created_at = 0;
  Micros updated_at = 0;
  std::vector<HeldContact> contacts;
  std::vector<HeldPreferenceEvent> consent_history;
  std::vector<HeldPreferenceEvent> suppression_history;
};

// kNotFound when no member has this id; kDataLoss when a contact point does
// not open.
Result<HeldMember> HeldAbout(store::Tx& tx, const crypto::Sealer& sealer, MemberId id);

// The names of the consent and suppression bits set in `bits`
// ("email", "phone", ...; "do_not_contact", "deceased", ...).
std::vector<std::string> ConsentNames(std::uint32_t bits);
std::vector<std::string> SuppressionNames(std::uint32_t bits);

}  // namespace switchboard::members
