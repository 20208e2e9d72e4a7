// Fuzzes the JSON the server reads from request bodies, through the server's
// own entry points, so a change to how bodies are parsed (a depth limit, a
// strict number reader) is fuzzed as it is:
//   0  api_internal::ParseBody, as every JSON route calls it, then the typed
//      field reads the handlers make (StringField, ParseId);
//   1  segment::ParseSegment (messages' audiences), then SegmentToJson and
//      the SQL the audience counts run;
//   2  phonebank::ParseAudience (campaigns' audiences).
// The first byte picks the entry point; the rest is the body. Besides not
// crashing:
//   - a refused body is kInvalidArgument with a message;
//   - an accepted body is an object that survives a round trip (dump, parse
//     again, equal): handlers copy and dump the bodies they accept, so a
//     body that cannot be dumped without exhausting the stack must already
//     be refused by the parser;
//   - an accepted audience is written back (SegmentToJson) as JSON that
//     parses to the same audience again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "members/org_tree.h"
#include "phonebank/phonebank.h"
#include "segment/segment.h"
#include "server/api_internal.h"
#include "server/http_server.h"

namespace sb = switchboard;
namespace ai = switchboard::server::api_internal;

namespace {

void Require(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) {
    std::fprintf(stderr, "json_fuzz: %s\n%s\n", what, detail.substr(0, 2000).c_str());
    std::abort();
  }
}

void RequireRefusal(const sb::Status& st) {
  Require(st.code() == sb::StatusCode::kInvalidArgument && !st.message().empty(),
          "a refusal that is not InvalidArgument with a message", st.ToString());
}

const sb::members::OrgTree& Tree() {
  static const sb::members::OrgTree* tree = [] {
    using sb::UnitId;
    std::vector<sb::members::Unit> units = {
        {UnitId(1), "K02000001", "United Kingdom", "nation", UnitId(), false},
        {UnitId(2), "E15000008", "South East", "region", UnitId(1), false},
        {UnitId(3), "E14000530", "Aldershot", "constituency", UnitId(2), false},
        {UnitId(4), "E14000531", "Aldridge-Brownhills", "constituency", UnitId(2), false},
        {UnitId(5), "BR-ALD-1", "Aldershot Town", "branch", UnitId(3), false},
    };
    auto t = sb::members::OrgTree::Build(std::move(units));
    Require(t.has_value(), "tree");
    return new sb::members::OrgTree(std::move(*t));
  }();
  return *tree;
}

// The body parser every JSON route uses; the one call site of it here.
sb::Result<nlohmann::json> ParseRequestBody(std::string body) {
  sb::JsonError fault;
  auto j = ai::ParseBody(body, &fault);
  Require(j.has_value() || !fault.message.empty(), "a refusal without a reason");
  return j;
}

void Body(std::string_view text) {
  auto j = ParseRequestBody(std::string(text));
  if (!j) return RequireRefusal(j.error());
  Require(j->is_object(), "an accepted body that is not an object");
  for (const auto& [key, value] : j->items()) {
    (void)ai::StringField(*j, key, false);
    if (value.is_string()) (void)ai::ParseId(value.get<std::string>(), "id");
  }
  const std::string again = j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto k = ParseRequestBody(again);
  Require(k.has_value(), "a body written back is refused", again);
  // Invalid UTF-8 is replaced when written back, so only valid text must match.
  if (again.find("\xEF\xBF\xBD") == std::string::npos) {
    Require(*k == *j, "a body does not survive a round trip", again);
  }
}

void Audience(std::string_view text, bool campaign) {
  const auto& tree = Tree();
  auto s = campaign ? sb::phonebank::ParseAudience(text, tree, sb::UnitId(3))
                    : sb::segment::ParseSegment(text, tree);
  if (!s) return RequireRefusal(s.error());
  const std::string written = sb::segment::SegmentToJson(*s, tree);
  auto again = sb::segment::ParseSegment(written, tree);
  Require(again.has_value(), "an audience written back is refused",
          written + "\n" + (again ? "" : again.error().ToString()));
  Require(sb::segment::SegmentToJson(*again, tree) == written, "an audience changes when read back",
          written);
  Require(!sb::segment::SegmentCountSql(*s, tree).sql.empty(), "no SQL for an audience");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      Body(text);
      break;
    case 1:
      Audience(text, false);
      break;
    default:
      Audience(text, true);
  }
  return 0;
}
