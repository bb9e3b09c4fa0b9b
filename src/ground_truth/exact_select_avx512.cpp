// exact_knn's threshold filter with AVX-512 (compiled with per-file flags): 16 keys per compare;
// the rare hits are compressed in a register and stored whole (a compress straight to memory is
// microcoded on Zen 4), so the buffer keeps 16 free slots.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "ground_truth/exact_select.hpp"

namespace qtune::detail {

namespace {
template <bool with_offset>
inline void filter(topk_buffer& b, const float* s, const float* off, std::size_t nb, std::int32_t id0, std::size_t kc,
                   std::size_t cap, float* scratch) noexcept {
  __m512 thr = _mm512_set1_ps(b.threshold);
  __m512i idv = _mm512_add_epi32(_mm512_set1_epi32(id0),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i step = _mm512_set1_epi32(16);
  auto take = [&](__mmask16 m, __m512 v) {
    _mm512_storeu_ps(b.keys + b.count, _mm512_maskz_compress_ps(m, v));
    _mm512_storeu_si512(b.ids + b.count, _mm512_maskz_compress_epi32(m, idv));
    b.count += std::size_t(__builtin_popcount(m));
    if (b.count + 16 > cap) {
      topk_reduce(b, kc, scratch);
      thr = _mm512_set1_ps(b.threshold);
    }
  };
  std::size_t j = 0;
  for (; j + 32 <= nb; j += 32) {
    __m512 v0 = _mm512_loadu_ps(s + j), v1 = _mm512_loadu_ps(s + j + 16);
    if constexpr (with_offset) {
      v0 = _mm512_add_ps(v0, _mm512_loadu_ps(off + j));
      v1 = _mm512_add_ps(v1, _mm512_loadu_ps(off + j + 16));
    }
    const __mmask16 m0 = _mm512_cmp_ps_mask(v0, thr, _CMP_LT_OQ);
    const __mmask16 m1 = _mm512_cmp_ps_mask(v1, thr, _CMP_LT_OQ);
    if (__builtin_expect((m0 | m1) != 0, 0)) {
      if (m0) take(m0, v0);
      idv = _mm512_add_epi32(idv, step);
      // the threshold may have dropped: compare the second half again
      if (m1) {
        const __mmask16 m = _mm512_cmp_ps_mask(v1, thr, _CMP_LT_OQ);
        if (m) take(m, v1);
      }
      idv = _mm512_add_epi32(idv, step);
    } else {
      idv = _mm512_add_epi32(idv, _mm512_set1_epi32(32));
    }
  }
  for (; j < nb; j += 16) {
    const __mmask16 live = nb - j >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (nb - j)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(live, s + j);
    if constexpr (with_offset) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, off + j));
    const __mmask16 m = _mm512_mask_cmp_ps_mask(live, v, thr, _CMP_LT_OQ);
    if (m) take(m, v);
    idv = _mm512_add_epi32(idv, step);
  }
}
}  // namespace

void topk_filter_avx512(topk_buffer& b, const float* scores, const float* offset, std::size_t nb, std::int32_t id0,
                        std::size_t kc, std::size_t cap, float* scratch) noexcept {
  if (offset) filter<true>(b, scores, offset, nb, id0, kc, cap, scratch);
  else filter<false>(b, scores, offset, nb, id0, kc, cap, scratch);
}

}  // namespace qtune::detail
