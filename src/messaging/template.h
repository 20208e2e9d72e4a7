// Message templates (RULEBOOK §7, and the phone bank's scripts, §6): Mustache (mstch) with merge
// fields limited to the recipient's own first name and unit name and their unsubscribe and
// preferences links. Everything that could go wrong with a template is found
// when the draft is saved, never at send time:
//  - an unknown merge field, a partial ({{> x}}), a delimiter change
//    ({{=<% %>=}}), an unclosed or mismatched section, sections nested more
//    than 8 deep;
//  - in HTML bodies, unescaped output ({{{x}}} or {{& x}}) and any markup
//    outside a small allowlist (no script, style, forms, frames, images or
//    event handlers; links only to http(s)/mailto or the merge links),
//    checked with an HTML5 parser (gumbo); at most 5,000 tags, elements
//    nested at most 100 deep (mstch and gumbo recurse once per level).
// Errors name the part, the line and the column and never echo the text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace switchboard::messaging {

// The merge fields a template may use.
const std::vector<std::string>& MergeFields();

struct MergeValues {
  std::string first_name;  // may be empty: {{^first_name}}...{{/first_name}} handles that
  std::string unit_name;
  std::string unsubscribe_url;
  std::string preferences_url;
};

// kScript: a phone-bank caller's script (src/phonebank), plain text like
// kText but with the recipient's first name and unit name only.
enum class BodyKind { kText, kHtml, kScript };

// A checked template, ready to render many times (thread-safe).
class Template {
 public:
  // `part` names the template in errors ("subject", "text_body", "html_body").
  static Result<Template> Compile(std::string_view source, BodyKind kind, std::string_view part);
  std::string Render(const MergeValues& v) const;
  const std::string& source() const { return source_; }
  // Whether any tag refers to `field` (e.g. to warn that no first name is used).
  bool Uses(std::string_view field) const;

 private:
  std::string source_;    // as written
  std::string renderer_;  // what mstch renders (text: variables made unescaped)
  BodyKind kind_ = BodyKind::kText;
  std::vector<std::string> used_;
};

}  // namespace switchboard::messaging
