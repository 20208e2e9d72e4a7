#include "members/import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <thread>
#include <unordered_map>

#include "audit/audit_log.h"
#include "core/csv.h"
#include "core/log.h"
#include "core/mutex.h"
#include "core/text.h"
#include "members/contact.h"
#include "members/draft.h"

namespace switchboard::members {
namespace {

// Our fields. Every profile maps header names onto these.
enum Field : int {
  kColExternalId,
  kColFirstName,
  kColLastName,
  kColEmail,
  kColPhone,
  kColMobile,
  kColAddress1,
  kColAddress2,
  kColTown,
  kColPostcode,
  kColBirthDate,
  kColStatus,
  kColType,
  kColJoined,
  kColLapsed,
  kColBranch,
  kColConsentEmail,
  kColConsentPhone,
  kColConsentSms,
  kColConsentCandidates,
  kColDoNotContact,
  kColDeceased,
  kColMoved,
  kColDoNotEmail,
  kColDoNotPhone,
  kColDoNotSms,
  kColOptOut,
  kColFieldCount
};

constexpr std::array<const char*, kColFieldCount> kFieldNames = {
    "external_id",    "first_name",    "last_name",       "email",        "phone",
    "mobile",         "address_line1", "address_line2",   "town",         "postcode",
    "birth_date",     "status",        "membership_type", "joined",       "lapsed",
    "branch",         "consent_email", "consent_phone",   "consent_sms",  "consent_candidates",
    "do_not_contact", "deceased",      "moved",           "do_not_email", "do_not_phone",
    "do_not_sms",     "opt_out"};

struct Profile {
  std::string name;
  std::array<std::vector<std::string>, kColFieldCount> headers;
  // How consent is derived when the file has no explicit consent column.
  bool phone_consent_unless_suppressed = false;
  bool email_consent_unless_suppressed = false;
  bool sms_consent_unless_suppressed = false;
};

const std::vector<Profile>& Profiles() {
  static const std::vector<Profile> kProfiles = [] {
    std::vector<Profile> out;
    Profile native;
    native.name = "native";
    native.headers[kColExternalId] = {"member_id", "external_id"};
    native.headers[kColFirstName] = {"first_name"};
    native.headers[kColLastName] = {"last_name"};
    native.headers[kColEmail] = {"email"};
    native.headers[kColPhone] = {"phone"};
    native.headers[kColMobile] = {"mobile"};
    native.headers[kColAddress1] = {"address_line1"};
    native.headers[kColAddress2] = {"address_line2"};
    native.headers[kColTown] = {"town"};
    native.headers[kColPostcode] = {"postcode"};
    native.headers[kColBirthDate] = {"birth_date", "birth_year"};
    native.headers[kColStatus] = {"status"};
    native.headers[kColType] = {"membership_type"};
    native.headers[kColJoined] = {"joined"};
    native.headers[kColLapsed] = {"lapsed"};
    native.headers[kColBranch] = {"branch"};
    native.headers[kColConsentEmail] = {"consent_email"};
    native.headers[kColConsentPhone] = {"consent_phone"};
    native.headers[kColConsentSms] = {"consent_sms"};
    native.headers[kColConsentCandidates] = {"consent_candidates"};
    native.headers[kColDoNotContact] = {"do_not_contact"};
    native.headers[kColDeceased] = {"deceased"};
    native.headers[kColMoved] = {"moved"};
    native.headers[kColDoNotEmail] = {"do_not_email"};
    native.headers[kColDoNotPhone] = {"do_not_phone"};
    native.headers[kColDoNotSms] = {"do_not_sms"};
    out.push_back(native);

    // NationBuilder "people" export (plus its membership columns when present).
    Profile nb;
    nb.name = "nationbuilder";
    nb.headers[kColExternalId] = {"nationbuilder_id"};
    nb.headers[kColFirstName] = {"first_name"};
    nb.headers[kColLastName] = {"last_name"};
    nb.headers[kColEmail] = {"email", "email1"};
    nb.headers[kColPhone] = {"phone_number", "phone"};
    nb.headers[kColMobile] = {"mobile_number", "mobile"};
    nb.headers[kColAddress1] = {"primary_address1", "address_address1"};
    nb.headers[kColAddress2] = {"primary_address2", "address_address2"};
    nb.headers[kColTown] = {"primary_city", "address_city"};
    nb.headers[kColPostcode] = {"primary_zip", "address_zip"};
    nb.headers[kColBirthDate] = {"born_at", "birthdate"};
    nb.headers[kColStatus] = {"membership_status", "status"};
    nb.headers[kColType] = {"membership_name", "membership_type"};
    nb.headers[kColJoined] = {"membership_started_at", "started_at"};
    nb.headers[kColLapsed] = {"membership_expires_on", "expires_on"};
    nb.headers[kColBranch] = {"branch"};
    nb.headers[kColConsentEmail] = {"email_opt_in"};
    nb.headers[kColConsentSms] = {"mobile_opt_in"};
    nb.headers[kColConsentPhone] = {"consent_phone"};
    nb.headers[kColConsentCandidates] = {"consent_candidates"};
    nb.headers[kColDoNotContact] = {"do_not_contact"};
    nb.headers[kColDoNotPhone] = {"do_not_call"};
    nb.headers[kColDeceased] = {"is_deceased", "deceased"};
    nb.headers[kColOptOut] = {"email_unsubscribed", "is_unsubscribed"};
    nb.phone_consent_unless_suppressed = true;
    out.push_back(nb);

    // CiviCRM contact export with membership fields (default column titles).
    Profile civi;
    civi.name = "civicrm";
    civi.headers[kColExternalId] = {"contact id", "contact_id", "id"};
    civi.headers[kColFirstName] = {"first name", "first_name"};
    civi.headers[kColLastName] = {"last name", "last_name"};
    civi.headers[kColEmail] = {"email", "email (primary)"};
    civi.headers[kColPhone] = {"phone", "phone (primary)"};
    civi.headers[kColMobile] = {"mobile", "phone (mobile)"};
    civi.headers[kColAddress1] = {"street address", "street_address"};
    civi.headers[kColAddress2] = {"supplemental address 1", "supplemental_address_1"};
    civi.headers[kColTown] = {"city"};
    civi.headers[kColPostcode] = {"postal code", "postal_code"};
    civi.headers[kColBirthDate] = {"birth date", "birth_date"};
    civi.headers[kColStatus] = {"membership status", "status"};
    civi.headers[kColType] = {"membership type", "membership_type"};
    civi.headers[kColJoined] = {"member since", "join date", "membership start date"};
    civi.headers[kColLapsed] = {"membership end date", "end date"};
    civi.headers[kColBranch] = {"branch"};
    civi.headers[kColConsentCandidates] = {"consent_candidates"};
    civi.headers[kColDoNotContact] = {"do not trade", "do_not_trade"};
    civi.headers[kColDeceased] = {"deceased", "is deceased", "is_deceased"};
    civi.headers[kColDoNotEmail] = {"do not email", "do_not_email"};
    civi.headers[kColDoNotPhone] = {"do not phone", "do_not_phone"};
    civi.headers[kColDoNotSms] = {"do not sms", "do_not_sms"};
    civi.headers[kColOptOut] = {"no bulk emails (user opt out)", "is opt out", "is_opt_out"};
    civi.email_consent_unless_suppressed = true;
    civi.phone_consent_unless_suppressed = true;
    civi.sms_consent_unless_suppressed = true;
    out.push_back(civi);
    return out;
  }();
  return kProfiles;
}

std::string Lower(std::string_view s) {
  std::string out(text::Trim(s));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<bool> ParseBool(std::string_view v) {
  const std::string s = Lower(v);
  if (s == "1" || s == "true" || s == "yes" || s == "y" || s == "t") return true;
  if (s == "0" || s == "false" || s == "no" || s == "n" || s == "f" || s.empty()) return false;
  return Status::InvalidArgument("expected yes/no, true/false or 1/0");
}

// Accepts YYYY-MM-DD, an ISO date-time (date part), or DD/MM/YYYY.
Result<std::int64_t> ParseFlexibleDate(std::string_view v) {
  const std::string s(text::Trim(v));
  if (s.size() >= 10 && s[4] == '-') return ParseDate(std::string_view(s).substr(0, 10));
  if (s.size() == 10 && s[2] == '/' && s[5] == '/') {
    return ParseDate(s.substr(6, 4) + "-" + s.substr(3, 2) + "-" + s.substr(0, 2));
  }
  return Status::InvalidArgument("expected a date as YYYY-MM-DD or DD/MM/YYYY");
}

Result<std::string> ParseStatus(std::string_view v) {
  const std::string s = Lower(v);
  if (s.empty() || s == "current" || s == "active" || s == "new" || s == "grace" || s == "member" ||
      s == "paid")
    return std::string("current");
  if (s == "lapsed" || s == "expired") return std::string("lapsed");
  if (s == "arrears" || s == "in arrears" || s == "pending" || s == "overdue")
    return std::string("arrears");
  if (s == "suspended") return std::string("suspended");
  if (s == "resigned" || s == "cancelled" || s == "canceled" || s == "deceased")
    return std::string("resigned");
  return Status::InvalidArgument(
      "unknown membership status; use current, lapsed, arrears, suspended or resigned");
}

struct Rejection {
  std::uint64_t line = 0;
  std::string column;
  std::string reason;
  std::vector<std::string> fields;
};

// Writes rejected rows: line, column, reason, then the row's own fields, with
// formulas neutralised (csv::AppendRow). The file holds personal data, so it
// is created 0600.
class RejectsWriter {
 public:
  explicit RejectsWriter(std::string path) : path_(std::move(path)) {}
  ~RejectsWriter() {
    if (f_) std::fclose(f_);
  }
  Status Write(const std::vector<std::string>& header, const Rejection& r) {
    if (!f_) {
      ::unlink(path_.c_str());
      const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) return Status::Unavailable("cannot create the rejects file " + path_);
      f_ = ::fdopen(fd, "w");
      std::vector<std::string> h = {"line", "column", "reason"};
      h.insert(h.end(), header.begin(), header.end());
      WriteRow(h);
    }
    std::vector<std::string> row = {std::to_string(r.line), r.column, r.reason};
    row.insert(row.end(), r.fields.begin(), r.fields.end());
    WriteRow(row);
    return Status::Ok();
  }
  Status Close() {
    if (!f_) return Status::Ok();
    const bool ok = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
    std::fclose(f_);
    f_ = nullptr;
    return ok ? Status::Ok() : Status::Unavailable("cannot write the rejects file " + path_);
  }
  bool used() const { return used_ || f_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  void WriteRow(const std::vector<std::string>& fields) {
    std::string line;
    csv::AppendRow(&line, fields);
    std::fwrite(line.data(), 1, line.size(), f_);
    used_ = true;
  }
  std::string path_;
  FILE* f_ = nullptr;
  bool used_ = false;
};

struct Mapping {
  const Profile* profile = nullptr;
  std::array<int, kColFieldCount> col;
  int unit_col = -1;
  std::vector<std::string> header;
  std::vector<std::string> unmapped;  // header names the profile does not read
};

Result<Mapping> MapHeader(const std::vector<std::string>& raw_header, const ImportOptions& opt) {
  Mapping m;
  for (const Profile& p : Profiles())
    if (p.name == opt.profile) m.profile = &p;
  if (!m.profile) {
    return Status::InvalidArgument("unknown profile '" + opt.profile +
                                   "'; use native, nationbuilder or civicrm");
  }
  m.col.fill(-1);
  std::unordered_map<std::string, int> index;
  for (size_t i = 0; i < raw_header.size(); ++i) {
    std::string h = raw_header[i];
    if (i == 0 && h.rfind("\xEF\xBB\xBF", 0) == 0) h = h.substr(3);
    m.header.push_back(h);
    const std::string key = Lower(h);
    if (key.empty()) continue;
    if (!index.emplace(key, static_cast<int>(i)).second) {
      return Status::InvalidArgument("the header names column '" + h + "' twice");
    }
  }
  for (int f = 0; f < kColFieldCount; ++f) {
    for (const std::string& h : m.profile->headers[f]) {
      auto it = index.find(h);
      if (it != index.end()) {
        m.col[f] = it->second;
        break;
      }
    }
  }
  if (opt.unit_column) {
    auto it = index.find(Lower(*opt.unit_column));
    if (it == index.end()) {
      return Status::InvalidArgument("--unit-column '" + *opt.unit_column +
                                     "' is not a column of this file");
    }
    m.unit_col = it->second;
  } else if (m.col[kColPostcode] < 0) {
    return Status::InvalidArgument(
        "the file has no postcode column for the " + opt.profile +
        " profile, so members cannot be placed in units; pass --unit-column COLUMN");
  }
  std::vector<bool> used(m.header.size(), false);
  for (int c : m.col) {
    if (c >= 0) used[static_cast<size_t>(c)] = true;
  }
  if (m.unit_col >= 0) used[static_cast<size_t>(m.unit_col)] = true;
  for (size_t i = 0; i < m.header.size(); ++i) {
    if (used[i]) continue;
    m.unmapped.push_back(m.header[i].empty() ? "(column " + std::to_string(i + 1) + ", no name)"
                                             : m.header[i]);
  }
  std::vector<std::string> missing;
  for (Field f : {kColFirstName, kColLastName}) {
    if (m.col[f] < 0) missing.push_back(m.profile->headers[f].front());
  }
  if (m.col[kColExternalId] < 0 && m.col[kColEmail] < 0) {
    missing.push_back(m.profile->headers[kColExternalId].front() + " (or " +
                      m.profile->headers[kColEmail].front() + ")");
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& s : missing) list += (list.empty() ? "" : ", ") + s;
    return Status::InvalidArgument("the header lacks columns the " + opt.profile +
                                   " profile needs: " + list);
  }
  return m;
}

struct Context {
  const Mapping& map;
  const OrgTree& tree;
  const crypto::Sealer& sealer;
  const ImportOptions& opt;
  const std::unordered_map<std::string, std::int64_t>& postcodes;
};

// Maps one record to a draft, or explains (column, reason) why not.
Result<MemberDraft> MapRow(const csv::Record& rec, const Context& ctx, std::string* column) {
  const Mapping& m = ctx.map;
  // A rejects file we wrote, corrected and imported again, carries the
  // apostrophe that neutralised a leading '+' or '-': read it as written.
  auto get = [&](Field f) -> std::string_view {
    return m.col[f] < 0 ? std::string_view() : csv::Unneutralise(rec.fields[m.col[f]]);
  };
  auto fail = [&](Field f, const Status& st) -> Status {
    *column = m.col[f] >= 0 ? m.header[m.col[f]] : kFieldNames[f];
    return st;
  };
  for (size_t i = 0; i < rec.fields.size(); ++i) {
    if (!text::IsValidUtf8(rec.fields[i])) {
      *column = i < m.header.size() ? m.header[i] : std::to_string(i + 1);
      return Status::InvalidArgument("not valid UTF-8 (save the file as UTF-8 and retry)");
    }
  }
  MemberDraft d;
  MemberRecord& r = d.base;
  r.source = m.profile->name;
  // Names.
  for (Field f : {kColFirstName, kColLastName}) {
    auto name = NormaliseName(get(f));
    if (!name) return fail(f, name.error());
    (f == kColFirstName ? r.first_name : r.last_name) = std::move(*name);
  }
  // Contacts.
  if (!text::Trim(get(kColEmail)).empty()) {
    auto e = NormaliseEmail(get(kColEmail));
    if (!e) return fail(kColEmail, e.error());
    d.email = std::move(*e);
  }
  for (Field f : {kColPhone, kColMobile}) {
    if (text::Trim(get(f)).empty()) continue;
    auto p = NormalisePhone(get(f), ctx.opt.default_phone_region);
    if (!p) return fail(f, p.error());
    (f == kColPhone ? d.phone : d.mobile) = std::move(*p);
  }
  d.address_line1 = text::CollapseSpaces(get(kColAddress1));
  d.address_line2 = text::CollapseSpaces(get(kColAddress2));
  d.town = text::CollapseSpaces(get(kColTown));
  if (!text::Trim(get(kColPostcode)).empty()) {
    auto pc = NormalisePostcode(get(kColPostcode));
    if (!pc) return fail(kColPostcode, pc.error());
    d.postcode = *pc;
    r.postcode_district = PostcodeDistrict(*pc);
  }
  // Identity.
  r.external_id = std::string(text::Trim(get(kColExternalId)));
  if (r.external_id.empty()) {
    if (!d.email) {
      return fail(kColExternalId,
                  Status::InvalidArgument("no member id and no email: this person could not be "
                                          "recognised on a later import"));
    }
    r.external_id = DerivedExternalId(*d.email, ctx.sealer);
  } else if (r.external_id.size() > 128) {
    return fail(kColExternalId, Status::InvalidArgument("member id longer than 128 characters"));
  }
  // Unit.
  if (m.unit_col >= 0) {
    const std::string v(text::Trim(csv::Unneutralise(rec.fields[m.unit_col])));
    const Unit* u = v.empty() ? nullptr : ctx.tree.FindByCodeOrName(v);
    if (!u) {
      *column = m.header[m.unit_col];
      return Status::InvalidArgument(v.empty() ? "no unit given"
                                               : "no unit has the code or name '" + v + "'");
    }
    const Unit* c = ctx.tree.AncestorOfKind(u->id, "constituency");
    if (u->kind == "branch" && c) {
      r.branch = u->id;
      r.unit = c->id;
    } else if (c && c->id == u->id) {
      r.unit = u->id;
    } else if (!c && ctx.tree.Children(u->id).empty()) {
      r.unit = u->id;  // an organisation's own tree without constituencies: any leaf
    } else {
      *column = m.header[m.unit_col];
      return Status::InvalidArgument("unit '" + v + "' is a " + u->kind +
                                     "; members belong to a constituency or a branch");
    }
  } else {
    if (d.postcode.empty()) {
      return fail(kColPostcode,
                  Status::InvalidArgument("no postcode, so the member cannot be placed in a unit "
                                          "(or pass --unit-column)"));
    }
    std::string key = d.postcode;
    key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
    auto it = ctx.postcodes.find(key);
    if (it == ctx.postcodes.end()) {
      return fail(kColPostcode, Status::InvalidArgument(
                                    "postcode not in the postcode table, so the member cannot be "
                                    "placed (load one with `switchboard import postcodes`)"));
    }
    r.unit = UnitId(it->second);
  }
  if (!text::Trim(get(kColBranch)).empty()) {
    const std::string v(text::Trim(get(kColBranch)));
    const Unit* b = ctx.tree.FindByCodeOrName(v);
    if (!b || !ctx.tree.IsWithin(b->id, r.unit) || b->id == r.unit) {
      return fail(kColBranch, Status::InvalidArgument("no branch '" + v +
                                                      "' inside the member's constituency"));
    }
    r.branch = b->id;
  }
  // Membership.
  if (!text::Trim(get(kColBirthDate)).empty()) {
    const std::string v(text::Trim(get(kColBirthDate)));
    int year = 0;
    if (v.size() == 4 && std::all_of(v.begin(), v.end(), ::isdigit)) {
      year = std::stoi(v);
    } else {
      auto days = ParseFlexibleDate(v);
      if (!days) return fail(kColBirthDate, days.error());
      year = std::stoi(FormatDate(*days).substr(0, 4));
    }
    if (year < 1900 || year > 2100) {
      return fail(kColBirthDate, Status::InvalidArgument("birth year out of range 1900-2100"));
    }
    r.birth_year = year;
  }
  auto status = ParseStatus(get(kColStatus));
  if (!status) return fail(kColStatus, status.error());
  r.status = *status;
  const std::string type = text::CollapseSpaces(get(kColType));
  if (type.size() > 64) return fail(kColType, Status::InvalidArgument("longer than 64 characters"));
  r.membership_type = type.empty() ? "standard" : Lower(type);
  for (Field f : {kColJoined, kColLapsed}) {
    if (text::Trim(get(f)).empty()) continue;
    auto days = ParseFlexibleDate(get(f));
    if (!days) return fail(f, days.error());
    (f == kColJoined ? r.joined_on : r.lapsed_on) = *days;
  }
  if (r.joined_on && r.lapsed_on && *r.lapsed_on < *r.joined_on) {
    return fail(kColLapsed, Status::InvalidArgument("lapsed before joining"));
  }
  // Suppressions.
  struct Flag {
    Field field;
    std::uint32_t bit;
  };
  for (const Flag& fl :
       {Flag{kColDoNotContact, kDoNotContact}, Flag{kColDeceased, kDeceased},
        Flag{kColMoved, kMoved}, Flag{kColDoNotEmail, kNoEmail}, Flag{kColDoNotPhone, kNoPhone},
        Flag{kColDoNotSms, kNoSms}, Flag{kColOptOut, kNoEmail}}) {
    auto b = ParseBool(get(fl.field));
    if (!b) return fail(fl.field, b.error());
    if (*b) r.suppressions |= fl.bit;
  }
  // Consents: explicit columns win; some profiles derive consent from the
  // absence of a suppression (documented in docs/import.md).
  struct ConsentRule {
    Field field;
    std::uint32_t bit;
    bool derived;
    std::uint32_t suppression;
  };
  const Profile& p = *m.profile;
  for (const ConsentRule& c :
       {ConsentRule{kColConsentEmail, kConsentEmail, p.email_consent_unless_suppressed, kNoEmail},
        ConsentRule{kColConsentPhone, kConsentPhone, p.phone_consent_unless_suppressed, kNoPhone},
        ConsentRule{kColConsentSms, kConsentSms, p.sms_consent_unless_suppressed, kNoSms},
        ConsentRule{kColConsentCandidates, kConsentCandidates, false, 0}}) {
    if (m.col[c.field] >= 0) {
      auto b = ParseBool(get(c.field));
      if (!b) return fail(c.field, b.error());
      if (*b) r.consents |= c.bit;
    } else if (c.derived && !(r.suppressions & (c.suppression | kColDoNotContact))) {
      r.consents |= c.bit;
    }
  }
  return d;
}

// Where a record's bytes lie in the file, to quote the row in the rejects
// file when it matches someone (re-read only then).
struct RowRef {
  std::uint64_t line = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct Batch {
  std::vector<MemberRecord> records;
  std::vector<RowRef> refs;           // one per record
  std::vector<Rejection> rejections;  // in line order, interleaved by line below
  std::uint64_t rows = 0;
  std::uint64_t bytes_done = 0;
};

// A small bounded queue between the reading thread and the writer.
class BatchQueue {
 public:
  explicit BatchQueue(size_t cap) : cap_(cap) {}
  void Push(Batch b) {
    MutexLock l(mu_);
    while (q_.size() >= cap_ && !cancelled_) not_full_.Wait(mu_);
    if (cancelled_) return;
    q_.push_back(std::move(b));
    not_empty_.Signal();
  }
  void Close() {
    MutexLock l(mu_);
    closed_ = true;
    not_empty_.SignalAll();
  }
  void Cancel() {
    MutexLock l(mu_);
    cancelled_ = true;
    not_full_.SignalAll();
  }
  bool cancelled() {
    MutexLock l(mu_);
    return cancelled_;
  }
  std::optional<Batch> Pop() {
    MutexLock l(mu_);
    while (q_.empty() && !closed_) not_empty_.Wait(mu_);
    if (q_.empty()) return std::nullopt;
    Batch b = std::move(q_.front());
    q_.pop_front();
    not_full_.Signal();
    return b;
  }

 private:
  Mutex mu_;
  CondVar not_full_, not_empty_;
  std::deque<Batch> q_ SB_GUARDED_BY(mu_);
  const size_t cap_;
  bool closed_ SB_GUARDED_BY(mu_) = false;
  bool cancelled_ SB_GUARDED_BY(mu_) = false;
};

Status LoadPostcodes(store::Store& store, std::unordered_map<std::string, std::int64_t>* out) {
  return store.Read([&](store::Tx& tx) {
    return tx.Query("SELECT postcode, unit_id FROM postcodes", {}, [&](const store::Row& r) {
      out->emplace(std::string(r.Text(0)), r.Int(1));
      return true;
    });
  });
}

// One audit event per batch and kind of write: the member ids written and
// the field classes an import writes; never the values.
audit::Event ImportEvent(std::string action, const std::string& profile, Micros now) {
  audit::Event e;
  e.at = now;
  e.action = std::move(action);
  e.decision = "allow";
  e.rule = "operator.import:" + profile;
  e.field_classes = {"contact", "location", "membership", "name"};
  return e;
}

std::string IdList(const std::vector<MemberId>& ids) {
  std::string out;
  bool more = false;
  for (MemberId id : ids) {
    if (!id.valid()) {
      more = true;  // a holder beyond the lookup's limit
      continue;
    }
    out += (out.empty() ? "" : ", ") + std::to_string(id.value());
  }
  return more ? out + " and more" : out;
}

// How a row that is not its own source's member relates to those already in
// the register. An e-mail address identifies a person; a phone number only
// together with the same name (households share landlines); the same name in
// the same postcode district is only a possible duplicate.
struct MatchDecision {
  enum Kind { kNone, kMatch, kConflict, kPossibleDuplicate } kind = kNone;
  MemberId member;  // matched, or the first possible duplicate
  std::string key;  // email, phone, email+phone, name+postcode
  std::string why;  // for the rejects file (member ids, never values)
};

Result<MatchDecision> DecideMatch(store::Tx& tx, const MemberRecord& r) {
  std::vector<std::string> emails, phones;
  for (const SealedContact& c : r.contacts) {
    if (c.kind == "email") emails.push_back(c.blind_index);
    if (c.kind == "phone") phones.push_back(c.blind_index);
  }
  SB_ASSIGN_OR_RETURN(std::vector<ContactMatch> hits, FindByContactIndexes(tx, emails, phones));
  std::vector<MemberId> by_email, by_phone;  // by_phone: with the same name
  const std::string first = Lower(r.first_name), last = Lower(r.last_name);
  const auto phone_holders = std::count_if(hits.begin(), hits.end(),
                                           [](const ContactMatch& h) { return h.kind == "phone"; });
  for (const ContactMatch& h : hits) {
    if (h.kind == "email") {
      by_email.push_back(h.id);
    } else if (phone_holders <= kMaxContactHolders && Lower(h.first_name) == first &&
               Lower(h.last_name) == last) {
      // A number shared by more members than that (an office line) identifies nobody.
      by_phone.push_back(h.id);
    }
  }
  MatchDecision d;
  if (by_email.size() > 1) {
    d.kind = MatchDecision::kConflict;
    d.key = "email";
    d.why = "the e-mail address is held by several members (" + IdList(by_email) + ")";
    return d;
  }
  if (by_email.size() == 1) {
    d.member = by_email.front();
    const bool phone_agrees =
        std::find(by_phone.begin(), by_phone.end(), d.member) != by_phone.end();
    if (!phone_agrees && !by_phone.empty()) {
      d.kind = MatchDecision::kConflict;
      d.key = "email+phone";
      d.why = "the e-mail address is member " + std::to_string(d.member.value()) +
              "'s but the phone number and name are member " + IdList(by_phone) + "'s";
      return d;
    }
    d.kind = MatchDecision::kMatch;
    d.key = phone_agrees ? "email+phone" : "email";
    return d;
  }
  if (by_phone.size() > 1) {
    d.kind = MatchDecision::kConflict;
    d.key = "phone";
    d.why = "the phone number and name fit several members (" + IdList(by_phone) + ")";
    return d;
  }
  if (by_phone.size() == 1) {
    d.kind = MatchDecision::kMatch;
    d.member = by_phone.front();
    d.key = "phone";
    return d;
  }
  SB_ASSIGN_OR_RETURN(std::vector<MemberId> same,
                      FindByNameAndDistrict(tx, r.first_name, r.last_name, r.postcode_district, 4));
  if (!same.empty()) {
    d.kind = MatchDecision::kPossibleDuplicate;
    d.member = same.front();
    d.key = "name+postcode";
    d.why = "same name and postcode district as member" +
            std::string(same.size() > 1 ? "s " : " ") + IdList(same);
  }
  return d;
}

const char* OnMatchName(OnMatch m) {
  switch (m) {
    case OnMatch::kUpdate:
      return "update";
    case OnMatch::kReject:
      return "reject";
    case OnMatch::kSkip:
      break;
  }
  return "skip";
}

}  // namespace

Result<OnMatch> ParseOnMatch(std::string_view name) {
  if (name == "skip") return OnMatch::kSkip;
  if (name == "update") return OnMatch::kUpdate;
  if (name == "reject") return OnMatch::kReject;
  return Status::InvalidArgument("--on-match must be update, skip or reject");
}

const std::vector<std::string>& ProfileNames() {
  static const std::vector<std::string> kNames = {"native", "nationbuilder", "civicrm"};
  return kNames;
}

Result<std::vector<ProfileColumn>> DescribeProfile(std::string_view profile) {
  for (const Profile& p : Profiles()) {
    if (p.name != profile) continue;
    std::vector<ProfileColumn> out;
    for (int f = 0; f < kColFieldCount; ++f) {
      if (!p.headers[f].empty()) out.push_back({kFieldNames[f], p.headers[f]});
    }
    return out;
  }
  return Status::InvalidArgument("unknown profile '" + std::string(profile) + "'");
}

Result<ImportSummary> ImportMembers(store::Store& store, const OrgTree& tree,
                                    const crypto::Sealer& sealer, const std::string& path,
                                    const ImportOptions& opt, const Clock& clock) {
  const Micros started = SystemClock().Now();
  SB_ASSIGN_OR_RETURN(auto file, csv::MappedFile::Open(path));
  csv::Options copt;
  copt.max_record_bytes = opt.max_record_bytes;
  csv::Reader reader(file->data(), copt);
  csv::Record rec;
  std::string err;
  // Header.
  const csv::Next first = reader.Read(&rec, &err);
  if (first == csv::Next::kEnd) return Status::InvalidArgument(path + ": the file is empty");
  if (first == csv::Next::kBadRecord) {
    return Status::InvalidArgument(path + ": the header row is malformed: " + err);
  }
  SB_ASSIGN_OR_RETURN(Mapping map, MapHeader(rec.fields, opt));
  std::unordered_map<std::string, std::int64_t> postcodes;
  if (map.unit_col < 0) {
    SB_RETURN_IF_ERROR(LoadPostcodes(store, &postcodes));
    if (postcodes.empty()) {
      return Status::FailedPrecondition(
          "members are placed by postcode but the postcode table is empty; load it with "
          "`switchboard import postcodes FILE.csv` or pass --unit-column COLUMN");
    }
  }
  const Context ctx{map, tree, sealer, opt, postcodes};
  RejectsWriter rejects(opt.rejects_path.empty() ? path + ".rejects.csv" : opt.rejects_path);
  ImportSummary sum;
  const std::uint64_t total = file->data().size();
  const size_t batch_size = static_cast<size_t>(std::max(1, opt.batch_size));

  BatchQueue queue(4);
  std::thread producer([&] {
    // However this thread ends, the writer must learn that no more batches come.
    struct CloseOnExit {
      BatchQueue& q;
      ~CloseOnExit() { q.Close(); }
    } close_on_exit{queue};
    std::unordered_map<std::string, std::uint64_t> seen;  // external id -> first line
    Batch batch;
    for (;;) {
      if (queue.cancelled()) return;
      const std::uint64_t begin = reader.bytes_consumed();
      const csv::Next n = reader.Read(&rec, &err);
      if (n == csv::Next::kEnd) break;
      ++batch.rows;
      if (n == csv::Next::kBadRecord) {
        Rejection rj{rec.line, "", err, {}};
        batch.rejections.push_back(std::move(rj));
      } else if (rec.fields.size() != map.header.size()) {
        batch.rejections.push_back({rec.line, "",
                                    "expected " + std::to_string(map.header.size()) +
                                        " fields as in the header, found " +
                                        std::to_string(rec.fields.size()),
                                    rec.fields});
      } else {
        std::string column;
        auto draft = MapRow(rec, ctx, &column);
        if (!draft) {
          batch.rejections.push_back({rec.line, column, draft.error().message(), rec.fields});
        } else {
          auto [it, fresh] = seen.emplace(draft->base.external_id, rec.line);
          if (!fresh) {
            batch.rejections.push_back(
                {rec.line,
                 map.col[kColExternalId] >= 0 ? map.header[map.col[kColExternalId]] : "email",
                 "the same member appears earlier in this file, at line " +
                     std::to_string(it->second),
                 rec.fields});
          } else {
            batch.records.push_back(SealDraft(std::move(*draft), sealer));
            batch.refs.push_back({rec.line, begin, reader.bytes_consumed()});
          }
        }
      }
      if (batch.records.size() + batch.rejections.size() >= batch_size) {
        batch.bytes_done = reader.bytes_consumed();
        queue.Push(std::move(batch));
        batch = Batch();
      }
    }
    batch.bytes_done = reader.bytes_consumed();
    if (batch.rows > 0) queue.Push(std::move(batch));
  });

  Status failure;
  int batches = 0;
  const std::string change_source = "import:" + opt.profile;
  // The row as the file has it, for the rejects file.
  auto quote_row = [&](const RowRef& ref) {
    csv::Reader again(file->data().substr(ref.begin, ref.end - ref.begin), copt);
    csv::Record row;
    std::string ignored;
    if (again.Read(&row, &ignored) != csv::Next::kRecord) return std::vector<std::string>{};
    return row.fields;
  };
  auto key_column = [&](const std::string& key) {
    const int c = key.rfind("email", 0) == 0 ? map.col[kColEmail]
                  : key == "phone"           ? std::max(map.col[kColPhone], map.col[kColMobile])
                  : key == "name+postcode"   ? map.col[kColLastName]
                                             : -1;
    return c >= 0 ? map.header[static_cast<size_t>(c)] : key;
  };
  while (auto batch = queue.Pop()) {
    if (!failure.ok()) continue;  // drain
    std::uint64_t ins = 0, upd = 0, same = 0, skipped = 0;
    std::vector<MatchReport> reports;
    const Micros now = clock.Now();
    Status st = store.WriteNow([&](store::Tx& tx) -> Status {
      ins = upd = same = skipped = 0;
      reports.clear();
      audit::Event added = ImportEvent("member.import.add", opt.profile, now);
      audit::Event changed = ImportEvent("member.import.update", opt.profile, now);
      for (size_t i = 0; i < batch->records.size(); ++i) {
        const MemberRecord& r = batch->records[i];
        const std::uint64_t line = batch->refs[i].line;
        SB_ASSIGN_OR_RETURN(std::optional<MemberId> own,
                            FindBySourceId(tx, r.source, r.external_id));
        if (own) {
          SB_ASSIGN_OR_RETURN(UpsertOutcome o, UpdateMemberFrom(tx, *own, r, now, change_source));
          if (o == UpsertOutcome::kUpdated) {
            ++upd;
            changed.members.push_back(own->value());
          } else {
            ++same;
          }
          continue;
        }
        SB_ASSIGN_OR_RETURN(MatchDecision d, DecideMatch(tx, r));
        MatchReport rep{line, d.key, MatchOutcome::kSkipped, d.member, i, d.why};
        if (d.kind == MatchDecision::kConflict) {
          rep.outcome = MatchOutcome::kConflict;
          reports.push_back(std::move(rep));
          continue;
        }
        if (d.kind == MatchDecision::kMatch) {
          if (opt.on_match == OnMatch::kUpdate) {
            SB_ASSIGN_OR_RETURN(UpsertOutcome o,
                                UpdateMemberFrom(tx, d.member, r, now, change_source));
            if (o == UpsertOutcome::kUpdated) {
              ++upd;
              rep.outcome = MatchOutcome::kUpdated;
              changed.members.push_back(d.member.value());
            } else {
              ++same;
              rep.outcome = MatchOutcome::kUnchanged;
            }
          } else if (opt.on_match == OnMatch::kReject) {
            rep.outcome = MatchOutcome::kRejected;
          } else {
            ++skipped;
          }
          reports.push_back(std::move(rep));
          continue;
        }
        SB_ASSIGN_OR_RETURN(MemberId inserted, InsertMember(tx, r, now, change_source));
        ++ins;
        added.members.push_back(inserted.value());
        if (d.kind == MatchDecision::kPossibleDuplicate) {
          rep.outcome = MatchOutcome::kPossibleDuplicate;
          rep.imported_as = inserted;
          reports.push_back(std::move(rep));
        }
      }
      // The writes and their record commit together (rulebook §9).
      for (audit::Event* e : {&added, &changed}) {
        if (!e->members.empty()) SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, *e).status());
      }
      return Status::Ok();
    });
    if (!st.ok()) {
      failure = st.WithContext("writing rows ending at byte " + std::to_string(batch->bytes_done));
      queue.Cancel();
      continue;
    }
    // Matches and possible duplicates join the batch's rejections, in line
    // order, each with what became of the row.
    std::uint64_t rejected_matches = 0;
    for (const MatchReport& rep : reports) {
      Rejection rj{rep.line, key_column(rep.key), "", quote_row(batch->refs[rep.record])};
      const std::string who = "member " + std::to_string(rep.member.value());
      switch (rep.outcome) {
        case MatchOutcome::kConflict:
          rj.reason = "not imported: " + rep.why + "; resolve by hand";
          ++sum.conflicts;
          ++rejected_matches;
          break;
        case MatchOutcome::kPossibleDuplicate:
          rj.reason = "imported as member " + std::to_string(rep.imported_as.value()) +
                      ", but possibly a duplicate: " + rep.why + "; check and merge by hand";
          ++sum.possible_duplicates;
          break;
        case MatchOutcome::kRejected:
          rj.reason = "matches " + who + " by " + rep.key + "; rejected (--on-match reject)";
          ++rejected_matches;
          break;
        case MatchOutcome::kSkipped:
          rj.reason = "matches " + who + " by " + rep.key +
                      "; skipped, the member is left as it was (--on-match update to update "
                      "it from this row)";
          break;
        case MatchOutcome::kUpdated:
          rj.reason = "matches " + who + " by " + rep.key + "; updated from this row";
          break;
        case MatchOutcome::kUnchanged:
          rj.reason = "matches " + who + " by " + rep.key + "; already as in this row";
          break;
      }
      if (rep.outcome != MatchOutcome::kConflict &&
          rep.outcome != MatchOutcome::kPossibleDuplicate) {
        ++sum.matched;
        if (rep.key.rfind("email", 0) == 0) ++sum.matched_by_email;
        if (rep.key == "phone") ++sum.matched_by_phone;
      }
      batch->rejections.push_back(std::move(rj));
      if (sum.reports.size() < kMaxReports) sum.reports.push_back(rep);
    }
    std::stable_sort(batch->rejections.begin(), batch->rejections.end(),
                     [](const Rejection& a, const Rejection& b) { return a.line < b.line; });
    for (const Rejection& rj : batch->rejections) {
      Status w = rejects.Write(map.header, rj);
      if (!w.ok()) {
        failure = w;
        queue.Cancel();
        break;
      }
    }
    const std::uint64_t reported = reports.size();
    sum.rows += batch->rows;
    sum.imported += ins;
    sum.updated += upd;
    sum.unchanged += same;
    sum.skipped += skipped;
    sum.rejected += batch->rejections.size() - reported + rejected_matches;
    ++batches;
    log::Debug("import", "batch committed",
               {{"batch", batches}, {"rows", sum.rows}, {"rejected", sum.rejected}});
    if (opt.progress) opt.progress(batch->bytes_done, total, sum.rows);
  }
  producer.join();
  SB_RETURN_IF_ERROR(failure);
  SB_RETURN_IF_ERROR(rejects.Close());
  SB_CHECK(sum.imported + sum.updated + sum.unchanged + sum.skipped + sum.rejected == sum.rows);
  sum.unmapped_columns = map.unmapped;
  if (rejects.used()) sum.rejects_file = rejects.path();
  sum.seconds = static_cast<double>(SystemClock().Now() - started) / kMicrosPerSecond;
  log::Info("import", "import finished",
            {{"profile", opt.profile},
             {"rows", sum.rows},
             {"imported", sum.imported},
             {"updated", sum.updated},
             {"unchanged", sum.unchanged},
             {"skipped", sum.skipped},
             {"rejected", sum.rejected},
             {"matched", sum.matched},
             {"conflicts", sum.conflicts},
             {"possible_duplicates", sum.possible_duplicates},
             {"on_match", OnMatchName(opt.on_match)}});
  return sum;
}

Result<PostcodeImportSummary> ImportPostcodes(store::Store& store, const OrgTree& tree,
                                              const std::string& path,
                                              const std::string& rejects_path) {
  SB_ASSIGN_OR_RETURN(auto file, csv::MappedFile::Open(path));
  csv::Reader reader(file->data());
  csv::Record rec;
  std::string err;
  const csv::Next first = reader.Read(&rec, &err);
  if (first == csv::Next::kEnd) return Status::InvalidArgument(path + ": the file is empty");
  if (first == csv::Next::kBadRecord) {
    return Status::InvalidArgument(path + ": the header row is malformed: " + err);
  }
  std::vector<std::string> header;
  int pc_col = -1, unit_col = -1;
  for (size_t i = 0; i < rec.fields.size(); ++i) {
    std::string h = rec.fields[i];
    if (i == 0 && h.rfind("\xEF\xBB\xBF", 0) == 0) h = h.substr(3);
    header.push_back(h);
    const std::string k = Lower(h);
    if (pc_col < 0 && (k == "pcds" || k == "pcd" || k == "pcd2" || k == "postcode"))
      pc_col = static_cast<int>(i);
    if (unit_col < 0 &&
        (k == "pcon" || k == "pcon24cd" || k == "pcon10cd" || k == "constituency_code" ||
         k == "constituency code" || k == "ons_code" || k == "gss_code" || k == "constituency" ||
         k == "constituency_name" || k == "constituency name"))
      unit_col = static_cast<int>(i);
  }
  if (pc_col < 0 || unit_col < 0) {
    return Status::InvalidArgument(
        path +
        ": the header needs a postcode column (pcds, pcd, pcd2 or postcode) and a "
        "constituency column (pcon, pcon24cd, constituency_code, ons_code, gss_code or "
        "constituency)");
  }
  RejectsWriter rejects(rejects_path.empty() ? path + ".rejects.csv" : rejects_path);
  PostcodeImportSummary sum;
  std::vector<std::pair<std::string, std::int64_t>> rows;
  for (;;) {
    const csv::Next n = reader.Read(&rec, &err);
    if (n == csv::Next::kEnd) break;
    ++sum.rows;
    Rejection rj{rec.line, "", "", rec.fields};
    if (n == csv::Next::kBadRecord) {
      rj.reason = err;
    } else if (rec.fields.size() != header.size()) {
      rj.reason = "expected " + std::to_string(header.size()) + " fields, found " +
                  std::to_string(rec.fields.size());
    } else {
      auto pc = NormalisePostcode(rec.fields[pc_col]);
      const std::string u(text::Trim(rec.fields[unit_col]));
      const Unit* unit = u.empty() ? nullptr : tree.FindByCodeOrName(u);
      if (!pc) {
        rj.column = header[pc_col];
        rj.reason = pc.error().message();
      } else if (!unit) {
        rj.column = header[unit_col];
        rj.reason =
            u.empty() ? "no constituency given" : "no unit has the code or name '" + u + "'";
      } else {
        std::string key = *pc;
        key.erase(std::remove(key.begin(), key.end(), ' '), key.end());
        rows.emplace_back(std::move(key), unit->id.value());
        continue;
      }
    }
    SB_RETURN_IF_ERROR(rejects.Write(header, rj));
    ++sum.rejected;
  }
  for (size_t i = 0; i < rows.size(); i += 20000) {
    SB_RETURN_IF_ERROR(store.WriteNow([&](store::Tx& tx) -> Status {
      for (size_t j = i; j < std::min(rows.size(), i + 20000); ++j) {
        SB_RETURN_IF_ERROR(tx.Exec(
            "INSERT INTO postcodes (postcode, unit_id) VALUES ($1, $2) ON CONFLICT (postcode) DO "
            "UPDATE SET unit_id = excluded.unit_id",
            {rows[j].first, rows[j].second}));
      }
      return Status::Ok();
    }));
  }
  sum.loaded = rows.size();
  SB_RETURN_IF_ERROR(rejects.Close());
  if (rejects.used()) sum.rejects_file = rejects.path();
  return sum;
}

}  // namespace switchboard::members
