// What access holds about one member, for a subject-access report
// (privacy/): the accounts linked to their member record with those
// accounts' grants, and the one-time links made for them (never the
// token). Reads only; who may ask is decided by the caller.
#pragma once

#include <string>
#include <vector>

#include "access/store/access_store.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/store.h"

namespace switchboard::access {

struct HeldLink {
  std::string purpose;
  Micros created_at = 0;
  Micros expires_at = 0;
  Micros used_at = 0;  // 0: not used
};

struct HeldAccount {
  AccountId id;
  std::string login;
  std::string display_name;
  std::string state;
  Micros created_at = 0;
  std::vector<Grant> grants;
};

struct HeldAccess {
  std::vector<HeldAccount> accounts;
  std::vector<HeldLink> links;
};

Result<HeldAccess> HeldAbout(store::Tx& tx, MemberId member, Micros now);

// The role, scope and purpose of each grant asked for (for naming who acted
// in audit events), by id; ids with no grant are left out.
Result<std::vector<Grant>> GrantsByIds(store::Tx& tx, const std::vector<std::int64_t>& ids);

// The purposes grants are given for, by role (records of processing): how
// many grants name each, and how many of those are in force at `now`.
struct GrantPurpose {
  std::string role;
  std::string purpose;
  std::int64_t grants = 0;
  std::int64_t in_force = 0;
};
Result<std::vector<GrantPurpose>> GrantPurposes(store::Tx& tx, Micros now);

}  // namespace switchboard::access
