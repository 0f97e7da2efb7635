// Result<T> and Error: the one error type of gpupool.
//
// Expected failures travel as values: a Result holds either a T or an Error whose message a
// user can act on. Exceptions are for invariant breaks only and never cross a module
// boundary; edges (HTTP, SQL, Docker, NVML) translate their own codes into an Error once.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace gpupool {

enum class ErrorCode {
  invalid_argument,   // the caller sent something malformed or out of range (400)
  unauthorized,       // no or bad credentials (401)
  forbidden,          // authenticated but not allowed (403)
  not_found,          // absent, or not visible to this caller (404)
  conflict,           // clashes with current state (409)
  payload_too_large,  // request body over the limit (413)
  rate_limited,       // too many attempts (429)
  quota_exceeded,     // over a quota (403)
  balance_exhausted,  // the prepaid balance does not cover it (402)
  unavailable,        // a dependency (engine, database, GPU) is not answering (503)
  internal,           // a bug or an unexpected system failure (500)
};

std::string_view error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace gpupool

// Propagates the error of a Result-returning expression out of the current function.
#define GPUPOOL_TRY(expr)                                              \
  do {                                                                 \
    auto gpupool_try_result_ = (expr);                                 \
    if (!gpupool_try_result_.ok()) return gpupool_try_result_.error(); \
  } while (false)
