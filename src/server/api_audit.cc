// Audit routes for the data protection officer: explain a decision, query
// the log (both recorded in the log, access/guard/reads.h), checkpoints,
// inclusion proofs, and the anomaly alerts.
#include <nlohmann/json.hpp>

#include "access/guard/anomaly.h"
#include "access/guard/reads.h"
#include "audit/audit_log.h"
#include "audit/witness.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

void Api::AddAuditHandlers() {
  handlers_["access.explain"] = [this](const ApiCall& c) { return Explain(c); };
  handlers_["audit.events"] = [this](const ApiCall& c) { return AuditEvents(c); };
  handlers_["audit.checkpoints"] = [this](const ApiCall& c) { return AuditCheckpoints(c); };
  handlers_["audit.proof"] = [this](const ApiCall& c) { return AuditProof(c); };
  handlers_["audit.witness"] = [this](const ApiCall& c) { return AuditWitness(c); };
  handlers_["alerts.list"] = [this](const ApiCall& c) { return ListAlerts(c); };
  handlers_["alerts.acknowledge"] = [this](const ApiCall& c) { return AcknowledgeAlert(c); };
}

HttpResponse Api::Explain(const ApiCall& call) {
  struct Asked {
    std::int64_t account = 0;
    std::string capability;
    UnitId unit;
    Micros at = 0;
    access::Decision d;
  } q;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        const HttpRequest& req = call.req;
        SB_ASSIGN_OR_RETURN(q.account,
                            ParseId(QueryParam(req, "account"), "the query parameter \"account\""));
        q.capability = QueryParam(req, "capability");
        if (!access::KnownCapabilities().contains(q.capability)) {
          return Status::InvalidArgument("unknown or missing capability");
        }
        q.unit = deps_.tree->root() ? deps_.tree->root()->id : UnitId();
        if (!QueryParam(req, "unit").empty()) {
          SB_ASSIGN_OR_RETURN(q.unit, UnitFrom(*deps_.tree, QueryParam(req, "unit"),
                                               "the query parameter \"unit\""));
        }
        auto at = ParseTimeOrOffset(QueryParam(req, "at").empty() ? "now" : QueryParam(req, "at"),
                                    call.now);
        if (!at) return at.error().WithContext("at");
        q.at = *at;
        SB_ASSIGN_OR_RETURN(
            q.d, access::ExplainRecorded(tx, *deps_.policy, *deps_.tree, who, AccountId(q.account),
                                         q.capability, q.unit, q.at));
        return Status::Ok();
      },
      [&](const Status&) {
        json j{{"account", q.account},
               {"capability", q.capability},
               {"unit", UnitJson(*deps_.tree, q.unit)},
               {"at", FormatTimestamp(q.at)},
               {"allow", q.d.allow},
               {"rule", q.d.rule},
               {"reason", q.d.reason()},
               {"field_classes", Classes(q.d.fields())}};
        if (q.d.grant.valid()) j["grant"] = q.d.grant.value();
        return Json(200, j);
      });
}

HttpResponse Api::AuditEvents(const ApiCall& call) {
  std::vector<audit::Event> events;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        const HttpRequest& req = call.req;
        audit::QueryFilter f;
        f.limit = 1000;
        if (auto m = QueryParam(req, "member"); !m.empty()) {
          SB_ASSIGN_OR_RETURN(f.member, ParseId(m, "member"));
        }
        if (auto a = QueryParam(req, "actor"); !a.empty()) {
          SB_ASSIGN_OR_RETURN(f.actor, ParseId(a, "actor"));
        }
        for (const char* key : {"from", "to"}) {
          if (auto t = QueryParam(req, key); !t.empty()) {
            auto v = ParseTimestamp(t);
            if (!v) return Status::InvalidArgument(std::string(key) + ": use ISO 8601");
            (std::string_view(key) == "from" ? f.from : f.to) = *v;
          }
        }
        f.action = QueryParam(req, "action");
        if (f.action.size() > 128) return Status::InvalidArgument("action: at most 128 characters");
        if (auto l = QueryParam(req, "limit"); !l.empty()) {
          auto v = ParseId(l, "limit");
          if (!v || *v > 10000) return Status::InvalidArgument("limit is 1 to 10000");
          f.limit = static_cast<int>(*v);
        }
        SB_ASSIGN_OR_RETURN(events, access::ReadAuditLog(tx, who, f));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        // Each with its canonical bytes, the Merkle leaf's input: a client
        // checks its inclusion proof from them (the DPO console does).
        for (const auto& e : events) {
          json j = EventJson(e);
          j["body"] = audit::Encode(e);
          out.push_back(std::move(j));
        }
        return Json(200, {{"events", out}});
      });
}

HttpResponse Api::AuditCheckpoints(const ApiCall& call) {
  std::vector<audit::SignedCheckpoint> cps;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        SB_ASSIGN_OR_RETURN(cps, audit::AuditLog::Checkpoints(tx));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& cp : cps) {
          out.push_back({{"tree_size", cp.checkpoint.tree_size},
                         {"root", audit::ToHex(cp.checkpoint.root)},
                         {"time", FormatTimestamp(cp.checkpoint.time)},
                         {"key_id", cp.checkpoint.key_id},
                         {"witness_line", audit::FormatWitnessLine(cp)},
                         {"note", cp.format == audit::CheckpointFormat::kSignedNote
                                      ? json(audit::FormatSignedNote(cp))
                                      : json(nullptr)}});
        }
        // The verifier key in the C2SP form, for a client to compare with
        // the one it holds (`switchboard audit key`).
        return Json(
            200, {{"checkpoints", out},
                  {"verifier_key",
                   deps_.audit_verify_key.empty() ? json(nullptr) : json(deps_.audit_verify_key)}});
      });
}

HttpResponse Api::AuditProof(const ApiCall& call) {
  std::int64_t seq = 0, size = 0;
  std::vector<audit::Hash> proof;
  audit::Hash root{};
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        const HttpRequest& req = call.req;
        if (QueryParam(req, "seq") != "0") {
          SB_ASSIGN_OR_RETURN(seq, ParseId(QueryParam(req, "seq"), "seq"));
        }
        SB_ASSIGN_OR_RETURN(size, ParseId(QueryParam(req, "size"), "size"));
        if (seq >= size) {
          return Status::InvalidArgument("event " + std::to_string(seq) +
                                         " is not in a tree of size " + std::to_string(size));
        }
        std::shared_ptr<const audit::ProofIndex> index;
        {
          MutexLock lock(proof_mu_);
          index = proof_index_;
        }
        if (!index || index->size() < static_cast<std::uint64_t>(size)) {
          SB_ASSIGN_OR_RETURN(audit::ProofIndex loaded, audit::AuditLog::LoadTree(tx, size));
          index = std::make_shared<const audit::ProofIndex>(std::move(loaded));
          // About 64 bytes a leaf: a log over 2^21 events (128 MiB kept) is
          // read for each proof instead.
          constexpr std::uint64_t kMaxKeptProofLeaves = std::uint64_t{1} << 21;
          if (index->size() <= kMaxKeptProofLeaves) {
            MutexLock lock(proof_mu_);
            if (!proof_index_ || proof_index_->size() < index->size()) proof_index_ = index;
          }
        }
        const auto n = static_cast<std::uint64_t>(size);
        SB_ASSIGN_OR_RETURN(proof, index->Inclusion(static_cast<std::uint64_t>(seq), n));
        SB_ASSIGN_OR_RETURN(root, index->Root(n));
        return Status::Ok();
      },
      [&](const Status&) {
        json hashes = json::array();
        for (const auto& h : proof) hashes.push_back(audit::ToHex(h));
        return Json(
            200,
            {{"seq", seq}, {"tree_size", size}, {"root", audit::ToHex(root)}, {"proof", hashes}});
      });
}

HttpResponse Api::AuditWitness(const ApiCall& call) {
  audit::WitnessExport e;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        std::int64_t from = 0;
        if (auto f = QueryParam(call.req, "from"); !f.empty() && f != "0") {
          SB_ASSIGN_OR_RETURN(from, ParseId(f, "from"));
        }
        SB_ASSIGN_OR_RETURN(e, audit::MakeWitnessExport(tx, static_cast<std::uint64_t>(from)));
        return Status::Ok();
      },
      [&](const Status&) {
        return Json(200, json::parse(audit::FormatWitnessExport(e, deps_.audit_verify_key)));
      });
}

HttpResponse Api::ListAlerts(const ApiCall& call) {
  std::vector<access::Alert> alerts;
  return Act(
      call, TxKind::kRead,
      [&](store::Tx& tx, const access::Acting&) -> Status {
        access::AlertFilter f;
        f.open_only = QueryParam(call.req, "open") == "true";
        if (auto a = QueryParam(call.req, "account"); !a.empty()) {
          SB_ASSIGN_OR_RETURN(std::int64_t id, ParseId(a, "account"));
          f.account = AccountId(id);
        }
        f.limit = 500;
        SB_ASSIGN_OR_RETURN(alerts, access::ListAlerts(tx, f));
        return Status::Ok();
      },
      [&](const Status&) {
        json out = json::array();
        for (const auto& a : alerts) {
          json j{
              {"id", a.id.value()},         {"account", a.account.value()},  {"rule", a.rule},
              {"severity", a.severity},     {"at", FormatTimestamp(a.at)},   {"detail", a.detail},
              {"request_id", a.request_id}, {"open", a.acknowledged_at == 0}};
          if (a.acknowledged_at != 0) {
            j["acknowledged_at"] = FormatTimestamp(a.acknowledged_at);
            j["acknowledged_by"] = a.acknowledged_by.value();
            j["note"] = a.acknowledge_note;
          }
          out.push_back(j);
        }
        return Json(200, {{"alerts", out}});
      });
}

HttpResponse Api::AcknowledgeAlert(const ApiCall& call) {
  std::int64_t id = 0;
  return Act(
      call, TxKind::kWrite,
      [&](store::Tx& tx, const access::Acting& who) -> Status {
        SB_ASSIGN_OR_RETURN(id, ParseId(call.req.params.at("id"), "the alert id"));
        SB_ASSIGN_OR_RETURN(std::string note, StringField(call.body, "note", true, 1000));
        return access::AcknowledgeAlert(tx, access::AlertId(id), who.account, note, who.now);
      },
      [&](const Status&) {
        return Json(200, {{"alert", id}, {"status", "acknowledged"}});
      });
}

}  // namespace switchboard::server
