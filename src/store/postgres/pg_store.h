// PgStore: the PostgreSQL backend over libpq, for deployments that outgrow one
// machine. A group-commit writer connection, a dedicated connection for
// WriteNow, and a pool of reader connections opened on demand; every
// connection keeps its own cache of prepared statements.
//
// Parameters are typed by their Value: integers are sent as BIGINT, reals as
// DOUBLE PRECISION, bytes as BYTEA and text as TEXT (all but text in binary
// form), NULL untyped. A function that wants an INTEGER argument therefore
// needs `CAST($1 AS INTEGER)`, which both dialects accept. Results arrive as
// text, one row at a time (libpq single-row mode), so large results stream;
// when a row callback runs statements of its own, the rest of the outer
// result is first read into memory to free the connection.
// Row::Int accepts integer, boolean and integral NUMERIC columns (SUM(bigint)
// is NUMERIC here); Row::Real accepts any numeric column.
//
// Unlike SQLite, a failed statement aborts the enclosing PostgreSQL
// transaction: after an error, return it from the callback (or use
// INSERT ... ON CONFLICT instead of catching kAlreadyExists).
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace switchboard::store {

// Connects to `url`, a libpq connection URI or key=value string (e.g.
// "postgresql://user@127.0.0.1:5432/db"), and applies pending migrations.
// Fails with kInvalidArgument for a malformed url and kUnavailable when the
// server cannot be reached; migration failures keep their own code.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options = {});

// Restores a pg_dump custom-format archive (Store::BackupTo) into the
// database `url` names, which must hold no relation yet (kFailedPrecondition
// otherwise): pg_restore in one transaction, stopping at the first error.
Status RestorePostgresArchive(const std::string& url, const std::string& archive);

}  // namespace switchboard::store
