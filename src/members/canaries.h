// Canaries in the register (RULEBOOK §10): how many each unit holds, for
// planting more (privacy/canary.h). Only the `canaries` table marks one.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::members {

struct UnitCanaries {
  UnitId unit;
  std::string name;           // the unit's name (a canary's town)
  std::string district;       // a postcode district of its members ("" when none)
  std::int64_t canaries = 0;  // with purpose `purpose`
};

// Every unit holding members (erased ones aside), lowest id first, with the
// canaries of `purpose` among them.
Result<std::vector<UnitCanaries>> CanariesByUnit(store::Tx& tx, std::string_view purpose);

// The canaries (of any purpose) holding a contact point of `kind` ("email",
// "phone") with `blind_index`, lowest id first: whether mail or a call to
// that address or number reaches a canary's (privacy/canary_contact.h).
Result<std::vector<MemberId>> CanariesHolding(store::Tx& tx, std::string_view kind,
                                              std::string_view blind_index);

// Every canary's member id, whatever its purpose: they are no real people
// (a breach's affected members leave them out, privacy/breach.h).
Result<std::set<std::int64_t>> CanaryIds(store::Tx& tx);

// The source most of the register came from ("native" for an empty one).
Result<std::string> CommonestSource(store::Tx& tx);

}  // namespace switchboard::members
