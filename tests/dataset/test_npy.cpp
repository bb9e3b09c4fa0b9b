#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "dataset/dataset_test_util.hpp"
#include "qtune/dataset.hpp"
#include "util/npy_header.hpp"

using namespace qtune;
using qtune::testing::append;
using qtune::testing::expect_error;
using qtune::testing::read_bytes;
using qtune::testing::temp_dir;
using qtune::testing::write_bytes;

namespace {
/// A hand-written .npy: magic, version major.0, header (padded so data starts at `align`) and data.
std::vector<std::uint8_t> npy_bytes(int major, const std::string& dict, const std::vector<std::uint8_t>& data,
                                    std::size_t align = 64) {
  std::vector<std::uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', std::uint8_t(major), 0};
  const std::size_t pre = major == 1 ? 10 : 12;
  std::string h = dict;
  while ((pre + h.size() + 1) % align != 0) h.push_back(' ');
  h.push_back('\n');
  if (major == 1) append(b, std::uint16_t(h.size()));
  else append(b, std::uint32_t(h.size()));
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

std::vector<std::uint8_t> float_bytes(const std::vector<float>& v) {
  std::vector<std::uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

const std::string f4_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
const std::vector<float> six = {1.5f, -2, 3, 4, 5.25f, -6};
}  // namespace

TEST(dataset_npy, f32_round_trip_is_mapped_and_contiguous) {
  temp_dir tmp;
  std::vector<float> v(20 * 7);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(float(i)) * 100;
  write_npy(tmp / "x.npy", {v.data(), 20, 7, 7});
  const auto bytes = read_bytes(tmp / "x.npy");
  EXPECT_EQ(bytes[6], 1);  // version 1.0
  const vectors y = read_vectors(tmp / "x.npy");
  EXPECT_TRUE(y.is_mapped());
  EXPECT_TRUE(y.view().contiguous());
  ASSERT_EQ(y.rows(), 20u);
  ASSERT_EQ(y.dim(), 7u);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(y.row(i / 7)[i % 7], v[i]);
}

TEST(dataset_npy, f16_i8_u8_round_trips) {
  temp_dir tmp;
  // Integral values in [0, 127] are exact in every dtype; 0.1 checks f16 rounding separately.
  std::vector<float> v(9 * 5);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = float((i * 7) % 128);
  for (auto [dt, name] : {std::pair{npy_dtype::f16, "h.npy"}, {npy_dtype::i8, "b.npy"}, {npy_dtype::u8, "B.npy"}}) {
    write_npy(tmp / name, {v.data(), 9, 5, 5}, dt);
    const vectors y = read_vectors(tmp / name);
    EXPECT_FALSE(y.is_mapped()) << name;
    ASSERT_EQ(y.rows(), 9u);
    for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(y.row(i / 5)[i % 5], v[i]) << name;
  }
  const std::vector<float> f = {0.1f, -3.14159f, 65504.0f, 1e-6f, -0.0f, 2049.0f};
  write_npy(tmp / "r.npy", {f.data(), 1, 6, 6}, npy_dtype::f16);
  const vectors r = read_vectors(tmp / "r.npy");
  EXPECT_EQ(r.row(0)[0], 0.0999755859375f);  // nearest half to 0.1
  EXPECT_EQ(r.row(0)[1], -3.140625f);
  EXPECT_EQ(r.row(0)[2], 65504.0f);
  EXPECT_NEAR(r.row(0)[3], 1e-6f, 3e-8f);    // subnormal half
  EXPECT_TRUE(std::signbit(r.row(0)[4]));
  EXPECT_EQ(r.row(0)[5], 2048.0f);           // tie rounds to even
  const std::vector<float> neg = {-128, 127, -1};
  write_npy(tmp / "n.npy", {neg.data(), 1, 3, 3}, npy_dtype::i8);
  EXPECT_EQ(read_vectors(tmp / "n.npy").row(0)[0], -128.0f);
}

TEST(dataset_npy, int_writer_rejects_out_of_range_values) {
  temp_dir tmp;
  const std::vector<float> v = {1, 2, 300};
  expect_error([&] { write_npy(tmp / "u.npy", {v.data(), 1, 3, 3}, npy_dtype::u8); }, {"u.npy", "column 2", "300"});
  EXPECT_FALSE(std::filesystem::exists(tmp / "u.npy"));
  const std::vector<float> w = {1.5f};
  expect_error([&] { write_npy(tmp / "i.npy", {w.data(), 1, 1, 1}, npy_dtype::i8); }, {"i.npy", "1.5"});
}

TEST(dataset_npy, ids_int32_and_int64) {
  temp_dir tmp;
  const std::vector<float> v = {0, 5, 99, 7, 8, 1000};
  write_npy(tmp / "ids.npy", {v.data(), 2, 3, 3}, npy_dtype::i32);
  const int_matrix m = read_ids(tmp / "ids.npy");
  EXPECT_EQ(m.rows, 2u);
  EXPECT_EQ(m.values, (std::vector<std::int32_t>{0, 5, 99, 7, 8, 1000}));
  std::vector<std::uint8_t> d;
  for (std::int64_t x : {3, 1, 4, 1}) append(d, x);
  write_bytes(tmp / "i8.npy", npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", d));
  EXPECT_EQ(read_ids(tmp / "i8.npy").values, (std::vector<std::int32_t>{3, 1, 4, 1}));
}

TEST(dataset_npy, versions_2_and_3_and_unaligned_data) {
  temp_dir tmp;
  for (int major : {1, 2, 3}) {
    const std::string name = "v" + std::to_string(major) + ".npy";
    write_bytes(tmp / name, npy_bytes(major, f4_2x3, float_bytes(six)));
    const vectors y = read_vectors(tmp / name);
    ASSERT_EQ(y.rows(), 2u) << name;
    ASSERT_EQ(y.dim(), 3u);
    EXPECT_TRUE(y.is_mapped()) << name;
    EXPECT_EQ(y.row(1)[1], 5.25f);
  }
  // Data at an odd offset cannot be viewed as floats in place: it is copied.
  write_bytes(tmp / "odd.npy", npy_bytes(1, f4_2x3, float_bytes(six), 7));
  const vectors y = read_vectors(tmp / "odd.npy");
  EXPECT_FALSE(y.is_mapped());
  EXPECT_EQ(y.row(1)[2], -6.0f);
}

TEST(dataset_npy, fortran_order_and_dtypes_are_rejected_by_name) {
  temp_dir tmp;
  write_bytes(tmp / "f.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "f.npy"); }, {"f.npy", "fortran_order"});
  write_bytes(tmp / "d.npy", npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 3), }", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "d.npy"); }, {"d.npy", "'<f8'"});
  write_bytes(tmp / "be.npy", npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "be.npy"); }, {"be.npy", "'>f4'"});
  write_npy(tmp / "f32.npy", {six.data(), 2, 3, 3});
  expect_error([&] { read_ids(tmp / "f32.npy"); }, {"f32.npy", "int32"});
}

TEST(dataset_npy, malformed_headers) {
  temp_dir tmp;
  auto b = npy_bytes(1, f4_2x3, float_bytes(six));
  b[1] = 'X';
  write_bytes(tmp / "magic.npy", b);
  expect_error([&] { read_vectors(tmp / "magic.npy"); }, {"magic.npy", "magic", "byte offset 0"});
  b = npy_bytes(4, f4_2x3, float_bytes(six));
  write_bytes(tmp / "ver.npy", b);
  expect_error([&] { read_vectors(tmp / "ver.npy"); }, {"ver.npy", "version 4.0", "byte offset 6"});
  write_bytes(tmp / "dict.npy", npy_bytes(1, "[1, 2]", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "dict.npy"); }, {"dict.npy", "malformed", "dict"});
  write_bytes(tmp / "noshape.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, }", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "noshape.npy"); }, {"noshape.npy", "'shape'"});
  write_bytes(tmp / "1d.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", float_bytes(six)));
  expect_error([&] { read_vectors(tmp / "1d.npy"); }, {"1d.npy", "1 dimensions", "2-D"});
  write_bytes(tmp / "zero.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", {}));
  expect_error([&] { read_vectors(tmp / "zero.npy"); }, {"zero.npy", "dimension is 0"});
  b = npy_bytes(1, f4_2x3, float_bytes(six));
  b.resize(20);  // header length runs past the end
  write_bytes(tmp / "short.npy", b);
  expect_error([&] { read_vectors(tmp / "short.npy"); }, {"short.npy", "truncated"});
}

TEST(dataset_npy, data_shorter_than_shape_is_truncated) {
  temp_dir tmp;
  auto b = npy_bytes(1, f4_2x3, float_bytes(six));
  b.resize(b.size() - 5);
  write_bytes(tmp / "t.npy", b);
  expect_error([&] { read_vectors(tmp / "t.npy"); }, {"t.npy", "truncated", "vector 1", "byte offset 140"});
}

TEST(dataset_npy, nan_in_f32_and_inf_in_f16_name_row_and_column) {
  temp_dir tmp;
  std::vector<float> v = six;
  v[4] = NAN;
  write_bytes(tmp / "nan.npy", npy_bytes(1, f4_2x3, float_bytes(v)));
  expect_error([&] { read_vectors(tmp / "nan.npy"); }, {"nan.npy", "vector 1", "column 1"});
  std::vector<std::uint8_t> h;
  for (std::uint16_t x : {0x3c00, 0x7c00}) append(h, x);  // 1.0, +inf
  write_bytes(tmp / "inf.npy", npy_bytes(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }", h));
  expect_error([&] { read_vectors(tmp / "inf.npy"); }, {"inf.npy", "vector 0", "column 1"});
}

// Issue 14: a shape whose byte size wraps size_t (rows * dim * itemsize = 2^64 = 0) passed the
// length check; f32 then read past the mapping, f16 and u1 segfaulted.
TEST(dataset_npy, shape_whose_byte_size_wraps_is_refused) {
  temp_dir tmp;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<f4", "(4611686018427387904, 4)"},   // 2^62 * 4 * 4 = 2^66
      {"<f2", "(4611686018427387904, 4)"},   // 2^62 * 4 * 2 = 2^65
      {"|u1", "(4611686018427387904, 4)"},   // 2^62 * 4 = 2^64
      {"|i1", "(9223372036854775807, 2)"},   // just under 2^64 bytes
      {"<i4", "(4611686018427387904, 1)"}};  // ids
  for (const auto& [descr, shape] : cases) {
    const auto b = npy_bytes(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
                             std::vector<std::uint8_t>(64, 0x7f));
    write_bytes(tmp / "wrap.npy", b);
    if (descr == "<i4")
      expect_error([&] { read_ids(tmp / "wrap.npy"); }, {"wrap.npy", "truncated .npy", "needs"});
    else
      expect_error([&] { read_vectors(tmp / "wrap.npy"); }, {"wrap.npy", "truncated .npy", "needs"});
  }
}

// The one .npy header parser (util/npy_header) that the dataset readers and the weights'
// importance reader share: shapes of any rank, entries that are not non-negative integers refused.
TEST(npy_header, shapes_of_any_rank_and_bad_entries) {
  auto parse = [](const std::string& shape) {
    const auto b = npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", {});
    const npy_header h = parse_npy_header("h.npy", b.data(), b.size());
    EXPECT_EQ(h.data_offset, b.size());  // no data bytes follow
    return h;
  };
  EXPECT_EQ(parse("()").shape, std::vector<std::uint64_t>{});
  EXPECT_EQ(parse("(6,)").shape, std::vector<std::uint64_t>{6});
  EXPECT_EQ(parse("( 2 ,3 , 4 )").shape, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(parse("(9223372036854775807,)").shape, std::vector<std::uint64_t>{9223372036854775807ull});
  EXPECT_EQ(parse("(1, 2)").descr, "<f4");
  expect_error([&] { parse("(-3, 2)"); }, {"h.npy", "'shape' entry '-3, 2' is not a non-negative integer"});
  expect_error([&] { parse("(x,)"); }, {"h.npy", "'shape' entry 'x,'"});
  expect_error([&] { parse("(9223372036854775808,)"); }, {"h.npy", "2^63 or more"});
  expect_error([&] { parse("(99999999999999999999,)"); }, {"h.npy", "is not a non-negative integer"});
  expect_error([&] { parse("(2 3)"); }, {"h.npy", "bad 'shape' tuple"});
}
