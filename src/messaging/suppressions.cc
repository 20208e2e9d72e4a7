#include "messaging/suppressions.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>

#include "audit/audit_log.h"
#include "crypto/keyring.h"
#include "members/contact.h"
#include "members/erase.h"
#include "members/preferences.h"
#include "members/register.h"

namespace switchboard::messaging {

namespace {

bool IsHexSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return o;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '"' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '"' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

struct Entry {
  std::string kind;  // "blind" or "sha256"
  std::string hash;  // bytes (blind) or lower-case hex (sha256)
  std::string reason;
};

}  // namespace

std::string AddressSha256(std::string_view match_key) {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(match_key.data()),
                     match_key.size());
  return crypto::ToHex(out, sizeof out);
}

Result<SuppressionImportSummary> ImportSuppressions(store::Store& store,
                                                    const crypto::Sealer& sealer,
                                                    std::string_view text, std::string_view source,
                                                    Micros now) {
  SuppressionImportSummary sum;
  std::vector<Entry> entries;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++sum.lines;
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    const size_t comma = trimmed.find(',');
    const std::string first = Trim(trimmed.substr(0, comma));
    std::string reason =
        comma == std::string::npos ? std::string("unsubscribed") : Trim(trimmed.substr(comma + 1));
    if (reason.empty()) reason = "unsubscribed";
    if (reason.size() > 60) reason.resize(60);
    for (char& c : reason)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (IsHexSha256(first)) {
      entries.push_back({"sha256", Lower(first), reason});
      ++sum.hashed;
      continue;
    }
    if (first.find('@') == std::string::npos && sum.lines == 1) continue;  // a header line
    auto email = members::NormaliseEmail(first);
    if (!email) {
      sum.rejected.push_back({sum.lines, "not an e-mail address or a SHA-256 hash (" +
                                             std::string(email.status().message()) + ")"});
      continue;
    }
    entries.push_back({"blind", sealer.BlindIndex("email", email->match_key), reason});
    ++sum.plain;
  }

  // Store the list, then suppress matching members, in one transaction: a
  // failure leaves nothing half-applied.
  std::int64_t duplicates = 0, suppressed = 0;
  SB_RETURN_IF_ERROR(store.Write([&](store::Tx& tx) -> Status {
    duplicates = 0;
    suppressed = 0;
    std::set<std::string> sha;  // new and old hashes, to match against the register
    std::vector<std::string> blinds;
    for (const Entry& e : entries) {
      const store::Value hash = store::Value::Bytes(e.hash);  // sha256: its hex text
      SB_ASSIGN_OR_RETURN(
          std::int64_t n,
          tx.Exec("INSERT INTO email_suppressions (hash_kind, hash, reason, source, imported_at) "
                  "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                  {e.kind, hash, e.reason, std::string(source), now}));
      if (n == 0) ++duplicates;
      if (e.kind == "sha256") {
        sha.insert(e.hash);
      } else {
        blinds.push_back(e.hash);
      }
    }
    std::set<std::int64_t> members;
    for (const std::string& b : blinds) {
      SB_RETURN_IF_ERROR(
          tx.Query("SELECT member_id FROM contact_points WHERE kind = 'email' AND blind_index = $1",
                   {store::Value::Bytes(b)}, [&](const store::Row& r) {
                     members.insert(r.Int(0));
                     return true;
                   }));
    }
    if (!sha.empty()) {  // hashes: open each address once and compare
      Status inner = Status::Ok();
      SB_RETURN_IF_ERROR(tx.Query(
          "SELECT member_id, key_id, sealed FROM contact_points WHERE kind = 'email'", {},
          [&](const store::Row& r) {
            auto addr = sealer.Open(
                crypto::Sealed{static_cast<std::uint32_t>(r.Int(1)), std::string(r.Bytes(2))},
                "email");
            if (!addr) {
              inner = addr.status();
              return false;
            }
            auto email = members::NormaliseEmail(*addr);
            if (email && sha.count(AddressSha256(email->match_key))) members.insert(r.Int(0));
            return true;
          }));
      SB_RETURN_IF_ERROR(inner);
    }
    std::vector<std::int64_t> changed;
    const std::string from = "suppression-list:" + std::string(source);
    for (std::int64_t id : members) {
      SB_ASSIGN_OR_RETURN(bool added,
                          members::AddSuppressions(tx, MemberId(id), members::kNoEmail, from, now));
      if (!added) continue;
      ++suppressed;
      changed.push_back(id);
    }
    // On the record: the import (which opened every address to compare
    // hashes) and each member it suppressed, a thousand per event.
    audit::Event e;
    e.at = now;
    e.action = "suppression.import";
    e.decision = "allow";
    e.rule = "suppression-list";
    SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
    for (size_t i = 0; i < changed.size(); i += 1000) {
      audit::Event m = e;
      m.action = "member.suppress";
      m.members.assign(changed.begin() + i, changed.begin() + std::min(changed.size(), i + 1000));
      SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, m).status());
    }
    return Status::Ok();
  }));
  sum.duplicates = duplicates;
  sum.members_suppressed = suppressed;
  return sum;
}

Result<bool> OnSuppressionList(store::Tx& tx, const crypto::Sealer& sealer,
                               std::string_view match_key) {
  const std::string blind = sealer.BlindIndex("email", match_key);
  SB_ASSIGN_OR_RETURN(
      std::int64_t n,
      tx.QueryInt("SELECT COUNT(*) FROM email_suppressions WHERE (hash_kind = 'blind' AND hash = "
                  "$1) OR (hash_kind = 'sha256' AND hash = $2)",
                  {store::Value::Bytes(blind), store::Value::Bytes(AddressSha256(match_key))}));
  if (n > 0) return true;
  // The register's own list: addresses of erased members.
  return members::ContactSuppressed(tx, "email", blind);
}

}  // namespace switchboard::messaging
