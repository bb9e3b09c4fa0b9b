#pragma once
// Where tests and benchmarks find the real datasets: $QTUNE_DATA_DIR, default
// <source>/../shared/data. No GoogleTest here, so benchmarks include it too.
#include <cstdlib>
#include <filesystem>

namespace qtune::testing {

inline std::filesystem::path data_dir() {
  if (const char* d = std::getenv("QTUNE_DATA_DIR"); d && *d) return d;
#ifdef QTUNE_SOURCE_DIR
  return std::filesystem::path(QTUNE_SOURCE_DIR) / ".." / "shared" / "data";
#else
  // __FILE__ may be relative to the compiler's working directory (ccache's base_dir makes it so):
  // make it absolute, because tests write this path into specs they copy elsewhere.
  return std::filesystem::absolute(std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "shared" /
                                   "data");
#endif
}

}  // namespace qtune::testing
