// Fuzzes message templates (messaging/template.h): Mustache tags checked by
// our own tokeniser, HTML bodies by gumbo and the allowlist, rendering by
// mstch. The first byte picks the body kind (bit 0: HTML) and whether the
// first name is empty (bit 1, for {{^first_name}} sections); the rest is the
// template. Besides not crashing:
//   - a refusal names the part, the line and the column;
//   - a compiled template renders the same twice;
//   - a merge field the template does not use never appears in the output
//     (each value starts with a marker byte no template may contain);
//   - in an HTML body no value appears unescaped; in a text body every value
//     that appears is copied as it is, never expanded again ("{{...}}"
//     inside a value stays literal).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "messaging/template.h"

namespace msg = switchboard::messaging;

namespace {

void Require(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) {
    std::fprintf(stderr, "template_fuzz: %s\n%.*s\n", what,
                 static_cast<int>(std::min<size_t>(detail.size(), 2000)), detail.data());
    std::abort();
  }
}

// Values that start with a marker byte (\x01..\x04: control bytes a
// template may not hold) followed by what escaping and re-expansion would
// get wrong.
constexpr std::string_view kFirstName = "\x01<b>&\"'{{unit_name}}";
constexpr std::string_view kUnitName = "\x02<i>{{{first_name}}}&amp;";
constexpr std::string_view kUnsubscribe = "\x03https://example.org/u/t?a=1&b=<2>";
constexpr std::string_view kPreferences = "\x04https://example.org/p/t\"x";

msg::MergeValues Values(bool empty_first_name) {
  msg::MergeValues v;
  v.first_name = empty_first_name ? "" : std::string(kFirstName);
  v.unit_name = std::string(kUnitName);
  v.unsubscribe_url = std::string(kUnsubscribe);
  v.preferences_url = std::string(kPreferences);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool html = data[0] & 1;
  const bool empty_first_name = data[0] & 2;
  static const char* kParts[] = {"subject", "text_body", "html_body"};
  const char* part = kParts[html ? 2 : data[0] / 4 % 2];
  std::string_view source(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto t = msg::Template::Compile(source, html ? msg::BodyKind::kHtml : msg::BodyKind::kText, part);
  if (!t) {
    const std::string& m = t.error().message();
    Require(m.rfind(std::string(part) + ": line ", 0) == 0 && m.find(", column ") != m.npos,
            "a refusal that does not name the part, line and column", m);
    return 0;
  }
  const msg::MergeValues v = Values(empty_first_name);
  const std::string out = t->Render(v);
  Require(out == t->Render(v), "rendering is not deterministic");
  static const char* kFields[] = {"first_name", "unit_name", "unsubscribe_url", "preferences_url"};
  for (int f = 0; f < 4; ++f) {
    if (!t->Uses(kFields[f])) {
      Require(out.find(static_cast<char>(f + 1)) == std::string::npos,
              "an unused merge field appears in the output", kFields[f]);
    }
  }
  for (std::string_view value : {kFirstName, kUnitName, kUnsubscribe, kPreferences}) {
    const bool verbatim = out.find(value) != std::string::npos;
    if (html) {
      Require(!verbatim, "a value is not escaped in HTML", out);
    } else if (out.find(value[0]) != std::string::npos) {
      Require(verbatim, "a text value was changed or expanded", out);
    }
  }
  return 0;
}
