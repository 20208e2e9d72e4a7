// Versioned schema migrations, shared by both backends. Each migration is one
// SQL script written once with a few dialect tokens ({{pk}}, {{int}}, {{blob}})
// and applied in its own transaction, recorded in schema_migrations. Opening a
// store applies what is pending; a database newer than this binary is refused.
#pragma once

#include <string>
#include <vector>

#include "store/internal/connection.h"

namespace switchboard::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;  // statements separated by ';' at line ends
};

// All migrations in order. Versions are 1, 2, 3, ... without gaps.
const std::vector<Migration>& AllMigrations();

// Expands the dialect tokens.
std::string ExpandDialect(std::string_view sql, Dialect dialect);

// Applies pending migrations on `conn`; returns the version reached.
Result<int> Migrate(internal::Connection& conn);

// Reads the applied version (0 for an empty database).
Result<int> ReadSchemaVersion(Tx& tx);

}  // namespace switchboard::store
