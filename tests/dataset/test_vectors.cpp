#include <gtest/gtest.h>

#include <cmath>

#include "dataset/dataset_test_util.hpp"
#include "qtune/dataset.hpp"

using namespace qtune;
using qtune::testing::expect_error;
using qtune::testing::temp_dir;

namespace {
vectors make(std::size_t rows, std::size_t dim) {
  std::vector<float> v(rows * dim);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i) + 1;
  return vectors(std::move(v), rows, dim);
}
}  // namespace

TEST(dataset_vectors, slice_and_select_copy_rows) {
  const vectors x = make(6, 3);
  const vectors s = x.slice(2, 5);
  ASSERT_EQ(s.rows(), 3u);
  EXPECT_EQ(s.row(0)[0], 7.0f);
  EXPECT_EQ(s.row(2)[2], 15.0f);
  const vectors t = x.select({5, 0, 5});
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.row(0)[1], 17.0f);
  EXPECT_EQ(t.row(1)[0], 1.0f);
  expect_error([&] { x.slice(4, 7); }, {"slice", "7"});
  expect_error([&] { x.select({1, 6}); }, {"select", "id 6", "position 1"});
  expect_error([&] { vectors(std::vector<float>(5), 2, 3); }, {"5", "6"});
}

TEST(dataset_vectors, move_keeps_rows_valid) {
  vectors a = make(4, 2);
  const float* p = a.row(3);
  vectors b = std::move(a);
  EXPECT_EQ(b.row(3), p);
  EXPECT_EQ(a.rows(), 0u);
  vectors c;
  EXPECT_EQ(c.rows(), 0u);
  EXPECT_FALSE(c.is_mapped());
  c = std::move(b);
  EXPECT_EQ(c.row(3)[1], 8.0f);
}

TEST(dataset_vectors, normalize_rows_copies_a_mapping_and_names_zero_rows) {
  temp_dir tmp;
  std::vector<float> v = {3, 4, 0, 0, 1, 0, 0, 2, 2};
  write_fvecs(tmp / "x.fvecs", {v.data(), 3, 3, 3});
  vectors x = read_vectors(tmp / "x.fvecs");
  ASSERT_TRUE(x.is_mapped());
  x.normalize_rows("x.fvecs");
  EXPECT_FALSE(x.is_mapped());
  EXPECT_TRUE(x.view().contiguous());
  EXPECT_FLOAT_EQ(x.row(0)[0], 0.6f);
  EXPECT_FLOAT_EQ(x.row(0)[1], 0.8f);
  EXPECT_FLOAT_EQ(x.row(2)[2], float(1 / std::sqrt(2.0)));
  std::vector<float> z = {1, 2, 0, 0, 5, 5};
  vectors y(z, 3, 2);
  expect_error([&] { y.normalize_rows("base.fvecs"); }, {"base.fvecs", "vector 1", "zero"});
  EXPECT_EQ(y.row(0)[1], 2.0f);  // untouched after the failure
}

TEST(dataset_vectors, content_and_file_hash_are_stable) {
  temp_dir tmp;
  const vectors x = make(3, 4);
  const std::string h = content_hash(x.view());
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  // Same values, different shape -> different hash; one changed value -> different hash.
  EXPECT_NE(content_hash({x.view().data, 4, 3, 3}), h);
  std::vector<float> v(x.row(0), x.row(0) + 12);
  v[11] += 1;
  EXPECT_NE(content_hash({v.data(), 3, 4, 4}), h);
  // Known values of XXH3-64 (seed 0), as xxhsum -H3 prints them.
  EXPECT_EQ(content_hash({nullptr, 0, 0, 0}), content_hash({nullptr, 0, 0, 0}));
  qtune::testing::write_bytes(tmp / "a", {'a'});
  EXPECT_EQ(file_hash(tmp / "a"), "e6c632b61e964e1f");  // XXH3-64 of "a"
  qtune::testing::write_bytes(tmp / "e", {});
  EXPECT_EQ(file_hash(tmp / "e"), "2d06800538d394c2");  // XXH3-64 of nothing
  expect_error([&] { file_hash(tmp / "nope"); }, {"nope"});
}

TEST(dataset_vectors, load_dataset_normalises_cosine_and_checks_ground_truth) {
  temp_dir tmp;
  const std::vector<float> b = {3, 4, 0, 2, 1, 1};
  const std::vector<float> q = {0, 5};
  write_fvecs(tmp / "b.fvecs", {b.data(), 3, 2, 2});
  write_fvecs(tmp / "q.fvecs", {q.data(), 1, 2, 2});
  int_matrix gt;
  gt.rows = 1;
  gt.dim = 2;
  gt.values = {1, 2};
  write_ivecs(tmp / "gt.ivecs", gt);
  loaded_dataset d = load_dataset(tmp / "b.fvecs", tmp / "q.fvecs", tmp / "gt.ivecs", {}, metric::cosine);
  EXPECT_EQ(d.distance, metric::cosine);
  EXPECT_FLOAT_EQ(d.base.row(0)[1], 0.8f);
  EXPECT_FLOAT_EQ(d.queries.row(0)[1], 1.0f);
  ASSERT_TRUE(d.ground_truth.has_value());
  EXPECT_EQ(d.ground_truth->values, gt.values);
  EXPECT_EQ(d.base_hash.size(), 16u);
  // With max_base = 2, id 2 falls outside the base.
  expect_error([&] { load_dataset(tmp / "b.fvecs", tmp / "q.fvecs", tmp / "gt.ivecs", {}, metric::l2, 2); },
               {"gt.ivecs", "vector 0", "column 1", "id 2"});
  const std::vector<float> q3 = {0, 5, 1};
  write_fvecs(tmp / "q3.fvecs", {q3.data(), 1, 3, 3});
  expect_error([&] { load_dataset(tmp / "b.fvecs", tmp / "q3.fvecs", {}, {}, metric::l2); },
               {"q3.fvecs", "dimension 3", "expected 2"});
  const std::vector<float> z = {0, 0};
  write_fvecs(tmp / "z.fvecs", {z.data(), 1, 2, 2});
  expect_error([&] { load_dataset(tmp / "z.fvecs", tmp / "q.fvecs", {}, {}, metric::cosine); }, {"z.fvecs", "vector 0"});
}
