// The audit log's tables, as steps of the one schema (docs/data-model.md);
// schema::AllMigrations() gathers them with every other module's.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::audit {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::audit
