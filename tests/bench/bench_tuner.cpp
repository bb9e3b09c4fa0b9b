// Multi-fidelity tuning against the exhaustive grid, same spec, same machine, one after the other:
// the multi-fidelity sweep (the spec as written, with `fidelity:`) and then every build at full
// size (the same spec without `fidelity:`). Reports both wall times, the multi-fidelity sweep's
// own estimate of the exhaustive time beside the real one, the objective (p50 latency) of the
// multi-fidelity choice against the exhaustive optimum among points whose validation recall
// meets the target, and predicted vs measured efSearch at full size for every arm the
// exhaustive grid measured (the survivors' predictions; every arm's measured need).
//
//   bench_tuner [SPEC=sweeps/fashion-mnist-60k.yaml] [OUT=bench-tuner-results]
//   bench_tuner --synthetic [ROWS=1000000] [OUT=bench-tuner-synthetic]
//   bench_tuner --head-to-head [SPEC] [OUT]   only the head-to-head of an earlier run's two choices
//
// Head to head: the two sweeps' latencies come from two runs minutes apart, and two builds of one
// configuration differ (hnswlib's multi-threaded insertion order). So both recommendations are
// then rebuilt and re-measured as `tune review` does, alternately, 3 rounds, in one process:
// the medians' ratio is the latency comparison.
//
// --synthetic (scale mechanics only, no truth claim about real data): a SYNTHETIC clustered set
// of ROWS x 128 floats (1,000 Gaussian clusters, seeded) and 1,000 queries drawn the same way,
// written as .fvecs under OUT, then a 12-build multi-fidelity sweep (fp32/sq8/sq4 x M 8/16 x
// efConstruction 100/200, auto-ef, rerank 0) on all cores. Prints wall time, peak RSS and the
// sweep's own estimate of the exhaustive grid; no exhaustive run (it would take hours). Ends with
//   TUNER_SYNTHETIC rows=<n> builds=<b> builds_full_size=<f> seconds=<s> peak_rss_mib=<m>
//         exhaustive_estimate_seconds=<e> choice=<config> validation_recall=<r>
//
// One run each (the exhaustive grid takes ~10 minutes on 2 cores): the times are single runs,
// the latencies medians over the spec's repetitions. Ends with one machine-readable line:
//   TUNER spec=<name> mf_seconds=<s> exhaustive_seconds=<s> time_ratio=<r> estimate_seconds=<s>
//         mf_choice=<config> mf_p50_us=<x> best=<config> best_p50_us=<y> latency_ratio=<x/y>
//         ef_inside=<i>/<n>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "qtune/dataset.hpp"

#include "qtune/param_file.hpp"
#include "qtune/recommend.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "tune/review.hpp"

namespace {

namespace fs = std::filesystem;

qtune::sweep_outcome run(qtune::sweep_spec spec, const fs::path& out, const char* what) {
  fs::remove_all(out);
  spec.output = out;
  std::printf("== %s sweep -> %s\n", what, out.c_str());
  std::fflush(stdout);
  qtune::sweep_options opt;
  opt.on_progress = [](const qtune::sweep_progress& p) {
    if (p.is_result) std::printf("   %s\n", p.message.c_str()), std::fflush(stdout);
  };
  qtune::sweep_outcome o = qtune::run_sweep(spec, opt);
  std::printf("%s\n   %s: %.1f s, %zu points\n", o.summary.c_str(), what, o.seconds, o.points.size());
  return o;
}

/// A clustered Gaussian set: centres N(0, 4^2) per coordinate, points N(centre, 1).
std::vector<float> clustered(std::size_t rows, std::size_t dim, const std::vector<float>& centres, std::mt19937_64& rng) {
  const std::size_t nc = centres.size() / dim;
  std::normal_distribution<float> g(0.f, 1.f);
  std::vector<float> x(rows * dim);
  for (std::size_t i = 0; i < rows; ++i) {
    const std::size_t c = rng() % nc;
    for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] = centres[c * dim + j] + g(rng);
  }
  return x;
}

int run_synthetic(std::size_t rows, const fs::path& out) {
  const std::size_t dim = 128, nq = 1000, nc = 1000;
  fs::create_directories(out);
  std::mt19937_64 rng(20261201);
  std::normal_distribution<float> g(0.f, 4.f);
  std::vector<float> centres(nc * dim);
  for (auto& c : centres) c = g(rng);
  std::printf("== SYNTHETIC clustered set: %zu x %zu (+ %zu queries), %zu clusters -> %s\n", rows, dim, nq, nc,
              out.c_str());
  std::fflush(stdout);
  {
    const std::vector<float> base = clustered(rows, dim, centres, rng);
    qtune::write_fvecs(out / "base.fvecs", {base.data(), rows, dim, dim});
  }
  const std::vector<float> queries = clustered(nq, dim, centres, rng);
  qtune::write_fvecs(out / "queries.fvecs", {queries.data(), nq, dim, dim});
  std::ofstream(out / "synthetic.yaml")
      << "# SYNTHETIC data written by bench_tuner --synthetic (scale mechanics only)\n"
      << "name: synthetic-" << rows << "\n"
      << "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
      << "k: 10\ntarget_recall: 0.95\n"
      << "grid:\n  codecs: [fp32, sq8, sq4]\n  m: [8, 16]\n  ef_construction: [100, 200]\n  ef_search: auto\n"
      << "  rerank: [0]\nobjective: latency_p50\nthreads: 0\nrepetitions: 3\n"
      << "output: results\ncache_dir: cache\nfidelity: {levels: auto, margin: 0.05}\n";
  const qtune::sweep_spec spec = qtune::parse_sweep_spec(out / "synthetic.yaml");
  const qtune::sweep_outcome o = run(spec, out / "results", "multi-fidelity (SYNTHETIC)");
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double rss_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  std::size_t full = 0, total = 0;
  double estimate = 0;
  if (fs::exists(out / "results" / "recommended.yaml")) {
    const auto rp = qtune::load_param_file(out / "results" / "recommended.yaml");
    if (rp.search_cost)
      estimate = rp.search_cost->exhaustive_seconds_estimate, full = rp.search_cost->builds_full_size,
      total = rp.search_cost->builds_total;
  }
  std::printf("TUNER_SYNTHETIC rows=%zu builds=%zu builds_full_size=%zu seconds=%.1f peak_rss_mib=%.0f "
              "exhaustive_estimate_seconds=%.1f choice=\"%s\" validation_recall=%.4f\n",
              rows, total, full, o.seconds, rss_mib, estimate,
              o.recommended ? o.recommended->describe().c_str() : "none",
              o.recommended ? o.recommended->validation_recall_ids.value : 0.0);
  return o.status == qtune::sweep_status::recommended ? 0 : 1;
}

/// Rebuilds and re-measures both recommendations alternately; prints and returns the ratio of
/// the medians of p50 (multi-fidelity / exhaustive), 0 when either file is missing.
double head_to_head(const qtune::sweep_spec& spec, const fs::path& out, int rounds = 3) {
  const fs::path a = out / "multi-fidelity" / "recommended.yaml", b = out / "exhaustive" / "recommended.yaml";
  if (!fs::exists(a) || !fs::exists(b)) return 0;
  const qtune::recommended_params pa = qtune::load_param_file(a), pb = qtune::load_param_file(b);
  qtune::sweep_spec s = spec;
  s.fidelity = {};
  std::vector<double> ta, tb;
  std::printf("\nhead to head (rebuilt and re-measured alternately, %d rounds):\n", rounds);
  for (int r = 0; r < rounds; ++r)
    for (int w = 0; w < 2; ++w) {
      const qtune::recommended_params& p = w == 0 ? pa : pb;
      const qtune::review_outcome o = qtune::review_measure(p, s);
      (w == 0 ? ta : tb).push_back(o.measured.latency_p50_us.median);
      std::printf("  round %d %-14s %-36s p50 %.2f us, validation recall %.4f\n", r + 1,
                  w == 0 ? "multi-fidelity" : "exhaustive", p.measured.describe().c_str(),
                  o.measured.latency_p50_us.median, o.measured.validation_recall_ids.value);
      std::fflush(stdout);
    }
  const auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double ra = med(ta), rb = med(tb);
  std::printf("  median p50: multi-fidelity choice %.2f us, exhaustive optimum %.2f us, ratio %.3f (%s the 5%% bound)\n",
              ra, rb, ra / rb, ra <= 1.05 * rb ? "within" : "OUTSIDE");
  return ra / rb;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--head-to-head") {
    try {
      const qtune::sweep_spec spec = qtune::parse_sweep_spec(argc > 2 ? argv[2] : "sweeps/fashion-mnist-60k.yaml");
      const double r = head_to_head(spec, argc > 3 ? argv[3] : "bench-tuner-results");
      std::printf("TUNER_HEAD_TO_HEAD spec=%s latency_ratio=%.3f\n", spec.name.c_str(), r);
      return r > 0 ? 0 : 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_tuner: %s\n", e.what());
      return 1;
    }
  }
  if (argc > 1 && std::string(argv[1]) == "--synthetic") {
    try {
      return run_synthetic(argc > 2 ? std::stoul(argv[2]) : 1000000,
                           argc > 3 ? argv[3] : "bench-tuner-synthetic");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_tuner: %s\n", e.what());
      return 1;
    }
  }
  const fs::path spec_path = argc > 1 ? argv[1] : "sweeps/fashion-mnist-60k.yaml";
  const fs::path out = argc > 2 ? argv[2] : "bench-tuner-results";
  try {
    const qtune::sweep_spec spec = qtune::parse_sweep_spec(spec_path);
    if (!spec.fidelity.enabled) {
      std::fprintf(stderr, "%s: has no fidelity: key (the benchmark compares a multi-fidelity spec)\n",
                   spec_path.c_str());
      return 2;
    }
    const qtune::sweep_outcome mf = run(spec, out / "multi-fidelity", "multi-fidelity");
    qtune::sweep_spec full = spec;
    full.fidelity = {};
    const qtune::sweep_outcome ex = run(full, out / "exhaustive", "exhaustive");

    // The exhaustive optimum among points meeting the target on validation.
    const qtune::measured_point* best = nullptr;
    for (const auto& p : ex.points)
      if (qtune::validation_recall(p, spec.steer_by) >= spec.target_recall &&
          (!best || p.latency_p50_us.median < best->latency_p50_us.median))
        best = &p;
    double estimate = 0;
    if (fs::exists(out / "multi-fidelity" / "recommended.yaml")) {
      const auto rp = qtune::load_param_file(out / "multi-fidelity" / "recommended.yaml");
      if (rp.search_cost) estimate = rp.search_cost->exhaustive_seconds_estimate;
    }
    // Predicted (multi-fidelity survivors) vs the need auto-ef measured in the exhaustive grid.
    std::map<std::string, std::size_t> need;
    for (const auto& p : ex.points)
      if (p.auto_found) need[p.build_key() + "|rr" + std::to_string(p.config.rerank)] = p.config.ef_search;
    std::size_t inside = 0, n = 0;
    std::printf("\npredicted efSearch at full size vs measured (multi-fidelity run; exhaustive run):\n");
    for (const auto& s : qtune::read_ef_scaling(out / "multi-fidelity" / "results.jsonl")) {
      const auto it = need.find(s.arm);
      std::printf("  %-28s predicted %6.1f [%4.0f, %4.0f]  measured %4s  exhaustive %4s\n", s.arm.c_str(),
                  s.predicted, s.lo, s.hi, s.measured ? std::to_string(*s.measured).c_str() : "-",
                  it != need.end() ? std::to_string(it->second).c_str() : "-");
      if (s.measured) ++n, inside += s.inside() ? 1 : 0;
    }
    const double mf_p50 = mf.recommended ? mf.recommended->latency_p50_us.median : 0;
    const double best_p50 = best ? best->latency_p50_us.median : 0;
    std::printf("\nmulti-fidelity: %.1f s, choice %s, p50 %.2f us, validation recall %.4f\n", mf.seconds,
                mf.recommended ? mf.recommended->describe().c_str() : "none", mf_p50,
                mf.recommended ? qtune::validation_recall(*mf.recommended, spec.steer_by) : 0.0);
    std::printf("exhaustive:     %.1f s (estimated by the multi-fidelity run: %.1f s), optimum %s, p50 %.2f us\n",
                ex.seconds, estimate, best ? best->describe().c_str() : "none", best_p50);
    std::printf("time ratio %.3f, latency ratio %.3f (%s the 5%% bound)\n", mf.seconds / ex.seconds,
                best_p50 > 0 ? mf_p50 / best_p50 : 0.0,
                best_p50 > 0 && mf_p50 <= 1.05 * best_p50 ? "within" : "OUTSIDE");
    const double h2h = head_to_head(spec, out);
    std::printf("TUNER spec=%s mf_seconds=%.1f exhaustive_seconds=%.1f time_ratio=%.3f estimate_seconds=%.1f "
                "mf_choice=\"%s\" mf_p50_us=%.2f best=\"%s\" best_p50_us=%.2f latency_ratio=%.3f head_to_head_ratio=%.3f "
                "ef_inside=%zu/%zu\n",
                spec.name.c_str(), mf.seconds, ex.seconds, mf.seconds / ex.seconds, estimate,
                mf.recommended ? mf.recommended->describe().c_str() : "none", mf_p50,
                best ? best->describe().c_str() : "none", best_p50, best_p50 > 0 ? mf_p50 / best_p50 : 0.0, h2h,
                inside, n);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tuner: %s\n", e.what());
    return 1;
  }
}
