// E-mail suppression lists carried over from a previous provider, so moving
// to Switchboard never re-mails anyone who opted out or bounced elsewhere.
//
// The file has one entry per line: an e-mail address, or the hex SHA-256 of a
// lower-cased address (as many providers export). A CSV line is read by its
// first field, and an optional second field is kept as the reason
// ("unsubscribed", "bounced", "complained"); a first line that is neither an
// address nor a hash is taken as a header; blank lines and lines starting
// with '#' are skipped. Every other line is either accepted or rejected with
// its line number and the reason (never the value).
//
// Addresses are never stored: a plain address becomes the register's blind
// index for e-mail; a SHA-256 is kept as given. Members already in the
// register who match get the no-e-mail suppression at once (so counts
// exclude them); the list itself is checked again when each message is
// handed to the relay, which also covers members added later.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::messaging {

struct SuppressionRejected {
  std::int64_t line = 0;
  std::string reason;
};

struct SuppressionImportSummary {
  std::int64_t lines = 0;               // lines read (including header, blanks, comments)
  std::int64_t plain = 0;               // addresses accepted
  std::int64_t hashed = 0;              // SHA-256 hashes accepted
  std::int64_t duplicates = 0;          // already on the list
  std::int64_t members_suppressed = 0;  // register members newly suppressed
  std::vector<SuppressionRejected> rejected;
};

Result<SuppressionImportSummary> ImportSuppressions(store::Store& store,
                                                    const crypto::Sealer& sealer,
                                                    std::string_view file_text,
                                                    std::string_view source, Micros now);

// Whether an address (its register match key) is on the carried-over list.
Result<bool> OnSuppressionList(store::Tx& tx, const crypto::Sealer& sealer,
                               std::string_view match_key);

// SHA-256 (hex, lower case) of a match key, as providers hash addresses.
std::string AddressSha256(std::string_view match_key);

}  // namespace switchboard::messaging
