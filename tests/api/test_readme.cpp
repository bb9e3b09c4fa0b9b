// The README's "Use as a library" example is examples/library_example.cpp, verbatim: the build
// compiles that file, this test checks the README block still equals it and runs the binary on
// real data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "qtune/param_file.hpp"
#include "qtune/qtune.hpp"
#include "test_data.hpp"

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

/// The first ```cpp block after the "## Use as a library" heading of `doc`, or "" if none.
std::string library_block(const std::string& doc) {
  const auto heading = doc.find("## Use as a library");
  if (heading == std::string::npos) return "";
  const auto open = doc.find("```cpp\n", heading);
  if (open == std::string::npos) return "";
  const auto start = open + 7;
  const auto close = doc.find("```", start);
  return close == std::string::npos ? "" : doc.substr(start, close - start);
}

}  // namespace

TEST(readme, library_example_block_equals_the_compiled_example) {
  const std::filesystem::path root = QTUNE_SOURCE_DIR;
  const std::string example = slurp(root / "examples" / "library_example.cpp");
  ASSERT_FALSE(example.empty());
  const std::filesystem::path doc = root / "README.md";
  const std::string block = library_block(slurp(doc));
  ASSERT_FALSE(block.empty()) << "no '## Use as a library' section with a ```cpp block in README.md";
  EXPECT_EQ(block, example) << doc << "'s example differs from examples/library_example.cpp; copy the file into the block";
}

#ifdef QTUNE_LIBRARY_EXAMPLE_BINARY
TEST(readme, library_example_runs_on_sift10k) {
  QTUNE_REQUIRE_DATA_FILE(base, "sift10k/siftsmall_base.fvecs");
  const auto queries = base.parent_path() / "siftsmall_query.fvecs";
  const auto dir = std::filesystem::temp_directory_path() / ("qtune-readme-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  qtune::recommended_params p;
  p.dim = 128;
  p.k = 5;
  p.config.codec = "sq8";
  p.config.rerank = 2;
  p.config.ef_construction = 100;
  qtune::write_param_file(dir / "recommended.yaml", p);
  const std::string cmd = std::string(QTUNE_LIBRARY_EXAMPLE_BINARY) + " " + (dir / "recommended.yaml").string() + " " +
                          base.string() + " " + queries.string() + " " + (dir / "index.qidx").string() + " 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  const int rc = ::pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(rc), 0) << out;
  // query 0 of siftsmall: the shipped ground truth's first five neighbours
  EXPECT_NE(out.find("10000 vectors, hnsw sq8; query 0: 2176 3752 882 4009 2837"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir / "index.qidx"));
  std::filesystem::remove_all(dir);
}
#endif
