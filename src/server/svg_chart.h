// Bar charts drawn on the server as SVG, for the organisers' results
// (docs/phonebank.md, "Charts"). A chart is a complete, self-contained SVG
// document: no script, no style sheet, no font or image from anywhere, only
// presentation attributes, so it passes the app's Content-Security-Policy
// inlined into a page or opened on its own. Its <title> and <desc> name it
// and say what it shows for screen readers (role="img", aria-labelledby);
// every piece of text is escaped for XML and stripped of control
// characters. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::server {

struct ChartBar {
  std::string label;
  std::int64_t value = 0;
  std::string note;     // shown after the value, e.g. "40%"; may be empty
  std::string tooltip;  // the bar's own title; empty: the label
};

struct BarChart {
  // Prefix of the ids inside the document (title, desc): letters, digits
  // and '-' are kept, anything else becomes '-'.
  std::string id = "chart";
  std::string title;
  std::string description;  // one or two sentences: what the bars say
  std::vector<ChartBar> bars;
  // Vertical bars over time (labels under every few bars), or horizontal
  // bars with their labels beside them (categories).
  bool over_time = false;
};

// The chart as an SVG document.
std::string RenderSvg(const BarChart& chart);

// `text` safe inside an XML element or a quoted attribute: & < > " '
// escaped, control characters (other than tab and line ends) and invalid
// UTF-8 replaced, and cut to at most `max_chars` characters ("…" added).
std::string XmlText(std::string_view text, size_t max_chars = 200);

}  // namespace switchboard::server
