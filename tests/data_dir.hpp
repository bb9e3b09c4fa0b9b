#pragma once
// Where tests and benchmarks find the real datasets: $QTUNE_DATA_DIR, default
// <source>/../shared/data. No GoogleTest here, so benchmarks include it too.
#include <cstdlib>
#include <filesystem>

namespace qtune::testing {

inline std::filesystem::path data_dir() {
  if (const char* d = std::getenv("QTUNE_DATA_DIR"); d && *d) return d;
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "shared" / "data";  // <source>/tests/..
}

}  // namespace qtune::testing
