// Cases for Clang's thread-safety analysis over core/mutex.h, compiled by the
// CTest test core.thread_safety_verify with `clang++ -fsyntax-only -Xclang
// -verify -Werror=thread-safety`: it passes only when Clang reports exactly
// the errors marked `expected-error` below and nothing else, so it fails if
// the annotations stop expanding (a compiler check gone wrong) or stop
// matching the wrappers. Not part of any library.
#include <chrono>

#include "core/mutex.h"

namespace switchboard {
namespace {

class Counter {
 public:
  void Locked() {
    MutexLock lock(mu_);
    ++n_;
  }
  void Unlocked() {
    // expected-error@+1 {{writing variable 'n_' requires holding mutex 'mu_' exclusively}}
    ++n_;
  }
  int ReadUnlocked() {
    // expected-error@+1 {{reading variable 'n_' requires holding mutex 'mu_'}}
    return n_;
  }
  void AfterTheScope() {
    { MutexLock lock(mu_); }
    // expected-error@+1 {{writing variable 'n_' requires holding mutex 'mu_' exclusively}}
    n_ = 0;
  }
  void Relocked() {
    MutexLock lock(mu_);
    mu_.Unlock();
    // expected-error@+1 {{writing variable 'n_' requires holding mutex 'mu_' exclusively}}
    n_ = 1;
    mu_.Lock();
    n_ = 2;
  }
  void TakesTheLockItself() SB_EXCLUDES(mu_) { MutexLock lock(mu_); }
  void CallerHolds() SB_REQUIRES(mu_) { n_ = 3; }
  void CallsCorrectly() {
    TakesTheLockItself();
    MutexLock lock(mu_);
    CallerHolds();
  }
  void CallsWrongly() {
    // expected-error@+1 {{calling function 'CallerHolds' requires holding mutex 'mu_'}}
    CallerHolds();
    MutexLock lock(mu_);
    // expected-error@+1 {{cannot call function 'TakesTheLockItself' while mutex 'mu_' is held}}
    TakesTheLockItself();
  }
  void Waits() {
    MutexLock lock(mu_);
    while (n_ == 0) cv_.Wait(mu_);
    (void)cv_.WaitFor(mu_, std::chrono::milliseconds(1));
  }
  void WaitsUnlocked() {
    // expected-error@+1 {{calling function 'Wait' requires holding mutex 'mu_' exclusively}}
    cv_.Wait(mu_);
  }
  void TryLocks() {
    if (mu_.TryLock()) {
      n_ = 4;
      mu_.Unlock();
    }
  }
  void Leaks() {
    // expected-note@+1 {{mutex acquired here}}
    mu_.Lock();
  }  // expected-error {{mutex 'mu_' is still held at the end of function}}

 private:
  Mutex mu_;
  CondVar cv_;
  int n_ SB_GUARDED_BY(mu_) = 0;
};

class Table {
 public:
  int Read() {
    ReaderLock lock(mu_);
    return rows_;
  }
  void Write() {
    WriterLock lock(mu_);
    rows_ = 1;
  }
  void WriteUnderReaderLock() {
    ReaderLock lock(mu_);
    // expected-error@+1 {{writing variable 'rows_' requires holding shared mutex 'mu_'}}
    rows_ = 2;
  }

 private:
  SharedMutex mu_;
  int rows_ SB_GUARDED_BY(mu_) = 0;
};

}  // namespace
}  // namespace switchboard
