#pragma once
// The sweep as four steps, each callable on its own (run_sweep() in sweep.hpp composes them; the
// sharded commands `tune plan`, `tune run --shard I/N` and `tune merge` call them separately):
//
//   sweep_context ctx(spec, {});                   // load data, ground truth, query split, threads
//   sweep_plan plan = plan_sweep(ctx);             // plan: the work units, in a stable order
//   for (const work_unit& u : plan.units) {
//     unit_result r = measure_unit(ctx, u, {});    // measure: one build + its search-time sweep
//     store_unit_file(dir, plan, u, r.points);     // store: one file per unit (or results_log)
//   }
//   sweep_outcome out = finalize_sweep(ctx, points, false, dir);  // finalize: fronts, choice, files
//
// A unit is one build (kind, codec, M, efConstruction) with every search-time setting measured
// on it (efSearch list or auto-ef, each rerank factor). Units are independent: any subset may run
// in any process, in any order, and their points merge into the same results as one process.
//
// Fidelity levels (multi-fidelity tuning, successive halving): a unit carries `fidelity` (its
// level, 0 = the full data) and `sample_size` (base rows used at that level, 0 = all). A driver
// plans level 0 with plan_sweep(), measures it, keeps the survivors and re-plans them at the next
// level with plan_units() (same builds, another fidelity/sample_size); the unit id includes both,
// so the units of every level live side by side in one folder. measure_unit() measures on the
// context it is given: a driver that samples the base gives each level its own sweep_context
// (sweep_context_options::base_rows).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "qtune/param_file.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune {

// --- the data every step reads --------------------------------------------------------------

struct sweep_context_options {
  bool with_truth = true;      ///< load or compute the ground truth (a dry run or a merge needs none)
  /// When > 0, use only the first base_rows rows of the base (a fidelity level's nested sample);
  /// the ground truth is then computed for that subset (never read from the spec's file).
  std::size_t base_rows = 0;
  /// Progress lines ("loading data"); empty: the process's progress callback, if any.
  std::function<void(const std::string&)> on_message;
};

/// Loaded once per process and shared (read-only) by planning, measuring and finalizing: the
/// spec, its hash, the base, the tuning/validation split of the queries with their ground truth,
/// content hashes and the thread count. While it lives, oneTBB is limited to spec.threads threads
/// (when spec.threads > 0). Not copyable. Throws qtune::error on bad data (missing files,
/// dimension mismatch, a codec that does not fit the dimension, ...).
class sweep_context {
 public:
  sweep_context(const sweep_spec& spec, const sweep_context_options& options = {});
  ~sweep_context();
  sweep_context(const sweep_context&) = delete;
  sweep_context& operator=(const sweep_context&) = delete;

  const sweep_spec& spec() const { return spec_; }
  const std::string& spec_hash() const { return hash_; }
  std::size_t threads() const { return threads_; }   ///< spec.threads, or all cores when 0
  std::size_t dim() const { return base_->dim(); }
  const vectors& base() const { return *base_; }
  /// Every query row loaded (normalised for cosine), before the tuning/validation split.
  const vectors& queries() const { return *queries_; }
  const vectors& tuning() const { return *tuning_; }
  const vectors& validation() const { return *validation_; }
  const knn_result& truth_tuning() const { return truth_tuning_; }      ///< empty without truth
  const knn_result& truth_validation() const { return truth_validation_; }
  bool has_truth() const { return truth_tuning_.nq > 0; }
  std::size_t n_queries() const { return n_queries_; }  ///< rows of the query file loaded
  const std::vector<std::size_t>& validation_rows() const { return validation_rows_; }  ///< sorted
  const std::string& base_hash() const { return base_hash_; }        ///< content_hash of the base used
  const std::string& queries_hash() const { return queries_hash_; }
  const std::string& ground_truth_desc() const { return ground_truth_desc_; }
  /// Facts for the report header: (label, value) pairs (data, spec, cpu, date, ...).
  std::vector<std::pair<std::string, std::string>> facts() const;

 private:
  sweep_spec spec_;
  std::string hash_;
  std::size_t threads_ = 1;
  std::shared_ptr<void> thread_limit_;  // a tbb::global_control, kept out of this header
  std::optional<vectors> base_, queries_, tuning_, validation_;
  knn_result truth_tuning_, truth_validation_;
  std::string base_hash_, queries_hash_, ground_truth_desc_;
  std::size_t n_queries_ = 0;
  std::vector<std::size_t> validation_rows_;
};

// --- plan -----------------------------------------------------------------------------------

/// One unit of work: one build and its search-time sweep.
struct work_unit {
  std::size_t index = 0;        ///< position in the plan; shard I of N runs the units with index % N == I
  /// The build: kind, codec, m, ef_construction, distance, seed, threads (faiss kinds: codec ""
  /// and m 0). ef_search is unused; rerank is the largest factor (the build keeps full rows then).
  index_config build;
  std::vector<std::size_t> reranks;  ///< search-time rerank factors measured on this build, in order
  std::size_t fidelity = 0;     ///< fidelity level (0 = full data; see the header comment)
  std::size_t sample_size = 0;  ///< base rows at this level (0 = all)
  /// "u0007-<16 hex>": the file-name stem of its unit file. The hash covers the spec hash, the
  /// data's content hashes and the unit's parameters (build, reranks, fidelity, sample size),
  /// so a unit file of another spec or other data is never mistaken for this one.
  std::string id;
  /// "hnsw sq8 M=16 efC=100" (+ " @ 1000 rows" at a sampled level).
  std::string describe() const;
};

struct sweep_plan {
  std::string spec_hash;        ///< spec_hash(spec) of the effective spec
  std::string data_hash;        ///< FNV-1a of the base and query content hashes
  std::vector<work_unit> units; ///< builds in the spec's order (codecs x M x efC, then faiss)
  /// Progress ticks of the whole plan (a build counts 4, each measured setting 1).
  std::size_t progress_total = 0;
  std::string text;             ///< the human plan (tune --dry-run, tune plan)
  double estimated_seconds = 0; ///< the plan's rough time estimate (the figure in text)
};

/// Plans the builds of ctx.spec() (codec/dimension fit already checked by the context).
sweep_plan plan_sweep(const sweep_context& ctx);
/// Units for the given builds (each: kind, codec, m, ef_construction, rerank factors) at a
/// fidelity level, numbered from 0 with ids as in plan_sweep(). For a driver that re-plans survivors.
std::vector<work_unit> plan_units(const sweep_context& ctx,
                                  const std::vector<std::pair<index_config, std::vector<std::size_t>>>& builds,
                                  std::size_t fidelity, std::size_t sample_size);
/// Progress ticks of one unit (4 for the build + one per measured setting).
std::size_t unit_progress_ticks(const sweep_spec& spec, const work_unit& u);

// --- measure --------------------------------------------------------------------------------

struct measure_options {
  /// Points measured earlier (resume): settings already present are not measured again, and an
  /// auto-ef point found earlier is reused instead of searching again. May be null.
  const std::vector<measured_point>* known = nullptr;
  /// Called with each point as soon as it is measured (the store step, e.g. results_log::append).
  std::function<void(const measured_point&)> on_point;
  /// Progress: (ticks done in this unit, message, is a result line, transient).
  std::function<void(std::size_t, const std::string&, bool, bool)> on_progress;
  const std::atomic<bool>* stop = nullptr;   ///< polled between searches
  /// Where neighbors/<key>.ivecs go (the validation neighbours of each point); empty: not written.
  std::filesystem::path neighbors_dir;
  /// Re-measure latency once when noisy_measurement() says a point looks disturbed.
  bool remeasure_noisy = true;
  /// Header for progress lines, e.g. "build 3/12".
  std::string label;
  /// Auto-ef only: rerank factor -> the efSearch to start from (a multi-fidelity prediction);
  /// auto-ef then gallops both ways from there (fidelity::find_min_ef_from) instead of
  /// doubling up from k. Factors not listed start from k as usual.
  std::map<std::size_t, std::size_t> ef_start;
};

struct unit_result {
  std::vector<measured_point> points;  ///< measured now, in measurement order
  bool interrupted = false;            ///< stopped by options.stop before the unit finished
  bool skipped = false;                ///< every setting was already known: nothing built
  double build_seconds = 0;
};

/// Measures one unit: builds the index (unless every setting is already known), then each
/// search setting: latency (p50/p95/p99 over repetitions, one thread), QPS (single and batch),
/// recall on tuning and validation queries with bootstrap intervals, memory, host and load.
unit_result measure_unit(const sweep_context& ctx, const work_unit& unit, const measure_options& options);

/// Measures one configuration on a built index `ix` (its ef_search and rerank are set from
/// config). Fills every field of measured_point except auto_found/auto_probes.
/// validation_found, when given, receives the neighbours found for the validation queries.
measured_point measure_point(const sweep_context& ctx, index& ix, const index_config& config, double build_seconds,
                             knn_result* validation_found = nullptr, bool remeasure_noisy = true);

// --- store ----------------------------------------------------------------------------------

/// results.jsonl of a one-process sweep: starts from `initial` (written back atomically, which
/// drops a half-written last line) and appends each point, flushed, as it is measured; a killed
/// sweep loses at most the point in flight. Later points with the same key replace earlier ones.
class results_log {
 public:
  results_log(const std::filesystem::path& path, std::vector<measured_point> initial);
  ~results_log();
  results_log(const results_log&) = delete;
  results_log& operator=(const results_log&) = delete;
  void append(const measured_point& p);
  /// Appends a {"record": ...} line (one JSON object, no newline): what a multi-fidelity sweep
  /// decided. Not a point; read_results_jsonl() skips it. Records are not carried over by the
  /// constructor: a resumed sweep writes its own.
  void append_record(const std::string& json_object);
  const std::vector<measured_point>& points() const { return points_; }

 private:
  void write_line(const std::string& json);
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<measured_point> points_;
  std::vector<std::pair<std::string, std::size_t>> index_;  // key -> position, sorted
};

/// DIR/units/<unit.id>.jsonl: line 1 a JSON header {"unit", "index", "spec_hash", "data_hash",
/// "points": n, "host", "shard"}, then one results line per point. Written atomically, so a
/// file exists only complete.
std::filesystem::path unit_file_path(const std::filesystem::path& dir, const work_unit& unit);
void store_unit_file(const std::filesystem::path& dir, const sweep_plan& plan, const work_unit& unit,
                     const std::vector<measured_point>& points, const std::string& shard = "");
/// The points of a unit file, or nullopt when the file does not exist. Throws qtune::error
/// naming the file when it is truncated, corrupt, or of another spec/data (hash mismatch).
std::optional<std::vector<measured_point>> read_unit_file(const std::filesystem::path& dir, const sweep_plan& plan,
                                                          const work_unit& unit);
/// DIR/units/<unit.id>.failed: the error of a unit that threw (written atomically; removed
/// when the unit later succeeds).
std::filesystem::path unit_failure_path(const std::filesystem::path& dir, const work_unit& unit);

// --- finalize -------------------------------------------------------------------------------

/// Writes report.html from what the sweep measured (sweep_options::write_report; the tuner does
/// not link the HTML renderer). Exceptions it throws are ignored: the results are on disk.
using report_writer = std::function<void(const std::filesystem::path& html, const sweep_report_input& in)>;

/// What a multi-fidelity sweep adds to the finalize step: the efSearch-vs-N record of each arm
/// (for the report) and what the search cost (recommended.yaml's search_cost block).
struct fidelity_summary {
  std::vector<ef_scaling> scaling;
  search_cost_info cost;
};

/// From every point (in plan order): results.csv, pareto.csv, report.html (when `writer` is
/// set), and unless interrupted the recommendation (recommended.yaml,
/// recommended_neighbors.ivecs). Also writes validation_queries.txt. Returns the outcome with
/// summary lines (and a warning line when points were measured on a busy machine). With
/// `fidelity`, the recommendation comes only from points measured on the full base (n_base ==
/// the context's rows) and recommended.yaml carries the search_cost block.
sweep_outcome finalize_sweep(const sweep_context& ctx, std::vector<measured_point> points, bool interrupted,
                             const std::filesystem::path& output_dir, const report_writer& writer = {},
                             const fidelity_summary* fidelity = nullptr);

/// The recommended parameter file for a chosen point of this context's sweep.
recommended_params make_recommended_params(const sweep_context& ctx, const measured_point& best);

/// The host name of this machine (gethostname), for measured_point::host.
std::string host_name();
/// The 1-minute load average (getloadavg), -1 when unknown.
double load_average_1min();

}  // namespace qtune
