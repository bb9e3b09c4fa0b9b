#include <gtest/gtest.h>

#include <cmath>

#include "dataset/dataset_test_util.hpp"
#include "qtune/dataset.hpp"
#include "test_data.hpp"

using namespace qtune;
using qtune::testing::expect_error;

// Fashion-MNIST comes from the Debian package dataset-fashion-mnist, not from data_dir().
#define QTUNE_REQUIRE_FMNIST_FILE(var, name)                                                  \
  const std::filesystem::path var = std::filesystem::path("/usr/share/datasets/fashion-mnist") / (name); \
  if (!std::filesystem::exists(var)) {                                                        \
    if (::qtune::testing::data_required()) FAIL() << "missing required data file " << var;    \
    GTEST_SKIP() << "data file not found: " << var << " (install dataset-fashion-mnist)";     \
  }

TEST(dataset_real, siftsmall_base_is_mapped_with_known_first_row) {
  QTUNE_REQUIRE_DATA_FILE(path, "sift10k/siftsmall_base.fvecs");
  const vectors x = read_vectors(path);
  EXPECT_TRUE(x.is_mapped());
  ASSERT_EQ(x.rows(), 10000u);
  ASSERT_EQ(x.dim(), 128u);
  const float first[] = {0, 16, 35, 5, 32, 31, 14, 10, 11, 78, 55};
  for (std::size_t j = 0; j < 11; ++j) EXPECT_EQ(x.row(0)[j], first[j]) << j;
  const float second[] = {14, 35, 19, 20, 3};
  for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(x.row(1)[j], second[j]) << j;
  // Every value is an integer in [0, 180] (README), checked through the strided view.
  float lo = 1e9f, hi = -1e9f;
  for (std::size_t i = 0; i < x.rows(); ++i)
    for (std::size_t j = 0; j < x.dim(); ++j) {
      lo = std::min(lo, x.row(i)[j]);
      hi = std::max(hi, x.row(i)[j]);
      ASSERT_EQ(x.row(i)[j], std::nearbyint(x.row(i)[j]));
    }
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 180.0f);
  // The mapped view and a heap copy hash alike; the hash is 16 hex digits.
  const std::string h = content_hash(x.view());
  EXPECT_EQ(h.size(), 16u);
  EXPECT_EQ(content_hash(x.slice(0, x.rows()).view()), h);
  EXPECT_NE(content_hash(x.slice(0, x.rows() - 1).view()), h);
}

TEST(dataset_real, siftsmall_groundtruth_ivecs) {
  QTUNE_REQUIRE_DATA_FILE(path, "sift10k/siftsmall_groundtruth.ivecs");
  const int_matrix gt = read_ids(path);
  ASSERT_EQ(gt.rows, 100u);
  ASSERT_EQ(gt.dim, 100u);
  for (std::int32_t id : gt.values) {
    ASSERT_GE(id, 0);
    ASSERT_LT(id, 10000);
  }
}

TEST(dataset_real, mnist_idx_matches_the_fvecs_base) {
  QTUNE_REQUIRE_DATA_FILE(idx_path, "mnist10k/t10k-images-idx3-ubyte.gz");
  QTUNE_REQUIRE_DATA_FILE(base_path, "mnist10k/mnist_base.fvecs");
  const vectors idx = read_vectors(idx_path);
  ASSERT_EQ(idx.rows(), 10000u);
  ASSERT_EQ(idx.dim(), 784u);
  EXPECT_FALSE(idx.is_mapped());
  const vectors base = read_vectors(base_path);
  ASSERT_EQ(base.rows(), 9000u);
  ASSERT_EQ(base.dim(), 784u);
  // Image i is a query iff i % 10 == 9; the others are base ids in order.
  std::size_t b = 0;
  for (std::size_t i = 0; i < idx.rows(); ++i) {
    if (i % 10 == 9) continue;
    for (std::size_t j = 0; j < 784; ++j) ASSERT_EQ(idx.row(i)[j], base.row(b)[j]) << "image " << i << " base " << b;
    ++b;
  }
  EXPECT_EQ(b, 9000u);
  QTUNE_REQUIRE_DATA_FILE(labels_path, "mnist10k/t10k-labels-idx1-ubyte.gz");
  const int_matrix labels = read_ids(labels_path);
  ASSERT_EQ(labels.rows, 10000u);
  EXPECT_EQ(std::vector<std::int32_t>(labels.values.begin(), labels.values.begin() + 10),
            (std::vector<std::int32_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
}

TEST(dataset_real, fashion_mnist_train_and_test) {
  QTUNE_REQUIRE_FMNIST_FILE(test_path, "t10k-images-idx3-ubyte.gz");
  const vectors test = read_vectors(test_path);
  EXPECT_EQ(test.rows(), 10000u);
  EXPECT_EQ(test.dim(), 784u);
  QTUNE_REQUIRE_FMNIST_FILE(train_path, "train-images-idx3-ubyte.gz");
  const vectors train = read_vectors(train_path);
  EXPECT_EQ(train.rows(), 60000u);
  EXPECT_EQ(train.dim(), 784u);
  // fmnist10k's base is training images 0..9999, its queries test images 0..999.
  QTUNE_REQUIRE_DATA_FILE(base_path, "fmnist10k/fmnist_base.fvecs");
  read_options opt;
  opt.max_rows = 200;
  const vectors base = read_vectors(base_path, opt);
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t j = 0; j < 784; ++j) ASSERT_EQ(train.row(i)[j], base.row(i)[j]) << i;
  QTUNE_REQUIRE_DATA_FILE(query_path, "fmnist10k/fmnist_query.fvecs");
  const vectors query = read_vectors(query_path, opt);
  for (std::size_t i = 0; i < 200; ++i)
    for (std::size_t j = 0; j < 784; ++j) ASSERT_EQ(test.row(i)[j], query.row(i)[j]) << i;
}
