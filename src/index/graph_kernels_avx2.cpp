// AVX2 graph kernels (compiled with the AVX2 flags by name; see graph_kernels.hpp).
#include <immintrin.h>

#include "index/graph_kernels.hpp"

namespace qtune::detail::graph_kernels {

void dot_u8_i16_batch_avx2(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                           const std::uint32_t* ids, std::size_t m, std::size_t dim, std::int32_t* out) noexcept {
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint8_t* c = base + std::size_t(ids[i]) * stride;
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    std::size_t j = 0;
    for (; j + 32 <= dim; j += 32) {
      const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j)));
      const __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j + 16)));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j))));
      acc1 = _mm256_add_epi32(acc1,
                              _mm256_madd_epi16(c1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j + 16))));
    }
    for (; j + 16 <= dim; j += 16) {
      const __m256i c0 = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c + j)));
      acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(c0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j))));
    }
    acc0 = _mm256_add_epi32(acc0, acc1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    std::int32_t total = _mm_cvtsi128_si32(s);
    for (; j < dim; ++j) total += std::int32_t(w[j]) * c[j];
    out[i] = total;
  }
}

}  // namespace qtune::detail::graph_kernels
