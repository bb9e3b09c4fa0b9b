#pragma once
// What was measured for one index configuration: the plain data the tuner produces and a
// parameter file carries (qtune/params.hpp), without the tuner itself. Pure data: no function
// here needs a library beyond qtune::core.
#include <cstddef>
#include <string>

#include "qtune/index.hpp"

namespace qtune {

/// Which number a sweep minimises (latency, memory) or maximises (qps). Names: sweep_spec.hpp.
enum class objective_kind { latency_p50, latency_p99, qps, memory };

/// Which recall steers auto-ef and the recommendation.
enum class recall_measure { ids, distance };

/// median / min / max over repetitions.
struct stat3 {
  double median = 0, min = 0, max = 0;
};

/// A recall with its 95% confidence interval (bootstrap over queries, see recommend.hpp).
struct recall_ci {
  double value = 0, lo = 0, hi = 0;
};

/// One measured point: a configuration (a build and its search settings) and what was measured.
struct measured_point {
  /// The configuration measured: kind, codec, m, ef_construction, ef_search, rerank (faiss
  /// kinds: codec "" and m 0). distance/seed/threads are the sweep's; results files do not
  /// store them.
  index_config config = hnsw_point_config();
  bool auto_found = false;       ///< the smallest ef reaching the target (ef_search: auto)
  std::size_t auto_probes = 0;   ///< efSearch values tried to find it

  recall_ci tuning_recall_ids, tuning_recall_distance;
  recall_ci validation_recall_ids, validation_recall_distance;
  stat3 latency_p50_us, latency_p95_us, latency_p99_us;  ///< one query at a time, one thread
  stat3 qps_single;              ///< queries / second, one thread, one at a time
  stat3 qps_batch;               ///< all threads, whole tuning batch
  std::size_t threads = 0;       ///< threads of the batch measurement
  std::size_t resident_bytes = 0, rerank_bytes = 0;
  std::size_t n_base = 0, n_tuning = 0, n_validation = 0;
  double build_seconds = 0;
  std::string spec_hash;
  std::string host;              ///< hostname of the machine that measured it ("" in old files)
  std::string cpu;               ///< its CPU model (cpu_description()); "" in old files
  /// Latency figures disagreed (single-thread QPS vs 1/p50, or repetitions spread) even after
  /// one re-measurement: the machine was busy. See noisy_measurement().
  bool noisy = false;
  double load_average = -1;      ///< 1-minute load average when measured (-1 unknown)

  std::size_t total_bytes() const noexcept { return resident_bytes + rerank_bytes; }
  /// "hnsw|sq8|M16|efc100" — identifies the build.
  std::string build_key() const { return config.build_key(); }
  /// build_key() + "|ef64|rr0" — identifies the point (resume skips known keys).
  std::string key() const { return config.key(); }
  /// A human one-liner: "hnsw sq8 M=16 efC=100 ef=64 rerank=4".
  std::string describe() const { return config.describe(); }

 private:
  static index_config hnsw_point_config() {
    index_config c;
    c.m = 0, c.ef_construction = 0, c.ef_search = 0, c.codec.clear();
    return c;
  }
};

}  // namespace qtune
