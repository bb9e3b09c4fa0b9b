// qtune codecs against FAISS on real data, same process, same training rows and queries:
// recall@10 of exhaustive search over the codes.
//   sq8 within 0.005 of IndexScalarQuantizer(QT_8bit); pq{M}x8 within 0.01 of IndexPQ with
//   the same M / nbits; qtune's default sq4 at least FAISS QT_4bit.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include <faiss/IndexBinaryFlat.h>

#include "codec/codec_peer.hpp"
#include "test_data.hpp"

namespace {

using qtune::testing::faiss_recall;
using qtune::testing::qtune_recall;

constexpr std::size_t k = 10;
constexpr std::size_t pq_train = 5000;  // k-means on half the base keeps the test at a few seconds

const qtune::testing::real_set_files& set_files(const std::string& name) {
  for (const auto& f : qtune::testing::real_sets())
    if (f.name == name) return f;
  throw std::invalid_argument("no real set named " + name);
}

void compare_on(const char* set_name, const char* pq_qtune, const char* pq_faiss) {
  const qtune::testing::real_set_files& files = set_files(set_name);
  QTUNE_REQUIRE_DATA_FILE(base_path, files.base);
  QTUNE_REQUIRE_DATA_FILE(gt_path, files.gt);
  auto s = qtune::testing::load_real_set(files, 300);
  ASSERT_TRUE(s.has_value());
  const std::size_t n = s->base.rows();

  const double q8 = qtune_recall(*s, "sq8", k, n), f8 = faiss_recall(*s, "SQ8", k, n);
  const double q4 = qtune_recall(*s, "sq4", k, n), f4 = faiss_recall(*s, "SQ4", k, n);
  const double qp = qtune_recall(*s, pq_qtune, k, pq_train), fp = faiss_recall(*s, pq_faiss, k, pq_train);
  const double q8mse = qtune_recall(*s, "sq8:mse", k, n);
  std::printf("[%s] recall@10 qtune vs faiss: sq8 %.4f / %.4f, sq8:mse %.4f, sq4 %.4f / %.4f, %s %.4f / %.4f\n",
              set_name, q8, f8, q8mse, q4, f4, pq_qtune, qp, fp);
  EXPECT_GE(q8, f8 - 0.005);
  EXPECT_GE(q8mse, f8);  // the least-error ranges at least match FAISS's SQ8 at its best
  EXPECT_GE(q4, f4);
  EXPECT_GE(qp, fp - 0.01);
  // Sanity: the peers themselves worked (recall well above chance).
  EXPECT_GT(f8, 0.9);
  EXPECT_GT(fp, 0.3);
}

TEST(codec_faiss, sift10k_recall_matches_faiss) { compare_on("sift10k", "pq16x8", "PQ16x8np"); }

TEST(codec_faiss, glove50_recall_matches_faiss) { compare_on("glove50-10k", "pq10x8", "PQ10x8np"); }

}  // namespace

namespace {

// bin against FAISS's binary index: the same sign bits (x_j > mean_j over the base) searched by
// Hamming distance in IndexBinaryFlat. qtune's bin scores the float query against the two
// learned levels per dimension (asymmetric), so it must recall at least as well as Hamming.
void compare_binary_on(const char* set_name) {
  const qtune::testing::real_set_files& files = set_files(set_name);
  QTUNE_REQUIRE_DATA_FILE(base_path, files.base);
  QTUNE_REQUIRE_DATA_FILE(gt_path, files.gt);
  auto s = qtune::testing::load_real_set(files, 300);
  ASSERT_TRUE(s.has_value());
  const std::size_t n = s->base.rows(), dim = s->base.dim(), bytes = (dim + 7) / 8;
  std::vector<double> mean(dim, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < dim; ++j) mean[j] += s->base.view().row(i)[j];
  for (double& m : mean) m /= static_cast<double>(n);
  const auto signs = [&](const qtune::vectors& v) {
    std::vector<std::uint8_t> out(v.rows() * bytes, 0);
    for (std::size_t i = 0; i < v.rows(); ++i)
      for (std::size_t j = 0; j < dim; ++j)
        if (v.view().row(i)[j] > static_cast<float>(mean[j])) out[i * bytes + j / 8] |= std::uint8_t(1u << (j % 8));
    return out;
  };
  const std::vector<std::uint8_t> base_bits = signs(s->base), query_bits = signs(s->queries);
  faiss::IndexBinaryFlat hamming(static_cast<int>(bytes * 8));
  hamming.add(static_cast<faiss::Index::idx_t>(n), base_bits.data());
  qtune::knn_result found;
  found.nq = s->queries.rows();
  found.k = k;
  std::vector<faiss::Index::idx_t> labels(found.nq * k);
  std::vector<std::int32_t> hd(found.nq * k);
  hamming.search(static_cast<faiss::Index::idx_t>(found.nq), query_bits.data(), static_cast<faiss::Index::idx_t>(k),
                 hd.data(), labels.data());
  found.ids.assign(labels.begin(), labels.end());
  const double faiss_r = qtune::recall_ids(found, s->truth, k);
  const double qtune_r = qtune_recall(*s, "bin", k, n);
  std::printf("[%s] recall@10 bin (asymmetric) %.4f vs FAISS IndexBinaryFlat (Hamming) %.4f\n", set_name, qtune_r,
              faiss_r);
  EXPECT_GE(qtune_r, faiss_r);
  EXPECT_GT(faiss_r, 0.05);  // the peer found something
}

TEST(codec_faiss, sift10k_binary_beats_hamming) { compare_binary_on("sift10k"); }
TEST(codec_faiss, glove50_binary_beats_hamming) { compare_binary_on("glove50-10k"); }

}  // namespace
