#pragma once
// Shared by the report/review/diff tests: a tiny synthetic data set, one quick sweep run by the
// real `tune` binary, and helpers to run commands and headless Chromium.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "qtune/dataset.hpp"
#include "test_data.hpp"

namespace qtune::testing {

inline std::string slurp_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct run_result {
  int code = -1;
  std::string out;  ///< stdout and stderr together
};

/// Runs a shell command; returns its exit code and output (stdout + stderr).
inline run_result run_command(const std::string& cmd) {
  run_result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline std::string shell_quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline run_result tune(const std::string& args) { return run_command(std::string(QTUNE_TUNE_BINARY) + " " + args); }

/// A folder with clustered Gaussian data (3000 base, 300 queries, 24 dims), a spec, and the
/// output of one quick sweep over it (made once per test binary).
struct quick_sweep {
  std::filesystem::path dir, spec, out;
  run_result sweep;

  static const quick_sweep& get() {
    static quick_sweep s;
    return s;
  }

 private:
  quick_sweep() {
    dir = std::filesystem::temp_directory_path() / ("qtune_report_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    write_clustered_set(dir, 5);
    spec = dir / "quick.yaml";
    std::ofstream(spec) << "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
                        << "k: 10\ntarget_recall: 0.9\n"
                        << "grid:\n  codecs: [fp32, sq8, sq4]\n  m: [8]\n  ef_construction: [60]\n"
                        << "  ef_search: auto\n  rerank: [0, 2]\n"
                        << "objective: latency_p50\nthreads: 1\nrepetitions: 2\nwarmup_queries: 20\n"
                        << "cache_dir: cache\n";
    out = dir / "out";
    sweep = tune("--quiet --output " + shell_quote(out) + " " + shell_quote(spec));
  }
  ~quick_sweep() { std::filesystem::remove_all(dir); }
};

/// Chromium for the report checks: $QTUNE_CHROMIUM, else chromium / chromium-browser on PATH.
inline std::string chromium_binary() {
  if (const char* c = std::getenv("QTUNE_CHROMIUM"); c && *c) return c;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    if (run_command(std::string("command -v ") + name + " >/dev/null").code == 0) return name;
  }
  return "";
}

/// The DOM after the page's scripts ran (headless Chromium, virtual time so it does not wait).
inline run_result chromium_dump_dom(const std::string& chromium, const std::filesystem::path& html) {
  return run_command(chromium + " --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions "
                                "--virtual-time-budget=20000 --dump-dom " + shell_quote("file://" + std::filesystem::absolute(html).string()) +
                     " 2>/dev/null");
}

inline bool chromium_screenshot(const std::string& chromium, const std::filesystem::path& html,
                                const std::filesystem::path& png) {
  std::filesystem::remove(png);
  run_command(chromium + " --headless=new --no-sandbox --disable-gpu --no-first-run --disable-extensions "
                         "--hide-scrollbars --virtual-time-budget=20000 --window-size=1400,2400 --screenshot=" +
              shell_quote(png) + " " + shell_quote("file://" + std::filesystem::absolute(html).string()));
  return std::filesystem::exists(png);
}

}  // namespace qtune::testing

/// Sets `var` to the Chromium binary; skips the test when there is none, unless
/// QTUNE_REQUIRE_DATA=1 (CI installs chromium), where it fails.
#define QTUNE_REQUIRE_CHROMIUM(var)                                                              \
  const std::string var = ::qtune::testing::chromium_binary();                                   \
  if (var.empty()) {                                                                             \
    if (::qtune::testing::data_required()) FAIL() << "chromium is required (QTUNE_REQUIRE_DATA=1)"; \
    GTEST_SKIP() << "chromium not found (apt-get install chromium, or set QTUNE_CHROMIUM)";      \
  }
