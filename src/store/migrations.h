// The migration runner, shared by both backends. The schema itself lives with
// the modules that own its tables (src/<module>/migrations.cc), gathered in
// order by schema::AllMigrations(); each step is SQL written once with a few
// dialect tokens ({{pk}}, {{int}}, {{blob}}). Opening a store applies the
// pending versions, each in its own transaction recorded in
// schema_migrations; a database newer than the steps given is refused.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "store/internal/connection.h"
#include "store/store.h"

namespace switchboard::store {

// The store's own table: settings (version 1, after the member register's
// tables), small facts about the database itself such as the keyring and
// policy it is bound to.
std::span<const Migration> Migrations();

// Checks that `steps` can be applied: not empty, each with a module, a name
// and SQL, versions 1, 2, 3, ... without gaps and the steps of one version
// adjacent.
Status CheckMigrations(std::span<const Migration> steps);

// The newest version in `steps` (0 if there are none).
int LatestVersion(std::span<const Migration> steps);

// Expands the dialect tokens.
std::string ExpandDialect(std::string_view sql, Dialect dialect);

// Applies the pending versions of `steps` on `conn`; returns the version
// reached.
Result<int> Migrate(internal::Connection& conn, std::span<const Migration> steps);

// Reads the applied version (0 for an empty database).
Result<int> ReadSchemaVersion(Tx& tx);

}  // namespace switchboard::store
