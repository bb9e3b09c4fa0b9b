// Exact k-NN by blocked sgemm + bounded heaps, re-scored in float64 (see ground_truth.hpp).
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cblas.h>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include "qtune/progress.hpp"
#include <oneapi/tbb/task_arena.h>

#include "ground_truth/exact_detail.hpp"
#include "ground_truth/exact_select.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/simd.hpp"

namespace qtune {

namespace {

std::atomic<std::uint64_t> g_exact_knn_calls{0};

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


void topk_reduce(topk_buffer& b, std::size_t kc, float* scratch) noexcept {
  if (b.count < kc) return;
  // The kc-th smallest key t becomes the threshold; kept: every key below t and keys equal to t
  // up to kc in all. Which of several keys equal to t stay does not matter: finish_query only
  // needs every dropped candidate to have key >= t.
  std::copy_n(b.keys, b.count, scratch);
  std::nth_element(scratch, scratch + (kc - 1), scratch + b.count);
  const float t = scratch[kc - 1];
  std::size_t ties = kc;
  for (std::size_t i = 0; i < kc; ++i) ties -= scratch[i] < t;  // slots left for keys equal to t
  std::size_t kept = 0;
  for (std::size_t i = 0; i < b.count; ++i) {
    const float key = b.keys[i];
    const bool tie = key == t && ties > 0;
    ties -= tie;
    b.keys[kept] = key;
    b.ids[kept] = b.ids[i];
    kept += (key < t) | tie;
  }
  b.count = kept;
  b.threshold = t;
}

void topk_filter_scalar(topk_buffer& b, const float* scores, const float* offset, std::size_t nb, std::int32_t id0,
                        std::size_t kc, std::size_t cap, float* scratch) noexcept {
  float thr = b.threshold;
  for (std::size_t j = 0; j < nb; ++j) {
    const float key = offset ? scores[j] + offset[j] : scores[j];
    if (key < thr) {
      b.keys[b.count] = key;
      b.ids[b.count] = id0 + std::int32_t(j);
      if (++b.count == cap) {
        topk_reduce(b, kc, scratch);
        thr = b.threshold;
      }
    }
  }
}


exact_knn_stats& last_exact_knn_stats() noexcept {
  static exact_knn_stats s;
  return s;
}

}  // namespace detail

std::uint64_t exact_knn_call_count() noexcept { return g_exact_knn_calls.load(); }

namespace {

struct knn_job {
  matrix_view<float> base;
  matrix_view<float> queries;
  bool l2 = true;
  std::size_t k = 0;
  std::size_t kc = 0;  // candidates kept per query in the float32 pass
  std::vector<float> base_key_offset;   // l2: ||x||^2 (float); ip: 0
  std::vector<double> query_norm;       // ||q|| (float64)
  double max_base_norm = 0;             // max ||x|| (float64)
  std::atomic<std::size_t> rescans{0};
  detail::f64_kernels f64{};

  double distance(const float* q, const float* x) const noexcept {
    return l2 ? f64.l2(q, x, queries.dim) : 1.0 - f64.ip(q, x, queries.dim);
  }
  // distance() of q to base rows ids[0..count), four rows per kernel call.
  void distances(const float* q, const std::int32_t* ids, std::size_t count, double* out) const noexcept {
    std::size_t j = 0;
    for (; j + 4 <= count; j += 4) {
      const float* rows[4] = {base.row(std::size_t(ids[j])), base.row(std::size_t(ids[j + 1])),
                              base.row(std::size_t(ids[j + 2])), base.row(std::size_t(ids[j + 3]))};
      if (l2) {
        f64.l2_x4(q, rows, queries.dim, out + j);
      } else {
        f64.ip_x4(q, rows, queries.dim, out + j);
        for (int r = 0; r < 4; ++r) out[j + r] = 1.0 - out[j + r];
      }
    }
    for (; j < count; ++j) out[j] = distance(q, base.row(std::size_t(ids[j])));
  }
};

// Rigorous bound on |key_f32 - key_exact| for one query (Higham's gamma_n for the dot product,
// plus the roundings of ||x||^2 and of the final addition).
double key_tolerance(const knn_job& job, std::size_t q) {
  const double d = double(job.queries.dim) + 4.0;
  const double qn = job.query_norm[q];
  const double m = job.max_base_norm;
  const double t = job.l2 ? d * unit_roundoff_f32 * (2.0 * qn * m + 2.0 * m * m + qn * qn)
                          : d * unit_roundoff_f32 * qn * m;
  return 1.1 * t + 1e-30;
}

struct scored {
  double distance;
  std::int32_t id;
  bool operator<(const scored& o) const noexcept {
    return distance < o.distance || (distance == o.distance && id < o.id);
  }
};

// Re-scores the float32 candidates of query q (count of them, at most kc) in float64, proves
// (or, failing that, enforces by a full re-scan) that they contain the exact top k, and writes
// the sorted row.
void finish_query(knn_job& job, std::size_t q, const float* keys, const std::int32_t* ids, std::size_t count,
                  std::vector<scored>& scratch, std::vector<double>& dist, std::vector<float>& scan_buf,
                  std::int32_t* out_ids, float* out_dist) {
  const std::size_t dim = job.queries.dim;
  const float* qv = job.queries.row(q);
  dist.resize(count);
  job.distances(qv, ids, count, dist.data());
  scratch.clear();
  float worst_key = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < count; ++j) {
    worst_key = std::max(worst_key, keys[j]);
    scratch.push_back({dist[j], ids[j]});
  }
  const std::size_t n = job.base.rows;
  const std::size_t keep = std::min(job.k, n);
  if (keep > 0 && scratch.size() == job.kc && job.kc < n) {
    std::nth_element(scratch.begin(), scratch.begin() + std::ptrdiff_t(keep - 1), scratch.end());
    const double kth = scratch[keep - 1].distance;
    const double qn2 = job.query_norm[q] * job.query_norm[q];
    const double kth_key = job.l2 ? kth - qn2 : kth - 1.0;
    const double tol = key_tolerance(job, q);
    const double slack = 1e-12 * (std::abs(kth_key) + qn2 + job.max_base_norm * job.max_base_norm);
    if (!(double(worst_key) - tol > kth_key + slack)) {
      // A dropped candidate might tie or beat the k-th: re-scan every base vector, keeping
      // all whose float32 key is within the bound of the exact k-th key.
      ++job.rescans;
      scan_buf.resize(n);
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(dim), job.l2 ? -2.0f : -1.0f, job.base.data,
                  int(job.base.stride), qv, 1, 0.0f, scan_buf.data(), 1);
      const double limit = kth_key + tol + slack;
      scratch.clear();
      for (std::size_t j = 0; j < n; ++j) {
        const double key = double(scan_buf[j]) + double(job.base_key_offset[j]);
        if (key <= limit)
          scratch.push_back({job.distance(qv, job.base.row(j)), std::int32_t(j)});
      }
    }
  }
  const std::size_t take = std::min(keep, scratch.size());
  std::partial_sort(scratch.begin(), scratch.begin() + std::ptrdiff_t(take), scratch.end());
  for (std::size_t j = 0; j < job.k; ++j) {
    if (j < take) {
      out_ids[j] = scratch[j].id;
      out_dist[j] = float(scratch[j].distance);
    } else {
      out_ids[j] = -1;
      out_dist[j] = std::numeric_limits<float>::infinity();
    }
  }
}

using filter_fn = void (*)(detail::topk_buffer&, const float*, const float*, std::size_t, std::int32_t, std::size_t,
                           std::size_t, float*) noexcept;

// Per-thread scratch of the float32 pass, kept between calls (TBB's workers live on).
struct pass_workspace {
  std::vector<float> products;     // mq * bb
  std::vector<float> keys;         // mq * cap
  std::vector<std::int32_t> ids;   // mq * cap
  std::vector<float> sort;         // cap
  template <class T>
  static T* sized(std::vector<T>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};
pass_workspace& local_workspace() {
  static thread_local pass_workspace w;
  return w;
}

// Candidates of one chunk of queries: for each base slice s and query i of the chunk, at most
// kc (key, id) pairs at [(s * chunk + i) * kc] and their count.
struct chunk_candidates {
  std::vector<float> keys;
  std::vector<std::int32_t> ids;
  std::vector<std::uint32_t> count;
};

// Float32 pass of query rows [q0, q0 + mq) against base rows [b_begin, b_end): sgemm in blocks
// of bb base rows, each product row filtered into that query's buffer; the kept candidates go
// to out (slot stride kc).
void scan_task(const knn_job& job, filter_fn filter, std::size_t q0, std::size_t mq, std::size_t b_begin,
               std::size_t b_end, std::size_t bb, std::size_t cap, float* out_keys, std::int32_t* out_ids,
               std::uint32_t* out_count) {
  const std::size_t dim = job.queries.dim, kc = job.kc;
  pass_workspace& w = local_workspace();
  float* products = pass_workspace::sized(w.products, mq * bb);
  float* keys = pass_workspace::sized(w.keys, mq * cap);
  std::int32_t* ids = pass_workspace::sized(w.ids, mq * cap);
  float* sort = pass_workspace::sized(w.sort, cap);
  std::vector<detail::topk_buffer> buffers(mq);
  for (std::size_t i = 0; i < mq; ++i)
    buffers[i] = {keys + i * cap, ids + i * cap, 0, std::numeric_limits<float>::infinity()};
  const float* offset = job.l2 ? job.base_key_offset.data() : nullptr;
  for (std::size_t b0 = b_begin; b0 < b_end; b0 += bb) {
    const std::size_t nb = std::min(bb, b_end - b0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mq), int(nb), int(dim), job.l2 ? -2.0f : -1.0f,
                job.queries.row(q0), int(job.queries.stride), job.base.row(b0), int(job.base.stride), 0.0f, products,
                int(nb));
    for (std::size_t i = 0; i < mq; ++i)
      filter(buffers[i], products + i * nb, offset ? offset + b0 : nullptr, nb, std::int32_t(b0), kc, cap, sort);
  }
  for (std::size_t i = 0; i < mq; ++i) {
    detail::topk_buffer& b = buffers[i];
    if (b.count > kc) detail::topk_reduce(b, kc, sort);
    std::copy_n(b.keys, b.count, out_keys + i * kc);
    std::copy_n(b.ids, b.count, out_ids + i * kc);
    out_count[i] = std::uint32_t(b.count);
  }
}

// Merges query q's candidates of all slices into the kc best, then finish_query.
void merge_and_finish(knn_job& job, std::size_t q, std::size_t slices, std::size_t chunk, std::size_t i,
                      const chunk_candidates& c, std::vector<float>& keys, std::vector<std::int32_t>& ids,
                      std::vector<float>& sort, std::vector<scored>& scratch, std::vector<double>& dist,
                      std::vector<float>& scan_buf, std::int32_t* out_ids, float* out_dist) {
  const std::size_t kc = job.kc;
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
  detail::topk_buffer b{keys.data(), ids.data(), count, std::numeric_limits<float>::infinity()};
  if (b.count > kc) detail::topk_reduce(b, kc, sort.data());
  finish_query(job, q, b.keys, b.ids, b.count, scratch, dist, scan_buf, out_ids, out_dist);
}

}  // namespace

knn_result exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k) {
  return detail::exact_knn_with(base, queries, m, k, detail::default_blas_mode);
}

knn_result detail::exact_knn_with(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                                  blas_mode mode) {
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
  if (queries.rows == 0 || base.rows == 0) return result;

  knn_job job;
  job.base = base;
  job.queries = queries;
  job.l2 = compute_metric(m) == metric::l2;
  job.k = k;
  job.f64 = detail::f64_kernels_active();
  const std::size_t n = base.rows;
  const std::size_t nq = queries.rows;
  const std::size_t dim = base.dim;
  // A few spare candidates so near-ties at the k-th place are settled by the float64 pass
  // rather than by a re-scan.
  job.kc = std::min(n, k + std::max<std::size_t>(8, k / 8));
  const std::size_t kc = job.kc;
  // Filter buffer: room for kc kept plus at least as many new ones before a reduction, and 16
  // slots of slack for the vector stores.
  const std::size_t cap = 2 * kc + 48;
  const filter_fn filter =
      active_simd_level() >= simd_level::avx512 ? &detail::topk_filter_avx512 : &detail::topk_filter_scalar;

  job.base_key_offset.resize(n);
  std::vector<double> base_norm2(n);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 1024), [&](const auto& r) {
    for (std::size_t j = r.begin(); j < r.end(); ++j) {
      const double s = job.f64.ip(base.row(j), base.row(j), dim);
      base_norm2[j] = s;
      job.base_key_offset[j] = job.l2 ? float(s) : 0.0f;
    }
  });
  job.max_base_norm = std::sqrt(*std::max_element(base_norm2.begin(), base_norm2.end()));
  job.query_norm.resize(nq);
  for (std::size_t q = 0; q < nq; ++q) job.query_norm[q] = std::sqrt(detail::ip_f64(queries.row(q), queries.row(q), dim));

  const std::size_t threads = std::size_t(std::max(1, tbb::this_task_arena::max_concurrency()));

  // Progress in queries finished (qtune/progress.hpp); any worker may report.
  std::atomic<std::uint64_t> queries_done{0};
  auto report_done = [&](std::size_t finished) {
    const std::uint64_t d = queries_done.fetch_add(finished) + finished;
    if (progress_enabled()) report_progress("ground truth", d, nq);
  };
  report_done(0);

  // Queries in chunks (bounding the candidates held at once); in a chunk, tasks of (query
  // block, base slice), each one sgemm per bb base rows and a threshold filter per product row.
  // Base slices give every thread work when there are few queries; their candidates are merged
  // per query before the float64 pass.
  // Measured on 2 Zen 4 cores (bench_ground_truth): one task per thread did at least as well
  // as two or four (fewer restarts of the filter threshold, fewer repacks of the base);
  // the product block (up to 4 MB) need not stay in L2, sgemm dominates its write and read.
  const std::size_t chunk_max = 4096;                    // queries whose candidates are held at once
  const std::size_t bq_max = 512, min_bq = 32;           // query rows per sgemm
  const std::size_t task_target = threads;
  const std::size_t min_slice = 1024;                    // base rows per slice, at least
  const std::size_t product_floats = std::size_t(1) << 20;
  chunk_candidates cand;
  scoped_blas_threads one_blas_thread(mode == detail::blas_mode::tbb_tasks ? 1 : int(threads));
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
    const std::size_t bb = std::clamp<std::size_t>(product_floats / bq, 64, 8192);
    cand.keys.resize(slices * chunk * kc);
    cand.ids.resize(slices * chunk * kc);
    cand.count.assign(slices * chunk, 0);
    auto run_task = [&](std::size_t t) {
      const std::size_t qb = t / slices, s = t % slices;
      const std::size_t q0 = qb * bq, mq = std::min(bq, chunk - q0);
      const std::size_t b_begin = s * slice_rows, b_end = std::min(n, b_begin + slice_rows);
      const std::size_t slot = s * chunk + q0;
      if (b_begin < b_end)
        scan_task(job, filter, c0 + q0, mq, b_begin, b_end, bb, cap, cand.keys.data() + slot * kc,
                  cand.ids.data() + slot * kc, cand.count.data() + slot);
    };
    if (mode == detail::blas_mode::tbb_tasks) {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, qblocks * slices, 1), [&](const auto& r) {
        for (std::size_t t = r.begin(); t < r.end(); ++t) run_task(t);
      });
    } else {
      // BLAS owns the cores for each product; the selection runs on the calling thread.
      for (std::size_t t = 0; t < qblocks * slices; ++t) run_task(t);
    }
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, chunk, 8), [&](const auto& r) {
      std::vector<float> keys;
      std::vector<std::int32_t> ids;
      std::vector<float> sort;
      std::vector<scored> scratch;
      std::vector<double> dist;
      std::vector<float> scan_buf;
      for (std::size_t i = r.begin(); i < r.end(); ++i)
        merge_and_finish(job, c0 + i, slices, chunk, i, cand, keys, ids, sort, scratch, dist, scan_buf,
                         result.ids.data() + (c0 + i) * k, result.distances.data() + (c0 + i) * k);
      report_done(r.size());
    });
  }
  detail::last_exact_knn_stats().rescans = job.rescans.load();
  return result;
}

}  // namespace qtune
