#include "privacy/leak.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "access/guard/anomaly.h"
#include "core/csv.h"
#include "core/text.h"
#include "members/contact.h"
#include "members/generate.h"

namespace switchboard::privacy {

namespace {

constexpr std::string_view kSealPurpose = "export-canary";
constexpr const char* kDomains[] = {"example.org", "example.com", "example.net"};
constexpr const char* kStatuses[] = {"current", "current", "current",
                                     "current", "lapsed",  "arrears"};
constexpr const char* kTypes[] = {"standard", "standard", "standard", "reduced", "young", "life"};
// Inward-code letters a postcode may use (not C, I, K, M, O or V).
constexpr std::string_view kInwardLetters = "ABDEFGHJLNPQRSTUWXYZ";

// Letters a-z of a name, lower case ("Zoë" -> "zo", "O'Brien" -> "obrien").
std::string AsciiLocal(std::string_view name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalpha(u) && u < 0x80) out += static_cast<char>(std::tolower(u));
  }
  return out.empty() ? "member" : out;
}

}  // namespace

std::vector<CanaryPerson> DrawCanaries(const std::function<std::uint64_t()>& random, int n,
                                       const std::vector<std::string>& districts, Micros now) {
  auto below = [&](std::uint64_t k) { return k == 0 ? 0 : random() % k; };
  const auto first = members::SyntheticFirstNames();
  const auto last = members::SyntheticLastNames();
  const auto streets = members::SyntheticStreets();
  const auto ranges = members::DramaRanges();
  std::vector<CanaryPerson> out;
  out.reserve(static_cast<size_t>(std::max(n, 0)));
  for (int i = 0; i < n; ++i) {
    CanaryPerson c;
    c.first_name = first[below(first.size())];
    c.last_name = last[below(last.size())];
    std::string token;
    // A letter first, so the local part never ends like the generator's
    // "first.last.12345" (digits only) and no real row shares it.
    token += static_cast<char>('a' + below(26));
    for (int k = 0; k < 5; ++k) {
      const std::uint64_t v = below(36);
      token += static_cast<char>(v < 26 ? 'a' + v : '0' + (v - 26));
    }
    c.email = AsciiLocal(c.first_name) + "." + AsciiLocal(c.last_name) + "." + token + "@" +
              kDomains[below(std::size(kDomains))];
    // Mobiles as often as the register has them (07700 900xxx).
    const bool mobile = below(100) < 85;
    const members::DramaRange* r = &ranges[0];
    if (!mobile) r = &ranges[1 + below(ranges.size() - 1)];
    std::string digits;
    for (int k = 0; k < r->digits; ++k) digits += static_cast<char>('0' + below(10));
    c.phone = std::string(r->prefix) + digits;
    c.mobile = r->mobile;
    c.status = kStatuses[below(std::size(kStatuses))];
    c.membership_type = kTypes[below(std::size(kTypes))];
    c.joined_on = now / kMicrosPerDay - 30 - static_cast<std::int64_t>(below(15 * 365));
    c.address_line1 = std::to_string(1 + below(180)) + " " + streets[below(streets.size())];
    c.place = districts.empty() ? 0 : below(districts.size());
    const std::string district = districts.empty() ? "" : districts[c.place];
    if (!district.empty()) {
      c.postcode = district + " " + static_cast<char>('0' + below(10)) +
                   kInwardLetters[below(kInwardLetters.size())] +
                   kInwardLetters[below(kInwardLetters.size())];
    }
    out.push_back(std::move(c));
  }
  return out;
}

Status RecordCanaries(store::Tx& tx, const crypto::Sealer& sealer, ExportId id,
                      const std::vector<CanaryPerson>& canaries) {
  for (const CanaryPerson& c : canaries) {
    const nlohmann::json j = {{"first", c.first_name}, {"last", c.last_name},
                              {"email", c.email},      {"phone", c.phone},
                              {"mobile", c.mobile},    {"postcode", c.postcode}};
    const crypto::Sealed sealed = sealer.Seal(j.dump(), kSealPurpose);
    auto st = tx.Exec(
        "INSERT INTO export_canaries (export_id, email_index, phone_index, key_id, sealed) "
        "VALUES ($1, $2, $3, $4, $5)",
        {id.value(), store::Value::Bytes(CanaryEmailIndex(sealer, c.email)),
         store::Value::Bytes(sealer.BlindIndex("phone", c.phone)),
         static_cast<std::int64_t>(sealed.key_id), store::Value::Bytes(sealed.bytes)});
    if (!st) {
      if (st.error().code() == StatusCode::kAlreadyExists) {
        return Status::AlreadyExists("a canary's e-mail address is taken; draw again");
      }
      return st.error();
    }
  }
  return Status::Ok();
}

std::string CanaryEmailIndex(const crypto::Sealer& sealer, std::string_view email) {
  auto e = members::NormaliseEmail(email);
  return sealer.BlindIndex("email", e ? e->match_key : text::CaseFold(email));
}

Result<std::vector<CanaryRef>> FindCanaries(store::Tx& tx, std::string_view kind,
                                            std::string_view blind_index) {
  std::vector<CanaryRef> out;
  const char* column = kind == "email" ? "email_index" : kind == "phone" ? "phone_index" : nullptr;
  if (!column) return out;
  SB_RETURN_IF_ERROR(tx.Query(
      std::string("SELECT c.id, c.export_id, e.requested_by FROM export_canaries c JOIN exports e "
                  "ON e.id = c.export_id WHERE c.") +
          column + " = $1 ORDER BY c.id",
      {store::Value::Bytes(std::string(blind_index))}, [&](const store::Row& r) {
        out.push_back(CanaryRef{r.Int(0), ExportId(r.Int(1)), AccountId(r.Int(2))});
        return true;
      }));
  return out;
}

Result<std::vector<CanaryTouch>> ReportCanaryTouchByIndex(store::Tx& tx, std::string_view kind,
                                                          std::string_view blind_index,
                                                          std::string_view how,
                                                          std::string_view request_id, Micros now) {
  SB_ASSIGN_OR_RETURN(std::vector<CanaryRef> refs, FindCanaries(tx, kind, blind_index));
  std::string via;
  for (char c : how) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') via += c;
  }
  std::vector<CanaryTouch> out;
  std::set<std::int64_t> exports;
  for (const CanaryRef& ref : refs) {
    if (!exports.insert(ref.export_id.value()).second) continue;
    const std::string detail = "export:" + ref.export_id.ToString() +
                               " canary:" + std::to_string(ref.canary) + " " + std::string(kind) +
                               " via:" + (via.empty() ? "report" : via);
    SB_ASSIGN_OR_RETURN(access::Alert alert,
                        access::RaiseCanaryTouch(tx, ref.requester, detail, request_id, now));
    out.push_back(CanaryTouch{ref, alert.id.value()});
  }
  return out;
}

Result<std::vector<CanaryTouch>> ReportCanaryTouch(store::Tx& tx, const crypto::Sealer& sealer,
                                                   std::string_view value, std::string_view how,
                                                   std::string_view request_id, Micros now) {
  if (value.find('@') != std::string_view::npos) {
    auto e = members::NormaliseEmail(value);
    if (!e) return Status::InvalidArgument("not an e-mail address: " + e.error().message());
    return ReportCanaryTouchByIndex(tx, "email", sealer.BlindIndex("email", e->match_key), how,
                                    request_id, now);
  }
  auto p = members::NormalisePhone(value, "GB");
  if (!p) return Status::InvalidArgument("neither an e-mail address nor a phone number");
  return ReportCanaryTouchByIndex(tx, "phone", sealer.BlindIndex("phone", p->e164), how, request_id,
                                  now);
}

Result<CanaryIndex> CanaryIndex::Load(store::Tx& tx, const crypto::Sealer& sealer) {
  CanaryIndex out;
  Status bad = Status::Ok();
  SB_RETURN_IF_ERROR(tx.Query(
      "SELECT id, export_id, key_id, sealed FROM export_canaries ORDER BY id", {},
      [&](const store::Row& r) {
        auto plain = sealer.Open({static_cast<std::uint32_t>(r.Int(2)), std::string(r.Bytes(3))},
                                 kSealPurpose);
        if (!plain) {
          bad = plain.error().WithContext("opening canary " + std::to_string(r.Int(0)));
          return false;
        }
        const nlohmann::json j = nlohmann::json::parse(*plain, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          bad = Status::DataLoss("canary " + std::to_string(r.Int(0)) + " does not hold a record");
          return false;
        }
        Entry e;
        e.canary = r.Int(0);
        e.export_id = ExportId(r.Int(1));
        e.first_cf = text::CaseFold(j.value("first", ""));
        e.last_cf = text::CaseFold(j.value("last", ""));
        const size_t at = out.entries_.size();
        out.entries_.push_back(std::move(e));
        out.email_.emplace(text::CaseFold(j.value("email", "")), at);
        out.phone_.emplace(j.value("phone", ""), at);
        return true;
      }));
  SB_RETURN_IF_ERROR(bad);
  return out;
}

void CanaryIndex::Add(Entry entry, std::string email_match_key, std::string e164) {
  const size_t at = entries_.size();
  entries_.push_back(std::move(entry));
  email_.emplace(std::move(email_match_key), at);
  phone_.emplace(std::move(e164), at);
}

const CanaryIndex::Entry* CanaryIndex::ByEmail(std::string_view match_key) const {
  auto it = email_.find(match_key);
  return it == email_.end() ? nullptr : &entries_[it->second];
}

std::vector<const CanaryIndex::Entry*> CanaryIndex::ByPhone(std::string_view e164) const {
  std::vector<const Entry*> out;
  auto [lo, hi] = phone_.equal_range(e164);
  for (auto it = lo; it != hi; ++it) out.push_back(&entries_[it->second]);
  return out;
}

std::vector<ExportId> TraceReport::traced() const {
  std::vector<ExportId> out;
  for (const TracedExport& e : exports) {
    if (e.sufficient) out.push_back(e.id);
  }
  return out;
}

namespace {

// The delimiter a pasted or exported table most likely uses: the candidate
// seen most often outside quotes in the first lines.
char GuessDelimiter(std::string_view text) {
  const std::string_view head = text.substr(0, 64 * 1024);
  const char candidates[] = {',', '\t', ';', '|'};
  size_t counts[4] = {};
  bool quoted = false;
  for (char c : head) {
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    for (int i = 0; i < 4; ++i) {
      if (c == candidates[i]) ++counts[i];
    }
  }
  int best = 0;
  for (int i = 1; i < 4; ++i) {
    if (counts[i] > counts[best]) best = i;
  }
  return candidates[best];
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) || s.front() == '\'' ||
                        s.front() == '<' || s.front() == '"')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '>' ||
                        s.back() == '"' || s.back() == ',' || s.back() == ';')) {
    s.remove_suffix(1);
  }
  return s;
}

// Words of a cell, split on spaces and punctuation a name does not use.
void Words(std::string_view cell, std::vector<std::string_view>* out) {
  size_t i = 0;
  while (i < cell.size()) {
    while (i < cell.size() && (std::isspace(static_cast<unsigned char>(cell[i])) ||
                               cell[i] == ',' || cell[i] == ';' || cell[i] == '|')) {
      ++i;
    }
    size_t j = i;
    while (j < cell.size() && !std::isspace(static_cast<unsigned char>(cell[j])) &&
           cell[j] != ',' && cell[j] != ';' && cell[j] != '|') {
      ++j;
    }
    if (j > i) out->push_back(cell.substr(i, j - i));
    i = j;
  }
}

bool PhoneChar(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == ' ' || c == '(' ||
         c == ')' || c == '-' || c == '.';
}

// Runs of phone-shaped text in a cell with 9 to 15 digits.
void PhoneRuns(std::string_view cell, std::vector<std::string>* out) {
  size_t i = 0;
  while (i < cell.size()) {
    while (i < cell.size() && !(std::isdigit(static_cast<unsigned char>(cell[i])) ||
                                cell[i] == '+' || cell[i] == '(')) {
      ++i;
    }
    size_t j = i;
    int digits = 0;
    while (j < cell.size() && PhoneChar(cell[j])) {
      if (std::isdigit(static_cast<unsigned char>(cell[j]))) ++digits;
      ++j;
    }
    if (digits >= 9 && digits <= 15) {
      std::string run(Trim(cell.substr(i, j - i)));
      // A spreadsheet that took the number for a number dropped its 0.
      if (digits == 10 && !run.empty() && run[0] != '0' && run[0] != '+') run = "0" + run;
      out->push_back(std::move(run));
    }
    i = j > i ? j : i + 1;
  }
}

}  // namespace

TraceReport Trace(const CanaryIndex& index, std::string_view text) {
  TraceReport report;
  report.delimiter = GuessDelimiter(text);
  csv::Options opt;
  opt.delimiter = report.delimiter;
  opt.max_fields = 4096;
  csv::Reader reader(text, opt);
  csv::Record rec;
  std::string error;
  std::map<std::int64_t, TracedExport> found;
  std::map<std::int64_t, std::set<std::int64_t>> email_hits, phone_hits;
  std::vector<std::string_view> words;
  std::vector<std::string> phones;
  std::set<std::string> names;
  for (;;) {
    const csv::Next next = reader.Read(&rec, &error);
    if (next == csv::Next::kEnd) break;
    ++report.records;
    if (next == csv::Next::kBadRecord) ++report.bad_records;
    words.clear();
    phones.clear();
    names.clear();
    for (const std::string& raw : rec.fields) {
      const std::string_view field = csv::Unneutralise(raw);
      const std::string_view cell = Trim(field);
      if (cell.empty()) continue;
      names.insert(text::CaseFold(cell));
      const size_t before = words.size();
      Words(field, &words);
      for (size_t w = before; w < words.size(); ++w) names.insert(text::CaseFold(Trim(words[w])));
      PhoneRuns(field, &phones);
    }
    for (std::string_view w : words) {
      w = Trim(w);
      if (w.size() > 7 && w.substr(0, 7) == "mailto:") w.remove_prefix(7);
      if (w.find('@') == std::string_view::npos) continue;
      auto email = members::NormaliseEmail(w);
      if (!email) continue;
      if (const CanaryIndex::Entry* e = index.ByEmail(email->match_key)) {
        email_hits[e->export_id.value()].insert(e->canary);
      }
    }
    for (const std::string& p : phones) {
      auto phone = members::NormalisePhone(p, "GB");
      if (!phone) continue;
      for (const CanaryIndex::Entry* e : index.ByPhone(phone->e164)) {
        if (names.contains(e->first_cf) && names.contains(e->last_cf)) {
          phone_hits[e->export_id.value()].insert(e->canary);
        }
      }
    }
  }
  for (const auto& [id, hits] : email_hits) {
    TracedExport& t = found[id];
    t.id = ExportId(id);
    t.by_email.assign(hits.begin(), hits.end());
  }
  for (const auto& [id, hits] : phone_hits) {
    TracedExport& t = found[id];
    t.id = ExportId(id);
    t.by_phone_name.assign(hits.begin(), hits.end());
  }
  for (auto& [id, t] : found) {
    t.sufficient = !t.by_email.empty() || t.by_phone_name.size() >= 2;
    report.exports.push_back(std::move(t));
  }
  return report;
}

}  // namespace switchboard::privacy
