#include "messaging/template.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace switchboard::messaging
