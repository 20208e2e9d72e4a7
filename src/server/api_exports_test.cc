// Exports and leak tracing through the API (issue 18, docs/privacy.md): a
// membership administrator asks, a second person approves, the requester
// downloads once and opens the file with their key; every refusal the
// rules name (no grant, no or a wrong authenticator code, approving one's
// own, downloading before approval or twice, someone else's download,
// columns the role may not export) and the DPO tracing a file. Both
// backends.
#include <gtest/gtest.h>

#include <sstream>

#include "crypto/keyring.h"
#include "privacy/export.h"
#include "server/api_testing.h"

namespace switchboard::server {
namespace {

using testing::Body;
using testing::TestSession;

class ApiExportsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    aldershot_ = env_.Unit("E14000530");
    const Micros now = env_.clock_.Now();
    for (int i = 0; i < 30; ++i) {
      env_.AddMember(std::to_string(100 + i), aldershot_, "Name" + std::to_string(i),
                     "Surname" + std::to_string(i));
    }
    alice_ = Account("alice.admin", "membership_admin", aldershot_);
    bob_ = Account("bob.admin", "membership_admin", aldershot_);
    dpo_ = Account("dpo.one", "dpo", env_.Root());
    officer_ = Account("officer.one", "officer", aldershot_);
    (void)now;
    key_ = privacy::GenerateExportKey();
  }

  AccountId Account(const std::string& login, const std::string& role, UnitId scope) {
    const Micros now = env_.clock_.Now();
    AccountId id = env_.AddAccount(login);
    env_.EnrolTotp(id);
    env_.Grant(id, role, scope, now - 1, now + 200 * kMicrosPerDay);
    return id;
  }

  // A code from `who`'s authenticator that no sign-in or step-up used yet:
  // the clock moves on one 30-second step first.
  std::string Code(AccountId who) {
    env_.clock_.Advance(30 * kMicrosPerSecond);
    auto it = env_.totp_.find(who.value());
    if (it == env_.totp_.end()) return "000000";  // no authenticator: any code
    return *access::GenerateTotp(it->second, env_.clock_.Now());
  }

  HttpResponse Request(const TestSession& s, AccountId who, nlohmann::json extra = {}) {
    nlohmann::json body{{"scope", "E14000530"},
                        {"purpose", "Mailing house for the spring appeal"},
                        {"public_key", crypto::ToHex(key_.public_key)},
                        {"totp", Code(who)}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    return env_.Send("POST", "/api/v1/exports", body.dump(), &s);
  }

  std::int64_t RequestOk(const TestSession& s, AccountId who) {
    HttpResponse r = Request(s, who);
    EXPECT_EQ(r.status, 201) << r.body;
    return Body(r)["export"]["id"].get<std::int64_t>();
  }

  HttpResponse Approve(const TestSession& s, std::int64_t id, const std::string& code) {
    return env_.Send("POST", "/api/v1/exports/" + std::to_string(id) + "/approve",
                     nlohmann::json{{"totp", code}}.dump(), &s);
  }

  HttpResponse Download(const TestSession& s, std::int64_t id) {
    return env_.Send("POST", "/api/v1/exports/" + std::to_string(id) + "/download", "", &s);
  }

  size_t Allowed(std::string_view action) {
    size_t n = 0;
    for (const audit::Event& e : env_.Events(action)) n += e.decision == "allow";
    return n;
  }

  testing::ApiEnv env_;
  UnitId aldershot_;
  AccountId alice_, bob_, dpo_, officer_;
  privacy::ExportKeyPair key_;
};

TEST_P(ApiExportsTest, AskedApprovedByASecondPersonAndDownloadedOnce) {
  TestSession alice = env_.Login("alice.admin", alice_);
  TestSession dpo = env_.Login("dpo.one", dpo_);
  const std::int64_t id = RequestOk(alice, alice_);
  const std::string path = "/api/v1/exports/" + std::to_string(id);

  // Not before a second person approves.
  HttpResponse early = Download(alice, id);
  EXPECT_EQ(early.status, 409) << early.body;
  EXPECT_NE(early.body.find("waiting for a second approver"), std::string::npos) << early.body;
  // Not by the requester.
  HttpResponse self = Approve(alice, id, Code(alice_));
  EXPECT_EQ(self.status, 403) << self.body;
  EXPECT_NE(self.body.find("nobody approves their own export"), std::string::npos);
  // Not without a code, nor with one already used.
  HttpResponse none = env_.Send("POST", path + "/approve", "{}", &dpo);
  EXPECT_EQ(none.status, 403) << none.body;
  const std::string code = Code(dpo_);
  HttpResponse ok = Approve(dpo, id, code);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Body(ok)["export"]["state"], "approved");
  EXPECT_EQ(Approve(dpo, id, code).status, 409);  // approved already

  // Only its requester downloads it.
  TestSession bob = env_.Login("bob.admin", bob_);
  HttpResponse other = Download(bob, id);
  EXPECT_EQ(other.status, 403) << other.body;
  HttpResponse file = Download(alice, id);
  ASSERT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.content_type, "application/octet-stream");
  auto csv = privacy::OpenExportFile(file.body, key_);
  ASSERT_TRUE(csv) << csv.error().ToString();
  EXPECT_EQ(csv->substr(0, csv->find('\n')),
            "first_name,last_name,status,membership_type,joined_on,years,unit,branch,"
            "postcode_district,email,mobile,phone,address,postcode\r");
  EXPECT_NE(csv->find("Name7,Surname7"), std::string::npos);
  // Once.
  HttpResponse twice = Download(alice, id);
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_NE(twice.body.find("downloaded already"), std::string::npos) << twice.body;

  // The DPO's list shows who asked, who approved and how many rows.
  HttpResponse list = env_.Send("GET", "/api/v1/exports?unit=" + env_.Root().ToString(), "", &dpo);
  ASSERT_EQ(list.status, 200) << list.body;
  const nlohmann::json e = Body(list)["exports"][0];
  EXPECT_EQ(e["id"], id);
  EXPECT_EQ(e["state"], "produced");
  EXPECT_EQ(e["requested_by"]["login"], "alice.admin");
  EXPECT_EQ(e["approved_by"]["login"], "dpo.one");
  EXPECT_EQ(e["member_rows"], 30);
  EXPECT_EQ(e["purpose"], "Mailing house for the spring appeal");
  EXPECT_EQ(Allowed("export.request"), 1u);
  EXPECT_EQ(Allowed("export.approve"), 1u);
  EXPECT_EQ(Allowed("export.produce"), 1u);
  // The self-approval and the approval without a code, refused on the record.
  EXPECT_EQ(env_.Events("export.approve").size(), 3u);
}

TEST_P(ApiExportsTest, RequestsTheRulesRefuse) {
  TestSession officer = env_.Login("officer.one", officer_);
  HttpResponse no_grant = Request(officer, officer_);
  EXPECT_EQ(no_grant.status, 403) << no_grant.body;
  EXPECT_EQ(Body(no_grant)["error"]["code"], "denied");

  TestSession alice = env_.Login("alice.admin", alice_);
  HttpResponse no_code = Request(alice, alice_, {{"totp", ""}});
  EXPECT_EQ(no_code.status, 403) << no_code.body;
  EXPECT_NE(no_code.body.find("authenticator"), std::string::npos);
  HttpResponse wrong = Request(alice, alice_, {{"totp", "000000"}});
  EXPECT_EQ(wrong.status, 403) << wrong.body;
  HttpResponse bad_key = Request(alice, alice_, {{"public_key", "abcd"}});
  EXPECT_EQ(bad_key.status, 400) << bad_key.body;
  HttpResponse no_purpose = Request(alice, alice_, {{"purpose", "   "}});
  EXPECT_EQ(no_purpose.status, 400) << no_purpose.body;
  // An account without an authenticator cannot export at all.
  const AccountId nina = env_.AddAccount("nina.admin");
  env_.Grant(nina, "membership_admin", aldershot_, env_.clock_.Now() - 1,
             env_.clock_.Now() + 10 * kMicrosPerDay);
  TestSession nina_session = env_.Login("nina.admin");
  HttpResponse no_factor = Request(nina_session, nina, {{"totp", "123456"}});
  EXPECT_EQ(no_factor.status, 409) << no_factor.body;
  EXPECT_NE(no_factor.body.find("enrol an authenticator"), std::string::npos) << no_factor.body;
  // Columns: only the role's.
  TestSession bob = env_.Login("bob.admin", bob_);
  HttpResponse notes = Request(bob, bob_, {{"columns", {"first_name", "member_id"}}});
  EXPECT_EQ(notes.status, 400) << notes.body;
  EXPECT_NE(notes.body.find("member_id"), std::string::npos);
  // Nothing was stored by any of these, and each refusal is in the log.
  HttpResponse list = env_.Send("GET", "/api/v1/exports?unit=E14000530", "", &alice);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_TRUE(Body(list)["exports"].empty()) << list.body;
  EXPECT_GE(env_.Events("member.export").size(), 3u);
  // An officer may not list them either.
  EXPECT_EQ(env_.Send("GET", "/api/v1/exports?unit=E14000530", "", &officer).status, 403);

  // Chosen columns are the file's columns.
  HttpResponse some = Request(bob, bob_, {{"columns", {"email", "first_name"}}});
  ASSERT_EQ(some.status, 201) << some.body;
  EXPECT_EQ(Body(some)["export"]["columns"], nlohmann::json({"first_name", "email"}));
}

TEST_P(ApiExportsTest, RefusedByAnApproverOrCancelledByItsRequester) {
  TestSession alice = env_.Login("alice.admin", alice_);
  TestSession bob = env_.Login("bob.admin", bob_);
  TestSession officer = env_.Login("officer.one", officer_);
  const std::int64_t first = RequestOk(alice, alice_);
  const std::string p1 = "/api/v1/exports/" + std::to_string(first);
  EXPECT_EQ(env_.Send("POST", p1 + "/cancel", R"({"reason": "no"})", &officer).status, 403);
  EXPECT_EQ(env_.Send("POST", p1 + "/cancel", "{}", &bob).status, 400);
  HttpResponse refused =
      env_.Send("POST", p1 + "/cancel", R"({"reason": "No mailing house contract yet"})", &bob);
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(Body(refused)["export"]["state"], "refused");
  EXPECT_EQ(Approve(bob, first, Code(bob_)).status, 409);
  EXPECT_EQ(Download(alice, first).status, 409);

  const std::int64_t second = RequestOk(alice, alice_);
  const std::string p2 = "/api/v1/exports/" + std::to_string(second);
  HttpResponse cancelled =
      env_.Send("POST", p2 + "/cancel", R"({"reason": "Asked for the wrong unit"})", &alice);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Body(cancelled)["export"]["state"], "cancelled");

  HttpResponse list = env_.Send("GET", "/api/v1/exports?unit=E14000530", "", &bob);
  ASSERT_EQ(list.status, 200) << list.body;
  const nlohmann::json l = Body(list)["exports"];
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0]["state"], "cancelled");
  EXPECT_EQ(l[1]["state"], "refused");
  EXPECT_EQ(l[1]["closed_by"]["login"], "bob.admin");
  EXPECT_EQ(l[1]["close_reason"], "No mailing house contract yet");
  EXPECT_EQ(Allowed("export.refuse"), 1u);
  EXPECT_EQ(env_.Events("export.refuse").size(), 2u);  // and the officer's, refused
  EXPECT_EQ(Allowed("export.cancel"), 1u);
}

TEST_P(ApiExportsTest, TheDpoTracesAFileToItsExport) {
  TestSession alice = env_.Login("alice.admin", alice_);
  TestSession bob = env_.Login("bob.admin", bob_);
  TestSession dpo = env_.Login("dpo.one", dpo_);
  const std::int64_t id = RequestOk(alice, alice_);
  ASSERT_EQ(Approve(bob, id, Code(bob_)).status, 200);
  HttpResponse file = Download(alice, id);
  ASSERT_EQ(file.status, 200) << file.body;
  const std::string csv = *privacy::OpenExportFile(file.body, key_);

  // Real members' rows alone (their addresses are the register's
  // "<number>@example.org"): never an accusation.
  std::string real, leaked;
  std::istringstream lines(csv);
  for (std::string line; std::getline(lines, line);) {
    const size_t at = line.find("@example.");
    const size_t comma = line.rfind(',', at);
    const bool member =
        at != std::string::npos && line.find_first_not_of("0123456789", comma + 1) == at;
    if (member) real += line + "\n";
    // Semicolons and no header, as if pasted into another sheet.
    std::string pasted = line;
    for (char& c : pasted) c = c == ',' ? ';' : c;
    if (line.rfind("first_name", 0) != 0) leaked += pasted + "\n";
  }
  ASSERT_FALSE(real.empty());
  auto trace = [&](const TestSession& s, const std::string& text) {
    return env_.Send("POST", "/api/v1/leaks/trace", nlohmann::json{{"file", text}}.dump(), &s);
  };
  HttpResponse traced = trace(dpo, leaked);
  ASSERT_EQ(traced.status, 200) << traced.body;
  EXPECT_EQ(Body(traced)["verdict"], "traced");
  EXPECT_EQ(Body(traced)["traced"], nlohmann::json({id}));
  const nlohmann::json named = Body(traced)["exports"][0]["export"];
  EXPECT_EQ(named["requested_by"]["login"], "alice.admin");
  EXPECT_EQ(named["approved_by"]["login"], "bob.admin");
  EXPECT_EQ(named["purpose"], "Mailing house for the spring appeal");

  HttpResponse clean = trace(dpo, real);
  ASSERT_EQ(clean.status, 200) << clean.body;
  EXPECT_EQ(Body(clean)["verdict"], "not_traced") << clean.body;
  EXPECT_TRUE(Body(clean)["traced"].empty());

  // Only with privacy.breach; a file too large is refused with a clear answer.
  EXPECT_EQ(trace(alice, leaked).status, 403);
  HttpResponse big = trace(dpo, std::string((1u << 20) + 1, 'x'));
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(Body(big)["error"]["code"], "file_too_large");
  EXPECT_NE(Body(big)["error"]["message"].get<std::string>().find("switchboard leak trace"),
            std::string::npos);
  EXPECT_EQ(env_.Send("POST", "/api/v1/leaks/trace", "{}", &dpo).status, 400);
  EXPECT_EQ(env_.Events("leak.trace").size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiExportsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::server
