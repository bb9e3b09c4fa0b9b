// AVX-512 VNNI graph kernels (compiled with the AVX-512 flags by name; called only when the CPU
// has AVX-512 VNNI, see graph_kernels.cpp).
#include <immintrin.h>

// GCC 12 reports its own AVX-512 intrinsics' masked-zero operands as maybe-uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "index/graph_kernels.hpp"

namespace qtune::detail::graph_kernels {

void dot_u8_i16_batch_avx512vnni(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                                 const std::uint32_t* ids, std::size_t m, std::size_t dim,
                                 std::int32_t* out) noexcept {
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint8_t* c = base + std::size_t(ids[i]) * stride;
    if (i + 1 < m) _mm_prefetch(reinterpret_cast<const char*>(base + std::size_t(ids[i + 1]) * stride), _MM_HINT_T0);
    __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
    std::size_t j = 0;
    for (; j + 64 <= dim; j += 64) {
      const __m512i c0 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + j)));
      const __m512i c1 = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + j + 32)));
      acc0 = _mm512_dpwssd_epi32(acc0, c0, _mm512_loadu_si512(w + j));
      acc1 = _mm512_dpwssd_epi32(acc1, c1, _mm512_loadu_si512(w + j + 32));
    }
    for (; j < dim; j += 32) {
      const std::size_t left = dim - j;
      const __mmask32 mask = left >= 32 ? ~__mmask32(0) : (__mmask32(1) << left) - 1;
      const __m512i c0 = _mm512_cvtepu8_epi16(_mm256_maskz_loadu_epi8(mask, c + j));
      acc0 = _mm512_dpwssd_epi32(acc0, c0, _mm512_loadu_si512(w + j));  // w is zero-padded to 64
    }
    const __m512i acc = _mm512_add_epi32(acc0, acc1);
    __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti32x8_epi32(acc, 1));
    __m128i q = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0x4e));
    q = _mm_add_epi32(q, _mm_shuffle_epi32(q, 0xb1));
    out[i] = _mm_cvtsi128_si32(q);
  }
}

}  // namespace qtune::detail::graph_kernels
