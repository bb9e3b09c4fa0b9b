// SIMD level detection and capping: names, cpuid against /proc/cpuinfo, scoped caps, and
// $QTUNE_SIMD (read once at start-up, so it is checked in a child process of this binary).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "kernels/kernels.hpp"
#include "qtune/error.hpp"
#include "qtune/simd.hpp"

namespace qtune {
namespace {

std::set<std::string> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::string> flags;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;) flags.insert(w);
    break;
  }
  return flags;
}

TEST(simd_names, parse_and_to_string_round_trip) {
  for (simd_level l : {simd_level::scalar, simd_level::avx2, simd_level::avx512})
    EXPECT_EQ(parse_simd_level(to_string(l)), l);
  EXPECT_EQ(to_string(simd_level::avx512), "avx512");
}

TEST(simd_names, parse_rejects_unknown_names_with_the_name_in_the_message) {
  try {
    parse_simd_level("sse9");
    FAIL() << "expected qtune::error";
  } catch (const error& e) {
    EXPECT_NE(std::string(e.what()).find("sse9"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_simd_level(""), error);
  EXPECT_THROW(parse_simd_level("AVX2"), error);
}

TEST(simd_detect, matches_the_kernel_flags_in_proc_cpuinfo) {
  const auto f = cpuinfo_flags();
  if (f.empty()) GTEST_SKIP() << "/proc/cpuinfo has no flags line";
  simd_level expected = simd_level::scalar;
  if (f.count("avx2") && f.count("fma") && f.count("f16c")) expected = simd_level::avx2;
  if (expected == simd_level::avx2 && f.count("avx512f") && f.count("avx512bw") && f.count("avx512dq") &&
      f.count("avx512vl"))
    expected = simd_level::avx512;
  EXPECT_EQ(detected_simd_level(), expected);
  const bool vnni = expected == simd_level::avx512 && f.count("avx512_vnni");
  EXPECT_EQ(kernels::at(simd_level::avx512).vnni, vnni);
  const std::string d = cpu_description();
  EXPECT_NE(d.find(to_string(detected_simd_level())), std::string::npos) << d;
  EXPECT_EQ(d.find("vnni") != std::string::npos, vnni) << d;
}

TEST(simd_scope, caps_nest_and_restore) {
  const simd_level start = active_simd_level();
  EXPECT_LE(static_cast<int>(start), static_cast<int>(detected_simd_level()));
  {
    scoped_simd_level outer(simd_level::avx2);
    const simd_level capped = static_cast<int>(start) < 1 ? start : simd_level::avx2;
    EXPECT_EQ(active_simd_level(), capped);
    {
      scoped_simd_level inner(simd_level::scalar);
      EXPECT_EQ(active_simd_level(), simd_level::scalar);
      EXPECT_EQ(kernels::active().level, simd_level::scalar);
      {
        scoped_simd_level raise(simd_level::avx512);  // an inner guard cannot raise the cap
        EXPECT_EQ(kernels::active().level, simd_level::scalar);
      }
    }
    EXPECT_EQ(active_simd_level(), capped);
    EXPECT_EQ(kernels::active().level, capped);
  }
  EXPECT_EQ(active_simd_level(), start);
  EXPECT_EQ(kernels::active().level, start);
}

// Runs this test binary again with QTUNE_SIMD=value and returns what the child test printed.
std::string run_child(const std::string& value) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string cmd = "QTUNE_SIMD='" + value + "' '" + self +
                          "' --gtest_filter=simd_env_child.DISABLED_print_active_level "
                          "--gtest_also_run_disabled_tests 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  if (!pipe) return "popen failed";
  std::string out;
  std::array<char, 512> buf{};
  while (fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  return out;
}

// Only run as the child of simd_env.*: prints the level the kernels would use.
TEST(simd_env_child, DISABLED_print_active_level) {
  try {
    const std::string level = to_string(active_simd_level());  // throws on a bad $QTUNE_SIMD
    std::printf("[active=%s table=%s]\n", level.c_str(), to_string(kernels::active().level).c_str());
  } catch (const error& e) {
    std::printf("[error=%s]\n", e.what());
  }
}

TEST(simd_env, qtune_simd_caps_the_active_level) {
  EXPECT_NE(run_child("scalar").find("[active=scalar table=scalar]"), std::string::npos) << run_child("scalar");
  if (static_cast<int>(detected_simd_level()) >= static_cast<int>(simd_level::avx2)) {
    const std::string out = run_child("avx2");
    EXPECT_NE(out.find("[active=avx2 table=avx2]"), std::string::npos) << out;
  }
  // A cap above the CPU's level leaves the detected level.
  const std::string top = to_string(detected_simd_level());
  const std::string out = run_child("avx512");
  EXPECT_NE(out.find("[active=" + top + " table=" + top + "]"), std::string::npos) << out;
}

TEST(simd_env, invalid_qtune_simd_is_reported_with_its_value) {
  const std::string out = run_child("avx1024");
  EXPECT_NE(out.find("[error="), std::string::npos) << out;
  EXPECT_NE(out.find("QTUNE_SIMD"), std::string::npos) << out;
  EXPECT_NE(out.find("avx1024"), std::string::npos) << out;
}

}  // namespace
}  // namespace qtune
