#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <map>
#include <set>
#include <string>

#include <unistd.h>

#include "qtune/error.hpp"
#include "qtune/param_file.hpp"
#include "tune/fidelity.hpp"

namespace fid = qtune::fidelity;

namespace {

// --- nested samples -------------------------------------------------------------------------

TEST(tune_fidelity, samples_are_nested_seeded_and_sized) {
  const std::size_t n = 10007;
  const std::vector<double> fr = {0.03, 0.1, 0.3, 1.0};
  const auto a = fid::nested_sample_ids(n, fr, 42);
  ASSERT_EQ(a.size(), fr.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].size(), static_cast<std::size_t>(std::ceil(fr[i] * n - 1e-9))) << i;
    EXPECT_TRUE(std::is_sorted(a[i].begin(), a[i].end()));
    EXPECT_EQ(std::set<std::size_t>(a[i].begin(), a[i].end()).size(), a[i].size()) << "duplicates at " << i;
    EXPECT_LT(a[i].back(), n);
    if (i > 0) EXPECT_TRUE(std::includes(a[i].begin(), a[i].end(), a[i - 1].begin(), a[i - 1].end())) << i;
  }
  EXPECT_EQ(fid::nested_sample_ids(n, fr, 42), a) << "same seed, same samples";
  EXPECT_NE(fid::nested_sample_ids(n, fr, 43)[0], a[0]) << "another seed, other samples";
  // The smallest level is spread over the whole base, not a prefix.
  EXPECT_GT(a[0].back(), n / 2);
  EXPECT_THROW(fid::nested_sample_ids(n, {0.5, 0.3}, 1), qtune::error);
  EXPECT_THROW(fid::nested_sample_ids(n, {0.0, 1.0}, 1), qtune::error);
}

TEST(tune_fidelity, default_levels_are_geometric_and_skip_tiny_ones) {
  EXPECT_EQ(fid::default_fractions(1000000), (std::vector<double>{0.03, 0.1, 0.3, 1.0}));
  EXPECT_EQ(fid::default_fractions(60000), (std::vector<double>{0.1, 0.3, 1.0}));
  EXPECT_EQ(fid::default_fractions(60000, 1000), (std::vector<double>{0.03, 0.1, 0.3, 1.0}));
  EXPECT_EQ(fid::default_fractions(500), (std::vector<double>{1.0}));
}

TEST(tune_fidelity, level_ground_truth_equals_brute_force_on_that_level_and_is_cached) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  const std::size_t n = 3000, nq = 25, dim = 12, k = 10;
  std::vector<float> b(n * dim), q(nq * dim);
  for (auto& v : b) v = g(rng);
  for (auto& v : q) v = g(rng);
  const qtune::vectors base(b, n, dim);
  const qtune::vectors queries(q, nq, dim);
  const auto dir = std::filesystem::temp_directory_path() / ("qtune_fid_gt_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto levels = fid::nested_sample_ids(n, {0.1, 0.3, 1.0}, 5);
  for (const auto& rows : levels) {
    const auto gt = fid::level_ground_truth(base, rows, queries.view(), qtune::metric::l2, k, dir);
    ASSERT_EQ(gt.nq, nq);
    for (std::size_t i = 0; i < nq; ++i) {
      std::vector<std::pair<double, std::int32_t>> all;
      for (std::size_t p = 0; p < rows.size(); ++p) {
        double d = 0;
        for (std::size_t j = 0; j < dim; ++j) {
          const double t = double(base.row(rows[p])[j]) - double(queries.row(i)[j]);
          d += t * t;
        }
        all.emplace_back(d, static_cast<std::int32_t>(p));
      }
      std::partial_sort(all.begin(), all.begin() + k, all.end());
      for (std::size_t j = 0; j < k; ++j)
        EXPECT_EQ(gt.ids_of(i)[j], all[j].second) << "level " << rows.size() << " query " << i << " rank " << j;
    }
  }
  const auto before = qtune::exact_knn_call_count();
  for (const auto& rows : levels) fid::level_ground_truth(base, rows, queries.view(), qtune::metric::l2, k, dir);
  EXPECT_EQ(qtune::exact_knn_call_count(), before) << "second pass must come from the content-hash cache";
  std::filesystem::remove_all(dir);
}

// --- successive halving ---------------------------------------------------------------------

fid::level_result lr(const std::string& name, double cost, double half_width, bool reached = true) {
  return {name, reached, cost, cost - half_width, cost + half_width, true};
}

TEST(tune_fidelity, halving_drops_only_builds_dominated_at_their_level) {
  // At this level A is best (10 +- 1). B (10.8 +- 0.5) overlaps A; the test makes B the best at
  // full size, so dropping it here would lose the answer. C (15 +- 1) is dominated. D missed.
  std::vector<fid::level_result> level = {lr("C", 15, 1), lr("A", 10, 1), lr("B", 10.8, 0.5), lr("D", 5, 1, false)};
  level.push_back({"E", true, 12, 11.5, 12.5, false});  // over budget
  const auto d = fid::successive_halving(level, {});
  ASSERT_EQ(d.size(), level.size());
  std::map<std::string, fid::halving_decision> by;
  for (const auto& x : d) by[x.build] = x;
  EXPECT_TRUE(by["A"].keep) << by["A"].reason;
  EXPECT_TRUE(by["B"].keep) << "B's interval overlaps the best's: " << by["B"].reason;
  EXPECT_FALSE(by["C"].keep);
  EXPECT_NE(by["C"].reason.find("dominated"), std::string::npos) << by["C"].reason;
  EXPECT_FALSE(by["D"].keep);
  EXPECT_NE(by["D"].reason.find("did not reach"), std::string::npos);
  EXPECT_FALSE(by["E"].keep);
  EXPECT_NE(by["E"].reason.find("budget"), std::string::npos);
  // "Full size": B is now the best; it survived, so the final choice can be B.
  const std::vector<fid::level_result> full = {lr("A", 12, 0.5), lr("B", 11, 0.5)};
  const auto f = fid::successive_halving(full, {});
  EXPECT_TRUE(f[1].keep);

  // Property: over random levels, every dropped reaching build is dominated (lo > best hi).
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(1, 100), w(0, 10);
  for (int t = 0; t < 200; ++t) {
    std::vector<fid::level_result> r;
    for (int i = 0; i < 12; ++i) r.push_back(lr("b" + std::to_string(i), u(rng), w(rng), rng() % 5 != 0));
    fid::halving_policy pol;
    pol.relative_margin = 0.05;
    const auto dec = fid::successive_halving(r, pol);
    double best = 1e300, best_hi = 0;
    for (const auto& x : r)
      if (x.reached && x.cost < best) best = x.cost, best_hi = x.cost_hi + 0.05 * x.cost;
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (!r[i].reached) {
        EXPECT_FALSE(dec[i].keep);
        continue;
      }
      const double lo = r[i].cost_lo - 0.05 * r[i].cost;
      EXPECT_EQ(dec[i].keep, lo <= best_hi) << dec[i].reason;
    }
  }
}

// --- extrapolation ---------------------------------------------------------------------------

// Query q needs ef >= thr_q(n) = c_q * n^0.3 to be recalled fully; below it, 0.7 of it.
fid::level_curve synth_curve(std::size_t n, const std::vector<double>& c, const std::vector<std::size_t>& efs) {
  fid::level_curve cv;
  cv.n = n;
  cv.efs = efs;
  for (std::size_t ef : efs) {
    std::vector<double> pq;
    for (double cq : c) pq.push_back(static_cast<double>(ef) >= cq * std::pow(double(n), 0.3) ? 1.0 : 0.7);
    cv.per_query.push_back(pq);
  }
  return cv;
}

TEST(tune_fidelity, extrapolates_needed_ef_with_an_interval_that_covers_the_truth) {
  std::mt19937 rng(11);
  std::lognormal_distribution<double> ln(0.0, 0.4);
  std::vector<double> c(400);
  for (auto& x : c) x = ln(rng);
  std::vector<std::size_t> efs;
  for (std::size_t e = 10; e <= 4000; e = e * 5 / 4 + 1) efs.push_back(e);
  std::vector<fid::level_curve> levels;
  for (std::size_t n : {3000, 10000, 30000}) levels.push_back(synth_curve(n, c, efs));
  const double target = 0.95;
  const auto p = fid::predict_ef(levels, 100000, target, 10);
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(p.levels_used, 3u);
  // The ladder's steps make the needs at the levels (16.6, 23.7, 33.9) look slightly
  // accelerating (0.30, then 0.33): the quadratic model takes it, the interval's lower end
  // keeps the straight line, and the truth (0.27 beyond the last level) stays inside.
  EXPECT_GT(p.exponent, 0.2);
  EXPECT_LT(p.exponent, 0.45);
  const double truth = fid::needed_ef(synth_curve(100000, c, efs), target);
  EXPECT_LE(p.lo, truth);
  EXPECT_GE(p.hi, truth);
  EXPECT_LT(p.hi - p.lo, truth) << "an interval wider than the value says nothing";

  // needed_ef: interpolation, floor and never-reached.
  fid::level_curve cv{100, {10, 20}, {{0.9, 0.9}, {1.0, 1.0}}};
  EXPECT_NEAR(fid::needed_ef(cv, 0.95), std::sqrt(200.0), 1e-9);
  EXPECT_EQ(fid::needed_ef(cv, 0.5), 10.0);
  EXPECT_EQ(fid::needed_ef(cv, 1.01), -1.0);
  const auto fit = fid::fit_log_log({1000, 10000}, {10, 10 * std::pow(10.0, 0.5)});
  EXPECT_NEAR(fit.second, 0.5, 1e-9);
}

TEST(tune_fidelity, extrapolation_is_straight_for_a_power_law_and_follows_an_accelerating_growth) {
  const std::vector<double> n = {1800, 6000, 18000};
  // A pure power law: the quadratic term vanishes, the exponent is the law's.
  std::vector<double> pow_law;
  for (double x : n) pow_law.push_back(3.0 * std::pow(x, 0.3));
  const auto e = fid::extrapolate_ef(n, pow_law, 60000);
  EXPECT_NEAR(e.exponent, 0.3, 1e-6);
  EXPECT_NEAR(e.ef, 3.0 * std::pow(60000.0, 0.3), 1e-6 * e.ef);
  // log ef quadratic in log n (the exponent grows by 0.1 per e-fold of n), as measured on
  // Fashion-MNIST: the straight fit falls short at 60,000, the quadratic one does not.
  const auto law = [](double x) { return std::exp(1.0 + 0.05 * std::pow(std::log(x) - std::log(1800.0), 2) + 0.15 * std::log(x)); };
  std::vector<double> acc;
  for (double x : n) acc.push_back(law(x));
  const auto q = fid::extrapolate_ef(n, acc, 60000);
  EXPECT_NEAR(q.ef, law(60000), 1e-6 * law(60000));
  EXPECT_LT(q.straight_ef, 0.95 * law(60000));
  EXPECT_LT(q.local_ef, law(60000));
  // Bending down is not taken: the straight fit stands.
  std::vector<double> bend = {10, 14, 15};
  const auto b = fid::extrapolate_ef(n, bend, 60000);
  EXPECT_DOUBLE_EQ(b.ef, b.straight_ef);
}

TEST(tune_fidelity, auto_ef_from_a_prediction_gallops_both_ways_to_the_smallest_ef) {
  const auto curve = [](std::size_t ef) { return 1.0 - 1.0 / (1.0 + 0.05 * static_cast<double>(ef)); };
  for (double target : {0.5, 0.8, 0.9, 0.95, 0.97})
    for (std::size_t start : {10, 37, 100, 380, 1000, 4000}) {
      std::size_t calls = 0;
      const auto r = fid::find_min_ef_from(
          [&](std::size_t ef) {
            ++calls;
            return curve(ef);
          },
          target, start, 10, 4096);
      ASSERT_TRUE(r.reached) << target << " from " << start;
      EXPECT_GE(curve(r.ef), target);
      if (r.ef > 10) EXPECT_LT(curve(r.ef - 1), target) << "not the smallest: target " << target << " from " << start;
      EXPECT_EQ(calls, r.probes.size());
      EXPECT_EQ(r.probes.front(), start);
    }
  // A good prediction needs few probes: the answer for 0.95 is 380.
  const auto r = fid::find_min_ef_from(curve, 0.95, 372, 10, 4096);
  EXPECT_EQ(r.ef, 380u);
  EXPECT_LE(r.probes.size(), 8u);
  const auto miss = fid::find_min_ef_from(curve, 0.9999, 50, 10, 1000);
  EXPECT_FALSE(miss.reached);
  EXPECT_EQ(miss.ef, 1000u);
}

// --- memory ----------------------------------------------------------------------------------

TEST(tune_fidelity, memory_estimate_and_a_clear_error_when_it_does_not_fit) {
  const std::size_t sq8 = fid::estimate_build_bytes(1000000, 128, 128, 16, true, true, false);
  const std::size_t fp32 = fid::estimate_build_bytes(1000000, 128, 512, 16, false, true, false);
  EXPECT_GT(sq8, 1000000u * (128 + 512));  // codes graph + the float graph it is built on
  EXPECT_GT(fp32, 1000000u * 512);
  EXPECT_LT(fp32, 1000000u * 800);
  EXPECT_GT(fid::physical_memory_bytes(), 0u);
  EXPECT_EQ(fid::check_build_memory("b", 100, 1000, 4), 4u);
  EXPECT_EQ(fid::check_build_memory("b", 400, 1000, 4), 2u);
  EXPECT_EQ(fid::check_build_memory("b", 400, 0, 3), 3u);
  try {
    fid::check_build_memory("hnsw|fp32|M32|efc200", 5000, 1000, 1);
    FAIL() << "expected an error";
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("hnsw|fp32|M32|efc200"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5000 bytes"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

TEST(tune_fidelity, param_file_keeps_search_cost_and_the_extrapolated_mark) {
  qtune::recommended_params p;
  p.config.codec = "sq8";
  p.dim = 8;
  p.measured.n_base = 1000;
  const std::string plain = qtune::render_param_file(p);
  EXPECT_EQ(plain.find("at_full_size"), std::string::npos) << "a plain sweep's file is unchanged";
  EXPECT_EQ(plain.find("search_cost"), std::string::npos);
  p.at_full_size = false;
  p.search_cost = qtune::search_cost_info{12.5, 100.25, 24, 3};
  const std::string text = qtune::render_param_file(p);
  EXPECT_NE(text.find("at_full_size: false"), std::string::npos) << text;
  EXPECT_NE(text.find("exhaustive_seconds_estimate: 100.25"), std::string::npos) << text;
  const qtune::recommended_params back = qtune::parse_param_file_text(text, "r.yaml");
  EXPECT_FALSE(back.at_full_size);
  ASSERT_TRUE(back.search_cost.has_value());
  EXPECT_EQ(back.search_cost->builds_total, 24u);
  EXPECT_EQ(back.search_cost->builds_full_size, 3u);
  EXPECT_EQ(qtune::render_param_file(back), text);
}

}  // namespace
