// The contest operations and their audit events commit together or not at
// all (audit/testing/pairing.h), on both backends: loading and amending a
// rulebook, a nomination, the data release and a ledger entry. And the
// operations' own refusals: a nominator nominates once, a nomination needs
// nominations open, a rulebook naming an account that does not exist.
#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "audit/testing/pairing.h"
#include "contest/contests.h"
#include "core/testing/status_matchers.h"
#include "members/testing_env.h"
#include "store/testing/faulty_store.h"

namespace switchboard::contest {
namespace {

using audit::testing::ExpectPaired;
using audit::testing::Pairing;

class ContestTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    faulty_ = std::make_unique<store::testing::FaultyStore>(*env_.store_);
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    for (const char* login : {"officer.ro", "committee", "camp.alpha", "camp.beta"}) {
      accounts_[login] = NewAccount(login);
    }
    rules_ = std::make_unique<ContestRules>(env_.tree_);
    ops_ = std::make_unique<ContestOperations>(policy_, env_.tree_, *rules_);
  }

  AccountId NewAccount(const std::string& login) {
    AccountId id;
    EXPECT_OK(env_.store_->Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, access::CreateAccount(tx, {login, "T", MemberId(), false}, Now()));
      return Status::Ok();
    }));
    return id;
  }

  Micros Now() const { return clock_.Now(); }

  // Announced a day from now unless said otherwise; nominations open a day
  // later and close (data release) ten days after announcement.
  std::string Toml(int version = 1, Micros announced = 0) {
    if (announced == 0) announced = Now() + kMicrosPerDay;
    auto at = [&](int days) { return FormatTimestamp(announced + days * kMicrosPerDay); };
    return "[contest]\nid = \"c1\"\nname = \"Contest one\"\nversion = " + std::to_string(version) +
           "\nreturning_officer = \"officer.ro\"\nprocedures_committee = [\"committee\"]\n"
           "[timeline]\nannounced = " +
           at(0) + "\nnominations_open = " + at(1) + "\nnominations_close = " + at(10) +
           "\ndata_release = " + at(10) + "\nballot_open = " + at(11) +
           "\nballot_close = " + at(30) +
           "\n[[candidates]]\nid = \"alpha\"\nname = \"Ada Alpha\"\naccounts = [\"camp.alpha\"]\n"
           "[[candidates]]\nid = \"beta\"\nname = \"Bea Beta\"\naccounts = [\"camp.beta\"]\n"
           "[bodies.clps]\nlabel = \"Constituency parties\"\nkind = \"units\"\n"
           "unit_kind = \"constituency\"\n[qualification]\nexpression = \"clps >= 1\"\n"
           "[electorate]\nstatuses = [\"current\"]\nfrozen_on = " +
           FormatTimestamp(announced).substr(0, 10) + "\n";
  }

  access::Acting Operator() const {
    access::Acting a;
    a.now = Now();
    a.request_id = "cli";
    return a;
  }

  void Load(Micros announced = 0) {
    EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
      return ops_->Load(tx, Operator(), Toml(1, announced), "c1.toml").status();
    }));
  }

  NominationInput Nomination(const std::string& unit, const std::string& candidate) const {
    NominationInput n;
    n.body = "clps";
    n.nominator = unit;
    n.candidate = candidate;
    n.decided_by = "all-member meeting";
    n.meeting_on = Now() / kMicrosPerDay;
    n.votes_for = 20;
    return n;
  }

  members::testing::RegisterEnv env_;
  std::unique_ptr<store::testing::FaultyStore> faulty_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};
  access::Policy policy_;
  std::map<std::string, AccountId> accounts_;
  std::unique_ptr<ContestRules> rules_;
  std::unique_ptr<ContestOperations> ops_;
};

TEST_P(ContestTest, LoadingARulebookIsPairedWithItsEvent) {
  ExpectPaired(*faulty_,
               Pairing{"contest.load",
                       "INSERT INTO contests",
                       {"SELECT COUNT(*) FROM contests", "SELECT COUNT(*) FROM contest_rulebooks"},
                       [&](store::Tx& tx) {
                         return ops_->Load(tx, Operator(), Toml(), "c1.toml").status();
                       }});
}

TEST_P(ContestTest, AmendingARulebookIsPairedWithItsEvent) {
  Load();
  ExpectPaired(*faulty_,
               Pairing{"contest.amend",
                       "INSERT INTO contest_rulebooks",
                       {"SELECT COUNT(*) FROM contest_rulebooks", "SELECT version FROM contests"},
                       [&](store::Tx& tx) {
                         return ops_->Amend(tx, Operator(), "c1", Toml(2), "c1.toml").status();
                       }});
}

TEST_P(ContestTest, ANominationIsPairedWithItsEvent) {
  Load(Now() - 2 * kMicrosPerDay);  // nominations open
  ExpectPaired(
      *faulty_,
      Pairing{
          "contest.nominate",
          "INSERT INTO contest_nominations",
          {"SELECT COUNT(*) FROM contest_nominations"},
          [&](store::Tx& tx) {
            return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status();
          }});
}

TEST_P(ContestTest, DataReleaseIsPairedWithItsEvent) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  Load(announced);
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status();
  }));
  clock_.Set(announced + 10 * kMicrosPerDay);
  ExpectPaired(
      *faulty_,
      Pairing{"contest.release",
              "INSERT INTO contest_candidates",
              {"SELECT COUNT(*) FROM contest_candidates", "SELECT COUNT(*) FROM grants",
               "SELECT COUNT(*) FROM contest_ledger"},
              [&](store::Tx& tx) { return ops_->Release(tx, Operator(), "c1").status(); }});
}

TEST_P(ContestTest, QualifyingCandidatesAreReleasedTogetherFromOneInstant) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  Load(announced);
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    SB_RETURN_IF_ERROR(
        ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status());
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000531", "beta")).status();
  }));
  clock_.Set(announced + 10 * kMicrosPerDay + 7 * kMicrosPerSecond);  // the check ran late
  int released = 0;
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(released, ops_->Release(tx, Operator(), "c1"));
    return Status::Ok();
  }));
  EXPECT_EQ(released, 2);
  std::set<Micros> starts;
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    for (const char* login : {"camp.alpha", "camp.beta"}) {
      SB_ASSIGN_OR_RETURN(auto grants,
                          access::ListGrants(tx, access::GrantFilter{accounts_[login], false}, 0));
      EXPECT_EQ(grants.size(), 1u) << login;
      for (const auto& g : grants) starts.insert(g.not_before);
    }
    return Status::Ok();
  }));
  EXPECT_EQ(starts, std::set<Micros>{announced + 10 * kMicrosPerDay});
}

// docs/contests.md, "Watermarked exports": a rulebook that allows them puts
// each released candidate's export entitlement on the ledger; one that does
// not, none.
TEST_P(ContestTest, ARulebookAllowingExportsPutsEachEntitlementOnTheLedger) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    return ops_
        ->Load(tx, Operator(),
               Toml(1, announced) + "[candidates_receive]\nexports = \"watermarked\"\n", "c1.toml")
        .status();
  }));
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    SB_RETURN_IF_ERROR(
        ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status());
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000531", "beta")).status();
  }));
  clock_.Set(announced + 10 * kMicrosPerDay);
  EXPECT_OK(env_.store_->Write(
      [&](store::Tx& tx) { return ops_->Release(tx, Operator(), "c1").status(); }));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contest_ledger WHERE entry = 'entitlement' AND "
                       "facility = 'export'"),
            2);
  EXPECT_EQ(env_.Count("SELECT COUNT(DISTINCT candidate) FROM contest_ledger WHERE facility = "
                       "'export'"),
            2);
}

TEST_P(ContestTest, ARulebookWithoutExportsPutsNoneOnTheLedger) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  Load(announced);
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status();
  }));
  clock_.Set(announced + 10 * kMicrosPerDay);
  EXPECT_OK(env_.store_->Write(
      [&](store::Tx& tx) { return ops_->Release(tx, Operator(), "c1").status(); }));
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contest_ledger WHERE facility = 'export'"), 0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM contest_ledger WHERE facility = 'data'"), 1);
}

TEST_P(ContestTest, AReleaseWithNobodyQualifiedRunsOnceAndALateQualifierStartsThen) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  Load(announced);
  clock_.Set(announced + 10 * kMicrosPerDay + kMicrosPerSecond);
  auto due = [&] {
    bool d = false;
    EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(d, ops_->Due(tx, Now()));
      return Status::Ok();
    }));
    return d;
  };
  EXPECT_TRUE(due());
  int released = -1;
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(released, ops_->Tick(tx, Operator()));
    return Status::Ok();
  }));
  EXPECT_EQ(released, 0);
  EXPECT_FALSE(due()) << "serve stops checking once the release has run";
  // A nomination recorded late (for a meeting before close) qualifies alpha
  // now, and alpha's access starts now, not at data release.
  clock_.Set(Now() + 3600 * kMicrosPerSecond);
  NominationInput n = Nomination("E14000530", "alpha");
  n.meeting_on = (announced + 10 * kMicrosPerDay) / kMicrosPerDay;
  EXPECT_OK(env_.store_->Write(
      [&](store::Tx& tx) { return ops_->Nominate(tx, Operator(), "c1", n).status(); }));
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        auto grants,
        access::ListGrants(tx, access::GrantFilter{accounts_["camp.alpha"], false}, 0));
    EXPECT_EQ(grants.size(), 1u);
    for (const auto& g : grants) EXPECT_EQ(g.not_before, Now());
    return Status::Ok();
  }));
}

TEST_P(ContestTest, ALedgerEntryIsPairedWithItsEvent) {
  const Micros announced = Now() - 2 * kMicrosPerDay;
  Load(announced);
  clock_.Set(announced + 10 * kMicrosPerDay);
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    SB_RETURN_IF_ERROR(
        ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status());
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000531", "beta")).status();
  }));
  Compiled c;
  EXPECT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(c, ops_->Get(tx, "c1"));
    return Status::Ok();
  }));
  ASSERT_EQ(c.qualified.size(), 2u) << "released as they qualified after close";
  access::Acting who = Operator();
  who.account = accounts_["camp.alpha"];
  ExpectPaired(*faulty_, Pairing{"contest.ledger",
                                 "INSERT INTO contest_ledger",
                                 {"SELECT COUNT(*) FROM contest_ledger"},
                                 [&](store::Tx& tx) {
                                   // An official notice: one entry, no
                                   // entitlements (all alike).
                                   return RecordUse(tx, c, who, "*", "notice", 12, "message:1");
                                 }});
}

TEST_P(ContestTest, ANominatorNominatesOncePerContest) {
  Load(Now() - 2 * kMicrosPerDay);
  EXPECT_OK(env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status();
  }));
  Status again = env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "beta")).status();
  });
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  Status not_a_party = env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E15000001", "beta")).status();
  });
  EXPECT_EQ(not_a_party.code(), StatusCode::kInvalidArgument) << not_a_party.ToString();
}

TEST_P(ContestTest, NominationsWaitForNominationsToOpen) {
  Load();  // announced tomorrow
  Status st = env_.store_->Write([&](store::Tx& tx) {
    return ops_->Nominate(tx, Operator(), "c1", Nomination("E14000530", "alpha")).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
}

TEST_P(ContestTest, ARulebookNamingAnUnknownAccountIsRefusedNamingTheField) {
  std::string toml = Toml();
  toml.replace(toml.find("camp.beta"), 9, "camp.nobody");
  Status st = env_.store_->Write(
      [&](store::Tx& tx) { return ops_->Load(tx, Operator(), toml, "c1.toml").status(); });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("candidates[1].accounts[0]"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("camp.nobody"), std::string::npos) << st.message();
}

INSTANTIATE_TEST_SUITE_P(Backends, ContestTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::contest
