// Status and Result<T>: how every function in src/common reports failure.
//
// A Status is either OK or an error with a code and a one-line message meant
// for the user ("cannot read /x/y.pfx: No such file or directory"). Result<T>
// holds a value or a non-OK Status. Neither throws; the library never prints
// or exits, the executables turn a Status into console lines and exit codes.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace octo {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is malformed (a usage problem)
  kNotFound,         // a file, instance or entry does not exist
  kAlreadyExists,    // the thing to create is already there (also: the service
                     // to start is already running)
  kPermissionDenied, // the OS refused access (often: not elevated)
  kWrongPassword,    // a PFX could not be decrypted with the given password
  kCorrupt,          // stored data is not what it must be (bad JSON, bad PFX)
  kFailedPrecondition,  // the state does not allow the operation
  kInternal,         // OpenSSL or the OS failed unexpectedly
  kDeadlineExceeded, // a wait passed its deadline (connect, handshake, read, write)
  kUnavailable,      // nothing answers there: a refused connection, a socket nobody listens on
  // Keep kStatusCodeNames below in step.
};

inline constexpr const char* kStatusCodeNames[] = {
    "Ok",      "InvalidArgument",    "NotFound", "AlreadyExists",    "PermissionDenied", "WrongPassword",
    "Corrupt", "FailedPrecondition", "Internal", "DeadlineExceeded", "Unavailable",
};
static_assert(sizeof kStatusCodeNames / sizeof kStatusCodeNames[0] == static_cast<int>(StatusCode::kUnavailable) + 1,
              "a name for every StatusCode");

// The code's name, for the readiness pipe and logs: "DeadlineExceeded".
inline const char* StatusCodeName(StatusCode code) { return kStatusCodeNames[static_cast<int>(code)]; }

// The code named `name` (as StatusCodeName spells it), or nullopt.
inline std::optional<StatusCode> StatusCodeFromName(const std::string& name) {
  for (int i = 0; i < static_cast<int>(sizeof kStatusCodeNames / sizeof kStatusCodeNames[0]); ++i) {
    if (name == kStatusCodeNames[i]) return static_cast<StatusCode>(i);
  }
  return std::nullopt;
}

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
inline Status WrongPassword(std::string m) { return {StatusCode::kWrongPassword, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// A value of type T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result needs a value or an error");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace octo

#define OCTO_CONCAT_INNER(a, b) a##b
#define OCTO_CONCAT(a, b) OCTO_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define OCTO_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::octo::Status octo_status_ = (expr);     \
    if (!octo_status_.ok()) return octo_status_; \
  } while (0)

// `OCTO_ASSIGN_OR_RETURN(auto x, F());` declares x from a Result or returns its error.
#define OCTO_ASSIGN_OR_RETURN(lhs, expr) \
  OCTO_ASSIGN_OR_RETURN_IMPL(OCTO_CONCAT(octo_result_, __LINE__), lhs, expr)
#define OCTO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
