#include "core/json.h"

#include <gtest/gtest.h>

#include <string>

namespace switchboard {
namespace {

std::string Nested(char open, char close, std::size_t depth, std::string_view inner = "1") {
  std::string s;
  s.reserve(depth * 8 + inner.size());
  for (std::size_t i = 0; i < depth; ++i) {
    if (open == '{') {
      s += "{\"a\":";
    } else {
      s += open;
    }
  }
  s += inner;
  s.append(depth, close);
  return s;
}

JsonFault FaultOf(std::string_view text, const JsonLimits& limits = {}) {
  JsonError e;
  auto r = ParseJson(text, limits, &e);
  if (r) return JsonFault::kNone;
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  return e.fault;
}

TEST(ParseJson, ReadsOrdinaryValues) {
  auto r = ParseJson(R"({"outcome":"answered","answers":{"q1":[1,2,{"x":true}]},"n":-7,"f":0.5})");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ((*r)["outcome"], "answered");
  EXPECT_EQ((*r)["answers"]["q1"][2]["x"], true);
  EXPECT_EQ((*r)["n"], -7);
  EXPECT_DOUBLE_EQ((*r)["f"].get<double>(), 0.5);
  EXPECT_TRUE(ParseJson("[]")->is_array());
  EXPECT_TRUE(ParseJson("null")->is_null());
  EXPECT_EQ(*ParseJson("\"caf\\u00e9\""), "caf\xc3\xa9");
}

TEST(ParseJson, RefusesNestingAMillionDeepWithoutRecursing) {
  for (char open : {'[', '{'}) {
    const std::string deep = Nested(open, open == '[' ? ']' : '}', 1'000'000);
    JsonError e;
    auto r = ParseJson(deep, {}, &e);
    ASSERT_FALSE(r);
    EXPECT_EQ(e.fault, JsonFault::kTooDeep);
    EXPECT_EQ(JsonFaultCode(e.fault), "json_too_deep");
    EXPECT_NE(r.error().message().find("deeper than 32 levels"), std::string::npos)
        << r.error().message();
    // Refused where the 33rd level opens, not after reading the rest.
    EXPECT_LT(e.offset, 33u * 6);
  }
}

TEST(ParseJson, AcceptsExactlyTheDepthLimit) {
  JsonLimits l;
  l.max_depth = 5;
  EXPECT_EQ(FaultOf(Nested('[', ']', 5), l), JsonFault::kNone);
  EXPECT_EQ(FaultOf(Nested('[', ']', 6), l), JsonFault::kTooDeep);
  EXPECT_EQ(FaultOf(Nested('{', '}', 5), l), JsonFault::kNone);
  EXPECT_EQ(FaultOf(Nested('{', '}', 6), l), JsonFault::kTooDeep);
  // Siblings do not add up: depth is nesting, not count.
  EXPECT_EQ(FaultOf("[[[1]],[[2]],[[3]]]", l), JsonFault::kNone);
}

TEST(ParseJson, RefusesTooManyValuesAndTooMuchText) {
  JsonLimits l;
  l.max_values = 10;
  EXPECT_EQ(FaultOf("[1,2,3,4,5,6,7,8,9]", l), JsonFault::kNone);  // 9 + the array
  EXPECT_EQ(FaultOf("[1,2,3,4,5,6,7,8,9,10]", l), JsonFault::kTooManyValues);
  l = {};
  l.max_bytes = 8;
  EXPECT_EQ(FaultOf("[1,2,3]", l), JsonFault::kNone);
  JsonError e;
  auto r = ParseJson("[1,2,3,4]", l, &e);
  ASSERT_FALSE(r);
  EXPECT_EQ(e.fault, JsonFault::kTooLarge);
  EXPECT_NE(r.error().message().find("larger than 8 bytes"), std::string::npos);
}

TEST(ParseJson, RefusesDuplicateKeysAtAnyLevel) {
  EXPECT_EQ(FaultOf(R"({"a":1,"a":2})"), JsonFault::kDuplicateKey);
  EXPECT_EQ(FaultOf(R"({"x":{"a":1,"b":{},"a":2}})"), JsonFault::kDuplicateKey);
  EXPECT_EQ(FaultOf(R"({"a":1,"b":{"a":2}})"), JsonFault::kNone);  // other objects may reuse
  EXPECT_EQ(FaultOf(R"([{"a":1},{"a":2}])"), JsonFault::kNone);
  // The same key spelt with an escape is the same key.
  EXPECT_EQ(FaultOf(R"({"a":1,"\u0061":2})"), JsonFault::kDuplicateKey);
}

TEST(ParseJson, RefusesNumbersNoIdCanHold) {
  EXPECT_EQ(FaultOf("9223372036854775807"), JsonFault::kNone);
  EXPECT_EQ(FaultOf("-9223372036854775808"), JsonFault::kNone);
  EXPECT_EQ(FaultOf("9223372036854775808"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("18446744073709551615"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("99999999999999999999999"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("-99999999999999999999999"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("1e400"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("-1e400"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("9.3e18"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("{\"limit\":1e19}"), JsonFault::kNumberOutOfRange);
  EXPECT_EQ(FaultOf("1.5e3"), JsonFault::kNone);
  EXPECT_EQ(FaultOf("1e-400"), JsonFault::kNone);  // underflows to zero: harmless
}

TEST(ParseJson, RefusesNulButNotOtherEscapes) {
  EXPECT_EQ(FaultOf(R"({"name":"a\u0000b"})"), JsonFault::kNulCharacter);
  EXPECT_EQ(FaultOf(R"({"a\u0000":1})"), JsonFault::kNulCharacter);
  EXPECT_EQ(FaultOf(R"({"name":"tab\there\nline"})"), JsonFault::kNone);
  // A raw NUL byte is not JSON at all.
  EXPECT_EQ(FaultOf(std::string("{\"a\":\"x\0y\"}", 11)), JsonFault::kSyntax);
}

TEST(ParseJson, RefusesLoneSurrogatesAndBadUtf8) {
  EXPECT_EQ(FaultOf(R"("\ud800")"), JsonFault::kSyntax);
  EXPECT_EQ(FaultOf(R"("\udc00")"), JsonFault::kSyntax);
  EXPECT_EQ(FaultOf(R"("\ud800x")"), JsonFault::kSyntax);
  EXPECT_EQ(FaultOf(R"("\ud83d\ude00")"), JsonFault::kNone);  // a proper pair
  EXPECT_EQ(FaultOf("\"\xff\""), JsonFault::kSyntax);
  EXPECT_EQ(FaultOf("\"\xc0\xaf\""), JsonFault::kSyntax);  // overlong '/'
}

TEST(ParseJson, SyntaxErrorsNameTheOffsetNotTheText) {
  JsonError e;
  auto r = ParseJson(R"({"email":"someone@example.org",})", {}, &e);
  ASSERT_FALSE(r);
  EXPECT_EQ(e.fault, JsonFault::kSyntax);
  EXPECT_EQ(JsonFaultCode(e.fault), "invalid_json");
  EXPECT_EQ(e.offset, 32u);
  EXPECT_NE(r.error().message().find("at byte 32"), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().find("example.org"), std::string::npos);
  EXPECT_EQ(FaultOf(""), JsonFault::kSyntax);
  EXPECT_EQ(FaultOf("{} {}"), JsonFault::kSyntax);  // one value only
  EXPECT_EQ(FaultOf("[1,]"), JsonFault::kSyntax);
}

TEST(ParseJson, DeepInputJustUnderTheLimitRoundTrips) {
  JsonLimits l;
  l.max_depth = 32;
  const std::string text = Nested('[', ']', 32);
  auto r = ParseJson(text, l);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dump(), text);
}

}  // namespace
}  // namespace switchboard
