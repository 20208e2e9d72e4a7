// Mutexes the thread-safety analysis understands (core/thread_annotations.h):
// Mutex with its scoped MutexLock and the CondVar that waits on it, and
// SharedMutex with ReaderLock and WriterLock. Thin wrappers over the standard
// ones, which carry no annotations in libstdc++; all inline.
//
//   Mutex mu_;
//   CondVar cv_;
//   bool ready_ SB_GUARDED_BY(mu_) = false;
//
//   MutexLock lock(mu_);
//   while (!ready_) cv_.Wait(mu_);  // a loop, not a predicate: the analysis
//                                   // cannot see that a lambda runs locked
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#include "core/thread_annotations.h"

namespace switchboard {

class SB_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() SB_ACQUIRE() { mu_.lock(); }
  void Unlock() SB_RELEASE() { mu_.unlock(); }
  bool TryLock() SB_TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds `mu` from construction to destruction.
class SB_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) SB_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() SB_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable over Mutex. Each wait releases `mu` while it sleeps
// and holds it again when it returns, also on a spurious wake-up: callers
// test their condition in a loop.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex& mu) SB_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // Waits until `deadline` at the latest; false when it passed.
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mu, const std::chrono::time_point<Clock, Duration>& deadline)
      SB_REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu.mu_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  // Waits `timeout` at the longest; false when it passed.
  template <class Rep, class Period>
  bool WaitFor(Mutex& mu, const std::chrono::duration<Rep, Period>& timeout) SB_REQUIRES(mu) {
    return WaitUntil(mu, std::chrono::steady_clock::now() + timeout);
  }
  void Signal() noexcept { cv_.notify_one(); }
  void SignalAll() noexcept { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// Many readers or one writer.
class SB_CAPABILITY("shared mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() SB_ACQUIRE() { mu_.lock(); }
  void Unlock() SB_RELEASE() { mu_.unlock(); }
  void LockShared() SB_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() SB_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` shared from construction to destruction.
class SB_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) SB_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.LockShared(); }
  ~ReaderLock() SB_RELEASE() { mu_.UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` exclusively from construction to destruction.
class SB_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) SB_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() SB_RELEASE() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace switchboard
