#include "schema/migrations.h"

#include <algorithm>
#include <initializer_list>
#include <span>

#include "access/migrations.h"
#include "audit/migrations.h"
#include "contest/migrations.h"
#include "members/migrations.h"
#include "messaging/migrations.h"
#include "phonebank/migrations.h"
#include "privacy/migrations.h"
#include "segment/migrations.h"
#include "store/migrations.h"

namespace switchboard::schema {

const std::vector<store::Migration>& AllMigrations() {
  static const std::vector<store::Migration> kAll = [] {
    // Modules from the top layer down. The steps of one version run in this
    // order, so a lower module's part of a version follows the feature that
    // brought it, as in the single script each version once was: in version
    // 1 the register's tables, then settings (SQLite lists its schema in the
    // order of creation); in version 9 member e-mail, then the audit log's
    // message column.
    const std::initializer_list<std::span<const store::Migration>> modules = {
        privacy::Migrations(),   contest::Migrations(), messaging::Migrations(),
        phonebank::Migrations(), segment::Migrations(), access::Migrations(),
        members::Migrations(),   audit::Migrations(),   store::Migrations(),
    };
    std::vector<store::Migration> all;
    for (std::span<const store::Migration> steps : modules) {
      all.insert(all.end(), steps.begin(), steps.end());
    }
    std::stable_sort(
        all.begin(), all.end(),
        [](const store::Migration& a, const store::Migration& b) { return a.version < b.version; });
    return all;
  }();
  return kAll;
}

}  // namespace switchboard::schema
