#pragma once
// The HNSW graph as plain data (private to src/index): what the builder produces and what the
// search layout (graph_layout.hpp) is made from. No third-party type appears here; the only file
// that knows hnswlib's internals is hnswlib_graph.cpp.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qtune::detail {

/// An HNSW graph over n nodes with internal ids 0..n-1.
struct plain_graph {
  std::size_t n = 0;
  std::size_t max_degree0 = 0;  ///< level-0 list capacity (hnswlib's maxM0 = 2 M)
  std::size_t max_degree = 0;   ///< upper-level list capacity (hnswlib's maxM = M)
  std::uint32_t entry = 0;      ///< entry point (a node on level max_level)
  int max_level = 0;
  std::vector<int> levels;               ///< n: the top level of each node (0 = level 0 only)
  std::vector<std::uint32_t> degree0;    ///< n: level-0 list lengths (<= max_degree0)
  std::vector<std::uint32_t> links0;     ///< n * max_degree0: level-0 lists (first degree0[i] valid)
  /// Upper levels of node i, levels[i] lists of (1 + max_degree) words each: count, then ids.
  std::vector<std::vector<std::uint32_t>> upper;
  std::vector<std::uint32_t> labels;     ///< n: external label of each internal id (a permutation)

  /// The list of node i at level l >= 1: pointer to (count, ids...).
  const std::uint32_t* upper_list(std::size_t i, int l) const {
    return upper[i].data() + static_cast<std::size_t>(l - 1) * (1 + max_degree);
  }
};

}  // namespace qtune::detail
