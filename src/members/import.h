// Member import: a CSV file in one of the mapping profiles (native,
// nationbuilder, civicrm) into the register. Every data row ends up counted
// exactly once as imported, updated, unchanged or rejected; rejected rows are
// written to a rejects file with their line, the column and a reason a person
// can act on. Rows are committed in batches, each row whole or not at all;
// re-running the same file changes nothing.
//
// Two threads: one reads, validates and encrypts; the caller's thread writes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "store/store.h"

namespace switchboard::members {

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
  // Called now and then with bytes read so far and the file's size.
  std::function<void(std::uint64_t done, std::uint64_t total, std::uint64_t rows)> progress;
};

struct ImportSummary {
  std::uint64_t rows = 0;
  std::uint64_t imported = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t rejected = 0;
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
