#pragma once
// Where tests find the real datasets: $QTUNE_DATA_DIR, default <source>/../shared/data.
// A missing set skips the test, unless QTUNE_REQUIRE_DATA=1 (CI), where it fails.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace qtune::testing {

inline std::filesystem::path data_dir() {
  if (const char* d = std::getenv("QTUNE_DATA_DIR"); d && *d) return d;
#ifdef QTUNE_SOURCE_DIR
  return std::filesystem::path(QTUNE_SOURCE_DIR) / ".." / "shared" / "data";
#else
  return std::filesystem::path("..") / "shared" / "data";
#endif
}

inline bool data_required() {
  const char* r = std::getenv("QTUNE_REQUIRE_DATA");
  return r && std::string(r) == "1";
}

}  // namespace qtune::testing

/// Resolves `rel` under data_dir() into `var`; skips (or fails under QTUNE_REQUIRE_DATA=1)
/// when the file is missing.
#define QTUNE_REQUIRE_DATA_FILE(var, rel)                                                     \
  const std::filesystem::path var = ::qtune::testing::data_dir() / (rel);                     \
  if (!std::filesystem::exists(var)) {                                                        \
    if (::qtune::testing::data_required()) FAIL() << "missing required data file " << var;    \
    GTEST_SKIP() << "data file not found: " << var << " (set QTUNE_DATA_DIR)";                \
  }
