#pragma once
// The sweep spec: what `tune SPEC.yaml` measures. Parsed from YAML (every key is documented
// in sweeps/README.md; `tune --example` prints a commented template, example_spec_text()).
//
// Errors (unknown keys, wrong types, impossible values) raise qtune::error with a message
// that starts "FILE:LINE:COLUMN: " (1-based), e.g.
//   sweeps/x.yaml:12:5: grid.ef_search[2] must be a positive integer, got '-3'
//
// Paths in a spec are relative to the spec file's folder, or absolute; parse_sweep_spec()
// resolves them.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qtune/measurement.hpp"
#include "qtune/metric.hpp"

namespace qtune {

std::string to_string(objective_kind o);
/// "latency_p50" | "latency_p99" | "qps" | "memory"; throws qtune::error otherwise.
objective_kind parse_objective(const std::string& name);


struct dataset_spec {
  std::filesystem::path base;                ///< base vectors (format by extension)
  std::filesystem::path queries;             ///< query vectors
  std::filesystem::path ground_truth;        ///< optional .ivecs of true neighbours (empty = compute)
  std::filesystem::path ground_truth_distances;  ///< optional .fvecs beside it
  metric distance = metric::l2;
  std::size_t max_base = 0;                  ///< 0 = all rows
  std::size_t max_queries = 0;               ///< 0 = all rows
};

struct grid_spec {
  std::vector<std::string> codecs{"fp32"};   ///< canonical codec names (hnsw kind)
  std::vector<std::size_t> m{16};
  std::vector<std::size_t> ef_construction{200};
  bool ef_search_auto = true;                ///< `ef_search: auto`
  std::vector<std::size_t> ef_search;        ///< the list when not auto
  std::size_t ef_search_max = 1024;          ///< auto: upper end of the search
  std::vector<double> ef_search_extra{1.25, 1.5};  ///< auto: also measure ef * each factor
  std::vector<std::size_t> rerank{0};        ///< rerank factors r (0 = off); hnsw codecs != fp32
  std::vector<std::string> faiss;            ///< FAISS factory strings (kind "faiss:<s>")
};

/// Multi-fidelity tuning (the `fidelity:` key; sweeps/README.md): measure every build on nested
/// seeded samples of the base, keep by successive halving the ones that can still win, predict
/// the efSearch each survivor needs at full size, and measure only the survivors at full size.
struct fidelity_spec {
  bool enabled = false;                      ///< absent or `off`: a plain sweep, every build at full size
  /// Fractions of the base, strictly increasing, the last 1.0; empty: the default geometric
  /// levels (3%, 10%, 30%, 100%, dropping levels smaller than min_rows).
  std::vector<double> levels;
  std::size_t min_rows = 2000;               ///< default levels: the smallest sample worth measuring
  /// Cost intervals are widened by this fraction of the cost on both sides before comparing
  /// (the cost at full size is not the cost on a sample; a busy machine moves latencies).
  double margin = 0.10;
  std::size_t keep_at_least = 1;             ///< survivors per level, at least (best first)
};

struct sweep_spec {
  std::filesystem::path file;                ///< the spec file (empty when built in code)
  std::string name;                          ///< default: the file's stem
  dataset_spec dataset;
  std::size_t k = 10;
  double target_recall = 0.95;
  recall_measure steer_by = recall_measure::ids;
  double validation_fraction = 0.5;          ///< share of the queries held out for validation
  grid_spec grid;
  objective_kind objective = objective_kind::latency_p50;
  std::uint64_t memory_budget = 0;           ///< bytes; 0 = no budget
  bool memory_counts_rerank = true;          ///< budget/objective count rerank vectors too
  std::size_t threads = 0;                   ///< 0 = all cores
  std::size_t repetitions = 3;
  std::size_t warmup_queries = 100;
  std::uint64_t seed = 42;
  std::filesystem::path output;              ///< empty: results/<name>
  std::filesystem::path cache_dir;           ///< empty: default_ground_truth_cache_dir()
  fidelity_spec fidelity;

  /// "FILE:LINE:COL" of keys that later checks may need to point at (dotted key -> place),
  /// e.g. "grid.codecs[1]", "k", "dataset.base". Absent keys are absent.
  std::map<std::string, std::string> where;
  /// The place of a key, or the file name when unknown.
  std::string place(const std::string& key) const;
};

/// Command-line overrides of a spec (tune, tune plan/run/submit): unset fields keep the spec's.
struct spec_overrides {
  std::optional<double> target_recall;       ///< (0, 1]
  std::optional<long> k;                     ///< 1..1000
  std::optional<long> threads;               ///< >= 0 (0 = all cores)
  std::filesystem::path output;              ///< empty: keep
  bool empty() const { return !target_recall && !k && !threads && output.empty(); }
};
/// Applies o to spec; throws qtune::error ("--k must be in 1..1000, got 0") on a bad value.
void apply_overrides(sweep_spec& spec, const spec_overrides& o);

/// Parses a spec file. Throws qtune::error "FILE:LINE:COL: ..." on any problem.
sweep_spec parse_sweep_spec(const std::filesystem::path& path);
/// Parses YAML text; `file` names it in messages and anchors relative paths.
sweep_spec parse_sweep_spec_text(const std::string& yaml, const std::filesystem::path& file);

/// A canonical one-line-per-field text of everything that affects measurements (not the
/// output folder); its hash keys results.jsonl for --resume.
std::string canonical_text(const sweep_spec& spec);
/// 16 hex digits (FNV-1a 64) of canonical_text().
std::string spec_hash(const sweep_spec& spec);

/// The commented template printed by `tune --example`.
std::string example_spec_text();

}  // namespace qtune
