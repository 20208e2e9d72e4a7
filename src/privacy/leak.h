// The canaries of an export and leak tracing (RULEBOOK §10; docs/privacy.md,
// "Exports and leak tracing").
//
// Every export carries synthetic people of its own, drawn here: names from
// the generator's pools, phone numbers from Ofcom's drama ranges, e-mail
// addresses at example domains with a local part no other canary has. They
// are stored sealed, with the blind indexes of their e-mail address and phone
// number, beside the export's id.
//
// Trace reads any CSV-like text (unknown or missing header, columns renamed,
// reordered, added or dropped, most rows removed, a few rows pasted with tabs
// or semicolons) and looks for canaries by content: e-mail addresses
// case-folded, phone numbers normalised with libphonenumber. The rule that
// names an export (never a guess):
//   - one of its canaries' e-mail addresses is in the file, or
//   - two or more of its canaries each appear as their phone number with
//     their first and last name in the same row.
// Anything less (one phone number with a name, names alone, real members'
// rows) is reported as "not traced", with what was seen.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "store/store.h"

namespace switchboard::privacy {

using ExportId = Id<struct ExportIdTag>;

// One synthetic person in an export.
struct CanaryPerson {
  std::string first_name;
  std::string last_name;
  std::string email;  // lower case, at an example domain
  std::string phone;  // E.164 in a drama range
  bool mobile = true;
  std::string status;           // membership status
  std::string membership_type;  // standard, reduced, young, life
  std::int64_t joined_on = 0;   // days since 1970
  std::string address_line1;
  std::string postcode;  // district + inward code
  size_t place = 0;      // index into the places it was drawn with
};

// `n` canaries drawn with `random` (uniform 64-bit values: libsodium in
// production, a seeded generator in tests), each living in one of
// `districts` (postcode districts copied from the export's real rows, so a
// canary looks like its neighbours; "" for none). Deterministic for a given
// stream.
std::vector<CanaryPerson> DrawCanaries(const std::function<std::uint64_t()>& random, int n,
                                       const std::vector<std::string>& districts, Micros now);

// Stores `canaries` for `id` (sealed, with blind indexes). A canary whose
// e-mail address another canary already has is drawn again by the caller:
// kAlreadyExists.
Status RecordCanaries(store::Tx& tx, const crypto::Sealer& sealer, ExportId id,
                      const std::vector<CanaryPerson>& canaries);

// The blind index a canary's e-mail address is stored under: as
// contact_points' (the address's case-folded match key).
std::string CanaryEmailIndex(const crypto::Sealer& sealer, std::string_view email);

// The canaries a contact point belongs to (none when it is no canary's):
// `kind` is "email" (the blind index of the case-folded address; at most
// one canary has it) or "phone" (of the E.164 number; drama ranges are
// small, so canaries of several exports may share one), as in
// contact_points.
struct CanaryRef {
  std::int64_t canary = 0;
  ExportId export_id;
  AccountId requester;
};
Result<std::vector<CanaryRef>> FindCanaries(store::Tx& tx, std::string_view kind,
                                            std::string_view blind_index);

// A canary's address or number was reached (`how`: "outbound-mail",
// "call", "inbound-mail", ...): raises the severe "export.canary_touch"
// alert against the export's requester, naming the export and the canary
// (access/guard/anomaly.h), in `tx`; one per export when canaries of several
// share a phone number. `value` is the address or number as written; empty
// when it is no canary's. kInvalidArgument for a value that is neither an
// e-mail address nor a phone number.
struct CanaryTouch {
  CanaryRef canary;
  std::int64_t alert = 0;
};
Result<std::vector<CanaryTouch>> ReportCanaryTouch(store::Tx& tx, const crypto::Sealer& sealer,
                                                   std::string_view value, std::string_view how,
                                                   std::string_view request_id, Micros now);
// The same for a contact point already reduced to its blind index (the send
// and call paths hold those).
Result<std::vector<CanaryTouch>> ReportCanaryTouchByIndex(store::Tx& tx, std::string_view kind,
                                                          std::string_view blind_index,
                                                          std::string_view how,
                                                          std::string_view request_id, Micros now);

// Every canary, opened, for tracing (small: a few dozen per export).
class CanaryIndex {
 public:
  static Result<CanaryIndex> Load(store::Tx& tx, const crypto::Sealer& sealer);

  struct Entry {
    std::int64_t canary = 0;
    ExportId export_id;
    std::string first_cf;  // case-folded
    std::string last_cf;
  };
  // Adds a canary known by its e-mail match key and E.164 number (Load
  // does this for every stored one; tests and the fuzzer add their own).
  void Add(Entry entry, std::string email_match_key, std::string e164);
  const Entry* ByEmail(std::string_view match_key) const;
  std::vector<const Entry*> ByPhone(std::string_view e164) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
  std::map<std::string, size_t, std::less<>> email_;
  std::multimap<std::string, size_t, std::less<>> phone_;
};

struct TracedExport {
  ExportId id;
  std::vector<std::int64_t> by_email;       // canaries found by e-mail address
  std::vector<std::int64_t> by_phone_name;  // by phone number with their name
  bool sufficient = false;                  // the rule above names this export
};

struct TraceReport {
  std::uint64_t records = 0;      // rows read (a header counts)
  std::uint64_t bad_records = 0;  // rows the CSV reader could not split
  char delimiter = ',';
  // Every export with at least one canary found, lowest id first.
  std::vector<TracedExport> exports;
  // Exports that the rule names.
  std::vector<ExportId> traced() const;
};

// Reads `text` and finds canaries (see the top of this file). Never fails on
// content: a binary or empty file is simply not traced.
TraceReport Trace(const CanaryIndex& index, std::string_view text);

}  // namespace switchboard::privacy
