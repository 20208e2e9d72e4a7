#include "core/config.h"

#include <gtest/gtest.h>

namespace switchboard {
namespace {

TEST(ConfigTest, DefaultFileParsesToDefaults) {
  auto c = ParseConfig(DefaultConfigToml(), "switchboard.toml");
  ASSERT_TRUE(c) << c.error().ToString();
  Config d;
  EXPECT_EQ(c->server.port, d.server.port);
  EXPECT_EQ(c->server.listen, "127.0.0.1");
  EXPECT_EQ(c->import.batch_size, d.import.batch_size);
  EXPECT_EQ(c->store.url, "");
}

TEST(ConfigTest, OverridesApply) {
  auto c = ParseConfig("[server]\nport = 9090\n[store]\nurl = \"postgresql://x@127.0.0.1/db\"\n",
                       "t.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.port, 9090);
  EXPECT_EQ(c->store.url, "postgresql://x@127.0.0.1/db");
}

TEST(ConfigTest, UnknownKeyNamesLine) {
  auto c = ParseConfig("[server]\nport = 9090\nprot = 1\n", "t.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("t.toml:3"), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("prot"), std::string::npos);
}

TEST(ConfigTest, UnknownSectionRejected) {
  auto c = ParseConfig("[sevrer]\nport = 1\n", "t.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("sevrer"), std::string::npos);
}

TEST(ConfigTest, TypeAndRangeErrors) {
  EXPECT_FALSE(ParseConfig("[server]\nport = \"80\"\n", "t"));
  auto c = ParseConfig("[server]\nport = 70000\n", "t");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("between 0 and 65535"), std::string::npos);
  EXPECT_FALSE(ParseConfig("[log]\nlevel = \"loud\"\n", "t"));
  // A float where an integer belongs, even one no integer can hold (found by
  // policy_fuzz): refused by type, never converted.
  for (const char* text : {"[server]\nmax_body_bytes = 999991e99\n", "[server]\nport = 80.0\n"}) {
    auto f = ParseConfig(text, "t");
    ASSERT_FALSE(f) << text;
    EXPECT_NE(f.error().message().find("must be an integer"), std::string::npos) << text;
  }
  EXPECT_FALSE(ParseConfig("[import]\ndefault_phone_region = \"GBR\"\n", "t"));
}

TEST(ConfigTest, TlsNeedsCertificateAndKeyTogether) {
  auto c = ParseConfig(
      "[server]\ntls_cert = \"/etc/tls/chain.pem\"\ntls_key = \"/etc/tls/key.pem\"\n"
      "tls_min_version = \"1.3\"\n",
      "t");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->server.tls_cert, "/etc/tls/chain.pem");
  EXPECT_EQ(c->server.tls_key, "/etc/tls/key.pem");
  EXPECT_EQ(c->server.tls_min_version, "1.3");
  EXPECT_EQ(ParseConfig("", "t")->server.tls_min_version, "1.2");
  for (const char* text : {"[server]\ntls_cert = \"c.pem\"\n", "[server]\ntls_key = \"k.pem\"\n"}) {
    auto half = ParseConfig(text, "t");
    ASSERT_FALSE(half) << text;
    EXPECT_NE(half.error().message().find("tls_cert and tls_key go together"), std::string::npos);
  }
  for (const char* version : {"1.1", "1.0", "1.4", "tls1.2"}) {
    auto old = ParseConfig(std::string("[server]\ntls_min_version = \"") + version + "\"\n", "t");
    ASSERT_FALSE(old) << version;
    EXPECT_NE(old.error().message().find("tls_min_version must be"), std::string::npos);
  }
  // Over TLS the session cookie is always Secure.
  auto insecure = ParseConfig(
      "[server]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ncookie_secure = false\n", "t.toml");
  ASSERT_FALSE(insecure);
  EXPECT_NE(insecure.error().message().find("t.toml:4"), std::string::npos)
      << insecure.error().message();
  EXPECT_TRUE(ParseConfig("[server]\ncookie_secure = false\n", "t"));
}

TEST(ConfigTest, Ed25519DkimKeyNeedsTheRsaKeyAndASelector) {
  const std::string rsa =
      "[mail]\ndkim_domain = \"example.org\"\ndkim_selector = \"r\"\ndkim_key_file = \"k\"\n";
  auto both =
      ParseConfig(rsa + "dkim_ed25519_selector = \"e\"\ndkim_ed25519_key_file = \"e\"\n", "t");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->mail.dkim_ed25519_selector, "e");
  EXPECT_EQ(both->mail.dkim_ed25519_key_file, "e");
  auto no_selector = ParseConfig(rsa + "dkim_ed25519_key_file = \"e\"\n", "t");
  ASSERT_FALSE(no_selector);
  EXPECT_NE(no_selector.error().message().find("dkim_ed25519_selector"), std::string::npos);
  EXPECT_FALSE(
      ParseConfig("[mail]\ndkim_domain = \"example.org\"\ndkim_ed25519_selector = \"e\"\n"
                  "dkim_ed25519_key_file = \"e\"\n",
                  "t"));
}

TEST(ConfigTest, SyntaxErrorNamesLine) {
  auto c = ParseConfig("[server]\nport = = 1\n", "bad.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("bad.toml:2"), std::string::npos) << c.error().message();
}

TEST(ConfigTest, TimeZoneIsCheckedAgainstTheTzDatabase) {
  auto d = ParseConfig(DefaultConfigToml(), "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->organisation.time_zone, "Europe/London");
  auto ny = ParseConfig("[organisation]\ntime_zone = \"America/New_York\"\n", "t");
  ASSERT_TRUE(ny) << ny.error().ToString();
  EXPECT_EQ(ny->organisation.time_zone, "America/New_York");
  auto bad = ParseConfig("[organisation]\nname = \"X\"\ntime_zone = \"BST\"\n", "t.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("t.toml:3"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("time_zone"), std::string::npos);
}

TEST(ConfigTest, AuditCheckpointLogs) {
  auto d = ParseConfig(DefaultConfigToml(), "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->audit.checkpoint_logs, std::vector<std::string>{"audit-checkpoints.log"});
  auto two = ParseConfig(
      "[audit]\ncheckpoint_logs = [\"audit-checkpoints.log\", \"/mnt/witness/sb.log\"]\n", "t");
  ASSERT_TRUE(two) << two.error().ToString();
  EXPECT_EQ(two->audit.checkpoint_logs,
            (std::vector<std::string>{"audit-checkpoints.log", "/mnt/witness/sb.log"}));
  for (const char* bad :
       {"[audit]\ncheckpoint_logs = []\n", "[audit]\ncheckpoint_logs = \"a\"\n",
        "[audit]\ncheckpoint_logs = [\"\"]\n", "[audit]\ncheckpoint_logs = [1]\n",
        "[audit]\ncheckpoint_logs = [\"a\", \"a\"]\n", "[audit]\ncheckpoint_log = [\"a\"]\n"}) {
    auto c = ParseConfig(bad, "t.toml");
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message().find("t.toml:2"), std::string::npos) << c.error().message();
  }
}

TEST(ConfigTest, TelephonyIsTheSandboxUnlessASipTrunkIsConfigured) {
  auto d = ParseConfig(DefaultConfigToml(), "t");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->telephony.connector, "sandbox");
  auto sip = ParseConfig(
      "[telephony]\nconnector = \"sip\"\ntrunk_uri = \"sip:trunk.example.org:5060\"\n"
      "caller_id = \"+441632960000\"\ntransport = \"tcp\"\nusername = \"u\"\n"
      "password_file = \"sip-password\"\nring_seconds = 25\n",
      "t");
  ASSERT_TRUE(sip) << sip.error().ToString();
  EXPECT_EQ(sip->telephony.connector, "sip");
  EXPECT_EQ(sip->telephony.transport, "tcp");
  EXPECT_EQ(sip->telephony.ring_seconds, 25);
  for (const char* bad : {
           "connector = \"skype\"",
           "connector = \"sip\"\ncaller_id = \"+441632960000\"",  // no trunk
           "connector = \"sip\"\ntrunk_uri = \"sip:t.example.org\"\ncaller_id = \"01632\"",
           "connector = \"sip\"\ntrunk_uri = \"sip:t.example.org\"\ncaller_id = "
           "\"+441632960000\"\nusername = \"u\"",  // a username without a password file
           "transport = \"tls\"", "transport = \"sctp\"",
           "max_calls = 5\nmax_calls_per_campaign = 6", "ring_seconds = 1",
           "password = \"secret\"",  // never in the file
       }) {
    EXPECT_FALSE(ParseConfig(std::string("[telephony]\n") + bad + "\n", "t")) << bad;
  }
  auto tls = ParseConfig("[telephony]\ntransport = \"tls\"\n", "t");
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().message().find("certificate"), std::string::npos);
}

TEST(ConfigTest, TheOrganisationListsTheNumbersItsCampaignsMayPresent) {
  auto c = ParseConfig(
      "[telephony]\ncaller_id = \"+441632960000\"\n"
      "caller_ids = [\"+441632960001\", \"+12025550123\"]\n",
      "t.toml");
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->telephony.caller_ids, (std::vector<std::string>{"+441632960001", "+12025550123"}));
  EXPECT_TRUE(ParseConfig(DefaultConfigToml(), "t")->telephony.caller_ids.empty());
  for (const char* bad : {
           "caller_ids = \"+441632960001\"",                       // not a list
           "caller_ids = [\"01632 960001\"]",                      // not E.164
           "caller_ids = [\"+0441632960001\"]",                    // no country code
           "caller_ids = [1632960001]",                            // not a string
           "caller_ids = [\"+441632960001\", \"+441632960001\"]",  // twice
           "caller_id = \"1632960000\"",                           // default not E.164
       }) {
    auto r = ParseConfig(std::string("[telephony]\n") + bad + "\n", "t.toml");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("caller_id"), std::string::npos) << r.error().message();
  }
}

TEST(ConfigTest, MissingFileIsDefaults) {
  auto c = LoadConfig("/nonexistent/switchboard.toml");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.port, 8080);
}

}  // namespace
}  // namespace switchboard
