// Byte-valued data in exact_knn (exact_bytes.hpp): the window test, the shifted copies and the
// int8 GEMM through oneDNN.
#include "ground_truth/exact_bytes.hpp"

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_reduce.h>

#include "ground_truth/exact_bytes_rows.hpp"
#include "qtune/error.hpp"
#include "qtune/simd.hpp"

namespace qtune::detail {

namespace {

// oneDNN (Debian's build) threads with OpenMP and sizes its team by omp_get_max_threads() of
// the calling thread; inside TBB tasks that must be one, or the two pools fight over the cores.
// The setting is per thread in libgomp, and restored after the call.
class scoped_omp_threads {
 public:
  explicit scoped_omp_threads(int n) : previous_(omp_get_max_threads()) {
    if (previous_ != n) omp_set_num_threads(n);
  }
  ~scoped_omp_threads() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  scoped_omp_threads(const scoped_omp_threads&) = delete;
  scoped_omp_threads& operator=(const scoped_omp_threads&) = delete;

 private:
  int previous_;
};

bool check_exact(std::size_t m, std::size_t n, std::size_t k) {
  // Every a is 255; b rows alternate 127 and -128: each product sum is +-255 * 127 * k or
  // -255 * 128 * k, past int16 after two terms.
  std::vector<std::uint8_t> a(m * k, 255);
  std::vector<std::int8_t> b(n * k);
  for (std::size_t j = 0; j < n; ++j) std::fill_n(b.begin() + std::ptrdiff_t(j * k), k, j % 2 ? -128 : 127);
  std::vector<std::int32_t> c(m * n);
  int8_gemm(a.data(), k, b.data(), k, m, n, k, c.data(), n);
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j)
      if (c[i * n + j] != std::int32_t(k) * 255 * (j % 2 ? -128 : 127)) return false;
  return true;
}

// The row kernels at the active SIMD level (exact_bytes_rows.hpp).
struct row_kernels {
  void (*window)(const float*, std::size_t, window_stats&) noexcept;
  byte_row_sums (*bytes)(const float*, std::size_t, float, int, std::uint8_t*) noexcept;
};
row_kernels row_kernels_active() {
  if (active_simd_level() >= simd_level::avx512) return {&window_row_avx512, &bytes_row_avx512};
  return {&window_row, &bytes_row};
}

window_stats scan(matrix_view<float> x, const row_kernels& kernels) {
  const window_stats empty{std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(), true};
  return tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, x.rows, 256), empty,
      [&](const tbb::blocked_range<std::size_t>& r, window_stats w) {
        for (std::size_t i = r.begin(); i < r.end() && w.integers; ++i) kernels.window(x.row(i), x.dim, w);
        return w;
      },
      [](window_stats a, const window_stats& b) {
        return window_stats{std::min(a.lo, b.lo), std::max(a.hi, b.hi), a.integers && b.integers};
      });
}

}  // namespace

void int8_gemm(const std::uint8_t* a, std::size_t lda, const std::int8_t* b, std::size_t ldb, std::size_t m,
               std::size_t n, std::size_t k, std::int32_t* c, std::size_t ldc) {
  scoped_omp_threads one(1);
  const std::int32_t no_offset = 0;
  const dnnl_status_t s =
      dnnl_gemm_u8s8s32('N', 'T', 'F', dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1.0f, a, dnnl_dim_t(lda), 0, b,
                        dnnl_dim_t(ldb), 0, 0.0f, c, dnnl_dim_t(ldc), &no_offset);
  QTUNE_CHECK(s == dnnl_success, "exact_knn: oneDNN's int8 GEMM failed (status ", int(s), ") for ", m, "x", n, "x", k);
}

bool int8_gemm_is_exact() {
  static const bool exact = [] {
    try {
      return check_exact(1, 1, 3) && check_exact(1, 37, 260) && check_exact(9, 1, 260) && check_exact(9, 37, 260);
    } catch (const std::exception&) {
      return false;
    }
  }();
  return exact;
}

std::optional<float> byte_window(matrix_view<float> base, matrix_view<float> queries) {
  if (base.rows == 0 || queries.rows == 0 || base.dim == 0) return std::nullopt;
  const row_kernels kernels = row_kernels_active();
  const window_stats b = scan(base, kernels);
  if (!b.integers) return std::nullopt;
  const window_stats q = scan(queries, kernels);
  if (!q.integers) return std::nullopt;
  const float lo = std::min(b.lo, q.lo), hi = std::max(b.hi, q.hi);
  if (!(hi - lo <= 255.0f)) return std::nullopt;
  return lo;
}

byte_rows to_bytes(matrix_view<float> x, float c, int bias) {
  const row_kernels kernels = row_kernels_active();
  byte_rows out;
  out.bytes.resize(x.rows * x.dim);
  out.norm.resize(x.rows);
  out.sum.resize(x.rows);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, x.rows, 256), [&](const auto& r) {
    for (std::size_t i = r.begin(); i < r.end(); ++i) {
      const byte_row_sums s = kernels.bytes(x.row(i), x.dim, c, bias, out.bytes.data() + i * x.dim);
      out.norm[i] = s.norm;
      out.sum[i] = s.sum;
    }
  });
  return out;
}

void window_row(const float* v, std::size_t dim, window_stats& w) noexcept {
  for (std::size_t d = 0; d < dim; ++d) {
    // |v| < 2^24 first: beyond it the int conversion is undefined (and NaN fails it too).
    const bool in_range = std::abs(v[d]) < 16777216.0f;
    w.integers = w.integers && in_range && float(std::int32_t(v[d])) == v[d];
    w.lo = std::min(w.lo, v[d]);
    w.hi = std::max(w.hi, v[d]);
  }
}

byte_row_sums bytes_row(const float* v, std::size_t dim, float c, int bias, std::uint8_t* out) noexcept {
  byte_row_sums s{0, 0};
  for (std::size_t d = 0; d < dim; ++d) {
    const std::int32_t u = std::int32_t(v[d] - c);
    s.norm += std::int64_t(u) * u;
    s.sum += u;
    out[d] = std::uint8_t(u - bias);
  }
  return s;
}

}  // namespace qtune::detail
