#include "privacy/export.h"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "access/credentials/totp.h"
#include "access/guard/gate.h"
#include "access/guard/quota.h"
#include "access/policy/acting.h"
#include "access/policy/decision.h"
#include "access/store/access_store.h"
#include "access/store/member_reader.h"
#include "audit/audit_log.h"
#include "core/csv.h"
#include "core/text.h"
#include "crypto/keyring.h"

namespace switchboard::privacy {

namespace {

constexpr std::int64_t kMaxExportRows = 1'000'000;
constexpr std::string_view kCapability = "member.export";

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

std::vector<std::string> Split(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size() && !s.empty()) {
    const size_t j = std::min(s.find(',', i), s.size());
    out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

// A purpose or a reason: `what` names it in errors.
Status CheckPurpose(std::string_view purpose, int max_chars, std::string_view what = "purpose") {
  const std::string p = text::Trim(purpose);
  const std::string w(what);
  if (p.empty()) {
    return Status::InvalidArgument(what == "purpose" ? "state the purpose of the export"
                                                     : "give the " + w);
  }
  if (!text::IsValidUtf8(p)) return Status::InvalidArgument("the " + w + " is not UTF-8 text");
  if (Utf8Chars(p) > static_cast<size_t>(max_chars)) {
    return Status::InvalidArgument("the " + w + " is longer than " + std::to_string(max_chars) +
                                   " characters (policy [export] purpose_max_chars)");
  }
  for (char c : p) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      return Status::InvalidArgument("the " + w + " holds control characters");
    }
  }
  return Status::Ok();
}

std::uint64_t SodiumRandom() {
  std::uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

const char* kRecordColumns =
    "id, requested_by, scope_unit, role, grant_id, purpose, columns, state, requested_at, "
    "approved_by, approved_at, produced_at, member_rows, canary_rows, request_seq, approve_seq, "
    "produce_seq, closed_by, closed_at, close_reason, close_seq";

ExportRecord ReadRecord(const store::Row& r) {
  ExportRecord e;
  e.id = ExportId(r.Int(0));
  e.requested_by = AccountId(r.Int(1));
  e.scope = UnitId(r.Int(2));
  e.role = std::string(r.Text(3));
  e.grant = r.IsNull(4) ? 0 : r.Int(4);
  e.purpose = std::string(r.Text(5));
  e.columns = Split(r.Text(6));
  e.state = std::string(r.Text(7));
  e.requested_at = r.Int(8);
  if (!r.IsNull(9)) e.approved_by = AccountId(r.Int(9));
  e.approved_at = r.IsNull(10) ? 0 : r.Int(10);
  e.produced_at = r.IsNull(11) ? 0 : r.Int(11);
  e.member_rows = r.IsNull(12) ? 0 : r.Int(12);
  e.canary_rows = r.IsNull(13) ? 0 : r.Int(13);
  e.request_seq = r.IsNull(14) ? -1 : r.Int(14);
  e.approve_seq = r.IsNull(15) ? -1 : r.Int(15);
  e.produce_seq = r.IsNull(16) ? -1 : r.Int(16);
  if (!r.IsNull(17)) e.closed_by = AccountId(r.Int(17));
  e.closed_at = r.IsNull(18) ? 0 : r.Int(18);
  e.close_reason = r.IsNull(19) ? "" : std::string(r.Text(19));
  e.close_seq = r.IsNull(20) ? -1 : r.Int(20);
  return e;
}

Result<ExportRecord> Load(store::Tx& tx, ExportId id) {
  std::optional<ExportRecord> out;
  SB_RETURN_IF_ERROR(
      tx.Query(std::string("SELECT ") + kRecordColumns + " FROM exports WHERE id = $1",
               {id.value()}, [&](const store::Row& r) {
                 out = ReadRecord(r);
                 return false;
               }));
  if (!out) return Status::NotFound("no export has id " + id.ToString());
  return *out;
}

access::Acting ActingFor(AccountId account, Micros now, std::string_view request_id,
                         std::string_view client) {
  access::Acting a;
  a.account = account;
  a.now = now;
  a.request_id = std::string(request_id);
  a.client = std::string(client);
  return a;
}

// A refusal of this module's own (no decision to cite): rule and reason.
access::Decision Refusal(std::string rule, std::string reason) {
  access::Decision d;
  d.allow = false;
  d.rule = std::move(rule);
  d.deny_reason = std::move(reason);
  return d;
}

// Checks a step-up code against the account's authenticator, in `tx`; the
// accepted step is stored so the code works once. A refusal: the decision to
// record, and the status to return.
struct StepUp {
  bool ok = false;
  access::Decision refusal;
  Status status;
};
Result<StepUp> CheckStepUp(store::Tx& tx, const crypto::Sealer& sealer, AccountId account,
                           std::string_view code, Micros now) {
  StepUp out;
  auto totp = access::GetTotp(tx, account);
  if (!totp) {
    if (totp.error().code() != StatusCode::kNotFound) return totp.error();
    out.refusal = Refusal("export.step_up", "the account has no second factor enrolled");
    out.status = Status::FailedPrecondition(
        "exports need a second factor: enrol an authenticator first (switchboard account totp)");
    return out;
  }
  if (code.empty()) {
    out.refusal = Refusal("export.step_up", "no authenticator code was given");
    out.status = Status::PermissionDenied("give a current code from your authenticator");
    return out;
  }
  SB_ASSIGN_OR_RETURN(std::string secret, sealer.Open({totp->key_id, totp->sealed}, "totp"));
  std::int64_t step = totp->last_step;
  auto good = access::VerifyTotp(secret, code, now, access::kDefaultTotpWindow, &step);
  if (!good || !*good) {
    out.refusal = Refusal("export.step_up", "the authenticator code was wrong or already used");
    out.status = Status::PermissionDenied("the authenticator code is wrong or was already used");
    return out;
  }
  SB_RETURN_IF_ERROR(access::SetTotpLastStep(tx, account, step));
  out.ok = true;
  return out;
}

std::string ExportIdText(ExportId id) { return "export:" + id.ToString(); }

// Whether `p` may approve (or refuse) an export over `scope`: member.export
// or, failing that, privacy.sar over it.
access::Decision ApproverDecision(const access::Policy& policy, const members::OrgTree& tree,
                                  const access::Principal& p, UnitId scope, Micros now) {
  access::Target target;
  target.unit = scope;
  access::Decision d = access::Decide(policy, tree, p, kCapability, target, now);
  if (!d.allow) d = access::Decide(policy, tree, p, "privacy.sar", target, now);
  return d;
}

// A member's contact points as export cells: e-mail, mobile, phone, address,
// postcode.
struct ContactCells {
  std::string email, mobile, phone, address, postcode;
};
ContactCells Cells(const std::vector<access::ContactView::Point>& points) {
  ContactCells c;
  for (const auto& p : points) {
    if (p.kind == "email" && c.email.empty()) c.email = p.value;
    if (p.kind == "phone" && p.label == "mobile") c.mobile = p.value;
    if (p.kind == "phone" && p.label != "mobile") c.phone = p.value;
    if (p.kind == "address") {
      const nlohmann::json a = nlohmann::json::parse(p.value, nullptr, false);
      if (a.is_object()) {
        std::string line;
        for (const char* k : {"line1", "line2", "town"}) {
          const std::string v = a.value(k, "");
          if (v.empty()) continue;
          if (!line.empty()) line += ", ";
          line += v;
        }
        c.address = line;
        c.postcode = a.value("postcode", "");
      }
    }
  }
  return c;
}

}  // namespace

ExportKeyPair GenerateExportKey() {
  crypto::EnsureSodium();
  unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
  crypto_box_keypair(pk, sk);
  ExportKeyPair k{std::string(reinterpret_cast<char*>(pk), sizeof pk),
                  std::string(reinterpret_cast<char*>(sk), sizeof sk)};
  sodium_memzero(sk, sizeof sk);
  return k;
}

std::string FormatExportKeyFile(const ExportKeyPair& key) {
  return "# Switchboard export key (X25519). Keep this file secret; give only the public\n"
         "# key to `switchboard export request --public-key`.\n"
         "public " +
         crypto::ToHex(key.public_key) + "\nsecret " + crypto::ToHex(key.secret_key) + "\n";
}

Result<ExportKeyPair> ParseExportKeyFile(std::string_view text) {
  ExportKeyPair k;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find('\n', i);
    if (j == std::string_view::npos) j = text.size();
    std::string line = text::Trim(text.substr(i, j - i));
    i = j + 1;
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos) return Status::InvalidArgument("not an export key file");
    const std::string name = line.substr(0, sp);
    auto bytes = crypto::FromHex(text::Trim(line.substr(sp + 1)));
    if (!bytes || bytes->size() != kExportKeyBytes) {
      return Status::InvalidArgument("the export key file holds a key of the wrong form");
    }
    if (name == "public") k.public_key = *bytes;
    if (name == "secret") k.secret_key = *bytes;
  }
  if (k.secret_key.empty()) return Status::InvalidArgument("the key file holds no secret key");
  if (k.public_key.empty()) {
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    crypto_scalarmult_base(pk, reinterpret_cast<const unsigned char*>(k.secret_key.data()));
    k.public_key.assign(reinterpret_cast<char*>(pk), sizeof pk);
  }
  return k;
}

Result<std::string> OpenExportFile(std::string_view file, const ExportKeyPair& key) {
  crypto::EnsureSodium();
  if (file.substr(0, kExportFileMagic.size()) != kExportFileMagic) {
    return Status::InvalidArgument("this is not a Switchboard export file");
  }
  file.remove_prefix(kExportFileMagic.size());
  if (file.size() < crypto_box_SEALBYTES || key.public_key.size() != kExportKeyBytes ||
      key.secret_key.size() != kExportKeyBytes) {
    return Status::InvalidArgument("the export file is truncated or the key is malformed");
  }
  std::string out(file.size() - crypto_box_SEALBYTES, '\0');
  if (crypto_box_seal_open(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(file.data()), file.size(),
                           reinterpret_cast<const unsigned char*>(key.public_key.data()),
                           reinterpret_cast<const unsigned char*>(key.secret_key.data())) != 0) {
    return Status::PermissionDenied(
        "the file was not sealed to this key, or it was altered after sealing");
  }
  return out;
}

std::vector<std::string> ExportColumns(const std::set<std::string>& fields) {
  std::vector<std::string> c;
  if (fields.contains("name")) {
    c.insert(c.end(), {"first_name", "last_name"});
  } else if (fields.contains("first_name")) {
    c.push_back("first_name");
  }
  if (fields.contains("membership")) {
    c.insert(c.end(), {"status", "membership_type", "joined_on", "years"});
  }
  if (fields.contains("location")) c.insert(c.end(), {"unit", "branch", "postcode_district"});
  if (fields.contains("contact")) {
    c.insert(c.end(), {"email", "mobile", "phone", "address", "postcode"});
  }
  // `notes`: the register holds no notes column yet, so nothing to export.
  return c;
}

ExportService::ExportService(store::Store& store, const access::Policy& policy,
                             const members::OrgTree& tree, const crypto::Sealer& sealer,
                             const Clock& clock)
    : store_(store), policy_(policy), tree_(tree), sealer_(sealer), clock_(clock) {
  crypto::EnsureSodium();
  random_ = SodiumRandom;
}

Result<ExportRecord> ExportService::Request(const ExportRequest& r) {
  SB_RETURN_IF_ERROR(CheckPurpose(r.purpose, policy_.export_purpose_max_chars));
  if (r.recipient_key.size() != kExportKeyBytes) {
    return Status::InvalidArgument("the public key must be 32 bytes (64 hex digits)");
  }
  if (!tree_.Find(r.scope)) return Status::InvalidArgument("no unit has id " + r.scope.ToString());
  const Micros now = clock_.Now();
  Status refused = Status::Ok();
  ExportRecord rec;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    refused = Status::Ok();
    const access::Acting who = ActingFor(r.requester, now, r.request_id, r.client);
    SB_ASSIGN_OR_RETURN(access::PrincipalData data, access::LoadPrincipal(tx, r.requester));
    SB_ASSIGN_OR_RETURN(StepUp step, CheckStepUp(tx, sealer_, r.requester, r.totp, now));
    if (!step.ok) {
      SB_RETURN_IF_ERROR(
          access::RecordRefusal(tx, policy_, who, kCapability, step.refusal, false).status());
      refused = step.status;
      return Status::Ok();
    }
    const access::Principal p = data.principal(true);
    access::Target target;
    target.unit = r.scope;
    const access::Decision d = access::Decide(policy_, tree_, p, kCapability, target, now);
    if (!d.allow) {
      SB_RETURN_IF_ERROR(access::RecordRefusal(tx, policy_, who, kCapability, d, false).status());
      refused = Status::PermissionDenied(d.deny_reason);
      return Status::Ok();
    }
    // Columns asked for: only the role's, kept in the file's order.
    std::vector<std::string> columns = ExportColumns(d.fields());
    for (const std::string& c : r.columns) {
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) {
        refused = Status::InvalidArgument(
            "the column \"" + c + "\" is not one your role may export (" + Join(columns) + ")");
        return Status::Ok();
      }
    }
    if (!r.columns.empty()) {
      std::erase_if(columns, [&](const std::string& c) {
        return std::find(r.columns.begin(), r.columns.end(), c) == r.columns.end();
      });
    }
    SB_ASSIGN_OR_RETURN(access::QuotaCheck q,
                        access::Charge(tx, r.requester, *d.role, kCapability, now));
    if (!q.allow) {
      const access::Decision deny = access::QuotaDeny(d, kCapability, q);
      SB_RETURN_IF_ERROR(
          access::RecordRefusal(tx, policy_, who, kCapability, deny, false).status());
      refused = Status::ResourceExhausted(access::QuotaRefusalReason(kCapability, q));
      return Status::Ok();
    }
    rec.requested_by = r.requester;
    rec.scope = r.scope;
    rec.role = d.role->name;
    rec.grant = d.grant.value();
    rec.purpose = text::Trim(r.purpose);
    rec.columns = std::move(columns);
    rec.state = policy_.export_approval ? "pending" : "approved";
    rec.requested_at = now;
    std::int64_t id = 0;
    SB_RETURN_IF_ERROR(
        tx.Query("INSERT INTO exports (requested_by, scope_unit, role, grant_id, purpose, columns, "
                 "recipient_key, state, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                 "RETURNING id",
                 {r.requester.value(), r.scope.value(), rec.role, rec.grant, rec.purpose,
                  Join(rec.columns), store::Value::Bytes(r.recipient_key), rec.state, now},
                 [&](const store::Row& row) {
                   id = row.Int(0);
                   return false;
                 }));
    rec.id = ExportId(id);
    access::Acting allowed = who;
    allowed.decision = &d;
    audit::Event e = allowed.Allow("export.request");
    e.field_classes.assign(d.fields().begin(), d.fields().end());
    if (e.request_id.empty()) e.request_id = ExportIdText(rec.id);
    SB_ASSIGN_OR_RETURN(audit::Appended a, audit::AuditLog::Append(tx, e));
    rec.request_seq = a.seq;
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE exports SET request_seq = $1 WHERE id = $2", {a.seq, id}).status());
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(refused);
  return rec;
}

Result<ExportRecord> ExportService::Approve(AccountId approver, std::string_view totp, ExportId id,
                                            std::string_view request_id, std::string_view client) {
  const Micros now = clock_.Now();
  Status refused = Status::Ok();
  ExportRecord rec;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    refused = Status::Ok();
    const access::Acting who = ActingFor(approver, now, request_id, client);
    SB_ASSIGN_OR_RETURN(rec, Load(tx, id));
    if (rec.state != "pending") {
      refused = Status::FailedPrecondition("export " + id.ToString() + " is " + rec.state +
                                           ", not waiting for approval");
      return Status::Ok();
    }
    if (rec.requested_by == approver) {
      SB_RETURN_IF_ERROR(
          access::RecordRefusal(tx, policy_, who, "export.approve",
                                Refusal("export.self_approval", "nobody approves their own export"),
                                false)
              .status());
      refused = Status::PermissionDenied("nobody approves their own export");
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(StepUp step, CheckStepUp(tx, sealer_, approver, totp, now));
    if (!step.ok) {
      SB_RETURN_IF_ERROR(
          access::RecordRefusal(tx, policy_, who, "export.approve", step.refusal, false).status());
      refused = step.status;
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(access::PrincipalData data, access::LoadPrincipal(tx, approver));
    const access::Decision d =
        ApproverDecision(policy_, tree_, data.principal(true), rec.scope, now);
    if (!d.allow) {
      SB_RETURN_IF_ERROR(
          access::RecordRefusal(tx, policy_, who, "export.approve", d, false).status());
      refused = Status::PermissionDenied(
          "approving an export needs member.export or privacy.sar over its scope: " +
          d.deny_reason);
      return Status::Ok();
    }
    access::Acting allowed = who;
    allowed.decision = &d;
    audit::Event e = allowed.Allow("export.approve");
    if (e.request_id.empty()) e.request_id = ExportIdText(id);
    SB_ASSIGN_OR_RETURN(audit::Appended a, audit::AuditLog::Append(tx, e));
    SB_RETURN_IF_ERROR(tx.Exec("UPDATE exports SET state = 'approved', approved_by = $1, "
                               "approved_at = $2, approve_seq = $3 WHERE id = $4",
                               {approver.value(), now, a.seq, id.value()})
                           .status());
    rec.state = "approved";
    rec.approved_by = approver;
    rec.approved_at = now;
    rec.approve_seq = a.seq;
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(refused);
  return rec;
}

Result<ExportFile> ExportService::Produce(AccountId requester, bool second_factor, ExportId id,
                                          std::string_view request_id, std::string_view client) {
  const Micros now = clock_.Now();
  Status refused = Status::Ok();
  ExportFile out;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    refused = Status::Ok();
    const access::Acting who = ActingFor(requester, now, request_id, client);
    SB_ASSIGN_OR_RETURN(ExportRecord rec, Load(tx, id));
    if (rec.requested_by != requester) {
      refused = Status::PermissionDenied("only the account that asked for an export downloads it");
      return Status::Ok();
    }
    if (rec.state == "pending") {
      refused = Status::FailedPrecondition("export " + id.ToString() +
                                           " is waiting for a second approver");
      return Status::Ok();
    }
    if (rec.state != "approved") {
      refused = Status::FailedPrecondition("export " + id.ToString() +
                                           " was downloaded already; ask for a new export");
      return Status::Ok();
    }
    std::string key;
    SB_RETURN_IF_ERROR(tx.Query("SELECT recipient_key FROM exports WHERE id = $1", {id.value()},
                                [&](const store::Row& r) {
                                  key = std::string(r.Bytes(0));
                                  return false;
                                }));
    // Decided again: a grant revoked since the request stops the download.
    SB_ASSIGN_OR_RETURN(access::PrincipalData data, access::LoadPrincipal(tx, requester));
    const access::Principal p = data.principal(second_factor);
    access::Target target;
    target.unit = rec.scope;
    const access::Decision d = access::Decide(policy_, tree_, p, kCapability, target, now);
    if (!d.allow) {
      SB_RETURN_IF_ERROR(access::RecordRefusal(tx, policy_, who, kCapability, d, false).status());
      refused = Status::PermissionDenied(d.deny_reason);
      return Status::Ok();
    }
    SB_ASSIGN_OR_RETURN(
        std::vector<access::ExportedMember> rows,
        access::ExportMembers(tx, d, tree_, sealer_, rec.scope, kMaxExportRows, now));
    // The columns were fixed at request time; a role changed since then
    // narrows them, never widens.
    const std::vector<std::string> now_columns = ExportColumns(d.fields());
    std::vector<std::string> columns;
    for (const std::string& c : rec.columns) {
      if (std::find(now_columns.begin(), now_columns.end(), c) != now_columns.end()) {
        columns.push_back(c);
      }
    }
    // Canaries: at least the policy's minimum, one per 100 rows above it.
    const int n =
        std::max<int>(policy_.export_canaries_min, static_cast<int>((rows.size() + 99) / 100));
    std::vector<std::string> districts;
    for (const auto& m : rows) districts.push_back(m.view.postcode_district.value_or(""));
    std::vector<CanaryPerson> canaries;
    for (int attempt = 0;; ++attempt) {
      canaries = DrawCanaries(random_, n, districts, now);
      bool taken = false;
      std::set<std::string> seen;
      for (const CanaryPerson& c : canaries) {
        const std::string idx = CanaryEmailIndex(sealer_, c.email);
        if (!seen.insert(idx).second) taken = true;
        auto found = tx.QueryInt("SELECT COUNT(*) FROM export_canaries WHERE email_index = $1",
                                 {store::Value::Bytes(idx)});
        if (!found) return found.error();
        if (*found > 0) taken = true;
      }
      if (!taken) break;
      if (attempt == 20) return Status::Internal("could not draw unique canaries");
    }
    SB_RETURN_IF_ERROR(RecordCanaries(tx, sealer_, id, canaries));

    auto cell_of = [&](const access::ExportedMember& m, const ContactCells& cc,
                       const std::string& col) -> std::string {
      const access::MemberView& v = m.view;
      if (col == "first_name") return v.first_name.value_or("");
      if (col == "last_name") return v.last_name.value_or("");
      if (col == "status") return v.status.value_or("");
      if (col == "membership_type") return v.membership_type.value_or("");
      if (col == "joined_on") return v.joined_on ? FormatDate(*v.joined_on) : "";
      if (col == "years") return v.years ? std::to_string(*v.years) : "";
      if (col == "unit") return v.unit ? v.unit->name : "";
      if (col == "branch") return v.branch ? v.branch->name : "";
      if (col == "postcode_district") return v.postcode_district.value_or("");
      if (col == "email") return cc.email;
      if (col == "mobile") return cc.mobile;
      if (col == "phone") return cc.phone;
      if (col == "address") return cc.address;
      if (col == "postcode") return cc.postcode;
      return "";
    };
    std::vector<std::vector<std::string>> lines;
    lines.reserve(rows.size() + canaries.size());
    for (const auto& m : rows) {
      const ContactCells cc = Cells(m.contact);
      std::vector<std::string> line;
      for (const std::string& col : columns) line.push_back(cell_of(m, cc, col));
      lines.push_back(std::move(line));
    }
    for (const CanaryPerson& c : canaries) {
      // The canary lives where the real row it borrowed a district from does.
      access::ExportedMember m;
      if (!rows.empty()) m.view = rows[c.place].view;
      m.view.first_name = c.first_name;
      m.view.last_name = c.last_name;
      m.view.status = c.status;
      m.view.membership_type = c.membership_type;
      m.view.joined_on = c.joined_on;
      m.view.years = static_cast<int>((now / kMicrosPerDay - c.joined_on) / 365);
      ContactCells cc;
      cc.email = c.email;
      (c.mobile ? cc.mobile : cc.phone) = c.phone;
      const std::string town = m.view.unit ? m.view.unit->name : "";
      cc.address = c.address_line1 + (town.empty() ? "" : ", " + town);
      cc.postcode = c.postcode;
      std::vector<std::string> line;
      for (const std::string& col : columns) line.push_back(cell_of(m, cc, col));
      const size_t at = static_cast<size_t>(random_() % (lines.size() + 1));
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), std::move(line));
    }
    std::string csv;
    csv::AppendRow(&csv, columns);
    for (const auto& line : lines) csv::AppendRow(&csv, line);

    std::string sealed(kExportFileMagic);
    const size_t head = sealed.size();
    sealed.resize(head + csv.size() + crypto_box_SEALBYTES);
    if (crypto_box_seal(reinterpret_cast<unsigned char*>(sealed.data() + head),
                        reinterpret_cast<const unsigned char*>(csv.data()), csv.size(),
                        reinterpret_cast<const unsigned char*>(key.data())) != 0) {
      return Status::InvalidArgument("the export's public key is not usable");
    }
    sodium_memzero(csv.data(), csv.size());

    access::Acting allowed = who;
    allowed.decision = &d;
    audit::Event e = allowed.Allow("export.produce");
    if (e.request_id.empty()) e.request_id = ExportIdText(id);
    e.field_classes.assign(d.fields().begin(), d.fields().end());
    for (const auto& m : rows) e.members.push_back(m.view.id.value());
    SB_ASSIGN_OR_RETURN(audit::Appended a, audit::AuditLog::Append(tx, e));
    SB_RETURN_IF_ERROR(
        tx.Exec("UPDATE exports SET state = 'produced', produced_at = $1, "
                "member_rows = $2, canary_rows = $3, produce_seq = $4, columns = "
                "$5 WHERE id = $6",
                {now, static_cast<std::int64_t>(rows.size()),
                 static_cast<std::int64_t>(canaries.size()), a.seq, Join(columns), id.value()})
            .status());
    rec.state = "produced";
    rec.produced_at = now;
    rec.member_rows = static_cast<std::int64_t>(rows.size());
    rec.canary_rows = static_cast<std::int64_t>(canaries.size());
    rec.produce_seq = a.seq;
    rec.columns = columns;
    out.record = rec;
    out.sealed = std::move(sealed);
    return Status::Ok();
  }));
  SB_RETURN_IF_ERROR(refused);
  return out;
}

Result<ExportRecord> ExportService::Close(AccountId who, bool second_factor, ExportId id,
                                          std::string_view reason, std::string_view request_id,
                                          std::string_view client) {
  SB_RETURN_IF_ERROR(
      CheckPurpose(reason, policy_.export_purpose_max_chars, "reason for withdrawing the export"));
  const Micros now = clock_.Now();
  Status refused = Status::Ok();
  ExportRecord rec;
  SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
    refused = Status::Ok();
    const access::Acting acting = ActingFor(who, now, request_id, client);
    SB_ASSIGN_OR_RETURN(rec, Load(tx, id));
    if (rec.state != "pending" && rec.state != "approved") {
      refused = Status::FailedPrecondition("export " + id.ToString() + " is " + rec.state +
                                           "; only one not yet downloaded can be withdrawn");
      return Status::Ok();
    }
    const bool own = rec.requested_by == who;
    access::Decision d;
    if (!own) {
      SB_ASSIGN_OR_RETURN(access::PrincipalData data, access::LoadPrincipal(tx, who));
      d = ApproverDecision(policy_, tree_, data.principal(second_factor), rec.scope, now);
      if (!d.allow) {
        SB_RETURN_IF_ERROR(
            access::RecordRefusal(tx, policy_, acting, "export.refuse", d, false).status());
        refused = Status::PermissionDenied(
            "refusing an export needs member.export or privacy.sar over its scope: " +
            d.deny_reason);
        return Status::Ok();
      }
    }
    access::Acting allowed = acting;
    if (!own) allowed.decision = &d;
    audit::Event e = allowed.Allow(own ? "export.cancel" : "export.refuse");
    if (e.request_id.empty()) e.request_id = ExportIdText(id);
    SB_ASSIGN_OR_RETURN(audit::Appended a, audit::AuditLog::Append(tx, e));
    rec.state = own ? "cancelled" : "refused";
    rec.closed_by = who;
    rec.closed_at = now;
    rec.close_reason = text::Trim(reason);
    rec.close_seq = a.seq;
    return tx
        .Exec(
            "UPDATE exports SET state = $1, closed_by = $2, closed_at = $3, "
            "close_reason = $4, close_seq = $5 WHERE id = $6",
            {rec.state, who.value(), now, rec.close_reason, a.seq, id.value()})
        .status();
  }));
  SB_RETURN_IF_ERROR(refused);
  return rec;
}

Result<std::vector<ExportService::Listed>> ExportService::ListWithin(AccountId viewer,
                                                                     bool second_factor,
                                                                     UnitId unit,
                                                                     std::string_view request_id,
                                                                     std::string_view client) {
  if (!tree_.Find(unit)) return Status::InvalidArgument("no unit has id " + unit.ToString());
  const Micros now = clock_.Now();
  std::vector<Listed> out;
  // Decided and listed in a read; a refusal is recorded in a write of its own.
  std::optional<access::Decision> denied;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    out.clear();
    denied.reset();
    SB_ASSIGN_OR_RETURN(access::PrincipalData data, access::LoadPrincipal(tx, viewer));
    const access::Principal p = data.principal(second_factor);
    const access::Decision d = ApproverDecision(policy_, tree_, p, unit, now);
    if (!d.allow) {
      denied = d;
      return Status::Ok();
    }
    std::vector<ExportRecord> all;
    SB_RETURN_IF_ERROR(
        tx.Query(std::string("SELECT ") + kRecordColumns + " FROM exports ORDER BY id DESC", {},
                 [&](const store::Row& r) {
                   all.push_back(ReadRecord(r));
                   return true;
                 }));
    for (const ExportRecord& e : all) {
      if (!tree_.IsWithin(e.scope, unit)) continue;
      Listed l;
      SB_ASSIGN_OR_RETURN(l.summary, DescribeExport(tx, tree_, e.id));
      if (e.closed_by.valid()) {
        SB_ASSIGN_OR_RETURN(access::Account c, access::GetAccount(tx, e.closed_by));
        l.closer_login = c.login;
      }
      l.mine = e.requested_by == viewer;
      l.can_approve = !l.mine && e.state == "pending" &&
                      ApproverDecision(policy_, tree_, p, e.scope, now).allow;
      out.push_back(std::move(l));
    }
    return Status::Ok();
  }));
  if (denied) {
    SB_RETURN_IF_ERROR(store_.Write([&](store::Tx& tx) -> Status {
      const access::Acting who = ActingFor(viewer, now, request_id, client);
      return access::RecordRefusal(tx, policy_, who, kCapability, *denied, false).status();
    }));
    return Status::PermissionDenied(denied->deny_reason);
  }
  return out;
}

Result<ExportRecord> ExportService::Get(ExportId id) {
  ExportRecord out;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(out, Load(tx, id));
    return Status::Ok();
  }));
  return out;
}

Result<std::vector<ExportRecord>> ExportService::List(AccountId requested_by) {
  std::vector<ExportRecord> out;
  SB_RETURN_IF_ERROR(store_.Read([&](store::Tx& tx) -> Status {
    std::string sql = std::string("SELECT ") + kRecordColumns + " FROM exports";
    std::vector<store::Value> params;
    if (requested_by.valid()) {
      sql += " WHERE requested_by = $1";
      params.emplace_back(requested_by.value());
    }
    sql += " ORDER BY id";
    return tx.Query(sql, store::Params(params), [&](const store::Row& r) {
      out.push_back(ReadRecord(r));
      return true;
    });
  }));
  return out;
}

Result<ExportSummary> DescribeExport(store::Tx& tx, const members::OrgTree& tree, ExportId id) {
  ExportSummary s;
  SB_ASSIGN_OR_RETURN(s.record, Load(tx, id));
  SB_ASSIGN_OR_RETURN(access::Account req, access::GetAccount(tx, s.record.requested_by));
  s.requester_login = req.login;
  s.requester_name = req.display_name;
  if (s.record.approved_by.valid()) {
    SB_ASSIGN_OR_RETURN(access::Account ap, access::GetAccount(tx, s.record.approved_by));
    s.approver_login = ap.login;
  }
  const members::Unit* u = tree.Find(s.record.scope);
  s.scope_name = u ? u->name : "unit " + s.record.scope.ToString();
  return s;
}

Result<UnitId> ExportScope(store::Tx& tx, ExportId id) {
  SB_ASSIGN_OR_RETURN(ExportRecord e, Load(tx, id));
  return e.scope;
}

Result<LeakTrace> TraceLeak(store::Tx& tx, const crypto::Sealer& sealer,
                            const members::OrgTree& tree, const access::Acting& who,
                            std::string_view text) {
  LeakTrace out;
  SB_ASSIGN_OR_RETURN(CanaryIndex index, CanaryIndex::Load(tx, sealer));
  out.report = Trace(index, text);
  for (const TracedExport& e : out.report.exports) {
    SB_ASSIGN_OR_RETURN(ExportSummary s, DescribeExport(tx, tree, e.id));
    out.exports.push_back(std::move(s));
  }
  SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, who.Allow("leak.trace")).status());
  return out;
}

}  // namespace switchboard::privacy
