#pragma once
// Internals of exact_knn shared with the tests and benchmarks (not installed; private to
// src/ground_truth: other folders use exact_f64.hpp or qtune/ground_truth.hpp).
#include <cstddef>
#include <cstdint>

#include "ground_truth/exact_f64.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/metric.hpp"

namespace qtune::detail {

/// Who parallelises the float32 pass (kept selectable so bench_ground_truth can compare):
///  tbb_tasks:    TBB tasks over (query block, base slice), each running single-threaded sgemms
///                and the threshold filter;
///  blas_threads: the same tasks one after another, each sgemm multi-threaded by OpenBLAS.
/// Both then merge the slices' candidates and re-score them in float64 with TBB.
enum class blas_mode { tbb_tasks, blas_threads };
/// The mode exact_knn uses: faster in bench_ground_truth (2 cores) before the threshold filter;
/// since then the two are within noise of each other on the 784-d sets.
inline constexpr blas_mode default_blas_mode = blas_mode::tbb_tasks;
/// Whether byte-valued l2 data take the exact int8 GEMM pass (exact_bytes.hpp; blas_mode does
/// not apply to it): when_exact = where the data and the machine allow it (exact_knn's choice),
/// never = always the float32 pass (tests and benchmarks compare the two).
enum class byte_path { when_exact, never };
knn_result exact_knn_with(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                          blas_mode mode, byte_path bytes = byte_path::when_exact);

/// Counters of the last exact_knn call (written at its end; not synchronised between callers).
struct exact_knn_stats {
  std::size_t rescans = 0;  ///< queries whose first-pass candidates could not be proven complete
  bool byte_path = false;   ///< the int8 GEMM pass ran (exact_bytes.hpp)
};
exact_knn_stats& last_exact_knn_stats() noexcept;

}  // namespace qtune::detail
