// The one schema: every module's migrations (src/<module>/migrations.cc) in
// one list, the list every caller passes to the store (StoreOptions). A module
// that owns tables declares its steps in its own migrations.h; this library
// gathers them, and schema_test checks that none is missing and that a fresh
// database gets the schema in testdata/.
#pragma once

#include <vector>

#include "store/store.h"

namespace switchboard::schema {

// All steps ordered by version; steps that share a version run from the top
// module down (see migrations.cc).
const std::vector<store::Migration>& AllMigrations();

}  // namespace switchboard::schema
