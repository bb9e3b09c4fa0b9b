// The byte pass's row kernels with AVX-512 (per-file flags; exact_bytes.cpp dispatches):
// the window test and the conversion to bytes, both bound by memory bandwidth.
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on its own _mm512_undefined_*()
// placeholders when inlined here; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "ground_truth/exact_bytes_rows.hpp"

namespace qtune::detail {

void window_row_avx512(const float* v, std::size_t dim, window_stats& w) noexcept {
  __m512 lo = _mm512_set1_ps(w.lo), hi = _mm512_set1_ps(w.hi);
  const __m512 limit = _mm512_set1_ps(16777216.0f);
  __mmask16 bad = 0;
  for (std::size_t d = 0; d < dim; d += 16) {
    const __mmask16 live = dim - d >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (dim - d)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(live, v + d);
    // |x| < 2^24 (NaN fails) and x equal to itself rounded to an integer
    const __m512 ax = _mm512_abs_ps(x);
    const __mmask16 in_range = _mm512_mask_cmp_ps_mask(live, ax, limit, _CMP_LT_OQ);
    const __m512 r = _mm512_roundscale_ps(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 integral = _mm512_mask_cmp_ps_mask(in_range, r, x, _CMP_EQ_OQ);
    bad |= __mmask16(live & ~integral);
    lo = _mm512_mask_min_ps(lo, live, lo, x);
    hi = _mm512_mask_max_ps(hi, live, hi, x);
  }
  w.lo = _mm512_reduce_min_ps(lo);
  w.hi = _mm512_reduce_max_ps(hi);
  w.integers = w.integers && bad == 0;
}

byte_row_sums bytes_row_avx512(const float* v, std::size_t dim, float c, int bias, std::uint8_t* out) noexcept {
  const __m512 cv = _mm512_set1_ps(c);
  const __m512i bv = _mm512_set1_epi32(bias);
  __m512i norm = _mm512_setzero_si512(), sum = _mm512_setzero_si512();
  for (std::size_t d = 0; d < dim; d += 16) {
    const __mmask16 live = dim - d >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (dim - d)) - 1);
    // 0..255 in live lanes, 0 in the others (which must not reach the sums)
    const __m512i u = _mm512_maskz_cvttps_epi32(live, _mm512_sub_ps(_mm512_maskz_loadu_ps(live, v + d), cv));
    norm = _mm512_add_epi32(norm, _mm512_mullo_epi32(u, u));
    sum = _mm512_add_epi32(sum, u);
    _mm_mask_storeu_epi8(out + d, live, _mm512_cvtepi32_epi8(_mm512_sub_epi32(u, bv)));
  }
  // Per lane at most ceil(dim / 16) * 255^2 (< 2^31 for dim <= 16000 * 2): no overflow.
  return {_mm512_reduce_add_epi32(norm), _mm512_reduce_add_epi32(sum)};
}

}  // namespace qtune::detail
