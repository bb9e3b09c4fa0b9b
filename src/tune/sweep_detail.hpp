#pragma once
// Internal to src/tune: small helpers the sweep steps share.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <cstddef>
#include <iomanip>
#include <sstream>
#include <string>

#include "qtune/metric.hpp"
#include "util/byte_size.hpp"
#include "util/format.hpp"

namespace qtune {
class sweep_context;
class index;
struct measured_point;
struct knn_result;
struct work_unit;
}

namespace qtune::detail {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}


/// neighbors/<key>.ivecs of a point (the key with unsafe characters replaced) under `dir`.
inline std::filesystem::path neighbors_file(const std::filesystem::path& dir, const std::string& key) {
  std::string name = key;
  for (char& c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) c = '_';
  return dir / (name + ".ivecs");
}

/// Exact distance (qtune/metric.hpp conventions) between a base row and a query (dim floats
/// each), in double, with the ground truth's own float64 kernels.
float exact_distance(const float* x, const float* q, std::size_t dim, metric m);

/// Latency and QPS of `ix` (at its current efSearch/rerank) over the spec's repetitions: one
/// tuning query at a time on this thread, then the tuning batch on all threads. `single`
/// (tuning rows x k) receives the neighbours of the last repetition.
void measure_latency(const sweep_context& ctx, const index& ix, measured_point& p, knn_result& single);

/// Throws qtune::error naming the build and the bytes when building unit `u` over `rows` rows
/// (the analytic estimate, fidelity::estimate_build_bytes) cannot fit in this machine's RAM:
/// a clear error before the work, never an OOM kill halfway.
void check_build_memory(const sweep_context& ctx, const work_unit& u, std::size_t rows);

/// DIR/validation_queries.txt: the rows of the query file held out, in neighbours-file order.
void write_validation_rows(const sweep_context& ctx, const std::filesystem::path& dir);

}  // namespace qtune::detail
