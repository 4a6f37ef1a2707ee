// Status and Result<T>: the one error type of Kod, mapped to HTTP in exactly one place (fcgi/).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kod {

/// Error categories. fcgi/http.cpp HttpStatusFor() is the only place they become HTTP codes.
enum class Code {
  Ok,
  InvalidArgument,   // 400
  Unauthenticated,   // 401
  PermissionDenied,  // 403
  NotFound,          // 404
  MethodNotAllowed,  // 405
  Conflict,          // 409
  PayloadTooLarge,   // 413
  Unavailable,       // 503 (database unreachable)
  Internal,          // 500 (real faults only)
};

/// An outcome: Ok, or a Code with a human message meant for the client's {"error": ...}.
struct Status {
  Code code = Code::Ok;
  std::string message;

  bool ok() const { return code == Code::Ok; }
  static Status Ok() { return {}; }
};

inline Status InvalidArgument(std::string m) { return {Code::InvalidArgument, std::move(m)}; }
inline Status Unauthenticated(std::string m = "Unauthorized") { return {Code::Unauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m = "Permission denied") { return {Code::PermissionDenied, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::NotFound, std::move(m)}; }
inline Status Conflict(std::string m) { return {Code::Conflict, std::move(m)}; }
inline Status Unavailable(std::string m = "database unreachable") { return {Code::Unavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::Internal, std::move(m)}; }

/// A value or the Status that explains why there is none. Never holds an Ok Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}    // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& operator*() { return std::get<0>(v_); }
  const T& operator*() const { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& value() { return std::get<0>(v_); }
  const Status& status() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kod
