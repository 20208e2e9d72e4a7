#include "cli/audit_commands.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/witness.h"
#include "cli/exit_codes.h"
#include "cli/opened_apps.h"
#include "crypto/keyring.h"
#include "privacy/sar.h"
#include "server/app.h"

namespace switchboard::cli {
namespace {

std::string Hex(const audit::Hash& h) {
  return crypto::ToHex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

constexpr size_t kMaxFileBytes = 256u << 20;

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::string text;
  char buf[65536];
  while (f.read(buf, sizeof buf) || f.gcount() > 0) {
    text.append(buf, static_cast<size_t>(f.gcount()));
    if (text.size() > kMaxFileBytes) return Status::InvalidArgument(path + " is too large");
  }
  return text;
}

// The verifier key as given: the key itself (`switchboard audit key`), or a
// file holding it.
Result<audit::VerifyKey> KeyFrom(const std::string& given) {
  std::string text = given;
  std::error_code ec;
  if (std::filesystem::is_regular_file(given, ec)) {
    SB_ASSIGN_OR_RETURN(text, ReadWhole(given));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  auto key = audit::VerifyKey::Parse(text);
  if (!key) return key.error().WithContext("--key");
  return key;
}

class AuditCommands final : public Command {
 public:
  explicit AuditCommands(CLI::App& app) {
    auto* audit = app.add_subcommand("audit", "Verify, prove and query the audit log");
    audit->require_subcommand(1);
    verify_ = audit->add_subcommand(
        "verify", "Check every event against the Merkle tree and every signed checkpoint");
    AddCommon(verify_, &c_);
    verify_->add_option("--witness", witness_,
                        "Also check the checkpoints kept in this witness file (the checkpoint "
                        "log of [audit] checkpoint_logs is always checked)");
    verify_->add_flag("--json", json_, "Print the report as JSON");
    prove_ = audit->add_subcommand("prove", "Inclusion proof of one event");
    AddCommon(prove_, &c_);
    prove_->add_option("SEQ", seq_, "Event sequence number")->required();
    prove_->add_option("--size", size_, "Tree size (default: the latest checkpoint's)");
    consistency_ = audit->add_subcommand(
        "consistency", "Consistency proof between two tree sizes (e.g. two checkpoints)");
    AddCommon(consistency_, &c_);
    consistency_->add_option("A", m_, "Older tree size")->required();
    consistency_->add_option("B", n_, "Newer tree size")->required();
    query_ = audit->add_subcommand("query", "Events by member, actor or time");
    AddCommon(query_, &c_);
    query_->add_option("--member", member_, "Member id");
    query_->add_option("--actor", actor_, "Account id");
    query_->add_option("--from", from_, "From (ISO 8601, inclusive)");
    query_->add_option("--to", to_, "To (ISO 8601, exclusive)");
    checkpoint_ = audit->add_subcommand(
        "checkpoint", "Sign a checkpoint now; with --witness, append it to a file kept elsewhere");
    AddCommon(checkpoint_, &c_);
    checkpoint_->add_option("--witness", witness_, "Witness file to append to");
    checkpoint_->add_flag("--note", note_,
                          "Print the checkpoint as its C2SP signed note (tlog-checkpoint)");
    key_ = audit->add_subcommand(
        "key", "Print the checkpoint verifier key in the C2SP signed-note form (name+hash+key)");
    AddCommon(key_, &c_);
    key_->add_flag("--json", json_, "Print the key, its name, hash and origin as JSON");
    adopt_ = audit->add_subcommand(
        "adopt",
        "Re-create the checkpoint log from the database, on the record: after upgrading, adding "
        "a file to [audit] checkpoint_logs, or restoring an older backup (docs/operations.md)");
    AddCommon(adopt_, &c_);
    check_report_ = audit->add_subcommand(
        "check-report",
        "Check every inclusion proof in a subject-access report (JSON) against its signed "
        "checkpoint; needs no database");
    check_report_->add_option("FILE", file_, "The report, as `switchboard sar` writes it")
        ->required();
    check_report_->add_option("--key", vkey_, "The log's verifier key, or a file holding it")
        ->required();
    witness_cmd_ = audit->add_subcommand(
        "witness", "Export checkpoints with consistency proofs for a witness, or check an export");
    witness_cmd_->require_subcommand(1);
    witness_export_ = witness_cmd_->add_subcommand(
        "export", "The signed checkpoints after a size, each with its consistency proof");
    AddCommon(witness_export_, &c_);
    witness_export_->add_option("--from", from_size_,
                                "The tree size of the newest checkpoint the witness holds "
                                "(default 0: every checkpoint)");
    witness_export_->add_option("--out", out_, "Write here (default: standard output)");
    witness_check_ = witness_cmd_->add_subcommand(
        "check",
        "Check an export against the checkpoint you hold: signed by the key, and the log only "
        "grew; needs no database");
    witness_check_->add_option("EXPORT", file_, "The export file")->required();
    witness_check_->add_option("--key", vkey_, "The log's verifier key, or a file holding it")
        ->required();
    witness_check_->add_option("--held", held_,
                               "Your witness file (its last checkpoint is the one you hold); "
                               "without it the first checkpoint is taken on its signature");
    witness_check_->add_flag("--append", append_,
                             "Append the newer checkpoints, once checked, to the --held file");
  }

  std::optional<int> Run(OpenedApps& opened) override {
    // These two read files only: a witness or a member runs them elsewhere.
    if (check_report_->parsed()) return RunCheckReport();
    if (witness_check_->parsed()) return RunWitnessCheck();
    if (!verify_->parsed() && !witness_export_->parsed() && !prove_->parsed() &&
        !consistency_->parsed() && !query_->parsed() && !checkpoint_->parsed() &&
        !adopt_->parsed() && !key_->parsed()) {
      return std::nullopt;
    }
    // `checkpoint` gets the preflight check; the others exist to inspect or
    // repair a log that may fail it.
    auto a = opened.Open(
        c_.data_dir, c_.store,
        checkpoint_->parsed() ? OpenedApps::Check::kPreflight : OpenedApps::Check::kInspect);
    if (!a) return ExitFor(a.error());
    server::App& app = **a;
    if (adopt_->parsed()) return RunAdopt(app);
    if (witness_export_->parsed()) return RunWitnessExport(app);
    if (key_->parsed()) return RunKey(app);
    if (checkpoint_->parsed()) return RunCheckpoint(app);
    if (verify_->parsed()) return RunVerify(app);
    if (prove_->parsed()) return ReadAndPrint(app, [&](store::Tx& tx) { return Prove(tx); });
    if (consistency_->parsed()) {
      return ReadAndPrint(app, [&](store::Tx& tx) { return Consistency(tx); });
    }
    return ReadAndPrint(app, [&](store::Tx& tx) { return Query(tx); });
  }

 private:
  int RunCheckReport() {
    auto key = KeyFrom(vkey_);
    if (!key) return ExitFor(key.error());
    auto text = ReadWhole(file_);
    if (!text) return ExitFor(text.error());
    const nlohmann::json report = nlohmann::json::parse(*text, nullptr, false);
    auto checked = privacy::CheckReportProofs(report, *key);
    if (!checked) {
      std::printf("NOT VERIFIED: %s\n", checked.error().message().c_str());
      return checked.error().code() == StatusCode::kDataLoss ? kExitAudit
                                                             : ExitFor(checked.error());
    }
    for (const auto& f : checked->failures) std::printf("NOT VERIFIED: %s\n", f.c_str());
    std::printf(
        "%lld events verified in the signed checkpoint of %lld events (%lld from their own "
        "bytes), %lld newer than it, %zu failed\n",
        static_cast<long long>(checked->verified), static_cast<long long>(checked->tree_size),
        static_cast<long long>(checked->with_bytes), static_cast<long long>(checked->unprovable),
        checked->failures.size());
    return checked->ok() ? kExitOk : kExitAudit;
  }

  int RunWitnessExport(server::App& app) {
    audit::WitnessExport e;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(e, audit::MakeWitnessExport(tx, from_size_));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    const std::string text = audit::FormatWitnessExport(e, app.audit_key().verify_key().VKey());
    if (out_.empty()) {
      std::fputs(text.c_str(), stdout);
      return kExitOk;
    }
    std::ofstream f(out_, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) return ExitFor(Status::Unavailable("cannot write " + out_));
    std::fprintf(stderr, "%zu checkpoints after %llu events written to %s\n", e.entries.size(),
                 static_cast<unsigned long long>(from_size_), out_.c_str());
    return kExitOk;
  }

  int RunWitnessCheck() {
    auto key = KeyFrom(vkey_);
    if (!key) return ExitFor(key.error());
    auto text = ReadWhole(file_);
    if (!text) return ExitFor(text.error());
    auto e = audit::ParseWitnessExport(*text);
    if (!e) return ExitFor(e.error());
    std::optional<audit::SignedCheckpoint> held;
    if (!held_.empty()) {
      // A witness file not made yet holds nothing (--append creates it).
      auto last = audit::ReadLastWitnessLine(held_);
      if (!last && last.error().code() != StatusCode::kNotFound) return ExitFor(last.error());
      if (last) held = *last;
    }
    auto checked = audit::CheckWitnessExport(held, *e, *key);
    if (!checked) {
      std::printf("NOT CONSISTENT: %s\n", checked.error().message().c_str());
      return checked.error().code() == StatusCode::kDataLoss ? kExitAudit
                                                             : ExitFor(checked.error());
    }
    if (checked->accepted.empty()) {
      std::printf("nothing newer than the checkpoint of %llu events you hold\n",
                  static_cast<unsigned long long>(checked->held_size));
      return kExitOk;
    }
    std::printf(
        "consistent: the log grew from %llu to %llu events; %zu newer checkpoints, each signed "
        "by %s and extending the one before\n",
        static_cast<unsigned long long>(checked->held_size),
        static_cast<unsigned long long>(checked->accepted.back().checkpoint.tree_size),
        checked->accepted.size(), key->VKey().c_str());
    if (append_) {
      if (held_.empty()) return ExitFor(Status::InvalidArgument("--append needs --held"));
      Status st = audit::AppendToWitnessFile(held_, checked->accepted);
      if (!st.ok()) return ExitFor(st);
      std::printf("appended to %s\n", held_.c_str());
    }
    return kExitOk;
  }

  int RunAdopt(server::App& app) {
    auto r = audit::AdoptCheckpointLog(app.store(), app.audit(), app.checkpoint_log(),
                                       app.audit_key(), app.clock());
    if (!r) return ExitFor(r.error());
    for (const auto& p : r->kept) {
      std::printf("kept %s: it agrees with the database\n", p.c_str());
    }
    for (const auto& p : r->created) {
      std::printf("created %s from the database's checkpoints\n", p.c_str());
    }
    for (const auto& p : r->replaced) {
      std::printf(
          "replaced a checkpoint log that disagreed with the database; the old one is kept "
          "as %s\n",
          p.c_str());
    }
    if (r->created.empty() && r->replaced.empty()) {
      std::printf("nothing to adopt: every checkpoint log agrees with the database\n");
    } else {
      std::printf("recorded as audit.adopt events, under a new signed checkpoint\n");
    }
    return kExitOk;
  }

  int RunCheckpoint(server::App& app) {
    auto cp = app.audit().Checkpoint(app.store(), app.audit_key(), app.clock());
    if (!cp) return ExitFor(cp.error());
    if (!witness_.empty()) {
      Status st = audit::AppendToWitnessFile(witness_, {*cp});
      if (!st.ok()) return ExitFor(st);
    }
    if (note_) {
      if (cp->format != audit::CheckpointFormat::kSignedNote) {
        return ExitFor(Status::FailedPrecondition(
            "the newest checkpoint predates signed notes; append an event and sign again"));
      }
      std::fputs(audit::FormatSignedNote(*cp).c_str(), stdout);
      return kExitOk;
    }
    std::printf("checkpoint: size %llu, root %s\n",
                static_cast<unsigned long long>(cp->checkpoint.tree_size),
                Hex(cp->checkpoint.root).c_str());
    return kExitOk;
  }

  int RunKey(server::App& app) {
    const audit::VerifyKey& k = app.audit_key().verify_key();
    if (json_) {
      nlohmann::json j = {
          {"vkey", k.VKey()},
          {"name", k.note_name()},
          {"origin", audit::CheckpointOrigin(k.key_id())},
          {"key_hash", crypto::ToHex(k.note_key_hash())},
          {"key_id", k.key_id()},
          {"public_key", crypto::ToHex(k.public_key().data(), k.public_key().size())}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s\n", k.VKey().c_str());
    }
    return kExitOk;
  }

  int RunVerify(server::App& app) {
    // The files outside the database are read before the database snapshot
    // begins, so a checkpoint a running server appends meanwhile is not
    // mistaken for one deleted from the database.
    audit::VerifyOptions vo;
    auto files = app.checkpoint_log().ReadAll();
    if (!files) return ExitFor(files.error());
    vo.checkpoint_log = std::move(files).value();
    if (!witness_.empty()) {
      auto witnessed = audit::ReadWitnessFile(witness_);
      if (!witnessed) return ExitFor(witnessed.error());
      vo.external.push_back({"the witness file " + witness_, std::move(witnessed).value()});
    }
    audit::VerifyReport report;
    Status st = app.store().Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(report, audit::AuditLog::Verify(tx, app.audit_key().verify_key(), vo));
      return Status::Ok();
    });
    if (!st.ok()) return ExitFor(st);
    PrintReport(report);
    return report.ok ? kExitOk : kExitAudit;
  }

  void PrintReport(const audit::VerifyReport& report) {
    if (json_) {
      std::printf("%s\n", nlohmann::json{{"ok", report.ok},
                                         {"events", report.events},
                                         {"checkpoints", report.checkpoints},
                                         {"external_checkpoints", report.external_checkpoints},
                                         {"first_bad", report.first_bad},
                                         {"reason", report.reason},
                                         {"notes", report.notes}}
                              .dump()
                              .c_str());
      return;
    }
    for (const auto& note : report.notes) std::printf("note: %s\n", note.c_str());
    if (report.ok) {
      std::printf(
          "audit log verified: %llu events, %llu signed checkpoints (%llu checked outside "
          "the database), root %s\n",
          static_cast<unsigned long long>(report.events),
          static_cast<unsigned long long>(report.checkpoints),
          static_cast<unsigned long long>(report.external_checkpoints), Hex(report.root).c_str());
    } else if (report.first_bad >= 0) {
      std::printf("AUDIT LOG FAILED VERIFICATION at index %lld: %s\n",
                  static_cast<long long>(report.first_bad), report.reason.c_str());
    } else {
      std::printf("AUDIT LOG FAILED VERIFICATION: %s\n", report.reason.c_str());
    }
  }

  // Runs `print` in one read transaction; its status decides the exit code.
  template <typename F>
  int ReadAndPrint(server::App& app, F print) {
    Status st = app.store().Read([&](store::Tx& tx) -> Status { return print(tx); });
    return st.ok() ? kExitOk : ExitFor(st);
  }

  Status Prove(store::Tx& tx) {
    std::int64_t size = size_;
    if (size == 0) {
      SB_ASSIGN_OR_RETURN(auto cps, audit::AuditLog::Checkpoints(tx));
      if (cps.empty()) {
        return Status::FailedPrecondition(
            "no checkpoint yet; run `switchboard audit checkpoint` or pass --size");
      }
      size = static_cast<std::int64_t>(cps.back().checkpoint.tree_size);
    }
    SB_ASSIGN_OR_RETURN(auto proof, audit::AuditLog::Prove(tx, seq_, size));
    SB_ASSIGN_OR_RETURN(auto root, audit::AuditLog::RootAt(tx, size));
    nlohmann::json j = {{"seq", seq_}, {"tree_size", size}, {"root", Hex(root)}};
    for (const auto& h : proof) j["proof"].push_back(Hex(h));
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }

  Status Consistency(store::Tx& tx) {
    SB_ASSIGN_OR_RETURN(auto proof, audit::AuditLog::Consistency(tx, m_, n_));
    SB_ASSIGN_OR_RETURN(auto rm, audit::AuditLog::RootAt(tx, m_));
    SB_ASSIGN_OR_RETURN(auto rn, audit::AuditLog::RootAt(tx, n_));
    nlohmann::json j = {{"old_size", m_},
                        {"new_size", n_},
                        {"old_root", Hex(rm)},
                        {"new_root", Hex(rn)},
                        {"proof", nlohmann::json::array()}};
    for (const auto& h : proof) j["proof"].push_back(Hex(h));
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }

  Status Query(store::Tx& tx) {
    audit::QueryFilter f;
    if (member_ > 0) f.member = member_;
    if (actor_ > 0) f.actor = actor_;
    if (!from_.empty()) {
      SB_ASSIGN_OR_RETURN(f.from, ParseTimestamp(from_));
    }
    if (!to_.empty()) {
      SB_ASSIGN_OR_RETURN(f.to, ParseTimestamp(to_));
    }
    SB_ASSIGN_OR_RETURN(auto events, audit::AuditLog::Query(tx, f));
    for (const auto& e : events) std::printf("%s\n", audit::Encode(e).c_str());
    return Status::Ok();
  }

  CLI::App *verify_, *prove_, *consistency_, *query_, *checkpoint_, *adopt_, *key_;
  CLI::App *check_report_, *witness_cmd_, *witness_export_, *witness_check_;
  std::string file_, vkey_, held_, out_;
  std::uint64_t from_size_ = 0;
  bool append_ = false;
  Common c_;  // one set, for whichever subcommand was given
  std::string witness_, from_, to_;
  std::int64_t seq_ = -1, size_ = 0, m_ = 0, n_ = 0, member_ = 0, actor_ = 0;
  bool json_ = false, note_ = false;
};

}  // namespace

std::unique_ptr<Command> AddAuditCommands(CLI::App& app) {
  return std::make_unique<AuditCommands>(app);
}

}  // namespace switchboard::cli
