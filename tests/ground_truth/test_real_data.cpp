// exact_knn and `tune groundtruth` reproduce the ground truth shipped with the real datasets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ground_truth/exact_bytes.hpp"
#include "ground_truth/exact_detail.hpp"
#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/simd.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

struct comparison {
  std::size_t positions = 0;
  std::size_t id_mismatches = 0;     // positions whose ids differ (allowed only at ties)
  std::size_t bad = 0;               // positions that differ without a tie to explain it
  double max_distance_error = 0;     // max |ours - shipped| over positions
};

// Ids may differ from the shipped ones only where distances tie (within `tol`): our id at that
// position must appear in the shipped row at a tied distance, or beyond it, tied with the last.
comparison compare_with_shipped(const qtune::knn_result& ours, const qtune::knn_result& shipped, double tol) {
  comparison c;
  EXPECT_EQ(ours.nq, shipped.nq);
  EXPECT_LE(ours.k, shipped.k);
  const std::size_t k = std::min(ours.k, shipped.k);
  for (std::size_t q = 0; q < std::min(ours.nq, shipped.nq); ++q) {
    const auto* oi = ours.ids_of(q);
    const auto* od = ours.distances_of(q);
    const auto* si = shipped.ids_of(q);
    const auto* sd = shipped.distances_of(q);
    for (std::size_t j = 0; j < k; ++j) {
      ++c.positions;
      const double err = std::abs(double(od[j]) - double(sd[j]));
      c.max_distance_error = std::max(c.max_distance_error, err);
      if (err > tol) ++c.bad;
      if (oi[j] == si[j]) continue;
      ++c.id_mismatches;
      bool explained = false;
      for (std::size_t t = 0; t < shipped.k; ++t)
        if (si[t] == oi[j]) explained = std::abs(double(sd[t]) - double(sd[j])) <= tol;
      if (std::find(si, si + shipped.k, oi[j]) == si + shipped.k)
        explained = std::abs(double(sd[shipped.k - 1]) - double(od[j])) <= tol;
      if (!explained) ++c.bad;
    }
  }
  return c;
}

qtune::knn_result shipped(const fs::path& ids, const fs::path& dist) { return qtune::read_knn(ids, dist); }

TEST(ground_truth_real, sift10k_matches_shipped_ground_truth) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
  const auto dir = base_path.parent_path();
  const auto base = qtune::read_vectors(base_path);
  const auto queries = qtune::read_vectors(dir / "siftsmall_query.fvecs");
  const auto truth = shipped(dir / "siftsmall_groundtruth.ivecs", dir / "siftsmall_groundtruth_dist.fvecs");
  const auto r = qtune::exact_knn(base.view(), queries.view(), qtune::metric::l2, 100);
  // Integer data: every distance is exact, ties are exact.
  const auto c = compare_with_shipped(r, truth, 0.0);
  EXPECT_EQ(c.bad, 0u);
  EXPECT_EQ(c.max_distance_error, 0.0);
  EXPECT_LE(c.id_mismatches, 18u);  // the shipped file lists 18 tied pairs in another order
  // Our own order inside a tie is by ascending id.
  for (std::size_t q = 0; q < r.nq; ++q)
    for (std::size_t j = 1; j < r.k; ++j)
      if (r.distances_of(q)[j] == r.distances_of(q)[j - 1]) EXPECT_LT(r.ids_of(q)[j - 1], r.ids_of(q)[j]);
}

TEST(ground_truth_real, mnist10k_matches_shipped_ground_truth) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "mnist10k/mnist_base.fvecs");
  const auto dir = base_path.parent_path();
  const auto base = qtune::read_vectors(base_path);
  const auto queries = qtune::read_vectors(dir / "mnist_query.fvecs");
  const auto truth = shipped(dir / "mnist_groundtruth.ivecs", dir / "mnist_groundtruth_dist.fvecs");
  const auto r = qtune::exact_knn(base.view(), queries.view(), qtune::metric::l2, 100);
  const auto c = compare_with_shipped(r, truth, 0.0);
  EXPECT_EQ(c.bad, 0u);
  EXPECT_EQ(c.max_distance_error, 0.0);
  // Shipped = float64 brute force with ties by lower id: the same definition as ours.
  EXPECT_EQ(c.id_mismatches, 0u);
}

TEST(ground_truth_real, glove50_cosine_matches_shipped_ground_truth) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "glove50-10k/glove50_base.fvecs");
  const auto dir = base_path.parent_path();
  auto base = qtune::read_vectors(base_path);
  auto queries = qtune::read_vectors(dir / "glove50_query.fvecs");
  base.normalize_rows("glove50 base");
  queries.normalize_rows("glove50 queries");
  const auto truth = shipped(dir / "glove50_groundtruth.ivecs", dir / "glove50_groundtruth_dist.fvecs");
  const auto r = qtune::exact_knn(base.view(), queries.view(), qtune::metric::cosine, 100);
  // Normalised in float32 here, in float64 for the shipped file: distances agree to ~1e-7.
  const auto c = compare_with_shipped(r, truth, 2e-6);
  EXPECT_EQ(c.bad, 0u);
  EXPECT_LT(c.max_distance_error, 2e-6);
  EXPECT_LE(c.id_mismatches, c.positions / 1000);
}

TEST(ground_truth_real, tune_groundtruth_cli_on_sift10k) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
  const auto dir = base_path.parent_path();
  const fs::path tmp = fs::temp_directory_path() / ("qtune_gt_cli_test_" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string cmd = std::string(QTUNE_TUNE_BINARY) + " groundtruth --base " + base_path.string() +
                          " --queries " + (dir / "siftsmall_query.fvecs").string() + " --metric l2 --k 100 -o " +
                          (tmp / "gt.ivecs").string() + " --cache-dir " + (tmp / "cache").string() + " 2>&1";
  auto run = [&](std::string& out) {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    std::array<char, 512> buf{};
    while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    return pclose(p);
  };
  std::string out1, out2;
  ASSERT_EQ(run(out1), 0) << out1;
  EXPECT_NE(out1.find("nq=100"), std::string::npos) << out1;
  EXPECT_NE(out1.find("k=100"), std::string::npos) << out1;
  const auto base = qtune::read_vectors(base_path), queries = qtune::read_vectors(dir / "siftsmall_query.fvecs");
  if (qtune::exact_knn_takes_byte_pass(base.view(), queries.view(), qtune::metric::l2))
    EXPECT_NE(out1.find("pass=bytes"), std::string::npos) << out1;  // SIFT descriptors are bytes
  else
    EXPECT_NE(out1.find("pass=float32"), std::string::npos) << out1;
  ASSERT_TRUE(fs::exists(tmp / "gt.fvecs"));
  const auto r = qtune::read_knn(tmp / "gt.ivecs");
  ASSERT_EQ(r.distances.size(), 100u * 100u);
  const auto truth = shipped(dir / "siftsmall_groundtruth.ivecs", dir / "siftsmall_groundtruth_dist.fvecs");
  const auto c = compare_with_shipped(r, truth, 0.0);
  EXPECT_EQ(c.bad, 0u);
  EXPECT_LE(c.id_mismatches, 18u);
  // Second run reads the cache.
  ASSERT_EQ(run(out2), 0) << out2;
  EXPECT_NE(out2.find("cache hit"), std::string::npos) << out2;
  EXPECT_EQ(qtune::read_knn(tmp / "gt.ivecs").ids, r.ids);
  fs::remove_all(tmp);
}

// The byte pass (int8 GEMM) and the float32 pass (sgemm + float64 re-scoring) agree bit for bit
// on the byte-valued real sets.
TEST(ground_truth_real, byte_pass_equals_float_pass_on_byte_valued_sets) {
  if (qtune::active_simd_level() < qtune::simd_level::avx512 || !qtune::detail::int8_gemm_is_exact())
    GTEST_SKIP() << "no exact int8 GEMM at the active SIMD level";
  for (const char* set : {"sift10k/siftsmall_base.fvecs", "fmnist10k/fmnist_base.fvecs"}) {
    QTUNE_REQUIRE_DATA_FILE(base_path, set);
    const auto base = qtune::read_vectors(base_path);
    std::string qname = base_path.filename().string();
    qname.replace(qname.find("_base"), 5, "_query");
    const auto queries = qtune::read_vectors(base_path.parent_path() / qname);
    const qtune::matrix_view<float> q{queries.view().data, std::min<std::size_t>(queries.rows(), 300),
                                      queries.dim(), queries.view().stride};
    const auto bytes = qtune::exact_knn(base.view(), q, qtune::metric::l2, 100);
    EXPECT_TRUE(qtune::detail::last_exact_knn_stats().byte_path) << set;
    const auto floats = qtune::detail::exact_knn_with(base.view(), q, qtune::metric::l2, 100,
                                                      qtune::detail::default_blas_mode,
                                                      qtune::detail::byte_path::never);
    EXPECT_EQ(bytes.ids, floats.ids) << set;
    EXPECT_EQ(bytes.distances, floats.distances) << set;
  }
}

}  // namespace
