#include "privacy/canary.h"

#include <sodium.h>

#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "members/canaries.h"
#include "members/contact.h"
#include "members/draft.h"
#include "members/generate.h"
#include "members/register.h"

namespace switchboard::privacy {

namespace {
constexpr const char* kPurpose = "unit";  // as the generator plants them
constexpr int kTries = 20;
}  // namespace

Result<CanaryPlantSummary> PlantCanaries(store::Store& store, const crypto::Sealer& sealer,
                                         int per_unit, std::string_view email_domain, Micros now) {
  if (per_unit < 1 || per_unit > 100) {
    return Status::InvalidArgument("--per-unit: between 1 and 100");
  }
  auto probe = members::NormaliseEmail("a@" + std::string(email_domain));
  if (!probe) return Status::InvalidArgument("--domain: not a mail domain");
  CanaryPlantSummary sum;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> Status {
    sum = CanaryPlantSummary{};
    SB_ASSIGN_OR_RETURN(std::vector<members::UnitCanaries> units,
                        members::CanariesByUnit(tx, kPurpose));
    SB_ASSIGN_OR_RETURN(std::string source, members::CommonestSource(tx));
    const std::int64_t today = now / kMicrosPerDay;
    for (const members::UnitCanaries& u : units) {
      ++sum.units;
      sum.already += std::min<std::int64_t>(u.canaries, per_unit);
      for (std::int64_t k = u.canaries; k < per_unit; ++k) {
        // A person whose address and number nobody in the register has.
        std::optional<members::MemberDraft> draft;
        for (int t = 0; t < kTries && !draft; ++t) {
          std::uint64_t seed = 0;
          randombytes_buf(&seed, sizeof seed);
          members::MemberDraft d = members::MakeCanaryDraft(
              seed, u.unit, u.name, u.district.empty() ? "SW1A" : u.district, email_domain, today);
          auto email = members::NormaliseEmail(d.email->address);
          if (!email) continue;
          d.email = *email;
          SB_ASSIGN_OR_RETURN(auto holders, members::FindByContactIndexes(
                                                tx, {sealer.BlindIndex("email", email->match_key)},
                                                {sealer.BlindIndex("phone", d.mobile->e164)}));
          if (holders.empty()) draft = std::move(d);
        }
        if (!draft) {
          return Status::ResourceExhausted(
              "no unused drama-range number or address left for another canary");
        }
        draft->base.source = source;
        draft->base.external_id = members::DerivedExternalId(*draft->email, sealer);
        members::MemberRecord r = members::SealDraft(std::move(*draft), sealer);
        SB_ASSIGN_OR_RETURN(MemberId id, members::InsertMember(tx, r, now, "import:" + source));
        SB_RETURN_IF_ERROR(members::PlantCanary(tx, id, now, kPurpose));
        ++sum.planted;
      }
    }
    audit::Event e;
    e.at = now;
    e.action = "canary.plant";
    e.decision = "allow";
    e.rule = "operator";
    e.field_classes = {"units:" + std::to_string(sum.units),
                       "planted:" + std::to_string(sum.planted)};
    return audit::AuditLog::Append(tx, e).status();
  }));
  return sum;
}

}  // namespace switchboard::privacy
