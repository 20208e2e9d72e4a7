// Member import: a CSV file in one of the mapping profiles (native,
// nationbuilder, civicrm) into the register. Every data row ends up counted
// exactly once as imported, updated, unchanged, skipped or rejected; rejected
// rows are written to a rejects file with their line, the column and a reason
// a person can act on. A row that is new to its source but matches a member
// already in the register (by e-mail, or by phone and name, whatever source
// it came from) is never added a second time: it is skipped, updates that
// member, or is rejected (OnMatch), and is reported in the rejects file, as
// are possible duplicates (same name and postcode district). Rows are
// committed in batches, each row whole or not at all; re-running the same
// file changes nothing.
//
// Two threads: one reads, validates and encrypts; the caller's thread writes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::members {

// What to do with a row that is not yet a member of its own source but
// matches a member already in the register (by e-mail, or by phone and name).
enum class OnMatch {
  kSkip,    // leave the member as it is; the row is reported (the default)
  kUpdate,  // update the member's fields from the row
  kReject,  // count the row as rejected
};
Result<OnMatch> ParseOnMatch(std::string_view name);

struct ImportOptions {
  // native, nationbuilder or civicrm.
  std::string profile = "native";
  // Column holding each member's unit (ONS code or exact name); without it,
  // members are placed by postcode through the postcodes table.
  std::optional<std::string> unit_column;
  // Where rejected rows go; empty means FILE.rejects.csv beside the input.
  std::string rejects_path;
  // Rows per transaction.
  int batch_size = 20000;
  // Longest record accepted, in bytes.
  std::size_t max_record_bytes = 1 << 20;
  // Region for phone numbers written without a country code.
  std::string default_phone_region = "GB";
  OnMatch on_match = OnMatch::kSkip;
  // Called now and then with bytes read so far and the file's size.
  std::function<void(std::uint64_t done, std::uint64_t total, std::uint64_t rows)> progress;
};

enum class MatchOutcome {
  kSkipped,
  kUpdated,
  kUnchanged,
  kRejected,
  kConflict,           // e-mail and phone point at different members: not imported
  kPossibleDuplicate,  // same name and postcode district: imported, reported
};

// One row that matched, conflicted or may duplicate someone. Carries member
// ids and which key matched, never the value.
struct MatchReport {
  std::uint64_t line = 0;
  std::string key;  // email, phone, email+phone, name+postcode
  MatchOutcome outcome = MatchOutcome::kSkipped;
  MemberId member;         // matched, or the first possible duplicate
  std::size_t record = 0;  // internal: index within its batch
  std::string why;         // internal: the conflict or duplicate detail
  MemberId imported_as;    // for a possible duplicate
};
inline constexpr std::size_t kMaxReports = 1000;

// Every row counts once: imported + updated + unchanged + skipped + rejected
// == rows. Rows that matched another member count as updated or unchanged
// (--on-match update), skipped, or rejected; conflicts count as rejected;
// possible duplicates are imported.
struct ImportSummary {
  std::uint64_t rows = 0;
  std::uint64_t imported = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t skipped = 0;
  std::uint64_t rejected = 0;
  std::uint64_t matched = 0;  // rows that matched an existing member
  std::uint64_t matched_by_email = 0;
  std::uint64_t matched_by_phone = 0;  // by phone and name, not e-mail
  std::uint64_t conflicts = 0;
  std::uint64_t possible_duplicates = 0;
  std::vector<MatchReport> reports;  // the first kMaxReports, in line order
  // Columns of the file the profile does not read (their data is not imported).
  std::vector<std::string> unmapped_columns;
  std::string rejects_file;  // empty when nothing was rejected
  double seconds = 0;
};

// Fails before writing anything when the file cannot be read, the profile is
// unknown, or the header lacks what the profile needs (kInvalidArgument).
Result<ImportSummary> ImportMembers(store::Store& store, const OrgTree& tree,
                                    const crypto::Sealer& sealer, const std::string& path,
                                    const ImportOptions& options, const Clock& clock);

// The profiles and the columns each one maps, for --help and the docs.
struct ProfileColumn {
  std::string field;                 // our field
  std::vector<std::string> headers;  // accepted header names (case-insensitive)
};
const std::vector<std::string>& ProfileNames();
Result<std::vector<ProfileColumn>> DescribeProfile(std::string_view profile);

// Postcode table import: a CSV with a postcode column (pcds, pcd, pcd2,
// postcode) and a constituency column (pcon, pcon24cd, constituency_code,
// ons_code, gss_code, or a name column). Returns rows loaded; rejects as above.
struct PostcodeImportSummary {
  std::uint64_t rows = 0;
  std::uint64_t loaded = 0;
  std::uint64_t rejected = 0;
  std::string rejects_file;
};
Result<PostcodeImportSummary> ImportPostcodes(store::Store& store, const OrgTree& tree,
                                              const std::string& path,
                                              const std::string& rejects_path);

}  // namespace switchboard::members
