// `tune review --engine faiss|hnswlib` on a sift10k recommendation: the exported spelling is
// built in the peer engine, its efSearch found, and the recall it records is checked here
// against a brute force written in the test (no qtune ground-truth code).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "qtune/dataset.hpp"
#include "qtune/param_file.hpp"
#include "run_command.hpp"
#include "test_data.hpp"

namespace {

using qtune::testing::run_shell;

namespace fs = std::filesystem;

// Brute-force top-k ids of one query (double accumulation, ties by lower id).
std::vector<int> brute_force(const qtune::vectors& base, const float* q, std::size_t k) {
  std::vector<std::pair<double, int>> d(base.rows());
  for (std::size_t i = 0; i < base.rows(); ++i) {
    double s = 0;
    for (std::size_t j = 0; j < base.dim(); ++j) {
      const double t = double(base.row(i)[j]) - double(q[j]);
      s += t * t;
    }
    d[i] = {s, static_cast<int>(i)};
  }
  std::partial_sort(d.begin(), d.begin() + static_cast<long>(k), d.end());
  std::vector<int> out;
  for (std::size_t j = 0; j < k; ++j) out.push_back(d[j].second);
  return out;
}

TEST(tune_deploy_check, engines_recall_on_a_sift10k_recommendation_matches_brute_force) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
  QTUNE_REQUIRE_DATA_FILE(queries_path, "sift10k/siftsmall_query.fvecs");
  const fs::path dir = fs::temp_directory_path() / ("qtune_deploy_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "sift10k.yaml") << "name: sift10k\n"
                                      << "dataset: {base: " << base_path << ", queries: " << queries_path
                                      << ", metric: l2}\n"
                                      << "k: 10\ntarget_recall: 0.9\nsplit: {validation_fraction: 0.5}\n"
                                      << "grid: {codecs: [sq8], m: [16], ef_construction: [100], ef_search: auto,"
                                         " ef_search_extra: [1.25, 1.5, 2], rerank: [0]}\n"
                                      << "repetitions: 1\nwarmup_queries: 10\nseed: 42\ncache_dir: "
                                      << (dir / "cache") << "\n";
  const fs::path out = dir / "out";
  const std::string tune = QTUNE_TUNE_BINARY;
  auto [code, text] = run_shell(tune + " --quiet " + (dir / "sift10k.yaml").string() + " -o " + out.string() + " 2>&1");
  ASSERT_EQ(code, 0) << text;
  const fs::path rec = out / "recommended.yaml";

  const qtune::vectors base = qtune::read_vectors(base_path);
  const qtune::vectors queries = qtune::read_vectors(queries_path);
  std::vector<std::size_t> val_rows;
  {
    std::ifstream in(out / "validation_queries.txt");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && line[0] != '#') val_rows.push_back(std::stoul(line));
  }
  ASSERT_EQ(val_rows.size(), 50u);

  for (const std::string engine : {"faiss", "hnswlib"}) {
    const fs::path dump = dir / (engine + ".ivecs");
    std::tie(code, text) = run_shell(tune + " review " + rec.string() + " --engine " + engine + " --quiet --dump-neighbors " +
                                   dump.string() + " 2>&1");
    ASSERT_EQ(code, 0) << text;
    EXPECT_NE(text.find("recorded deploy." + engine + ".verified_recall"), std::string::npos) << text;
    const qtune::recommended_params p = qtune::load_param_file(rec);
    const auto it = std::find_if(p.verified.begin(), p.verified.end(),
                                 [&](const qtune::deploy_verified& v) { return v.engine == engine; });
    ASSERT_NE(it, p.verified.end()) << engine << " not recorded";
    EXPECT_GE(it->ef_search, 10u);
    EXPECT_FALSE(it->date.empty());
    // The engine's validation neighbours scored against a brute force of our own.
    const qtune::int_matrix found = qtune::read_ids(dump);
    ASSERT_EQ(found.rows, val_rows.size());
    double hits = 0;
    for (std::size_t i = 0; i < val_rows.size(); ++i) {
      const auto truth = brute_force(base, queries.row(val_rows[i]), 10);
      for (std::size_t j = 0; j < 10; ++j)
        hits += std::count(truth.begin(), truth.end(), found.row(i)[j]) > 0 ? 1 : 0;
    }
    const double recall = hits / (10.0 * static_cast<double>(val_rows.size()));
    std::printf("%s: efSearch %zu, recorded validation recall %.4f, brute-force check %.4f\n", engine.c_str(),
                it->ef_search, it->recall, recall);
    EXPECT_NEAR(it->recall, recall, 1e-6) << engine;
    EXPECT_GE(recall, 0.85) << engine << " at its efSearch should be near the 0.9 target";
    // The file still loads and renders the same (round trip keeps the verified fields).
    std::ifstream in(rec);
    const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(qtune::render_param_file(p), on_disk);
  }
  // Both recorded, each in its own engine block.
  const qtune::recommended_params p = qtune::load_param_file(rec);
  EXPECT_EQ(p.verified.size(), 2u);
  fs::remove_all(dir);
}

}  // namespace
