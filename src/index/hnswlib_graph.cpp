// The one file that includes hnswlib and touches its members (see hnswlib_graph.hpp).
//
// Why a padded malloc: hnswlib 0.6.2's searchBaseLayer (used by addPoint) prefetches the entry
// after the last one of a full link list, `*(datal + j + 1)`, which for an upper-level list is
// 3 bytes past the end of the `size_links_per_element_ * level + 1` bytes it allocated (ASan:
// heap-buffer-overflow; seen with M = 4 on small sets, where upper lists fill up). Every malloc
// made by hnswlib's header is given 64 zeroed bytes of slack, so that read stays inside the block.
#include <assert.h>
#include <cpuid.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace qtune::detail {
/// malloc(size) with 64 zeroed bytes after the block (see the comment at the top).
inline void* hnswlib_padded_malloc(std::size_t size) noexcept {
  constexpr std::size_t slack = 64;
  if (size > SIZE_MAX - slack) return nullptr;
  void* p = std::malloc(size + slack);
  if (p) std::memset(static_cast<char*>(p) + size, 0, slack);
  return p;
}
}  // namespace qtune::detail

// hnswlib 0.6.2 defines four non-inline functions at global scope in hnswlib.h (cpuid, xgetbv,
// AVXCapable, AVX512Capable) and five non-inline variables in space_l2.h / space_ip.h; the
// library's copy gets private names, so tests and benchmarks may include <hnswlib/hnswlib.h> too.
#define cpuid qtune_index_hnswlib_cpuid
#define xgetbv qtune_index_hnswlib_xgetbv
#define AVXCapable qtune_index_hnswlib_avx_capable
#define AVX512Capable qtune_index_hnswlib_avx512_capable
#define L2SqrSIMD16Ext qtune_index_hnswlib_l2_simd16
#define InnerProductSIMD16Ext qtune_index_hnswlib_ip_simd16
#define InnerProductSIMD4Ext qtune_index_hnswlib_ip_simd4
#define InnerProductDistanceSIMD16Ext qtune_index_hnswlib_ipd_simd16
#define InnerProductDistanceSIMD4Ext qtune_index_hnswlib_ipd_simd4
#define malloc(size) ::qtune::detail::hnswlib_padded_malloc(size)
#include <hnswlib/hnswlib.h>
#undef malloc
#undef L2SqrSIMD16Ext
#undef InnerProductSIMD16Ext
#undef InnerProductSIMD4Ext
#undef InnerProductDistanceSIMD16Ext
#undef InnerProductDistanceSIMD4Ext
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable

#include "index/hnswlib_graph.hpp"
#include "index/hnswlib_peer.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"

namespace qtune::detail {
namespace {

using graph_t = hnswlib::HierarchicalNSW<float>;
using hnswlib::labeltype;
using hnswlib::tableint;

// --- the members of hnswlib 0.6.2 this file uses, with their types ------------------------------
template <class G>
concept hnswlib_0_6_2_layout = requires(G& g, const G& cg, tableint i) {
  { g.cur_element_count } -> std::same_as<std::size_t&>;
  { g.max_elements_ } -> std::same_as<std::size_t&>;
  { g.maxM_ } -> std::same_as<std::size_t&>;
  { g.maxM0_ } -> std::same_as<std::size_t&>;
  { g.maxlevel_ } -> std::same_as<int&>;
  { g.enterpoint_node_ } -> std::same_as<tableint&>;
  { g.size_links_level0_ } -> std::same_as<std::size_t&>;
  { g.size_links_per_element_ } -> std::same_as<std::size_t&>;
  { g.size_data_per_element_ } -> std::same_as<std::size_t&>;
  { g.offsetData_ } -> std::same_as<std::size_t&>;
  { g.label_offset_ } -> std::same_as<std::size_t&>;
  { g.data_level0_memory_ } -> std::same_as<char*&>;
  { g.linkLists_ } -> std::same_as<char**&>;
  { g.element_levels_ } -> std::same_as<std::vector<int>&>;
  { g.label_lookup_ } -> std::same_as<std::unordered_map<labeltype, tableint>&>;
  { g.fstdistfunc_ } -> std::same_as<hnswlib::DISTFUNC<float>&>;
  { cg.get_linklist0(i) } -> std::same_as<hnswlib::linklistsizeint*>;
  { cg.getExternalLabel(i) } -> std::same_as<labeltype>;
  { g.setEf(std::size_t{}) };
  { g.addPoint(static_cast<const void*>(nullptr), labeltype{}) };
};
static_assert(hnswlib_0_6_2_layout<graph_t>,
              "hnswlib's HierarchicalNSW does not have the members of 0.6.2 that src/index/hnswlib_graph.cpp "
              "uses: this file was written for hnswlib 0.6.2; check its layout against the new version");
static_assert(sizeof(tableint) == 4 && sizeof(hnswlib::linklistsizeint) == 4 && sizeof(labeltype) == 8,
              "hnswlib 0.6.2 uses 4-byte ids and list counts and 8-byte labels");

/// hnswlib's plug-in point: our data size, one of our distance functions and its parameters.
class code_space final : public hnswlib::SpaceInterface<float> {
 public:
  code_space(std::size_t data_size, code_distance_fn fn, const void* params)
      : data_size_(data_size), fn_(fn), params_(params) {}
  std::size_t get_data_size() override { return data_size_; }
  hnswlib::DISTFUNC<float> get_dist_func() override { return fn_; }
  void* get_dist_func_param() override { return const_cast<void*>(params_); }

 private:
  std::size_t data_size_;
  code_distance_fn fn_;
  const void* params_;
};

std::size_t resolve_threads(std::size_t threads) {
  return threads == 0 ? static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()) : threads;
}

/// The layout facts of 0.6.2 that the conversions below rely on.
void check_layout(const graph_t& g, std::size_t data_size) {
  const bool ok = g.maxM0_ == 2 * g.maxM_ &&
                  g.size_links_level0_ == g.maxM0_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint) &&
                  g.size_links_per_element_ == g.maxM_ * sizeof(tableint) + sizeof(hnswlib::linklistsizeint) &&
                  g.offsetData_ == g.size_links_level0_ && g.label_offset_ == g.size_links_level0_ + data_size &&
                  g.size_data_per_element_ == g.size_links_level0_ + data_size + sizeof(labeltype);
  QTUNE_CHECK(ok, "hnswlib's graph layout differs from hnswlib ", hnswlib_written_for,
              ", which src/index/hnswlib_graph.cpp was written for (maxM0 ", g.maxM0_, ", maxM ", g.maxM_,
              ", level-0 link bytes ", g.size_links_level0_, ", element bytes ", g.size_data_per_element_, ")");
}

/// Parallel insertion of rows [first, n) (row i = label i, data + (i - first) * data_size).
void insert_parallel(graph_t& g, const std::uint8_t* data, std::size_t first, std::size_t n, std::size_t data_size,
                     std::size_t threads) {
  const bool report = progress_enabled();
  std::atomic<std::size_t> inserted{first};
  constexpr std::size_t report_every = 4096;
  tbb::task_arena arena(static_cast<int>(resolve_threads(threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(first, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) g.addPoint(data + (i - first) * data_size, i);
      if (!report) return;
      const std::size_t before = inserted.fetch_add(r.size()), after = before + r.size();
      if (after / report_every != before / report_every || after == n) report_progress("hnsw build", after, n);
    });
  });
}

plain_graph to_plain(const graph_t& g) {
  plain_graph p;
  p.n = g.cur_element_count;
  p.max_degree0 = g.maxM0_;
  p.max_degree = g.maxM_;
  p.entry = g.enterpoint_node_;
  p.max_level = std::max(g.maxlevel_, 0);
  p.levels.resize(p.n);
  p.degree0.resize(p.n);
  p.links0.assign(p.n * p.max_degree0, 0);
  p.upper.resize(p.n);
  p.labels.resize(p.n);
  const std::size_t words = 1 + p.max_degree;
  for (tableint i = 0; i < p.n; ++i) {
    const hnswlib::linklistsizeint* l0 = g.get_linklist0(i);
    const std::size_t deg = std::min<std::size_t>(g.getListCount(const_cast<hnswlib::linklistsizeint*>(l0)), p.max_degree0);
    p.degree0[i] = static_cast<std::uint32_t>(deg);
    std::memcpy(p.links0.data() + std::size_t(i) * p.max_degree0, l0 + 1, deg * sizeof(tableint));
    const int level = g.element_levels_[i];
    p.levels[i] = level;
    if (level > 0) {
      p.upper[i].assign(static_cast<std::size_t>(level) * words, 0);
      for (int l = 1; l <= level; ++l) {
        const auto* src = reinterpret_cast<const hnswlib::linklistsizeint*>(g.linkLists_[i] + (l - 1) * g.size_links_per_element_);
        const std::size_t cnt = std::min<std::size_t>(g.getListCount(const_cast<hnswlib::linklistsizeint*>(src)), p.max_degree);
        std::uint32_t* dst = p.upper[i].data() + std::size_t(l - 1) * words;
        dst[0] = static_cast<std::uint32_t>(cnt);
        std::memcpy(dst + 1, src + 1, cnt * sizeof(tableint));
      }
    }
    const labeltype label = g.getExternalLabel(i);
    QTUNE_CHECK(label < p.n, "hnsw build: label ", label, " out of range for ", p.n, " vectors");
    p.labels[i] = static_cast<std::uint32_t>(label);
  }
  return p;
}

/// An hnswlib graph over `space` holding p's links, levels, labels and entry point, and the rows
/// of `data` (p.n rows by internal id); room for max_elements nodes.
std::unique_ptr<graph_t> from_plain(const plain_graph& p, const std::uint8_t* data, code_space* space,
                                    std::size_t data_size, std::size_t max_elements, const hnsw_build_params& bp) {
  auto g = std::make_unique<graph_t>(space, std::max(max_elements, p.n), p.max_degree, bp.ef_construction, bp.seed);
  check_layout(*g, data_size);
  QTUNE_CHECK(g->maxM0_ == p.max_degree0, "hnsw: level-0 degree ", p.max_degree0, " is not 2 M (M = ", p.max_degree,
              ")");
  for (tableint i = 0; i < p.n; ++i) {
    hnswlib::linklistsizeint* l0 = g->get_linklist0(i);
    std::memset(l0, 0, g->size_links_level0_);
    g->setListCount(l0, static_cast<unsigned short>(p.degree0[i]));
    std::memcpy(l0 + 1, p.links0.data() + std::size_t(i) * p.max_degree0, p.degree0[i] * sizeof(tableint));
    g->setExternalLabel(i, p.labels[i]);
    std::memcpy(g->getDataByInternalId(i), data + std::size_t(i) * data_size, data_size);
    const int level = p.levels[i];
    g->element_levels_[i] = level;
    if (level > 0) {
      const std::size_t bytes = g->size_links_per_element_ * level + 1;
      g->linkLists_[i] = static_cast<char*>(hnswlib_padded_malloc(bytes));
      if (!g->linkLists_[i]) throw std::bad_alloc();
      std::memset(g->linkLists_[i], 0, bytes);
      for (int l = 1; l <= level; ++l) {
        const std::uint32_t* src = p.upper_list(i, l);
        auto* dst = reinterpret_cast<hnswlib::linklistsizeint*>(g->linkLists_[i] + (l - 1) * g->size_links_per_element_);
        g->setListCount(dst, static_cast<unsigned short>(src[0]));
        std::memcpy(dst + 1, src + 1, src[0] * sizeof(tableint));
      }
    } else {
      g->linkLists_[i] = nullptr;
    }
    g->label_lookup_[p.labels[i]] = i;
  }
  g->cur_element_count = p.n;
  g->enterpoint_node_ = p.entry;
  g->maxlevel_ = p.n ? p.max_level : -1;
  return g;
}

}  // namespace

void check_hnswlib_layout() {
  code_space space(12, [](const void*, const void*, const void*) { return 0.f; }, nullptr);
  graph_t g(&space, 1, 4, 10, 1);
  check_layout(g, 12);
}

plain_graph build_hnsw_graph(const std::uint8_t* data, std::size_t n, std::size_t data_size, code_distance_fn fn,
                             const void* params, const hnsw_build_params& p) {
  QTUNE_CHECK(n > 0, "hnsw build: no vectors");
  code_space space(data_size, fn, params);
  graph_t g(&space, n, p.m, p.ef_construction, p.seed);
  check_layout(g, data_size);
  g.addPoint(data, 0);
  insert_parallel(g, data + data_size, 1, n, data_size, p.threads);
  return to_plain(g);
}

plain_graph extend_hnsw_graph(const plain_graph& pg, const std::uint8_t* data, const std::uint8_t* added,
                              std::size_t n_added, std::size_t data_size, code_distance_fn fn, const void* params,
                              const hnsw_build_params& p) {
  code_space space(data_size, fn, params);
  auto g = from_plain(pg, data, &space, data_size, pg.n + n_added, p);
  insert_parallel(*g, added, pg.n, pg.n + n_added, data_size, p.threads);
  return to_plain(*g);
}

std::vector<std::pair<float, std::uint32_t>> hnswlib_search_knn(const plain_graph& pg, const std::uint8_t* data,
                                                                 std::size_t data_size, code_distance_fn fn,
                                                                 const void* params, const void* query,
                                                                 std::size_t k, std::size_t ef) {
  code_space space(data_size, fn, params);
  hnsw_build_params bp;
  bp.m = pg.max_degree;
  auto g = from_plain(pg, data, &space, data_size, pg.n, bp);
  g->setEf(ef);
  auto result = g->searchKnn(query, k);
  std::vector<std::pair<float, std::uint32_t>> out(result.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = {result.top().first, static_cast<std::uint32_t>(result.top().second)};
    result.pop();
  }
  return out;
}

struct hnswlib_fp32_peer::impl {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<graph_t> graph;
};

hnswlib_fp32_peer::hnswlib_fp32_peer(const float* x, std::size_t n, std::size_t dim, bool inner_product,
                                     const hnsw_build_params& p)
    : impl_(std::make_unique<impl>()) {
  QTUNE_CHECK(n > 0, "hnswlib peer: no vectors");
  if (inner_product) impl_->space = std::make_unique<hnswlib::InnerProductSpace>(dim);
  else impl_->space = std::make_unique<hnswlib::L2Space>(dim);
  impl_->graph = std::make_unique<graph_t>(impl_->space.get(), n, p.m, p.ef_construction, p.seed);
  const auto* data = reinterpret_cast<const std::uint8_t*>(x);
  const std::size_t row_bytes = dim * sizeof(float);
  impl_->graph->addPoint(data, 0);
  insert_parallel(*impl_->graph, data + row_bytes, 1, n, row_bytes, p.threads);
}

hnswlib_fp32_peer::~hnswlib_fp32_peer() = default;

void hnswlib_fp32_peer::search(const float* q, std::size_t nq, std::size_t k, std::size_t ef, std::int32_t* ids) {
  graph_t& g = *impl_->graph;
  g.setEf(ef);
  const std::size_t dim = impl_->space->get_data_size() / sizeof(float);
  tbb::parallel_for(std::size_t{0}, nq, [&](std::size_t i) {
    auto top = g.searchKnn(q + i * dim, k);
    std::int32_t* row = ids + i * k;
    std::fill_n(row, k, -1);
    for (std::size_t j = top.size(); j-- > 0;) {
      if (j < k) row[j] = static_cast<std::int32_t>(top.top().second);
      top.pop();
    }
  });
}

}  // namespace qtune::detail
