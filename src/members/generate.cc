#include "members/generate.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <thread>

#include "audit/audit_log.h"
#include "core/log.h"
#include "members/draft.h"

namespace switchboard::members {
namespace {

// splitmix64: small, fast, and identical everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) / 0x1.0p53; }
  bool Chance(double p) { return Unit() < p; }

 private:
  std::uint64_t s_;
};

constexpr std::array kFirst = {
    "Oliver",  "George",  "Harry",   "Jack",   "Jacob",     "Noah",     "Charlie",   "Muhammad",
    "Thomas",  "Oscar",   "William", "James",  "Leo",       "Alfie",    "Henry",     "Joshua",
    "Freddie", "Archie",  "Ethan",   "Isaac",  "Alexander", "Joseph",   "Edward",    "Samuel",
    "Max",     "Daniel",  "Arthur",  "Lucas",  "Mohammed",  "Logan",    "David",     "Peter",
    "John",    "Michael", "Paul",    "Andrew", "Mark",      "Stephen",  "Robert",    "Richard",
    "Olivia",  "Amelia",  "Isla",    "Ava",    "Emily",     "Isabella", "Mia",       "Poppy",
    "Ella",    "Lily",    "Jessica", "Sophie", "Grace",     "Evie",     "Sophia",    "Ruby",
    "Chloe",   "Freya",   "Ivy",     "Daisy",  "Phoebe",    "Florence", "Alice",     "Charlotte",
    "Sienna",  "Matilda", "Evelyn",  "Eva",    "Millie",    "Sarah",    "Susan",     "Margaret",
    "Helen",   "Karen",   "Julie",   "Janet",  "Patricia",  "Linda",    "Elizabeth", "Mary",
    "Aisha",   "Priya",   "Fatima",  "Zainab", "Siobhan",   "Niamh",    "Catriona",  "Eilidh",
    "Rhys",    "Dylan",   "Gareth",  "Cerys",  "Seren",     "Ffion",    "Declan",    "Ciaran",
    "Zoë",     "Chloé",   "Renée",   "Séan",   "José",      "Bronwen",  "Tomasz",    "Agnieszka"};

constexpr std::array kLast = {"Smith",    "Jones",     "Williams", "Taylor",         "Brown",
                              "Davies",   "Evans",     "Wilson",   "Thomas",         "Johnson",
                              "Roberts",  "Robinson",  "Thompson", "Wright",         "Walker",
                              "White",    "Edwards",   "Hughes",   "Green",          "Hall",
                              "Lewis",    "Harris",    "Clarke",   "Patel",          "Jackson",
                              "Wood",     "Turner",    "Martin",   "Cooper",         "Hill",
                              "Ward",     "Morris",    "Moore",    "Clark",          "Lee",
                              "King",     "Baker",     "Harrison", "Morgan",         "Allen",
                              "James",    "Scott",     "Phillips", "Watson",         "Davis",
                              "Parker",   "Price",     "Bennett",  "Young",          "Griffiths",
                              "Mitchell", "Kelly",     "Cook",     "Carter",         "Richardson",
                              "Bailey",   "Collins",   "Bell",     "Shaw",           "Murphy",
                              "Miller",   "Cox",       "Richards", "Khan",           "Marshall",
                              "Anderson", "Simpson",   "Ellis",    "Adams",          "Singh",
                              "Begum",    "Wilkinson", "Foster",   "Chapman",        "Powell",
                              "Webb",     "Rogers",    "Gray",     "Mason",          "Ali",
                              "Hunt",     "Hussain",   "Campbell", "Matthews",       "Owen",
                              "Palmer",   "Holmes",    "Mills",    "Barnes",         "Knight",
                              "Lloyd",    "Butler",    "Russell",  "Barker",         "Fisher",
                              "Stevens",  "Jenkins",   "Murray",   "MacDonald",      "O'Brien",
                              "Fraser",   "Reid",      "Nowak",    "Ó Súilleabháin", "Łukasz"};

constexpr std::array kStreets = {"High Street",   "Station Road",  "Church Lane", "Mill Lane",
                                 "Park Road",     "Victoria Road", "Green Lane",  "Manor Road",
                                 "Church Street", "Kings Road",    "Queens Road", "New Road"};

// Ofcom's ranges reserved for drama: (prefix in E.164, numbers in range).
constexpr std::array kDrama = {
    DramaRange{"+447700900", 3, true},  DramaRange{"+441134960", 3, false},
    DramaRange{"+441144960", 3, false}, DramaRange{"+441154960", 3, false},
    DramaRange{"+441164960", 3, false}, DramaRange{"+441174960", 3, false},
    DramaRange{"+441184960", 3, false}, DramaRange{"+441214960", 3, false},
    DramaRange{"+441314960", 3, false}, DramaRange{"+441414960", 3, false},
    DramaRange{"+441514960", 3, false}, DramaRange{"+441614960", 3, false},
    DramaRange{"+441914980", 3, false}, DramaRange{"+442079460", 3, false},
    DramaRange{"+441632960", 3, false}, DramaRange{"+442920180", 3, false}};

// Postcode areas plausible for each region, so synthetic postcodes look like
// the unit's part of the country.
const char* const* AreasFor(std::string_view region, size_t* n) {
  static const char* kLondon[] = {"E", "N", "SE", "SW", "W", "NW", "EC", "WC"};
  static const char* kScot[] = {"G", "EH", "AB", "DD", "IV", "KA", "PA", "FK"};
  static const char* kWales[] = {"CF", "SA", "LL", "NP", "LD", "SY"};
  static const char* kNi[] = {"BT"};
  static const char* kNe[] = {"NE", "DH", "SR", "TS", "DL"};
  static const char* kNw[] = {"M", "L", "PR", "BB", "WA", "CH", "OL", "BL"};
  static const char* kYorks[] = {"LS", "S", "BD", "HU", "YO", "HD", "WF", "DN"};
  static const char* kEm[] = {"NG", "DE", "LE", "NN", "LN"};
  static const char* kWm[] = {"B", "CV", "WV", "WS", "ST", "DY", "WR"};
  static const char* kEast[] = {"CB", "NR", "IP", "CO", "CM", "LU", "SG", "PE"};
  static const char* kSe[] = {"BN", "GU", "RG", "OX", "ME", "CT", "PO", "SO", "MK"};
  static const char* kSw[] = {"BS", "EX", "PL", "BA", "TR", "GL", "TA", "BH"};
#define SB_AREAS(arr)  \
  *n = std::size(arr); \
  return arr
  if (region == "London") {
    SB_AREAS(kLondon);
  }
  if (region == "Scotland") {
    SB_AREAS(kScot);
  }
  if (region == "Wales") {
    SB_AREAS(kWales);
  }
  if (region == "Northern Ireland") {
    SB_AREAS(kNi);
  }
  if (region == "North East") {
    SB_AREAS(kNe);
  }
  if (region == "North West") {
    SB_AREAS(kNw);
  }
  if (region.find("Yorkshire") != std::string_view::npos) {
    SB_AREAS(kYorks);
  }
  if (region == "East Midlands") {
    SB_AREAS(kEm);
  }
  if (region == "West Midlands") {
    SB_AREAS(kWm);
  }
  if (region == "East of England") {
    SB_AREAS(kEast);
  }
  if (region == "South East") {
    SB_AREAS(kSe);
  }
  SB_AREAS(kSw);
#undef SB_AREAS
}

struct Place {
  const Unit* constituency;
  std::vector<UnitId> branches;
  std::string district;  // postcode district shaped like the region's
};

std::string Phone(Rng& rng, bool want_mobile, PhoneKind* kind) {
  const DramaRange* r = nullptr;
  if (want_mobile) {
    r = &kDrama[0];
  } else {
    r = &kDrama[1 + rng.Below(kDrama.size() - 1)];
  }
  *kind = r->mobile ? PhoneKind::kMobile : PhoneKind::kFixed;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03d", static_cast<int>(rng.Below(1000)));
  return std::string(r->prefix) + buf;
}

std::string AsciiLocal(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) out += static_cast<char>(std::tolower(c));
  }
  return out.empty() ? "member" : out;
}

MemberDraft MakeMember(std::uint64_t seed, std::uint64_t index, const Place& place,
                       std::int64_t today) {
  Rng rng(seed * 0x100000001B3ULL ^ (index + 1) * 0x9E3779B97F4A7C15ULL);
  MemberDraft d;
  MemberRecord& r = d.base;
  r.source = "synthetic";
  char id[32];
  std::snprintf(id, sizeof id, "S%llu-%08llu", static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(index));
  r.external_id = id;
  r.unit = place.constituency->id;
  if (!place.branches.empty() && rng.Chance(0.85)) {
    r.branch = place.branches[rng.Below(place.branches.size())];
  }
  r.first_name = kFirst[rng.Below(kFirst.size())];
  r.last_name = kLast[rng.Below(kLast.size())];
  const int age =
      18 + static_cast<int>(std::min<double>(72, rng.Unit() * rng.Unit() * 90 + rng.Below(20)));
  const int this_year = std::stoi(FormatDate(today).substr(0, 4));
  r.birth_year = this_year - age;
  // Join dates skew recent: square of a uniform over the adult life, max 40 years.
  const std::int64_t max_years = std::min(age - 16, 40);
  const double u = rng.Unit();
  const std::int64_t joined_days_ago =
      static_cast<std::int64_t>(u * u * static_cast<double>(max_years) * 365.25) + 1;
  r.joined_on = today - joined_days_ago;
  const double s = rng.Unit();
  if (s < 0.78) {
    r.status = "current";
  } else if (s < 0.90) {
    r.status = "lapsed";
  } else if (s < 0.95) {
    r.status = "arrears";
  } else if (s < 0.96) {
    r.status = "suspended";
  } else {
    r.status = "resigned";
  }
  if (r.status == "lapsed" || r.status == "resigned") {
    r.lapsed_on = *r.joined_on + static_cast<std::int64_t>(rng.Unit() * joined_days_ago);
  }
  const double t = rng.Unit();
  r.membership_type = t < 0.70 ? "standard" : t < 0.85 ? "reduced" : t < 0.95 ? "young" : "life";
  if (rng.Chance(0.72)) r.consents |= kConsentEmail;
  if (rng.Chance(0.62)) r.consents |= kConsentPhone;
  if (rng.Chance(0.30)) r.consents |= kConsentSms;
  if (rng.Chance(0.45)) r.consents |= kConsentCandidates;
  if (rng.Chance(0.01)) r.suppressions |= kDoNotContact;
  if (rng.Chance(0.004)) r.suppressions |= kDeceased;
  if (rng.Chance(0.01)) r.suppressions |= kMoved;
  if (rng.Chance(0.02)) r.suppressions |= kNoPhone;
  // Contacts: reserved domains and drama ranges only.
  if (rng.Chance(0.93)) {
    const char* domain = rng.Chance(0.5) ? "example.org" : "example.com";
    std::string addr = AsciiLocal(r.first_name) + "." + AsciiLocal(r.last_name) + "." +
                       std::to_string(index) + "@" + domain;
    d.email = Email{addr, addr};
  }
  PhoneKind kind;
  if (rng.Chance(0.85)) {
    const std::string e164 = Phone(rng, true, &kind);
    d.mobile = members::Phone{e164, kind, true};
  }
  if (rng.Chance(0.35)) {
    const std::string e164 = Phone(rng, false, &kind);
    d.phone = members::Phone{e164, kind, true};
  }
  d.address_line1 = std::to_string(1 + rng.Below(180)) + " " + kStreets[rng.Below(kStreets.size())];
  d.town = place.constituency->name;
  char inward[4] = {static_cast<char>('0' + rng.Below(10)), static_cast<char>('A' + rng.Below(26)),
                    static_cast<char>('A' + rng.Below(26)), 0};
  d.postcode = place.district + " " + inward;
  r.postcode_district = place.district;
  return d;
}

MemberDraft CanaryDraft(std::uint64_t seed, UnitId unit, std::string_view town,
                        std::string_view district, std::string_view email_domain,
                        std::int64_t today) {
  Unit u;
  u.id = unit;
  u.name = std::string(town);
  const Place place{&u, {}, std::string(district)};
  MemberDraft d = MakeMember(seed, seed % 1000000, place, today);
  Rng rng(seed ^ 0xCA4A5EEDULL);
  MemberRecord& r = d.base;
  r.status = "current";
  r.lapsed_on.reset();
  r.consents = kConsentEmail | kConsentPhone;
  r.suppressions = 0;
  const std::string addr = AsciiLocal(r.first_name) + "." + AsciiLocal(r.last_name) + "." +
                           std::to_string(100 + rng.Below(9900)) + "@" + std::string(email_domain);
  d.email = Email{addr, addr};
  PhoneKind kind;
  const std::string e164 = Phone(rng, true, &kind);
  d.mobile = members::Phone{e164, kind, true};
  return d;
}

}  // namespace

MemberDraft MakeCanaryDraft(std::uint64_t seed, UnitId unit, std::string_view town,
                            std::string_view district, std::string_view email_domain,
                            std::int64_t today) {
  return CanaryDraft(seed, unit, town, district, email_domain, today);
}

Result<GenerateSummary> GenerateMembers(store::Store& store, const OrgTree& tree_in,
                                        const crypto::Sealer& sealer, const GenerateOptions& opt,
                                        const Clock& clock) {
  const Micros started = SystemClock().Now();
  GenerateSummary sum;
  auto constituencies = tree_in.OfKind("constituency");
  if (constituencies.empty()) {
    return Status::FailedPrecondition(
        "the organisation tree has no constituencies; run `switchboard init` first");
  }
  // Branches: create synthetic ones where a constituency has none.
  if (opt.branches_per_unit > 0) {
    std::vector<UnitSpec> specs;
    for (const Unit* c : constituencies) {
      if (!tree_in.Children(c->id).empty()) continue;
      static const char* kSuffix[] = {"North", "South", "East", "West", "Central", "Rural"};
      for (int b = 0; b < opt.branches_per_unit && b < 6; ++b) {
        specs.push_back({c->code + "-B" + std::to_string(b + 1),
                         c->name + " " + kSuffix[b] + " branch", "branch", c->code, true});
      }
    }
    if (!specs.empty()) {
      SB_RETURN_IF_ERROR(store.WriteNow([&](store::Tx& tx) -> Status {
        SB_ASSIGN_OR_RETURN(int added, SaveUnits(tx, specs));
        sum.branches_created = static_cast<std::uint64_t>(added);
        return Status::Ok();
      }));
    }
  }
  OrgTree tree;
  SB_RETURN_IF_ERROR(store.Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(tree, OrgTree::Load(tx));
    return Status::Ok();
  }));
  std::vector<Place> places;
  for (const Unit* c : tree.OfKind("constituency")) {
    Place p{c, {}, {}};
    for (const Unit* b : tree.Children(c->id))
      if (b->kind == "branch") p.branches.push_back(b->id);
    const Unit* region = tree.Find(c->parent);
    size_t n_areas = 0;
    const char* const* areas = AreasFor(region ? region->name : "", &n_areas);
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: the same on every platform
    for (unsigned char ch : c->code) h = (h ^ ch) * 1099511628211ULL;
    p.district = std::string(areas[h % n_areas]) + std::to_string(1 + (h / 7) % 30);
    places.push_back(std::move(p));
  }
  // Spread members over constituencies with uneven sizes (some units are
  // much larger than others, as in real parties).
  std::vector<double> weights(places.size());
  {
    Rng wr(opt.seed ^ 0xC0FFEE);
    double total = 0;
    for (double& w : weights) total += (w = 0.4 + wr.Unit() * 1.6);
    double acc = 0;
    for (double& w : weights) w = (acc += w / total);
  }
  const std::int64_t today = clock.Now() / kMicrosPerDay;
  const size_t batch = static_cast<size_t>(std::max(1, opt.batch_size));
  // One canary per constituency: the first member generated for it.
  std::vector<bool> has_canary(places.size(), false);
  std::vector<std::pair<MemberRecord, bool>> records;  // record, canary
  records.reserve(batch);
  for (std::uint64_t i = 0; i < opt.count || (i == 0 && opt.count == 0); i += batch) {
    if (opt.count == 0) break;
    const std::uint64_t end = std::min<std::uint64_t>(opt.count, i + batch);
    records.clear();
    // Build the batch on two threads (sealing dominates), then write it.
    const std::uint64_t n = end - i;
    std::vector<std::pair<MemberRecord, bool>> part(n);
    std::vector<size_t> place_of(n);
    for (std::uint64_t k = 0; k < n; ++k) {
      Rng pr(opt.seed * 31 + (i + k));
      const double x = pr.Unit();
      place_of[k] = static_cast<size_t>(std::lower_bound(weights.begin(), weights.end(), x) -
                                        weights.begin());
      if (place_of[k] >= places.size()) place_of[k] = places.size() - 1;
      if (opt.canaries && !has_canary[place_of[k]]) {
        has_canary[place_of[k]] = true;
        part[k].second = true;
      }
    }
    auto work = [&](std::uint64_t from, std::uint64_t to) {
      for (std::uint64_t k = from; k < to; ++k) {
        part[k].first = SealDraft(MakeMember(opt.seed, i + k, places[place_of[k]], today), sealer);
      }
    };
    std::thread helper(work, n / 2, n);
    work(0, n / 2);
    helper.join();
    const Micros now = clock.Now();
    std::uint64_t planted = 0;
    SB_RETURN_IF_ERROR(store.WriteNow([&](store::Tx& tx) -> Status {
      planted = 0;
      audit::Event e;
      e.at = now;
      e.action = "member.generate";
      e.decision = "allow";
      e.rule = "operator.generate";
      e.field_classes = {"contact", "location", "membership", "name"};
      for (auto& [rec, canary] : part) {
        SB_ASSIGN_OR_RETURN(UpsertResult res, UpsertMember(tx, rec, now, "generate"));
        if (res.outcome != UpsertOutcome::kUnchanged) e.members.push_back(res.id.value());
        if (canary) {
          SB_RETURN_IF_ERROR(PlantCanary(tx, res.id, now, "unit"));
          ++planted;
        }
      }
      if (!e.members.empty()) SB_RETURN_IF_ERROR(audit::AuditLog::Append(tx, e).status());
      return Status::Ok();
    }));
    sum.members += n;
    sum.canaries += planted;
    if (opt.progress) opt.progress(sum.members, opt.count);
  }
  sum.seconds = static_cast<double>(SystemClock().Now() - started) / kMicrosPerSecond;
  log::Info("generate", "synthetic members generated",
            {{"members", sum.members}, {"canaries", sum.canaries}, {"seed", opt.seed}});
  return sum;
}

std::span<const char* const> SyntheticFirstNames() { return kFirst; }
std::span<const char* const> SyntheticLastNames() { return kLast; }
std::span<const char* const> SyntheticStreets() { return kStreets; }
std::span<const DramaRange> DramaRanges() { return kDrama; }

}  // namespace switchboard::members
