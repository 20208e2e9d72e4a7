#include "server/svg_chart.h"

#include <algorithm>
#include <cstdio>

namespace switchboard::server {

namespace {

constexpr int kWidth = 640;
constexpr const char* kBar = "#1d5fa8";  // 7:1 against white as text, 5:1 as a shape
constexpr const char* kInk = "#1a1a1a";
constexpr const char* kRule = "#767676";  // 4.5:1 against white

// Length in bytes of the UTF-8 sequence starting at s[i], or 0 if invalid.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string SafeId(std::string_view id) {
  std::string out;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '-';
  }
  return out.empty() ? "chart" : out;
}

std::string Text(double x, double y, std::string_view anchor, std::string_view text,
                 size_t max_chars = 40) {
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" text-anchor=\"" + std::string(anchor) +
         "\" fill=\"" + kInk + "\">" + XmlText(text, max_chars) + "</text>\n";
}

std::string Rect(double x, double y, double w, double h, std::string_view tooltip) {
  return "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(std::max(w, 0.0)) +
         "\" height=\"" + Num(std::max(h, 0.0)) + "\" fill=\"" + kBar + "\"><title>" +
         XmlText(tooltip) + "</title></rect>\n";
}

std::string ValueText(const ChartBar& b) {
  return std::to_string(b.value) + (b.note.empty() ? "" : " (" + b.note + ")");
}

// Categories: label, bar, value, one row each.
std::string Horizontal(const BarChart& c, std::int64_t max, int& height) {
  const int row = 28, top = 40, label_w = 200, value_w = 110;
  const double span = kWidth - label_w - value_w - 10;
  std::string out;
  int y = top;
  for (const ChartBar& b : c.bars) {
    const double w = max > 0 ? span * static_cast<double>(b.value) / static_cast<double>(max) : 0;
    out += Text(label_w - 8, y + 17, "end", b.label, 28);
    out += Rect(label_w, y + 4, w, row - 8,
                (b.tooltip.empty() ? b.label : b.tooltip) + ": " + ValueText(b));
    out += Text(label_w + w + 6, y + 17, "start", ValueText(b));
    y += row;
  }
  height = y + 12;
  return out;
}

// Over time: a column per bucket, a label under every few, a scale on the left.
std::string Vertical(const BarChart& c, std::int64_t max, int& height) {
  const int left = 48, top = 40, plot_h = 180, bottom = top + plot_h;
  // Columns no wider than 40 units: one busy hour is a bar, not a wall.
  const double slot =
      std::min(40.0, static_cast<double>(kWidth - left - 10) / std::max<size_t>(1, c.bars.size()));
  std::string out;
  out += "<line x1=\"" + Num(left) + "\" y1=\"" + Num(bottom) + "\" x2=\"" + Num(kWidth - 10) +
         "\" y2=\"" + Num(bottom) + "\" stroke=\"" + kRule + "\"/>\n";
  out += Text(left - 6, top + 10, "end", std::to_string(max));
  out += Text(left - 6, bottom, "end", "0");
  const size_t every = std::max<size_t>(1, (c.bars.size() + 7) / 8);
  for (size_t i = 0; i < c.bars.size(); ++i) {
    const ChartBar& b = c.bars[i];
    const double h =
        max > 0 ? plot_h * static_cast<double>(b.value) / static_cast<double>(max) : 0.0;
    const double x = left + i * slot;
    out += Rect(x + slot * 0.1, bottom - h, slot * 0.8, h,
                (b.tooltip.empty() ? b.label : b.tooltip) + ": " + ValueText(b));
    if (i % every == 0) out += Text(x + slot / 2, bottom + 16, "middle", b.label, 16);
  }
  height = bottom + 28;
  return out;
}

}  // namespace

std::string XmlText(std::string_view text, size_t max_chars) {
  std::string out;
  size_t chars = 0;
  for (size_t i = 0; i < text.size();) {
    if (chars == max_chars) {
      out += "\u2026";
      break;
    }
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\uFFFD";
      ++i;
    } else if (n == 1) {
      const char c = text[i];
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out += static_cast<unsigned char>(c) < 0x20 || c == 0x7F ? ' ' : c;
      }
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
    ++chars;
  }
  return out;
}

std::string RenderSvg(const BarChart& c) {
  const std::string id = SafeId(c.id);
  std::int64_t max = 0;
  for (const ChartBar& b : c.bars) max = std::max(max, b.value);
  int height = 0;
  std::string body = c.over_time ? Vertical(c, max, height) : Horizontal(c, max, height);
  if (c.bars.empty()) {
    body = Text(kWidth / 2.0, 60, "middle", "Nothing recorded yet");
    height = 80;
  }
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    std::to_string(kWidth) + " " + std::to_string(height) +
                    "\" width=\"100%\" role=\"img\" aria-labelledby=\"" + id + "-title " + id +
                    "-desc\" font-family=\"sans-serif\" font-size=\"13\">\n";
  out += "<title id=\"" + id + "-title\">" + XmlText(c.title) + "</title>\n";
  out += "<desc id=\"" + id + "-desc\">" + XmlText(c.description, 1000) + "</desc>\n";
  out += "<text x=\"8\" y=\"22\" font-size=\"15\" font-weight=\"bold\" fill=\"" +
         std::string(kInk) + "\">" + XmlText(c.title, 80) + "</text>\n";
  out += body;
  out += "</svg>\n";
  return out;
}

}  // namespace switchboard::server
