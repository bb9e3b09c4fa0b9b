// Issue 14: non-finite and huge-but-finite values. NaN/Inf are refused by every reader and by the
// library's build_index / add_vectors / search; finite values beyond +-max_abs_value (1e15) are
// refused too, because float32 distances over them overflow (+-3e38 gave NaN errors, "recall 1.0"
// and ids -1). Zero vectors under cosine are an error (the documented policy).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "dataset/dataset_test_util.hpp"
#include "qtune/qtune.hpp"
#include "report/report_test_util.hpp"

using namespace qtune;
using qtune::testing::expect_error;
using qtune::testing::temp_dir;

namespace {

constexpr float inf = std::numeric_limits<float>::infinity();
const float bad_values[] = {std::numeric_limits<float>::quiet_NaN(), inf, -inf, 3e38f, -3e38f, 2e15f};

std::vector<float> rows_with(float v, std::size_t rows = 4, std::size_t dim = 3) {
  std::vector<float> x(rows * dim);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 5);
  x[2 * dim + 1] = v;  // vector 2, column 1
  return x;
}

std::string why(float v) { return std::isfinite(v) ? "outside [-1e15, 1e15]" : "expected a finite value"; }

}  // namespace

TEST(dataset_values, every_float_reader_refuses_nonfinite_and_huge_values) {
  temp_dir tmp;
  for (float v : bad_values) {
    SCOPED_TRACE(v);
    const auto x = rows_with(v);
    const matrix_view<float> view{x.data(), 4, 3, 3};
    write_fvecs(tmp / "x.fvecs", view);
    expect_error([&] { read_vectors(tmp / "x.fvecs"); }, {"x.fvecs", "vector 2 column 1", why(v)});
    write_npy(tmp / "x.npy", view);
    expect_error([&] { read_vectors(tmp / "x.npy"); }, {"x.npy", "vector 2 column 1", why(v)});
    ann_dataset ds;
    ds.train = vectors(x, 4, 3);
    ds.test = vectors(std::vector<float>(3, 1.f), 1, 3);
    ds.neighbors = int_matrix{{0}, 1, 1};
    write_ann_hdf5(tmp / "x.hdf5", ds);
    expect_error([&] { read_vectors(tmp / "x.hdf5"); }, {"x.hdf5", "vector 2 column 1", why(v)});
    expect_error([&] { read_ann_hdf5(tmp / "x.hdf5"); }, {"x.hdf5", "vector 2 column 1", why(v)});
    // ground-truth distances are read by the same readers
    write_fvecs(tmp / "q.fvecs", {x.data(), 1, 3, 3});
    write_ivecs(tmp / "gt.ivecs", int_matrix{{0, 1, 2, 3}, 1, 4});
    write_fvecs(tmp / "gtd.fvecs", {x.data() + 3, 1, 3, 3});
    write_fvecs(tmp / "ok.fvecs", {x.data(), 2, 3, 3});
    // Distances are not vectors: only NaN/Inf are refused there (padding is stored as FLT_MAX).
    if (!std::isfinite(v)) {
      auto d = rows_with(0);
      d[1] = v;
      write_fvecs(tmp / "gtd.fvecs", {d.data(), 1, 3, 3});
      expect_error([&] { load_dataset(tmp / "ok.fvecs", tmp / "q.fvecs", {}, tmp / "gtd.fvecs", metric::l2); },
                   {"gtd.fvecs", "vector 0 column 1"});
    }
  }
  // float16 has no value beyond 65504, but it has inf and NaN
  for (std::uint16_t h : {std::uint16_t(0x7c00), std::uint16_t(0xfc00), std::uint16_t(0x7e00)}) {
    std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    std::string dict = "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }";
    while ((10 + dict.size() + 1) % 64) dict.push_back(' ');
    dict.push_back('\n');
    qtune::testing::append(b, std::uint16_t(dict.size()));
    b.insert(b.end(), dict.begin(), dict.end());
    for (std::uint16_t v : {std::uint16_t(0x3c00), std::uint16_t(0x3c00), std::uint16_t(0x3c00), h})
      qtune::testing::append(b, v);
    qtune::testing::write_bytes(tmp / "h.npy", b);
    expect_error([&] { read_vectors(tmp / "h.npy"); }, {"h.npy", "vector 1 column 1", "expected a finite value"});
  }
  // the largest accepted magnitude loads
  const auto ok = rows_with(-1e15f);
  write_fvecs(tmp / "edge.fvecs", {ok.data(), 4, 3, 3});
  EXPECT_EQ(read_vectors(tmp / "edge.fvecs").row(2)[1], -1e15f);
}

TEST(dataset_values, library_build_add_and_search_refuse_nonfinite_and_huge_values) {
  recommended_params p;
  p.dim = 3;
  p.config.codec = "fp32";
  p.config.m = 4;
  p.config.ef_construction = 16;
  p.config.threads = 1;
  const auto good = rows_with(1.f, 50);
  for (float v : bad_values) {
    SCOPED_TRACE(v);
    const auto x = rows_with(v);
    expect_error([&] { build_index(p, {x.data(), 4, 3, 3}); }, {"base row 2 column 1"});
    auto idx = build_index(p, {good.data(), 50, 3, 3});
    expect_error([&] { add_vectors(*idx, {x.data(), 4, 3, 3}); }, {"added vector row 2 column 1"});
    EXPECT_EQ(idx->size(), 50u);
    expect_error([&] { search(*idx, {x.data(), 4, 3, 3}, 2); }, {"query row 2 column 1"});
    std::int32_t ids[2];
    float d[2];
    expect_error([&] { search_into(*idx, x.data() + 6, 2, 0, ids, d); }, {"query row 0 column 1"});
  }
}

TEST(dataset_values, zero_vectors_under_cosine_are_an_error) {
  temp_dir tmp;
  auto x = rows_with(1.f);
  for (int j = 0; j < 3; ++j) x[2 * 3 + j] = 0;
  write_fvecs(tmp / "z.fvecs", {x.data(), 4, 3, 3});
  write_fvecs(tmp / "q.fvecs", {x.data(), 2, 3, 3});
  expect_error([&] { load_dataset(tmp / "z.fvecs", tmp / "q.fvecs", {}, {}, metric::cosine); },
               {"z.fvecs", "vector 2", "zero"});
  recommended_params p;
  p.dim = 3;
  p.config.distance = metric::cosine;
  p.config.m = 4;
  p.config.threads = 1;
  expect_error([&] { build_index(p, {x.data(), 4, 3, 3}); }, {"base row 2 is a zero vector"});
  const auto good = rows_with(1.f, 20);
  auto idx = build_index(p, {good.data(), 20, 3, 3});
  std::int32_t ids[2];
  float d[2];
  expect_error([&] { search_into(*idx, x.data() + 6, 2, 0, ids, d); }, {"query row 0 is a zero vector"});
}

// codec-eval and groundtruth: huge values are refused when read (they gave NaN errors with
// "recall 1.0", and ids -1); k larger than the base is an error, and k = 10^8 returns at once.
TEST(dataset_values, codec_eval_and_groundtruth_refuse_huge_values_and_k_beyond_the_base) {
  temp_dir tmp;
  using qtune::testing::tune;
  const auto huge = rows_with(3e38f, 40, 4);
  const auto fine = rows_with(1.f, 40, 4);
  write_fvecs(tmp / "huge.fvecs", {huge.data(), 40, 4, 4});
  write_fvecs(tmp / "base.fvecs", {fine.data(), 40, 4, 4});
  write_fvecs(tmp / "q.fvecs", {fine.data(), 5, 4, 4});
  const std::string b = (tmp / "base.fvecs").string(), q = (tmp / "q.fvecs").string(),
                    h = (tmp / "huge.fvecs").string(), cache = (tmp / "cache").string();
  auto r = tune("codec-eval --codec sq8 --base " + h + " --queries " + q);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("outside [-1e15, 1e15]"), std::string::npos) << r.out;
  r = tune("groundtruth --base " + h + " --queries " + q + " --output " + (tmp / "gt.ivecs").string() + " --cache-dir " + cache);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("outside [-1e15, 1e15]"), std::string::npos) << r.out;
  r = tune("codec-eval --codec sq8 -k 41 --base " + b + " --queries " + q);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("k = 41 is larger than the base (40 vectors)"), std::string::npos) << r.out;
  const auto t0 = std::chrono::steady_clock::now();
  r = tune("codec-eval --codec sq8 -k 100000000 --base " + b + " --queries " + q);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("is larger than the base"), std::string::npos) << r.out;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
  r = tune("groundtruth -k 41 --base " + b + " --queries " + q + " --output " + (tmp / "gt.ivecs").string() + " --cache-dir " + cache);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("k = 41 is larger than the base"), std::string::npos) << r.out;
  r = tune("codec-eval --codec sq8 -k 40 --base " + b + " --queries " + q);
  EXPECT_EQ(r.code, 0) << r.out;
}
