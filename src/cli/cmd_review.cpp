// `tune review recommended.yaml`: re-measures a recommended configuration on the data its
// provenance names (or --spec) and compares with what the file records. Exit 4 when the measured
// recall falls below the target, outside the recorded 95% interval, or the recorded value falls
// outside the measured interval (a file edited by hand), or the data changed.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "util/format.hpp"
#include "cli/command.hpp"
#include "cli/progress_bar.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/param_file.hpp"
#include "qtune/progress.hpp"
#include "qtune/recommend.hpp"
#include "tune/deploy_check.hpp"
#include "tune/review.hpp"
#include "util/format.hpp"

namespace {

struct review_options {
  std::string file;
  std::string spec;
  std::string dump_neighbors;
  std::string engine;
  long threads = -1;
  bool quiet = false;
};

/// --dump-neighbors: writes found's ids as .ivecs to path; returns "wrote PATH: ROWS x K".
std::string dump_neighbors(const std::string& path, const qtune::knn_result& found) {
  qtune::int_matrix ids;
  ids.rows = found.nq;
  ids.dim = found.k;
  ids.values = found.ids;
  qtune::write_ivecs(path, ids);
  return "wrote " + path + ": " + std::to_string(ids.rows) + " x " + std::to_string(ids.dim);
}

std::string f4(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}
std::string f1(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}
std::string with_ci(const qtune::recall_ci& r) { return f4(r.value) + " [" + f4(r.lo) + ", " + f4(r.hi) + "]"; }

void row(std::ostream& o, const std::string& what, const std::string& recorded, const std::string& measured,
         const std::string& verdict = "") {
  char b[512];
  std::snprintf(b, sizeof b, "  %-30s %-26s %-26s %s", what.c_str(), recorded.c_str(), measured.c_str(),
                verdict.c_str());
  o << b << "\n";
}

std::string ratio(double recorded, double measured) {
  if (!(recorded > 0)) return "";
  char b[32];
  std::snprintf(b, sizeof b, "x%.2f", measured / recorded);
  return b;
}

/// How busy the machine was while measuring: load averages and the noisy-latency test.
std::string machine_load_line(const qtune::review_outcome& out, const qtune::measured_point& now) {
  std::ostringstream t;
  t << "  machine load while measuring: ";
  if (out.load_before < 0) t << "unknown";
  else t << std::fixed << std::setprecision(2) << out.load_before << " before, " << out.load_after << " after (1-min average)";
  t << (now.noisy ? "; latency figures look disturbed (noisy: QPS vs 1/p50 or repetitions disagree): a busy machine"
                  : "; latency figures consistent")
    << "\n";
  return t.str();
}

// --engine: the exported spelling built in FAISS or hnswlib, its own efSearch found, recall on
// the validation queries recorded in the file's deploy section.
void run_engine_check(const review_options& o, qtune::recommended_params rp, const qtune::sweep_spec& spec) {
  using namespace qtune;
  if (!o.quiet) std::cerr << "building the exported " << o.engine << " spelling of " << o.file << " ...\n";
  const engine_verification v = verify_param_file_on_engine(o.file, rp, spec, o.engine);
  std::ostringstream t;
  t << "deploy check of " << o.file << " in " << o.engine << ": " << v.spelling << "\n"
    << "  data: " << spec.dataset.base.string() << ", k = " << rp.k << ", target recall " << f4(rp.target_recall)
    << "\n"
    << "  " << o.engine << " efSearch reaching the target on the tuning queries: " << v.verified_ef_search
    << (v.reached ? "" : " (NOT reached at the largest efSearch tried)") << " (qtune's: " << rp.config.ef_search
    << "), tuning recall " << f4(v.tuning_recall) << "\n"
    << "  validation recall@" << rp.k << " in " << o.engine << ": " << f4(v.verified_recall) << " [" << f4(v.verified_lo)
    << ", " << f4(v.verified_hi) << "] (qtune measured " << f4(rp.measured.validation_recall_ids.value) << ")\n"
    << "  build " << f1(v.build_seconds) << " s, efSearch tried:";
  for (std::size_t e : v.probes) t << " " << e;
  t << "\n";
  deploy_verified dv{o.engine, v.verified_recall, v.verified_ef_search, utc_now()};
  std::erase_if(rp.verified, [&](const deploy_verified& x) { return x.engine == o.engine; });
  rp.verified.push_back(dv);
  write_param_file(o.file, rp);
  if (!o.dump_neighbors.empty())
    t << dump_neighbors(o.dump_neighbors, v.validation_found) << " neighbour ids " << o.engine
      << " returned for the validation queries\n";
  t << "recorded deploy." << o.engine << ".verified_recall / verified_ef_search in " << o.file << "\n";
  std::cout << t.str();
  if (!v.reached)
    throw cli::exit_with{cli::exit_check_failed, "deploy check FAILED: " + o.engine + " did not reach the target recall"};
  if (v.verified_recall < rp.target_recall)
    std::cout << "warning: the validation recall in " << o.engine << " is below the target (tuning queries reached it)\n";
}

void run_review(const review_options& o) {
  using namespace qtune;
  const recommended_params rp = load_param_file(o.file);
  sweep_spec spec = review_spec(rp, o.spec);
  if (o.threads >= 0) spec.threads = static_cast<std::size_t>(o.threads);
  if (!o.engine.empty()) return run_engine_check(o, rp, spec);
  review_outcome out;
  {
    cli::progress_bar bar(o.quiet);
    progress_scope scope(bar.callback());
    out = review_measure(rp, spec);
  }
  const measured_point& rec = rp.measured;
  const measured_point& now = out.measured;
  const bool by_ids = rp.steer_by == recall_measure::ids;
  const recall_ci& rv = by_ids ? rec.validation_recall_ids : rec.validation_recall_distance;
  const recall_ci& mv = by_ids ? now.validation_recall_ids : now.validation_recall_distance;

  std::vector<std::string> failures;
  const bool base_ok = out.base_hash == rp.provenance.base_hash;
  const bool queries_ok = out.queries_hash == rp.provenance.queries_hash;
  if (!base_ok) failures.push_back("the base vectors differ from those measured (content hash)");
  if (!queries_ok) failures.push_back("the queries differ from those measured (content hash)");
  // Tolerance for the printed rounding of the recorded figures (%.10g).
  const double eps = 1e-9;
  const bool above_target = mv.value + eps >= rp.target_recall;
  const bool in_recorded = mv.value + eps >= rv.lo && mv.value - eps <= rv.hi;
  const bool recorded_in_measured = rv.value + eps >= mv.lo && rv.value - eps <= mv.hi;
  if (!above_target)
    failures.push_back("measured validation recall " + f4(mv.value) + " is below the target " + f4(rp.target_recall));
  if (!in_recorded)
    failures.push_back("measured validation recall " + f4(mv.value) + " is outside the recorded interval [" +
                       f4(rv.lo) + ", " + f4(rv.hi) + "]");
  if (!recorded_in_measured)
    failures.push_back("recorded validation recall " + f4(rv.value) + " is outside the measured interval [" +
                       f4(mv.lo) + ", " + f4(mv.hi) + "]");

  std::ostringstream t;
  t << "review of " << o.file << ": " << rec.describe() << ", k = " << rp.k << ", target recall "
    << f4(rp.target_recall) << " (" << (by_ids ? "ids" : "distance") << ")\n"
    << "  data: " << spec.dataset.base.string() << " (" << now.n_base << " vectors), " << spec.dataset.queries.string()
    << " (" << now.n_tuning << " tuning + " << now.n_validation << " validation queries)\n\n";
  row(t, "", "recorded", "measured now");
  const std::string vmeasure = by_ids ? "ids" : "distance";
  row(t, "validation recall (" + vmeasure + ")", with_ci(rv), with_ci(mv),
      above_target && in_recorded && recorded_in_measured ? "ok" : "FAIL");
  row(t, "tuning recall (ids)", with_ci(rec.tuning_recall_ids), with_ci(now.tuning_recall_ids));
  row(t, "tuning recall (distance)", with_ci(rec.tuning_recall_distance), with_ci(now.tuning_recall_distance));
  row(t, by_ids ? "validation recall (distance)" : "validation recall (ids)",
      with_ci(by_ids ? rec.validation_recall_distance : rec.validation_recall_ids),
      with_ci(by_ids ? now.validation_recall_distance : now.validation_recall_ids));
  row(t, "latency p50 (us)", f1(rec.latency_p50_us.median), f1(now.latency_p50_us.median),
      ratio(rec.latency_p50_us.median, now.latency_p50_us.median));
  row(t, "latency p99 (us)", f1(rec.latency_p99_us.median), f1(now.latency_p99_us.median),
      ratio(rec.latency_p99_us.median, now.latency_p99_us.median));
  row(t, "QPS (1 thread)", f1(rec.qps_single.median), f1(now.qps_single.median),
      ratio(rec.qps_single.median, now.qps_single.median));
  row(t, "QPS (batch, " + std::to_string(now.threads) + (now.threads == 1 ? " thread)" : " threads)"), f1(rec.qps_batch.median),
      f1(now.qps_batch.median), ratio(rec.qps_batch.median, now.qps_batch.median));
  row(t, "memory (bytes)", std::to_string(rec.total_bytes()), std::to_string(now.total_bytes()),
      rec.total_bytes() == now.total_bytes() ? "same" : ratio(static_cast<double>(rec.total_bytes()),
                                                               static_cast<double>(now.total_bytes())));
  row(t, "build (s)", f1(rec.build_seconds), f1(now.build_seconds));
  row(t, "base hash", rp.provenance.base_hash, out.base_hash, base_ok ? "same" : "CHANGED");
  row(t, "queries hash", rp.provenance.queries_hash, out.queries_hash, queries_ok ? "same" : "CHANGED");
  t << "  (latency, QPS and build time depend on the machine: shown, not checked; recorded on "
    << rp.provenance.cpu << ")\n";
  t << machine_load_line(out, now);
  if (!o.dump_neighbors.empty())
    t << dump_neighbors(o.dump_neighbors, out.validation_found)
      << " neighbour ids of the validation queries (query-file rows listed in validation_queries.txt of the sweep)\n";
  std::cout << t.str();
  if (!failures.empty()) {
    std::string msg = "review FAILED:";
    for (const auto& f : failures) msg += "\n  - " + f;
    throw cli::exit_with{cli::exit_check_failed, msg};
  }
  std::cout << "review passed: the measured recall meets the target and agrees with the recorded figures\n";
}

}  // namespace

QTUNE_CLI_COMMAND(review) {
  auto* sub = app.add_subcommand(
      "review", "Re-measure a recommended.yaml on its data; exit 4 if the recall drifted from what it records");
  auto o = std::make_shared<review_options>();
  sub->add_option("file", o->file, "A parameter file written by a sweep (recommended.yaml)")->required();
  sub->add_option("--spec", o->spec, "Sweep spec for the data (default: the spec named in the file's provenance)");
  sub->add_option("--dump-neighbors", o->dump_neighbors,
                  "Write the neighbours found for the validation queries to FILE.ivecs");
  sub->add_option("--threads", o->threads, "Threads for the build and batch QPS (default: as recorded)");
  sub->add_option("--engine", o->engine,
                  "Instead: build the file's exported spelling in this engine (faiss|hnswlib), find its efSearch "
                  "reaching the target and record deploy.<engine>.verified_recall / verified_ef_search in the file")
      ->check(CLI::IsMember({"faiss", "hnswlib"}));
  sub->add_flag("--quiet,-q", o->quiet, "No progress bar or progress lines");
  sub->footer("Exit codes: 0 passed, 1 error, 4 measured figures disagree with the file (see the FAILED lines).");
  sub->callback([o] { run_review(*o); });
}
