#include "core/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

namespace switchboard::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = SetLogSink([this](std::string_view l) { lines_.emplace_back(l); });
  }
  void TearDown() override { SetLogSink(old_); }
  std::vector<std::string> lines_;
  Sink old_;
};

TEST_F(LogTest, OneJsonObjectPerLine) {
  Info("import", "batch committed", {{"rows", 5000}, {"unit", UnitId(12)}, {"ok", true}});
  ASSERT_EQ(lines_.size(), 1u);
  auto j = nlohmann::json::parse(lines_[0]);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["component"], "import");
  EXPECT_EQ(j["event"], "batch committed");
  EXPECT_EQ(j["rows"], 5000);
  EXPECT_EQ(j["unit"], 12);
  EXPECT_EQ(j["ok"], true);
  EXPECT_TRUE(j.contains("ts"));
}

TEST_F(LogTest, ScrubsEmailsAndPhones) {
  Warn("t", "x", {{"detail", "sent to jo.bloggs@example.org and +44 7700 900123 (line 12)"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].find("example.org"), std::string::npos) << lines_[0];
  EXPECT_EQ(lines_[0].find("900123"), std::string::npos) << lines_[0];
  EXPECT_NE(lines_[0].find("line 12"), std::string::npos);  // short numbers survive
}

TEST_F(LogTest, ScrubLeavesOrdinaryText) {
  EXPECT_EQ(Scrub("imported 5000 rows in 3.2 s"), "imported 5000 rows in 3.2 s");
  EXPECT_EQ(Scrub("call 020 7946 0018 now"), "call [redacted] now");
  EXPECT_EQ(Scrub("a@b"), "a@b");  // not an address: no dot in the domain
}

TEST_F(LogTest, LevelFilters) {
  SetLevel(Level::kWarn);
  Info("t", "hidden");
  Error("t", "shown");
  SetLevel(Level::kInfo);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(lines_[0].find("shown"), std::string::npos);
}

TEST(LogLevelTest, Parse) {
  EXPECT_EQ(*ParseLevel("warn"), Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud"));
}

// Compile-time property: a type holding personal data cannot become a Field.
struct PersonalName {
  std::string value;
  operator std::string_view() const { return value; }  // NOLINT
};
static_assert(!std::is_constructible_v<Field, std::string_view, PersonalName>);
static_assert(std::is_constructible_v<Field, std::string_view, std::string>);

}  // namespace
}  // namespace switchboard::log
