#include "crypto/reseal.h"

#include <string>
#include <vector>

namespace switchboard::crypto {
namespace {

struct Found {
  std::int64_t id = 0;
  std::string id2;
  std::uint32_t key_id = 0;
  std::string sealed;
  std::string purpose;
};

std::string Str(std::string_view s) { return std::string(s); }

}  // namespace

Result<std::int64_t> ResealSome(store::Tx& tx, const Sealer& sealer,
                                std::span<const SealedColumn> columns, std::int64_t limit) {
  const std::uint32_t active = sealer.keyring()->active_key_id();
  std::int64_t done = 0;
  for (const SealedColumn& c : columns) {
    if (done >= limit) break;
    const bool two = !c.id2_column.empty();
    const bool by_column = !c.purpose_column.empty();
    std::string sql = "SELECT " + Str(c.id_column) + ", " +
                      (two ? Str(c.id2_column) : std::string("''")) + ", " + Str(c.key_id_column) +
                      ", " + Str(c.sealed_column) + ", " +
                      (by_column ? Str(c.purpose_column) : std::string("''")) + " FROM " +
                      Str(c.table) + " WHERE " + Str(c.key_id_column) + " <> $1 ORDER BY " +
                      Str(c.id_column) + (two ? ", " + Str(c.id2_column) : "") + " LIMIT $2";
    std::vector<Found> found;
    SB_RETURN_IF_ERROR(
        tx.Query(sql, {static_cast<std::int64_t>(active), limit - done}, [&](const store::Row& r) {
          Found f;
          f.id = r.Int(0);
          f.id2 = std::string(r.Text(1));
          f.key_id = static_cast<std::uint32_t>(r.Int(2));
          f.sealed = r.IsNull(3) ? "" : std::string(r.Bytes(3));
          f.purpose = std::string(r.Text(4));
          found.push_back(std::move(f));
          return true;
        }));
    const std::string update = "UPDATE " + Str(c.table) + " SET " + Str(c.key_id_column) +
                               " = $1, " + Str(c.sealed_column) + " = $2 WHERE " +
                               Str(c.id_column) + " = $3 AND " + Str(c.key_id_column) + " = $4" +
                               (two ? " AND " + Str(c.id2_column) + " = $5" : "");
    for (const Found& f : found) {
      store::Value sealed_value = store::Value::Bytes(f.sealed);
      if (!f.sealed.empty()) {
        const std::string_view purpose = by_column ? std::string_view(f.purpose) : c.purpose;
        auto plain = sealer.Open({f.key_id, f.sealed}, purpose);
        if (!plain) {
          return Status::DataLoss(Str(c.table) + " row " + std::to_string(f.id) +
                                  " does not open: " + plain.error().message());
        }
        Sealed again = sealer.Seal(*plain, purpose);
        std::fill(plain->begin(), plain->end(), '\0');
        sealed_value = store::Value::Bytes(std::move(again.bytes));
      }
      std::vector<store::Value> params = {static_cast<std::int64_t>(active), sealed_value, f.id,
                                          static_cast<std::int64_t>(f.key_id)};
      if (two) params.emplace_back(f.id2);
      SB_ASSIGN_OR_RETURN(const std::int64_t changed, tx.Exec(update, params));
      done += changed;
    }
  }
  return done;
}

Result<std::int64_t> CountSealedUnder(store::Tx& tx, std::span<const SealedColumn> columns,
                                      std::uint32_t key_id) {
  std::int64_t n = 0;
  for (const SealedColumn& c : columns) {
    SB_ASSIGN_OR_RETURN(const std::int64_t k,
                        tx.QueryInt("SELECT COUNT(*) FROM " + Str(c.table) + " WHERE " +
                                        Str(c.key_id_column) + " = $1",
                                    {static_cast<std::int64_t>(key_id)}));
    n += k;
  }
  return n;
}

}  // namespace switchboard::crypto
