// Multi-fidelity pieces (see fidelity.hpp). Everything here is deterministic given its inputs.
#include "tune/fidelity.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <sstream>

#include "qtune/error.hpp"

namespace qtune::fidelity {

namespace {

// splitmix64: a tiny, portable generator (same stream with every standard library).
struct splitmix64 {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Unbiased draw in [0, bound) (Lemire's multiply-shift with rejection).
  std::uint64_t below(std::uint64_t bound) noexcept {
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
      const auto low = static_cast<std::uint64_t>(m);
      if (low >= (-bound) % bound) return static_cast<std::uint64_t>(m >> 64);
    }
  }
};

double quantile_sorted(const std::vector<double>& s, double q) {
  if (s.empty()) return 0;
  const double pos = q * static_cast<double>(s.size() - 1);
  const auto i = static_cast<std::size_t>(std::floor(pos));
  const std::size_t j = std::min(s.size() - 1, i + 1);
  return s[i] + (pos - static_cast<double>(i)) * (s[j] - s[i]);
}

}  // namespace

std::vector<double> default_fractions(std::size_t n, std::size_t min_rows) {
  std::vector<double> out;
  for (double f : {0.03, 0.1, 0.3})
    if (static_cast<double>(n) * f >= static_cast<double>(min_rows)) out.push_back(f);
  out.push_back(1.0);
  return out;
}

std::vector<std::vector<std::size_t>> nested_sample_ids(std::size_t n, const std::vector<double>& fractions,
                                                        std::uint64_t seed) {
  QTUNE_CHECK(n > 0, "fidelity: cannot sample an empty base");
  QTUNE_CHECK(!fractions.empty(), "fidelity: no levels");
  for (std::size_t i = 0; i < fractions.size(); ++i) {
    QTUNE_CHECK(fractions[i] > 0 && fractions[i] <= 1, "fidelity: level ", i, " fraction must be in (0, 1], got ",
                fractions[i]);
    QTUNE_CHECK(i == 0 || fractions[i] > fractions[i - 1], "fidelity: level fractions must increase, got ",
                fractions[i - 1], " then ", fractions[i]);
  }
  // Partial Fisher-Yates: only the prefix the largest level needs is drawn.
  std::vector<std::size_t> perm(n);
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  const auto size_of = [n](double f) {
    return std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(f * static_cast<double>(n) - 1e-9)), 1, n);
  };
  const std::size_t top = size_of(fractions.back());
  splitmix64 rng{seed ^ 0x6669'6465'6c69'7479ull};  // "fidelity"
  for (std::size_t i = 0; i < top && i + 1 < n; ++i) std::swap(perm[i], perm[i + rng.below(n - i)]);
  std::vector<std::vector<std::size_t>> out;
  for (double f : fractions) {
    std::vector<std::size_t> ids(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(size_of(f)));
    std::sort(ids.begin(), ids.end());
    out.push_back(std::move(ids));
  }
  return out;
}

knn_result level_ground_truth(const vectors& base, const std::vector<std::size_t>& rows, matrix_view<float> queries,
                              metric m, std::size_t k, const std::filesystem::path& cache_dir) {
  if (rows.size() == base.rows()) return cached_exact_knn(base.view(), queries, m, k, cache_dir);
  const vectors level = base.select(rows);
  return cached_exact_knn(level.view(), queries, m, k, cache_dir);
}

std::vector<halving_decision> successive_halving(const std::vector<level_result>& results,
                                                 const halving_policy& policy) {
  std::vector<halving_decision> out(results.size());
  const auto lo_of = [&](const level_result& r) { return r.cost_lo - policy.relative_margin * std::abs(r.cost); };
  const auto hi_of = [&](const level_result& r) { return r.cost_hi + policy.relative_margin * std::abs(r.cost); };
  std::vector<std::size_t> ok;
  for (std::size_t i = 0; i < results.size(); ++i) {
    out[i].build = results[i].build;
    if (!results[i].reached) out[i].reason = "dropped: did not reach the target recall at this level";
    else if (!results[i].fits_budget) out[i].reason = "dropped: predicted memory at full size exceeds the budget";
    else ok.push_back(i);
  }
  if (ok.empty()) return out;
  std::sort(ok.begin(), ok.end(), [&](std::size_t a, std::size_t b) {
    return results[a].cost != results[b].cost ? results[a].cost < results[b].cost : a < b;
  });
  const level_result& best = results[ok.front()];
  const double best_hi = hi_of(best);
  for (std::size_t rank = 0; rank < ok.size(); ++rank) {
    const std::size_t i = ok[rank];
    const level_result& r = results[i];
    std::ostringstream why;
    if (rank == 0) {
      out[i].keep = true;
      why << "kept: best by the objective at this level (" << r.cost << ")";
    } else if (lo_of(r) <= best_hi) {
      out[i].keep = true;
      why << "kept: interval [" << lo_of(r) << ", " << hi_of(r) << "] overlaps the best's [" << lo_of(best) << ", "
          << best_hi << "]";
    } else if (rank < policy.keep_at_least) {
      out[i].keep = true;
      why << "kept: among the " << policy.keep_at_least << " best";
    } else {
      why << "dropped: dominated at this level, interval [" << lo_of(r) << ", " << hi_of(r) << "] lies above the best's ["
          << lo_of(best) << ", " << best_hi << "] (" << best.build << ")";
    }
    out[i].reason = why.str();
  }
  return out;
}

namespace {

/// The first probe already reaches the target (small samples often do at efSearch = k, the
/// least hnswlib searches with): the need is censored there. With a second probe, continue the
/// curve below the first one as a power law of the miss rate, log(1 - recall) linear in
/// log(ef), so that levels on the floor still say how the need grows; at most 4x below.
template <class MeanRecall>
double below_first_probe(const level_curve& c, double target, double r1, const MeanRecall& mean_recall) {
  const double ef1 = static_cast<double>(c.efs[0]);
  if (c.efs.size() < 2 || r1 >= 1.0 || target >= 1.0) return ef1;
  const double r2 = mean_recall(1), ef2 = static_cast<double>(c.efs[1]);
  if (!(r2 > r1) || r2 >= 1.0) return ef1;
  const double slope = (std::log(1 - r2) - std::log(1 - r1)) / (std::log(ef2) - std::log(ef1));  // < 0
  const double log_ef = std::log(ef1) + (std::log(1 - target) - std::log(1 - r1)) / slope;
  return std::max(ef1 / 4, std::exp(log_ef));
}

}  // namespace

double needed_ef(const level_curve& c, double target, const std::vector<std::size_t>* rows) {
  QTUNE_CHECK(c.efs.size() == c.per_query.size(), "fidelity: curve has ", c.efs.size(), " efSearch values but ",
              c.per_query.size(), " recall rows");
  const auto mean_recall = [&](std::size_t i) {
    const auto& pq = c.per_query[i];
    double s = 0;
    std::size_t cnt = 0;
    if (rows) {
      for (std::size_t q : *rows) s += pq[q];
      cnt = rows->size();
    } else {
      s = std::accumulate(pq.begin(), pq.end(), 0.0);
      cnt = pq.size();
    }
    return cnt ? s / static_cast<double>(cnt) : 0.0;
  };
  double prev_ef = 0, prev_r = -1;
  for (std::size_t i = 0; i < c.efs.size(); ++i) {
    const double r = mean_recall(i);
    const double ef = static_cast<double>(c.efs[i]);
    if (r >= target) {
      if (i == 0) return below_first_probe(c, target, r, mean_recall);
      if (r <= prev_r) return ef;
      const double t = (target - prev_r) / (r - prev_r);
      return std::exp(std::log(prev_ef) + t * (std::log(ef) - std::log(prev_ef)));
    }
    prev_ef = ef, prev_r = r;
  }
  return -1;
}

std::pair<double, double> fit_log_log(const std::vector<double>& n, const std::vector<double>& ef,
                                      double default_exponent, double max_exponent) {
  QTUNE_CHECK(n.size() == ef.size() && !n.empty(), "fidelity: fit needs as many n as ef values (>= 1)");
  std::vector<double> x, y;
  for (std::size_t i = 0; i < n.size(); ++i) x.push_back(std::log(n[i])), y.push_back(std::log(ef[i]));
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(y.size());
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  double b = sxx > 1e-12 ? sxy / sxx : default_exponent;
  // The needed ef does not shrink as the base grows (more points, same graph degree); a
  // negative slope is sampling noise at small levels.
  b = std::clamp(b, 0.0, max_exponent);
  return {my - b * mx, b};
}

ef_extrapolation extrapolate_ef(const std::vector<double>& n, const std::vector<double>& ef, double n_target,
                                double default_exponent, double max_exponent) {
  const auto [la, b] = fit_log_log(n, ef, default_exponent, max_exponent);
  const double xt = std::log(n_target);
  ef_extrapolation out{std::exp(la + b * xt), b, std::exp(la + b * xt), std::exp(la + b * xt)};
  if (n.size() < 2) return out;
  // the straight line through the last two levels (n ascending)
  const std::size_t m = n.size();
  const auto [la2, b2] = fit_log_log({n[m - 2], n[m - 1]}, {ef[m - 2], ef[m - 1]}, default_exponent, max_exponent);
  out.local_ef = std::exp(la2 + b2 * xt);
  if (m < 3) return out;
  // Three or more levels: least squares y = c0 + c1 x + c2 x^2 (x, y centred for conditioning).
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < m; ++i) mx += std::log(n[i]), my += std::log(ef[i]);
  mx /= static_cast<double>(m), my /= static_cast<double>(m);
  double s[5] = {0, 0, 0, 0, 0}, t[3] = {0, 0, 0};  // sums of x^k and y x^k
  for (std::size_t i = 0; i < m; ++i) {
    const double x = std::log(n[i]) - mx, y = std::log(ef[i]) - my;
    double xk = 1;
    for (int k = 0; k < 5; ++k) s[k] += xk, xk *= x;
    t[0] += y, t[1] += y * x, t[2] += y * x * x;
  }
  // normal equations [s0 s1 s2; s1 s2 s3; s2 s3 s4] c = t, by Cramer's rule
  const auto det3 = [](double a, double b, double c, double d, double e, double f, double g, double h, double i) {
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  };
  const double d = det3(s[0], s[1], s[2], s[1], s[2], s[3], s[2], s[3], s[4]);
  if (std::abs(d) < 1e-12) return out;
  const double c0 = det3(t[0], s[1], s[2], t[1], s[2], s[3], t[2], s[3], s[4]) / d;
  const double c1 = det3(s[0], t[0], s[2], s[1], t[1], s[3], s[2], t[2], s[4]) / d;
  const double c2 = det3(s[0], s[1], t[0], s[1], s[2], t[1], s[2], s[3], t[2]) / d;
  // Only an accelerating growth is taken (a bending-down fit is noise at small samples: the
  // need does not level off as the base grows); the slope at the target stays <= max_exponent.
  if (c2 <= 0) return out;
  const double xl = std::log(n.back()) - mx, x = xt - mx;
  const double slope_last = std::clamp(c1 + 2 * c2 * xl, 0.0, max_exponent);
  const double slope_t = std::clamp(c1 + 2 * c2 * x, 0.0, max_exponent);
  const double y_last = c0 + c1 * xl + c2 * xl * xl;
  out.ef = std::exp(my + y_last + 0.5 * (slope_last + slope_t) * (x - xl));  // trapezoid on the slope
  out.exponent = slope_t;
  return out;
}

ef_prediction predict_ef(const std::vector<level_curve>& levels, std::size_t n_target, double target, double k_floor,
                         std::size_t resamples, double level, std::uint64_t seed, double default_exponent,
                         double max_exponent) {
  ef_prediction out;
  // The model's prediction and the lower of the straight log-log lines (through all levels,
  // through the last two); -1 when no level reaches the target.
  const auto predict = [&](const std::vector<std::size_t>* rows, std::size_t* used) -> std::pair<double, double> {
    std::vector<double> ns, efs;
    for (const auto& c : levels) {
      const double e = needed_ef(c, target, rows);
      if (e > 0) ns.push_back(static_cast<double>(c.n)), efs.push_back(e);
    }
    if (used) *used = ns.size();
    if (ns.empty()) return {-1, -1};
    const ef_extrapolation e = extrapolate_ef(ns, efs, static_cast<double>(n_target), default_exponent, max_exponent);
    if (used) out.exponent = e.exponent;
    return {std::max(k_floor, e.ef), std::max(k_floor, std::min(e.local_ef, e.straight_ef))};
  };
  const auto [ef, straight] = predict(nullptr, &out.levels_used);
  out.ef = ef;
  if (out.ef < 0) return out;
  out.ok = true;
  std::size_t nq = levels.front().per_query.empty() ? 0 : levels.front().per_query.front().size();
  for (const auto& c : levels)
    for (const auto& pq : c.per_query)
      QTUNE_CHECK(pq.size() == nq, "fidelity: every level must score the same queries (", nq, " vs ", pq.size(), ")");
  std::vector<double> preds, preds_straight;
  splitmix64 rng{seed};
  std::vector<std::size_t> rows(nq);
  for (std::size_t s = 0; s < resamples && nq > 0; ++s) {
    for (auto& r : rows) r = rng.below(nq);
    const auto [p, ps] = predict(&rows, nullptr);
    // A resample in which no level reaches the target says the need is above every probe.
    preds.push_back(p > 0 ? p : std::numeric_limits<double>::infinity());
    preds_straight.push_back(ps > 0 ? ps : std::numeric_limits<double>::infinity());
  }
  std::sort(preds.begin(), preds.end());
  std::sort(preds_straight.begin(), preds_straight.end());
  const double a = (1 - level) / 2;
  // The lower end also covers the straight lines' own interval: whether the growth keeps
  // accelerating beyond the levels is the least certain part of the model.
  out.lo = std::max(k_floor, std::floor(std::min({out.ef, straight, quantile_sorted(preds, a),
                                                  quantile_sorted(preds_straight, a)})));
  out.hi = std::ceil(std::max(out.ef, quantile_sorted(preds, 1 - a)));
  return out;
}

std::size_t estimate_build_bytes(std::size_t n, std::size_t dim, std::size_t code_size, std::size_t m, bool lossy,
                                 bool float_graph, bool keep_floats) {
  // hnswlib per element: level-0 block (links 2M*4+4, data, label 8), a mutex (40), level (4),
  // the upper-link pointer (8), and upper levels: E[levels] = 1/(M-1) blocks of M*4+4.
  const auto graph = [&](double data) {
    const double mm = static_cast<double>(std::max<std::size_t>(m, 2));
    return static_cast<double>(n) * (2.0 * mm * 4 + 4 + data + 8 + 40 + 4 + 8 + (mm * 4 + 4) / (mm - 1));
  };
  double bytes = graph(static_cast<double>(code_size));
  if (lossy && float_graph) bytes += graph(4.0 * static_cast<double>(dim));
  if (lossy && keep_floats) bytes += 4.0 * static_cast<double>(n) * static_cast<double>(dim);
  return static_cast<std::size_t>(bytes);
}

std::size_t physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
}

std::size_t check_build_memory(const std::string& build, std::size_t bytes, std::size_t available,
                               std::size_t parallel) {
  parallel = std::max<std::size_t>(parallel, 1);
  if (available == 0) return parallel;
  QTUNE_CHECK(bytes <= available, build, ": building it needs ~", bytes, " bytes (estimate) but the machine has ",
              available, " bytes available; use a smaller base (max_base, fidelity levels) or a smaller codec/M");
  return std::clamp<std::size_t>(available / std::max<std::size_t>(bytes, 1), 1, parallel);
}

}  // namespace qtune::fidelity
