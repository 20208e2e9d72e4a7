#include "messaging/template.h"

#include <gumbo.h>

#include <algorithm>
#include <mstch/mstch.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/text.h"

namespace switchboard::messaging {

const std::vector<std::string>& MergeFields() {
  static const std::vector<std::string> kFields = {"first_name", "unit_name", "unsubscribe_url",
                                                   "preferences_url"};
  return kFields;
}

namespace {

// Limits that keep mstch and gumbo, which recurse per level, far from the end
// of a thread's stack.
constexpr size_t kMaxSectionDepth = 8;
constexpr size_t kMaxHtmlTags = 5'000;
constexpr size_t kMaxHtmlDepth = 100;

// The fields a kind of template may use: a caller's script has no links.
std::vector<std::string> FieldsFor(BodyKind kind) {
  if (kind == BodyKind::kScript) return {"first_name", "unit_name"};
  return MergeFields();
}

std::string AllowedList(BodyKind kind) {
  std::string s;
  for (const auto& f : FieldsFor(kind)) s += (s.empty() ? "" : ", ") + f;
  return s;
}

struct Pos {
  int line = 1, column = 1;
};

Pos PositionOf(std::string_view text, size_t offset) {
  Pos p;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++p.column;
    }
  }
  return p;
}

Status Bad(std::string_view part, std::string_view text, size_t offset, const std::string& what) {
  const Pos p = PositionOf(text, offset);
  return Status::InvalidArgument(std::string(part) + ": line " + std::to_string(p.line) +
                                 ", column " + std::to_string(p.column) + ": " + what);
}

bool Known(const std::string& name, BodyKind kind) {
  const auto f = FieldsFor(kind);
  return std::find(f.begin(), f.end(), name) != f.end();
}

// Tokenises the Mustache tags of `src`, checks them, and builds the text mstch
// renders (for text bodies, variables become unescaped: HTML escaping would
// corrupt a plain-text message).
Status CheckTags(std::string_view src, BodyKind kind, std::string_view part, std::string* renderer,
                 std::vector<std::string>* used) {
  std::vector<std::pair<std::string, size_t>> open;  // section name, offset
  size_t i = 0;
  renderer->clear();
  while (i < src.size()) {
    const size_t at = src.find("{{", i);
    if (at == std::string_view::npos) {
      renderer->append(src.substr(i));
      break;
    }
    renderer->append(src.substr(i, at - i));
    const bool triple = src.compare(at, 3, "{{{") == 0;
    const size_t close = src.find(triple ? "}}}" : "}}", at + (triple ? 3 : 2));
    if (close == std::string_view::npos) return Bad(part, src, at, "a merge tag is not closed");
    std::string_view inner = src.substr(at + (triple ? 3 : 2), close - at - (triple ? 3 : 2));
    if (inner.find('\n') != std::string_view::npos) {
      return Bad(part, src, at, "a merge tag must fit on one line");
    }
    const size_t end = close + (triple ? 3 : 2);
    char sigil = inner.empty() ? 0 : inner[0];
    if (triple || sigil == '&') {
      if (kind == BodyKind::kHtml) {
        return Bad(part, src, at,
                   "unescaped output ({{{...}}} or {{&...}}) is not allowed in an HTML body");
      }
      const std::string name = text::Trim(triple ? inner : inner.substr(1));
      if (!Known(name, kind)) {
        return Bad(part, src, at,
                   "unknown merge field '" + name + "'; allowed: " + AllowedList(kind));
      }
      used->push_back(name);
      renderer->append("{{{" + name + "}}}");
      i = end;
      continue;
    }
    switch (sigil) {
      case '!':  // comment: dropped
        break;
      case '>':
        return Bad(part, src, at, "partials ({{> ...}}) are not allowed");
      case '=':
        return Bad(part, src, at, "changing the delimiters ({{= ... =}}) is not allowed");
      case '#':
      case '^':
      case '/': {
        const std::string name = text::Trim(inner.substr(1));
        if (!Known(name, kind)) {
          return Bad(part, src, at,
                     "unknown merge field '" + name + "'; allowed: " + AllowedList(kind));
        }
        if (sigil == '/') {
          if (open.empty()) return Bad(part, src, at, "'" + name + "' closes no open section");
          if (open.back().first != name) {
            return Bad(part, src, at,
                       "'" + name + "' closes the section '" + open.back().first +
                           "' opened earlier; close it first");
          }
          open.pop_back();
        } else {
          if (open.size() >= kMaxSectionDepth) {
            return Bad(part, src, at,
                       "sections nest deeper than " + std::to_string(kMaxSectionDepth) + " levels");
          }
          open.emplace_back(name, at);
          used->push_back(name);
        }
        renderer->append("{{" + std::string(1, sigil) + name + "}}");
        break;
      }
      default: {
        const std::string name = text::Trim(inner);
        if (name.empty()) return Bad(part, src, at, "an empty merge tag");
        if (!Known(name, kind)) {
          return Bad(part, src, at,
                     "unknown merge field '" + name + "'; allowed: " + AllowedList(kind));
        }
        used->push_back(name);
        renderer->append(kind != BodyKind::kHtml ? "{{{" + name + "}}}" : "{{" + name + "}}");
      }
    }
    i = end;
  }
  if (!open.empty()) {
    return Bad(part, src, open.back().second,
               "the section '" + open.back().first + "' is never closed");
  }
  return Status::Ok();
}

// --- HTML allowlist -----------------------------------------------------------

const std::set<GumboTag>& AllowedTags() {
  static const std::set<GumboTag> kTags = {
      GUMBO_TAG_HTML,  GUMBO_TAG_HEAD,       GUMBO_TAG_BODY,   GUMBO_TAG_TITLE, GUMBO_TAG_P,
      GUMBO_TAG_BR,    GUMBO_TAG_A,          GUMBO_TAG_STRONG, GUMBO_TAG_EM,    GUMBO_TAG_B,
      GUMBO_TAG_I,     GUMBO_TAG_U,          GUMBO_TAG_UL,     GUMBO_TAG_OL,    GUMBO_TAG_LI,
      GUMBO_TAG_H1,    GUMBO_TAG_H2,         GUMBO_TAG_H3,     GUMBO_TAG_H4,    GUMBO_TAG_HR,
      GUMBO_TAG_SPAN,  GUMBO_TAG_DIV,        GUMBO_TAG_SMALL,  GUMBO_TAG_TABLE, GUMBO_TAG_THEAD,
      GUMBO_TAG_TBODY, GUMBO_TAG_TR,         GUMBO_TAG_TD,     GUMBO_TAG_TH,    GUMBO_TAG_CODE,
      GUMBO_TAG_PRE,   GUMBO_TAG_BLOCKQUOTE, GUMBO_TAG_SUB,    GUMBO_TAG_SUP};
  return kTags;
}

bool SafeHref(std::string_view v) {
  std::string s = text::Trim(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "{{unsubscribe_url}}" || s == "{{preferences_url}}") return true;
  for (std::string_view scheme : {"https://", "http://", "mailto:"}) {
    if (s.rfind(scheme, 0) == 0) return true;
  }
  return false;
}

Status CheckElement(const GumboElement& e, std::string_view part) {
  auto where = [&]() {
    return std::string(part) + ": line " + std::to_string(e.start_pos.line) + ", column " +
           std::to_string(e.start_pos.column) + ": ";
  };
  const char* tag_name = gumbo_normalized_tagname(e.tag);
  if (e.tag == GUMBO_TAG_UNKNOWN || !AllowedTags().count(e.tag)) {
    return Status::InvalidArgument(
        where() + "the element <" + std::string(e.tag == GUMBO_TAG_UNKNOWN ? "unknown" : tag_name) +
        "> is not allowed in a message (allowed: text formatting, lists, headings, tables and "
        "links)");
  }
  for (unsigned i = 0; i < e.attributes.length; ++i) {
    const auto* a = static_cast<const GumboAttribute*>(e.attributes.data[i]);
    const std::string name = a->name;
    const bool ok = (name == "href" && e.tag == GUMBO_TAG_A) || name == "title" || name == "lang" ||
                    name == "dir" || name == "colspan" || name == "rowspan" || name == "align";
    if (!ok) {
      return Status::InvalidArgument(where() + "the attribute '" + name + "' on <" + tag_name +
                                     "> is not allowed (no scripts, styles or tracking)");
    }
    if (name == "href" && !SafeHref(a->value)) {
      return Status::InvalidArgument(where() +
                                     "a link must start with https://, http:// or mailto:, or be "
                                     "{{unsubscribe_url}} or {{preferences_url}}");
    }
  }
  return Status::Ok();
}

// Every element in document order, with an explicit stack (no recursion).
Status CheckTree(const GumboNode* root, std::string_view part) {
  std::vector<std::pair<const GumboNode*, size_t>> stack{{root, 0}};  // node, depth
  while (!stack.empty()) {
    const auto [n, depth] = stack.back();
    stack.pop_back();
    const GumboVector* children = nullptr;
    if (n->type == GUMBO_NODE_DOCUMENT) {
      children = &n->v.document.children;
    } else if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE) {
      const GumboElement& e = n->v.element;
      if (depth > kMaxHtmlDepth) {
        return Status::InvalidArgument(
            std::string(part) + ": line " + std::to_string(e.start_pos.line) + ", column " +
            std::to_string(e.start_pos.column) + ": elements nest deeper than " +
            std::to_string(kMaxHtmlDepth) + " levels");
      }
      SB_RETURN_IF_ERROR(CheckElement(e, part));
      children = &e.children;
    }
    if (!children) continue;
    for (unsigned i = children->length; i-- > 0;) {
      stack.emplace_back(static_cast<const GumboNode*>(children->data[i]), depth + 1);
    }
  }
  return Status::Ok();
}

Status CheckHtml(std::string_view src, std::string_view part) {
  // Gumbo builds and frees its tree recursively: bound the elements it can
  // make (and so their depth) before it starts.
  size_t tags = 0;
  for (size_t i = src.find('<'); i != std::string_view::npos; i = src.find('<', i + 1)) {
    if (++tags > kMaxHtmlTags) {
      return Bad(part, src, i, "more than " + std::to_string(kMaxHtmlTags) + " tags");
    }
  }
  // Gumbo keeps a copy of the open elements with each parse error, which
  // makes deeply nested input cost memory quadratic in its depth; nothing
  // here reads the errors.
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 0;
  GumboOutput* out = gumbo_parse_with_options(&options, src.data(), src.size());
  if (!out) return Status::InvalidArgument(std::string(part) + ": could not be read as HTML");
  Status st = CheckTree(out->document, part);
  gumbo_destroy_output(&options, out);
  return st;
}

// mstch's default escaper also turns '/' into "&#x2F;", which makes links in
// href attributes unreadable in a message's source. Ours escapes what HTML
// needs, in text and in quoted attributes. Installed once, before any render.
void InstallEscaper() {
  static const bool kDone = [] {
    mstch::config::escape = [](const std::string& in) { return text::EscapeHtml(in); };
    return true;
  }();
  (void)kDone;
}

}  // namespace

Result<Template> Template::Compile(std::string_view source, BodyKind kind, std::string_view part) {
  for (size_t i = 0; i < source.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t')) {
      return Bad(part, source, i, "a control character is not allowed");
    }
  }
  InstallEscaper();
  Template t;
  t.source_ = std::string(source);
  t.kind_ = kind;
  SB_RETURN_IF_ERROR(CheckTags(source, kind, part, &t.renderer_, &t.used_));
  if (kind == BodyKind::kHtml) SB_RETURN_IF_ERROR(CheckHtml(source, part));
  std::sort(t.used_.begin(), t.used_.end());
  t.used_.erase(std::unique(t.used_.begin(), t.used_.end()), t.used_.end());
  return t;
}

bool Template::Uses(std::string_view field) const {
  return std::find(used_.begin(), used_.end(), field) != used_.end();
}

std::string Template::Render(const MergeValues& v) const {
  mstch::map ctx{{"first_name", v.first_name},
                 {"unit_name", v.unit_name},
                 {"unsubscribe_url", v.unsubscribe_url},
                 {"preferences_url", v.preferences_url}};
  return mstch::render(renderer_, ctx);
}

}  // namespace switchboard::messaging
