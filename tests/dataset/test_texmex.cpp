#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dataset/dataset_test_util.hpp"
#include "qtune/dataset.hpp"

using namespace qtune;
using qtune::testing::append;
using qtune::testing::expect_error;
using qtune::testing::temp_dir;
using qtune::testing::write_bytes;

namespace {
vectors ramp(std::size_t rows, std::size_t dim) {
  std::vector<float> v(rows * dim);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float(i % 97) * 0.5f - 7.25f;
  return vectors(std::move(v), rows, dim);
}

/// A TEXMEX file whose row headers are `dims` and values are zero floats of 4 bytes.
std::vector<std::uint8_t> texmex_bytes(const std::vector<std::int32_t>& dims, std::size_t value_bytes = 4) {
  std::vector<std::uint8_t> b;
  for (std::int32_t d : dims) {
    append(b, d);
    b.insert(b.end(), std::size_t(std::max(d, 0)) * value_bytes, 0);
  }
  return b;
}
}  // namespace

TEST(dataset_texmex, fvecs_round_trip_is_a_strided_mapped_view) {
  temp_dir tmp;
  const vectors x = ramp(37, 13);
  write_fvecs(tmp / "x.fvecs", x.view());
  EXPECT_EQ(std::filesystem::file_size(tmp / "x.fvecs"), 37u * (4 + 13 * 4));
  const vectors y = read_vectors(tmp / "x.fvecs");
  ASSERT_EQ(y.rows(), 37u);
  ASSERT_EQ(y.dim(), 13u);
  EXPECT_TRUE(y.is_mapped());
  EXPECT_EQ(y.view().stride, 14u);
  EXPECT_FALSE(y.view().contiguous());
  for (std::size_t i = 0; i < 37; ++i)
    for (std::size_t j = 0; j < 13; ++j) ASSERT_EQ(y.row(i)[j], x.row(i)[j]) << i << "," << j;
  EXPECT_EQ(content_hash(y.view()), content_hash(x.view()));
  // A strided view writes back to the identical file.
  write_fvecs(tmp / "y.fvecs", y.view());
  EXPECT_EQ(file_hash(tmp / "y.fvecs"), file_hash(tmp / "x.fvecs"));
}

TEST(dataset_texmex, max_rows_reads_a_prefix) {
  temp_dir tmp;
  const vectors x = ramp(10, 4);
  write_fvecs(tmp / "x.fvecs", x.view());
  read_options opt;
  opt.max_rows = 3;
  const vectors y = read_vectors(tmp / "x.fvecs", opt);
  EXPECT_EQ(y.rows(), 3u);
  EXPECT_EQ(y.row(2)[3], x.row(2)[3]);
}

TEST(dataset_texmex, ivecs_round_trip) {
  temp_dir tmp;
  int_matrix ids;
  ids.rows = 5;
  ids.dim = 7;
  for (int i = 0; i < 35; ++i) ids.values.push_back(i * 1000 - 3);
  write_ivecs(tmp / "gt.ivecs", ids);
  const int_matrix back = read_ids(tmp / "gt.ivecs");
  EXPECT_EQ(back.rows, 5u);
  EXPECT_EQ(back.dim, 7u);
  EXPECT_EQ(back.values, ids.values);
  EXPECT_EQ(back.row(4)[6], 34 * 1000 - 3);
  // read_vectors accepts .ivecs too (values as float).
  const vectors f = read_vectors(tmp / "gt.ivecs");
  EXPECT_EQ(f.row(1)[0], float(7 * 1000 - 3));
}

TEST(dataset_texmex, bvecs_round_trip_converts_to_heap) {
  temp_dir tmp;
  std::vector<std::uint8_t> b(6 * 9);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::uint8_t(i * 5);
  write_bvecs(tmp / "x.bvecs", {b.data(), 6, 9, 9});
  const vectors y = read_vectors(tmp / "x.bvecs");
  EXPECT_FALSE(y.is_mapped());
  ASSERT_EQ(y.rows(), 6u);
  ASSERT_EQ(y.dim(), 9u);
  for (std::size_t i = 0; i < b.size(); ++i) ASSERT_EQ(y.row(i / 9)[i % 9], float(b[i]));
}

TEST(dataset_texmex, writer_replaces_atomically_and_leaves_no_temporary) {
  temp_dir tmp;
  write_fvecs(tmp / "x.fvecs", ramp(2, 3).view());
  write_fvecs(tmp / "x.fvecs", ramp(4, 3).view());
  EXPECT_EQ(read_vectors(tmp / "x.fvecs").rows(), 4u);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
}

TEST(dataset_texmex, empty_file_is_an_error) {
  temp_dir tmp;
  write_bytes(tmp / "empty.fvecs", {});
  expect_error([&] { read_vectors(tmp / "empty.fvecs"); }, {"empty.fvecs", "empty"});
}

TEST(dataset_texmex, truncated_file_names_the_incomplete_vector) {
  temp_dir tmp;
  auto b = texmex_bytes({4, 4, 4});
  b.resize(b.size() - 3);
  write_bytes(tmp / "t.fvecs", b);
  expect_error([&] { read_vectors(tmp / "t.fvecs"); }, {"t.fvecs", "truncated", "vector 2", "byte offset 40"});
  write_bytes(tmp / "t.ivecs", b);
  expect_error([&] { read_ids(tmp / "t.ivecs"); }, {"t.ivecs", "truncated", "vector 2"});
}

TEST(dataset_texmex, changing_dimension_names_row_and_both_dims) {
  temp_dir tmp;
  write_bytes(tmp / "d.fvecs", texmex_bytes({4, 4, 4, 5, 4, 3}));  // sizes add up: 5 + 3 = 4 + 4
  expect_error([&] { read_vectors(tmp / "d.fvecs"); }, {"d.fvecs", "vector 3", "dimension 5", "expected 4"});
  write_bytes(tmp / "d.bvecs", texmex_bytes({8, 8, 7}, 1));  // not a multiple either: header check first
  expect_error([&] { read_vectors(tmp / "d.bvecs"); }, {"d.bvecs", "vector 2", "dimension 7", "expected 8"});
}

TEST(dataset_texmex, zero_negative_and_absurd_dimensions) {
  temp_dir tmp;
  write_bytes(tmp / "z.fvecs", texmex_bytes({0}));
  expect_error([&] { read_vectors(tmp / "z.fvecs"); }, {"z.fvecs", "vector 0", "dimension is 0"});
  std::vector<std::uint8_t> neg;
  append(neg, std::int32_t(-5));
  append(neg, 0.0f);
  write_bytes(tmp / "n.fvecs", neg);
  expect_error([&] { read_vectors(tmp / "n.fvecs"); }, {"n.fvecs", "dimension is -5"});
  write_bytes(tmp / "big.fvecs", texmex_bytes({64}));
  read_options opt;
  opt.max_dim = 32;
  expect_error([&] { read_vectors(tmp / "big.fvecs", opt); }, {"big.fvecs", "dimension is 64", "max_dim"});
}

TEST(dataset_texmex, nan_and_inf_name_row_and_column) {
  temp_dir tmp;
  std::vector<float> v(3 * 4, 1.0f);
  v[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  write_fvecs(tmp / "nan.fvecs", {v.data(), 3, 4, 4});
  expect_error([&] { read_vectors(tmp / "nan.fvecs"); }, {"nan.fvecs", "vector 2", "column 1"});
  v[2 * 4 + 1] = 1.0f;
  v[0 * 4 + 3] = -std::numeric_limits<float>::infinity();
  write_fvecs(tmp / "inf.fvecs", {v.data(), 3, 4, 4});
  expect_error([&] { read_vectors(tmp / "inf.fvecs"); }, {"inf.fvecs", "vector 0", "column 3", "inf"});
}

TEST(dataset_texmex, unknown_extension_is_an_error_naming_the_file) {
  temp_dir tmp;
  write_bytes(tmp / "x.csv", {1, 2, 3});
  expect_error([&] { read_vectors(tmp / "x.csv"); }, {"x.csv", ".fvecs"});
  expect_error([&] { read_vectors(tmp / "missing.fvecs"); }, {"missing.fvecs", "cannot open"});
}
