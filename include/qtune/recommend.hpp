#pragma once
// Choosing: the smallest efSearch that reaches a recall target (galloping + bisection),
// confidence intervals for recall, and the recommendation from measured points.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune {

// --- auto efSearch -------------------------------------------------------------------------
struct ef_search_result {
  std::size_t ef = 0;            ///< smallest ef found reaching the target (or ef_max if none)
  double recall = 0;             ///< recall_at(ef)
  bool reached = false;          ///< recall >= target
  std::vector<std::size_t> probes;  ///< every ef evaluated, in order
};
/// Finds the smallest ef in [ef_min, ef_max] with recall_at(ef) >= target, assuming recall is
/// (roughly) non-decreasing in ef: gallop ef_min, 2 ef_min, 4 ef_min, ... until the target is
/// met, then bisect between the last miss and the first hit. The returned ef was evaluated
/// and met the target (when reached). Each ef is evaluated at most once.
ef_search_result find_min_ef(const std::function<double(std::size_t ef)>& recall_at, double target,
                             std::size_t ef_min, std::size_t ef_max);

// --- confidence intervals ------------------------------------------------------------------
struct interval {
  double lo = 0, hi = 0;
};
/// Wilson score interval for `successes` of `trials` Bernoulli trials at normal quantile z
/// (1.959964 for 95%). trials == 0 gives [0, 1].
interval wilson_interval(double successes, double trials, double z = 1.959963984540054);
/// Percentile bootstrap interval of the mean of per-query values (resampling queries), with
/// a fixed seed so it is reproducible. Empty input gives [0, 1].
interval bootstrap_mean_interval(const std::vector<double>& per_query, double level = 0.95,
                                 std::size_t resamples = 2000, std::uint64_t seed = 12345);

// --- recommendation ------------------------------------------------------------------------
struct recommend_policy {
  double target = 0.95;
  recall_measure steer_by = recall_measure::ids;
  objective_kind objective = objective_kind::latency_p50;
  std::uint64_t memory_budget = 0;   ///< 0 = none
  bool memory_counts_rerank = true;
};
recommend_policy policy_of(const sweep_spec& spec);

/// The objective value of a point, as a number where smaller is better (qps negated).
double objective_cost(const measured_point& p, const recommend_policy& policy);
/// Its range over the point's repetitions ({best, worst} repetition, as objective_cost orders
/// them; memory has no spread): the interval multi-fidelity halving compares.
interval objective_range(const measured_point& p, const recommend_policy& policy);
/// Memory the budget and the memory objective count.
std::size_t counted_bytes(const measured_point& p, const recommend_policy& policy);
double tuning_recall(const measured_point& p, recall_measure by);
double validation_recall(const measured_point& p, recall_measure by);

struct recommendation {
  std::optional<std::size_t> chosen;       ///< index into points
  std::vector<std::size_t> candidates;     ///< tuning-qualified, within budget, best first
  std::vector<std::size_t> rejected_by_validation;  ///< tried before `chosen`, in order
  std::optional<std::size_t> best_recall;  ///< the point with the highest tuning recall
  std::string message;                     ///< one line for the user
};
/// Candidates: points whose tuning recall >= target and (if any) memory within the budget,
/// ordered by objective cost (ties: less memory, then smaller efSearch, then key). The first
/// candidate whose validation recall >= target is chosen; validation never reorders.
recommendation recommend(const std::vector<measured_point>& points, const recommend_policy& policy);

}  // namespace qtune
