#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "qtune/recommend.hpp"

namespace {

// --- auto efSearch on a synthetic monotone recall curve ------------------------------------

double curve(std::size_t ef) { return 1.0 - 1.0 / (1.0 + 0.05 * static_cast<double>(ef)); }  // increasing

TEST(tune_auto_ef, finds_the_smallest_ef_reaching_the_target) {
  for (double target : {0.5, 0.8, 0.9, 0.95, 0.97}) {
    std::size_t calls = 0;
    const auto r = qtune::find_min_ef(
        [&](std::size_t ef) {
          ++calls;
          return curve(ef);
        },
        target, 10, 4096);
    ASSERT_TRUE(r.reached) << target;
    EXPECT_GE(curve(r.ef), target);
    if (r.ef > 10) EXPECT_LT(curve(r.ef - 1), target) << "not the smallest for target " << target;
    EXPECT_EQ(calls, r.probes.size());  // each ef evaluated once
    // galloping (log2(ef / ef_min) + 1 probes) then bisection (<= log2(ef)): far fewer than a walk
    const double bound = std::ceil(std::log2(r.ef / 10.0)) + 1 + std::ceil(std::log2(static_cast<double>(r.ef)));
    EXPECT_LE(static_cast<double>(r.probes.size()), bound) << target;
  }
}

TEST(tune_auto_ef, ef_min_already_enough_and_target_unreachable) {
  auto r = qtune::find_min_ef(curve, 0.1, 10, 1000);
  EXPECT_TRUE(r.reached);
  EXPECT_EQ(r.ef, 10u);
  EXPECT_EQ(r.probes.size(), 1u);

  r = qtune::find_min_ef(curve, 0.9999, 10, 1000);
  EXPECT_FALSE(r.reached);
  EXPECT_EQ(r.ef, 1000u);  // the best recall seen
  EXPECT_EQ(r.probes.back(), 1000u);
}

TEST(tune_auto_ef, tolerates_a_small_dip) {
  // Non-monotone by noise: the answer must still be an ef that was measured to meet the target.
  auto noisy = [](std::size_t ef) { return curve(ef) + ((ef % 7 == 0) ? -0.02 : 0.0); };
  const auto r = qtune::find_min_ef(noisy, 0.9, 8, 2048);
  ASSERT_TRUE(r.reached);
  EXPECT_GE(noisy(r.ef), 0.9);
}

// --- confidence intervals ---------------------------------------------------------------------

TEST(tune_ci, wilson_matches_known_values) {
  const auto a = qtune::wilson_interval(8, 10);
  EXPECT_NEAR(a.lo, 0.4902, 1e-4);
  EXPECT_NEAR(a.hi, 0.9433, 1e-4);
  const auto b = qtune::wilson_interval(950, 1000);
  EXPECT_NEAR(b.lo, 0.9346, 1e-3);
  EXPECT_NEAR(b.hi, 0.9621, 1e-3);
  const auto c = qtune::wilson_interval(10, 10);
  EXPECT_DOUBLE_EQ(c.hi, 1.0);
  EXPECT_LT(c.lo, 1.0);
}

TEST(tune_ci, bootstrap_covers_the_mean_and_shrinks_with_more_queries) {
  std::mt19937_64 rng(3);
  std::vector<double> small, big;
  for (int i = 0; i < 100; ++i) small.push_back((rng() % 10) / 10.0);
  for (int i = 0; i < 2500; ++i) big.push_back((rng() % 10) / 10.0);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / v.size();
  };
  const auto a = qtune::bootstrap_mean_interval(small);
  const auto b = qtune::bootstrap_mean_interval(big);
  EXPECT_LT(a.lo, mean(small));
  EXPECT_GT(a.hi, mean(small));
  EXPECT_LT(b.hi - b.lo, 0.5 * (a.hi - a.lo));  // ~ 1/sqrt(n): 5x more queries, ~2.2x narrower
  // Width close to the normal approximation 2 * 1.96 * sd / sqrt(n) (sd of uniform 0..0.9 ~ 0.287).
  EXPECT_NEAR(b.hi - b.lo, 2 * 1.96 * 0.287 / 50.0, 0.004);
  const auto c = qtune::bootstrap_mean_interval(std::vector<double>(50, 0.7));
  EXPECT_NEAR(c.lo, 0.7, 1e-12);
  EXPECT_NEAR(c.hi, 0.7, 1e-12);
  // Reproducible.
  const auto d = qtune::bootstrap_mean_interval(small);
  EXPECT_EQ(a.lo, d.lo);
  EXPECT_EQ(a.hi, d.hi);
}

// --- recommendation ---------------------------------------------------------------------------

qtune::measured_point pt(const std::string& codec, std::size_t ef, double tune_recall, double val_recall,
                         double p50, std::size_t bytes) {
  qtune::measured_point p;
  p.config.kind = "hnsw";
  p.config.codec = codec;
  p.config.m = 16;
  p.config.ef_construction = 100;
  p.config.ef_search = ef;
  p.tuning_recall_ids.value = tune_recall;
  p.validation_recall_ids.value = val_recall;
  p.latency_p50_us = {p50, p50, p50};
  p.latency_p99_us = {2 * p50, 2 * p50, 2 * p50};
  p.qps_single = {1e6 / p50, 1e6 / p50, 1e6 / p50};
  p.resident_bytes = bytes;
  return p;
}

TEST(tune_recommend, best_objective_among_tuning_qualified) {
  const std::vector<qtune::measured_point> pts = {
      pt("fp32", 40, 0.97, 0.97, 200, 4000),  // qualifies, slow
      pt("sq8", 40, 0.96, 0.96, 120, 1500),   // qualifies, fastest qualified
      pt("sq4", 40, 0.90, 0.99, 80, 900),     // fastest, but tuning recall below target
  };
  qtune::recommend_policy pol;
  pol.target = 0.95;
  auto r = qtune::recommend(pts, pol);
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(*r.chosen, 1u);  // validation never promotes sq4
  EXPECT_EQ(r.candidates, (std::vector<std::size_t>{1, 0}));

  pol.objective = qtune::objective_kind::memory;
  r = qtune::recommend(pts, pol);
  EXPECT_EQ(*r.chosen, 1u);
  pol.memory_budget = 1000;  // nothing qualifies within the budget
  r = qtune::recommend(pts, pol);
  EXPECT_FALSE(r.chosen);
  EXPECT_NE(r.message.find("missed"), std::string::npos);
}

TEST(tune_recommend, validation_failure_moves_to_the_next_candidate) {
  const std::vector<qtune::measured_point> pts = {
      pt("sq8", 30, 0.951, 0.940, 100, 1500),  // best objective, fails validation
      pt("sq8", 38, 0.962, 0.957, 110, 1500),  // next: holds
      pt("fp32", 30, 0.970, 0.970, 180, 4000),
  };
  qtune::recommend_policy pol;
  const auto r = qtune::recommend(pts, pol);
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(*r.chosen, 1u);
  EXPECT_EQ(r.rejected_by_validation, (std::vector<std::size_t>{0}));
  EXPECT_NE(r.message.find("ef=38"), std::string::npos) << r.message;
}

TEST(tune_recommend, target_missed_reports_best_recall_and_config) {
  const std::vector<qtune::measured_point> pts = {
      pt("sq4", 100, 0.91, 0.92, 100, 900),
      pt("sq4", 400, 0.93, 0.93, 300, 900),
  };
  qtune::recommend_policy pol;
  const auto r = qtune::recommend(pts, pol);
  EXPECT_FALSE(r.chosen);
  ASSERT_TRUE(r.best_recall);
  EXPECT_EQ(*r.best_recall, 1u);
  EXPECT_NE(r.message.find("0.9300"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("hnsw sq4 M=16 efC=100 ef=400"), std::string::npos) << r.message;

  // All candidates fail validation: also missed, and said so.
  const std::vector<qtune::measured_point> pts2 = {pt("sq8", 30, 0.951, 0.94, 100, 1500)};
  const auto r2 = qtune::recommend(pts2, pol);
  EXPECT_FALSE(r2.chosen);
  EXPECT_NE(r2.message.find("none held on validation"), std::string::npos) << r2.message;
}

TEST(tune_recommend, qps_objective_and_deterministic_ties) {
  std::vector<qtune::measured_point> pts = {pt("sq8", 50, 0.96, 0.96, 100, 1500), pt("sq8", 40, 0.96, 0.96, 100, 1500),
                                            pt("sq4", 40, 0.96, 0.96, 90, 1500)};
  qtune::recommend_policy pol;
  pol.objective = qtune::objective_kind::qps;
  auto r = qtune::recommend(pts, pol);
  EXPECT_EQ(*r.chosen, 2u);  // highest QPS
  pts[2].tuning_recall_ids.value = 0.5;
  r = qtune::recommend(pts, pol);
  EXPECT_EQ(*r.chosen, 1u);  // tie on QPS and memory: smaller ef first
}

}  // namespace
