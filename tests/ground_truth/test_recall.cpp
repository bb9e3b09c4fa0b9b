// Recall functions on hand-made cases.
#include <gtest/gtest.h>

#include <vector>

#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace {

qtune::knn_result make(std::size_t nq, std::size_t k, std::vector<std::int32_t> ids, std::vector<float> dist = {}) {
  qtune::knn_result r;
  r.nq = nq;
  r.k = k;
  r.ids = std::move(ids);
  r.distances = std::move(dist);
  return r;
}

TEST(ground_truth_recall, ids_intersection) {
  const auto truth = make(2, 3, {1, 2, 3, 7, 8, 9});
  const auto found = make(2, 4, {3, 1, 5, 2, 9, 0, 0, 7});  // q0: {3,1,5} -> 2 hits; q1: {9,0,0} -> 1 hit
  std::vector<double> per;
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 3, &per), (2.0 / 3 + 1.0 / 3) / 2);
  ASSERT_EQ(per.size(), 2u);
  EXPECT_DOUBLE_EQ(per[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(per[1], 1.0 / 3);  // the duplicate 0 is not a hit, and counts once anyway
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 1), 0.0);  // q0: 3 vs 1, q1: 9 vs 7: both miss
}

TEST(ground_truth_recall, ids_at_one_and_perfect) {
  const auto truth = make(2, 2, {1, 2, 7, 8});
  const auto found = make(2, 2, {1, 5, 8, 7});
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 1), 0.5);  // q0 hit, q1 miss
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 2), 0.75);
  EXPECT_DOUBLE_EQ(qtune::recall_ids(truth, truth, 2), 1.0);
}

TEST(ground_truth_recall, ids_with_padding_in_truth) {
  const auto truth = make(1, 4, {3, 1, -1, -1});
  const auto found = make(1, 4, {1, 3, -1, -1});
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 4), 1.0);
}

TEST(ground_truth_recall, distance_counts_ties_as_hits) {
  // Truth: distances 1, 2, 2 (k = 3); found lists a different id at the tied distance 2.
  const auto truth = make(1, 4, {10, 11, 12, 13}, {1.0f, 2.0f, 2.0f, 5.0f});
  const auto found = make(1, 3, {10, 12, 99}, {1.0f, 2.0f, 2.0f});
  EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 3), 2.0 / 3);
  EXPECT_DOUBLE_EQ(qtune::recall_distance(found, truth, 3), 1.0);
  // Within epsilon is a hit, beyond is not.
  const auto near = make(1, 3, {10, 11, 98}, {1.0f, 2.0f, 2.0005f});
  const auto far = make(1, 3, {10, 11, 98}, {1.0f, 2.0f, 2.01f});
  EXPECT_DOUBLE_EQ(qtune::recall_distance(near, truth, 3), 1.0);
  EXPECT_DOUBLE_EQ(qtune::recall_distance(far, truth, 3), 2.0 / 3);
  std::vector<double> per;
  EXPECT_DOUBLE_EQ(qtune::recall_distance(far, truth, 3, 0.1f, &per), 1.0);
  EXPECT_EQ(per.size(), 1u);
}

TEST(ground_truth_recall, shape_errors_throw) {
  const auto truth = make(2, 2, {1, 2, 3, 4});
  EXPECT_THROW(qtune::recall_ids(make(1, 2, {1, 2}), truth, 2), qtune::error);
  EXPECT_THROW(qtune::recall_ids(make(2, 1, {1, 2}), truth, 2), qtune::error);
  EXPECT_THROW(qtune::recall_distance(truth, truth, 2), qtune::error);  // no distances
}

}  // namespace
