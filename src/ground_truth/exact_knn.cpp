// Exact k-NN (see ground_truth.hpp): a first pass of blocked products and threshold filters
// keeps kc candidates per query, then each query's candidates are proven complete and sorted.
// Two first passes: sgemm keys re-scored in float64 (any data), and int8 GEMM keys that are
// exact (byte-valued data, exact_bytes.hpp).
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cblas.h>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "ground_truth/exact_bytes.hpp"
#include "ground_truth/exact_detail.hpp"
#include "ground_truth/exact_select.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/progress.hpp"
#include "qtune/simd.hpp"

namespace qtune {

namespace {

std::atomic<std::uint64_t> g_exact_knn_calls{0};
std::atomic<std::uint64_t> g_exact_knn_byte_passes{0};

// OpenBLAS keeps its own thread pool. Inside TBB tasks every sgemm must run on the calling
// thread, otherwise two pools fight over the same cores (measured: see bench_ground_truth).
// The symbols live in libopenblas.so.0, which we only reach through libblas.so, so they are
// looked up at run time; with another BLAS they are simply absent.
using set_threads_fn = void (*)(int);
using get_threads_fn = int (*)();

struct openblas_threads {
  set_threads_fn set = nullptr;
  get_threads_fn get = nullptr;
  openblas_threads() {
    set = reinterpret_cast<set_threads_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    get = reinterpret_cast<get_threads_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!set || !get) set = nullptr, get = nullptr;
  }
};

const openblas_threads& blas_threads() {
  static const openblas_threads t;
  return t;
}

// Sets the OpenBLAS thread count for the lifetime of the guard (the setting is process-wide).
class scoped_blas_threads {
 public:
  explicit scoped_blas_threads(int n) {
    const auto& t = blas_threads();
    if (!t.set) return;
    previous_ = t.get();
    if (previous_ != n) t.set(n);
    else previous_ = 0;
  }
  ~scoped_blas_threads() {
    if (previous_ > 0) blas_threads().set(previous_);
  }
  scoped_blas_threads(const scoped_blas_threads&) = delete;
  scoped_blas_threads& operator=(const scoped_blas_threads&) = delete;

 private:
  int previous_ = 0;
};

constexpr double unit_roundoff_f32 = 0x1p-24;

}  // namespace

namespace detail {

double l2_f64(const float* x, const float* y, std::size_t dim) noexcept {
  // Four independent sums so the compiler can pipeline/vectorize without -ffast-math.
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    double d0 = double(x[i]) - double(y[i]);
    double d1 = double(x[i + 1]) - double(y[i + 1]);
    double d2 = double(x[i + 2]) - double(y[i + 2]);
    double d3 = double(x[i + 3]) - double(y[i + 3]);
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  for (; i < dim; ++i) {
    double d = double(x[i]) - double(y[i]);
    a0 += d * d;
  }
  return (a0 + a1) + (a2 + a3);
}

double ip_f64(const float* x, const float* y, std::size_t dim) noexcept {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    a0 += double(x[i]) * double(y[i]);
    a1 += double(x[i + 1]) * double(y[i + 1]);
    a2 += double(x[i + 2]) * double(y[i + 2]);
    a3 += double(x[i + 3]) * double(y[i + 3]);
  }
  for (; i < dim; ++i) a0 += double(x[i]) * double(y[i]);
  return (a0 + a1) + (a2 + a3);
}

void l2_f64_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept {
  for (int r = 0; r < 4; ++r) out[r] = l2_f64(x, y[r], dim);
}

void ip_f64_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept {
  for (int r = 0; r < 4; ++r) out[r] = ip_f64(x, y[r], dim);
}

f64_kernels f64_kernels_active() noexcept {
  if (active_simd_level() >= simd_level::avx2) return {&l2_f64_avx2, &ip_f64_avx2, &l2_f64_avx2_x4, &ip_f64_avx2_x4};
  return {&l2_f64, &ip_f64, &l2_f64_x4, &ip_f64_x4};
}


exact_knn_stats& last_exact_knn_stats() noexcept {
  static exact_knn_stats s;
  return s;
}

}  // namespace detail

std::uint64_t exact_knn_call_count() noexcept { return g_exact_knn_calls.load(); }
std::uint64_t exact_knn_byte_pass_count() noexcept { return g_exact_knn_byte_passes.load(); }

namespace {

struct scored {
  double distance;
  std::int32_t id;
  bool operator<(const scored& o) const noexcept {
    return distance < o.distance || (distance == o.distance && id < o.id);
  }
};

// Writes the first min(k, sorted.size()) entries of sorted as a result row, padding with -1/+inf.
void write_row(const std::vector<scored>& sorted, std::size_t k, std::int32_t* out_ids, float* out_dist) {
  for (std::size_t j = 0; j < k; ++j) {
    if (j < sorted.size()) {
      out_ids[j] = sorted[j].id;
      out_dist[j] = float(sorted[j].distance);
    } else {
      out_ids[j] = -1;
      out_dist[j] = std::numeric_limits<float>::infinity();
    }
  }
}

// Sorts the `keep` best of all to the front by (distance, id) and drops the rest.
void keep_best(std::vector<scored>& all, std::size_t keep) {
  keep = std::min(keep, all.size());
  // kc is barely above k: a full sort beats partial_sort's heap there.
  if (2 * keep >= all.size()) std::sort(all.begin(), all.end());
  else std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(keep), all.end());
  all.resize(keep);
}

// ---- the float32 pass: sgemm keys, float64 re-scoring --------------------------------------

using filter_fn = void (*)(detail::topk_buffer&, const float*, const float*, std::size_t, std::int32_t, std::size_t,
                           std::size_t, float*) noexcept;

class float_pass {
 public:
  using key = float;
  using product = float;
  struct finish_scratch {
    std::vector<scored> scored_rows;
    std::vector<double> dist;
    std::vector<float> scan_buf;
  };

  float_pass(matrix_view<float> base, matrix_view<float> queries, bool l2, std::size_t k, std::size_t kc)
      : base_(base), queries_(queries), l2_(l2), k_(k), kc_(kc), f64_(detail::f64_kernels_active()),
        filter_(active_simd_level() >= simd_level::avx512 ? &detail::topk_filter_avx512
                                                            : &detail::topk_filter_scalar) {
    const std::size_t n = base.rows, nq = queries.rows, dim = base.dim;
    key_offset_.resize(n);
    std::vector<double> base_norm2(n);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1024), [&](const auto& r) {
      for (std::size_t j = r.begin(); j < r.end(); ++j) {
        const double s = f64_.ip(base.row(j), base.row(j), dim);
        base_norm2[j] = s;
        key_offset_[j] = l2 ? float(s) : 0.0f;
      }
    });
    max_base_norm_ = std::sqrt(*std::max_element(base_norm2.begin(), base_norm2.end()));
    query_norm_.resize(nq);
    for (std::size_t q = 0; q < nq; ++q) query_norm_[q] = std::sqrt(detail::ip_f64(queries.row(q), queries.row(q), dim));
  }

  static key unbounded() noexcept { return std::numeric_limits<float>::infinity(); }

  // products[i * nb + j] = -2 <q_{q0+i}, x_{b0+j}> (l2) or -<q, x> (ip).
  void products(std::size_t q0, std::size_t mq, std::size_t b0, std::size_t nb, float* out) const {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mq), int(nb), int(base_.dim), l2_ ? -2.0f : -1.0f,
                queries_.row(q0), int(queries_.stride), base_.row(b0), int(base_.stride), 0.0f, out, int(nb));
  }
  // Key = product + ||x||^2 (l2) or product (ip).
  void select(detail::topk_buffer& b, const float* row, std::size_t b0, std::size_t nb, std::size_t cap,
              float* scratch) const noexcept {
    filter_(b, row, l2_ ? key_offset_.data() + b0 : nullptr, nb, std::int32_t(b0), kc_, cap, scratch);
  }

  // Re-scores the float32 candidates of query q (count of them, at most kc) in float64, proves
  // (or, failing that, enforces by a full re-scan) that they contain the exact top k, and writes
  // the sorted row.
  void finish(std::size_t q, const float* keys, const std::int32_t* ids, std::size_t count, finish_scratch& s,
              std::int32_t* out_ids, float* out_dist) {
    const float* qv = queries_.row(q);
    std::vector<scored>& rows = s.scored_rows;
    s.dist.resize(count);
    distances(qv, ids, count, s.dist.data());
    rows.clear();
    float worst_key = -std::numeric_limits<float>::infinity();
    for (std::size_t j = 0; j < count; ++j) {
      worst_key = std::max(worst_key, keys[j]);
      rows.push_back({s.dist[j], ids[j]});
    }
    const std::size_t n = base_.rows, keep = std::min(k_, n);
    if (keep > 0 && count == kc_ && kc_ < n) {
      std::nth_element(rows.begin(), rows.begin() + std::ptrdiff_t(keep - 1), rows.end());
      const double kth = rows[keep - 1].distance;
      const double qn2 = query_norm_[q] * query_norm_[q];
      const double kth_key = l2_ ? kth - qn2 : kth - 1.0;
      const double tol = key_tolerance(q);
      const double slack = 1e-12 * (std::abs(kth_key) + qn2 + max_base_norm_ * max_base_norm_);
      if (!(double(worst_key) - tol > kth_key + slack)) rescan(q, kth_key + tol + slack, s);
    }
    keep_best(rows, keep);
    write_row(rows, k_, out_ids, out_dist);
  }

  std::size_t rescans() const noexcept { return rescans_.load(); }

 private:
  double distance(const float* q, const float* x) const noexcept {
    return l2_ ? f64_.l2(q, x, queries_.dim) : 1.0 - f64_.ip(q, x, queries_.dim);
  }
  // distance() of q to base rows ids[0..count), four rows per kernel call.
  void distances(const float* q, const std::int32_t* ids, std::size_t count, double* out) const noexcept {
    std::size_t j = 0;
    for (; j + 4 <= count; j += 4) {
      const float* rows[4] = {base_.row(std::size_t(ids[j])), base_.row(std::size_t(ids[j + 1])),
                              base_.row(std::size_t(ids[j + 2])), base_.row(std::size_t(ids[j + 3]))};
      if (l2_) {
        f64_.l2_x4(q, rows, queries_.dim, out + j);
      } else {
        f64_.ip_x4(q, rows, queries_.dim, out + j);
        for (int r = 0; r < 4; ++r) out[j + r] = 1.0 - out[j + r];
      }
    }
    for (; j < count; ++j) out[j] = distance(q, base_.row(std::size_t(ids[j])));
  }
  // Rigorous bound on |key_f32 - key_exact| for one query (Higham's gamma_n for the dot
  // product, plus the roundings of ||x||^2 and of the final addition).
  double key_tolerance(std::size_t q) const noexcept {
    const double d = double(queries_.dim) + 4.0;
    const double qn = query_norm_[q];
    const double m = max_base_norm_;
    const double t = l2_ ? d * unit_roundoff_f32 * (2.0 * qn * m + 2.0 * m * m + qn * qn)
                         : d * unit_roundoff_f32 * qn * m;
    return 1.1 * t + 1e-30;
  }
  // A dropped candidate might tie or beat the k-th: scores every base vector again, keeping
  // all whose float32 key is within the bound of the exact k-th key (limit).
  void rescan(std::size_t q, double limit, finish_scratch& s) {
    ++rescans_;
    const std::size_t n = base_.rows;
    const float* qv = queries_.row(q);
    s.scan_buf.resize(n);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(base_.dim), l2_ ? -2.0f : -1.0f, base_.data,
                int(base_.stride), qv, 1, 0.0f, s.scan_buf.data(), 1);
    s.scored_rows.clear();
    for (std::size_t j = 0; j < n; ++j) {
      const double key = double(s.scan_buf[j]) + double(key_offset_[j]);
      if (key <= limit) s.scored_rows.push_back({distance(qv, base_.row(j)), std::int32_t(j)});
    }
  }

  matrix_view<float> base_, queries_;
  bool l2_;
  std::size_t k_, kc_;
  detail::f64_kernels f64_;
  filter_fn filter_;
  std::vector<float> key_offset_;    // l2: ||x||^2 (float); ip: 0
  std::vector<double> query_norm_;   // ||q|| (float64)
  double max_base_norm_ = 0;         // max ||x|| (float64)
  std::atomic<std::size_t> rescans_{0};
};

// ---- the byte pass: int8 GEMM, exact integer keys (exact_bytes.hpp) --------------------------

// Components are shifted into [0, 255] (u8 = v - c): squared L2 is shift-invariant. The base
// is stored as s8 = u8 - 128, so the GEMM gives dot_ij = <q'_i, x'_j - 128>, and
//   ||q' - x'||^2 = ||q'||^2 - 256 sum(q') + key,   key = ||x'||^2 - 2 dot   (exact in int32
// for dim <= max_dim). Keys rank a query's candidates exactly: no re-scoring, no tolerance.
class byte_pass {
 public:
  using key = std::int32_t;
  using product = std::int32_t;
  struct finish_scratch {
    std::vector<scored> scored_rows;
  };
  static constexpr std::size_t max_dim = 16000;  // 130305 * dim < 2^31: |key| and |dot| fit int32

  byte_pass(matrix_view<float> base, matrix_view<float> queries, float origin, std::size_t k, std::size_t kc)
      : dim_(base.dim), n_(base.rows), k_(k), kc_(kc), base_(detail::to_bytes(base, origin, 128)),
        queries_(detail::to_bytes(queries, origin, 0)),
        filter_(active_simd_level() >= simd_level::avx512 ? &detail::topk_filter_i32_avx512
                                                            : &detail::topk_filter_i32_scalar) {
    norm_.assign(base_.norm.begin(), base_.norm.end());  // < 255^2 * max_dim: fits int32
    query_offset_.resize(queries.rows);
    for (std::size_t q = 0; q < queries.rows; ++q) query_offset_[q] = queries_.norm[q] - 256 * queries_.sum[q];
  }

  static key unbounded() noexcept { return std::numeric_limits<std::int32_t>::max(); }

  void products(std::size_t q0, std::size_t mq, std::size_t b0, std::size_t nb, std::int32_t* out) const {
    detail::int8_gemm(queries_.bytes.data() + q0 * dim_, dim_, base_s8() + b0 * dim_, dim_, mq, nb, dim_, out, nb);
  }
  void select(detail::topk_buffer_i32& b, const std::int32_t* row, std::size_t b0, std::size_t nb, std::size_t cap,
              std::int32_t* scratch) const noexcept {
    filter_(b, row, norm_.data() + b0, nb, std::int32_t(b0), kc_, cap, scratch);
  }

  // The candidates hold the exact top k unless a dropped one could tie the k-th key: every
  // dropped key is >= the largest kept key, so a k-th key strictly below it proves them.
  void finish(std::size_t q, const std::int32_t* keys, const std::int32_t* ids, std::size_t count,
              finish_scratch& s, std::int32_t* out_ids, float* out_dist) {
    std::vector<scored>& rows = s.scored_rows;
    rows.clear();
    std::int32_t worst_key = std::numeric_limits<std::int32_t>::min();
    for (std::size_t j = 0; j < count; ++j) {
      worst_key = std::max(worst_key, keys[j]);
      rows.push_back({distance(q, keys[j]), ids[j]});
    }
    const std::size_t keep = std::min(k_, n_);
    if (keep > 0 && count == kc_ && kc_ < n_) {
      std::nth_element(rows.begin(), rows.begin() + std::ptrdiff_t(keep - 1), rows.end());
      const double kth_key = rows[keep - 1].distance - double(query_offset_[q]);
      if (!(kth_key < double(worst_key))) rescan(q, kth_key, rows);
    }
    keep_best(rows, keep);
    write_row(rows, k_, out_ids, out_dist);
  }

  std::size_t rescans() const noexcept { return rescans_.load(); }

 private:
  // Exact squared distance from the key (integers far below 2^53: exact in double).
  double distance(std::size_t q, std::int32_t key) const noexcept { return double(query_offset_[q] + key); }

  // Every base row whose key is <= limit, scored exactly.
  void rescan(std::size_t q, double limit, std::vector<scored>& rows) {
    ++rescans_;
    rows.clear();
    const std::uint8_t* qv = queries_.bytes.data() + q * dim_;
    for (std::size_t j = 0; j < n_; ++j) {
      const std::int8_t* x = base_s8() + j * dim_;
      std::int32_t dot = 0;
      for (std::size_t d = 0; d < dim_; ++d) dot += std::int32_t(qv[d]) * std::int32_t(x[d]);
      const std::int32_t key = norm_[j] - 2 * dot;
      if (double(key) <= limit) rows.push_back({distance(q, key), std::int32_t(j)});
    }
  }

  const std::int8_t* base_s8() const noexcept { return reinterpret_cast<const std::int8_t*>(base_.bytes.data()); }

  std::size_t dim_, n_, k_, kc_;
  detail::byte_rows base_;              // v - origin - 128 as s8
  detail::byte_rows queries_;           // v - origin as u8
  std::vector<std::int32_t> norm_;      // ||x'||^2
  std::vector<std::int64_t> query_offset_;  // ||q'||^2 - 256 sum(q')
  void (*filter_)(detail::topk_buffer_i32&, const std::int32_t*, const std::int32_t*, std::size_t, std::int32_t,
                  std::size_t, std::size_t, std::int32_t*) noexcept;
  std::atomic<std::size_t> rescans_{0};
};

// ---- the pass driver, shared by both ---------------------------------------------------------

// Per-thread scratch of the first pass, kept between calls (TBB's workers live on).
template <class Pass>
struct pass_workspace {
  std::vector<typename Pass::product> products;  // mq * bb
  std::vector<typename Pass::key> keys;          // mq * cap
  std::vector<std::int32_t> ids;                 // mq * cap
  std::vector<typename Pass::key> sort;          // cap
  template <class T>
  static T* sized(std::vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
  static pass_workspace& local() {
    static thread_local pass_workspace w;
    return w;
  }
};

// Candidates of one chunk of queries: for each base slice s and query i of the chunk, at most
// kc (key, id) pairs at [(s * chunk + i) * kc] and their count.
template <class Key>
struct chunk_candidates {
  std::vector<Key> keys;
  std::vector<std::int32_t> ids;
  std::vector<std::uint32_t> count;
};

// First pass of query rows [q0, q0 + mq) against base rows [b_begin, b_end): products in
// blocks of bb base rows, each product row filtered into that query's buffer; the kept
// candidates go to out (slot stride kc).
template <class Pass>
void scan_task(const Pass& pass, std::size_t kc, std::size_t q0, std::size_t mq, std::size_t b_begin,
               std::size_t b_end, std::size_t bb, std::size_t cap, typename Pass::key* out_keys,
               std::int32_t* out_ids, std::uint32_t* out_count) {
  using ws = pass_workspace<Pass>;
  using key = typename Pass::key;
  ws& w = ws::local();
  auto* products = ws::sized(w.products, mq * bb);
  key* keys = ws::sized(w.keys, mq * cap);
  std::int32_t* ids = ws::sized(w.ids, mq * cap);
  key* sort = ws::sized(w.sort, cap);
  std::vector<detail::topk_buffer_of<key>> buffers(mq);
  for (std::size_t i = 0; i < mq; ++i) buffers[i] = {keys + i * cap, ids + i * cap, 0, Pass::unbounded()};
  for (std::size_t b0 = b_begin; b0 < b_end; b0 += bb) {
    const std::size_t nb = std::min(bb, b_end - b0);
    pass.products(q0, mq, b0, nb, products);
    for (std::size_t i = 0; i < mq; ++i) pass.select(buffers[i], products + i * nb, b0, nb, cap, sort);
  }
  for (std::size_t i = 0; i < mq; ++i) {
    auto& b = buffers[i];
    if (b.count > kc) detail::topk_reduce(b, kc, sort);
    std::copy_n(b.keys, b.count, out_keys + i * kc);
    std::copy_n(b.ids, b.count, out_ids + i * kc);
    out_count[i] = std::uint32_t(b.count);
  }
}

// Merges query q's candidates of all slices into the kc best, then Pass::finish.
template <class Pass>
void merge_and_finish(Pass& pass, std::size_t kc, std::size_t q, std::size_t slices, std::size_t chunk,
                      std::size_t i, const chunk_candidates<typename Pass::key>& c,
                      std::vector<typename Pass::key>& keys, std::vector<std::int32_t>& ids,
                      std::vector<typename Pass::key>& sort, typename Pass::finish_scratch& scratch,
                      std::int32_t* out_ids, float* out_dist) {
  keys.resize(slices * kc);
  ids.resize(slices * kc);
  sort.resize(slices * kc);
  std::size_t count = 0;
  for (std::size_t s = 0; s < slices; ++s) {
    const std::size_t slot = s * chunk + i, m = c.count[slot];
    std::copy_n(c.keys.data() + slot * kc, m, keys.data() + count);
    std::copy_n(c.ids.data() + slot * kc, m, ids.data() + count);
    count += m;
  }
  detail::topk_buffer_of<typename Pass::key> b{keys.data(), ids.data(), count, Pass::unbounded()};
  if (b.count > kc) detail::topk_reduce(b, kc, sort.data());
  pass.finish(q, b.keys, b.ids, b.count, scratch, out_ids, out_dist);
}

// Queries in chunks (bounding the candidates held at once); in a chunk, tasks of (query
// block, base slice), each one product per bb base rows and a threshold filter per product row.
// Base slices give every thread work when there are few queries; their candidates are merged
// per query before Pass::finish.
// Measured on 2 Zen 4 cores (bench_ground_truth): one task per thread did at least as well
// as two or four (fewer restarts of the filter threshold, fewer repacks of the base);
// the product block (up to 4 MB) need not stay in L2, the product dominates its write and read.
// parallel_tasks = false runs the tasks in turn (the product itself multi-threaded).
template <class Pass>
void run_passes(Pass& pass, std::size_t n, std::size_t nq, std::size_t k, std::size_t kc, bool parallel_tasks,
                knn_result& result) {
  const std::size_t threads = std::size_t(std::max(1, tbb::this_task_arena::max_concurrency()));
  using key = typename Pass::key;
  // Progress in queries finished (qtune/progress.hpp); any worker may report.
  std::atomic<std::uint64_t> queries_done{0};
  auto report_done = [&](std::size_t finished) {
    const std::uint64_t d = queries_done.fetch_add(finished) + finished;
    if (progress_enabled()) report_progress("ground truth", d, nq);
  };
  report_done(0);

  const std::size_t chunk_max = 4096;                    // queries whose candidates are held at once
  const std::size_t bq_max = 512, min_bq = 32;           // query rows per product
  const std::size_t task_target = threads;
  const std::size_t min_slice = 1024;                    // base rows per slice, at least
  const std::size_t product_values = std::size_t(1) << 20;
  // Filter buffer: room for kc kept plus at least as many new ones before a reduction, and 16
  // slots of slack for the vector stores.
  const std::size_t cap = 2 * kc + 48;
  chunk_candidates<key> cand;
  for (std::size_t c0 = 0; c0 < nq; c0 += chunk_max) {
    const std::size_t chunk = std::min(chunk_max, nq - c0);
    std::size_t qblocks = (chunk + bq_max - 1) / bq_max;
    qblocks = std::max(qblocks, std::min(task_target, chunk / min_bq));
    qblocks = std::max<std::size_t>(qblocks, 1);
    const std::size_t bq = (chunk + qblocks - 1) / qblocks;
    qblocks = (chunk + bq - 1) / bq;
    std::size_t slices = std::max<std::size_t>(1, (task_target + qblocks - 1) / qblocks);
    slices = std::max<std::size_t>(1, std::min(slices, n / min_slice));
    const std::size_t slice_rows = (n + slices - 1) / slices;
    const std::size_t bb = std::clamp<std::size_t>(product_values / bq, 64, 8192);
    cand.keys.resize(slices * chunk * kc);
    cand.ids.resize(slices * chunk * kc);
    cand.count.assign(slices * chunk, 0);
    auto run_task = [&](std::size_t t) {
      const std::size_t qb = t / slices, s = t % slices;
      const std::size_t q0 = qb * bq, mq = std::min(bq, chunk - q0);
      const std::size_t b_begin = s * slice_rows, b_end = std::min(n, b_begin + slice_rows);
      const std::size_t slot = s * chunk + q0;
      if (b_begin < b_end)
        scan_task(pass, kc, c0 + q0, mq, b_begin, b_end, bb, cap, cand.keys.data() + slot * kc,
                  cand.ids.data() + slot * kc, cand.count.data() + slot);
    };
    if (parallel_tasks) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, qblocks * slices, 1), [&](const auto& r) {
        for (std::size_t t = r.begin(); t < r.end(); ++t) run_task(t);
      });
    } else {
      for (std::size_t t = 0; t < qblocks * slices; ++t) run_task(t);
    }
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunk, 8), [&](const auto& r) {
      std::vector<key> keys, sort;
      std::vector<std::int32_t> ids;
      typename Pass::finish_scratch scratch;
      for (std::size_t i = r.begin(); i < r.end(); ++i)
        merge_and_finish(pass, kc, c0 + i, slices, chunk, i, cand, keys, ids, sort, scratch,
                         result.ids.data() + (c0 + i) * k, result.distances.data() + (c0 + i) * k);
      report_done(r.size());
    });
  }
  detail::last_exact_knn_stats().rescans = pass.rescans();
}

// The window origin of the byte pass when exact_knn takes it: l2, byte-valued data, a
// dimension whose keys fit int32, and an int8 GEMM proven exact at the active SIMD level.
std::optional<float> byte_pass_origin(matrix_view<float> base, matrix_view<float> queries, bool l2) {
  if (!l2 || base.dim > byte_pass::max_dim || active_simd_level() < simd_level::avx512 ||
      !detail::int8_gemm_is_exact())
    return std::nullopt;
  return detail::byte_window(base, queries);
}

}  // namespace

bool exact_knn_takes_byte_pass(matrix_view<float> base, matrix_view<float> queries, metric m) {
  return base.dim == queries.dim && byte_pass_origin(base, queries, compute_metric(m) == metric::l2).has_value();
}

knn_result exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k) {
  return detail::exact_knn_with(base, queries, m, k, detail::default_blas_mode, detail::byte_path::when_exact);
}

knn_result detail::exact_knn_with(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                                  blas_mode mode, byte_path bytes) {
  QTUNE_CHECK(k > 0, "exact_knn: k must be > 0, got 0");
  QTUNE_CHECK(base.dim == queries.dim, "exact_knn: base has dimension ", base.dim, " but queries have ",
              queries.dim);
  QTUNE_CHECK(base.rows == 0 || base.stride >= base.dim, "exact_knn: base stride ", base.stride,
              " < dimension ", base.dim);
  QTUNE_CHECK(queries.rows == 0 || queries.stride >= queries.dim, "exact_knn: query stride ", queries.stride,
              " < dimension ", queries.dim);
  QTUNE_CHECK(base.rows < std::size_t(std::numeric_limits<std::int32_t>::max()), "exact_knn: base has ",
              base.rows, " rows, more than int32 ids can address");
  QTUNE_CHECK(base.dim > 0 || base.rows == 0, "exact_knn: dimension must be > 0");
  ++g_exact_knn_calls;

  knn_result result;
  result.nq = queries.rows;
  result.k = k;
  result.ids.assign(queries.rows * k, -1);
  result.distances.assign(queries.rows * k, std::numeric_limits<float>::infinity());
  detail::last_exact_knn_stats() = {};
  if (queries.rows == 0 || base.rows == 0) return result;

  const bool l2 = compute_metric(m) == metric::l2;
  const std::size_t n = base.rows, nq = queries.rows;
  // A few spare candidates so near-ties at the k-th place are settled without a re-scan.
  const std::size_t kc = std::min(n, k + std::max<std::size_t>(8, k / 8));

  if (bytes == byte_path::when_exact) {
    if (const auto origin = byte_pass_origin(base, queries, l2)) {
      byte_pass pass(base, queries, *origin, k, kc);
      run_passes(pass, n, nq, k, kc, true, result);
      detail::last_exact_knn_stats().byte_path = true;
      ++g_exact_knn_byte_passes;
      return result;
    }
  }
  float_pass pass(base, queries, l2, k, kc);
  const std::size_t threads = std::size_t(std::max(1, tbb::this_task_arena::max_concurrency()));
  scoped_blas_threads blas(mode == detail::blas_mode::tbb_tasks ? 1 : int(threads));
  run_passes(pass, n, nq, k, kc, mode == detail::blas_mode::tbb_tasks, result);
  return result;
}

}  // namespace qtune
