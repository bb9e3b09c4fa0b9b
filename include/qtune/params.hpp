#pragma once
// The parameters a sweep recommends, as plain data: the index configuration, the query-time
// settings, what was measured for it and where it came from. A search service builds or opens
// an index from these (qtune/qtune.hpp); reading and writing recommended.yaml is the tuner's
// (qtune/param_file.hpp, qtune::tune).
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "qtune/index.hpp"
#include "qtune/measurement.hpp"

namespace qtune {

struct param_provenance {
  std::string base_path, base_hash;          ///< dataset files and content_hash() of the rows used
  std::string queries_path, queries_hash;
  std::string ground_truth;                  ///< a path, or "computed (exact, cached)"
  std::string spec_path, spec_file_hash, spec_hash;
  std::string qtune_version, git_commit;
  std::string cpu, simd_level;
  std::size_t threads = 0;
  std::string date;                          ///< UTC, ISO 8601
};

/// A re-measurement of the exported spelling in a peer engine (`tune review --engine`), kept in
/// the deploy section as deploy.<engine>.verified_recall / verified_ef_search.
struct deploy_verified {
  std::string engine;                        ///< "faiss" | "hnswlib"
  double recall = 0;                         ///< validation recall@k (ids) measured in the engine
  std::size_t ef_search = 0;                 ///< the engine's efSearch that reached the target
  std::string date;                          ///< UTC, ISO 8601
};

/// What a multi-fidelity sweep spent (recommended.yaml's search_cost block).
struct search_cost_info {
  double seconds = 0;                        ///< wall time of the whole sweep
  double exhaustive_seconds_estimate = 0;    ///< the full grid at full size, from measured rates
  std::size_t builds_total = 0;              ///< builds in the grid
  std::size_t builds_full_size = 0;          ///< of them, built and measured at full size
};

struct recommended_params {
  index_config config;                       ///< kind, codec, m, ef_construction, ef_search, rerank, metric, seed
  std::size_t dim = 0;
  std::size_t k = 10;
  double target_recall = 0.95;
  recall_measure steer_by = recall_measure::ids;
  objective_kind objective = objective_kind::latency_p50;
  /// What was measured for this configuration. Medians of latency/QPS are kept (min/max are
  /// in results.jsonl).
  measured_point measured;
  param_provenance provenance;
  std::vector<deploy_verified> verified;     ///< deploy checks, in the order they were added
  /// false: an extrapolated recommendation (tune --no-confirm), NOT measured at full size;
  /// rendered as measured.at_full_size (only when false or with a search_cost block).
  bool at_full_size = true;
  std::optional<search_cost_info> search_cost;  ///< multi-fidelity sweeps only
};

}  // namespace qtune
