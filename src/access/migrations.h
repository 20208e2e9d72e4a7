// The tables of access/store (accounts, grants, sessions, sign-in throttles,
// the access version) and of access/guard (quotas, anomaly state, alerts), as
// steps of the one schema (docs/data-model.md); schema::AllMigrations()
// gathers them with every other module's.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::access {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::access
