// The contest rulebook's text rules (RULEBOOK §8), the same in the server,
// the command line and (words only) the web compose screen:
//
// CountWords — a statement's length. A word is a maximal run of letters or
// digits; an apostrophe or hyphen between two letters/digits joins them
// ("don't", "Long-Bailey" are one word each); a number with separators
// ("50,000", "3.5") is one word; a URL or e-mail address is one word; emoji
// and punctuation are not words. The exact method is "words-v1" in
// docs/contests.md; web/words.js implements the same method and both are
// tested against src/contest/testdata/words.tsv.
//
// NameMatcher — where a text names a candidate: case-, accent- and
// punctuation-insensitive, on word boundaries ("Long-Bailey", "Long Bailey",
// "LONG‑BAILEY" with a non-breaking hyphen and "long bailey's" all match
// "Long-Bailey"; "Starmerite" does not match "Starmer"), resistant to
// look-alike letters (UTS #39 confusable skeletons, ICU's spoof checker) and
// to invisible characters (zero-width joiners, soft hyphens).
//
// Both are pure and thread-safe once built; inputs are UTF-8 of any size up
// to kMaxTextBytes (longer: kInvalidArgument), invalid UTF-8 is refused.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::contest {

inline constexpr std::size_t kMaxTextBytes = 1 << 20;

// Find refuses (kResourceExhausted) a text with more matches than this,
// counting every name and alias that matched before overlaps collapse.
inline constexpr std::size_t kMaxNameMatches = 10000;

// The counting method's stable name, stored with every rulebook and shown to
// people ("words-v1").
inline constexpr std::string_view kWordsMethod = "words-v1";

Result<int> CountWords(std::string_view utf8);

struct NameEntry {
  std::string candidate;           // the rulebook's candidate id
  std::vector<std::string> names;  // display name and aliases
};

struct NameMatch {
  std::string candidate;  // candidate id
  std::string name;       // the rulebook name or alias it matched
  std::size_t begin = 0;  // byte span in the input text: [begin, end)
  std::size_t end = 0;
  int line = 1;  // 1-based line of `begin` in the input
};

class NameMatcher {
 public:
  ~NameMatcher();
  NameMatcher(NameMatcher&&) noexcept;
  NameMatcher& operator=(NameMatcher&&) noexcept;

  // Refuses an empty name, a name with no letters, and more than 1,000 names.
  static Result<NameMatcher> Build(const std::vector<NameEntry>& entries);

  // Every place `utf8` names a candidate, in text order (overlapping matches
  // of the same candidate collapse into the longest). A name's parts may be
  // joined by any separator or none ("LongBailey"); the exact rules are in
  // docs/contests.md. More than kMaxNameMatches: kResourceExhausted.
  Result<std::vector<NameMatch>> Find(std::string_view utf8) const;

 private:
  struct Impl;
  explicit NameMatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::contest
