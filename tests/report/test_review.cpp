// `tune review` and `tune diff` on a fresh recommendation of a real (small) sweep: the fresh
// file passes, a file whose recall was edited upward fails, and the dumped neighbours give the
// measured recall when scored independently (brute force here, no qtune code).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

#include "qtune/dataset.hpp"
#include "qtune/param_file.hpp"
#include "report_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using qtune::testing::quick_sweep;
using qtune::testing::shell_quote;
using qtune::testing::slurp_file;
using qtune::testing::tune;

/// The recommended.yaml with `validation_recall_ids` replaced.
fs::path tampered_copy(const fs::path& from, const fs::path& to, const std::string& new_line) {
  std::string text = slurp_file(from);
  const std::regex re("  validation_recall_ids: \\{[^\\n]*\\}");
  EXPECT_TRUE(std::regex_search(text, re));
  text = std::regex_replace(text, re, new_line);
  std::ofstream(to, std::ios::binary) << text;
  return to;
}

TEST(review, fresh_recommendation_passes) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const auto r = tune("review --quiet " + shell_quote(s.out / "recommended.yaml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("review passed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recorded"), std::string::npos);
  EXPECT_NE(r.out.find("measured now"), std::string::npos);
  EXPECT_NE(r.out.find("validation recall (ids)"), std::string::npos);
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
}

TEST(review, recall_edited_upward_fails) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  // Both the value and its interval raised (a believable edit) ...
  const fs::path both = tampered_copy(s.out / "recommended.yaml", s.dir / "tampered.yaml",
                                      "  validation_recall_ids: {value: 0.999, ci95: [0.998, 1]}");
  auto r = tune("review --quiet " + shell_quote(both));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("review FAILED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("outside the recorded interval"), std::string::npos) << r.out;
  // ... and only the value raised, the interval left as measured.
  const auto rp = qtune::load_param_file(s.out / "recommended.yaml");
  const auto& ci = rp.measured.validation_recall_ids;
  char line[200];
  std::snprintf(line, sizeof line, "  validation_recall_ids: {value: %.6f, ci95: [%.10g, %.10g]}",
                std::min(1.0, ci.hi + 0.01), ci.lo, ci.hi);
  const fs::path value_only = tampered_copy(s.out / "recommended.yaml", s.dir / "tampered2.yaml", line);
  r = tune("review --quiet " + shell_quote(value_only));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("outside the measured interval"), std::string::npos) << r.out;
}

TEST(review, changed_data_fails_and_bad_files_are_errors) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  std::string text = slurp_file(s.out / "recommended.yaml");
  const std::regex re("dataset_base_hash: \"[0-9a-f]+\"");
  ASSERT_TRUE(std::regex_search(text, re));
  text = std::regex_replace(text, re, "dataset_base_hash: \"0000000000000000\"");
  const fs::path f = s.dir / "otherdata.yaml";
  std::ofstream(f, std::ios::binary) << text;
  auto r = tune("review --quiet " + shell_quote(f));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("base vectors differ"), std::string::npos) << r.out;
  r = tune("review --quiet " + shell_quote(s.dir / "no-such.yaml"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("no-such.yaml"), std::string::npos) << r.out;
}

TEST(review, dumped_neighbors_score_the_measured_recall_independently) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const fs::path dump = s.dir / "review_neighbors.ivecs";
  const auto r = tune("review --quiet --dump-neighbors " + shell_quote(dump) + " " + shell_quote(s.out / "recommended.yaml"));
  ASSERT_EQ(r.code, 0) << r.out;
  // The measured validation recall as printed: "validation recall (ids)  REC [..]  MEASURED [..]".
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("validation recall \\(ids\\)\\s+[0-9.]+ \\[[^\\]]*\\]\\s+([0-9.]+)")))
      << r.out;
  const double printed = std::stod(m[1].str());

  const auto base = qtune::read_vectors(s.dir / "base.fvecs");
  const auto queries = qtune::read_vectors(s.dir / "queries.fvecs");
  const auto found = qtune::read_ids(dump);
  // Validation rows of the query file, as the sweep listed them.
  std::vector<std::size_t> rows;
  std::istringstream vq(slurp_file(s.out / "validation_queries.txt"));
  std::string line;
  while (std::getline(vq, line))
    if (!line.empty() && line[0] != '#') rows.push_back(std::stoul(line));
  ASSERT_EQ(found.rows, rows.size());
  ASSERT_EQ(found.dim, 10u);
  // Brute-force true neighbours in double precision.
  const std::size_t dim = base.dim(), k = 10;
  double hits = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const float* q = queries.row(rows[i]);
    std::vector<std::pair<double, int>> d(base.rows());
    for (std::size_t b = 0; b < base.rows(); ++b) {
      double s2 = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        const double t = static_cast<double>(base.row(b)[j]) - q[j];
        s2 += t * t;
      }
      d[b] = {s2, static_cast<int>(b)};
    }
    std::partial_sort(d.begin(), d.begin() + k, d.end());
    std::set<int> truth;
    for (std::size_t j = 0; j < k; ++j) truth.insert(d[j].second);
    for (std::size_t j = 0; j < k; ++j) hits += truth.count(found.values[i * k + j]);
  }
  const double recall = hits / static_cast<double>(rows.size() * k);
  EXPECT_NEAR(recall, printed, 6e-5);  // printed with 4 decimals
  EXPECT_GE(recall, 0.9);              // the spec's target
}

TEST(diff, shows_changed_parameters_and_figures) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const fs::path a = s.out / "recommended.yaml";
  auto same = tune("diff " + shell_quote(a) + " " + shell_quote(a));
  ASSERT_EQ(same.code, 0) << same.out;
  EXPECT_NE(same.out.find("no differences"), std::string::npos) << same.out;
  // Another configuration: ef_search and the recall changed.
  std::string text = slurp_file(a);
  text = std::regex_replace(text, std::regex("  ef_search: [0-9]+"), "  ef_search: 777");
  const fs::path b = tampered_copy(a, s.dir / "b.yaml", "  validation_recall_ids: {value: 0.5, ci95: [0.4, 0.6]}");
  text = slurp_file(b);
  text = std::regex_replace(text, std::regex("  ef_search: [0-9]+"), "  ef_search: 777");
  std::ofstream(b, std::ios::binary) << text;
  const auto d = tune("diff --changes-only " + shell_quote(a) + " " + shell_quote(b));
  ASSERT_EQ(d.code, 0) << d.out;
  EXPECT_TRUE(std::regex_search(d.out, std::regex("\\* ef_search\\s+[0-9]+\\s+777"))) << d.out;
  EXPECT_TRUE(std::regex_search(d.out, std::regex("\\* validation recall \\(ids\\)\\s+[0-9.]+\\s+0\\.5000\\s+-[0-9.]+%")))
      << d.out;
  EXPECT_EQ(d.out.find("codec"), std::string::npos) << d.out;  // unchanged rows left out
  EXPECT_NE(d.out.find("3 rows differ"), std::string::npos) << d.out;  // ef, recall, its interval
}

}  // namespace
