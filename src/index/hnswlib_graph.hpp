#pragma once
// hnswlib as the graph BUILDER (private to src/index). hnswlib_graph.cpp is the only file of the
// library that includes hnswlib or touches its members; it was written for hnswlib 0.6.2 (Debian
// 12's libhnswlib-dev) and checks at compile time (requires-expressions on every member it uses)
// and at run time (check_hnswlib_layout) that the installed hnswlib is laid out as 0.6.2 is.
//
// Distances are qtune's code distances: data rows are `data_size` bytes and `fn(a, b, params)`
// compares two of them (hnswlib's SpaceInterface).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/graph.hpp"
#include "qtune/codec.hpp"

namespace qtune::detail {

/// The hnswlib version hnswlib_graph.cpp was written for.
inline constexpr const char* hnswlib_written_for = "0.6.2";

struct hnsw_build_params {
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::size_t seed = 100;
  std::size_t threads = 0;  ///< 0 = all cores
};

/// Builds an HNSW graph over n rows (data: n * data_size bytes, row i gets label i): the first
/// row alone, then the rest in parallel. Reports progress ("hnsw build").
plain_graph build_hnsw_graph(const std::uint8_t* data, std::size_t n, std::size_t data_size, code_distance_fn fn,
                             const void* params, const hnsw_build_params& p);

/// Adds rows to an existing graph: g's nodes keep their internal ids and labels (data: g.n rows
/// by internal id), the new rows (added: n_added rows) get internal ids and labels g.n, g.n + 1,
/// ... and are linked with fn. Returns the grown graph.
plain_graph extend_hnsw_graph(const plain_graph& g, const std::uint8_t* data, const std::uint8_t* added,
                              std::size_t n_added, std::size_t data_size, code_distance_fn fn, const void* params,
                              const hnsw_build_params& p);

/// hnswlib's own searchKnn over g (test hook: data is g.n rows by internal id; query is passed to
/// fn as its first argument). Returns up to k (distance, label) pairs, nearest first.
std::vector<std::pair<float, std::uint32_t>> hnswlib_search_knn(const plain_graph& g, const std::uint8_t* data,
                                                                 std::size_t data_size, code_distance_fn fn,
                                                                 const void* params, const void* query,
                                                                 std::size_t k, std::size_t ef);

/// Checks that the hnswlib compiled in lays out its graph as 0.6.2 does (link-list sizes, data
/// offsets, label slot); throws qtune::error naming hnswlib_written_for when it does not.
void check_hnswlib_layout();

}  // namespace qtune::detail
