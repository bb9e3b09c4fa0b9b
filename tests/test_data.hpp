#pragma once
// Where tests find the real datasets: $QTUNE_DATA_DIR, default <source>/../shared/data.
// A missing set skips the test, unless QTUNE_REQUIRE_DATA=1 (CI), where it fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "data_dir.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"

namespace qtune::testing {

inline bool data_required() {
  const char* r = std::getenv("QTUNE_REQUIRE_DATA");
  return r && std::string(r) == "1";
}

/// The small sweep fixture of the CLI tests: clustered Gaussian data (30 centres spread 4 sigma),
/// 3000 base and 300 query vectors of 24 dims, written as dir/base.fvecs and dir/queries.fvecs.
inline void write_clustered_set(const std::filesystem::path& dir, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.f, 1.f);
  const std::size_t dim = 24, nb = 3000, nq = 300, nc = 30;
  std::vector<float> centers(nc * dim);
  for (auto& c : centers) c = 4.f * g(rng);
  auto make = [&](std::size_t n) {
    std::vector<float> x(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t c = rng() % nc;
      for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] = centers[c * dim + j] + g(rng);
    }
    return x;
  };
  const auto base = make(nb), queries = make(nq);
  write_fvecs(dir / "base.fvecs", {base.data(), nb, dim, dim});
  write_fvecs(dir / "queries.fvecs", {queries.data(), nq, dim, dim});
}

/// An empty folder for the running test: <tmp>/<prefix><test name>_<pid>, removed first if it
/// exists (a fixture's SetUp; its TearDown removes it).
inline std::filesystem::path fresh_test_dir(const std::string& prefix) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      (prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// The message of the qtune::error that f() throws, or "" when it throws none.
template <class F>
inline std::string error_of(F&& f) {
  try {
    f();
  } catch (const qtune::error& e) {
    return e.what();
  }
  return "";
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
