// GoogleTest helpers for Status and Result<T>: EXPECT_OK / ASSERT_OK print the
// status's code and message when it is not OK.
#pragma once

#include <gtest/gtest.h>

#include "core/status.h"

namespace switchboard::testing {

template <typename T>
::testing::AssertionResult IsOk(const T& status_or_result) {
  const Status st = ::switchboard::internal::AsStatus(status_or_result);
  if (st.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << st.ToString();
}

}  // namespace switchboard::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::switchboard::testing::IsOk(expr))
#define ASSERT_OK(expr) ASSERT_TRUE(::switchboard::testing::IsOk(expr))
