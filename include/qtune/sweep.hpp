#pragma once
// The sweep: builds each (kind, codec, M, efConstruction) once, runs every search-time setting
// (efSearch, rerank) on that build, measures recall, latency, QPS and memory, appends one JSON
// line per point to results.jsonl as it is measured, then writes results.csv, pareto.csv and
// recommended.yaml (qtune/param_file.hpp) into the output folder.
//
//   sweep_options opt;  opt.resume = true;
//   sweep_outcome out = run_sweep(parse_sweep_spec("sweeps/default.yaml"), opt);
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "qtune/index.hpp"
#include "qtune/measurement.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune {

/// stat3 of values (not empty); values is copied.
stat3 summarize(std::vector<double> values);

/// Whether a point's latency figures look disturbed: the single-thread QPS differs from
/// 1 / p50 by more than `qps_ratio` (either way; p50 is robust, the mean is not), or the p50 of
/// the repetitions spreads by more than `spread` (max/min - 1). A point with one repetition
/// is judged on the QPS test alone.
bool noisy_measurement(const measured_point& p, double qps_ratio = 2.0, double spread = 0.5);

/// JSON object (one line, no newline) and back. from_json_line throws qtune::error on bad input.
std::string to_json_line(const measured_point& p);
measured_point from_json_line(const std::string& line);
/// Reads results.jsonl; a truncated or corrupt last line (a killed writer) is dropped,
/// a corrupt line elsewhere is an error. Later lines with the same key replace earlier ones.
/// Record lines ({"record": ...}: what a multi-fidelity sweep decided) are not points: skipped.
std::vector<measured_point> read_results_jsonl(const std::filesystem::path& path, std::size_t* dropped = nullptr);
/// results.csv: one row per point, a header row first.
void write_results_csv(const std::filesystem::path& path, const std::vector<measured_point>& points);
/// pareto.csv: the points on any front, with one 0/1 column per front.
void write_pareto_csv(const std::filesystem::path& path, const std::vector<measured_point>& points,
                      const sweep_spec& spec);

/// How the efSearch one arm (a build with one rerank factor) needs grew with the base in a
/// multi-fidelity sweep: found by auto-ef on each sample level, predicted for the full base with a
/// bootstrap interval over queries, and measured there when the arm survived to full size.
/// results.jsonl keeps it as a {"record": "ef_scaling", ...} line (read_ef_scaling()).
struct ef_scaling {
  std::string arm;                                     ///< build key + "|rr<r>", e.g. "hnsw|sq8|M16|efc100|rr0"
  std::vector<std::pair<std::size_t, double>> needed;  ///< (base rows, efSearch needed) per sample level
  std::size_t n_full = 0;                              ///< rows of the full base
  double predicted = 0, lo = 0, hi = 0;                ///< efSearch predicted at n_full and its interval
                                                       ///< (hi +inf: open above; null in results.jsonl)
  double exponent = 0;                                 ///< b of the fit ef = a * n^b
  std::optional<std::size_t> measured;                 ///< efSearch auto-ef found at full size
  bool inside() const { return measured && *measured >= lo && *measured <= hi; }
};
std::string to_json_line(const ef_scaling& s);
/// The ef_scaling records of a results.jsonl (empty when none, or no file). Throws qtune::error
/// naming the file and line on a corrupt record.
std::vector<ef_scaling> read_ef_scaling(const std::filesystem::path& path);

/// What the sweep reports while it runs (for the CLI's progress bar or plain lines).
struct sweep_progress {
  std::size_t done = 0;          ///< work units finished
  std::size_t total = 0;         ///< work units planned (a build counts as several)
  std::string message;           ///< what just happened / is starting, one line
  bool is_result = false;        ///< message reports a measured point
};

/// What report.html shows (src/report renders it): filled by the sweep when it ends and by
/// report::load_sweep_dir() for `tune report DIR`.
struct sweep_report_input {
  std::string name;                         ///< sweep name (title)
  std::vector<measured_point> points;
  double target_recall = 0.95;
  recall_measure steer_by = recall_measure::ids;
  std::size_t k = 0;                        ///< 0 = unknown
  std::optional<std::size_t> recommended;   ///< index into points
  std::string outcome;                      ///< one line: what was recommended / why not
  std::vector<std::pair<std::string, std::string>> facts;
  std::vector<ef_scaling> scaling;          ///< multi-fidelity sweeps: efSearch needed vs N per arm
};

struct sweep_options {
  bool resume = false;           ///< keep results.jsonl points with the same spec hash
  bool dry_run = false;          ///< only plan (see sweep_outcome::plan_text)
  /// With resume: measure again the points that were flagged noisy (measured_point::noisy).
  bool remeasure_noisy = false;
  /// Multi-fidelity only: stop after the sample levels and write an extrapolated recommendation,
  /// marked `measured.at_full_size: false` (never the default: it is not measured at full size).
  bool no_confirm = false;
  std::function<void(const sweep_progress&)> on_progress;
  /// Polled between steps; set (e.g. by a SIGINT handler) to stop cleanly.
  const std::atomic<bool>* stop = nullptr;
  /// Called when the sweep ends with measured points, to write report.html (`html`) from `in`.
  /// The tuner does not link the HTML renderer (src/report sits above it): the CLI sets this.
  /// Unset: no report.html. An exception thrown here is ignored (the results are on disk).
  std::function<void(const std::filesystem::path& html, const sweep_report_input& in)> write_report;
};

enum class sweep_status { recommended, target_missed, interrupted, planned };

struct sweep_outcome {
  sweep_status status = sweep_status::planned;
  std::filesystem::path output_dir;
  std::vector<measured_point> points;
  std::optional<measured_point> recommended;
  std::string summary;           ///< one or more lines for the user
  std::string plan_text;         ///< the plan (always filled)
  std::size_t points_resumed = 0;
  double seconds = 0;
};

/// Runs (or with dry_run, plans) the sweep. Throws qtune::error on bad data or spec values.
sweep_outcome run_sweep(const sweep_spec& spec, const sweep_options& options);

/// The output folder for a spec: spec.output, or results/<name>.
std::filesystem::path output_dir_of(const sweep_spec& spec);

}  // namespace qtune
