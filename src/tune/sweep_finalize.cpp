// The finalize step: from every measured point, the files a sweep leaves (results.csv,
// pareto.csv, report.html) and the recommendation (recommended.yaml with its provenance).
#include <fstream>
#include <iomanip>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/recommend.hpp"
#include "qtune/simd.hpp"
#include "qtune/sweep_steps.hpp"
#include "qtune/version.hpp"
#include "tune/sweep_detail.hpp"
#include "util/atomic_file.hpp"

namespace qtune {

namespace {

/// report.html of the output folder: never fails the sweep (its results are already on disk).
void write_sweep_report(const sweep_context& ctx, const report_writer& writer, const sweep_outcome& out,
                        const std::string& outcome, const fidelity_summary* fidelity) {
  if (!writer) return;
  try {
    sweep_report_input in;
    const sweep_spec& spec = ctx.spec();
    in.name = spec.name.empty() ? std::string("sweep") : spec.name;
    in.points = out.points;
    in.target_recall = spec.target_recall;
    in.steer_by = spec.steer_by;
    in.k = spec.k;
    in.outcome = outcome;
    if (out.recommended)
      for (std::size_t i = 0; i < in.points.size(); ++i)
        if (in.points[i].key() == out.recommended->key()) in.recommended = i;
    in.facts = ctx.facts();
    if (fidelity) in.scaling = fidelity->scaling;
    if (!in.points.empty()) writer(out.output_dir / "report.html", in);
  } catch (const std::exception&) {
    // A report that cannot be written leaves the measured results intact; `tune report` retries.
  }
}

}  // namespace

void detail::write_validation_rows(const sweep_context& ctx, const std::filesystem::path& dir) {
  std::string rows = "# rows (0-based) of " + std::filesystem::absolute(ctx.spec().dataset.queries).string() +
                     " held out as validation queries, in the order of neighbors/*.ivecs\n";
  for (std::size_t r : ctx.validation_rows()) rows += std::to_string(r) + "\n";
  write_file_atomic(dir / "validation_queries.txt", rows);
}

namespace {

std::string noisy_warning(const std::vector<measured_point>& points) {
  std::size_t n = 0;
  for (const auto& p : points) n += p.noisy ? 1 : 0;
  if (n == 0) return "";
  return "warning: " + std::to_string(n) + (n == 1 ? " point was" : " points were") +
         " measured on a busy machine; latency figures are unreliable; rerun with --resume --remeasure-noisy";
}

/// The recommendation: recommended.yaml and its neighbours, or the reason there is none.
void recommend_and_write(const sweep_context& ctx, const report_writer& writer, sweep_outcome& out,
                         std::ostringstream& summary, const fidelity_summary* fidelity) {
  const std::vector<measured_point>& points = out.points;
  const recommendation rec = recommend(points, policy_of(ctx.spec()));
  const std::filesystem::path param_path = out.output_dir / "recommended.yaml";
  for (std::size_t i : rec.rejected_by_validation)
    summary << "candidate " << points[i].describe() << " met the target on tuning queries but not on validation ("
            << std::fixed << std::setprecision(4) << validation_recall(points[i], ctx.spec().steer_by)
            << "); trying the next\n";
  if (!rec.chosen) {
    out.status = sweep_status::target_missed;
    std::error_code ec;
    std::filesystem::remove(param_path, ec);  // a stale file must not pass for this run's answer
    summary << rec.message;
    write_sweep_report(ctx, writer, out, rec.message, fidelity);
    return;
  }
  const measured_point& best = points[*rec.chosen];
  out.recommended = best;
  recommended_params rp = make_recommended_params(ctx, best);
  if (fidelity) rp.search_cost = fidelity->cost;
  write_param_file(param_path, rp);
  const std::filesystem::path nb = detail::neighbors_file(out.output_dir / "neighbors", best.key());
  if (std::filesystem::exists(nb)) {
    std::ifstream in(nb, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    write_file_atomic(out.output_dir / "recommended_neighbors.ivecs", bytes.str());
  }
  out.status = sweep_status::recommended;
  write_sweep_report(ctx, writer, out, "recommended: " + best.describe(), fidelity);
  summary << rec.message << "\n"
          << "wrote " << param_path.string()
          << " (and results.jsonl, results.csv, pareto.csv, recommended_neighbors.ivecs, report.html)";
}

}  // namespace

recommended_params make_recommended_params(const sweep_context& ctx, const measured_point& best) {
  const sweep_spec& spec = ctx.spec();
  recommended_params rp;
  rp.config = best.config;
  rp.config.distance = spec.dataset.distance;
  rp.config.seed = spec.seed;
  rp.config.threads = spec.threads;
  rp.dim = ctx.dim();
  rp.k = spec.k;
  rp.target_recall = spec.target_recall;
  rp.steer_by = spec.steer_by;
  rp.objective = spec.objective;
  rp.measured = best;
  auto& pv = rp.provenance;
  pv.base_path = std::filesystem::absolute(spec.dataset.base).string();
  pv.base_hash = ctx.base_hash();
  pv.queries_path = std::filesystem::absolute(spec.dataset.queries).string();
  pv.queries_hash = ctx.queries_hash();
  pv.ground_truth = ctx.ground_truth_desc();
  pv.spec_path = spec.file.empty() ? std::string() : std::filesystem::absolute(spec.file).string();
  pv.spec_file_hash = !spec.file.empty() && std::filesystem::exists(spec.file) ? file_hash(spec.file) : "";
  pv.spec_hash = ctx.spec_hash();
  pv.qtune_version = version_string;
  pv.git_commit = git_commit;
  pv.cpu = cpu_description();
  pv.simd_level = to_string(active_simd_level());
  pv.threads = ctx.threads();
  pv.date = utc_now();
  return rp;
}

sweep_outcome finalize_sweep(const sweep_context& ctx, std::vector<measured_point> points, bool interrupted,
                             const std::filesystem::path& output_dir, const report_writer& writer,
                             const fidelity_summary* fidelity) {
  sweep_outcome out;
  out.output_dir = output_dir;
  out.points = std::move(points);
  // A multi-fidelity recommendation is confirmed at full size: never from a sampled point.
  if (fidelity) std::erase_if(out.points, [&](const measured_point& p) { return p.n_base != ctx.base().rows(); });
  std::filesystem::create_directories(output_dir);
  detail::write_validation_rows(ctx, output_dir);
  write_results_csv(output_dir / "results.csv", out.points);
  write_pareto_csv(output_dir / "pareto.csv", out.points, ctx.spec());
  const std::string warning = noisy_warning(out.points);
  if (interrupted) {
    out.status = sweep_status::interrupted;
    out.summary = "interrupted: " + std::to_string(out.points.size()) + " points on disk in " + output_dir.string() +
                  "/ (rerun with --resume to continue)";
    write_sweep_report(ctx, writer, out, "interrupted: partial results", fidelity);
  } else {
    std::ostringstream summary;
    recommend_and_write(ctx, writer, out, summary, fidelity);
    out.summary = summary.str();
  }
  if (!warning.empty()) out.summary += "\n" + warning;
  return out;
}

}  // namespace qtune
