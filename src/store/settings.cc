#include "store/settings.h"

namespace switchboard::store {

Result<std::string> GetSetting(Tx& tx, std::string_view name) {
  std::string value;
  SB_RETURN_IF_ERROR(tx.Query("SELECT value FROM settings WHERE name = $1", {std::string(name)},
                              [&](const Row& r) {
                                value = std::string(r.Text(0));
                                return false;
                              }));
  return value;
}

Status PutSetting(Tx& tx, std::string_view name, std::string_view value, bool replace) {
  return tx
      .Exec(replace ? "INSERT INTO settings (name, value) VALUES ($1, $2) "
                      "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                    : "INSERT INTO settings (name, value) VALUES ($1, $2) "
                      "ON CONFLICT (name) DO NOTHING",
            {std::string(name), std::string(value)})
      .status();
}

}  // namespace switchboard::store
