#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <chrono>
#include <cmath>

#include "dataset/dataset_test_util.hpp"
#include "qtune/dataset.hpp"

using namespace qtune;
using qtune::testing::expect_error;
using qtune::testing::temp_dir;
using qtune::testing::write_bytes;

namespace {
std::vector<std::uint8_t> idx3(std::uint32_t n, std::uint32_t r, std::uint32_t c, std::uint32_t magic = 0x803) {
  std::vector<std::uint8_t> b;
  for (std::uint32_t v : {magic, n, r, c})
    for (int s = 24; s >= 0; s -= 8) b.push_back(std::uint8_t(v >> s));
  for (std::uint32_t i = 0; i < n * r * c; ++i) b.push_back(std::uint8_t(i * 31 + 7));
  return b;
}

void write_gz(const std::filesystem::path& p, const std::vector<std::uint8_t>& b) {
  gzFile g = gzopen(p.c_str(), "wb");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(gzwrite(g, b.data(), unsigned(b.size())), int(b.size()));
  gzclose(g);
}

vectors ramp(std::size_t rows, std::size_t dim, float scale = 1) {
  std::vector<float> v(rows * dim);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = (float(i % 13) - 4.5f) * scale;
  return vectors(std::move(v), rows, dim);
}
}  // namespace

TEST(dataset_idx, plain_and_gzip_images_flatten_to_rows) {
  temp_dir tmp;
  const auto b = idx3(5, 3, 4);
  write_bytes(tmp / "a-idx3-ubyte", b);
  write_gz(tmp / "b-idx3-ubyte.gz", b);
  write_gz(tmp / "c.idx", b);  // gzip detected by magic bytes, not by the extension
  for (const char* name : {"a-idx3-ubyte", "b-idx3-ubyte.gz", "c.idx"}) {
    const vectors x = read_vectors(tmp / name);
    EXPECT_FALSE(x.is_mapped());
    ASSERT_EQ(x.rows(), 5u) << name;
    ASSERT_EQ(x.dim(), 12u) << name;
    for (std::size_t i = 0; i < 60; ++i) ASSERT_EQ(x.row(i / 12)[i % 12], float(std::uint8_t(i * 31 + 7))) << name;
  }
}

TEST(dataset_idx, labels_read_as_ids) {
  temp_dir tmp;
  std::vector<std::uint8_t> b = {0, 0, 8, 1, 0, 0, 0, 4, 7, 2, 1, 0};
  write_bytes(tmp / "l-idx1-ubyte", b);
  const int_matrix m = read_ids(tmp / "l-idx1-ubyte");
  EXPECT_EQ(m.rows, 4u);
  EXPECT_EQ(m.dim, 1u);
  EXPECT_EQ(m.values, (std::vector<std::int32_t>{7, 2, 1, 0}));
}

TEST(dataset_idx, bad_magic_and_truncation) {
  temp_dir tmp;
  write_bytes(tmp / "m-idx3-ubyte", idx3(2, 2, 2, 0x0d03));
  expect_error([&] { read_vectors(tmp / "m-idx3-ubyte"); }, {"m-idx3-ubyte", "bad IDX magic", "0xd03", "byte offset 0"});
  auto b = idx3(3, 2, 2);
  b.resize(b.size() - 1);
  write_bytes(tmp / "t-idx3-ubyte", b);
  expect_error([&] { read_vectors(tmp / "t-idx3-ubyte"); }, {"t-idx3-ubyte", "truncated", "item 2", "byte offset 24"});
  write_gz(tmp / "tz-idx3-ubyte.gz", b);
  expect_error([&] { read_vectors(tmp / "tz-idx3-ubyte.gz"); }, {"tz-idx3-ubyte.gz", "truncated", "item 2"});
  // A gzip stream cut in the middle.
  write_gz(tmp / "full-idx3-ubyte.gz", idx3(200, 28, 28));
  auto z = qtune::testing::read_bytes(tmp / "full-idx3-ubyte.gz");
  z.resize(z.size() / 2);
  write_bytes(tmp / "cut-idx3-ubyte.gz", z);
  expect_error([&] { read_vectors(tmp / "cut-idx3-ubyte.gz"); }, {"cut-idx3-ubyte.gz", "gzip"});
  write_bytes(tmp / "e-idx3-ubyte", {});
  expect_error([&] { read_vectors(tmp / "e-idx3-ubyte"); }, {"e-idx3-ubyte", "empty"});
}

TEST(dataset_hdf5, ann_benchmarks_round_trip) {
  temp_dir tmp;
  ann_dataset ds;
  ds.train = ramp(50, 8);
  ds.test = ramp(6, 8, 0.5f);
  ds.neighbors.rows = 6;
  ds.neighbors.dim = 3;
  for (int i = 0; i < 18; ++i) ds.neighbors.values.push_back(49 - i);
  ds.distances = ramp(6, 3, 2.0f);
  ds.distance = metric::cosine;
  write_ann_hdf5(tmp / "a.hdf5", ds);
  const ann_dataset back = read_ann_hdf5(tmp / "a.hdf5");
  EXPECT_EQ(back.distance, metric::cosine);
  EXPECT_EQ(content_hash(back.train.view()), content_hash(ds.train.view()));
  EXPECT_EQ(content_hash(back.test.view()), content_hash(ds.test.view()));
  EXPECT_EQ(back.neighbors.values, ds.neighbors.values);
  ASSERT_TRUE(back.distances.has_value());
  EXPECT_EQ(content_hash(back.distances->view()), content_hash(ds.distances->view()));
  // read_vectors / read_ids on the same file.
  read_options opt;
  opt.hdf5_dataset = "test";
  EXPECT_EQ(read_vectors(tmp / "a.hdf5", opt).rows(), 6u);
  EXPECT_EQ(read_vectors(tmp / "a.hdf5").rows(), 50u);
  EXPECT_EQ(read_ids(tmp / "a.hdf5").row(5)[2], 49 - 17);
  for (metric m : {metric::l2, metric::ip}) {
    ds.distance = m;
    write_ann_hdf5(tmp / "m.h5", ds);
    EXPECT_EQ(read_ann_hdf5(tmp / "m.h5").distance, m);
  }
}

TEST(dataset_hdf5, missing_dataset_wrong_type_and_not_hdf5) {
  temp_dir tmp;
  ann_dataset ds;
  ds.train = ramp(4, 2);
  ds.test = ramp(2, 2);
  ds.neighbors.rows = 2;
  ds.neighbors.dim = 1;
  ds.neighbors.values = {0, 1};
  write_ann_hdf5(tmp / "a.hdf5", ds);
  read_options opt;
  opt.hdf5_dataset = "queries";
  expect_error([&] { read_vectors(tmp / "a.hdf5", opt); }, {"a.hdf5", "no dataset \"queries\""});
  opt.hdf5_dataset = "neighbors";  // integer data read as floats is fine; floats read as ids are not
  EXPECT_EQ(read_vectors(tmp / "a.hdf5", opt).row(1)[0], 1.0f);
  opt.hdf5_dataset = "test";
  expect_error([&] { read_ids(tmp / "a.hdf5", opt); }, {"a.hdf5", "\"test\"", "expected integer"});
  write_bytes(tmp / "bad.h5", {1, 2, 3, 4});
  expect_error([&] { read_vectors(tmp / "bad.h5"); }, {"bad.h5", "HDF5"});
  expect_error([&] { read_ann_hdf5(tmp / "missing.h5"); }, {"missing.h5"});
}

TEST(dataset_hdf5, wrong_rank_and_nan) {
  temp_dir tmp;
  // A rank-1 "train" written with the C API directly.
  {
    const hsize_t n = 4;
    const float v[4] = {1, 2, 3, 4};
    hid_t f = H5Fcreate((tmp / "r.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    hid_t d = H5Dcreate2(f, "train", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
  }
  expect_error([&] { read_vectors(tmp / "r.h5"); }, {"r.h5", "\"train\"", "rank 1", "expected 2"});
  std::vector<float> v(3 * 2, 1.0f);
  v[5] = INFINITY;
  ann_dataset ds;
  ds.train = vectors(v, 3, 2);
  ds.test = vectors(std::vector<float>{1, 1}, 1, 2);
  ds.neighbors.rows = 1;
  ds.neighbors.dim = 1;
  ds.neighbors.values = {0};
  write_ann_hdf5(tmp / "n.hdf5", ds);
  expect_error([&] { read_ann_hdf5(tmp / "n.hdf5"); }, {"n.hdf5", "vector 2", "column 1"});
}

// Issue 14: a gzip IDX expanded without a limit. The header's declared size bounds what is
// decompressed, and a declared size beyond deflate's maximum ratio is refused before decompressing.
TEST(dataset_idx, gzip_expansion_is_bounded_by_the_header_and_deflates_ratio) {
  temp_dir tmp;
  // A header declaring 2^32 - 1 images of 28 x 28 (3.3 TB) in a gzip file of a few bytes.
  auto bomb = idx3(0, 28, 28);
  bomb[4] = bomb[5] = bomb[6] = bomb[7] = 0xff;
  bomb.resize(bomb.size() + 4096, 0);
  write_gz(tmp / "bomb-idx3-ubyte.gz", bomb);
  expect_error([&] { read_vectors(tmp / "bomb-idx3-ubyte.gz"); },
               {"bomb-idx3-ubyte.gz", "declares 4294967295 items", "more than a gzip stream", "decompression bomb"});
  // A header declaring 3 images followed by 256 MB of zeros: only the 3 images are decompressed.
  const auto small = idx3(3, 4, 4);
  {
    gzFile g = gzopen((tmp / "tail-idx3-ubyte.gz").c_str(), "wb9");
    ASSERT_NE(g, nullptr);
    gzwrite(g, small.data(), unsigned(small.size()));
    const std::vector<std::uint8_t> zeros(1 << 20, 0);
    for (int i = 0; i < 256; ++i) gzwrite(g, zeros.data(), unsigned(zeros.size()));
    gzclose(g);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const vectors v = read_vectors(tmp / "tail-idx3-ubyte.gz");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.5);
  ASSERT_EQ(v.rows(), 3u);
  EXPECT_EQ(v.row(2)[15], float(std::uint8_t(47 * 31 + 7)));
}

// Issue 14: HDF5 row/dim counts came straight from the file into an allocation. A dataset that
// declares more than it stores is refused before anything is allocated.
TEST(dataset_hdf5, declared_size_beyond_the_stored_data_is_refused) {
  temp_dir tmp;
  const auto path = tmp / "huge.hdf5";
  {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {hsize_t(1) << 40, 4}, maxdims[2] = {H5S_UNLIMITED, 4}, chunk[2] = {16, 4};
    const hid_t space = H5Screate_simple(2, dims, maxdims);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    const hid_t ds = H5Dcreate2(f, "train", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
  }
  expect_error([&] { read_vectors(path); }, {"huge.hdf5", "dataset \"train\" declares 1099511627776 x 4 values",
                                             "but stores 0 bytes"});
}
