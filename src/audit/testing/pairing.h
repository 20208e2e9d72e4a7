// Test helper: proves that a service operation and its audit event commit
// together or not at all (Append runs in the operation's transaction). With a
// FaultyStore over the test's store, ExpectPaired runs the operation three
// times, from the same state:
//   1. the audit append fails: the operation returns the injected error and
//      what it changes is as before;
//   2. the operation's own write fails: no audit event at all is added;
//   3. no fault: both land, with exactly one more event of the action.
// The first two leave the state as it was, so the third starts from it too.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/store.h"
#include "store/testing/faulty_store.h"

namespace switchboard::audit::testing {

// The statement AuditLog::Append inserts an event with.
inline constexpr const char* kAppendStatement = "INSERT INTO audit_events";

struct Pairing {
  std::string action;  // the audit event's action, e.g. "campaign.create"
  // Text of the operation's own write statement, e.g. "INSERT INTO campaigns";
  // for an operation that only reads, of its read (then the read is the
  // action the event records).
  std::string own_statement;
  // Integer queries (first column of the first row) over what the operation
  // changes: all must read the same after a failure, and one must differ
  // after success. Empty for an operation that only reads.
  std::vector<std::string> effects;
  // Runs the operation in the transaction it is given; returns its status.
  std::function<Status(store::Tx&)> op;
};

namespace internal {

inline std::int64_t ReadInt(store::Store& s, const std::string& sql,
                            std::initializer_list<store::Value> params = {}) {
  std::int64_t n = -1;
  const std::vector<store::Value> p(params);
  const Status st = s.Read([&](store::Tx& tx) {
    return tx.Query(sql, p, [&](const store::Row& r) {
      n = r.IsNull(0) ? 0 : r.Int(0);
      return false;
    });
  });
  EXPECT_TRUE(st.ok()) << sql << ": " << st.ToString();
  return n;
}

inline std::vector<std::int64_t> Effects(store::Store& s, const Pairing& p) {
  std::vector<std::int64_t> out;
  for (const auto& sql : p.effects) out.push_back(ReadInt(s, sql));
  return out;
}

inline ::testing::AssertionResult Injected(const Status& st) {
  if (st.code() == StatusCode::kUnavailable &&
      st.message().find(store::testing::FaultyStore::kInjectedFault) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "not the injected fault: " << st.ToString();
}

}  // namespace internal

// Events recorded with `action`, and in all.
inline std::int64_t EventsOf(store::Store& s, const std::string& action) {
  return internal::ReadInt(s, "SELECT COUNT(*) FROM audit_events WHERE action = $1", {action});
}
inline std::int64_t AllEvents(store::Store& s) {
  return internal::ReadInt(s, "SELECT COUNT(*) FROM audit_events");
}

// Runs the operation of a Pairing on the store it is given.
using PairedRun = std::function<Status(store::Store&)>;

// See the top of this file, with `run` in place of p.op: for an operation
// that opens its own transaction(s) on the store it is given (a retention
// run, a canary planting). Reads through faulty.base(), so the checks
// themselves meet no fault.
inline void ExpectPairedOnStore(store::testing::FaultyStore& faulty, const Pairing& p,
                                const PairedRun& run) {
  SCOPED_TRACE("pairing of " + p.action);
  store::Store& s = faulty.base();
  const std::vector<std::int64_t> before = internal::Effects(s, p);
  const std::int64_t events = AllEvents(s);
  const std::int64_t of_action = EventsOf(s, p.action);

  // 1. The audit append fails: the action must not stand alone.
  faulty.FailStatements(kAppendStatement);
  const std::uint64_t hits = faulty.statement_faults();
  EXPECT_TRUE(internal::Injected(run(faulty))) << "with the audit append failing";
  EXPECT_GT(faulty.statement_faults(), hits) << "the operation appended no audit event";
  EXPECT_EQ(internal::Effects(s, p), before) << "the action committed without its audit event";
  EXPECT_EQ(AllEvents(s), events);

  // 2. The action's own write fails: no event may be left behind.
  faulty.FailStatements(p.own_statement);
  const std::uint64_t own_hits = faulty.statement_faults();
  EXPECT_TRUE(internal::Injected(run(faulty))) << "with \"" << p.own_statement << "\" failing";
  EXPECT_GT(faulty.statement_faults(), own_hits)
      << "no statement has \"" << p.own_statement << "\"";
  EXPECT_EQ(AllEvents(s), events) << "an audit event committed without its action";
  EXPECT_EQ(internal::Effects(s, p), before);
  faulty.Clear();

  // 3. No fault: both land.
  const Status ok = run(faulty);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
  if (!p.effects.empty()) {
    EXPECT_NE(internal::Effects(s, p), before) << "the effects chosen do not show the action";
  }
  EXPECT_EQ(EventsOf(s, p.action), of_action + 1);
}

// See the top of this file.
inline void ExpectPaired(store::testing::FaultyStore& faulty, const Pairing& p) {
  ExpectPairedOnStore(faulty, p, [&](store::Store& s) { return s.Write(p.op); });
}

}  // namespace switchboard::audit::testing
