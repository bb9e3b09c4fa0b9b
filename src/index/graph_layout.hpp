#pragma once
// qtune's own HNSW search layout (private to src/index).
//
// After hnswlib has built the graph (hnswlib_graph.hpp), the graph is converted into this layout:
//  * nodes are relabelled in breadth-first order from the entry point over level 0 (neighbours
//    of a node sit near it in memory); the labels map internal ids back to the caller's row ids;
//  * each node is one record: its code (code_size bytes, at offset 0), then its level-0 links as
//    `max_degree0` compact little-endian ids of 2 bytes (n < 2^16 - 1), 3 bytes (n < 2^24 - 1)
//    or 4; unused slots hold the all-ones id, the sentinel. A 3-byte id is read as 4 bytes and
//    masked, so the buffer has 4 bytes of slack past the last record. Records are `stride`
//    bytes apart, the buffer is 64-byte aligned and the stride a multiple of 64 (one
//    cache-line-aligned record) unless that would waste more than 1/8 of the record; then
//    records are packed, the stride a multiple of 4. Codes are therefore
//    at least 4-byte aligned whatever the code size (bin and pq4x4 codes of odd size included).
//  * labels_ (internal id -> the caller's row id) are uint16 when n <= 65536, else uint32.
//  * upper levels (few nodes) are kept apart and indexed by rank among the nodes above level 0
//    (upper_node_[r] is the internal id of rank r, in increasing id order): rank r's levels
//    1..upper_level_[r] are lists of (1 + max_degree) uint32 words (count, ranks) starting at
//    upper_[upper_offset_[r]]. Nodes only on level 0 (most of them) cost nothing there.
//
// Search: greedy descent on the upper levels, then a best-first beam of width ef on level 0 with
// an epoch-stamped visited array (never cleared between searches, filtered branch-free), one
// sorted pool of the ef best (distance, internal id) pairs (ties broken by id; one integer key
// each) in place of HNSW's two heaps, and the records of a node's unvisited neighbours
// prefetched, then scored as one batch. search_reference() is
// the plain algorithm (two std::priority_queue, no prefetch, scalar kernel) the tests compare it with.
//
// File form (serialize / deserialize, little-endian), independent of the in-memory stride:
//   u32 magic "QGL1", u32 n, u32 max_degree0, u32 max_degree, u32 code_size, u32 entry,
//   u32 max_level, u32 reserved(0);
//   u8 levels[n]; u32 labels[n]; u32 degree0[n]; u32 links0[n * max_degree0] (unused slots 0);
//   for each node with levels[i] > 0, levels[i] lists of (1 + max_degree) u32 words;
//   u8 codes[n * code_size] (by internal id).
// deserialize() checks every size, count, level and id against the section length and n before
// it allocates or uses them, so a crafted file is a qtune::error, never a memory error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "index/graph.hpp"
#include "qtune/codec.hpp"

namespace qtune::detail {

/// (distance, internal id)
using graph_hit = std::pair<float, std::uint32_t>;

/// One query as the search sees it: the codec's prepared query and asymmetric distance, and the
/// raw query (dim floats) for the integer path.
struct graph_query {
  const void* prepared = nullptr;
  code_distance_fn fn = nullptr;
  const void* params = nullptr;
  const float* x = nullptr;
};

class graph_layout {
 public:
  graph_layout() = default;

  /// Relabels g (BFS) and lays it out with its codes. codes_by_label: g.n rows of code_size bytes,
  /// row r is the code of the node whose label is r.
  static graph_layout from_plain(const plain_graph& g, const std::uint8_t* codes_by_label, std::size_t code_size);
  /// The graph with this layout's internal ids (labels kept), for hnswlib (add, test hooks).
  plain_graph to_plain() const;

  std::size_t size() const noexcept { return n_; }
  std::size_t code_size() const noexcept { return code_size_; }
  std::size_t stride() const noexcept { return stride_; }
  std::size_t max_degree0() const noexcept { return max_degree0_; }
  std::size_t id_bytes() const noexcept { return id_bytes_; }
  /// The code of internal node i (code_size bytes, at least 4-byte aligned).
  const std::uint8_t* code(std::uint32_t i) const noexcept { return records_.get() + std::size_t(i) * stride_; }
  std::uint32_t label(std::uint32_t i) const noexcept { return labels16_.empty() ? labels32_[i] : labels16_[i]; }
  /// The top level of internal node i (0 for most nodes).
  int level(std::uint32_t i) const noexcept;
  /// Codes of all nodes by internal id, n * code_size bytes.
  std::vector<std::uint8_t> codes_by_internal() const;
  /// Level-0 out-degree of node i.
  std::size_t degree0(std::uint32_t i) const noexcept;

  /// Bytes held while searching: records, upper levels, labels, norms.
  std::size_t memory_bytes() const noexcept;

  /// How set_affine_u8's scores are formed (the codec's distance for its metric).
  enum class affine_form { l2, ip, cosine };
  /// Declares the codes affine bytes (code_size == dim, decoded x_j = lo_j + scale_j * c_j, as
  /// sq8 writes them): search then scores with an integer kernel (graph_kernels.hpp). The query
  /// is folded once into int16 weights w_j ~ q_j * scale_j / alpha, so that q.x = q.lo +
  /// alpha sum_j w_j c_j and
  ///   l2:     |q - x|^2 = |q|^2 - 2 q.x + |x|^2        (|x|^2 kept per node)
  ///   ip:     1 - q.x
  ///   cosine: 1 - q.x / |x|                           (1 / |x| kept per node)
  /// with alpha = max_j |q_j scale_j| / w_max (w_max <= 32767, bounded so no sum can overflow).
  /// The scores differ from the codec's float distance by the rounding of w (relative ~1e-4 of
  /// the dot product); callers that report distances rescore the hits with the codec.
  void set_affine_u8(const std::vector<float>& lo, const std::vector<float>& scale, affine_form form);
  bool affine_u8() const noexcept { return !lo_.empty() && use_affine_; }
  void clear_affine_u8() noexcept {
    lo_.clear();
    scale_.clear();
    norms_.clear();
  }
  /// Forces the function-pointer path even when affine_u8() (comparisons).
  void set_use_affine_u8(bool on) noexcept { use_affine_ = on; }

  /// Best-first search; out: up to ef (score, internal id), nearest first. Thread-safe
  /// (per-thread scratch). With affine_u8() the scores are the integer path's.
  void search(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out) const;
  /// The same algorithm written plainly, with the scalar kernel (tests): must give the same hits
  /// as search().
  void search_reference(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out) const;

  std::string serialize() const;
  /// Parses and validates serialize()'s bytes; `name` (the file) and the expected node count and
  /// code size come from the index header. Throws qtune::error.
  static graph_layout deserialize(const std::string& bytes, std::size_t expected_n, std::size_t code_size,
                                  const std::string& name);

 private:
  struct free_deleter {
    void operator()(std::uint8_t* p) const noexcept;
  };
  template <int IdBytes, class Scorer>
  void search_impl(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const;
  /// search_impl for this layout's id width.
  template <class Scorer>
  void dispatch_ids(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const;
  template <class Scorer>
  void search_plain(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const;
  void run_search(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out, bool reference) const;
  /// Node i's level-0 list: max_degree0_ ids of id_bytes_ bytes each.
  const std::uint8_t* links0(std::uint32_t i) const noexcept {
    return records_.get() + std::size_t(i) * stride_ + links_offset_;
  }
  /// Id j of node i's level-0 list (the sentinel past its end), and its writer.
  std::uint32_t link(std::uint32_t i, std::size_t j) const noexcept;
  void set_link(std::uint32_t i, std::size_t j, std::uint32_t id) noexcept;
  std::uint32_t link_sentinel() const noexcept;
  /// The level-l list (count, ranks) of the upper node of rank r.
  const std::uint32_t* upper_list(std::uint32_t r, int l) const noexcept {
    return upper_.data() + upper_offset_[r] + std::size_t(l - 1) * (1 + max_degree_);
  }
  /// Sets labels and the upper levels from per-node arrays by internal id: levels[n], labels[n],
  /// and upper_by_node, each node's levels[i] lists of (1 + max_degree) words (count, internal
  /// ids) in id order. Needs n_, max_degree_, entry_ and max_level_.
  void set_levels_and_labels(const std::vector<std::uint8_t>& levels, const std::vector<std::uint32_t>& labels,
                             const std::vector<std::uint32_t>& upper_by_node);
  /// The upper lists in set_levels_and_labels' form (internal ids).
  std::vector<std::uint32_t> upper_by_node() const;
  template <class Scorer>
  std::uint32_t greedy_upper(const Scorer& score, float& dist) const;
  void allocate(std::size_t n, std::size_t code_size, std::size_t max_degree0);

  std::size_t n_ = 0, code_size_ = 0, max_degree0_ = 0, max_degree_ = 0;
  std::size_t id_bytes_ = 4, links_offset_ = 0, stride_ = 0;
  std::uint32_t entry_ = 0, entry_rank_ = 0;
  int max_level_ = 0;
  std::unique_ptr<std::uint8_t, free_deleter> records_;
  std::vector<std::uint32_t> upper_node_;     // rank -> internal id, ascending
  std::vector<std::uint8_t> upper_level_;     // rank -> top level (>= 1)
  std::vector<std::uint32_t> upper_offset_;   // ranks + 1 (words of upper_ before rank r)
  std::vector<std::uint32_t> upper_;
  std::vector<std::uint16_t> labels16_;       // n <= 65536
  std::vector<std::uint32_t> labels32_;       // otherwise
  // affine_u8 path
  std::vector<float> lo_, scale_, norms_;
  affine_form form_ = affine_form::l2;
  bool use_affine_ = true;
};

}  // namespace qtune::detail
