// Fuzzes the whole member import: arbitrary bytes as a CSV file, through
// header mapping, row validation, sealing and the SQLite upsert path. The
// first byte picks the profile, the unit column, the batch size and the
// record limit. Checks the import's promise on every input:
// it either refuses the file before writing, or accounts for every row
// (imported + updated + unchanged + rejected = rows) without crashing.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/check.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/keyring.h"
#include "crypto/sealer.h"
#include "members/import.h"
#include "members/org_tree.h"
#include "schema/migrations.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using namespace switchboard;

struct Env {
  std::string dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<crypto::Keyring> keyring;
  std::unique_ptr<crypto::Sealer> sealer;
  members::OrgTree tree;
  ManualClock clock{1'800'000'000LL * kMicrosPerSecond};

  Env() {
    log::SetLevel(log::Level::kError);
    const bool shm = std::filesystem::exists("/dev/shm");
    std::string tmpl = std::string(shm ? "/dev/shm" : "/tmp") + "/sb-import-fuzz-XXXXXX";
    dir = mkdtemp(tmpl.data());
    store::StoreOptions o;
    o.migrations = schema::AllMigrations();
    o.durable = false;
    store = std::move(store::OpenSqliteStore(dir + "/f.db", o).value());
    keyring = crypto::Keyring::Generate();
    sealer = std::make_unique<crypto::Sealer>(*keyring);
    auto specs = members::ParseConstituencyCsv(
        "ons_code,name,region\nE14000530,Aldershot,South East\nE14000531,Aldridge-Brownhills,"
        "West Midlands\nS14000001,Aberdeen North,Scotland\n");
    SB_CHECK(specs.has_value());
    SB_CHECK(store
                 ->WriteNow([&](store::Tx& tx) {
                   SB_RETURN_IF_ERROR(members::SaveUnits(tx, *specs));
                   return tx
                       .Exec(
                           "INSERT INTO postcodes (postcode, unit_id) SELECT 'SW1A1AA', id "
                           "FROM units WHERE code = 'E14000530'")
                       .status();
                 })
                 .ok());
    SB_CHECK(store
                 ->Read([&](store::Tx& tx) -> Status {
                   SB_ASSIGN_OR_RETURN(tree, members::OrgTree::Load(tx));
                   return Status::Ok();
                 })
                 .ok());
  }
  ~Env() { std::filesystem::remove_all(dir); }
};

Env& GetEnv() {
  static Env* env = new Env();  // lives for the whole run
  return *env;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Env& env = GetEnv();
  static const char* kProfiles[] = {"native", "nationbuilder", "civicrm"};
  members::ImportOptions opt;
  opt.profile = kProfiles[data[0] % 3];
  if (data[0] & 4) opt.unit_column = "constituency";
  opt.batch_size = 1 + data[0] % 7;
  // Bit 3: the product's record limit (1 MiB), reached by the generated
  // seeds; otherwise a small one, met often.
  if (!(data[0] & 8)) opt.max_record_bytes = 4096;
  const std::string path = env.dir + "/in.csv";
  const std::string rejects = env.dir + "/in.rejects.csv";
  FILE* f = std::fopen(path.c_str(), "wb");
  SB_CHECK(f != nullptr);
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  opt.rejects_path = rejects;
  auto sum = members::ImportMembers(*env.store, env.tree, *env.sealer, path, opt, env.clock);
  if (sum) {
    // Every row is accounted for exactly once; a skipped row matched a member.
    SB_CHECK(sum->imported + sum->updated + sum->unchanged + sum->skipped + sum->rejected ==
             sum->rows);
    SB_CHECK(sum->skipped <= sum->matched);
    SB_CHECK(sum->rejected == 0 || !sum->rejects_file.empty());
  } else {
    SB_CHECK(!sum.error().message().empty());
  }
  std::remove(rejects.c_str());
  return 0;
}
