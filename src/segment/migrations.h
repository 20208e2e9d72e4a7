// The audience index's own index on the register, as a step of the one
// schema (docs/data-model.md); schema::AllMigrations() gathers it with every
// other module's.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::segment {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::segment
