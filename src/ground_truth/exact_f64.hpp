#pragma once
// Exact distances in float64, the ground truth's own kernels: what other folders (the sweep's
// exact re-ranking checks) use to agree with exact_knn to the last bit. Not installed.
#include <cstddef>

namespace qtune::detail {

/// sum (x_i - y_i)^2 and sum x_i * y_i accumulated in float64. x, y: dim floats.
double l2_f64(const float* x, const float* y, std::size_t dim) noexcept;
double ip_f64(const float* x, const float* y, std::size_t dim) noexcept;
/// The same with AVX2 + FMA (exact_f64_avx2.cpp); callers check the CPU first.
double l2_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept;
double ip_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept;
/// Four rows at once: out[r] is bit-identical to the one-row kernel of the same level on
/// (x, y[r]); the rows' chains are interleaved (exact_knn's re-scoring, base norms).
void l2_f64_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept;
void ip_f64_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept;
void l2_f64_avx2_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept;
void ip_f64_avx2_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept;
/// Dispatching versions: AVX2 when active_simd_level() allows it, else the scalar ones above.
/// Read the level once per exact_knn call (f64_kernels_for), not per vector.
struct f64_kernels {
  double (*l2)(const float*, const float*, std::size_t) noexcept;
  double (*ip)(const float*, const float*, std::size_t) noexcept;
  void (*l2_x4)(const float*, const float* const*, std::size_t, double*) noexcept;
  void (*ip_x4)(const float*, const float* const*, std::size_t, double*) noexcept;
};
f64_kernels f64_kernels_active() noexcept;

}  // namespace qtune::detail
