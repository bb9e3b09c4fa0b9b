#pragma once
// Multi-fidelity tuning, the pure pieces (issue 10): nested seeded samples of the base, the
// exact ground truth of each sample level, successive halving over builds, extrapolation of
// the efSearch a build needs as the base grows, and a memory estimate per build before it is
// built. No I/O except the ground-truth cache; the sweep composes these.
//
//   auto levels = fidelity::nested_sample_ids(n, {0.03, 0.1, 0.3, 1.0}, seed);
//   for each level: build every surviving build on base.select(levels[i]), auto-ef, then
//   auto keep = fidelity::successive_halving(results_at_level, policy);
//   auto pred = fidelity::predict_ef(curves_of_build, n, target);   // start auto-ef from pred.ef
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/metric.hpp"
#include "qtune/recommend.hpp"

namespace qtune::fidelity {

// --- nested samples ------------------------------------------------------------------------

/// The default level fractions for a base of n rows: geometric 3%, 10%, 30%, 100%, dropping
/// leading levels with fewer than `min_rows` rows (a sample that small says little about the
/// graph at full size). Always ends with 1.0.
std::vector<double> default_fractions(std::size_t n, std::size_t min_rows = 2000);

/// Row ids of each level, ascending within a level. Level i holds ceil(fractions[i] * n) rows
/// (at least 1), the first that many of one seeded permutation of 0..n-1, so every level
/// contains the one below (nested) and the same seed gives the same rows on every platform
/// (splitmix64 + Fisher-Yates, no std distributions). fractions: strictly increasing in (0, 1].
std::vector<std::vector<std::size_t>> nested_sample_ids(std::size_t n, const std::vector<double>& fractions,
                                                        std::uint64_t seed);

/// Exact top-k of every query against the level's rows of `base`: ids are positions in `rows`
/// (0..rows.size()-1, i.e. ids of an index built on base.select(rows)). Cached on disk in
/// cache_dir by content hash of the level (cached_exact_knn), so a level is computed once.
knn_result level_ground_truth(const vectors& base, const std::vector<std::size_t>& rows, matrix_view<float> queries,
                              metric m, std::size_t k, const std::filesystem::path& cache_dir);

// --- successive halving --------------------------------------------------------------------

/// What one build achieved at one level, as the halving step sees it.
struct level_result {
  std::string build;             ///< build key, e.g. "hnsw|sq8|M16|efc100"
  bool reached = false;          ///< some measured efSearch reached the target recall
  double cost = 0;               ///< objective at the cheapest point reaching it (smaller is better)
  double cost_lo = 0, cost_hi = 0;  ///< its confidence interval (cost_lo <= cost <= cost_hi)
  bool fits_budget = true;       ///< the memory predicted at full size is within the budget
};

struct halving_policy {
  /// Each interval is widened by this fraction of its cost on both sides before comparing:
  /// the cost at full size is not the cost at this level, and a noisy machine moves latencies.
  double relative_margin = 0.0;
  /// Keep at least this many reaching builds (best first) even if dominated; 0 = only the rule.
  std::size_t keep_at_least = 1;
};

struct halving_decision {
  std::string build;
  bool keep = false;
  std::string reason;            ///< why it was kept or dropped, one line for results.jsonl
};

/// Keeps the builds that reach the target and fit the budget whose (widened) cost interval
/// overlaps the best one's, i.e. cost_lo <= best.cost_hi where best = the lowest cost; drops
/// every other build with the reason (target not reached, over budget, or dominated: its
/// interval lies entirely above the best's). Output order = input order.
std::vector<halving_decision> successive_halving(const std::vector<level_result>& results, const halving_policy& policy);

// --- extrapolation of the needed efSearch --------------------------------------------------

/// One build at one level: recall per query at each probed efSearch (same queries, same order,
/// at every level), as auto-ef measured them.
struct level_curve {
  std::size_t n = 0;                          ///< base rows at this level
  std::vector<std::size_t> efs;               ///< probed efSearch values, ascending, distinct
  std::vector<std::vector<double>> per_query; ///< per_query[i][q]: recall of query q at efs[i]
};

/// Smallest efSearch reaching `target` on a curve, as a real number: the mean recall is
/// interpolated linearly in log(ef) between the last probe below the target and the first
/// probe reaching it (hnswlib's ef is an integer, the fit wants a continuous value). When the
/// first probe already reaches it (censored at the smallest ef searched), a second probe
/// continues the curve below as a power law of the miss rate (log(1 - recall) linear in
/// log(ef)), down to efs[0] / 4; with one probe it is efs[0]. Never reached: -1. `rows`
/// (optional) selects queries (bootstrap).
double needed_ef(const level_curve& c, double target, const std::vector<std::size_t>* rows = nullptr);

struct ef_prediction {
  double ef = 0;                 ///< predicted efSearch at n_target (point estimate)
  double lo = 0, hi = 0;         ///< interval: bootstrap over queries (percentiles), rounded out;
                                 ///< hi = +inf when resamples reaching no level are past the percentile
  double exponent = 0;           ///< d log(ef) / d log(n) at n_target (b of ef = a * n^b when straight)
  std::size_t levels_used = 0;   ///< levels whose curve reached the target
  bool ok = false;               ///< false when no level reached the target
};

/// Extrapolates the needed efSearch of the levels to n_target (extrapolate_ef: log-log, straight
/// or, with three levels or more and an accelerating growth, quadratic; with one usable level
/// b = `default_exponent`). The interval resamples the queries (the same rows at every level)
/// `resamples` times with a fixed seed and takes the (1-level)/2 and (1+level)/2 percentiles
/// of the prediction; its lower end also covers the straight lines (through all levels, and
/// through the last two): the model's own uncertainty, beside the queries' sampling noise;
/// widened to whole efSearch values (floor lo, ceil hi) and never below k_floor.
ef_prediction predict_ef(const std::vector<level_curve>& levels, std::size_t n_target, double target,
                         double k_floor = 1, std::size_t resamples = 200, double level = 0.9,
                         std::uint64_t seed = 12345, double default_exponent = 0.25, double max_exponent = 1.0);

/// An extrapolation of the needed efSearch to n_target (see predict_ef).
struct ef_extrapolation {
  double ef = 0;        ///< the prediction
  double exponent = 0;  ///< d log(ef) / d log(n) at n_target
  double local_ef = 0;  ///< the straight log-log line through the last two levels, at n_target
  double straight_ef = 0;  ///< the straight least-squares line through all levels, at n_target
};
/// From (n_i, ef_i), n ascending: with three or more levels and an accelerating growth (the
/// usual case: on Fashion-MNIST the exponent went 0.19, 0.26, 0.31 from 1,800 to 60,000 rows), a
/// quadratic least-squares fit in log-log, continued from the last level with the slope
/// interpolated to the target (clamped to [0, max_exponent]); otherwise the straight fit_log_log.
ef_extrapolation extrapolate_ef(const std::vector<double>& n, const std::vector<double>& ef, double n_target,
                                double default_exponent = 0.25, double max_exponent = 1.0);

/// ef = a * n^b through (n_i, ef_i) pairs, least squares in log-log. Fewer than two distinct n
/// gives b = default_exponent through the mean. Returns {log a, b}.
std::pair<double, double> fit_log_log(const std::vector<double>& n, const std::vector<double>& ef,
                                      double default_exponent = 0.25, double max_exponent = 1.0);

/// Auto-ef started from a prediction: evaluates `start` (clamped to [ef_min, ef_max]); if it
/// reaches the target, steps down (start - 1, - 2, - 4, ... >= ef_min) to the first miss, else up
/// (start + start/32, doubling the step, <= ef_max) to the first hit; then bisects between the
/// last miss and the first hit, as find_min_ef() (recommend.hpp) does, with every probe in order;
/// each ef is evaluated at most once. Never reached: ef = ef_max, reached = false. With a good
/// prediction it needs ~2 + log2(interval width) probes instead of log2(ef / ef_min) + bisection.
/// Defined in recommend.cpp, beside find_min_ef, with which it shares the bisection.
ef_search_result find_min_ef_from(const std::function<double(std::size_t ef)>& recall_at, double target,
                                  std::size_t start, std::size_t ef_min, std::size_t ef_max);

// --- memory before building ----------------------------------------------------------------

/// Analytic peak bytes of building one hnsw index over n rows of dim floats: the codes graph
/// (code_size + level-0 links 2M*4+4 + label 8 + upper levels ~(M*4+4)/ln M per row), the
/// float graph the links are built on when graph_source is "float" and the codec is lossy,
/// and the rerank copy of the floats when keep_floats. Excludes the loaded data set itself.
std::size_t estimate_build_bytes(std::size_t n, std::size_t dim, std::size_t code_size, std::size_t m,
                                 bool lossy, bool float_graph, bool keep_floats);

/// The machine's physical memory (sysconf), 0 when unknown.
std::size_t physical_memory_bytes();

/// Throws qtune::error "<build>: needs ~X bytes (estimate) but only Y are available ..." when
/// `bytes` exceeds `available` (0 = unknown: never throws). `parallel` builds at once share it:
/// returns how many of them fit at once (>= 1), so the caller can lower its parallelism.
std::size_t check_build_memory(const std::string& build, std::size_t bytes, std::size_t available,
                               std::size_t parallel);

}  // namespace qtune::fidelity
