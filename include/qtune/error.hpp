#pragma once
// The one exception type of qtune, and the check macro that raises it.
//
//   QTUNE_CHECK(d > 0, path, ": vector ", i, " has dimension ", d, ", expected > 0");
//
// Messages name where the problem is (file, line/column, vector index or byte offset),
// what was expected and what was found.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qtune {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

/// Throws qtune::error with the concatenation of `args` (streamed with operator<<).
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace qtune

#define QTUNE_CHECK(cond, ...)               \
  do {                                       \
    if (!(cond)) ::qtune::fail(__VA_ARGS__); \
  } while (0)
