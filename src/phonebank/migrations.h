// The phone bank's tables (campaigns, invites, callers, targets, calls,
// caller endpoints, the contact log), as steps of the one schema
// (docs/data-model.md); schema::AllMigrations() gathers them with every other
// module's.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::phonebank {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::phonebank
