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

std::size_t filter_u16_avx512(const std::uint16_t* links, std::size_t max_degree, std::uint16_t* visited,
                              std::uint16_t epoch, std::uint32_t* out) noexcept {
  const __m512i ep = _mm512_set1_epi32(epoch);
  const __m512i low16 = _mm512_set1_epi32(0xffff);
  std::size_t m = 0;
  for (std::size_t j = 0; j < max_degree; j += 16) {
    const std::size_t left = max_degree - j;
    const __mmask16 in_list = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __m512i ids = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(in_list, links + j));
    // ids before the first sentinel (the layout puts sentinels only at the end of a list)
    const __mmask16 valid = _mm512_mask_cmpneq_epi32_mask(in_list, ids, low16);
    const __m512i seen = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), valid, ids, visited, 2);
    const __mmask16 fresh = _mm512_mask_cmpneq_epi32_mask(valid, _mm512_and_si512(seen, low16), ep);
    // compress in a register, then a plain store: a masked compress straight to memory is
    // microcoded on AMD Zen 4 (tens of cycles); out has room for 16 entries past max_degree
    _mm512_storeu_si512(out + m, _mm512_maskz_compress_epi32(fresh, ids));
    m += static_cast<std::size_t>(__builtin_popcount(fresh));
    if (valid != in_list) break;
  }
  for (std::size_t i = 0; i < m; ++i) visited[out[i]] = epoch;
  return m;
}

}  // namespace qtune::detail::graph_kernels
