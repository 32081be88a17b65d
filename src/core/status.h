// Status and StatusOr<T>: the one error channel of the project.
//
// Every fallible boundary (file, parse, load, request) returns a Status or a StatusOr<T>. The codes
// are canonical (as in Abseil / gRPC); the API layer maps them onto HTTP statuses and the seed's
// error schema in one place. Both types are [[nodiscard]]: an ignored error is a compile warning.
//
//   StatusOr<GgufFile> f = GgufFile::Open(path);
//   if (!f.ok()) return f.status();
//   ISV_ASSIGN_OR_RETURN(auto model, LoadModel(*f));
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace isv {

enum class StatusCode {
  kOk = 0,
  kCancelled,           // the caller went away
  kInvalidArgument,     // bad input from the caller (request field, CLI flag, malformed file)
  kDeadlineExceeded,
  kNotFound,            // unknown model, missing file
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,   // memory budget, queue full, context too long
  kFailedPrecondition,  // e.g. model not loaded
  kOutOfRange,
  kUnimplemented,       // a known but unsupported feature (tensor type, architecture)
  kInternal,            // a bug
  kUnavailable,         // busy, try again
  kDataLoss,            // a file that lies about its own contents
  kUnauthenticated,
  kBusy,                // too many requests waiting; retry later (HTTP 429)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message" (or "OK").
  std::string ToString() const;

  // Returns a copy with `prefix + ": "` put in front of the message (adds context on the way up).
  Status WithContext(std::string_view prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnimplementedError(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status CancelledError(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status BusyError(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) { assert(!status.ok()); }  // NOLINT: implicit by design
  StatusOr(Status&& status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT
  StatusOr(const T& value) : v_(value) {}  // NOLINT
  StatusOr(T&& value) : v_(std::move(value)) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Status>>>
  StatusOr(U&& value) : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace isv

#define ISV_STATUS_CONCAT_INNER(a, b) a##b
#define ISV_STATUS_CONCAT(a, b) ISV_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the current function when it is not OK.
#define ISV_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::isv::Status isv_status_ = (expr);            \
    if (!isv_status_.ok()) return isv_status_;     \
  } while (0)

// `lhs = value of expr`, or returns its Status from the current function.
#define ISV_ASSIGN_OR_RETURN(lhs, expr) \
  ISV_ASSIGN_OR_RETURN_IMPL(ISV_STATUS_CONCAT(isv_statusor_, __LINE__), lhs, expr)
#define ISV_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
