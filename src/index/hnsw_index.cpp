#include "index/hnsw_index.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <sstream>
#include <utility>
#include <vector>

#include "index/graph_layout.hpp"
#include "index/hnswlib_graph.hpp"
#include "index/index_file.hpp"
#include "qtune/error.hpp"

namespace qtune::detail {
namespace {

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
  std::vector<graph_hit> candidates;
  std::vector<std::pair<float, std::int64_t>> reranked;
};
thread_local search_scratch tl_scratch;

std::size_t resolve_threads(std::size_t threads) {
  return threads == 0 ? static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()) : threads;
}

bool codes_are_exact(const codec& c) { return c.name() == "fp32"; }

hnsw_build_params build_params(const index_config& c) {
  hnsw_build_params p;
  p.m = c.m;
  p.ef_construction = c.ef_construction;
  p.seed = c.seed;
  p.threads = c.threads;
  return p;
}

/// n rows encoded in parallel. x: n * dim contiguous floats.
std::vector<std::uint8_t> encode_rows(const codec& c, const float* x, std::size_t n, std::size_t threads) {
  const std::size_t cs = c.code_size(), dim = c.dim();
  std::vector<std::uint8_t> codes(n * cs);
  tbb::task_arena arena(static_cast<int>(resolve_threads(threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 256), [&](const tbb::blocked_range<std::size_t>& r) {
      c.encode(r.size(), x + r.begin() * dim, codes.data() + r.begin() * cs);
    });
  });
  return codes;
}

}  // namespace

struct hnsw_index::impl {
  index_config config;
  std::size_t dim = 0;
  std::unique_ptr<codec> graph_codec;  // codes in the graph
  std::unique_ptr<codec> exact;        // fp32: float graph construction and rerank scores
  graph_layout layout;                 // graph and codes, qtune's search layout
  bool built = false;
  std::vector<float> full;             // count * dim rerank rows by label; empty when the codes are exact

  void require_built() const { QTUNE_CHECK(built, "hnsw index: search before build() or load()"); }

  /// sq8 codes (one byte per dimension, decoded lo_j + scale_j * c_j) get the integer search
  /// path (graph_layout::set_affine_u8). The affine form is read back through decode() and
  /// checked against the codec's own distance on a few codes; anything else keeps the codec's
  /// distance function.
  void attach_integer_path() {
    const std::string nm = graph_codec->name();
    if (nm.rfind("sq8", 0) != 0 || graph_codec->code_size() != dim || layout.size() == 0) return;
    const metric mt = graph_codec->distance_metric();
    if (mt != metric::l2 && mt != metric::ip) return;
    std::vector<std::uint8_t> c(dim, 0);
    std::vector<float> lo(dim), hi(dim), scale(dim);
    graph_codec->decode(1, c.data(), lo.data());
    std::fill(c.begin(), c.end(), std::uint8_t(255));
    graph_codec->decode(1, c.data(), hi.data());
    for (std::size_t j = 0; j < dim; ++j) scale[j] = (hi[j] - lo[j]) / 255.f;
    // which form the codec computes: L2, 1 - ip, or its cosine form (1 - ip / |x|); the first
    // whose integer-path scores match the codec's distances on a probe query is kept
    std::vector<float> qv(dim);
    search_scratch& s = tl_scratch;
    void* prepared = s.prepared.get(graph_codec->prepared_query_size());
    const std::uint32_t probe = static_cast<std::uint32_t>(layout.size() / 2);
    graph_codec->decode(1, layout.code(probe), qv.data());
    for (std::size_t j = 0; j < dim; ++j) qv[j] += 0.25f * scale[j] * static_cast<float>(int(j % 7) - 3);
    graph_codec->prepare_query(qv.data(), prepared);
    const graph_query gq{prepared, graph_codec->asymmetric_distance(), graph_codec->distance_params(), qv.data()};
    using form = graph_layout::affine_form;
    const std::vector<form> forms =
        mt == metric::l2 ? std::vector<form>{form::l2} : std::vector<form>{form::ip, form::cosine};
    for (const form f : forms) {
      layout.set_affine_u8(lo, scale, f);
      std::vector<graph_hit> fast;
      layout.search(gq, 16, fast);
      double worst = 0, size_of = 1e-30;
      for (const auto& [d, id] : fast) {
        const double exact = gq.fn(prepared, layout.code(id), gq.params);
        worst = std::max(worst, std::fabs(exact - d));
        size_of = std::max(size_of, std::fabs(exact));
      }
      if (!fast.empty() && worst <= 1e-3 * size_of + 1e-4) return;
    }
    layout.clear_affine_u8();
  }

  void make_exact() {
    exact = make_codec("fp32", dim, config.distance);
    exact->train(0, nullptr);
  }

  void search(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids, float* distances,
              bool reference = false) const {
    if (k == 0) return;
    require_built();
    search_scratch& s = tl_scratch;
    void* prepared = s.prepared.get(graph_codec->prepared_query_size());
    graph_codec->prepare_query(q, prepared);
    const std::size_t r = config.rerank;
    const bool rerank = r > 0 && !full.empty();
    const std::size_t want = rerank ? k * r : k;
    const graph_query gq{prepared, graph_codec->asymmetric_distance(), graph_codec->distance_params(), q};
    if (reference) layout.search_reference(gq, std::max(ef, want), s.candidates);
    else layout.search(gq, std::max(ef, want), s.candidates);
    if (layout.affine_u8()) {
      // the integer path ranked the nodes; report the codec's own distances (and their order)
      const std::size_t rescore = std::min(s.candidates.size(), 2 * want);
      s.candidates.resize(rescore);
      for (auto& [d, id] : s.candidates) d = gq.fn(prepared, layout.code(id), gq.params);
      std::sort(s.candidates.begin(), s.candidates.end());
    }
    std::size_t found = std::min(s.candidates.size(), want);
    if (rerank) {
      void* pe = s.prepared_exact.get(exact->prepared_query_size());
      exact->prepare_query(q, pe);
      const code_distance_fn fn = exact->asymmetric_distance();
      const void* params = exact->distance_params();
      s.reranked.resize(found);
      for (std::size_t i = 0; i < found; ++i) {
        const auto label = static_cast<std::int64_t>(layout.label(s.candidates[i].second));
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
        ids[i] = static_cast<std::int32_t>(layout.label(s.candidates[i].second));
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
std::size_t hnsw_index::size() const { return impl_->built ? impl_->layout.size() : 0; }
void hnsw_index::set_ef_search(std::size_t ef) {
  QTUNE_CHECK(ef >= 1, "hnsw index: efSearch must be >= 1, got ", ef);
  impl_->config.ef_search = ef;
}
void hnsw_index::set_rerank(std::size_t r) {
  impl& m = *impl_;
  QTUNE_CHECK(r == 0 || !m.built || m.full.size() != 0 || codes_are_exact(*m.graph_codec),
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

  m.built = false;
  m.graph_codec = make_codec(m.config.codec, m.dim, m.config.distance);
  m.graph_codec->train(n, x);
  m.config.codec = m.graph_codec->name();
  const std::size_t cs = m.graph_codec->code_size();
  const std::vector<std::uint8_t> codes = encode_rows(*m.graph_codec, x, n, m.config.threads);
  m.make_exact();

  const bool exact_codes = codes_are_exact(*m.graph_codec);
  plain_graph g;
  if (m.config.graph_source == "float" && !exact_codes) {
    // links from exact float distances, carried onto the codes by the layout
    g = build_hnsw_graph(reinterpret_cast<const std::uint8_t*>(x), n, m.exact->code_size(),
                         m.exact->symmetric_distance(), m.exact->distance_params(), build_params(m.config));
  } else {
    g = build_hnsw_graph(codes.data(), n, cs, m.graph_codec->symmetric_distance(), m.graph_codec->distance_params(),
                         build_params(m.config));
  }
  m.layout = graph_layout::from_plain(g, codes.data(), cs);
  m.built = true;
  m.attach_integer_path();
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
  if (!m.built) {
    build(x);
    return;
  }
  const std::size_t n = x.rows;
  QTUNE_CHECK(x.dim == m.dim, "hnsw index: added vectors have dimension ", x.dim, ", expected ", m.dim);
  if (n == 0) return;
  const std::size_t old_n = m.layout.size();
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
  const std::vector<std::uint8_t> added = encode_rows(*m.graph_codec, rows, n, m.config.threads);
  // The graph stores codes, so new points are linked with the codec's symmetric distance; a
  // float-built graph (graph_source "float") keeps its original links.
  const plain_graph before = m.layout.to_plain();
  const std::vector<std::uint8_t> old_codes = m.layout.codes_by_internal();
  plain_graph after;
  try {
    after = extend_hnsw_graph(before, old_codes.data(), added.data(), n, cs, m.graph_codec->symmetric_distance(),
                              m.graph_codec->distance_params(), build_params(m.config));
  } catch (const error&) {
    throw;
  } catch (const std::exception& e) {
    fail("hnsw index: cannot grow the graph to ", old_n + n, " vectors: ", e.what());
  }
  std::vector<std::uint8_t> by_label((old_n + n) * cs);
  for (std::uint32_t i = 0; i < old_n; ++i)
    std::memcpy(by_label.data() + std::size_t(before.labels[i]) * cs, old_codes.data() + std::size_t(i) * cs, cs);
  if (n) std::memcpy(by_label.data() + old_n * cs, added.data(), n * cs);
  m.layout = graph_layout::from_plain(after, by_label.data(), cs);
  m.attach_integer_path();
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
  if (!m.built) return mem;
  // records (codes next to level-0 links), upper levels, labels, codec tables
  mem.resident_bytes = m.layout.memory_bytes() + m.graph_codec->table_bytes();
  mem.rerank_bytes = m.full.size() * sizeof(float);
  return mem;
}

void hnsw_index::save(const std::filesystem::path& path) const {
  const impl& m = *impl_;
  m.require_built();
  index_file f;
  f.config = m.config;
  f.dim = m.dim;
  f.count = m.layout.size();
  std::ostringstream codec_out;
  save_codec(*m.graph_codec, codec_out);
  f.sections.emplace_back("CODC", codec_out.str());
  f.sections.emplace_back("GRAF", m.layout.serialize());
  if (!m.full.empty())
    f.sections.emplace_back("RRNK", std::string(reinterpret_cast<const char*>(m.full.data()), m.full.size() * sizeof(float)));
  write_index_file(path, f);
}

void hnsw_index::load(const std::filesystem::path& path) {
  const std::string name = path.string();
  index_file f = read_index_file(path);
  QTUNE_CHECK(f.config.kind == "hnsw", name, ": file holds a '", f.config.kind, "' index, expected 'hnsw'");
  QTUNE_CHECK(f.version >= 2, name, ": qtune index format version ", f.version,
              " stores the hnsw graph in hnswlib's own file format, which this qtune (index format version ",
              index_file_version, ") no longer reads; rebuild the index");
  QTUNE_CHECK(f.dim == impl_->dim, name, ": file holds ", f.dim, "-dimensional vectors, this index has dim ",
              impl_->dim);
  QTUNE_CHECK(f.count > 0 && f.count < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()), name,
              ": header count ", f.count, " out of range");
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
  fresh->make_exact();
  fresh->layout = graph_layout::deserialize(f.section("GRAF", path), f.count, fresh->graph_codec->code_size(), name);
  fresh->built = true;
  fresh->attach_integer_path();
  // The full-precision rows are saved when the index kept them (built with rerank > 0); an index
  // whose setting asks for rerank must have them.
  if (!codes_are_exact(*fresh->graph_codec) && (fresh->config.rerank > 0 || f.has_section("RRNK"))) {
    const std::string& rr = f.section("RRNK", path);
    QTUNE_CHECK(f.dim <= rr.size() / sizeof(float) / f.count && rr.size() == f.count * f.dim * sizeof(float), name,
                ": rerank section has ", rr.size(), " bytes, expected ", f.count, " x ", f.dim, " floats");
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
  const impl& m = *impl_;
  m.require_built();
  aligned_buffer prepared;
  void* p = prepared.get(m.graph_codec->prepared_query_size());
  m.graph_codec->prepare_query(q, p);
  const auto result = hnswlib_search_knn(m.layout.to_plain(), m.layout.codes_by_internal().data(),
                                         m.graph_codec->code_size(), m.graph_codec->asymmetric_distance(),
                                         m.graph_codec->distance_params(), p, k, ef);
  for (std::size_t i = 0; i < result.size(); ++i) {
    ids[i] = static_cast<std::int32_t>(result[i].second);
    distances[i] = result[i].first;
  }
  for (std::size_t i = result.size(); i < k; ++i) {
    ids[i] = -1;
    distances[i] = std::numeric_limits<float>::infinity();
  }
}

void hnsw_index::search_reference(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids,
                                  float* distances) const {
  impl_->search(q, k, ef, ids, distances, /*reference=*/true);
}

std::size_t hnsw_index::level0_degree_sum() const {
  impl_->require_built();
  std::size_t sum = 0;
  for (std::uint32_t i = 0; i < impl_->layout.size(); ++i) sum += impl_->layout.degree0(i);
  return sum;
}

const graph_layout& hnsw_index::layout() const {
  impl_->require_built();
  return impl_->layout;
}

}  // namespace qtune::detail
