#include "index/hnsw_index.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <sstream>
#include <utility>
#include <vector>

#include "index/hnswlib_wrap.hpp"
#include "index/index_file.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"

namespace qtune::detail {
namespace {

using graph_t = hnswlib::HierarchicalNSW<float>;
using hnswlib::tableint;
using scored = std::pair<float, tableint>;

/// hnswlib's plug-in point: our code size, one of our distance functions and its parameters.
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

/// A grow-only 64-byte aligned scratch buffer (prepared queries), one per thread.
struct aligned_buffer {
  void* p = nullptr;
  std::size_t capacity = 0;
  aligned_buffer() = default;
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  ~aligned_buffer() { std::free(p); }
  void* get(std::size_t bytes) {
    if (bytes > capacity || p == nullptr) {
      std::free(p);
      capacity = std::max<std::size_t>(64, (bytes + 63) / 64 * 64);
      p = std::aligned_alloc(64, capacity);
      if (!p) {
        capacity = 0;
        throw std::bad_alloc();
      }
    }
    return p;
  }
};

struct search_scratch {
  aligned_buffer prepared;        // the graph codec's prepared query
  aligned_buffer prepared_exact;  // the fp32 codec's prepared query (rerank)
  std::vector<scored> candidates;
  std::vector<std::pair<float, std::int64_t>> reranked;
};
thread_local search_scratch tl_scratch;

std::size_t resolve_threads(std::size_t threads) {
  return threads == 0 ? static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()) : threads;
}

/// Best-first search over hnswlib's arrays: the same algorithm as searchKnn() /
/// searchBaseLayerST<false> (greedy descent on the upper levels, then a beam of width ef on
/// level 0), but with the distance function passed in and ef per call, and no shared counters
/// (searchKnn increments two atomics per hop, which serialises concurrent searches).
/// out: up to ef (internal id, distance) pairs, nearest first.
void graph_search(const graph_t& g, const void* query, code_distance_fn dist, const void* params, std::size_t ef,
                  std::vector<scored>& out) {
  out.clear();
  if (g.cur_element_count == 0) return;
  tableint cur = g.enterpoint_node_;
  float cur_dist = dist(query, g.getDataByInternalId(cur), params);
  for (int level = g.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const unsigned int* data = g.get_linklist(cur, level);
      const int size = g.getListCount(const_cast<unsigned int*>(data));
      const tableint* links = data + 1;
      for (int i = 0; i < size; ++i) {
        const float d = dist(query, g.getDataByInternalId(links[i]), params);
        if (d < cur_dist) {
          cur_dist = d;
          cur = links[i];
          changed = true;
        }
      }
    }
  }

  using max_heap = std::priority_queue<scored, std::vector<scored>, graph_t::CompareByFirst>;
  hnswlib::VisitedList* vl = g.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = vl->mass;
  const hnswlib::vl_type tag = vl->curV;
  max_heap top;         // the ef best so far, worst on top
  max_heap candidates;  // to expand, stored with negated distance (nearest on top)
  top.emplace(cur_dist, cur);
  candidates.emplace(-cur_dist, cur);
  float lower_bound = cur_dist;
  visited[cur] = tag;
  const char* level0 = g.data_level0_memory_;
  const std::size_t stride = g.size_data_per_element_;
  const std::size_t data_offset = g.offsetData_;

  while (!candidates.empty()) {
    const scored current = candidates.top();
    if (-current.first > lower_bound) break;
    candidates.pop();
    const unsigned int* data = g.get_linklist0(current.second);
    const std::size_t size = g.getListCount(const_cast<unsigned int*>(data));
    _mm_prefetch(reinterpret_cast<const char*>(visited + data[1]), _MM_HINT_T0);
    _mm_prefetch(level0 + data[1] * stride + data_offset, _MM_HINT_T0);
    for (std::size_t j = 1; j <= size; ++j) {
      const tableint id = data[j];
      if (j < size) {
        _mm_prefetch(reinterpret_cast<const char*>(visited + data[j + 1]), _MM_HINT_T0);
        _mm_prefetch(level0 + data[j + 1] * stride + data_offset, _MM_HINT_T0);
      }
      if (visited[id] == tag) continue;
      visited[id] = tag;
      const float d = dist(query, level0 + id * stride + data_offset, params);
      if (top.size() < ef || lower_bound > d) {
        candidates.emplace(-d, id);
        top.emplace(d, id);
        if (top.size() > ef) top.pop();
        lower_bound = top.top().first;
      }
    }
  }
  g.visited_list_pool_->releaseVisitedList(vl);

  out.resize(top.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = top.top();
    top.pop();
  }
}

/// Inserts codes (n * code_size bytes, row i = label i) into a new graph over `space`: the first
/// point alone, then the rest in parallel (addPoint is thread-safe across distinct labels).
std::unique_ptr<graph_t> build_graph(code_space* space, const std::uint8_t* codes, std::size_t n,
                                     std::size_t code_size, const index_config& config) {
  auto g = std::make_unique<graph_t>(space, n, config.m, config.ef_construction, config.seed);
  g->addPoint(codes, 0);
  // Progress (qtune/progress.hpp): vectors inserted, reported every 4096.
  const bool report = progress_enabled();
  std::atomic<std::size_t> inserted{1};
  constexpr std::size_t report_every = 4096;
  tbb::task_arena arena(static_cast<int>(resolve_threads(config.threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(1, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) g->addPoint(codes + i * code_size, i);
      if (!report) return;
      const std::size_t before = inserted.fetch_add(r.size()), after = before + r.size();
      if (after / report_every != before / report_every || after == n) report_progress("hnsw build", after, n);
    });
  });
  return g;
}

/// A graph over `space` with the links, levels, labels and entry point of `src` (same M, same
/// internal ids) and the codes of each label: the float-built graph carried onto the codes.
std::unique_ptr<graph_t> transplant(const graph_t& src, code_space* space, const std::uint8_t* codes,
                                    std::size_t code_size, const index_config& config) {
  const std::size_t n = src.cur_element_count;
  auto dst = std::make_unique<graph_t>(space, n, config.m, config.ef_construction, config.seed);
  QTUNE_CHECK(dst->size_links_level0_ == src.size_links_level0_ &&
                  dst->size_links_per_element_ == src.size_links_per_element_,
              "hnsw: link layouts differ between the float graph and the code graph");
  for (tableint i = 0; i < n; ++i) {
    std::memcpy(dst->get_linklist0(i), src.get_linklist0(i), src.size_links_level0_);
    const hnswlib::labeltype label = src.getExternalLabel(i);
    dst->setExternalLabel(i, label);
    std::memcpy(dst->getDataByInternalId(i), codes + label * code_size, code_size);
    const int level = src.element_levels_[i];
    dst->element_levels_[i] = level;
    if (level > 0) {
      const std::size_t bytes = src.size_links_per_element_ * level + 1;
      dst->linkLists_[i] = static_cast<char*>(std::malloc(bytes));
      if (!dst->linkLists_[i]) throw std::bad_alloc();
      std::memcpy(dst->linkLists_[i], src.linkLists_[i], bytes);
    } else {
      dst->linkLists_[i] = nullptr;
    }
    dst->label_lookup_[label] = i;
  }
  dst->cur_element_count = n;
  dst->enterpoint_node_ = src.enterpoint_node_;
  dst->maxlevel_ = src.maxlevel_;
  return dst;
}

bool codes_are_exact(const codec& c) { return c.name() == "fp32"; }

}  // namespace

struct hnsw_index::impl {
  index_config config;
  std::size_t dim = 0;
  std::unique_ptr<codec> graph_codec;  // codes in the graph
  std::unique_ptr<codec> exact;        // fp32: float graph construction and rerank scores
  std::unique_ptr<code_space> space;   // symmetric distance over the graph's codes
  std::unique_ptr<graph_t> graph;
  std::vector<float> full;             // count * dim rerank rows; empty when the codes are exact
  mutable std::mutex hnswlib_mutex;    // search_hnswlib() only

  void require_built() const { QTUNE_CHECK(graph != nullptr, "hnsw index: search before build() or load()"); }

  void make_space() {
    space = std::make_unique<code_space>(graph_codec->code_size(), graph_codec->symmetric_distance(),
                                         graph_codec->distance_params());
  }

  void make_exact() {
    exact = make_codec("fp32", dim, config.distance);
    exact->train(0, nullptr);
  }

  void search(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids, float* distances) const {
    if (k == 0) return;
    require_built();
    search_scratch& s = tl_scratch;
    void* prepared = s.prepared.get(graph_codec->prepared_query_size());
    graph_codec->prepare_query(q, prepared);
    const std::size_t r = config.rerank;
    const bool rerank = r > 0 && !full.empty();
    const std::size_t want = rerank ? k * r : k;
    graph_search(*graph, prepared, graph_codec->asymmetric_distance(), graph_codec->distance_params(),
                 std::max(ef, want), s.candidates);
    std::size_t found = std::min(s.candidates.size(), want);
    if (rerank) {
      void* pe = s.prepared_exact.get(exact->prepared_query_size());
      exact->prepare_query(q, pe);
      const code_distance_fn fn = exact->asymmetric_distance();
      const void* params = exact->distance_params();
      s.reranked.resize(found);
      for (std::size_t i = 0; i < found; ++i) {
        const auto label = static_cast<std::int64_t>(graph->getExternalLabel(s.candidates[i].second));
        s.reranked[i] = {fn(pe, full.data() + label * dim, params), label};
      }
      const std::size_t keep = std::min(found, k);
      std::partial_sort(s.reranked.begin(), s.reranked.begin() + keep, s.reranked.end());
      for (std::size_t i = 0; i < keep; ++i) {
        ids[i] = static_cast<std::int32_t>(s.reranked[i].second);
        distances[i] = s.reranked[i].first;
      }
      found = keep;
    } else {
      found = std::min(found, k);
      for (std::size_t i = 0; i < found; ++i) {
        ids[i] = static_cast<std::int32_t>(graph->getExternalLabel(s.candidates[i].second));
        distances[i] = s.candidates[i].first;
      }
    }
    for (std::size_t i = found; i < k; ++i) {
      ids[i] = -1;
      distances[i] = std::numeric_limits<float>::infinity();
    }
  }
};

hnsw_index::hnsw_index(const index_config& config, std::size_t dim) : impl_(std::make_unique<impl>()) {
  QTUNE_CHECK(dim > 0, "hnsw index: dim must be > 0");
  QTUNE_CHECK(config.m >= 2, "hnsw index: M must be >= 2, got ", config.m);
  QTUNE_CHECK(config.ef_construction >= 1, "hnsw index: efConstruction must be >= 1, got ", config.ef_construction);
  QTUNE_CHECK(config.graph_source == "float" || config.graph_source == "codes",
              "hnsw index: graph_source must be 'float' or 'codes', got '", config.graph_source, "'");
  impl_->config = config;
  impl_->dim = dim;
  // Creating the codec now validates the name early (and gives the canonical spelling).
  impl_->graph_codec = make_codec(config.codec, dim, config.distance);
  impl_->config.codec = impl_->graph_codec->name();
}

hnsw_index::~hnsw_index() = default;

const index_config& hnsw_index::config() const { return impl_->config; }
std::size_t hnsw_index::dim() const { return impl_->dim; }
std::size_t hnsw_index::size() const { return impl_->graph ? impl_->graph->cur_element_count : 0; }
void hnsw_index::set_ef_search(std::size_t ef) {
  QTUNE_CHECK(ef >= 1, "hnsw index: efSearch must be >= 1, got ", ef);
  impl_->config.ef_search = ef;
}
void hnsw_index::set_rerank(std::size_t r) {
  impl& m = *impl_;
  QTUNE_CHECK(r == 0 || m.graph == nullptr || m.full.size() != 0 || codes_are_exact(*m.graph_codec),
              "hnsw index: rerank ", r, " needs the full-precision vectors, which this index did not keep (it was "
              "built with rerank 0; build it with the largest rerank factor it will be searched with)");
  m.config.rerank = r;
}

void hnsw_index::build(matrix_view<float> base) {
  impl& m = *impl_;
  const std::size_t n = base.rows;
  QTUNE_CHECK(base.dim == m.dim, "hnsw index: base has dimension ", base.dim, ", expected ", m.dim);
  QTUNE_CHECK(n > 0, "hnsw index: cannot build over an empty base");
  QTUNE_CHECK(n < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "hnsw index: ", n,
              " vectors exceed the int32 id range");
  std::vector<float> copy;
  const float* x = base.data;
  if (!base.contiguous()) {
    copy.resize(n * m.dim);
    for (std::size_t i = 0; i < n; ++i) std::memcpy(copy.data() + i * m.dim, base.row(i), m.dim * sizeof(float));
    x = copy.data();
  }

  m.graph.reset();
  m.graph_codec = make_codec(m.config.codec, m.dim, m.config.distance);
  m.graph_codec->train(n, x);
  m.config.codec = m.graph_codec->name();
  const std::size_t cs = m.graph_codec->code_size();
  std::vector<std::uint8_t> codes(n * cs);
  tbb::task_arena arena(static_cast<int>(resolve_threads(m.config.threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
      m.graph_codec->encode(r.size(), x + r.begin() * m.dim, codes.data() + r.begin() * cs);
    });
  });
  m.make_space();
  m.make_exact();

  const bool exact_codes = codes_are_exact(*m.graph_codec);
  if (m.config.graph_source == "float" && !exact_codes) {
    // fp32 codes are the float rows themselves: build over x directly (x is contiguous here)
    const std::size_t fcs = m.exact->code_size();
    code_space float_space(fcs, m.exact->symmetric_distance(), m.exact->distance_params());
    auto float_graph = build_graph(&float_space, reinterpret_cast<const std::uint8_t*>(x), n, fcs, m.config);
    m.graph = transplant(*float_graph, m.space.get(), codes.data(), cs, m.config);
  } else {
    m.graph = build_graph(m.space.get(), codes.data(), n, cs, m.config);
  }
  // Full-precision rows are kept only when rerank will read them: with rerank 0 a lossy
  // codec's index holds codes and graph alone, which is the memory the sweep reported.
  if (exact_codes || m.config.rerank == 0) {
    m.full.clear();
    m.full.shrink_to_fit();
  } else {
    m.full.assign(x, x + n * m.dim);
  }
}

void hnsw_index::add(matrix_view<float> x) {
  impl& m = *impl_;
  if (!m.graph) {
    build(x);
    return;
  }
  const std::size_t n = x.rows;
  QTUNE_CHECK(x.dim == m.dim, "hnsw index: added vectors have dimension ", x.dim, ", expected ", m.dim);
  if (n == 0) return;
  const std::size_t old_n = m.graph->cur_element_count;
  QTUNE_CHECK(old_n + n < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), "hnsw index: ",
              old_n + n, " vectors exceed the int32 id range");
  std::vector<float> copy;
  const float* rows = x.data;
  if (!x.contiguous()) {
    copy.resize(n * m.dim);
    for (std::size_t i = 0; i < n; ++i) std::memcpy(copy.data() + i * m.dim, x.row(i), m.dim * sizeof(float));
    rows = copy.data();
  }
  const std::size_t cs = m.graph_codec->code_size();
  std::vector<std::uint8_t> codes(n * cs);
  tbb::task_arena arena(static_cast<int>(resolve_threads(m.config.threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
      m.graph_codec->encode(r.size(), rows + r.begin() * m.dim, codes.data() + r.begin() * cs);
    });
  });
  // The graph stores codes, so new points are linked with the codec's symmetric distance (the
  // space's); a float-built graph (graph_source "float") keeps its original links.
  if (m.graph->max_elements_ < old_n + n) {
    try {
      m.graph->resizeIndex(std::max(old_n + n, m.graph->max_elements_ + m.graph->max_elements_ / 2));
    } catch (const std::exception& e) {
      fail("hnsw index: cannot grow the graph to ", old_n + n, " vectors: ", e.what());
    }
  }
  graph_t& g = *m.graph;
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) g.addPoint(codes.data() + i * cs, old_n + i);
    });
  });
  if (!m.full.empty()) m.full.insert(m.full.end(), rows, rows + n * m.dim);
}

void hnsw_index::search(const float* q, std::size_t k, std::int32_t* ids, float* distances) const {
  impl_->search(q, k, impl_->config.ef_search, ids, distances);
}

void hnsw_index::search_ef(const float* q, std::size_t k, std::size_t ef_search, std::int32_t* ids,
                           float* distances) const {
  impl_->search(q, k, ef_search == 0 ? impl_->config.ef_search : ef_search, ids, distances);
}

void hnsw_index::search_batch(matrix_view<float> queries, std::size_t k, std::int32_t* ids, float* distances,
                              std::size_t threads, std::size_t ef_search) const {
  const std::size_t ef = ef_search ? ef_search : impl_->config.ef_search;
  QTUNE_CHECK(queries.dim == impl_->dim, "hnsw index: queries have dimension ", queries.dim, ", expected ",
              impl_->dim);
  impl_->require_built();
  tbb::task_arena arena(static_cast<int>(resolve_threads(threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, queries.rows, 8),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        for (std::size_t i = r.begin(); i < r.end(); ++i)
                          impl_->search(queries.row(i), k, ef, ids + i * k, distances + i * k);
                      });
  });
}

index_memory hnsw_index::memory() const {
  index_memory mem;
  const impl& m = *impl_;
  if (!m.graph) return mem;
  const graph_t& g = *m.graph;
  const std::size_t n = g.cur_element_count;
  std::size_t upper = 0;
  for (std::size_t i = 0; i < n; ++i) upper += static_cast<std::size_t>(g.element_levels_[i]) * g.size_links_per_element_;
  // level-0 links (count + maxM0 ids) + upper-level links + codes + hnswlib's 8-byte labels + codec tables
  mem.resident_bytes = n * g.size_links_level0_ + upper + n * m.graph_codec->code_size() +
                       n * sizeof(hnswlib::labeltype) + m.graph_codec->table_bytes();
  mem.rerank_bytes = m.full.size() * sizeof(float);
  return mem;
}

void hnsw_index::save(const std::filesystem::path& path) const {
  const impl& m = *impl_;
  m.require_built();
  index_file f;
  f.config = m.config;
  f.dim = m.dim;
  f.count = m.graph->cur_element_count;
  std::ostringstream codec_out;
  save_codec(*m.graph_codec, codec_out);
  f.sections.emplace_back("CODC", codec_out.str());
  {
    temp_file tmp;
    m.graph->saveIndex(tmp.path().string());
    f.sections.emplace_back("GRPH", read_file_bytes(tmp.path()));
  }
  if (!m.full.empty())
    f.sections.emplace_back("RRNK", std::string(reinterpret_cast<const char*>(m.full.data()), m.full.size() * sizeof(float)));
  write_index_file(path, f);
}

void hnsw_index::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  index_file f = read_index_file(path);
  QTUNE_CHECK(f.config.kind == "hnsw", name, ": file holds a '", f.config.kind, "' index, expected 'hnsw'");
  QTUNE_CHECK(f.dim == impl_->dim, name, ": file holds ", f.dim, "-dimensional vectors, this index has dim ",
              impl_->dim);
  auto fresh = std::make_unique<impl>();
  fresh->config = f.config;
  fresh->dim = f.dim;
  try {
    std::istringstream in(f.section("CODC", path));
    fresh->graph_codec = load_codec(in);
  } catch (const error& e) {
    fail(name, ": codec parameters: ", e.what());
  }
  QTUNE_CHECK(fresh->graph_codec->dim() == f.dim, name, ": codec has dim ", fresh->graph_codec->dim(),
              ", header says ", f.dim);
  QTUNE_CHECK(fresh->graph_codec->name() == f.config.codec, name, ": codec section holds '",
              fresh->graph_codec->name(), "', header says '", f.config.codec, "'");
  fresh->make_space();
  fresh->make_exact();
  {
    temp_file tmp;
    write_file_bytes(tmp.path(), f.section("GRPH", path));
    try {
      fresh->graph = std::make_unique<graph_t>(fresh->space.get(), tmp.path().string());
    } catch (const std::exception& e) {
      fail(name, ": graph section: ", e.what());
    }
  }
  const graph_t& g = *fresh->graph;
  const std::size_t cs = fresh->graph_codec->code_size();
  QTUNE_CHECK(g.cur_element_count == f.count, name, ": graph holds ", g.cur_element_count,
              " vectors, header says ", f.count);
  QTUNE_CHECK(g.size_data_per_element_ == g.size_links_level0_ + cs + sizeof(hnswlib::labeltype), name,
              ": graph element size ", g.size_data_per_element_, " does not match codec code size ", cs);
  // The full-precision rows are saved when the index kept them (built with rerank > 0); an index
  // whose setting asks for rerank must have them.
  if (!codes_are_exact(*fresh->graph_codec) && (fresh->config.rerank > 0 || f.has_section("RRNK"))) {
    const std::string& rr = f.section("RRNK", path);
    QTUNE_CHECK(rr.size() == f.count * f.dim * sizeof(float), name, ": rerank section has ", rr.size(),
                " bytes, expected ", f.count * f.dim * sizeof(float));
    fresh->full.resize(f.count * f.dim);
    std::memcpy(fresh->full.data(), rr.data(), rr.size());
  }
  impl_ = std::move(fresh);
}

const codec& hnsw_index::graph_codec() const {
  QTUNE_CHECK(impl_->graph_codec != nullptr, "hnsw index: no codec");
  return *impl_->graph_codec;
}

void hnsw_index::search_hnswlib(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids,
                                float* distances) const {
  impl& m = *impl_;
  m.require_built();
  std::lock_guard<std::mutex> lock(m.hnswlib_mutex);
  aligned_buffer prepared;
  void* p = prepared.get(m.graph_codec->prepared_query_size());
  m.graph_codec->prepare_query(q, p);
  graph_t& g = *m.graph;
  const auto saved_fn = g.fstdistfunc_;
  g.fstdistfunc_ = m.graph_codec->asymmetric_distance();
  g.setEf(ef);
  auto result = g.searchKnn(p, k);
  g.fstdistfunc_ = saved_fn;
  std::size_t found = result.size();
  for (std::size_t i = found; i-- > 0;) {
    ids[i] = static_cast<std::int32_t>(result.top().second);
    distances[i] = result.top().first;
    result.pop();
  }
  for (std::size_t i = found; i < k; ++i) {
    ids[i] = -1;
    distances[i] = std::numeric_limits<float>::infinity();
  }
}

std::size_t hnsw_index::level0_degree_sum() const {
  impl_->require_built();
  const graph_t& g = *impl_->graph;
  std::size_t sum = 0;
  for (tableint i = 0; i < g.cur_element_count; ++i) sum += g.getListCount(g.get_linklist0(i));
  return sum;
}

}  // namespace qtune::detail
