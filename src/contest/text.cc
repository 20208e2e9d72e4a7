#include "contest/text.h"

#include <unicode/uscript.h>
#include <unicode/uspoof.h>
#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/text.h"

namespace switchboard::contest {
namespace {

constexpr std::size_t kMaxNames = 1000;
constexpr std::size_t kMaxNameBytes = 200;
// A look-alike made only of ASCII letters ("rn" for "m") counts for names of
// at least this many letters; shorter ones would flag ordinary words ("torn"
// for "Tom").
constexpr std::size_t kMinLettersForAsciiLookalike = 5;

Status CheckText(std::string_view utf8, std::string_view what) {
  if (utf8.size() > kMaxTextBytes) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(utf8.size()) +
                                   " bytes; the limit is " + std::to_string(kMaxTextBytes));
  }
  std::size_t bad = text::FirstInvalidUtf8Byte(utf8);
  if (bad != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " is not valid UTF-8 (byte " +
                                   std::to_string(bad) + ")");
  }
  return Status::Ok();
}

struct CodePoint {
  char32_t cp;
  std::size_t begin;
  std::size_t end;
};

// Calls fn(CodePoint) for each code point of `utf8`, which must be valid.
template <typename Fn>
void ForEachCodePoint(std::string_view utf8, Fn&& fn) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  std::size_t i = 0;
  while (i < utf8.size()) {
    auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      fn(CodePoint{b, i, i + 1});
      ++i;
      continue;
    }
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n =
        utf8proc_iterate(bytes + i, static_cast<utf8proc_ssize_t>(utf8.size() - i), &cp);
    if (n <= 0) {  // unreachable for valid input; never loops forever
      cp = 0xFFFD;
      n = 1;
    }
    fn(CodePoint{static_cast<char32_t>(cp), i, i + static_cast<std::size_t>(n)});
    i += static_cast<std::size_t>(n);
  }
}

enum class Kind {
  kWord,       // L* or N*
  kIdeograph,  // L* or N* of Han, Hiragana or Katakana: a word on its own
  kMark,       // M*
  kFormat,     // Cf: invisible, ignored
  kSpace,      // Z* or Cc
  kOther,      // punctuation, symbols, emoji, unassigned
};

Kind KindOf(char32_t c) {
  if (c < 0x80) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      return Kind::kWord;
    }
    if (c < 0x20 || c == 0x7F || c == ' ') return Kind::kSpace;
    return Kind::kOther;
  }
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO: {
      UErrorCode err = U_ZERO_ERROR;
      UScriptCode script = uscript_getScript(static_cast<UChar32>(c), &err);
      if (U_SUCCESS(err) &&
          (script == USCRIPT_HAN || script == USCRIPT_HIRAGANA || script == USCRIPT_KATAKANA)) {
        return Kind::kIdeograph;
      }
      return Kind::kWord;
    }
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return Kind::kMark;
    case UTF8PROC_CATEGORY_CF:
      return Kind::kFormat;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
      return Kind::kSpace;
    default:
      return Kind::kOther;
  }
}

bool IsLetter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return true;
    default:
      return false;
  }
}

bool IsDigit(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

bool IsAsciiLetter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// ---------------------------------------------------------------- words-v1

// Counts over the text's code points with format characters removed, each
// with its kind.
class WordCounter {
 public:
  explicit WordCounter(std::string_view utf8) {
    ForEachCodePoint(utf8, [this](const CodePoint& p) {
      Kind k = KindOf(p.cp);
      if (k == Kind::kFormat) return;
      c_.push_back(p.cp);
      k_.push_back(k);
    });
  }

  int Count() {
    const std::size_t n = c_.size();
    int words = 0;
    std::size_t i = 0;
    while (i < n) {
      if (k_[i] == Kind::kWord || k_[i] == Kind::kIdeograph) {
        std::size_t end = LinkEnd(i);
        if (end != 0) {
          ++words;
          i = end;
          continue;
        }
      }
      if (k_[i] == Kind::kIdeograph) {
        ++words;
        ++i;
        while (i < n && k_[i] == Kind::kMark) ++i;
        continue;
      }
      if (k_[i] != Kind::kWord) {
        ++i;
        continue;
      }
      ++words;
      char32_t last = c_[i];  // the last letter or digit, marks skipped
      ++i;
      while (i < n) {
        if (k_[i] == Kind::kWord) {
          last = c_[i++];
        } else if (k_[i] == Kind::kMark) {
          ++i;
        } else if (i + 1 < n && k_[i + 1] == Kind::kWord &&
                   (IsJoiner(c_[i]) ||
                    ((c_[i] == ',' || c_[i] == '.') && IsDigit(last) && IsDigit(c_[i + 1])))) {
          ++i;
        } else {
          break;
        }
      }
    }
    return words;
  }

 private:
  static bool IsJoiner(char32_t c) {
    return c == '\'' || c == 0x2019 || c == '-' || c == 0x2010 || c == 0x2011;
  }
  bool IsSpaceAt(std::size_t i) const { return k_[i] == Kind::kSpace; }
  bool IsAlnumAt(std::size_t i) const { return k_[i] == Kind::kWord || k_[i] == Kind::kIdeograph; }

  // When a URL or an e-mail address starts at i: the index after it (it runs
  // to the next space); else 0.
  std::size_t LinkEnd(std::size_t i) {
    if (!IsUrlAt(i) && !IsEmailAt(i)) return 0;
    std::size_t j = i;
    while (j < c_.size() && !IsSpaceAt(j)) ++j;
    return j;
  }

  static char32_t Lower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

  // scheme "://" non-space, or "www." letter-or-digit.
  bool IsUrlAt(std::size_t i) {
    const std::size_t n = c_.size();
    if (i + 4 < n && Lower(c_[i]) == 'w' && Lower(c_[i + 1]) == 'w' && Lower(c_[i + 2]) == 'w' &&
        c_[i + 3] == '.' && IsAlnumAt(i + 4)) {
      return true;
    }
    if (i < no_url_before_ || !IsAsciiLetter(c_[i])) return false;
    std::size_t j = i + 1;
    while (j < n && (IsAsciiLetter(c_[j]) || (c_[j] >= '0' && c_[j] <= '9') || c_[j] == '+' ||
                     c_[j] == '.' || c_[j] == '-')) {
      ++j;
    }
    if (j + 3 < n && c_[j] == ':' && c_[j + 1] == '/' && c_[j + 2] == '/' && !IsSpaceAt(j + 3)) {
      return true;
    }
    no_url_before_ = j;  // a later start inside this run ends at the same j
    return false;
  }

  // local "@" domain, the domain holding a "." followed by a letter or digit.
  bool IsEmailAt(std::size_t i) {
    if (i < no_email_before_) return false;
    const std::size_t n = c_.size();
    std::size_t j = i;
    while (j < n && (IsAlnumAt(j) || k_[j] == Kind::kMark || c_[j] == '.' || c_[j] == '_' ||
                     c_[j] == '%' || c_[j] == '+' || c_[j] == '-')) {
      ++j;
    }
    if (j + 1 < n && c_[j] == '@' && IsAlnumAt(j + 1)) {
      for (std::size_t d = j + 1; d < n; ++d) {
        if (c_[d] == '.') {
          if (d + 1 < n && IsAlnumAt(d + 1)) return true;
        } else if (!IsAlnumAt(d) && k_[d] != Kind::kMark && c_[d] != '-') {
          break;
        }
      }
    }
    no_email_before_ = j;
    return false;
  }

  std::vector<char32_t> c_;
  std::vector<Kind> k_;
  std::size_t no_url_before_ = 0;
  std::size_t no_email_before_ = 0;
};

// ---------------------------------------------------------------- names

// UTF-32 code points of utf8proc's decomposition of `c` with `options`.
void AppendDecomposed(char32_t c, int options, std::u32string& out) {
  utf8proc_int32_t buf[32];
  utf8proc_int32_t boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, 32,
                              static_cast<utf8proc_option_t>(options), &boundclass);
  if (n < 0 || n > 32) {  // no character decomposes this far; keep it as is
    out.push_back(c);
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) out.push_back(static_cast<char32_t>(buf[i]));
}

constexpr int kFoldOptions =
    UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK;

// Letters and digits of `s` only.
std::u32string KeepAlnum(const std::u32string& s) {
  std::u32string out;
  for (char32_t c : s) {
    Kind k = KindOf(c);
    if (k == Kind::kWord || k == Kind::kIdeograph) out.push_back(c);
  }
  return out;
}

// How one letter or digit compares: `folded` is its compatibility,
// case-folded, accent-free form; `skeleton` that form's UTS #39 skeleton,
// folded again. `lookalike` when the skeleton changed a character that is
// not a plain ASCII letter (a Cyrillic "а", a "0" for an "o").
struct Form {
  std::u32string folded;
  std::u32string skeleton;
  bool lookalike = false;
};

Form ComputeForm(char32_t c, const USpoofChecker* spoof) {
  Form f;
  std::u32string folded;
  AppendDecomposed(c, kFoldOptions, folded);
  f.folded = KeepAlnum(folded);
  std::u32string skeleton;
  for (char32_t fc : f.folded) {
    UChar in[2];
    int32_t in_len = 0;
    if (fc <= 0xFFFF) {
      in[in_len++] = static_cast<UChar>(fc);
    } else {
      in[in_len++] = static_cast<UChar>(0xD7C0 + (fc >> 10));
      in[in_len++] = static_cast<UChar>(0xDC00 | (fc & 0x3FF));
    }
    UChar out[32];
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = uspoof_getSkeleton(spoof, 0, in, in_len, out, 32, &err);
    if (U_FAILURE(err) || n < 0 || n > 32) {
      skeleton.push_back(fc);
      continue;
    }
    for (int32_t i = 0; i < n; ++i) {
      char32_t sc = out[i];
      if (sc >= 0xD800 && sc <= 0xDBFF && i + 1 < n && out[i + 1] >= 0xDC00 &&
          out[i + 1] <= 0xDFFF) {
        sc = 0x10000 + ((sc - 0xD800) << 10) + (out[i + 1] - 0xDC00);
        ++i;
      }
      AppendDecomposed(sc, kFoldOptions, skeleton);
    }
  }
  f.skeleton = KeepAlnum(skeleton);
  bool plain = std::all_of(f.folded.begin(), f.folded.end(), IsAsciiLetter);
  f.lookalike = f.skeleton != f.folded && !plain;
  return f;
}

// Forms of code points met so far; one per Find call, so Find stays const.
class FormCache {
 public:
  explicit FormCache(const USpoofChecker* spoof) : spoof_(spoof) {}
  const Form& Get(char32_t c) {
    if (c < 0x80) {
      if (!ascii_[c]) ascii_[c] = std::make_unique<Form>(ComputeForm(c, spoof_));
      return *ascii_[c];
    }
    auto it = other_.find(c);
    if (it == other_.end()) it = other_.emplace(c, ComputeForm(c, spoof_)).first;
    return it->second;
  }

 private:
  const USpoofChecker* spoof_;
  std::unique_ptr<Form> ascii_[0x80];
  std::unordered_map<char32_t, Form> other_;
};

// One letter or digit of the text (with any marks after it).
struct Cell {
  std::uint32_t begin = 0;  // bytes in the original text (< kMaxTextBytes)
  std::uint32_t end = 0;
  std::uint32_t first_unit = 0;  // its skeleton's units: [first_unit, end_unit)
  std::uint32_t end_unit = 0;
  bool token_start = false;
  bool token_end = false;
  const Form* form = nullptr;
};

// A text as skeleton units (separators and invisible characters removed),
// each unit knowing its cell.
struct Normalised {
  std::u32string units;
  std::vector<std::uint32_t> unit_cell;
  std::vector<Cell> cells;
};

Normalised Normalise(std::string_view utf8, FormCache& cache) {
  Normalised n;
  bool after_separator = true;
  bool last_digit = false;
  auto end_token = [&n] {
    if (!n.cells.empty()) n.cells.back().token_end = true;
  };
  ForEachCodePoint(utf8, [&](const CodePoint& p) {
    Kind k = KindOf(p.cp);
    switch (k) {
      case Kind::kFormat:
        break;
      case Kind::kMark:
        if (!after_separator && !n.cells.empty()) {
          n.cells.back().end = static_cast<std::uint32_t>(p.end);
        }
        break;
      case Kind::kSpace:
      case Kind::kOther:
        if (!after_separator) end_token();
        after_separator = true;
        break;
      case Kind::kWord:
      case Kind::kIdeograph: {
        const Form& form = cache.Get(p.cp);
        if (form.skeleton.empty()) return;  // nothing comparable: transparent
        // An ideograph is a token on its own; letters and digits meet at a
        // token boundary ("Starmer4Leader").
        bool digit = !IsLetter(p.cp);
        if (!after_separator && (k == Kind::kIdeograph || digit != last_digit)) {
          end_token();
          after_separator = true;
        }
        last_digit = digit;
        Cell cell;
        cell.begin = static_cast<std::uint32_t>(p.begin);
        cell.end = static_cast<std::uint32_t>(p.end);
        cell.token_start = after_separator;
        cell.form = &form;
        cell.first_unit = static_cast<std::uint32_t>(n.units.size());
        auto index = static_cast<std::uint32_t>(n.cells.size());
        for (char32_t u : form.skeleton) {
          n.units.push_back(u);
          n.unit_cell.push_back(index);
        }
        cell.end_unit = static_cast<std::uint32_t>(n.units.size());
        n.cells.push_back(cell);
        after_separator = false;
        if (k == Kind::kIdeograph) {
          end_token();
          after_separator = true;
        }
        break;
      }
    }
  });
  end_token();
  return n;
}

struct NameInfo {
  std::size_t entry = 0;
  std::string name;
  std::u32string folded;  // letters and digits, separators removed
  std::u32string skeleton;
  std::size_t letters = 0;
};

USpoofChecker* OpenSpoofChecker(Status& status) {
  UErrorCode err = U_ZERO_ERROR;
  USpoofChecker* spoof = uspoof_open(&err);
  if (U_FAILURE(err)) {
    if (spoof) uspoof_close(spoof);
    status =
        Status::Internal(std::string("ICU's spoof checker is unavailable: ") + u_errorName(err));
    return nullptr;
  }
  return spoof;
}

}  // namespace

Result<int> CountWords(std::string_view utf8) {
  SB_RETURN_IF_ERROR(CheckText(utf8, "the statement"));
  WordCounter counter(utf8);
  return counter.Count();
}

struct NameMatcher::Impl {
  struct SpoofCloser {
    void operator()(USpoofChecker* s) const { uspoof_close(s); }
  };
  std::unique_ptr<USpoofChecker, SpoofCloser> spoof;
  std::vector<std::string> candidates;
  std::vector<NameInfo> names;
  // A trie over the names' skeletons: edges keyed by (node << 21 | unit).
  std::unordered_map<std::uint64_t, std::uint32_t> edges;
  std::vector<std::vector<std::uint32_t>> ends;  // per node: names ending there

  std::uint32_t Child(std::uint32_t node, char32_t unit) const {
    auto it = edges.find((static_cast<std::uint64_t>(node) << 21) | unit);
    return it == edges.end() ? 0 : it->second;
  }
  void Insert(const std::u32string& key, std::uint32_t name) {
    std::uint32_t node = 0;
    for (char32_t u : key) {
      std::uint64_t edge = (static_cast<std::uint64_t>(node) << 21) | u;
      auto it = edges.find(edge);
      if (it == edges.end()) {
        auto next = static_cast<std::uint32_t>(ends.size());
        ends.emplace_back();
        it = edges.emplace(edge, next).first;
      }
      node = it->second;
    }
    ends[node].push_back(name);
  }
};

NameMatcher::NameMatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NameMatcher::~NameMatcher() = default;
NameMatcher::NameMatcher(NameMatcher&&) noexcept = default;
NameMatcher& NameMatcher::operator=(NameMatcher&&) noexcept = default;

Result<NameMatcher> NameMatcher::Build(const std::vector<NameEntry>& entries) {
  std::size_t total = 0;
  for (const NameEntry& e : entries) total += e.names.size();
  if (total > kMaxNames) {
    return Status::InvalidArgument("the candidates have " + std::to_string(total) +
                                   " names and aliases; the limit is " + std::to_string(kMaxNames));
  }
  Status status;
  auto impl = std::make_unique<Impl>();
  impl->spoof.reset(OpenSpoofChecker(status));
  if (!status.ok()) return status;
  impl->ends.emplace_back();  // the root
  FormCache cache(impl->spoof.get());
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const NameEntry& entry = entries[e];
    impl->candidates.push_back(entry.candidate);
    for (std::size_t i = 0; i < entry.names.size(); ++i) {
      const std::string& name = entry.names[i];
      std::string where = "candidate '" + entry.candidate + "' name " + std::to_string(i + 1);
      if (name.size() > kMaxNameBytes) {
        return Status::InvalidArgument(where + " is " + std::to_string(name.size()) +
                                       " bytes; the limit is " + std::to_string(kMaxNameBytes));
      }
      SB_RETURN_IF_ERROR(CheckText(name, where));
      if (text::Trim(name).empty()) return Status::InvalidArgument(where + " is empty");
      bool has_letter = false;
      ForEachCodePoint(name, [&has_letter](const CodePoint& p) { has_letter |= IsLetter(p.cp); });
      if (!has_letter) return Status::InvalidArgument(where + " has no letters");
      Normalised n = Normalise(name, cache);
      NameInfo info;
      info.entry = e;
      info.name = name;
      for (const Cell& cell : n.cells) {
        info.folded += cell.form->folded;
        for (char32_t c : cell.form->folded) info.letters += IsLetter(c) ? 1 : 0;
      }
      info.skeleton = n.units;
      if (info.skeleton.empty()) return Status::InvalidArgument(where + " has no letters");
      impl->Insert(info.skeleton, static_cast<std::uint32_t>(impl->names.size()));
      impl->names.push_back(std::move(info));
    }
  }
  return NameMatcher(std::move(impl));
}

Result<std::vector<NameMatch>> NameMatcher::Find(std::string_view utf8) const {
  SB_RETURN_IF_ERROR(CheckText(utf8, "the text"));
  FormCache cache(impl_->spoof.get());
  Normalised n = Normalise(utf8, cache);

  struct Found {
    std::uint32_t name;
    std::size_t begin;
    std::size_t end;
  };
  std::vector<Found> found;
  std::u32string folded_span;
  for (std::size_t ci = 0; ci < n.cells.size(); ++ci) {
    const Cell& start = n.cells[ci];
    if (!start.token_start) continue;
    std::uint32_t node = 0;
    for (std::uint32_t u = start.first_unit; u < n.units.size(); ++u) {
      node = impl_->Child(node, n.units[u]);
      if (node == 0) break;
      const Cell& last = n.cells[n.unit_cell[u]];
      if (impl_->ends[node].empty() || !last.token_end || u + 1 != last.end_unit) continue;
      bool lookalike = false;
      folded_span.clear();
      for (std::size_t c = ci; c <= n.unit_cell[u]; ++c) {
        folded_span += n.cells[c].form->folded;
        lookalike = lookalike || n.cells[c].form->lookalike;
      }
      for (std::uint32_t name : impl_->ends[node]) {
        const NameInfo& info = impl_->names[name];
        if (folded_span == info.folded || lookalike ||
            info.letters >= kMinLettersForAsciiLookalike) {
          if (found.size() == kMaxNameMatches) {
            return Status::ResourceExhausted("the text names candidates more than " +
                                             std::to_string(kMaxNameMatches) + " times");
          }
          found.push_back({name, start.begin, last.end});
        }
      }
    }
  }

  // Per candidate, overlapping matches collapse into the longest.
  std::sort(found.begin(), found.end(), [this](const Found& a, const Found& b) {
    std::size_t ea = impl_->names[a.name].entry;
    std::size_t eb = impl_->names[b.name].entry;
    if (ea != eb) return ea < eb;
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end > b.end;
    return a.name < b.name;
  });
  std::vector<Found> kept;
  for (const Found& f : found) {
    if (!kept.empty() && impl_->names[kept.back().name].entry == impl_->names[f.name].entry &&
        f.begin < kept.back().end) {
      if (f.end - f.begin > kept.back().end - kept.back().begin) kept.back() = f;
      continue;
    }
    kept.push_back(f);
  }
  std::sort(kept.begin(), kept.end(), [this](const Found& a, const Found& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return impl_->names[a.name].entry < impl_->names[b.name].entry;
  });

  std::vector<NameMatch> out;
  out.reserve(kept.size());
  int line = 1;
  std::size_t pos = 0;
  for (const Found& f : kept) {
    for (; pos < f.begin; ++pos) line += utf8[pos] == '\n' ? 1 : 0;
    const NameInfo& info = impl_->names[f.name];
    out.push_back({impl_->candidates[info.entry], info.name, f.begin, f.end, line});
  }
  return out;
}

}  // namespace switchboard::contest
