#pragma once
// Internals of exact_knn shared with the cache, the CLI and the tests (not installed).
#include <cstddef>
#include <cstdint>

#include "qtune/ground_truth.hpp"
#include "qtune/metric.hpp"

namespace qtune::detail {

/// sum (x_i - y_i)^2 and sum x_i * y_i accumulated in float64. x, y: dim floats.
double l2_f64(const float* x, const float* y, std::size_t dim) noexcept;
double ip_f64(const float* x, const float* y, std::size_t dim) noexcept;
/// The same with AVX2 + FMA (exact_f64_avx2.cpp); callers check the CPU first.
double l2_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept;
double ip_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept;
/// Dispatching versions: AVX2 when active_simd_level() allows it, else the scalar ones above.
/// Read the level once per exact_knn call (f64_kernels_for), not per vector.
struct f64_kernels {
  double (*l2)(const float*, const float*, std::size_t) noexcept;
  double (*ip)(const float*, const float*, std::size_t) noexcept;
};
f64_kernels f64_kernels_active() noexcept;

/// Who parallelises the float32 pass (kept selectable so bench_ground_truth can compare):
///  tbb_tasks:    TBB tasks over query blocks, each running a single-threaded sgemm;
///  blas_threads: one multi-threaded sgemm per (query block, base block), TBB for selection.
enum class blas_mode { tbb_tasks, blas_threads };
/// The mode exact_knn uses: faster in bench_ground_truth on fmnist10k and glove50-10k (1000
/// queries, 2 cores); on sift10k (100 queries) the two traded places between runs.
inline constexpr blas_mode default_blas_mode = blas_mode::tbb_tasks;
knn_result exact_knn_with(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                          blas_mode mode);

/// Counters of the last exact_knn call (written at its end; not synchronised between callers).
struct exact_knn_stats {
  std::size_t rescans = 0;  ///< queries whose float32 candidates could not be proven complete
};
exact_knn_stats& last_exact_knn_stats() noexcept;

}  // namespace qtune::detail
