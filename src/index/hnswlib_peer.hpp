#pragma once
// hnswlib's own fp32 graph and distance (L2Space / InnerProductSpace), as a peer engine: what
// `tune review --engine hnswlib` builds to check a recommendation's hnswlib spelling. Implemented
// in hnswlib_graph.cpp, the one file that includes hnswlib (one instantiation of its templates,
// with the padded allocations described there).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "index/hnswlib_graph.hpp"

namespace qtune::detail {

class hnswlib_fp32_peer {
 public:
  /// x: n * dim floats, row-major, row i gets label i (copied into the graph). inner_product
  /// picks InnerProductSpace, else L2Space. Built as hnswlib's examples do: the first row alone,
  /// then the rest in parallel (p.threads, 0 = all cores).
  hnswlib_fp32_peer(const float* x, std::size_t n, std::size_t dim, bool inner_product, const hnsw_build_params& p);
  ~hnswlib_fp32_peer();
  hnswlib_fp32_peer(const hnswlib_fp32_peer&) = delete;
  hnswlib_fp32_peer& operator=(const hnswlib_fp32_peer&) = delete;

  /// q: nq * dim floats; ids: nq * k labels per query, nearest first, -1 where fewer than k
  /// were found. Sets hnswlib's efSearch to ef first (shared state: one search at a time).
  void search(const float* q, std::size_t nq, std::size_t k, std::size_t ef, std::int32_t* ids);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace qtune::detail
