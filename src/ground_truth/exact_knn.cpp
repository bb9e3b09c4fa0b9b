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

// Max-heap on (key, id): the worst kept candidate sits at index 0.
struct candidate_heap {
  float* keys;
  std::int32_t* ids;
  std::size_t size;

  void reset() noexcept {
    std::fill(keys, keys + size, std::numeric_limits<float>::infinity());
    std::fill(ids, ids + size, -1);
  }
  static bool worse(float ka, std::int32_t ia, float kb, std::int32_t ib) noexcept {
    return ka > kb || (ka == kb && ia > ib);
  }
  // Replaces the top with (key, id) and restores the heap order (FAISS heap_replace_top).
  void replace_top(float key, std::int32_t id) noexcept {
    std::size_t i = 0;
    for (;;) {
      std::size_t l = 2 * i + 1;
      if (l >= size) break;
      std::size_t r = l + 1;
      std::size_t c = l;
      if (r < size && worse(keys[r], ids[r], keys[l], ids[l])) c = r;
      if (!worse(keys[c], ids[c], key, id)) break;
      keys[i] = keys[c];
      ids[i] = ids[c];
      i = c;
    }
    keys[i] = key;
    ids[i] = id;
  }
};

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

f64_kernels f64_kernels_active() noexcept {
  if (active_simd_level() >= simd_level::avx2) return {&l2_f64_avx2, &ip_f64_avx2};
  return {&l2_f64, &ip_f64};
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

// Re-scores the float32 candidates of query q in float64, proves (or, failing that, enforces
// by a full re-scan) that they contain the exact top k, and writes the sorted row.
void finish_query(knn_job& job, std::size_t q, const float* keys, const std::int32_t* ids,
                  std::vector<scored>& scratch, std::vector<float>& scan_buf, std::int32_t* out_ids,
                  float* out_dist) {
  const std::size_t dim = job.queries.dim;
  const float* qv = job.queries.row(q);
  scratch.clear();
  float worst_key = -std::numeric_limits<float>::infinity();
  for (std::size_t j = 0; j < job.kc; ++j) {
    if (ids[j] < 0) continue;
    worst_key = std::max(worst_key, keys[j]);
    scratch.push_back({job.distance(qv, job.base.row(std::size_t(ids[j]))), ids[j]});
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

// Float32 pass for query rows [q0, q0 + mq): sgemm against base blocks, heap selection.
// keys/ids: mq * kc (heaps), buf: mq * bb.
void scan_block(const knn_job& job, std::size_t q0, std::size_t mq, std::size_t bb, float* buf, float* keys,
                std::int32_t* ids) {
  const std::size_t n = job.base.rows;
  const std::size_t dim = job.queries.dim;
  for (std::size_t i = 0; i < mq; ++i) candidate_heap{keys + i * job.kc, ids + i * job.kc, job.kc}.reset();
  for (std::size_t b0 = 0; b0 < n; b0 += bb) {
    const std::size_t nb = std::min(bb, n - b0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mq), int(nb), int(dim), job.l2 ? -2.0f : -1.0f,
                job.queries.row(q0), int(job.queries.stride), job.base.row(b0), int(job.base.stride), 0.0f, buf,
                int(bb));
    const float* off = job.base_key_offset.data() + b0;
    for (std::size_t i = 0; i < mq; ++i) {
      float* row = buf + i * bb;
      for (std::size_t j = 0; j < nb; ++j) row[j] += off[j];
      candidate_heap heap{keys + i * job.kc, ids + i * job.kc, job.kc};
      float thr = heap.keys[0];
      for (std::size_t j = 0; j < nb; ++j) {
        if (row[j] < thr) {
          heap.replace_top(row[j], std::int32_t(b0 + j));
          thr = heap.keys[0];
        }
      }
    }
  }
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

  const int threads = std::max(1, tbb::this_task_arena::max_concurrency());
  // Query blocks small enough that every thread gets several; base blocks sized so one block
  // of products (mq * bb floats) stays in L2.
  const std::size_t bq = std::clamp<std::size_t>((nq + 4 * threads - 1) / (4 * threads), 8, 256);
  const std::size_t bb = std::clamp<std::size_t>((std::size_t(1) << 19) / (bq * sizeof(float)), 256, 4096);
  const std::size_t nblocks = (nq + bq - 1) / bq;

  // Progress in queries finished (qtune/progress.hpp); any worker may report.
  std::atomic<std::uint64_t> queries_done{0};
  auto report_done = [&](std::size_t finished) {
    const std::uint64_t d = queries_done.fetch_add(finished) + finished;
    if (progress_enabled()) report_progress("ground truth", d, nq);
  };
  report_done(0);
  if (mode == detail::blas_mode::tbb_tasks) {
    scoped_blas_threads one_blas_thread(1);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, nblocks, 1), [&](const auto& r) {
      std::vector<float> buf(bq * bb);
      std::vector<float> keys(bq * job.kc);
      std::vector<std::int32_t> ids(bq * job.kc);
      std::vector<scored> scratch;
      std::vector<float> scan_buf;
      for (std::size_t blk = r.begin(); blk < r.end(); ++blk) {
        const std::size_t q0 = blk * bq;
        const std::size_t mq = std::min(bq, nq - q0);
        scan_block(job, q0, mq, bb, buf.data(), keys.data(), ids.data());
        for (std::size_t i = 0; i < mq; ++i)
          finish_query(job, q0 + i, keys.data() + i * job.kc, ids.data() + i * job.kc, scratch, scan_buf,
                       result.ids.data() + (q0 + i) * k, result.distances.data() + (q0 + i) * k);
        report_done(mq);
      }
    });
  } else {
    // BLAS owns the cores for each (large) product; TBB runs the selection between products.
    const std::size_t bq2 = std::min<std::size_t>(nq, 1024), bb2 = 1024;
    std::vector<float> buf(bq2 * bb2);
    std::vector<float> keys(bq2 * job.kc);
    std::vector<std::int32_t> ids(bq2 * job.kc);
    for (std::size_t q0 = 0; q0 < nq; q0 += bq2) {
      const std::size_t mq = std::min(bq2, nq - q0);
      for (std::size_t i = 0; i < mq; ++i) candidate_heap{keys.data() + i * job.kc, ids.data() + i * job.kc, job.kc}.reset();
      for (std::size_t b0 = 0; b0 < n; b0 += bb2) {
        const std::size_t nb = std::min(bb2, n - b0);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(mq), int(nb), int(dim), job.l2 ? -2.0f : -1.0f,
                    queries.row(q0), int(queries.stride), base.row(b0), int(base.stride), 0.0f, buf.data(), int(bb2));
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, mq, 16), [&](const auto& r) {
          const float* off = job.base_key_offset.data() + b0;
          for (std::size_t i = r.begin(); i < r.end(); ++i) {
            float* row = buf.data() + i * bb2;
            for (std::size_t j = 0; j < nb; ++j) row[j] += off[j];
            candidate_heap heap{keys.data() + i * job.kc, ids.data() + i * job.kc, job.kc};
            float thr = heap.keys[0];
            for (std::size_t j = 0; j < nb; ++j)
              if (row[j] < thr) {
                heap.replace_top(row[j], std::int32_t(b0 + j));
                thr = heap.keys[0];
              }
          }
        });
      }
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, mq, 8), [&](const auto& r) {
        std::vector<scored> scratch;
        std::vector<float> scan_buf;
        for (std::size_t i = r.begin(); i < r.end(); ++i)
          finish_query(job, q0 + i, keys.data() + i * job.kc, ids.data() + i * job.kc, scratch, scan_buf,
                       result.ids.data() + (q0 + i) * k, result.distances.data() + (q0 + i) * k);
      });
      report_done(mq);
    }
  }
  detail::last_exact_knn_stats().rescans = job.rescans.load();
  return result;
}

}  // namespace qtune
