#include "core/mutex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace switchboard {
namespace {

TEST(Mutex, TryLockFailsWhileAnotherThreadHoldsIt) {
  Mutex mu;
  std::promise<void> locked, release;
  std::thread holder([&] {
    MutexLock lock(mu);
    locked.set_value();
    release.get_future().wait();
  });
  locked.get_future().wait();
  EXPECT_FALSE(mu.TryLock());
  release.set_value();
  holder.join();
  MutexLock lock(mu);  // released by the holder's MutexLock
}

TEST(CondVar, WaitReturnsHoldingTheMutexOnceSignalled) {
  Mutex mu;
  CondVar cv;
  bool ready = false;
  int value = 0;
  std::thread producer([&] {
    MutexLock lock(mu);
    value = 42;
    ready = true;
    cv.Signal();
  });
  {
    MutexLock lock(mu);
    while (!ready) cv.Wait(mu);
    EXPECT_EQ(value, 42);
  }
  producer.join();
}

TEST(CondVar, TimedWaitsReportAPassedDeadline) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(mu);
  EXPECT_FALSE(cv.WaitUntil(mu, std::chrono::steady_clock::now() - std::chrono::seconds(1)));
  EXPECT_FALSE(cv.WaitFor(mu, std::chrono::milliseconds(0)));
}

TEST(SharedMutex, ReadersShareIt) {
  SharedMutex mu;
  std::promise<void> reading, done;
  std::thread reader([&] {
    ReaderLock lock(mu);
    reading.set_value();
    done.get_future().wait();
  });
  reading.get_future().wait();
  {
    ReaderLock lock(mu);  // would wait forever for an exclusive lock
  }
  done.set_value();
  reader.join();
  WriterLock lock(mu);
}

}  // namespace
}  // namespace switchboard
