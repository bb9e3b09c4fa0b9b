// The measure step: one unit (a build and its search-time sweep). Validation queries are
// searched for every point but only read by the recommendation, after candidates are ordered
// from tuning figures alone.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <limits>
#include <map>
#include <sstream>

#include "qtune/codec.hpp"
#include "qtune/error.hpp"
#include "qtune/recommend.hpp"
#include "qtune/simd.hpp"
#include "qtune/sweep_steps.hpp"
#include "tune/fidelity.hpp"
#include "tune/sweep_detail.hpp"

namespace qtune {

using detail::clock_type;
using detail::measure_latency;
using detail::seconds_since;

namespace {

/// Thrown from inside an auto-ef search when the caller asked to stop.
struct stop_request {};

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

knn_result empty_result(std::size_t nq, std::size_t k) {
  knn_result r;
  r.nq = nq, r.k = k;
  r.ids.assign(nq * k, -1);
  r.distances.assign(nq * k, 0.f);
  return r;
}

/// Searches `queries` as one batch on all the context's threads.
knn_result search_all(const sweep_context& ctx, const index& ix, const vectors& queries) {
  knn_result r = empty_result(queries.rows(), ctx.spec().k);
  ix.search_batch(queries.view(), r.k, r.ids.data(), r.distances.data(), ctx.threads());
  return r;
}

/// Replaces found distances by exact ones (recall_distance needs them).
void exact_distances(const sweep_context& ctx, knn_result& found, const vectors& queries) {
  for (std::size_t q = 0; q < found.nq; ++q)
    for (std::size_t j = 0; j < found.k; ++j) {
      const std::int32_t id = found.ids[q * found.k + j];
      found.distances[q * found.k + j] =
          id < 0 ? std::numeric_limits<float>::infinity()
                 : detail::exact_distance(ctx.base().row(static_cast<std::size_t>(id)), queries.row(q),
                                                ctx.dim(), ctx.spec().dataset.distance);
    }
}

void score(const sweep_context& ctx, knn_result found, const vectors& queries, const knn_result& truth,
           recall_ci& by_ids, recall_ci& by_distance, std::uint64_t seed) {
  exact_distances(ctx, found, queries);
  const std::size_t k = ctx.spec().k;
  std::vector<double> pq_ids, pq_dist;
  by_ids.value = recall_ids(found, truth, k, &pq_ids);
  by_distance.value = recall_distance(found, truth, k, 1e-3f, &pq_dist);
  const interval a = bootstrap_mean_interval(pq_ids, 0.95, 2000, seed);
  const interval b = bootstrap_mean_interval(pq_dist, 0.95, 2000, seed + 1);
  by_ids.lo = a.lo, by_ids.hi = a.hi;
  by_distance.lo = b.lo, by_distance.hi = b.hi;
}

double probe_recall(const sweep_context& ctx, index& ix, std::size_t ef) {
  ix.set_ef_search(ef);
  knn_result found = search_all(ctx, ix, ctx.tuning());
  if (ctx.spec().steer_by == recall_measure::ids) return recall_ids(found, ctx.truth_tuning(), ctx.spec().k);
  exact_distances(ctx, found, ctx.tuning());
  return recall_distance(found, ctx.truth_tuning(), ctx.spec().k);
}

std::vector<std::size_t> extra_efs(const sweep_spec& spec, std::size_t ef0) {
  std::vector<std::size_t> out;
  for (double f : spec.grid.ef_search_extra) {
    const std::size_t e = std::min(spec.grid.ef_search_max, static_cast<std::size_t>(std::ceil(ef0 * f)));
    if (e > ef0 && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Running one unit: what is known already, progress, and the settings still to measure.
class unit_runner {
 public:
  unit_runner(const sweep_context& ctx, const work_unit& u, const measure_options& o) : ctx_(ctx), u_(u), o_(o) {
    if (o_.known)
      for (const auto& p : *o_.known) known_.emplace(p.key(), &p);
  }
  unit_result run();

 private:
  const sweep_context& ctx_;
  const work_unit& u_;
  const measure_options& o_;
  std::map<std::string, const measured_point*> known_;
  std::size_t ticks_ = 0;
  unit_result out_;

  bool stopped() const { return o_.stop && o_.stop->load(); }
  void progress(const std::string& msg, bool is_result = false, bool transient = false) const {
    if (o_.on_progress) o_.on_progress(ticks_, msg, is_result, transient);
  }
  std::string label() const { return (o_.label.empty() ? std::string("build") : o_.label) + " " + u_.describe(); }
  index_config setting(std::size_t ef, std::size_t rr) const {
    index_config c = u_.build;
    c.ef_search = ef, c.rerank = rr;
    return c;
  }
  bool known(std::size_t ef, std::size_t rr) const { return known_.count(setting(ef, rr).key()) > 0; }
  const measured_point* auto_point(std::size_t rr) const {
    for (const auto& [key, p] : known_)
      if (p->auto_found && p->config.rerank == rr && p->build_key() == u_.build.build_key()) return p;
    return nullptr;
  }
  bool reaches(const measured_point& p) const {
    return tuning_recall(p, ctx_.spec().steer_by) >= ctx_.spec().target_recall;
  }
  bool all_known() const;
  /// The (ef, is the auto answer) settings still to measure for rerank rr; may run auto-ef.
  std::vector<std::pair<std::size_t, bool>> todo(index& ix, std::size_t rr, std::size_t& probes);
  void measure_setting(index& ix, std::size_t ef, std::size_t rr, bool is_auto, std::size_t probes);
};

bool unit_runner::all_known() const {
  const sweep_spec& spec = ctx_.spec();
  for (std::size_t rr : u_.reranks) {
    if (!spec.grid.ef_search_auto) {
      for (std::size_t e : spec.grid.ef_search)
        if (!known(e, rr)) return false;
      continue;
    }
    const measured_point* a = auto_point(rr);
    if (!a) return false;
    if (reaches(*a))
      for (std::size_t e : extra_efs(spec, a->config.ef_search))
        if (!known(e, rr)) return false;
  }
  return true;
}

std::vector<std::pair<std::size_t, bool>> unit_runner::todo(index& ix, std::size_t rr, std::size_t& probes) {
  const sweep_spec& spec = ctx_.spec();
  std::vector<std::pair<std::size_t, bool>> out;
  probes = 0;
  if (!spec.grid.ef_search_auto) {
    for (std::size_t e : spec.grid.ef_search)
      if (!known(e, rr)) out.push_back({e, false});
    return out;
  }
  std::size_t ef0 = 0;
  bool reached = false;
  if (const measured_point* a = auto_point(rr)) {
    ef0 = a->config.ef_search;
    reached = reaches(*a);
  } else {
    const auto recall_at = [&](std::size_t ef) {
      if (stopped()) throw stop_request{};  // unwinds the probe loop
      progress(label() + (rr ? " rerank " + std::to_string(rr) : std::string()) + ": searching, efSearch " +
                   std::to_string(ef),
               false, true);
      return probe_recall(ctx_, ix, ef);
    };
    // with rerank r the graph search keeps max(ef, k * r) candidates, so a smaller ef
    // is the same search: start there, and record the efSearch actually used
    const std::size_t ef_min = spec.k * std::max<std::size_t>(rr, 1);
    const auto start = o_.ef_start.find(rr);
    const ef_search_result r =
        start == o_.ef_start.end()
            ? find_min_ef(recall_at, spec.target_recall, ef_min, spec.grid.ef_search_max)
            : fidelity::find_min_ef_from(recall_at, spec.target_recall, start->second, ef_min, spec.grid.ef_search_max);
    ef0 = r.ef, reached = r.reached, probes = r.probes.size();
    out.push_back({ef0, true});
  }
  if (reached)
    for (std::size_t e : extra_efs(spec, ef0))
      if (!known(e, rr)) out.push_back({e, false});
  return out;
}

void unit_runner::measure_setting(index& ix, std::size_t ef, std::size_t rr, bool is_auto, std::size_t probes) {
  knn_result val;
  measured_point p = measure_point(ctx_, ix, setting(ef, rr), out_.build_seconds,
                                   o_.neighbors_dir.empty() ? nullptr : &val, o_.remeasure_noisy);
  if (!o_.neighbors_dir.empty()) {
    // The validation neighbours of every point, so a result can be re-checked independently
    // (tests/tune/check_recall.py); written before the point's results line.
    int_matrix ids;
    ids.rows = val.nq, ids.dim = val.k, ids.values = std::move(val.ids);
    write_ivecs(detail::neighbors_file(o_.neighbors_dir, p.key()), ids);
  }
  p.auto_found = is_auto;
  p.auto_probes = is_auto ? probes : 0;
  if (o_.on_point) o_.on_point(p);
  out_.points.push_back(p);
  ++ticks_;
  std::ostringstream msg;
  msg << std::fixed << std::setprecision(4) << p.describe() << (is_auto ? " (auto)" : "") << ": recall "
      << tuning_recall(p, ctx_.spec().steer_by) << " [" << p.tuning_recall_ids.lo << ", " << p.tuning_recall_ids.hi
      << "]" << std::setprecision(1) << ", p50 " << p.latency_p50_us.median << " us, p99 " << p.latency_p99_us.median
      << " us, " << std::setprecision(0) << p.qps_single.median << " QPS, "
      << human_bytes(static_cast<double>(p.total_bytes())) << (p.noisy ? " (noisy)" : "");
  progress(msg.str(), true);
}

unit_result unit_runner::run() {
  const std::size_t total = unit_progress_ticks(ctx_.spec(), u_);
  if (all_known()) {
    out_.skipped = true;
    ticks_ = total;
    progress(label() + ": already measured (resume)");
    return out_;
  }
  if (stopped()) return out_.interrupted = true, out_;
  progress(label() + " ...");
  detail::check_build_memory(ctx_, u_, ctx_.base().rows());
  std::unique_ptr<index> ix = make_index(u_.build, ctx_.dim());
  const auto t0 = clock_type::now();
  ix->build(ctx_.base().view());
  out_.build_seconds = seconds_since(t0);
  ticks_ += 4;
  {
    std::ostringstream msg;
    msg << label() << ": " << std::fixed << std::setprecision(2) << out_.build_seconds << " s, "
        << human_bytes(static_cast<double>(ix->memory().total()));
    progress(msg.str());
  }
  const std::size_t per_setting = (total - 4) / std::max<std::size_t>(1, u_.reranks.size());
  for (std::size_t rr : u_.reranks) {
    ix->set_rerank(rr);
    std::size_t probes = 0;
    std::vector<std::pair<std::size_t, bool>> settings;
    try {
      settings = todo(*ix, rr, probes);
    } catch (const stop_request&) {  // Ctrl-C between probes: end like any interruption
      return out_.interrupted = true, out_;
    }
    for (auto [ef, is_auto] : settings) {
      if (stopped()) return out_.interrupted = true, out_;
      measure_setting(*ix, ef, rr, is_auto, probes);
    }
    ticks_ += per_setting - std::min(per_setting, settings.size());
  }
  return out_;
}

}  // namespace

measured_point measure_point(const sweep_context& ctx, index& ix, const index_config& config, double build_seconds,
                             knn_result* validation_found, bool remeasure_noisy) {
  ix.set_ef_search(config.ef_search);
  ix.set_rerank(config.rerank);
  measured_point p;
  p.config = config;
  const std::size_t nq = ctx.tuning().rows();
  knn_result single = empty_result(nq, ctx.spec().k);
  measure_latency(ctx, ix, p, single);
  if (noisy_measurement(p)) {
    // A busy machine: timings of this point are suspect. Measure once more; flag if it persists.
    if (remeasure_noisy) measure_latency(ctx, ix, p, single);
    p.noisy = noisy_measurement(p);
  }
  p.threads = ctx.threads();
  score(ctx, single, ctx.tuning(), ctx.truth_tuning(), p.tuning_recall_ids, p.tuning_recall_distance,
        ctx.spec().seed);
  knn_result val = search_all(ctx, ix, ctx.validation());
  if (validation_found) *validation_found = val;
  score(ctx, std::move(val), ctx.validation(), ctx.truth_validation(), p.validation_recall_ids,
        p.validation_recall_distance, ctx.spec().seed + 7);
  const index_memory mem = ix.memory();
  p.resident_bytes = mem.resident_bytes;
  // Without rerank a deployment does not keep the full vectors, even if this build holds them
  // for the rerank settings measured on it.
  p.rerank_bytes = config.rerank > 0 ? mem.rerank_bytes : 0;
  p.n_base = ctx.base().rows();
  p.n_tuning = nq;
  p.n_validation = ctx.validation().rows();
  p.build_seconds = build_seconds;
  p.spec_hash = ctx.spec_hash();
  p.host = host_name();
  p.cpu = cpu_description();
  p.load_average = load_average_1min();
  return p;
}

unit_result measure_unit(const sweep_context& ctx, const work_unit& unit, const measure_options& options) {
  unit_runner r(ctx, unit, options);
  return r.run();
}

void detail::measure_latency(const sweep_context& ctx, const index& ix, measured_point& p, knn_result& single) {
  const sweep_spec& spec = ctx.spec();
  const vectors& tuning = ctx.tuning();
  const std::size_t k = spec.k, nq = tuning.rows();
  // Warm-up: caches, page faults, branch predictors.
  for (std::size_t i = 0; i < std::min(nq, spec.warmup_queries); ++i)
    ix.search(tuning.row(i), k, single.ids.data(), single.distances.data());
  std::vector<double> p50, p95, p99, qps1, qpsb;
  std::vector<double> lat(nq);
  for (std::size_t rep = 0; rep < spec.repetitions; ++rep) {
    double total = 0;
    for (std::size_t i = 0; i < nq; ++i) {
      const auto t0 = clock_type::now();
      ix.search(tuning.row(i), k, single.ids.data() + i * k, single.distances.data() + i * k);
      lat[i] = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
      total += lat[i];
    }
    std::vector<double> sorted = lat;
    std::sort(sorted.begin(), sorted.end());
    p50.push_back(percentile(sorted, 0.50));
    p95.push_back(percentile(sorted, 0.95));
    p99.push_back(percentile(sorted, 0.99));
    qps1.push_back(total > 0 ? static_cast<double>(nq) * 1e6 / total : 0);
    const auto t0 = clock_type::now();
    search_all(ctx, ix, tuning);
    const double s = seconds_since(t0);
    qpsb.push_back(s > 0 ? static_cast<double>(nq) / s : 0);
  }
  p.latency_p50_us = summarize(p50);
  p.latency_p95_us = summarize(p95);
  p.latency_p99_us = summarize(p99);
  p.qps_single = summarize(qps1);
  p.qps_batch = summarize(qpsb);
}

void detail::check_build_memory(const sweep_context& ctx, const work_unit& u, std::size_t rows) {
  if (!u.build.is_hnsw()) return;
  const std::size_t dim = ctx.dim();
  const bool lossy = !parse_codec_spec(u.build.codec).lossless();
  const std::size_t bytes = fidelity::estimate_build_bytes(rows, dim, codec_code_size(u.build.codec, dim), u.build.m,
                                                           lossy, u.build.graph_source == "float", u.build.rerank > 0);
  fidelity::check_build_memory(u.describe() + " @ " + std::to_string(rows) + " rows", bytes,
                               fidelity::physical_memory_bytes(), 1);
}

}  // namespace qtune
