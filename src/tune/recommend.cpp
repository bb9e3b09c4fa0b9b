#include "qtune/recommend.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <map>
#include <random>
#include <sstream>

#include "qtune/error.hpp"
#include "tune/fidelity.hpp"

namespace qtune {

namespace {

/// recall_at(ef), each ef evaluated at most once; every probe is appended to out.probes in order.
class ef_prober {
 public:
  ef_prober(const std::function<double(std::size_t)>& recall_at, ef_search_result& out)
      : recall_at_(recall_at), out_(out) {}
  double operator()(std::size_t ef) {
    if (auto it = seen_.find(ef); it != seen_.end()) return it->second;
    const double r = recall_at_(ef);
    seen_.emplace(ef, r);
    out_.probes.push_back(ef);
    return r;
  }
  const std::map<std::size_t, double>& seen() const { return seen_; }
  /// Bisects between the last miss (0 = none) and the first hit, which was evaluated and met the
  /// target, and sets out's ef / recall / reached to the smallest hit.
  void bisect_to_smallest_hit(std::size_t miss, std::size_t hit, double target) {
    while (miss != 0 && hit - miss > 1) {
      const std::size_t mid = miss + (hit - miss) / 2;
      if ((*this)(mid) >= target) hit = mid;
      else miss = mid;
    }
    out_.ef = hit;
    out_.recall = seen_.at(hit);
    out_.reached = true;
  }

 private:
  const std::function<double(std::size_t)>& recall_at_;
  ef_search_result& out_;
  std::map<std::size_t, double> seen_;
};

}  // namespace

ef_search_result find_min_ef(const std::function<double(std::size_t)>& recall_at, double target,
                             std::size_t ef_min, std::size_t ef_max) {
  ef_min = std::max<std::size_t>(1, ef_min);
  ef_max = std::max(ef_min, ef_max);
  ef_search_result out;
  ef_prober eval(recall_at, out);
  // Gallop: double until the target is met (or ef_max is reached without it).
  std::size_t miss = 0, hit = 0;
  for (std::size_t ef = ef_min;; ef = std::min(ef * 2, ef_max)) {
    if (eval(ef) >= target) {
      hit = ef;
      break;
    }
    miss = ef;
    if (ef == ef_max) break;
  }
  if (hit == 0) {  // never reached: report the best recall seen (ties: smaller ef)
    out.ef = ef_max;
    out.recall = eval.seen().at(ef_max);
    for (const auto& [ef, r] : eval.seen())
      if (r > out.recall) out.ef = ef, out.recall = r;
    out.reached = false;
    return out;
  }
  eval.bisect_to_smallest_hit(miss, hit, target);
  return out;
}

namespace fidelity {

ef_search_result find_min_ef_from(const std::function<double(std::size_t ef)>& recall_at, double target,
                                  std::size_t start, std::size_t ef_min, std::size_t ef_max) {
  QTUNE_CHECK(ef_min >= 1 && ef_min <= ef_max, "find_min_ef_from: need 1 <= ef_min <= ef_max, got ", ef_min, ", ",
              ef_max);
  ef_search_result out;
  ef_prober eval(recall_at, out);
  start = std::clamp(start, ef_min, ef_max);
  std::size_t miss = 0, hit = 0;  // miss: largest ef known below target (0 = none); hit: smallest reaching
  if (eval(start) >= target) {
    hit = start;
    for (std::size_t step = 1;;) {  // down: start - 1, - 2, - 4, ... to the first miss
      if (hit == ef_min) break;
      const std::size_t e = hit > ef_min + step ? hit - step : ef_min;
      if (eval(e) >= target) hit = e, step *= 2;
      else {
        miss = e;
        break;
      }
    }
  } else {
    miss = start;
    for (std::size_t step = std::max<std::size_t>(1, start / 32);;) {  // up: + start/32, doubling, to the first hit
      if (miss == ef_max) break;
      const std::size_t e = std::min(ef_max, miss + step);
      if (eval(e) >= target) {
        hit = e;
        break;
      }
      miss = e, step *= 2;
    }
  }
  if (hit == 0) {  // never reached: report the largest ef tried
    out.ef = ef_max;
    out.recall = eval(ef_max);
    return out;
  }
  eval.bisect_to_smallest_hit(miss, hit, target);
  return out;
}

}  // namespace fidelity

interval wilson_interval(double successes, double trials, double z) {
  if (trials <= 0) return {0.0, 1.0};
  const double p = successes / trials;
  const double z2 = z * z;
  const double denom = 1 + z2 / trials;
  const double center = (p + z2 / (2 * trials)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denom;
  return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

interval bootstrap_mean_interval(const std::vector<double>& per_query, double level, std::size_t resamples,
                                 std::uint64_t seed) {
  const std::size_t n = per_query.size();
  if (n == 0) return {0.0, 1.0};
  resamples = std::max<std::size_t>(resamples, 10);
  std::mt19937_64 rng(seed);
  std::vector<double> means(resamples);
  for (std::size_t b = 0; b < resamples; ++b) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += per_query[rng() % n];
    means[b] = sum / static_cast<double>(n);
  }
  std::sort(means.begin(), means.end());
  const double alpha = (1.0 - level) / 2.0;
  auto at = [&](double q) {
    const double pos = q * static_cast<double>(resamples - 1);
    const std::size_t i = static_cast<std::size_t>(std::floor(pos));
    const std::size_t j = std::min(i + 1, resamples - 1);
    return means[i] + (pos - static_cast<double>(i)) * (means[j] - means[i]);
  };
  return {at(alpha), at(1.0 - alpha)};
}

recommend_policy policy_of(const sweep_spec& spec) {
  recommend_policy p;
  p.target = spec.target_recall;
  p.steer_by = spec.steer_by;
  p.objective = spec.objective;
  p.memory_budget = spec.memory_budget;
  p.memory_counts_rerank = spec.memory_counts_rerank;
  return p;
}

std::size_t counted_bytes(const measured_point& p, const recommend_policy& policy) {
  return policy.memory_counts_rerank ? p.total_bytes() : p.resident_bytes;
}

double objective_cost(const measured_point& p, const recommend_policy& policy) {
  switch (policy.objective) {
    case objective_kind::latency_p50: return p.latency_p50_us.median;
    case objective_kind::latency_p99: return p.latency_p99_us.median;
    case objective_kind::qps: return -p.qps_single.median;
    case objective_kind::memory: return static_cast<double>(counted_bytes(p, policy));
  }
  return 0;
}

interval objective_range(const measured_point& p, const recommend_policy& policy) {
  switch (policy.objective) {
    case objective_kind::latency_p50: return {p.latency_p50_us.min, p.latency_p50_us.max};
    case objective_kind::latency_p99: return {p.latency_p99_us.min, p.latency_p99_us.max};
    case objective_kind::qps: return {-p.qps_single.max, -p.qps_single.min};
    case objective_kind::memory: break;
  }
  const double c = objective_cost(p, policy);
  return {c, c};
}

double tuning_recall(const measured_point& p, recall_measure by) {
  return by == recall_measure::ids ? p.tuning_recall_ids.value : p.tuning_recall_distance.value;
}
double validation_recall(const measured_point& p, recall_measure by) {
  return by == recall_measure::ids ? p.validation_recall_ids.value : p.validation_recall_distance.value;
}

recommendation recommend(const std::vector<measured_point>& points, const recommend_policy& policy) {
  recommendation out;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    if (!out.best_recall || tuning_recall(p, policy.steer_by) > tuning_recall(points[*out.best_recall], policy.steer_by))
      out.best_recall = i;
    if (tuning_recall(p, policy.steer_by) < policy.target) continue;
    if (policy.memory_budget > 0 && counted_bytes(p, policy) > policy.memory_budget) continue;
    out.candidates.push_back(i);
  }
  std::sort(out.candidates.begin(), out.candidates.end(), [&](std::size_t a, std::size_t b) {
    const auto& pa = points[a];
    const auto& pb = points[b];
    const double ca = objective_cost(pa, policy), cb = objective_cost(pb, policy);
    if (ca != cb) return ca < cb;
    const std::size_t ma = counted_bytes(pa, policy), mb = counted_bytes(pb, policy);
    if (ma != mb) return ma < mb;
    if (pa.config.ef_search != pb.config.ef_search) return pa.config.ef_search < pb.config.ef_search;
    return pa.key() < pb.key();
  });
  for (std::size_t i : out.candidates) {
    if (validation_recall(points[i], policy.steer_by) >= policy.target) {
      out.chosen = i;
      break;
    }
    out.rejected_by_validation.push_back(i);
  }
  std::ostringstream msg;
  msg << std::fixed << std::setprecision(4);
  if (out.chosen) {
    const auto& p = points[*out.chosen];
    msg << "recommended: " << p.describe() << " (tuning recall " << tuning_recall(p, policy.steer_by)
        << ", validation recall " << validation_recall(p, policy.steer_by) << ")";
  } else if (!out.candidates.empty()) {
    const auto& p = points[out.candidates.front()];
    msg << "target recall " << policy.target << " missed: " << out.candidates.size()
        << " configuration(s) reached it on tuning queries but none held on validation queries; best was "
        << p.describe() << " with validation recall " << validation_recall(p, policy.steer_by);
  } else if (out.best_recall) {
    const auto& p = points[*out.best_recall];
    msg << "target recall " << policy.target << " missed"
        << (policy.memory_budget > 0 ? " (within the memory budget)" : "") << ": best recall reached was "
        << tuning_recall(p, policy.steer_by) << " with " << p.describe();
  } else {
    msg << "target recall " << policy.target << " missed: no point was measured";
  }
  out.message = msg.str();
  return out;
}

}  // namespace qtune
