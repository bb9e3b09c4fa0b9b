#include "index/graph_layout.hpp"

#include <xmmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <queue>

#include "index/graph_kernels.hpp"
#include "qtune/error.hpp"
#include "qtune/simd.hpp"

namespace qtune::detail {
namespace {

constexpr std::uint32_t layout_magic = 0x314c4751;  // "QGL1"
constexpr int max_levels = 64;                       // HNSW levels grow as log_M(n): 64 is far above any real graph
constexpr std::size_t max_degree_limit = 4096;

std::size_t round_up(std::size_t x, std::size_t a) { return (x + a - 1) / a * a; }

/// Per-thread search scratch: the epoch-stamped visited array and the two heaps.
struct scratch {
  std::vector<std::uint16_t> visited;
  std::uint16_t epoch = 0;
  std::vector<std::uint64_t> pool;     // the ef best so far as pool_key()s, ascending
  std::vector<std::uint32_t> batch;
  std::vector<float> scores;

  /// A fresh epoch for a graph of n nodes (clears only when the 16-bit stamp wraps).
  std::uint16_t begin(std::size_t n) {
    if (visited.size() < n) visited.resize(n, 0);
    if (++epoch == 0) {
      std::fill(visited.begin(), visited.end(), 0);
      epoch = 1;
    }
    return epoch;
  }
};
thread_local scratch tl_scratch;

/// Level-0 ids of IdBytes (2, 3 or 4) little-endian bytes; a 3-byte id is read as 4 bytes and
/// masked (the layout keeps 4 readable bytes past every list).
template <int IdBytes>
struct link_ids {
  static constexpr std::uint32_t sentinel = IdBytes == 4 ? 0xffffffffu : (1u << (8 * IdBytes)) - 1;
  static std::uint32_t get(const std::uint8_t* links, std::size_t j) noexcept {
    std::uint32_t v = 0;
    if constexpr (IdBytes == 3) {
      std::memcpy(&v, links + 3 * j, 4);
      return v & 0xffffffu;
    } else {
      std::memcpy(&v, links + IdBytes * j, IdBytes);
      return v;
    }
  }
  static void set(std::uint8_t* links, std::size_t j, std::uint32_t id) noexcept {
    std::memcpy(links + IdBytes * j, &id, IdBytes);  // x86-64: little-endian, low bytes first
  }
};

/// A (distance, id) pair and an "expanded" flag as one integer with the pairs' order (ties
/// broken by id): the distance's bits mapped to an unsigned integer that orders as the float
/// does, then the id (< 2^31), then the flag in the lowest bit. A pool never holds an id twice,
/// so the flag never decides an order. Comparing two entries is one integer compare, with no
/// float branch to mispredict, and moving an entry moves its flag.
inline std::uint64_t pool_key(float d, std::uint32_t id) noexcept {
  d += 0.f;  // -0 -> +0: the two compare equal as floats
  std::uint32_t u;
  std::memcpy(&u, &d, 4);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (std::uint64_t(u) << 32) | (std::uint64_t(id) << 1);
}
constexpr std::uint64_t pool_expanded = 1;
inline graph_hit pool_hit(std::uint64_t key) noexcept {
  std::uint32_t u = static_cast<std::uint32_t>(key >> 32);
  u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
  float d;
  std::memcpy(&d, &u, 4);
  return {d, static_cast<std::uint32_t>(key) >> 1};
}
struct hit_greater {
  bool operator()(const graph_hit& a, const graph_hit& b) const noexcept { return a > b; }
};

/// Little-endian reader over a section with bounds checks that name the file.
struct reader {
  const std::string& bytes;
  const std::string& name;
  std::size_t pos = 0;
  void need(std::size_t count, std::size_t elem, const char* what) const {
    QTUNE_CHECK(elem == 0 || count <= (bytes.size() - pos) / elem, name, ": graph section truncated: ", what,
                " needs ", count, " x ", elem, " bytes at offset ", pos, ", section has ", bytes.size());
  }
  std::uint32_t u32(const char* what) {
    need(1, 4, what);
    std::uint32_t v;
    std::memcpy(&v, bytes.data() + pos, 4);
    pos += 4;
    return v;
  }
  void copy(void* dst, std::size_t count, std::size_t elem, const char* what) {
    need(count, elem, what);
    if (count) std::memcpy(dst, bytes.data() + pos, count * elem);
    pos += count * elem;
  }
};

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

void graph_layout::free_deleter::operator()(std::uint8_t* p) const noexcept { std::free(p); }

void graph_layout::allocate(std::size_t n, std::size_t code_size, std::size_t max_degree0) {
  n_ = n;
  code_size_ = code_size;
  max_degree0_ = max_degree0;
  id_bytes_ = n < 0xffff ? 2 : n < 0xffffff ? 3 : 4;
  links_offset_ = round_up(code_size, id_bytes_ == 3 ? 1 : id_bytes_);
  const std::size_t record = links_offset_ + max_degree0 * id_bytes_;
  const std::size_t line = round_up(record, 64);
  // one cache-line-aligned record when that wastes at most 1/8 of it; else packed, 4-byte aligned
  // (the widest element a codec reads from its codes is a float)
  stride_ = (line - record) * 8 <= line ? line : round_up(record, 4);
  const std::size_t bytes = std::max<std::size_t>(64, round_up(n * stride_ + 4, 64));  // + 4: a 3-byte id's read
  auto* p = static_cast<std::uint8_t*>(std::aligned_alloc(64, bytes));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  records_.reset(p);
}

graph_layout graph_layout::from_plain(const plain_graph& g, const std::uint8_t* codes_by_label, std::size_t code_size) {
  graph_layout L;
  const std::size_t n = g.n;
  QTUNE_CHECK(n > 0 && n < 0x80000000u, "hnsw layout: ", n, " nodes out of range (1 to 2^31 - 1)");
  QTUNE_CHECK(g.max_level >= 0 && g.max_level < max_levels, "hnsw layout: max level ", g.max_level, " out of range");
  QTUNE_CHECK(g.max_degree >= 1 && g.max_degree <= max_degree_limit, "hnsw layout: M = ", g.max_degree,
              " out of range (1 to ", max_degree_limit, ")");
  // breadth-first order over level 0 from the entry point; unreached nodes follow in id order
  std::vector<std::uint32_t> order;
  order.reserve(n);
  std::vector<std::uint32_t> new_id(n, 0xffffffffu);
  auto visit = [&](std::uint32_t s) {
    if (new_id[s] != 0xffffffffu) return;
    std::size_t head = order.size();
    new_id[s] = static_cast<std::uint32_t>(order.size());
    order.push_back(s);
    while (head < order.size()) {
      const std::uint32_t u = order[head++];
      const std::uint32_t* l = g.links0.data() + std::size_t(u) * g.max_degree0;
      for (std::size_t j = 0; j < g.degree0[u]; ++j)
        if (new_id[l[j]] == 0xffffffffu) {
          new_id[l[j]] = static_cast<std::uint32_t>(order.size());
          order.push_back(l[j]);
        }
    }
  };
  visit(g.entry);
  for (std::uint32_t i = 0; i < n; ++i) visit(i);

  L.allocate(n, code_size, g.max_degree0);
  L.max_degree_ = g.max_degree;
  L.entry_ = new_id[g.entry];
  L.max_level_ = g.max_level;
  std::vector<std::uint8_t> levels(n);
  std::vector<std::uint32_t> labels(n), upper;
  const std::size_t words = 1 + g.max_degree;
  for (std::uint32_t v = 0; v < n; ++v) {
    const std::uint32_t u = order[v];
    levels[v] = static_cast<std::uint8_t>(g.levels[u]);
    labels[v] = g.labels[u];
    for (int l = 1; l <= g.levels[u]; ++l) {
      const std::uint32_t* s = g.upper_list(u, l);
      const std::size_t at = upper.size();
      upper.resize(at + words, 0);
      upper[at] = s[0];
      for (std::uint32_t j = 0; j < s[0]; ++j) upper[at + 1 + j] = new_id[s[1 + j]];
    }
  }
  L.set_levels_and_labels(levels, labels, upper);
  for (std::uint32_t v = 0; v < n; ++v) {
    const std::uint32_t u = order[v];
    std::memcpy(L.records_.get() + std::size_t(v) * L.stride_, codes_by_label + std::size_t(g.labels[u]) * code_size,
                code_size);
    const std::uint32_t* src = g.links0.data() + std::size_t(u) * g.max_degree0;
    // a list holds no id twice (a repeat would cost a distance): later copies are dropped
    std::size_t kept = 0;
    for (std::size_t j = 0; j < g.degree0[u]; ++j) {
      const std::uint32_t id = new_id[src[j]];
      bool twice = false;
      for (std::size_t t = 0; t < kept && !twice; ++t) twice = L.link(v, t) == id;
      if (!twice) L.set_link(v, kept++, id);
    }
    for (std::size_t j = kept; j < g.max_degree0; ++j) L.set_link(v, j, L.link_sentinel());
  }
  return L;
}

void graph_layout::set_levels_and_labels(const std::vector<std::uint8_t>& levels,
                                         const std::vector<std::uint32_t>& labels,
                                         const std::vector<std::uint32_t>& upper_by_node) {
  const std::size_t n = levels.size(), words = 1 + max_degree_;
  labels16_.clear();
  labels32_.clear();
  if (n <= 0x10000) labels16_.assign(labels.begin(), labels.end());  // a permutation of 0..n-1
  else labels32_ = labels;
  upper_node_.clear();
  upper_level_.clear();
  std::vector<std::uint32_t> rank(n, 0xffffffffu);
  for (std::uint32_t i = 0; i < n; ++i)
    if (levels[i] > 0) {
      rank[i] = static_cast<std::uint32_t>(upper_node_.size());
      upper_node_.push_back(i);
      upper_level_.push_back(levels[i]);
    }
  upper_offset_.assign(upper_node_.size() + 1, 0);
  for (std::size_t r = 0; r < upper_node_.size(); ++r) {
    const std::size_t next = std::size_t(upper_offset_[r]) + std::size_t(upper_level_[r]) * words;
    QTUNE_CHECK(next < 0xffffffffull, "hnsw layout: upper levels exceed 2^32 words");
    upper_offset_[r + 1] = static_cast<std::uint32_t>(next);
  }
  QTUNE_CHECK(upper_by_node.size() == upper_offset_.back(), "hnsw layout: ", upper_by_node.size(),
              " upper-level words, the levels need ", upper_offset_.back());
  upper_ = upper_by_node;
  for (std::size_t at = 0; at < upper_.size(); at += words)
    for (std::uint32_t j = 0; j < upper_[at]; ++j) upper_[at + 1 + j] = rank[upper_[at + 1 + j]];
  QTUNE_CHECK(max_level_ == 0 || rank[entry_] != 0xffffffffu, "hnsw layout: the entry point is not on the top level");
  entry_rank_ = max_level_ > 0 ? rank[entry_] : 0;
}

int graph_layout::level(std::uint32_t i) const noexcept {
  const auto it = std::lower_bound(upper_node_.begin(), upper_node_.end(), i);
  return it != upper_node_.end() && *it == i ? upper_level_[static_cast<std::size_t>(it - upper_node_.begin())] : 0;
}

std::vector<std::uint32_t> graph_layout::upper_by_node() const {
  std::vector<std::uint32_t> out(upper_);
  const std::size_t words = 1 + max_degree_;
  for (std::size_t at = 0; at < out.size(); at += words)
    for (std::uint32_t j = 0; j < out[at]; ++j) out[at + 1 + j] = upper_node_[out[at + 1 + j]];
  return out;
}

std::uint32_t graph_layout::link(std::uint32_t i, std::size_t j) const noexcept {
  switch (id_bytes_) {
    case 2: return link_ids<2>::get(links0(i), j);
    case 3: return link_ids<3>::get(links0(i), j);
    default: return link_ids<4>::get(links0(i), j);
  }
}

void graph_layout::set_link(std::uint32_t i, std::size_t j, std::uint32_t id) noexcept {
  std::uint8_t* links = records_.get() + std::size_t(i) * stride_ + links_offset_;
  switch (id_bytes_) {
    case 2: link_ids<2>::set(links, j, id); break;
    case 3: link_ids<3>::set(links, j, id); break;
    default: link_ids<4>::set(links, j, id);
  }
}

std::uint32_t graph_layout::link_sentinel() const noexcept {
  return id_bytes_ == 2 ? link_ids<2>::sentinel : id_bytes_ == 3 ? link_ids<3>::sentinel : link_ids<4>::sentinel;
}

std::size_t graph_layout::degree0(std::uint32_t i) const noexcept {
  std::size_t d = 0;
  while (d < max_degree0_ && link(i, d) != link_sentinel()) ++d;
  return d;
}

plain_graph graph_layout::to_plain() const {
  plain_graph g;
  g.n = n_;
  g.max_degree0 = max_degree0_;
  g.max_degree = max_degree_;
  g.entry = entry_;
  g.max_level = max_level_;
  g.levels.resize(n_);
  g.labels.resize(n_);
  for (std::uint32_t i = 0; i < n_; ++i) {
    g.levels[i] = level(i);
    g.labels[i] = label(i);
  }
  const std::vector<std::uint32_t> upper = upper_by_node();
  g.degree0.resize(n_);
  g.links0.assign(n_ * max_degree0_, 0);
  g.upper.resize(n_);
  for (std::uint32_t i = 0; i < n_; ++i) {
    const std::size_t d = degree0(i);
    g.degree0[i] = static_cast<std::uint32_t>(d);
    for (std::size_t j = 0; j < d; ++j) g.links0[std::size_t(i) * max_degree0_ + j] = link(i, j);
  }
  for (std::size_t r = 0; r < upper_node_.size(); ++r)
    g.upper[upper_node_[r]].assign(upper.begin() + static_cast<std::ptrdiff_t>(upper_offset_[r]),
                                   upper.begin() + static_cast<std::ptrdiff_t>(upper_offset_[r + 1]));
  return g;
}

std::vector<std::uint8_t> graph_layout::codes_by_internal() const {
  std::vector<std::uint8_t> out(n_ * code_size_);
  for (std::uint32_t i = 0; i < n_; ++i) std::memcpy(out.data() + std::size_t(i) * code_size_, code(i), code_size_);
  return out;
}

std::size_t graph_layout::memory_bytes() const noexcept {
  return n_ * stride_ + labels16_.size() * sizeof(std::uint16_t) + labels32_.size() * sizeof(std::uint32_t) +
         (upper_.size() + upper_offset_.size() + upper_node_.size()) * sizeof(std::uint32_t) + upper_level_.size() +
         norms_.size() * sizeof(float);
}

template <class Scorer>
std::uint32_t graph_layout::greedy_upper(const Scorer& score, float& dist) const {
  dist = score.one(entry_);
  if (max_level_ == 0) return entry_;
  std::uint32_t ids[max_degree_limit];
  float scores[max_degree_limit];
  std::uint32_t cur = entry_rank_;  // upper levels link nodes by their rank among upper nodes
  for (int level = max_level_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const std::uint32_t* l = upper_list(cur, level);
      const std::uint32_t count = l[0];
      for (std::uint32_t j = 0; j < count; ++j) ids[j] = upper_node_[l[1 + j]];
      score.many(ids, count, scores);  // one batch: the kernel prefetches the next code
      for (std::uint32_t j = 0; j < count; ++j)
        if (scores[j] < dist) {
          dist = scores[j];
          cur = l[1 + j];
          changed = true;
        }
    }
  }
  return upper_node_[cur];
}

namespace {

/// Scores through the codec's asymmetric distance function.
struct fn_scorer {
  const void* query;
  code_distance_fn fn;
  const void* params;
  const std::uint8_t* base;
  std::size_t stride;
  float one(std::uint32_t id) const noexcept { return fn(query, base + std::size_t(id) * stride, params); }
  void many(const std::uint32_t* ids, std::size_t m, float* out) const noexcept {
    for (std::size_t i = 0; i < m; ++i) out[i] = one(ids[i]);
  }
};

/// Scores affine byte codes with the integer kernel (graph_layout::set_affine_u8).
struct u8_scorer {
  const std::int16_t* w;
  float alpha, qq, qlo;
  graph_layout::affine_form form;
  const float* norms;  // |x|^2 (l2) or 1 / |x| (cosine)
  const std::uint8_t* base;
  std::size_t stride, dim;
  graph_kernels::dot_u8_i16_batch_fn kernel;
  float finish(std::int32_t dot, std::uint32_t id) const noexcept {
    const float qx = qlo + alpha * static_cast<float>(dot);
    switch (form) {
      case graph_layout::affine_form::l2: return qq - 2.f * qx + norms[id];
      case graph_layout::affine_form::ip: return 1.f - qx;
      default: return 1.f - qx * norms[id];
    }
  }
  float one(std::uint32_t id) const noexcept {
    std::int32_t d;
    kernel(w, base, stride, &id, 1, dim, &d);
    return finish(d, id);
  }
  void many(const std::uint32_t* ids, std::size_t m, float* out) const noexcept {
    std::int32_t dots[512];
    for (std::size_t first = 0; first < m; first += 512) {
      const std::size_t len = std::min<std::size_t>(512, m - first);
      kernel(w, base, stride, ids + first, len, dim, dots);
      for (std::size_t i = 0; i < len; ++i) out[first + i] = finish(dots[i], ids[first + i]);
    }
  }
};

/// Per-thread int16 query weights, 64-byte aligned, zero-padded to a multiple of 64.
struct weight_buffer {
  std::int16_t* p = nullptr;
  std::size_t capacity = 0;
  weight_buffer() = default;
  weight_buffer(const weight_buffer&) = delete;
  weight_buffer& operator=(const weight_buffer&) = delete;
  ~weight_buffer() { std::free(p); }
  std::int16_t* get(std::size_t n) {
    if (n > capacity) {
      std::free(p);
      capacity = round_up(n, 64);
      p = static_cast<std::int16_t*>(std::aligned_alloc(64, capacity * sizeof(std::int16_t)));
      if (!p) {
        capacity = 0;
        throw std::bad_alloc();
      }
    }
    return p;
  }
};
thread_local weight_buffer tl_weights;

}  // namespace

void graph_layout::set_affine_u8(const std::vector<float>& lo, const std::vector<float>& scale, affine_form form) {
  QTUNE_CHECK(lo.size() == code_size_ && scale.size() == code_size_, "hnsw layout: affine codes need ", code_size_,
              " offsets and scales");
  lo_ = lo;
  scale_ = scale;
  form_ = form;
  norms_.assign(form == affine_form::ip ? 0 : n_, 0.f);
  if (form == affine_form::ip) return;
  for (std::uint32_t i = 0; i < n_; ++i) {
    const std::uint8_t* c = code(i);
    double s = 0;
    for (std::size_t j = 0; j < code_size_; ++j) {
      const double x = double(lo_[j]) + double(scale_[j]) * c[j];
      s += x * x;
    }
    norms_[i] = form == affine_form::l2 ? static_cast<float>(s) : (s > 0 ? static_cast<float>(1 / std::sqrt(s)) : 0.f);
  }
}

template <int IdBytes, class Scorer>
void graph_layout::search_impl(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const {
  // One sorted pool of the ef best (score, id) pairs with an "expanded" flag each, instead of
  // HNSW's two heaps: the pool is exactly HNSW's result heap, and the first unexpanded entry is
  // exactly the candidate HNSW pops next (anything nearer that left the pool is worse than the
  // pool's worst, where HNSW stops). search_plain is the two-heap form; the tests compare them.
  using ids = link_ids<IdBytes>;
  scratch& s = tl_scratch;
  const std::uint16_t epoch = s.begin(n_);
  std::uint16_t* const visited = s.visited.data();
  if (s.pool.size() < ef + 1) {
    s.pool.resize(ef + 1);
  }
  if (s.batch.size() < max_degree0_) s.batch.resize(max_degree0_);
  if (s.scores.size() < max_degree0_) s.scores.resize(max_degree0_);
  std::uint64_t* const pool = s.pool.data();
  std::uint32_t* const batch = s.batch.data();
  float* const scores = s.scores.data();
  const std::uint8_t* const base = records_.get();
  const std::size_t stride = stride_;
  const std::size_t max_degree0 = max_degree0_;
  // lines of a record worth prefetching: those of its code, at most 4 lines' worth (the kernel
  // prefetches the next record too, and the hardware prefetcher follows longer runs); a packed
  // record's code may start anywhere in a line, so its last byte's line is fetched as well
  const std::size_t code_lines = std::min<std::size_t>((code_size_ + 63) / 64, 4);
  const std::size_t code_last = code_size_ ? std::min<std::size_t>(code_size_, 4 * 64) - 1 : 0;

  float d0;
  const std::uint32_t ep = greedy_upper(score, d0);
  pool[0] = pool_key(d0, ep);
  std::size_t size = 1, cursor = 0;
  visited[ep] = epoch;
  while (cursor < size) {
    const std::uint32_t cur = static_cast<std::uint32_t>(pool[cursor]) >> 1;
    pool[cursor] |= pool_expanded;
    const std::uint8_t* links = links0(cur);
    // the unvisited neighbours, marked visited; branch-free (on Zen 4 this beat an AVX-512
    // gather of the stamps by 4-8%, and a branch per neighbour mispredicts half the time)
    std::size_t m = 0;
    for (std::size_t j = 0; j < max_degree0; ++j) {
      const std::uint32_t id = ids::get(links, j);
      if (id == ids::sentinel) break;
      const bool fresh = visited[id] != epoch;
      visited[id] = epoch;
      batch[m] = id;
      m += fresh;
    }
    for (std::size_t j = 0; j < m; ++j) {
      const char* r = reinterpret_cast<const char*>(base + std::size_t(batch[j]) * stride);
      _mm_prefetch(r, _MM_HINT_T0);
      for (std::size_t line = 1; line < code_lines; ++line) _mm_prefetch(r + 64 * line, _MM_HINT_T0);
      _mm_prefetch(r + code_last, _MM_HINT_T0);
    }
    if (m > 0) {
      score.many(batch, m, scores);
      for (std::size_t j = 0; j < m; ++j) {
        const std::uint64_t key = pool_key(scores[j], batch[j]);
        if (size == ef && key >= pool[size - 1]) continue;
        // insertion from the end: one pass over the entries it passes, one branch miss at its end
        std::size_t pos = size == ef ? size - 1 : size++;  // the worst falls out of a full pool
        for (; pos > 0 && key < pool[pos - 1]; --pos) pool[pos] = pool[pos - 1];
        pool[pos] = key;
        cursor = std::min(cursor, pos);
      }
    }
    while (cursor < size && (pool[cursor] & pool_expanded)) ++cursor;
    if (cursor < size)
      _mm_prefetch(reinterpret_cast<const char*>(links0(static_cast<std::uint32_t>(pool[cursor]) >> 1)), _MM_HINT_T0);
  }
  out.resize(size);
  for (std::size_t i = 0; i < size; ++i) out[i] = pool_hit(pool[i]);
}

template <class Scorer>
void graph_layout::dispatch_ids(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const {
  switch (id_bytes_) {
    case 2: search_impl<2>(score, ef, out); break;
    case 3: search_impl<3>(score, ef, out); break;
    default: search_impl<4>(score, ef, out);
  }
}

template <class Scorer>
void graph_layout::search_plain(const Scorer& score, std::size_t ef, std::vector<graph_hit>& out) const {
  float d0;
  const std::uint32_t ep = greedy_upper(score, d0);
  std::vector<bool> visited(n_, false);
  std::priority_queue<graph_hit> top;                                               // worst on top
  std::priority_queue<graph_hit, std::vector<graph_hit>, hit_greater> candidates;  // nearest on top
  top.push({d0, ep});
  candidates.push({d0, ep});
  visited[ep] = true;
  while (!candidates.empty()) {
    const graph_hit c = candidates.top();
    if (top.top() < c) break;  // (score, id) pairs: ties are broken by id, the same everywhere
    candidates.pop();
    const std::size_t deg = degree0(c.second);
    for (std::size_t j = 0; j < deg; ++j) {
      const std::uint32_t id = link(c.second, j);
      if (visited[id]) continue;
      visited[id] = true;
      const graph_hit h{score.one(id), id};
      if (top.size() < ef || h < top.top()) {
        candidates.push(h);
        top.push(h);
        if (top.size() > ef) top.pop();
      }
    }
  }
  out.resize(top.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = top.top();
    top.pop();
  }
}

void graph_layout::search(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out) const {
  out.clear();
  if (n_ == 0) return;
  ef = std::max<std::size_t>(ef, 1);
  run_search(q, ef, out, false);
}

void graph_layout::search_reference(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out) const {
  out.clear();
  if (n_ == 0) return;
  ef = std::max<std::size_t>(ef, 1);
  run_search(q, ef, out, true);
}

void graph_layout::run_search(const graph_query& q, std::size_t ef, std::vector<graph_hit>& out, bool reference) const {
  const std::uint8_t* base = records_.get();
  if (affine_u8() && q.x != nullptr) {
    const std::size_t dim = code_size_;
    std::int16_t* w = tl_weights.get(round_up(dim, 64));
    float wmax = 0.f;
    double qq = 0, qlo = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      wmax = std::max(wmax, std::fabs(q.x[j] * scale_[j]));
      qq += double(q.x[j]) * q.x[j];
      qlo += double(q.x[j]) * lo_[j];
    }
    // |w_j| <= w_limit with 255 * dim * w_limit < 2^31: no partial sum of the kernels can overflow
    const float w_limit = static_cast<float>(std::min<std::size_t>(32767, 2147483647ull / (255 * dim)));
    const float alpha = wmax > 0.f ? wmax / w_limit : 1.f;
    for (std::size_t j = 0; j < dim; ++j)
      w[j] = static_cast<std::int16_t>(std::lrint(std::clamp(q.x[j] * scale_[j] / alpha, -w_limit, w_limit)));
    std::fill(w + dim, w + round_up(dim, 64), std::int16_t(0));
    u8_scorer sc{w,
                 alpha,
                 static_cast<float>(qq),
                 static_cast<float>(qlo),
                 form_,
                 norms_.data(),
                 base,
                 stride_,
                 dim,
                 graph_kernels::dot_u8_i16_batch(reference ? simd_level::scalar : active_simd_level())};
    if (reference) search_plain(sc, ef, out);
    else dispatch_ids(sc, ef, out);
    return;
  }
  const fn_scorer sc{q.prepared, q.fn, q.params, base, stride_};
  if (reference) search_plain(sc, ef, out);
  else dispatch_ids(sc, ef, out);
}

std::string graph_layout::serialize() const {
  std::string out;
  put<std::uint32_t>(out, layout_magic);
  for (std::size_t v : {n_, max_degree0_, max_degree_, code_size_, std::size_t(entry_), std::size_t(max_level_),
                        std::size_t(0)})
    put<std::uint32_t>(out, static_cast<std::uint32_t>(v));
  std::vector<std::uint8_t> levels(n_);
  std::vector<std::uint32_t> labels(n_);
  for (std::uint32_t i = 0; i < n_; ++i) {
    levels[i] = static_cast<std::uint8_t>(level(i));
    labels[i] = label(i);
  }
  out.append(reinterpret_cast<const char*>(levels.data()), levels.size());
  out.append(reinterpret_cast<const char*>(labels.data()), labels.size() * 4);
  std::vector<std::uint32_t> deg(n_), links(n_ * max_degree0_, 0);
  for (std::uint32_t i = 0; i < n_; ++i) {
    deg[i] = static_cast<std::uint32_t>(degree0(i));
    for (std::size_t j = 0; j < deg[i]; ++j)
      links[std::size_t(i) * max_degree0_ + j] = link(i, j);
  }
  out.append(reinterpret_cast<const char*>(deg.data()), deg.size() * 4);
  out.append(reinterpret_cast<const char*>(links.data()), links.size() * 4);
  const std::vector<std::uint32_t> upper = upper_by_node();
  out.append(reinterpret_cast<const char*>(upper.data()), upper.size() * 4);
  for (std::uint32_t i = 0; i < n_; ++i) out.append(reinterpret_cast<const char*>(code(i)), code_size_);
  return out;
}

graph_layout graph_layout::deserialize(const std::string& bytes, std::size_t expected_n, std::size_t code_size,
                                       const std::string& name) {
  reader r{bytes, name};
  QTUNE_CHECK(r.u32("the magic") == layout_magic, name, ": graph section does not start with 'QGL1'");
  const std::size_t n = r.u32("n"), max_degree0 = r.u32("max_degree0"), max_degree = r.u32("max_degree"),
                    cs = r.u32("code_size"), entry = r.u32("entry"), max_level = r.u32("max_level");
  r.u32("reserved");
  QTUNE_CHECK(n == expected_n, name, ": graph holds ", n, " nodes, header says ", expected_n);
  QTUNE_CHECK(n > 0 && n < 0x80000000u, name, ": graph node count ", n, " out of range (1 to 2^31 - 1)");
  QTUNE_CHECK(cs == code_size, name, ": graph codes have ", cs, " bytes, the codec's have ", code_size);
  QTUNE_CHECK(max_degree >= 1 && max_degree <= max_degree_limit && max_degree0 == 2 * max_degree, name,
              ": graph degrees ", max_degree0, "/", max_degree, " invalid (need 1 <= M <= ", max_degree_limit,
              ", level-0 degree 2 M)");
  QTUNE_CHECK(max_level < max_levels, name, ": graph max level ", max_level, " exceeds ", max_levels - 1);
  QTUNE_CHECK(entry < n, name, ": graph entry point ", entry, " out of range for ", n, " nodes");
  // The fixed-size parts, checked against the section length before anything is allocated.
  const std::size_t fixed_words = n * (1 + 1 + max_degree0);  // labels, degree0, links0
  r.need(n, 1, "levels");
  r.need(fixed_words, 4, "labels and level-0 links");

  graph_layout L;
  L.max_degree_ = max_degree;
  L.entry_ = static_cast<std::uint32_t>(entry);
  L.max_level_ = static_cast<int>(max_level);
  std::vector<std::uint8_t> levels(n);
  r.copy(levels.data(), n, 1, "levels");
  std::size_t upper_words = 0;
  for (std::size_t i = 0; i < n; ++i) {
    QTUNE_CHECK(levels[i] <= max_level, name, ": node ", i, " has level ", int(levels[i]), " above the max level ",
                max_level);
    upper_words += std::size_t(levels[i]) * (1 + max_degree);
  }
  QTUNE_CHECK(levels[entry] == max_level, name, ": entry point ", entry, " has level ", int(levels[entry]),
              ", the graph's max level is ", max_level);
  r.need(fixed_words + upper_words, 4, "labels, links and upper levels");
  {
    const std::size_t rest = bytes.size() - r.pos - (fixed_words + upper_words) * 4;  // what the codes may use
    QTUNE_CHECK(cs == 0 || n <= rest / cs, name, ": graph section truncated: ", n, " codes of ", cs,
                " bytes need more than the ", rest, " bytes left");
    QTUNE_CHECK(rest == n * cs, name, ": graph section has ", rest - n * cs, " unexpected trailing bytes");
  }

  std::vector<std::uint32_t> labels(n);
  r.copy(labels.data(), n, 4, "labels");
  {
    std::vector<bool> seen(n, false);
    for (std::size_t i = 0; i < n; ++i) {
      QTUNE_CHECK(labels[i] < n && !seen[labels[i]], name, ": graph labels are not a permutation of 0..", n - 1,
                  " (node ", i, " has label ", labels[i], ")");
      seen[labels[i]] = true;
    }
  }
  std::vector<std::uint32_t> deg(n), links(n * max_degree0);
  r.copy(deg.data(), n, 4, "level-0 degrees");
  r.copy(links.data(), links.size(), 4, "level-0 links");
  L.allocate(n, cs, max_degree0);
  std::vector<std::size_t> stamp(n, 0);  // stamp[id] == i + 1: node i already links to id
  for (std::size_t i = 0; i < n; ++i) {
    QTUNE_CHECK(deg[i] <= max_degree0, name, ": node ", i, " has ", deg[i], " level-0 links, at most ", max_degree0,
                " allowed");
    for (std::size_t j = 0; j < max_degree0; ++j) {
      std::uint32_t id = L.link_sentinel();
      if (j < deg[i]) {
        id = links[i * max_degree0 + j];
        QTUNE_CHECK(id < n, name, ": node ", i, " links to node ", id, ", out of range for ", n, " nodes");
        QTUNE_CHECK(stamp[id] != i + 1, name, ": node ", i, " links to node ", id, " twice");
        stamp[id] = i + 1;
      }
      L.set_link(static_cast<std::uint32_t>(i), j, id);
    }
  }
  QTUNE_CHECK(upper_words < 0xffffffffull, name, ": graph upper levels hold ", upper_words, " words, at most 2^32 - 1");
  std::vector<std::uint32_t> upper(upper_words);
  r.copy(upper.data(), upper_words, 4, "upper-level links");
  for (std::size_t i = 0, at = 0; i < n; ++i)
    for (int l = 1; l <= levels[i]; ++l, at += 1 + max_degree) {
      const std::uint32_t* list = upper.data() + at;
      QTUNE_CHECK(list[0] <= max_degree, name, ": node ", i, " has ", list[0], " links on level ", l, ", at most ",
                  max_degree, " allowed");
      for (std::uint32_t j = 0; j < list[0]; ++j) {
        const std::uint32_t id = list[1 + j];
        QTUNE_CHECK(id < n && levels[id] >= l, name, ": node ", i, " links on level ", l, " to node ", id,
                    id < n ? ", which is not on that level" : ", out of range");
      }
    }
  L.set_levels_and_labels(levels, labels, upper);
  for (std::size_t i = 0; i < n; ++i) r.copy(L.records_.get() + i * L.stride_, 1, cs, "codes");
  return L;
}

}  // namespace qtune::detail
