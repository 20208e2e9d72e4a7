#include "messaging/template.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard::messaging {
namespace {

MergeValues Sample() {
  return {"Alex", "Camden", "https://x.example.org/u/T", "https://x.example.org/p/T"};
}

TEST(TemplateTest, RendersAllowedFieldsInText) {
  auto t =
      Template::Compile("Dear {{first_name}} of {{ unit_name }} <&>", BodyKind::kText, "text_body");
  ASSERT_TRUE(t.has_value()) << t.status().message();
  // Plain text is not HTML-escaped.
  EXPECT_EQ(t->Render(Sample()), "Dear Alex of Camden <&>");
  EXPECT_TRUE(t->Uses("first_name"));
  EXPECT_FALSE(t->Uses("preferences_url"));
}

TEST(TemplateTest, HtmlEscapesMergedValues) {
  auto t = Template::Compile("<p>Hi {{first_name}}</p>", BodyKind::kHtml, "html_body");
  ASSERT_TRUE(t.has_value()) << t.status().message();
  MergeValues v = Sample();
  v.first_name = "<b>Jo</b>";
  EXPECT_EQ(t->Render(v), "<p>Hi &lt;b&gt;Jo&lt;/b&gt;</p>");
}

TEST(TemplateTest, SectionsHandleAMissingFirstName) {
  auto t = Template::Compile(
      "{{#first_name}}Dear {{first_name}}{{/first_name}}"
      "{{^first_name}}Dear member{{/first_name}},",
      BodyKind::kText, "text_body");
  ASSERT_TRUE(t.has_value()) << t.status().message();
  EXPECT_EQ(t->Render(Sample()), "Dear Alex,");
  MergeValues v = Sample();
  v.first_name.clear();
  EXPECT_EQ(t->Render(v), "Dear member,");
}

TEST(TemplateTest, UnknownMergeFieldIsRefusedWithItsPlace) {
  auto t = Template::Compile("Hello\n  {{last_name}}", BodyKind::kText, "text_body");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("text_body: line 2, column 3"), std::string::npos)
      << t.status().message();
  EXPECT_NE(t.status().message().find("unknown merge field 'last_name'"), std::string::npos);
  EXPECT_FALSE(Template::Compile("{{#email}}x{{/email}}", BodyKind::kText, "t").has_value());
  EXPECT_FALSE(Template::Compile("{{phone}}", BodyKind::kHtml, "t").has_value());
}

// A caller's script: plain text with the first name and unit only.
TEST(TemplateTest, ScriptsMergeTheFirstNameAndUnitOnly) {
  auto t = Template::Compile(
      "Hello{{#first_name}}, is that {{first_name}}{{/first_name}}? <{{unit_name}}> & co",
      BodyKind::kScript, "script");
  ASSERT_TRUE(t.has_value()) << t.status().message();
  EXPECT_EQ(t->Render(Sample()), "Hello, is that Alex? <Camden> & co");
  MergeValues none;
  EXPECT_EQ(t->Render(none), "Hello? <> & co");
  // Not a merge field: a single brace stays as written.
  EXPECT_EQ(Template::Compile("Is that {first name}?", BodyKind::kScript, "script")->Render(none),
            "Is that {first name}?");
  for (const char* link : {"{{unsubscribe_url}}", "{{#preferences_url}}x{{/preferences_url}}"}) {
    auto bad = Template::Compile(std::string("Call\n ") + link, BodyKind::kScript, "script");
    ASSERT_FALSE(bad.has_value()) << link;
    EXPECT_NE(bad.status().message().find("script: line 2, column 2: unknown merge field"),
              std::string::npos)
        << bad.status().message();
    EXPECT_NE(bad.status().message().find("allowed: first_name, unit_name"), std::string::npos);
  }
}

TEST(TemplateTest, RefusesPartialsDelimitersAndBrokenSections) {
  for (const char* bad : {"{{> footer}}", "{{=<% %>=}}", "{{#first_name}}open", "{{/unit_name}}",
                          "{{#first_name}}{{#unit_name}}{{/first_name}}{{/unit_name}}",
                          "{{first_name", "{{}}", "a\x01z"}) {
    auto t = Template::Compile(bad, BodyKind::kText, "text_body");
    EXPECT_FALSE(t.has_value()) << bad;
    if (!t.has_value()) {
      EXPECT_EQ(t.status().message().rfind("text_body: ", 0), 0u) << t.status().message();
    }
  }
}

TEST(TemplateTest, UnescapedOutputOnlyInText) {
  EXPECT_TRUE(Template::Compile("{{{first_name}}}", BodyKind::kText, "t").has_value());
  EXPECT_FALSE(Template::Compile("<p>{{{first_name}}}</p>", BodyKind::kHtml, "t").has_value());
  EXPECT_FALSE(Template::Compile("<p>{{& first_name}}</p>", BodyKind::kHtml, "t").has_value());
}

TEST(TemplateTest, UnsafeHtmlIsRefused) {
  const char* bad[] = {
      "<p>x</p><script>alert(1)</script>",
      "<p onclick=\"x()\">x</p>",
      "<a href=\"javascript:alert(1)\">x</a>",
      "<img src=\"https://tracker.example.com/p.gif\">",
      "<style>p{}</style><p>x</p>",
      "<iframe src=\"https://example.com\"></iframe>",
      "<form action=\"https://example.com\"><input name=a></form>",
      "<p style=\"background:url(https://example.com/x)\">x</p>",
      "<svg><a href=\"https://example.com\">x</a></svg>",
  };
  for (const char* html : bad) {
    auto t = Template::Compile(html, BodyKind::kHtml, "html_body");
    EXPECT_FALSE(t.has_value()) << html;
    if (!t.has_value()) {
      EXPECT_NE(t.status().message().find("html_body: line 1"), std::string::npos)
          << t.status().message();
    }
  }
}

TEST(TemplateTest, SafeHtmlIsAccepted) {
  auto t = Template::Compile(
      "<h1>AGM</h1><p>Dear {{first_name}},</p><ul><li><strong>When</strong>: Monday</li></ul>"
      "<p><a href=\"https://example.org/agm\" title=\"AGM\">details</a> or "
      "<a href=\"{{preferences_url}}\">preferences</a></p><table><tr><td>a</td></tr></table>",
      BodyKind::kHtml, "html_body");
  ASSERT_TRUE(t.has_value()) << t.status().message();
  EXPECT_NE(t->Render(Sample()).find("href=\"https://x.example.org/p/T\""), std::string::npos);
}

std::string Repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// mstch renders sections, and gumbo builds and frees its tree, recursively:
// before these limits a body 10,000 sections or 100,000 elements deep (well
// under the 256 KiB body limit) overflowed the stack.
TEST(TemplateTest, DeepSectionsAreRefusedBeforeRendering) {
  for (size_t depth : {size_t{9}, size_t{1'000'000}}) {
    const std::string src =
        Repeat("{{#first_name}}", depth) + "x" + Repeat("{{/first_name}}", depth);
    auto t = Template::Compile(src, BodyKind::kText, "text_body");
    ASSERT_FALSE(t.has_value());
    EXPECT_NE(t.status().message().find("deeper than 8 levels"), std::string::npos)
        << t.status().message();
  }
  const std::string ok = Repeat("{{#first_name}}", 8) + "x" + Repeat("{{/first_name}}", 8);
  auto t = Template::Compile(ok, BodyKind::kText, "text_body");
  ASSERT_TRUE(t.has_value()) << t.status().ToString();
  EXPECT_EQ(t->Render(Sample()), "x");
}

TEST(TemplateTest, DeepOrHugeHtmlIsRefusedWithoutCrashing) {
  for (const std::string& src : {Repeat("<div>", 1'000'000) + "x",
                                 Repeat("<div>", 50'000) + "x" + Repeat("</div>", 50'000)}) {
    auto t = Template::Compile(src, BodyKind::kHtml, "html_body");
    ASSERT_FALSE(t.has_value());
    EXPECT_NE(t.status().message().find("more than 5000 tags"), std::string::npos)
        << t.status().message();
  }
  // Within the tag count but deeper than the nesting limit, in several shapes
  // (plain nesting, and formatting elements the parser re-opens).
  for (const std::string& src :
       {Repeat("<div>", 4'000) + "x", Repeat("<b><i>", 2'000) + "x",
        Repeat("<ul><li>", 2'000) + "x", Repeat("<table><tr><td>", 1'500) + "x"}) {
    auto t = Template::Compile(src, BodyKind::kHtml, "html_body");
    ASSERT_FALSE(t.has_value()) << src.substr(0, 20);
    EXPECT_NE(t.status().message().find("nest deeper than 100 levels"), std::string::npos)
        << t.status().message();
  }
  auto fine = Template::Compile(Repeat("<div>", 90) + "x" + Repeat("</div>", 90), BodyKind::kHtml,
                                "html_body");
  EXPECT_TRUE(fine.has_value()) << fine.status().ToString();
}

}  // namespace
}  // namespace switchboard::messaging
