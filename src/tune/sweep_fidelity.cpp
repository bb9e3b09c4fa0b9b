// The multi-fidelity sweep driver (see sweep_fidelity.hpp).
#include "tune/sweep_fidelity.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/param_file.hpp"
#include "qtune/progress.hpp"
#include "qtune/recommend.hpp"
#include "qtune/sweep_steps.hpp"
#include "tune/fidelity.hpp"
#include "tune/sweep_detail.hpp"

namespace qtune::detail {

namespace {

using json = nlohmann::ordered_json;

/// One arm: a build of the plan with one rerank factor; what the levels found for it.
struct arm {
  std::size_t unit = 0;                       ///< index into the plan's units
  std::size_t rerank = 0;
  std::string name;                           ///< "hnsw|sq8|M16|efc100|rr0"
  bool alive = true;
  bool reached = false;                       ///< reached the target at the last level measured
  bool revived = false;                       ///< brought back once already (see driver::revive)
  std::size_t dropped_at = 0;                 ///< the level where it was dropped (when !alive)
  std::vector<fidelity::level_curve> curves;  ///< one per sample level it was measured on
  std::vector<double> search_seconds;         ///< auto-ef + latency time, per level
  double cost = std::numeric_limits<double>::infinity();  ///< objective at the last level
  measured_point last;                        ///< what the last level measured (for --no-confirm)
  fidelity::ef_prediction pred;               ///< efSearch at full size, from the levels
};

/// The fraction of each level, ending with 1.0.
std::vector<double> level_fractions(const sweep_spec& spec, std::size_t n) {
  std::vector<double> f = spec.fidelity.levels.empty() ? fidelity::default_fractions(n, spec.fidelity.min_rows)
                                                        : spec.fidelity.levels;
  if (f.empty() || f.back() < 1.0) f.push_back(1.0);
  return f;
}

class driver {
 public:
  driver(const sweep_context& ctx, const sweep_plan& plan, const sweep_options& options, double setup_seconds)
      : ctx_(ctx), spec_(ctx.spec()), plan_(plan), opt_(options), setup_seconds_(setup_seconds),
        n_(ctx.base().rows()), fractions_(level_fractions(spec_, n_)),
        ids_(fidelity::nested_sample_ids(n_, fractions_, spec_.seed)), dir_(output_dir_of(spec_)) {
    for (std::size_t u = 0; u < plan.units.size(); ++u)
      for (std::size_t rr : plan.units[u].reranks) {
        arm a;
        a.unit = u, a.rerank = rr;
        a.name = plan.units[u].build.build_key() + "|rr" + std::to_string(rr);
        arms_.push_back(std::move(a));
      }
  }

  /// The plan with the multi-fidelity estimate beside the exhaustive one.
  std::string plan_text() const {
    const double exhaustive = plan_.estimated_seconds;
    double share = 1, mf = 0;
    for (double f : fractions_) {
      mf += exhaustive * f * share;
      share = std::max(1.0 / static_cast<double>(std::max<std::size_t>(arms_.size(), 1)), share / 3);
    }
    std::ostringstream o;
    o << plan_.text << "  multi-fidelity: levels";
    for (std::size_t l = 0; l < fractions_.size(); ++l)
      o << " " << fixed(100 * fractions_[l], 0) << "% (" << ids_[l].size() << " rows)";
    o << ", " << arms_.size() << " arms (build x rerank)\n"
      << "  estimated time, exhaustive (every build at full size): ~" << fixed(exhaustive, 0) << " s\n"
      << "  estimated time, multi-fidelity (if a third of the arms survive each level): ~" << fixed(mf, 0) << " s\n";
    return o.str();
  }

  sweep_outcome run() {
    std::vector<measured_point> initial;
    if (opt_.resume)
      for (auto& p : read_results_jsonl(dir_ / "results.jsonl"))
        if (p.spec_hash == ctx_.spec_hash() && p.n_base == n_) initial.push_back(std::move(p));
    std::filesystem::create_directories(dir_ / "neighbors");
    log_.emplace(dir_ / "results.jsonl", std::move(initial));  // level records are redone by this run
    for (std::size_t l = 0; l + 1 < fractions_.size() && !interrupted_; ++l) {
      run_level(l);
      if (const std::optional<std::size_t> from = revive(l))
        for (std::size_t m = *from; m <= l && !interrupted_; ++m) run_level(m);
    }
    for (arm& a : arms_)
      if (a.alive && !a.curves.empty())
        a.pred = fidelity::predict_ef(a.curves, n_, spec_.target_recall, static_cast<double>(ef_min(a.rerank)));
    if (opt_.no_confirm && !interrupted_) return extrapolated_answer();
    if (!interrupted_) confirm_at_full_size();
    if (opt_.stop && opt_.stop->load()) interrupted_ = true;
    return finish();
  }

 private:
  std::size_t ef_min(std::size_t rerank) const { return spec_.k * std::max<std::size_t>(rerank, 1); }
  bool stopped() const { return opt_.stop && opt_.stop->load(); }
  void progress(const std::string& msg, bool is_result = false) const {
    if (opt_.on_progress) opt_.on_progress({0, 0, msg, is_result});
    else if (progress_enabled()) report_progress(progress_event{"sweep", 0, 0, msg, is_result, false});
  }
  /// What every fidelity_level record of arm `a` at level l starts with.
  json level_fields(std::size_t l, const arm& a) const {
    return json{{"level", l}, {"fraction", fractions_[l]}, {"n_base", ids_[l].size()}, {"arm", a.name}};
  }
  /// A {"record": kind, ...} line in results.jsonl, beside the points.
  void record(const std::string& kind, const json& fields) {
    json j{{"record", kind}};
    for (const auto& [k, v] : fields.items()) j[k] = v;
    log_->append_record(j.dump());
  }

  void run_level(std::size_t l);
  std::optional<std::size_t> revive(std::size_t l);
  fidelity::level_result measure_arm(arm& a, index& ix, const vectors& base_l, const knn_result& truth_l,
                                     double build_s);
  double level_recall(const index& ix, std::size_t ef, const vectors& base_l, const knn_result& truth_l,
                      std::vector<double>& per_query) const;
  void decide(std::size_t l, const std::vector<fidelity::level_result>& results, const std::vector<std::size_t>& who);
  sweep_outcome extrapolated_answer();
  void confirm_at_full_size();
  void record_scaling(const arm& a, const measured_point* full);
  double exhaustive_estimate() const;
  sweep_outcome finish();

  const sweep_context& ctx_;
  const sweep_spec& spec_;
  const sweep_plan& plan_;
  const sweep_options& opt_;
  const double setup_seconds_;
  const std::size_t n_;
  const std::vector<double> fractions_;
  const std::vector<std::vector<std::size_t>> ids_;  ///< rows of each level (nested)
  const std::filesystem::path dir_;
  const clock_type::time_point start_ = clock_type::now();
  std::vector<arm> arms_;
  std::optional<results_log> log_;
  bool interrupted_ = false;
  std::map<std::size_t, std::map<std::size_t, double>> level_build_s_;  // unit -> level -> build seconds
  std::map<std::size_t, double> full_build_s_, full_search_s_;  // unit -> at full size
  std::vector<ef_scaling> scaling_;
};

void driver::run_level(std::size_t l) {
  const std::vector<std::size_t>& rows = ids_[l];
  const std::size_t nl = rows.size();
  progress("level " + std::to_string(l + 1) + "/" + std::to_string(fractions_.size()) + ": " + std::to_string(nl) +
           " of " + std::to_string(n_) + " base rows, ground truth ...");
  const vectors base_l = ctx_.base().select(rows);
  const std::filesystem::path cache = spec_.cache_dir.empty() ? default_ground_truth_cache_dir() : spec_.cache_dir;
  const knn_result truth_l = cached_exact_knn(base_l.view(), ctx_.tuning().view(), spec_.dataset.distance, spec_.k, cache);
  std::vector<fidelity::level_result> results;
  std::vector<std::size_t> who;
  for (std::size_t u = 0; u < plan_.units.size(); ++u) {
    std::vector<std::size_t> mine;
    for (std::size_t a = 0; a < arms_.size(); ++a)
      if (arms_[a].unit == u && arms_[a].alive) mine.push_back(a);
    if (mine.empty()) continue;
    if (stopped()) return void(interrupted_ = true);
    const work_unit& wu = plan_.units[u];
    check_build_memory(ctx_, wu, nl);
    index_config cfg = wu.build;  // rerank = the largest factor: the build keeps its full rows
    std::unique_ptr<index> ix = make_index(cfg, ctx_.dim());
    const auto t0 = clock_type::now();
    ix->build(base_l.view());
    const double build_s = seconds_since(t0);
    level_build_s_[u][l] = build_s;
    for (std::size_t a : mine) {
      results.push_back(measure_arm(arms_[a], *ix, base_l, truth_l, build_s));
      who.push_back(a);
      const arm& A = arms_[a];
      progress("level " + std::to_string(l + 1) + " " + wu.describe() + " @ " + std::to_string(nl) + " rows" +
                   (A.rerank ? " rerank " + std::to_string(A.rerank) : std::string()) + ": efSearch " +
                   std::to_string(A.last.config.ef_search) + ", recall " + fixed(A.last.tuning_recall_ids.value, 4) +
                   (results.back().reached ? ", cost " + fixed(results.back().cost, 1) + " [" +
                                                 fixed(results.back().cost_lo, 1) + ", " + fixed(results.back().cost_hi, 1) + "]"
                                           : std::string(" (target not reached)")),
               true);
    }
  }
  decide(l, results, who);
}

/// Recall of the tuning queries at efSearch ef on a sample level (steered measure), with the
/// recall of each query in per_query.
double driver::level_recall(const index& ix, std::size_t ef, const vectors& base_l, const knn_result& truth_l,
                            std::vector<double>& per_query) const {
  const std::size_t k = spec_.k;
  knn_result found;
  found.nq = ctx_.tuning().rows(), found.k = k;
  found.ids.assign(found.nq * k, -1);
  found.distances.assign(found.nq * k, 0.f);
  ix.search_batch(ctx_.tuning().view(), k, found.ids.data(), found.distances.data(), ctx_.threads(), ef);
  if (spec_.steer_by == recall_measure::ids) return recall_ids(found, truth_l, k, &per_query);
  for (std::size_t q = 0; q < found.nq; ++q)
    for (std::size_t j = 0; j < k; ++j) {
      const std::int32_t id = found.ids[q * k + j];
      found.distances[q * k + j] = id < 0 ? std::numeric_limits<float>::infinity()
                                          : exact_distance(base_l.row(static_cast<std::size_t>(id)),
                                                           ctx_.tuning().row(q), ctx_.dim(), spec_.dataset.distance);
    }
  return recall_distance(found, truth_l, k, 1e-3f, &per_query);
}

fidelity::level_result driver::measure_arm(arm& a, index& ix, const vectors& base_l, const knn_result& truth_l,
                                           double build_s) {
  const auto t0 = clock_type::now();
  const std::size_t k = spec_.k, nl = base_l.rows();
  ix.set_rerank(a.rerank);
  fidelity::level_curve curve;
  curve.n = nl;
  std::map<std::size_t, std::vector<double>> per_ef;
  const auto recall_at = [&](std::size_t ef) { return level_recall(ix, ef, base_l, truth_l, per_ef[ef]); };
  std::size_t start = ef_min(a.rerank);
  if (!a.curves.empty()) {  // start from what the smaller levels predict for this size
    const auto p = fidelity::predict_ef(a.curves, nl, spec_.target_recall, static_cast<double>(start), 0);
    if (p.ok) start = std::max(start, static_cast<std::size_t>(std::llround(p.ef)));
  }
  const ef_search_result r = fidelity::find_min_ef_from(recall_at, spec_.target_recall, start, ef_min(a.rerank),
                                                        spec_.grid.ef_search_max);
  // Found at the smallest ef searched: one probe above says how fast the miss rate falls,
  // so the need can be placed below the floor (fidelity::needed_ef) and its growth fitted.
  if (const std::size_t up = std::min(spec_.grid.ef_search_max, 2 * ef_min(a.rerank));
      r.reached && r.ef == ef_min(a.rerank) && per_ef.size() < 2 && up > r.ef)
    recall_at(up);
  for (auto& [ef, pq] : per_ef) curve.efs.push_back(ef), curve.per_query.push_back(std::move(pq));
  a.curves.push_back(std::move(curve));

  fidelity::level_result lr;
  lr.build = a.name;
  lr.reached = r.reached;
  a.reached = r.reached;
  measured_point& p = a.last;
  p = measured_point{};
  p.config = ix.config();
  p.config.rerank = a.rerank;
  p.config.ef_search = r.ef;
  p.n_base = nl;
  p.build_seconds = build_s;
  p.tuning_recall_ids.value = r.recall;
  if (r.reached) {  // the objective at the efSearch found, as a full-size point measures it
    ix.set_ef_search(r.ef);
    knn_result single;
    single.nq = ctx_.tuning().rows(), single.k = k;
    single.ids.assign(single.nq * k, -1);
    single.distances.assign(single.nq * k, 0.f);
    measure_latency(ctx_, ix, p, single);
    const index_memory mem = ix.memory();
    p.resident_bytes = mem.resident_bytes;
    p.rerank_bytes = a.rerank ? mem.rerank_bytes : 0;
    const recommend_policy policy = policy_of(spec_);
    const interval range = objective_range(p, policy);
    lr.cost = a.cost = objective_cost(p, policy);
    lr.cost_lo = range.lo, lr.cost_hi = range.hi;
    // the budget binds at full size: scale the memory of nl rows up to n
    const double bytes = static_cast<double>(counted_bytes(p, policy)) * static_cast<double>(n_) /
                         static_cast<double>(nl);
    lr.fits_budget = spec_.memory_budget == 0 || bytes <= static_cast<double>(spec_.memory_budget);
  }
  a.search_seconds.push_back(seconds_since(t0));
  return lr;
}

void driver::decide(std::size_t l, const std::vector<fidelity::level_result>& results,
                    const std::vector<std::size_t>& who) {
  if (interrupted_) return;
  fidelity::halving_policy pol;
  pol.relative_margin = spec_.fidelity.margin;
  pol.keep_at_least = spec_.fidelity.keep_at_least;
  const std::vector<fidelity::halving_decision> d = fidelity::successive_halving(results, pol);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    arm& a = arms_[who[i]];
    a.alive = d[i].keep;
    if (!a.alive) a.dropped_at = l;
    kept += a.alive ? 1 : 0;
    json j = level_fields(l, a);
    j.update(json{{"ef_search_needed", a.last.config.ef_search},
                  {"reached", results[i].reached},
                  {"tuning_recall", a.last.tuning_recall_ids.value},
                  {"objective", to_string(spec_.objective)},
                  {"cost", results[i].cost},
                  {"cost_interval", {results[i].cost_lo, results[i].cost_hi}},
                  {"build_seconds", a.last.build_seconds},
                  {"search_seconds", a.search_seconds.back()},
                  {"decision", d[i].keep ? "keep" : "drop"},
                  {"reason", d[i].reason}});
    record("fidelity_level", j);
    if (!a.alive) progress("  " + a.name + ": " + d[i].reason);
  }
  progress("level " + std::to_string(l + 1) + ": kept " + std::to_string(kept) + " of " + std::to_string(d.size()) +
           " arms");
}

/// No arm survived level l (all missed the target there: e.g. a codec whose recall levels off
/// below the target as the base grows). The arms dropped earlier as dominated, which did reach
/// the target where they were measured, come back (once each) and are measured again from the
/// level after the one that dropped them, so that their efSearch is fitted over as many levels
/// as the others'. Returns that level, or nothing when none came back.
std::optional<std::size_t> driver::revive(std::size_t l) {
  if (std::any_of(arms_.begin(), arms_.end(), [](const arm& a) { return a.alive; })) return std::nullopt;
  std::optional<std::size_t> from;
  for (arm& a : arms_)
    if (!a.alive && a.reached && !a.revived) {
      a.alive = a.revived = true;
      from = std::min(from.value_or(l), a.dropped_at + 1);
      json j = level_fields(l, a);
      j.update(json{{"decision", "revive"},
                    {"reason", "revived: no arm reached the target at this level; it was dropped as dominated "
                               "at level " + std::to_string(a.dropped_at) + ", where it did reach it"}});
      record("fidelity_level", j);
    }
  if (from)
    progress("level " + std::to_string(l + 1) + ": no arm reached the target; the arms dropped earlier as dominated "
             "are measured again from level " + std::to_string(*from + 1));
  return from;
}

/// --no-confirm: the best surviving arm of the last sample level with the upper end of its
/// predicted efSearch, written loudly as NOT measured at full size.
sweep_outcome driver::extrapolated_answer() {
  // The upper end is what gets written, so an arm whose interval is open above (some resample
  // reached the target at no level) has no answer to write.
  const arm* best = nullptr;
  bool unbounded = false;
  for (const arm& a : arms_) {
    if (!a.alive || !a.pred.ok) continue;
    if (!std::isfinite(a.pred.hi)) {
      unbounded = true;
      continue;
    }
    if (!best || a.cost < best->cost) best = &a;
  }
  for (const arm& a : arms_)
    if (a.alive && a.pred.ok) record_scaling(a, nullptr);
  sweep_outcome o = finalize_sweep(ctx_, log_->points(), true, dir_);  // files, no recommendation
  o.seconds = seconds_since(start_) + setup_seconds_;
  if (!best) {
    o.status = sweep_status::target_missed;
    o.summary = unbounded ? "no arm's predicted efSearch has an upper end (on some resamples of the queries no "
                            "sample level reached the target): nothing to extrapolate; run without --no-confirm "
                            "to measure at full size"
                          : "no arm reached the target on the samples: nothing to extrapolate";
    return o;
  }
  measured_point p = best->last;
  p.config.ef_search = static_cast<std::size_t>(std::ceil(best->pred.hi));
  recommended_params rp = make_recommended_params(ctx_, p);
  rp.at_full_size = false;
  rp.search_cost = search_cost_info{o.seconds, exhaustive_estimate(), plan_.units.size(), 0};
  write_param_file(dir_ / "recommended.yaml", rp);
  o.status = sweep_status::recommended;
  o.recommended = p;
  o.summary = "!!! --no-confirm: EXTRAPOLATED, NOT MEASURED AT FULL SIZE (measured.at_full_size: false): " +
              p.describe() + " -- efSearch " + fixed(best->pred.ef, 1) + " predicted for " + std::to_string(n_) +
              " vectors, interval [" + fixed(best->pred.lo, 0) + ", " + fixed(best->pred.hi, 0) + "], from " +
              std::to_string(best->curves.size()) + " sample levels; the upper end is written. Run without " +
              "--no-confirm to measure it.\nwrote " + (dir_ / "recommended.yaml").string();
  return o;
}

/// Every surviving arm, measured at full size as a plain sweep measures it, auto-ef started
/// from its prediction.
void driver::confirm_at_full_size() {
  std::map<std::size_t, std::vector<std::size_t>> survivors;  // unit -> rerank factors
  for (const arm& a : arms_)
    if (a.alive) survivors[a.unit].push_back(a.rerank);
  std::size_t i = 0;
  for (const auto& [u, reranks] : survivors) {
    work_unit wu = plan_.units[u];
    wu.reranks = reranks;
    wu.build.rerank = *std::max_element(reranks.begin(), reranks.end());
    check_build_memory(ctx_, wu, n_);
    measure_options mo;
    mo.on_point = [&](const measured_point& p) { log_->append(p); };
    mo.on_progress = [&](std::size_t, const std::string& m, bool result, bool) { progress(m, result); };
    mo.stop = opt_.stop;
    mo.neighbors_dir = dir_ / "neighbors";
    mo.label = "full size " + std::to_string(++i) + "/" + std::to_string(survivors.size());
    for (const arm& a : arms_)
      if (a.alive && a.unit == u && a.pred.ok)
        mo.ef_start[a.rerank] = std::max(ef_min(a.rerank), static_cast<std::size_t>(std::llround(a.pred.ef)));
    const std::vector<measured_point> known = log_->points();
    mo.known = &known;
    const auto t0 = clock_type::now();
    const unit_result r = measure_unit(ctx_, wu, mo);
    if (r.interrupted) return void(interrupted_ = true);
    full_build_s_[u] = r.build_seconds;
    full_search_s_[u] = std::max(0.0, seconds_since(t0) - r.build_seconds);
    for (const arm& a : arms_) {
      if (!a.alive || a.unit != u) continue;
      const measured_point* full = nullptr;
      for (const measured_point& p : log_->points())
        if (p.auto_found && p.build_key() == wu.build.build_key() && p.config.rerank == a.rerank) full = &p;
      if (a.pred.ok) record_scaling(a, full);
    }
  }
}

void driver::record_scaling(const arm& a, const measured_point* full) {
  ef_scaling s;
  s.arm = a.name;
  for (const auto& c : a.curves) s.needed.emplace_back(c.n, fidelity::needed_ef(c, spec_.target_recall));
  s.n_full = n_;
  s.predicted = a.pred.ef, s.lo = a.pred.lo, s.hi = a.pred.hi, s.exponent = a.pred.exponent;
  if (full) s.measured = full->config.ef_search;
  log_->append_record(to_json_line(s));
  scaling_.push_back(std::move(s));
}

/// What the whole grid would have cost at full size: the setup (data, ground truth), every
/// build (measured, or its last sample's build time scaled by n log n) and its search-time work
/// (measured, or its first level's search time times the median full/first-level ratio of the
/// builds that were measured at full size; n/n_level when none was).
double driver::exhaustive_estimate() const {
  std::vector<double> ratios;
  for (const auto& [u, full_s] : full_search_s_) {
    double first = 0;
    for (const arm& a : arms_)
      if (a.unit == u && !a.search_seconds.empty()) first += a.search_seconds.front();
    if (first > 0) ratios.push_back(full_s / first);
  }
  std::sort(ratios.begin(), ratios.end());
  const double n = static_cast<double>(n_), n0 = static_cast<double>(ids_.front().size());
  const double ratio = ratios.empty() ? n / n0 : ratios[ratios.size() / 2];
  double total = setup_seconds_;
  for (std::size_t u = 0; u < plan_.units.size(); ++u) {
    if (full_build_s_.count(u)) {
      total += full_build_s_.at(u) + full_search_s_.at(u);
      continue;
    }
    const auto it = level_build_s_.find(u);
    if (it == level_build_s_.end() || it->second.empty()) continue;
    const auto [last_level, last_s] = *it->second.rbegin();  // its largest sample
    const double nl = static_cast<double>(ids_[last_level].size());
    total += last_s * (n / nl) * std::log(n) / std::log(std::max(nl, 2.0));
    for (const arm& a : arms_)
      if (a.unit == u && !a.search_seconds.empty()) total += a.search_seconds.front() * ratio;
  }
  return total;
}

sweep_outcome driver::finish() {
  std::size_t inside = 0, confirmed = 0;
  for (const ef_scaling& s : scaling_)
    if (s.measured) ++confirmed, inside += s.inside() ? 1 : 0;
  fidelity_summary fs;
  fs.scaling = scaling_;
  fs.cost = search_cost_info{seconds_since(start_) + setup_seconds_, exhaustive_estimate(), plan_.units.size(),
                             full_build_s_.size()};
  sweep_outcome out = finalize_sweep(ctx_, log_->points(), interrupted_, dir_, opt_.write_report, &fs);
  out.seconds = seconds_since(start_) + setup_seconds_;
  std::ostringstream s;
  s << out.summary << "\nmulti-fidelity: " << arms_.size() << " arms over " << fractions_.size() << " levels; "
    << full_build_s_.size() << " of " << plan_.units.size() << " builds measured at full size; " << fixed(fs.cost.seconds, 0)
    << " s vs ~" << fixed(fs.cost.exhaustive_seconds_estimate, 0) << " s estimated for the exhaustive grid ("
    << fixed(100 * fs.cost.seconds / std::max(fs.cost.exhaustive_seconds_estimate, 1e-9), 0) << "%)";
  if (confirmed)
    s << "; full-size efSearch inside the predicted interval for " << inside << " of " << confirmed << " arms";
  out.summary = s.str();
  return out;
}

}  // namespace

sweep_outcome run_multi_fidelity(const sweep_spec& spec, const sweep_options& options) {
  const auto t0 = clock_type::now();
  sweep_context_options co;
  co.with_truth = !options.dry_run;
  co.on_message = [&](const std::string& m) {
    if (options.on_progress) options.on_progress({0, 0, m, false});
    else if (progress_enabled()) report_progress(progress_event{"sweep", 0, 0, m, false, false});
  };
  const sweep_context ctx(spec, co);
  const sweep_plan plan = plan_sweep(ctx);
  driver d(ctx, plan, options, seconds_since(t0));
  if (options.dry_run) {
    sweep_outcome out;
    out.output_dir = output_dir_of(ctx.spec());
    out.plan_text = d.plan_text();
    out.seconds = seconds_since(t0);
    return out;
  }
  sweep_outcome out = d.run();
  out.plan_text = d.plan_text();
  return out;
}

}  // namespace qtune::detail
