// The privacy module's tables (subject-access requests, member report links,
// erasures and retention runs, exports and their canaries, the breach
// register), as steps of the one schema (docs/data-model.md);
// schema::AllMigrations() gathers them.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::privacy {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::privacy
