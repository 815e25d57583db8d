// Status and Result<T>: how every fallible Ridgeline function reports failure.
// No exceptions cross a module boundary; errors carry context added on the way up
// (file, node, op, index, byte offset) through WithContext().
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ridge {

// Status codes map one-to-one onto the CLI's documented exit codes (see docs/cli.md).
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad user input (CLI flags, shapes, API arguments)
  kInvalidModel,     // malformed or inconsistent model file
  kUnsupported,      // valid input that Ridgeline cannot handle (unknown op, dtype)
  kNotFound,         // file or name does not exist
  kIoError,          // read/write failure
  kLimitExceeded,    // input exceeds a documented cap (tensor bytes, nodes, nesting)
  kDataLoss,         // checksum mismatch, truncated file
  kInternal,         // a bug in Ridgeline
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes context, e.g. Status(...).WithContext("node 'conv1' (Conv)") gives
  // "node 'conv1' (Conv): <message>".
  Status WithContext(const std::string& context) const&;
  Status WithContext(const std::string& context) &&;

  // "InvalidModel: model.onnx: node 'x' (Conv): input 2 ..." for printing.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status InvalidModel(std::string m) {
  return Status(StatusCode::kInvalidModel, std::move(m));
}
inline Status Unsupported(std::string m) { return Status(StatusCode::kUnsupported, std::move(m)); }
inline Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
inline Status LimitExceeded(std::string m) {
  return Status(StatusCode::kLimitExceeded, std::move(m));
}
inline Status DataLoss(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).ok() && "Result constructed from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(data_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(data_); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace ridge

#define RIDGE_CONCAT_INNER(a, b) a##b
#define RIDGE_CONCAT(a, b) RIDGE_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define RIDGE_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::ridge::Status ridge_status_ = (expr);        \
    if (!ridge_status_.ok()) return ridge_status_; \
  } while (0)

// Like RIDGE_RETURN_IF_ERROR, adding context to the error on the way up.
#define RIDGE_RETURN_IF_ERROR_CTX(expr, context)                        \
  do {                                                                  \
    ::ridge::Status ridge_status_ = (expr);                             \
    if (!ridge_status_.ok()) return ridge_status_.WithContext(context); \
  } while (0)

#define RIDGE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

// `RIDGE_ASSIGN_OR_RETURN(auto x, Compute());` declares x or returns the error.
#define RIDGE_ASSIGN_OR_RETURN(lhs, expr) \
  RIDGE_ASSIGN_OR_RETURN_IMPL(RIDGE_CONCAT(ridge_result_, __LINE__), lhs, expr)
