// The contest module's tables (contests, their rulebook versions,
// nominations, candidates' standing and the equal-access ledger), as steps of
// the one schema (docs/data-model.md); schema::AllMigrations() gathers them.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::contest {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::contest
