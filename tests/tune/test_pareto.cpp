#include <gtest/gtest.h>

#include "qtune/error.hpp"
#include "qtune/pareto.hpp"

namespace {

using idx = std::vector<std::size_t>;

TEST(tune_pareto, two_objectives_known_front) {
  // (cost1, cost2): the staircase 0, 1, 3 is the front; 2 is dominated by 1, 4 by 3, 5 equals 3.
  const std::vector<std::vector<double>> pts = {{1, 9}, {2, 5}, {3, 6}, {4, 2}, {5, 2}, {4, 2}};
  EXPECT_EQ(qtune::non_dominated(pts), (idx{0, 1, 3, 5}));  // equal points are both kept
}

TEST(tune_pareto, fronts_from_recall_latency_memory) {
  // recall (higher better), latency, memory
  const std::vector<double> recall = {0.90, 0.95, 0.99, 0.95, 0.80, 0.99};
  const std::vector<double> latency = {100, 150, 400, 120, 90, 500};
  const std::vector<double> memory = {10, 40, 80, 90, 5, 20};
  const auto f = qtune::compute_fronts(recall, latency, memory);
  // recall-latency: 4 (fastest), 0, 3 (0.95 at 120 beats 1), 2 (0.99 at 400 beats 5)
  EXPECT_EQ(f.recall_latency, (idx{0, 2, 3, 4}));
  // recall-memory: 4 (5), 0 (10), 5 (0.99 at 20) dominates 1, 2, 3
  EXPECT_EQ(f.recall_memory, (idx{0, 4, 5}));
  // three-way: 1 is dominated by 3? no: 3 has more memory. 1 (0.95,150,40) vs 5 (0.99,500,20): not dominated.
  EXPECT_EQ(f.recall_latency_memory, (idx{0, 1, 2, 3, 4, 5}));
}

TEST(tune_pareto, three_way_removes_points_dominated_everywhere) {
  const std::vector<double> recall = {0.9, 0.9, 0.95, 0.85};
  const std::vector<double> latency = {100, 110, 100, 200};
  const std::vector<double> memory = {10, 10, 10, 50};
  const auto f = qtune::compute_fronts(recall, latency, memory);
  EXPECT_EQ(f.recall_latency_memory, (idx{2}));
  EXPECT_EQ(f.recall_latency, (idx{2}));
  EXPECT_EQ(f.recall_memory, (idx{2}));
}

TEST(tune_pareto, empty_and_bad_input) {
  EXPECT_TRUE(qtune::non_dominated({}).empty());
  EXPECT_THROW(qtune::non_dominated({{1, 2}, {1}}), qtune::error);
  EXPECT_THROW(qtune::compute_fronts({1.0}, {1.0, 2.0}, {1.0}), qtune::error);
}

}  // namespace
