#pragma once
// The `hnsw` and `faiss:<factory>` adapters behind qtune::make_index (private to the library;
// tests include this to reach the test hooks). No third-party header appears here.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "qtune/codec.hpp"
#include "qtune/index.hpp"

namespace qtune::detail {

class graph_layout;

/// An HNSW graph over the codec's codes. hnswlib builds the graph (hnswlib_graph.hpp, with exact
/// float distances or the codec's symmetric distance, config.graph_source); it is then converted
/// into qtune's own search layout (graph_layout.hpp: codes next to level-0 links, compact ids,
/// BFS order), which search walks with the codec's asymmetric distance (query prepared once,
/// thread-local, 64-byte aligned; ef per call). The index file stores that layout and is fully
/// validated on load. Full-precision rows are kept for rerank unless the codec is fp32.
class hnsw_index final : public index {
 public:
  hnsw_index(const index_config& config, std::size_t dim);
  ~hnsw_index() override;

  const index_config& config() const override;
  std::size_t dim() const override;
  std::size_t size() const override;
  void build(matrix_view<float> base) override;
  void add(matrix_view<float> x) override;
  void set_ef_search(std::size_t ef) override;
  void set_rerank(std::size_t r) override;
  void search(const float* q, std::size_t k, std::int32_t* ids, float* distances) const override;
  void search_ef(const float* q, std::size_t k, std::size_t ef_search, std::int32_t* ids,
                 float* distances) const override;
  void search_batch(matrix_view<float> queries, std::size_t k, std::int32_t* ids, float* distances,
                    std::size_t threads = 0, std::size_t ef_search = 0) const override;
  index_memory memory() const override;
  void save(const std::filesystem::path& path) const override;
  void load(const std::filesystem::path& path) override;

  // --- test hooks ----------------------------------------------------------------------------
  /// The trained codec (valid after build/load).
  const codec& graph_codec() const;
  /// hnswlib's own searchKnn with ef over the same graph and prepared query (no rerank); slow
  /// (rebuilds an hnswlib graph per call), for tests comparing the two searches.
  void search_hnswlib(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids, float* distances) const;
  /// Sum over all nodes of the level-0 out-degree (graph comparisons in tests).
  std::size_t level0_degree_sum() const;
  /// search_ef() through graph_layout::search_reference (the plain algorithm).
  void search_reference(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids, float* distances) const;
  /// The search layout (valid after build/load).
  const graph_layout& layout() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The faiss:<factory> adapter.
std::unique_ptr<index> make_faiss_index(const index_config& config, std::size_t dim);

}  // namespace qtune::detail
