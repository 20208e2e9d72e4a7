// Member e-mail's tables (messages, approvals, checks, the outbox,
// suppression lists, bounces, unsubscribes), as steps of the one schema
// (docs/data-model.md); schema::AllMigrations() gathers them with every other
// module's.
#pragma once

#include <span>

#include "store/store.h"

namespace switchboard::messaging {

std::span<const store::Migration> Migrations();

}  // namespace switchboard::messaging
