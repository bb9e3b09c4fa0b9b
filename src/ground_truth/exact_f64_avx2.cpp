// float64 re-scoring kernels for exact_knn, AVX2 + FMA (compiled with per-file flags).
// Includes only <immintrin.h> and <cstddef> so no inline STL code is built with AVX flags.
#include <immintrin.h>

#include <cstddef>

namespace qtune::detail {

namespace {
inline double hsum(__m256d v) noexcept {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}
}  // namespace

double l2_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), _mm256_cvtps_pd(_mm_loadu_ps(y + i)));
    const __m256d d1 =
        _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(y + i + 4)));
    a0 = _mm256_fmadd_pd(d0, d0, a0);
    a1 = _mm256_fmadd_pd(d1, d1, a1);
  }
  double s = hsum(_mm256_add_pd(a0, a1));
  for (; i < dim; ++i) {
    const double d = double(x[i]) - double(y[i]);
    s += d * d;
  }
  return s;
}

double ip_f64_avx2(const float* x, const float* y, std::size_t dim) noexcept {
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    a0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i)), _mm256_cvtps_pd(_mm_loadu_ps(y + i)), a0);
    a1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(y + i + 4)), a1);
  }
  double s = hsum(_mm256_add_pd(a0, a1));
  for (; i < dim; ++i) s += double(x[i]) * double(y[i]);
  return s;
}

// Four rows y[0..3] against one x: per row exactly the operations of l2_f64_avx2 / ip_f64_avx2
// in the same order (so the results are bit-identical), interleaved so that eight FMA chains
// are in flight instead of two, and x is converted once for all four rows.
namespace {
template <bool L2>
inline __m256d step_x4(__m256d x, const float* y, __m256d acc) noexcept {
  const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(y));
  if constexpr (L2) {
    const __m256d d = _mm256_sub_pd(x, v);
    return _mm256_fmadd_pd(d, d, acc);
  } else {
    return _mm256_fmadd_pd(x, v, acc);
  }
}

template <bool L2>
void f64_avx2_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept {
  __m256d a0[4], a1[4];
  for (int r = 0; r < 4; ++r) a0[r] = _mm256_setzero_pd(), a1[r] = _mm256_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), x1 = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
    for (int r = 0; r < 4; ++r) {
      a0[r] = step_x4<L2>(x0, y[r] + i, a0[r]);
      a1[r] = step_x4<L2>(x1, y[r] + i + 4, a1[r]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    double s = hsum(_mm256_add_pd(a0[r], a1[r]));
    for (std::size_t t = i; t < dim; ++t) {
      if constexpr (L2) {
        const double d = double(x[t]) - double(y[r][t]);
        s += d * d;
      } else {
        s += double(x[t]) * double(y[r][t]);
      }
    }
    out[r] = s;
  }
}
}  // namespace

void l2_f64_avx2_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept {
  f64_avx2_x4<true>(x, y, dim, out);
}

void ip_f64_avx2_x4(const float* x, const float* const* y, std::size_t dim, double* out) noexcept {
  f64_avx2_x4<false>(x, y, dim, out);
}

}  // namespace qtune::detail
