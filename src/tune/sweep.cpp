// run_sweep and review_measure: the steps of qtune/sweep_steps.hpp composed for one process.
#include "qtune/sweep.hpp"

#include <chrono>
#include <iomanip>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/sweep_steps.hpp"
#include "tune/review.hpp"
#include "tune/sweep_detail.hpp"
#include "tune/sweep_fidelity.hpp"

namespace qtune {

std::filesystem::path output_dir_of(const sweep_spec& spec) {
  if (!spec.output.empty()) return spec.output;
  return std::filesystem::path("results") / (spec.name.empty() ? std::string("sweep") : spec.name);
}

namespace {

/// Progress to the caller's on_progress when given, else to the process's progress callback.
struct progress_sink {
  const sweep_options& opt;
  void operator()(std::size_t done, std::size_t total, const std::string& msg, bool is_result = false,
                  bool transient = false) const {
    if (opt.on_progress) opt.on_progress({done, total, msg, is_result});
    else if (progress_enabled()) report_progress(progress_event{"sweep", done, total, msg, is_result, transient});
  }
};

/// Results of an earlier run of the same spec (resume), checked against this spec's hash.
std::vector<measured_point> resumed_points(const std::filesystem::path& jsonl, const std::string& hash) {
  std::vector<measured_point> points = read_results_jsonl(jsonl);
  for (const auto& p : points)
    QTUNE_CHECK(p.spec_hash == hash, jsonl.string(), ": was written by a different spec (hash ", p.spec_hash,
                ", now ", hash, "); rerun without --resume or choose another --output");
  return points;
}

}  // namespace

sweep_outcome run_sweep(const sweep_spec& spec, const sweep_options& options) {
  if (spec.fidelity.enabled) return detail::run_multi_fidelity(spec, options);
  QTUNE_CHECK(!options.no_confirm, spec.file.string(),
              ": --no-confirm applies to multi-fidelity sweeps only (this spec has no fidelity: key)");
  const auto t_start = detail::clock_type::now();
  const progress_sink progress{options};
  sweep_context_options co;
  co.with_truth = !options.dry_run;
  co.on_message = [&](const std::string& m) { progress(0, 0, m); };
  const sweep_context ctx(spec, co);
  const sweep_plan plan = plan_sweep(ctx);
  if (options.dry_run) {
    sweep_outcome out;
    out.output_dir = output_dir_of(spec);
    out.plan_text = plan.text;
    out.seconds = detail::seconds_since(t_start);
    return out;
  }

  const std::filesystem::path dir = output_dir_of(spec);
  std::vector<measured_point> initial;
  if (options.resume) initial = resumed_points(dir / "results.jsonl", ctx.spec_hash());
  if (options.remeasure_noisy) std::erase_if(initial, [](const measured_point& p) { return p.noisy; });
  const std::size_t resumed = initial.size();
  results_log log(dir / "results.jsonl", std::move(initial));
  detail::write_validation_rows(ctx, dir);
  std::filesystem::create_directories(dir / "neighbors");
  if (resumed) progress(0, plan.progress_total, "resuming: " + std::to_string(resumed) + " points already measured");

  bool interrupted = false;
  std::size_t done = 0;
  for (const work_unit& u : plan.units) {
    measure_options mo;
    mo.on_point = [&](const measured_point& p) { log.append(p); };
    mo.on_progress = [&](std::size_t ticks, const std::string& m, bool result, bool transient) {
      progress(done + ticks, plan.progress_total, m, result, transient);
    };
    mo.stop = options.stop;
    mo.neighbors_dir = dir / "neighbors";
    mo.label = "build " + std::to_string(u.index + 1) + "/" + std::to_string(plan.units.size());
    const std::vector<measured_point> known = log.points();  // measure_unit appends while it reads
    mo.known = &known;
    const unit_result r = measure_unit(ctx, u, mo);
    done += unit_progress_ticks(spec, u);
    if (r.interrupted) {
      interrupted = true;
      break;
    }
  }
  if (options.stop && options.stop->load()) interrupted = true;

  sweep_outcome out = finalize_sweep(ctx, log.points(), interrupted, dir, options.write_report);
  out.plan_text = plan.text;
  out.points_resumed = resumed;
  out.seconds = detail::seconds_since(t_start);
  return out;
}

sweep_spec review_spec(const recommended_params& p, const std::filesystem::path& spec_path) {
  sweep_spec spec;
  const auto& pv = p.provenance;
  if (!spec_path.empty()) {
    spec = parse_sweep_spec(spec_path);
  } else if (!pv.spec_path.empty() && std::filesystem::exists(pv.spec_path)) {
    spec = parse_sweep_spec(pv.spec_path);
  } else {
    QTUNE_CHECK(!pv.base_path.empty() && !pv.queries_path.empty(),
                "the parameter file names no spec and no dataset in its provenance; give --spec");
    spec.name = "review";
    spec.dataset.base = pv.base_path;
    spec.dataset.queries = pv.queries_path;
    spec.threads = 0;
  }
  // What the parameter file says wins over the spec file: the sweep may have overridden them.
  spec.k = p.k;
  spec.target_recall = p.target_recall;
  spec.steer_by = p.steer_by;
  spec.objective = p.objective;
  spec.seed = p.config.seed;
  spec.dataset.distance = p.config.distance;
  if (spec.threads == 0 && p.config.threads) spec.threads = p.config.threads;
  return spec;
}

review_outcome review_measure(const recommended_params& p, const sweep_spec& spec) {
  const auto progress = [](std::size_t done, const std::string& m) {
    if (progress_enabled()) report_progress(progress_event{"sweep", done, 6, m, false, false});
  };
  sweep_context_options co;
  co.on_message = [&](const std::string& m) { progress(0, m); };
  const sweep_context ctx(spec, co);
  QTUNE_CHECK(ctx.dim() == p.dim, spec.place("dataset.base"), ": the data has dimension ", ctx.dim(),
              ", the parameter file says ", p.dim);
  review_outcome out;
  out.base_hash = ctx.base_hash();
  out.queries_hash = ctx.queries_hash();
  out.validation_rows = ctx.validation_rows();
  out.spec_hash = ctx.spec_hash();
  index_config cfg = p.config;
  cfg.distance = spec.dataset.distance;
  cfg.threads = spec.threads;
  if (!cfg.is_hnsw()) cfg.codec.clear(), cfg.m = 0;
  out.load_before = load_average_1min();
  progress(0, "build " + cfg.describe_build() + " ...");
  std::unique_ptr<index> ix = make_index(cfg, ctx.dim());
  const auto t0 = detail::clock_type::now();
  ix->build(ctx.base().view());
  const double build_s = detail::seconds_since(t0);
  progress(4, "measuring " + cfg.describe_build() + " ef=" + std::to_string(cfg.ef_search));
  out.measured = measure_point(ctx, *ix, cfg, build_s, &out.validation_found);
  out.load_after = load_average_1min();
  progress(6, "measured");
  return out;
}

}  // namespace qtune
