#include "server/svg_chart.h"

#include <gtest/gtest.h>

namespace switchboard::server {
namespace {

TEST(SvgChartTest, EscapesEveryPieceOfText) {
  EXPECT_EQ(XmlText("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  EXPECT_EQ(XmlText("bell\x07 and nul"), "bell  and nul");
  EXPECT_EQ(XmlText("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(XmlText("h\xC3\xA9llo", 2), "h\xC3\xA9\xE2\x80\xA6");  // cut at a character
  BarChart c;
  c.id = "x\"><script>";
  c.title = "</title><script>alert(1)</script>";
  c.description = "a & b";
  c.bars = {{"<img src=x onerror=alert(1)>", 3, "50%", ""}, {"ok", 3, "", "tip\"s"}};
  const std::string svg = RenderSvg(c);
  EXPECT_EQ(svg.find("<script"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("<img"), std::string::npos) << svg;
  EXPECT_NE(svg.find("&lt;/title&gt;&lt;script&gt;"), std::string::npos) << svg;
  EXPECT_NE(svg.find("id=\"x---script--title\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("tip&quot;s: 3"), std::string::npos) << svg;
}

TEST(SvgChartTest, IsSelfContainedAndLabelledForScreenReaders) {
  BarChart c;
  c.id = "outcomes";
  c.title = "Call outcomes";
  c.description = "3 calls: Answered 2 (67%), No answer 1 (33%).";
  c.bars = {{"Answered", 2, "67%", ""}, {"No answer", 1, "33%", ""}};
  const std::string svg = RenderSvg(c);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg;
  EXPECT_NE(svg.find("role=\"img\""), std::string::npos);
  EXPECT_NE(svg.find("aria-labelledby=\"outcomes-title outcomes-desc\""), std::string::npos);
  EXPECT_NE(svg.find("<title id=\"outcomes-title\">Call outcomes</title>"), std::string::npos);
  EXPECT_NE(svg.find("<desc id=\"outcomes-desc\">3 calls: Answered 2 (67%)"), std::string::npos);
  // Nothing fetched from anywhere, nothing run, no style the page's CSP would refuse.
  for (const char* absent : {"href", "url(", "<script", "<style", "style=", "<image", "@import"}) {
    EXPECT_EQ(svg.find(absent), std::string::npos) << absent;
  }
  // Bars in proportion: the longest is the largest value.
  const auto first = svg.find("<rect");
  const auto second = svg.find("<rect", first + 1);
  ASSERT_NE(second, std::string::npos);
  auto width = [&](size_t at) {
    const auto w = svg.find("width=\"", at) + 7;
    return std::stod(svg.substr(w, svg.find('"', w) - w));
  };
  EXPECT_DOUBLE_EQ(width(first), 2 * width(second));
}

TEST(SvgChartTest, SaysSoWhenThereIsNothingToDraw) {
  BarChart c;
  c.title = "Calls per hour";
  c.over_time = true;
  const std::string svg = RenderSvg(c);
  EXPECT_NE(svg.find("Nothing recorded yet"), std::string::npos);
  EXPECT_EQ(svg.find("<rect"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::server
