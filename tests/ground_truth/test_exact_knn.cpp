// exact_knn against a naive float64 brute force written independently here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ground_truth/exact_detail.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/simd.hpp"

namespace {

using qtune::knn_result;
using qtune::matrix_view;
using qtune::metric;

matrix_view<float> view_of(const std::vector<float>& x, std::size_t n, std::size_t dim, std::size_t stride = 0) {
  return {x.data(), n, dim, stride ? stride : dim};
}

// Sequential float64 sums, full sort by (distance, id): the definition of the answer.
knn_result naive_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k) {
  knn_result r;
  r.nq = queries.rows;
  r.k = k;
  r.ids.assign(r.nq * k, -1);
  r.distances.assign(r.nq * k, std::numeric_limits<float>::infinity());
  std::vector<std::pair<double, std::int32_t>> all(base.rows);
  for (std::size_t q = 0; q < queries.rows; ++q) {
    for (std::size_t j = 0; j < base.rows; ++j) {
      double s = 0;
      for (std::size_t d = 0; d < base.dim; ++d) {
        const double a = queries.row(q)[d], b = base.row(j)[d];
        s += m == metric::l2 ? (a - b) * (a - b) : a * b;
      }
      all[j] = {m == metric::l2 ? s : 1.0 - s, std::int32_t(j)};
    }
    std::sort(all.begin(), all.end());
    for (std::size_t j = 0; j < std::min(k, base.rows); ++j) {
      r.ids[q * k + j] = all[j].second;
      r.distances[q * k + j] = float(all[j].first);
    }
  }
  return r;
}

std::vector<float> random_matrix(std::size_t n, std::size_t dim, std::uint32_t seed, bool integers = false) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 2);
  std::vector<float> x(n * dim);
  for (auto& v : x) v = integers ? float(small(rng)) : normal(rng);
  return x;
}

void expect_same(const knn_result& got, const knn_result& want, const char* what) {
  ASSERT_EQ(got.nq, want.nq) << what;
  ASSERT_EQ(got.k, want.k) << what;
  for (std::size_t q = 0; q < want.nq; ++q)
    for (std::size_t j = 0; j < want.k; ++j) {
      ASSERT_EQ(got.ids_of(q)[j], want.ids_of(q)[j]) << what << ": query " << q << " position " << j;
      const float a = got.distances_of(q)[j], b = want.distances_of(q)[j];
      if (std::isinf(b)) {
        ASSERT_TRUE(std::isinf(a)) << what << ": query " << q << " position " << j;
      } else {
        ASSERT_NEAR(a, b, 1e-6 * (1.0 + std::abs(b))) << what << ": query " << q << " position " << j;
      }
    }
}

TEST(ground_truth_exact, matches_naive_on_random_data) {
  std::uint32_t seed = 1;
  for (metric m : {metric::l2, metric::ip}) {
    for (std::size_t dim : {3u, 8u, 17u, 64u, 130u}) {
      const std::size_t n = 700 + dim, nq = 37, k = 25;
      const auto base = random_matrix(n, dim, seed++);
      const auto queries = random_matrix(nq, dim, seed++);
      const auto got = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
      const auto want = naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
      SCOPED_TRACE(qtune::to_string(m) + " dim " + std::to_string(dim));
      expect_same(got, want, "random");
    }
  }
}

TEST(ground_truth_exact, many_exact_ties_are_broken_by_lower_id) {
  // Components in {0, 1, 2} at dim 3: only 27 distinct vectors among 900, so nearly every
  // distance is tied and the float32 pass cannot decide the boundary: the re-scan must.
  for (metric m : {metric::l2, metric::ip}) {
    const std::size_t n = 900, nq = 50, dim = 3, k = 40;
    const auto base = random_matrix(n, dim, 7, true);
    const auto queries = random_matrix(nq, dim, 8, true);
    const auto got = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
    EXPECT_GT(qtune::detail::last_exact_knn_stats().rescans, 0u) << "the re-scan path was not exercised";
    const auto want = naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
    expect_same(got, want, qtune::to_string(m).c_str());
  }
}

TEST(ground_truth_exact, duplicate_vectors_list_lower_id_first) {
  const std::size_t dim = 4;
  // ids 0..5; 1, 3 and 5 are the same vector, nearest to the query.
  std::vector<float> base = {5, 5, 5, 5, 1, 1, 1, 1, 9, 9, 9, 9, 1, 1, 1, 1, 3, 3, 3, 3, 1, 1, 1, 1};
  std::vector<float> query = {1, 1, 1, 1.5f};
  const auto r = qtune::exact_knn(view_of(base, 6, dim), view_of(query, 1, dim), metric::l2, 4);
  const std::vector<std::int32_t> want = {1, 3, 5, 4};
  EXPECT_EQ(std::vector<std::int32_t>(r.ids.begin(), r.ids.end()), want);
  EXPECT_FLOAT_EQ(r.distances[0], 0.25f);
  EXPECT_FLOAT_EQ(r.distances[2], 0.25f);
  EXPECT_FLOAT_EQ(r.distances[3], 4 + 4 + 4 + 1.5f * 1.5f);
}

TEST(ground_truth_exact, k_larger_than_base_pads_with_minus_one) {
  const std::size_t n = 5, nq = 3, dim = 7, k = 8;
  const auto base = random_matrix(n, dim, 11);
  const auto queries = random_matrix(nq, dim, 12);
  const auto got = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  const auto want = naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  expect_same(got, want, "padding");
  for (std::size_t q = 0; q < nq; ++q)
    for (std::size_t j = n; j < k; ++j) {
      EXPECT_EQ(got.ids_of(q)[j], -1);
      EXPECT_TRUE(std::isinf(got.distances_of(q)[j]));
    }
}

TEST(ground_truth_exact, strided_input_equals_contiguous) {
  const std::size_t n = 1000, nq = 21, dim = 33, k = 10;
  const auto base = random_matrix(n, dim, 21);
  const auto queries = random_matrix(nq, dim, 22);
  // .fvecs-like layout: one extra garbage float per row.
  auto strided = [](const std::vector<float>& x, std::size_t rows, std::size_t d) {
    std::vector<float> s(rows * (d + 1), 1e30f);
    for (std::size_t i = 0; i < rows; ++i) std::copy_n(x.data() + i * d, d, s.data() + i * (d + 1));
    return s;
  };
  const auto sb = strided(base, n, dim), sq = strided(queries, nq, dim);
  for (metric m : {metric::l2, metric::ip}) {
    const auto a = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
    const auto b = qtune::exact_knn(view_of(sb, n, dim, dim + 1), view_of(sq, nq, dim, dim + 1), m, k);
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.distances, b.distances);
  }
}

TEST(ground_truth_exact, l2_distances_are_exact_for_integer_data) {
  // Large integer components: ||q||^2 + ||x||^2 - 2 q.x in float32 would be off by units;
  // the reported distances must be the exact integers.
  const std::size_t n = 300, nq = 5, dim = 128, k = 20;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> v(0, 255);
  std::vector<float> base(n * dim), queries(nq * dim);
  for (auto& x : base) x = float(v(rng));
  for (auto& x : queries) x = float(v(rng));
  const auto r = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  for (std::size_t q = 0; q < nq; ++q)
    for (std::size_t j = 0; j < k; ++j) {
      const auto id = std::size_t(r.ids_of(q)[j]);
      long long s = 0;
      for (std::size_t d = 0; d < dim; ++d) {
        const long long diff = (long long)queries[q * dim + d] - (long long)base[id * dim + d];
        s += diff * diff;
      }
      ASSERT_EQ(double(r.distances_of(q)[j]), double(float(s))) << "query " << q << " position " << j;
      ASSERT_GE(r.distances_of(q)[j], 0.0f);
    }
}

TEST(ground_truth_exact, rejects_bad_arguments) {
  const auto base = random_matrix(10, 4, 1);
  const auto queries = random_matrix(2, 5, 2);
  EXPECT_THROW(qtune::exact_knn(view_of(base, 10, 4), view_of(queries, 2, 5), metric::l2, 3), qtune::error);
  EXPECT_THROW(qtune::exact_knn(view_of(base, 10, 4), view_of(base, 2, 4), metric::l2, 0), qtune::error);
}

TEST(ground_truth_exact, empty_inputs) {
  const auto base = random_matrix(10, 4, 1);
  const auto r = qtune::exact_knn(view_of(base, 0, 4), view_of(base, 3, 4), metric::l2, 2);
  EXPECT_EQ(r.nq, 3u);
  EXPECT_EQ(r.ids, std::vector<std::int32_t>(6, -1));
  const auto e = qtune::exact_knn(view_of(base, 10, 4), view_of(base, 0, 4), metric::ip, 2);
  EXPECT_EQ(e.nq, 0u);
  EXPECT_TRUE(e.ids.empty());
}

}  // namespace

namespace {

TEST(ground_truth_exact, f64_kernels_match_scalar_reference) {
  if (qtune::detected_simd_level() < qtune::simd_level::avx2) GTEST_SKIP() << "no AVX2 on this CPU";
  for (std::size_t dim : {1u, 3u, 7u, 8u, 9u, 31u, 130u, 784u}) {
    const auto x = random_matrix(2, dim, std::uint32_t(dim));
    const double l2 = qtune::detail::l2_f64(x.data(), x.data() + dim, dim);
    const double ip = qtune::detail::ip_f64(x.data(), x.data() + dim, dim);
    EXPECT_NEAR(qtune::detail::l2_f64_avx2(x.data(), x.data() + dim, dim), l2, 1e-12 * (1 + std::abs(l2))) << dim;
    EXPECT_NEAR(qtune::detail::ip_f64_avx2(x.data(), x.data() + dim, dim), ip, 1e-12 * (1 + std::abs(l2))) << dim;
  }
}

TEST(ground_truth_exact, scalar_level_gives_the_same_result) {
  const std::size_t n = 500, nq = 20, dim = 45, k = 30;
  const auto base = random_matrix(n, dim, 31);
  const auto queries = random_matrix(nq, dim, 32);
  const auto best = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  qtune::scoped_simd_level cap(qtune::simd_level::scalar);
  const auto scalar = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  EXPECT_EQ(best.ids, scalar.ids);
  const auto want = naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
  expect_same(scalar, want, "scalar");
}

}  // namespace

#include <oneapi/tbb/task_arena.h>

#include "ground_truth/exact_select.hpp"

namespace {

TEST(ground_truth_exact, base_slices_merge_to_the_same_answer) {
  // Few queries and four threads: the float32 pass splits the base into slices whose candidates
  // are merged per query. Ties (integer data) make some queries take the re-scan path too.
  for (bool integers : {false, true}) {
    for (metric m : {metric::l2, metric::ip}) {
      const std::size_t n = 5000, nq = 9, dim = integers ? 3 : 24, k = 50;
      const auto base = random_matrix(n, dim, 41, integers);
      const auto queries = random_matrix(nq, dim, 42, integers);
      knn_result got;
      tbb::task_arena four(4);
      four.execute([&] { got = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k); });
      const auto want = naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), m, k);
      SCOPED_TRACE(qtune::to_string(m) + (integers ? " integers" : " normal"));
      expect_same(got, want, "slices");
    }
  }
}

// Runs a filter over scores in uneven pieces; returns the kept keys (sorted) and the threshold.
std::pair<std::vector<float>, float> run_filter(decltype(&qtune::detail::topk_filter_scalar) filter,
                                                const std::vector<float>& scores, const std::vector<float>& offset,
                                                std::size_t kc) {
  const std::size_t cap = 2 * kc + 48;
  std::vector<float> keys(cap), scratch(cap);
  std::vector<std::int32_t> ids(cap);
  qtune::detail::topk_buffer b{keys.data(), ids.data(), 0, std::numeric_limits<float>::infinity()};
  for (std::size_t j0 = 0, piece = 1; j0 < scores.size(); j0 += piece, piece = piece * 3 % 97 + 1) {
    const std::size_t nb = std::min(piece, scores.size() - j0);
    filter(b, scores.data() + j0, offset.empty() ? nullptr : offset.data() + j0, nb, std::int32_t(j0), kc, cap,
           scratch.data());
  }
  qtune::detail::topk_reduce(b, kc, scratch.data());
  for (std::size_t i = 0; i < b.count; ++i) {
    const std::size_t j = std::size_t(ids[i]);
    EXPECT_EQ(keys[i], offset.empty() ? scores[j] : scores[j] + offset[j]) << "id " << j;
  }
  std::vector<float> kept(keys.begin(), keys.begin() + std::ptrdiff_t(b.count));
  std::sort(kept.begin(), kept.end());
  return {kept, b.threshold};
}

TEST(ground_truth_exact, threshold_filter_keeps_the_smallest_keys) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> small(0, 40);
  // kc = 600: a buffer past the AVX-512 cut-back's 1024 keys, which hands it to topk_reduce.
  for (const auto& [with_offset, kc] : {std::pair{false, std::size_t(37)}, std::pair{true, std::size_t(37)},
                                        std::pair{false, std::size_t(600)}}) {
    const std::size_t n = 3001;
    std::vector<float> scores(n), offset;
    for (auto& s : scores) s = float(small(rng)) - 20.0f;  // many ties, negative keys too
    for (std::size_t j = 0; j < n; j += 7)
      if (scores[j] == 0.0f) scores[j] = -0.0f;  // equal to +0 as floats, apart as bits
    if (with_offset) {
      offset.resize(n);
      for (auto& o : offset) o = float(small(rng));
    }
    std::vector<float> all(n);
    for (std::size_t j = 0; j < n; ++j) all[j] = with_offset ? scores[j] + offset[j] : scores[j];
    std::sort(all.begin(), all.end());
    const std::vector<float> want(all.begin(), all.begin() + kc);
    const auto scalar = run_filter(&qtune::detail::topk_filter_scalar, scores, offset, kc);
    EXPECT_EQ(scalar.first, want);
    EXPECT_EQ(scalar.second, want.back());
    if (qtune::detected_simd_level() >= qtune::simd_level::avx512) {
      const auto avx512 = run_filter(&qtune::detail::topk_filter_avx512, scores, offset, kc);
      EXPECT_EQ(avx512.first, want);
      EXPECT_EQ(avx512.second, want.back());
    }
  }
}

TEST(ground_truth_exact, f64_x4_kernels_are_bit_identical) {
  for (std::size_t dim : {1u, 7u, 8u, 9u, 50u, 128u, 131u, 784u}) {
    const auto x = random_matrix(5, dim, std::uint32_t(100 + dim));
    const float* rows[4] = {x.data() + dim, x.data() + 2 * dim, x.data() + 3 * dim, x.data() + 4 * dim};
    double l2[4], ip[4];
    qtune::detail::l2_f64_x4(x.data(), rows, dim, l2);
    qtune::detail::ip_f64_x4(x.data(), rows, dim, ip);
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(l2[r], qtune::detail::l2_f64(x.data(), rows[r], dim)) << dim;
      EXPECT_EQ(ip[r], qtune::detail::ip_f64(x.data(), rows[r], dim)) << dim;
    }
    if (qtune::detected_simd_level() < qtune::simd_level::avx2) continue;
    qtune::detail::l2_f64_avx2_x4(x.data(), rows, dim, l2);
    qtune::detail::ip_f64_avx2_x4(x.data(), rows, dim, ip);
    for (int r = 0; r < 4; ++r) {
      EXPECT_EQ(l2[r], qtune::detail::l2_f64_avx2(x.data(), rows[r], dim)) << dim;
      EXPECT_EQ(ip[r], qtune::detail::ip_f64_avx2(x.data(), rows[r], dim)) << dim;
    }
  }
}

}  // namespace

// ---- the byte pass (exact_bytes.hpp) ------------------------------------------------------

#include "ground_truth/exact_bytes.hpp"

namespace {

bool byte_pass_available() {
  return qtune::active_simd_level() >= qtune::simd_level::avx512 && qtune::detail::int8_gemm_is_exact();
}

// Integer components in [lo, lo + span], with repeated rows so that ties reach past kc.
std::vector<float> integer_matrix(std::size_t n, std::size_t dim, int lo, int span, std::uint32_t seed,
                                  std::size_t distinct_rows = 0) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> v(lo, lo + span);
  std::vector<float> x(n * dim);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t d = 0; d < dim; ++d)
      x[i * dim + d] = distinct_rows && i >= distinct_rows ? x[(i % distinct_rows) * dim + d] : float(v(rng));
  return x;
}

TEST(ground_truth_bytes, window_takes_integers_within_256_values) {
  auto x = integer_matrix(40, 9, -300, 255, 1);
  const auto v = view_of(x, 40, 9);
  const auto c = qtune::detail::byte_window(v, view_of(x, 3, 9));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, *std::min_element(x.begin(), x.end()));
  for (qtune::simd_level level : {qtune::simd_level::scalar, qtune::simd_level::avx512}) {
    if (level > qtune::detected_simd_level()) continue;
    qtune::scoped_simd_level cap(level);
    SCOPED_TRACE(qtune::to_string(level));
    EXPECT_TRUE(qtune::detail::byte_window(v, v).has_value());
    auto y = x;
    y[77] = 0.5f;  // a fraction
    EXPECT_FALSE(qtune::detail::byte_window(view_of(y, 40, 9), v).has_value());
    y = x;
    y[5] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_FALSE(qtune::detail::byte_window(v, view_of(y, 40, 9)).has_value());
    y[5] = std::numeric_limits<float>::infinity();
    EXPECT_FALSE(qtune::detail::byte_window(v, view_of(y, 40, 9)).has_value());
    y[5] = 3e9f;  // an integer, but beyond 2^24
    EXPECT_FALSE(qtune::detail::byte_window(view_of(y, 40, 9), v).has_value());
    y = x;
    y[359] = *c + 256.0f;  // 257 values
    EXPECT_FALSE(qtune::detail::byte_window(view_of(y, 40, 9), v).has_value());
  }
}

TEST(ground_truth_bytes, rows_are_shifted_with_their_sums) {
  const std::size_t n = 7, dim = 37;  // a tail past 16 lanes
  const auto x = integer_matrix(n, dim, 1000, 255, 2);
  const float c = 1000.0f;
  for (qtune::simd_level level : {qtune::simd_level::scalar, qtune::simd_level::avx512}) {
    if (level > qtune::detected_simd_level()) continue;
    qtune::scoped_simd_level cap(level);
    for (int bias : {0, 128}) {
      const auto r = qtune::detail::to_bytes(view_of(x, n, dim), c, bias);
      for (std::size_t i = 0; i < n; ++i) {
        std::int64_t norm = 0, sum = 0;
        for (std::size_t d = 0; d < dim; ++d) {
          const int u = int(x[i * dim + d] - c);
          norm += u * u;
          sum += u;
          const int stored = bias ? int(std::int8_t(r.bytes[i * dim + d])) : int(r.bytes[i * dim + d]);
          ASSERT_EQ(stored, u - bias) << qtune::to_string(level) << " row " << i << " dim " << d;
        }
        EXPECT_EQ(r.norm[i], norm);
        EXPECT_EQ(r.sum[i], sum);
      }
    }
  }
}

TEST(ground_truth_bytes, int8_gemm_equals_integer_reference) {
  if (!qtune::detail::int8_gemm_is_exact()) GTEST_SKIP() << "oneDNN's int8 GEMM is not exact on this CPU (no VNNI)";
  const std::size_t m = 13, n = 70, k = 300;
  std::mt19937 rng(9);
  std::vector<std::uint8_t> a(m * k);
  std::vector<std::int8_t> b(n * k);
  for (auto& v : a) v = std::uint8_t(rng());
  for (auto& v : b) v = std::int8_t(rng());
  std::vector<std::int32_t> c(m * n);
  qtune::detail::int8_gemm(a.data(), k, b.data(), k, m, n, k, c.data(), n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      std::int32_t want = 0;
      for (std::size_t t = 0; t < k; ++t) want += std::int32_t(a[i * k + t]) * std::int32_t(b[j * k + t]);
      ASSERT_EQ(c[i * n + j], want) << i << "," << j;
    }
}

TEST(ground_truth_bytes, byte_pass_equals_float_pass_and_naive) {
  if (!byte_pass_available()) GTEST_SKIP() << "no exact int8 GEMM at the active SIMD level";
  // Three windows (u8-like, s8-like, far from zero); duplicated rows make ties past kc, so some
  // queries take the byte pass's re-scan; four threads split the base into slices.
  for (int lo : {0, -128, -5000}) {
    const std::size_t n = 4000, nq = 25, dim = 20, k = 45;  // the 45th sits inside a group of 20 copies
    const auto base = integer_matrix(n, dim, lo, 255, 50 + std::uint32_t(-lo), 200);
    const auto queries = integer_matrix(nq, dim, lo, 255, 60);
    knn_result bytes, floats;
    std::size_t rescans = 0;
    tbb::task_arena four(4);
    four.execute([&] {
      bytes = qtune::exact_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k);
      ASSERT_TRUE(qtune::detail::last_exact_knn_stats().byte_path);
      rescans = qtune::detail::last_exact_knn_stats().rescans;
      floats = qtune::detail::exact_knn_with(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k,
                                             qtune::detail::default_blas_mode, qtune::detail::byte_path::never);
      ASSERT_FALSE(qtune::detail::last_exact_knn_stats().byte_path);
    });
    SCOPED_TRACE("window from " + std::to_string(lo));
    EXPECT_EQ(bytes.ids, floats.ids);
    EXPECT_EQ(bytes.distances, floats.distances);  // bit for bit: both are exact
    expect_same(bytes, naive_knn(view_of(base, n, dim), view_of(queries, nq, dim), metric::l2, k), "naive");
    EXPECT_GT(rescans, 0u) << "the ties were meant to reach past kc";
  }
}

TEST(ground_truth_bytes, not_taken_where_it_does_not_apply) {
  const std::size_t n = 300, nq = 4, dim = 8, k = 5;
  const auto ints = integer_matrix(n, dim, 0, 255, 70);
  auto wide = ints;
  wide[3] = 256.0f;  // 257 values
  const auto normal = random_matrix(n, dim, 71);
  auto taken = [&](const std::vector<float>& x, metric m) {
    const std::uint64_t byte_passes_before = qtune::exact_knn_byte_pass_count();
    qtune::exact_knn(view_of(x, n, dim), view_of(x, nq, dim), m, k);
    const bool took = qtune::detail::last_exact_knn_stats().byte_path;
    EXPECT_EQ(qtune::exact_knn_takes_byte_pass(view_of(x, n, dim), view_of(x, nq, dim), m), took);
    EXPECT_EQ(qtune::exact_knn_byte_pass_count() - byte_passes_before, took ? 1u : 0u);
    return took;
  };
  EXPECT_EQ(taken(ints, metric::l2), byte_pass_available());
  EXPECT_FALSE(taken(wide, metric::l2));
  EXPECT_FALSE(taken(normal, metric::l2));
  EXPECT_FALSE(taken(ints, metric::ip));  // inner products keep the float32 pass
  qtune::scoped_simd_level cap(qtune::simd_level::avx2);
  EXPECT_FALSE(taken(ints, metric::l2));
}

TEST(ground_truth_bytes, i32_threshold_filter_keeps_the_smallest_keys) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> small(-30, 30);
  const std::size_t n = 3001, kc = 37, cap = 2 * kc + 48;
  std::vector<std::int32_t> dots(n), norms(n), all(n);
  for (std::size_t j = 0; j < n; ++j) {
    dots[j] = small(rng);
    norms[j] = small(rng) + 1000;
    all[j] = norms[j] - 2 * dots[j];
  }
  std::sort(all.begin(), all.end());
  const std::vector<std::int32_t> want(all.begin(), all.begin() + kc);
  using filter_fn = decltype(&qtune::detail::topk_filter_i32_scalar);
  std::vector<filter_fn> filters{&qtune::detail::topk_filter_i32_scalar};
  if (qtune::detected_simd_level() >= qtune::simd_level::avx512) filters.push_back(&qtune::detail::topk_filter_i32_avx512);
  for (filter_fn filter : filters) {
    std::vector<std::int32_t> keys(cap), ids(cap), scratch(cap);
    qtune::detail::topk_buffer_i32 b{keys.data(), ids.data(), 0, std::numeric_limits<std::int32_t>::max()};
    for (std::size_t j0 = 0, piece = 1; j0 < n; j0 += piece, piece = piece * 3 % 97 + 1) {
      const std::size_t nb = std::min(piece, n - j0);
      filter(b, dots.data() + j0, norms.data() + j0, nb, std::int32_t(j0), kc, cap, scratch.data());
    }
    qtune::detail::topk_reduce(b, kc, scratch.data());
    for (std::size_t i = 0; i < b.count; ++i) {
      const std::size_t j = std::size_t(ids[i]);
      EXPECT_EQ(keys[i], norms[j] - 2 * dots[j]) << "id " << j;
    }
    std::vector<std::int32_t> kept(keys.begin(), keys.begin() + std::ptrdiff_t(b.count));
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(kept, want);
    EXPECT_EQ(b.threshold, want.back());
  }
}

}  // namespace

namespace {

// topk_reduce's contract, for the scalar and the AVX-512 cut-back: exactly kc kept, their keys
// the kc smallest, every id still with its own key, threshold the kc-th smallest key.
template <class Key, class Reduce>
void check_reduce(Reduce reduce, const std::vector<Key>& input, std::size_t kc, const char* what) {
  std::vector<Key> keys = input, scratch(input.size());
  std::vector<std::int32_t> ids(input.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t(i);
  qtune::detail::topk_buffer_of<Key> b{keys.data(), ids.data(), input.size(), Key(0)};
  reduce(b, kc, scratch.data());
  std::vector<Key> sorted = input;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(b.count, kc) << what;
  std::vector<Key> kept(keys.begin(), keys.begin() + std::ptrdiff_t(kc));
  for (std::size_t i = 0; i < kc; ++i) ASSERT_EQ(kept[i], input[std::size_t(ids[i])]) << what << " slot " << i;
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, std::vector<Key>(sorted.begin(), sorted.begin() + std::ptrdiff_t(kc))) << what;
  EXPECT_EQ(b.threshold, sorted[kc - 1]) << what;
  std::sort(ids.begin(), ids.begin() + std::ptrdiff_t(kc));
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.begin() + std::ptrdiff_t(kc)), ids.begin() + std::ptrdiff_t(kc))
      << what << ": an id kept twice";
}

TEST(ground_truth_exact, cut_back_keeps_exactly_the_kc_smallest) {
  std::mt19937 rng(12);
  const bool avx512 = qtune::detected_simd_level() >= qtune::simd_level::avx512;
  for (std::size_t count : {1u, 15u, 16u, 17u, 100u, 272u, 1024u, 1500u}) {
    for (int spread : {3, 1000, 1 << 30}) {  // heavy ties .. all distinct
      std::uniform_int_distribution<int> v(-spread, spread);
      std::vector<float> f(count);
      std::vector<std::int32_t> i(count);
      for (std::size_t j = 0; j < count; ++j) {
        i[j] = v(rng);
        f[j] = spread > 1000 ? float(i[j]) * 1e-6f : float(i[j]);
        if (f[j] == 0.0f && j % 2) f[j] = -0.0f;
      }
      for (std::size_t kc : {std::size_t(1), count / 3 + 1, count}) {
        if (kc > count) continue;
        const std::string what = "count " + std::to_string(count) + " spread " + std::to_string(spread) + " kc " +
                                 std::to_string(kc);
        using qtune::detail::topk_buffer;
        using qtune::detail::topk_buffer_i32;
        check_reduce<float>([](topk_buffer& b, std::size_t k, float* s) { qtune::detail::topk_reduce(b, k, s); }, f,
                            kc, ("scalar float " + what).c_str());
        check_reduce<std::int32_t>(
            [](topk_buffer_i32& b, std::size_t k, std::int32_t* s) { qtune::detail::topk_reduce(b, k, s); }, i, kc,
            ("scalar int " + what).c_str());
        if (!avx512) continue;
        check_reduce<float>(
            [](topk_buffer& b, std::size_t k, float* s) { qtune::detail::topk_reduce_avx512(b, k, s); }, f, kc,
            ("avx512 float " + what).c_str());
        check_reduce<std::int32_t>(
            [](topk_buffer_i32& b, std::size_t k, std::int32_t* s) { qtune::detail::topk_reduce_avx512(b, k, s); },
            i, kc, ("avx512 int " + what).c_str());
      }
    }
  }
}

}  // namespace
