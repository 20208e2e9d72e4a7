// Exports and leak tracing from the API (docs/privacy.md, "Exports and leak
// tracing"). The export routes call one operation of privacy::ExportService
// each, which decides (member.export, or privacy.sar for an approver),
// checks the authenticator code, records refusals and appends its audit
// event in its own transaction; the handler only parses and renders. A
// trace is gated on privacy.breach and runs privacy::TraceLeak in the
// request's transaction.
#include <nlohmann/json.hpp>

#include "crypto/keyring.h"
#include "privacy/export.h"
#include "server/api.h"
#include "server/api_internal.h"

namespace switchboard::server {

using json = nlohmann::json;
using namespace api_internal;  // NOLINT(build/namespaces)

namespace {

// A leaked file sent for tracing: its text, up to this size. Larger files
// go through `switchboard leak trace` (docs/privacy.md).
constexpr size_t kMaxTraceBytes = 1u << 20;

std::string TimeOrEmpty(Micros t) { return t ? FormatTimestamp(t) : std::string(); }

json RecordJson(const members::OrgTree& tree, const privacy::ExportRecord& e) {
  json j{{"id", e.id.value()},
         {"state", e.state},
         {"scope", UnitJson(tree, e.scope)},
         {"role", e.role},
         {"purpose", e.purpose},
         {"columns", e.columns},
         {"requested_by", {{"id", e.requested_by.value()}}},
         {"requested_at", FormatTimestamp(e.requested_at)}};
  if (e.approved_by.valid()) {
    j["approved_by"] = {{"id", e.approved_by.value()}};
    j["approved_at"] = TimeOrEmpty(e.approved_at);
  }
  if (e.produced_at) {
    j["produced_at"] = FormatTimestamp(e.produced_at);
    j["member_rows"] = e.member_rows;
    j["canary_rows"] = e.canary_rows;
  }
  if (e.closed_by.valid()) {
    j["closed_by"] = {{"id", e.closed_by.value()}};
    j["closed_at"] = TimeOrEmpty(e.closed_at);
    j["close_reason"] = e.close_reason;
  }
  return j;
}

json ListedJson(const members::OrgTree& tree, const privacy::ExportService::Listed& l) {
  const privacy::ExportSummary& s = l.summary;
  const privacy::ExportRecord& e = s.record;
  json j = RecordJson(tree, e);
  j["requested_by"]["login"] = s.requester_login;
  j["requested_by"]["name"] = s.requester_name;
  if (e.approved_by.valid()) j["approved_by"]["login"] = s.approver_login;
  if (e.closed_by.valid()) j["closed_by"]["login"] = l.closer_login;
  const bool open = e.state == "pending" || e.state == "approved";
  j["may"] = {{"approve", l.can_approve},
              {"refuse", l.can_approve},
              {"cancel", l.mine && open},
              {"download", l.mine && e.state == "approved"}};
  return j;
}

json SummaryJson(const members::OrgTree& tree, const privacy::ExportSummary& s) {
  json j = RecordJson(tree, s.record);
  j["requested_by"]["login"] = s.requester_login;
  j["requested_by"]["name"] = s.requester_name;
  if (s.record.approved_by.valid()) j["approved_by"]["login"] = s.approver_login;
  return j;
}

Result<privacy::ExportRequest> RequestFrom(const ApiCall& call) {
  privacy::ExportRequest r;
  r.requester = call.session->session.account;
  r.scope = call.target_unit;
  SB_ASSIGN_OR_RETURN(r.purpose, StringField(call.body, "purpose", true, 4000));
  SB_ASSIGN_OR_RETURN(r.totp, StringField(call.body, "totp", false, 16));
  SB_ASSIGN_OR_RETURN(std::string hex, StringField(call.body, "public_key", true, 200));
  auto key = crypto::FromHex(hex);
  if (!key || key->size() != privacy::kExportKeyBytes) {
    return Status::InvalidArgument(
        "field \"public_key\" must be your export public key: 64 hex digits, as `switchboard "
        "export keygen` prints it");
  }
  r.recipient_key = *key;
  if (auto it = call.body.find("columns"); it != call.body.end() && !it->is_null()) {
    if (!it->is_array()) {
      return Status::InvalidArgument("field \"columns\" must be a list of column names");
    }
    for (const json& c : *it) {
      if (!c.is_string()) {
        return Status::InvalidArgument("field \"columns\" must be a list of column names");
      }
      r.columns.push_back(c.get<std::string>());
    }
    if (r.columns.empty()) {
      return Status::InvalidArgument("field \"columns\" is empty: name at least one column");
    }
  }
  r.request_id = call.req.request_id;
  r.client = call.client;
  return r;
}

}  // namespace

void Api::AddExportHandlers() {
  auto service = [this] {
    return privacy::ExportService(*deps_.store, *deps_.policy, *deps_.tree, *deps_.sealer,
                                  *deps_.clock);
  };
  auto export_id = [](const ApiCall& call) { return privacy::ExportId(call.target_id); };
  auto account = [](const ApiCall& call) { return call.session->session.account; };

  handlers_["exports.list"] = [=, this](const ApiCall& call) {
    auto list = service().ListWithin(account(call), call.session->session.second_factor,
                                     call.target_unit, call.req.request_id, call.client);
    if (!list) return StatusResponse(list.error(), call.req.request_id);
    json out = json::array();
    for (const auto& l : *list) out.push_back(ListedJson(*deps_.tree, l));
    return Json(200, {{"exports", out},
                      {"unit", UnitJson(*deps_.tree, call.target_unit)},
                      {"approval_required", deps_.policy->export_approval}});
  };
  handlers_["exports.request"] = [=, this](const ApiCall& call) {
    auto r = RequestFrom(call);
    if (!r) return StatusResponse(r.error(), call.req.request_id);
    auto rec = service().Request(*r);
    if (!rec) return StatusResponse(rec.error(), call.req.request_id);
    return Json(201, {{"export", RecordJson(*deps_.tree, *rec)}});
  };
  handlers_["exports.approve"] = [=, this](const ApiCall& call) {
    auto totp = StringField(call.body, "totp", false, 16);
    if (!totp) return StatusResponse(totp.error(), call.req.request_id);
    auto rec =
        service().Approve(account(call), *totp, export_id(call), call.req.request_id, call.client);
    if (!rec) return StatusResponse(rec.error(), call.req.request_id);
    return Json(200, {{"export", RecordJson(*deps_.tree, *rec)}});
  };
  handlers_["exports.cancel"] = [=, this](const ApiCall& call) {
    auto reason = StringField(call.body, "reason", true, 4000);
    if (!reason) return StatusResponse(reason.error(), call.req.request_id);
    auto rec = service().Close(account(call), call.session->session.second_factor, export_id(call),
                               *reason, call.req.request_id, call.client);
    if (!rec) return StatusResponse(rec.error(), call.req.request_id);
    return Json(200, {{"export", RecordJson(*deps_.tree, *rec)}});
  };
  handlers_["exports.download"] = [=](const ApiCall& call) {
    auto file = service().Produce(account(call), call.session->session.second_factor,
                                  export_id(call), call.req.request_id, call.client);
    if (!file) return StatusResponse(file.error(), call.req.request_id);
    HttpResponse out;
    out.content_type = "application/octet-stream";
    out.body = std::move(file->sealed);
    const std::string id = file->record.id.ToString();
    out.headers.emplace_back("Content-Disposition",
                             "attachment; filename=\"export-" + id + ".sbx\"");
    out.headers.emplace_back("Cache-Control", "no-store");
    out.headers.emplace_back("X-Export-Members", std::to_string(file->record.member_rows));
    return out;
  };
  handlers_["leaks.trace"] = [this](const ApiCall& call) {
    auto it = call.body.find("file");
    if (it == call.body.end() || !it->is_string()) {
      return Error(400, "invalid_request",
                   "send the suspected file's text as the string field \"file\"", call.req);
    }
    const std::string& text = it->get_ref<const std::string&>();
    if (text.size() > kMaxTraceBytes) {
      return Error(413, "file_too_large",
                   "the file is larger than " + std::to_string(kMaxTraceBytes >> 20) +
                       " MiB; send a part of it (a few rows are enough) or trace the whole "
                       "file with `switchboard leak trace FILE`",
                   call.req);
    }
    privacy::LeakTrace trace;
    return Act(
        call, TxKind::kWrite,
        [&](store::Tx& tx, const access::Acting& who) -> Status {
          SB_ASSIGN_OR_RETURN(trace, privacy::TraceLeak(tx, *deps_.sealer, *deps_.tree, who, text));
          return Status::Ok();
        },
        [&](const Status&) {
          const privacy::TraceReport& r = trace.report;
          json found = json::array();
          json traced = json::array();
          for (size_t i = 0; i < r.exports.size(); ++i) {
            const privacy::TracedExport& t = r.exports[i];
            found.push_back({{"traced", t.sufficient},
                             {"canaries_by_email", t.by_email.size()},
                             {"canaries_by_phone_and_name", t.by_phone_name.size()},
                             {"export", SummaryJson(*deps_.tree, trace.exports[i])}});
            if (t.sufficient) traced.push_back(t.id.value());
          }
          return Json(200, {{"verdict", traced.empty() ? "not_traced" : "traced"},
                            {"traced", traced},
                            {"rows", r.records},
                            {"bad_rows", r.bad_records},
                            {"delimiter", std::string(1, r.delimiter)},
                            {"exports", found}});
        });
  };
}

}  // namespace switchboard::server
