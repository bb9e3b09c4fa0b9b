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
}

namespace qtune::sweep_detail {

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

/// DIR/validation_queries.txt: the rows of the query file held out, in neighbours-file order.
void write_validation_rows(const sweep_context& ctx, const std::filesystem::path& dir);

}  // namespace qtune::sweep_detail
