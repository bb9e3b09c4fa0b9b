// qtune codecs against FAISS on real data, same process, same training rows and queries:
// recall@10 of exhaustive search over the codes.
//   sq8 within 0.005 of IndexScalarQuantizer(QT_8bit); pq{M}x8 within 0.01 of IndexPQ with
//   the same M / nbits; qtune's default sq4 at least FAISS QT_4bit.
#include <gtest/gtest.h>

#include <cstdio>

#include "codec/codec_peer.hpp"
#include "test_data.hpp"

namespace {

using qtune::testing::faiss_recall;
using qtune::testing::qtune_recall;

constexpr std::size_t k = 10;
constexpr std::size_t pq_train = 5000;  // k-means on half the base keeps the test at a few seconds

void compare_on(const char* set_name, const char* pq_qtune, const char* pq_faiss) {
  const qtune::testing::real_set_files* files = nullptr;
  for (const auto& f : qtune::testing::real_sets())
    if (std::string(f.name) == set_name) files = &f;
  ASSERT_NE(files, nullptr);
  QTUNE_REQUIRE_DATA_FILE(base_path, files->base);
  QTUNE_REQUIRE_DATA_FILE(gt_path, files->gt);
  auto s = qtune::testing::load_real_set(*files, 300);
  ASSERT_TRUE(s.has_value());
  const std::size_t n = s->base.rows();

  const double q8 = qtune_recall(*s, "sq8", k, n), f8 = faiss_recall(*s, "SQ8", k, n);
  const double q4 = qtune_recall(*s, "sq4", k, n), f4 = faiss_recall(*s, "SQ4", k, n);
  const double qp = qtune_recall(*s, pq_qtune, k, pq_train), fp = faiss_recall(*s, pq_faiss, k, pq_train);
  std::printf("[%s] recall@10 qtune vs faiss: sq8 %.4f / %.4f, sq4 %.4f / %.4f, %s %.4f / %.4f\n", set_name, q8, f8,
              q4, f4, pq_qtune, qp, fp);
  EXPECT_GE(q8, f8 - 0.005);
  EXPECT_GE(q4, f4);
  EXPECT_GE(qp, fp - 0.01);
  // Sanity: the peers themselves worked (recall well above chance).
  EXPECT_GT(f8, 0.9);
  EXPECT_GT(fp, 0.3);
}

TEST(codec_faiss, sift10k_recall_matches_faiss) { compare_on("sift10k", "pq16x8", "PQ16x8np"); }

TEST(codec_faiss, glove50_recall_matches_faiss) { compare_on("glove50-10k", "pq10x8", "PQ10x8np"); }

}  // namespace
