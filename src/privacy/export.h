// Member exports (RULEBOOK §3, §10; docs/privacy.md, "Exports and leak
// tracing").
//
// An export is asked for, approved and produced, each step in one
// transaction with its audit event:
//   Request  by an account whose grant allows member.export over the scope,
//            with a fresh authenticator code (step-up: the code of this
//            request, not the session's sign-in), a stated purpose and the
//            X25519 public key the file will be sealed to. Charges the
//            role's member.export quota.
//   Approve  when the policy says `[export] approval = true`: by another
//            account that holds member.export or privacy.sar over the scope,
//            with its own authenticator code. Nobody approves their own.
//   Close    before it is produced: cancelled by its requester, or refused
//            by an account that could approve it, with a reason.
//   Produce  once, by the requester: the scope's members as the role's field
//            classes allow, with the export's own canaries at random
//            positions (privacy/leak.h), written as formula-safe CSV and
//            sealed to the public key with libsodium's crypto_box_seal. The
//            audit event names every member exported and the field classes.
// Refusals (no grant, wrong or missing code, self-approval, quota) are
// recorded as "deny" events in their own transaction and returned as errors.
// Audit events hold ids only; the purpose is kept in the exports table.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "access/policy/acting.h"
#include "access/policy/policy.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/status.h"
#include "crypto/sealer.h"
#include "members/org_tree.h"
#include "privacy/leak.h"
#include "store/store.h"

namespace switchboard::privacy {

constexpr size_t kExportKeyBytes = 32;  // X25519 public and secret keys

struct ExportRequest {
  AccountId requester;
  UnitId scope;
  std::string purpose;
  std::string totp;           // a current authenticator code (step-up)
  std::string recipient_key;  // X25519 public key, 32 raw bytes
  // Columns wanted, each one the role's field classes allow (ExportColumns);
  // empty: all of them.
  std::vector<std::string> columns;
  std::string request_id;
  std::string client;
};

struct ExportRecord {
  ExportId id;
  AccountId requested_by;
  UnitId scope;
  std::string role;
  std::int64_t grant = 0;
  std::string purpose;
  std::vector<std::string> columns;
  std::string state;  // pending (approval), approved, produced, refused, cancelled
  Micros requested_at = 0;
  AccountId approved_by;
  Micros approved_at = 0;
  Micros produced_at = 0;
  std::int64_t member_rows = 0;
  std::int64_t canary_rows = 0;
  std::int64_t request_seq = -1;  // audit events (-1: none yet)
  std::int64_t approve_seq = -1;
  std::int64_t produce_seq = -1;
  AccountId closed_by;  // refused or cancelled by
  Micros closed_at = 0;
  std::string close_reason;
  std::int64_t close_seq = -1;
};

struct ExportFile {
  ExportRecord record;
  std::string sealed;  // kExportFileMagic + crypto_box_seal(csv)
};

// The first bytes of an export file.
constexpr std::string_view kExportFileMagic = "SBEXPORT1\n";

// A new X25519 key pair for receiving exports.
struct ExportKeyPair {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 32 bytes
};
ExportKeyPair GenerateExportKey();
// The key file `switchboard export keygen` writes: two lines of hex.
std::string FormatExportKeyFile(const ExportKeyPair& key);
Result<ExportKeyPair> ParseExportKeyFile(std::string_view text);
// The CSV inside an export file; kPermissionDenied when the key is not the
// one the file was sealed to, kInvalidArgument when it is no export file.
Result<std::string> OpenExportFile(std::string_view file, const ExportKeyPair& key);

// The columns an export carries for a role's field classes.
std::vector<std::string> ExportColumns(const std::set<std::string>& fields);

class ExportService {
 public:
  ExportService(store::Store& store, const access::Policy& policy, const members::OrgTree& tree,
                const crypto::Sealer& sealer, const Clock& clock);

  Result<ExportRecord> Request(const ExportRequest& r);
  Result<ExportRecord> Approve(AccountId approver, std::string_view totp, ExportId id,
                               std::string_view request_id = {}, std::string_view client = {});
  // `second_factor`: the requester's session (or command-line sign-in)
  // passed its second factor, as every privileged role needs.
  Result<ExportFile> Produce(AccountId requester, bool second_factor, ExportId id,
                             std::string_view request_id = {}, std::string_view client = {});

  // Withdraws an export not yet produced: `who` is its requester
  // (cancelled) or an account that could approve it (refused; no fresh code
  // needed to say no, but a privileged role still needs `second_factor`, as
  // for Produce). kFailedPrecondition once produced or closed.
  Result<ExportRecord> Close(AccountId who, bool second_factor, ExportId id,
                             std::string_view reason, std::string_view request_id = {},
                             std::string_view client = {});

  Result<ExportRecord> Get(ExportId id);
  Result<std::vector<ExportRecord>> List(AccountId requested_by = AccountId());

  // The exports over `unit` and the units within it, newest first, for an
  // account holding member.export or privacy.sar over `unit` (as an approver
  // does); a refusal is recorded and returned as kPermissionDenied.
  // `second_factor`: the viewer's session passed its second factor.
  struct Listed;
  Result<std::vector<Listed>> ListWithin(AccountId viewer, bool second_factor, UnitId unit,
                                         std::string_view request_id = {},
                                         std::string_view client = {});

  // Canaries and row positions come from libsodium's generator; tests pass
  // a seeded one.
  void SetRandomForTesting(std::function<std::uint64_t()> random) { random_ = std::move(random); }

 private:
  store::Store& store_;
  const access::Policy& policy_;
  const members::OrgTree& tree_;
  const crypto::Sealer& sealer_;
  const Clock& clock_;
  std::function<std::uint64_t()> random_;
};

// For a leak report: the export as the DPO reads it.
struct ExportSummary {
  ExportRecord record;
  std::string requester_login;
  std::string requester_name;
  std::string approver_login;
  std::string scope_name;
};
Result<ExportSummary> DescribeExport(store::Tx& tx, const members::OrgTree& tree, ExportId id);

// One export as ListWithin gives it: described, with what the viewer may do.
struct ExportService::Listed {
  ExportSummary summary;
  std::string closer_login;
  bool mine = false;         // the viewer asked for it
  bool can_approve = false;  // pending, someone else's, and the viewer may approve
};

// The unit an export is over (the API's route target); kNotFound for none.
Result<UnitId> ExportScope(store::Tx& tx, ExportId id);

// A leaked file traced (leak.h), with each export found described, in `tx`;
// the trace is recorded as a "leak.trace" event by `who` (allowed by the
// caller's decision). The file itself is kept nowhere.
struct LeakTrace {
  TraceReport report;
  std::vector<ExportSummary> exports;  // as report.exports
};
Result<LeakTrace> TraceLeak(store::Tx& tx, const crypto::Sealer& sealer,
                            const members::OrgTree& tree, const access::Acting& who,
                            std::string_view text);

}  // namespace switchboard::privacy
