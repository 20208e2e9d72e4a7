// Status and Result<T>: how every module reports an expected failure.
//
// A Status is a code plus a message a person can act on. Result<T> holds a T or
// a non-OK Status and uses std::expected's member names (has_value, value,
// error, value_or) so it can become an alias when the project moves to C++23.
// Neither type throws; reading the value of an error Result is a bug and
// aborts through SB_CHECK. Both are cheap to move and safe to copy.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/check.h"

namespace switchboard {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong; retrying will not help
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // a unique thing exists already
  kPermissionDenied,    // a decision said no
  kFailedPrecondition,  // the system is not in a state where this can run
  kResourceExhausted,   // a quota or a size limit was hit
  kUnavailable,         // a peer or the store cannot be reached; retry later
  kAborted,             // a conflict with a concurrent operation; retry
  kDataLoss,            // stored data is corrupt or has been tampered with
  kInternal,            // a bug or an unexpected environment failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline bool operator==(const Status& a, const Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

template <typename T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(const T& value) : v_(value) {}            // NOLINT(google-explicit-constructor)
  Result(T&& value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    SB_CHECK(!std::get<Status>(v_).ok());
  }
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Status> && !std::is_same_v<std::decay_t<U>, Result<T>>)
      Result(U&& u)
      : v_(T(std::forward<U>(u))) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    SB_CHECK(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    SB_CHECK(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    SB_CHECK(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(v_) : static_cast<T>(std::forward<U>(fallback));
  }

  // The error; an OK status when there is a value.
  const Status& error() const& {
    static const Status kOkStatus;
    return has_value() ? kOkStatus : std::get<1>(v_);
  }
  Status status() const { return error(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.error();
}
}  // namespace internal

}  // namespace switchboard

#define SB_CONCAT_INNER_(a, b) a##b
#define SB_CONCAT_(a, b) SB_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status or Result) failed.
#define SB_RETURN_IF_ERROR(expr)                                \
  do {                                                          \
    auto&& sb_status_or_ = (expr);                              \
    if (!::switchboard::internal::AsStatus(sb_status_or_).ok()) \
      return ::switchboard::internal::AsStatus(sb_status_or_);  \
  } while (0)

// `SB_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its error.
#define SB_ASSIGN_OR_RETURN(lhs, expr) \
  SB_ASSIGN_OR_RETURN_IMPL_(SB_CONCAT_(sb_result_, __LINE__), lhs, expr)
#define SB_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.has_value()) return tmp.error();       \
  lhs = std::move(tmp).value()
