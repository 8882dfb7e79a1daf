#pragma once
// Result<T>: the one error policy. Untrusted input never crashes or asserts; every failure is
// an Error whose message names the input and the place.

#include <string>
#include <utility>
#include <variant>

namespace moat {

struct Error {
  std::string message;

  /// Prefixes context, e.g. Error{"bad magic"}.Wrap("layer sha256:ab..") -> "layer sha256:ab..: bad
  /// magic".
  Error Wrap(const std::string& context) const { return Error{context + ": " + message}; }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : data_(std::move(error)) {}  // NOLINT

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> Ok() { return {}; }

/// Builds an Error from string pieces: return Fail("file ", path, ": truncated");
template <typename... Parts>
Error Fail(Parts&&... parts) {
  std::string message;
  (message.append(std::forward<Parts>(parts)), ...);
  return Error{std::move(message)};
}

}  // namespace moat

#define MOAT_CONCAT_INNER(a, b) a##b
#define MOAT_CONCAT(a, b) MOAT_CONCAT_INNER(a, b)

/// Returns the error of a Result<void> expression from the enclosing function.
#define MOAT_TRY(expr)                                           \
  do {                                                           \
    auto moat_try_result_ = (expr);                              \
    if (!moat_try_result_.ok()) return moat_try_result_.error(); \
  } while (0)

/// MOAT_ASSIGN_OR_RETURN(auto x, Parse(...)); returns the error from the enclosing function.
#define MOAT_ASSIGN_OR_RETURN(lhs, expr) \
  MOAT_ASSIGN_OR_RETURN_IMPL(MOAT_CONCAT(moat_result_, __LINE__), lhs, expr)
#define MOAT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.error();               \
  lhs = std::move(tmp).value()
