// AVX-512 F/BW/DQ/VL kernels, plus VNNI variants of the integer kernels (this file alone is
// compiled with the AVX-512 flags): the AVX-512 primitives the kernel bodies need, the bodies
// (simd_body_impl.hpp, written once for every ISA), then what only AVX-512 has (VNNI steps,
// the int_kernel_set of VNNI steps). Same include rules as kernels_avx2.cpp: no STL, helpers with internal linkage,
// tables as constant data. dispatch.cpp hands out the VNNI table only when cpuid reports
// AVX512_VNNI; the plain table uses AVX-512 BW only.
//
// Tails use AVX-512 masked loads and stores (masked-off bytes are never touched), so every
// component goes through the same instruction as in the main loop.
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on its own _mm512_undefined_*()
// placeholders when inlined here; the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_tables.hpp"

// The intrinsics of this ISA, for simd_body_impl.hpp: QTUNE_V(add_ps) = _mm512_add_ps.
#define QTUNE_V(op) _mm512_##op
#define QTUNE_VSI(op) _mm512_##op##_si512

namespace qtune::kernels {
namespace avx512 {

namespace {

inline __mmask16 mask16(std::size_t rem) noexcept { return static_cast<__mmask16>((1u << rem) - 1u); }
using vf = __m512;  // 16 floats
using vi = __m512i;
constexpr std::size_t W = 16;
inline vf load_tail(const float* p, std::size_t rem) noexcept { return _mm512_maskz_loadu_ps(mask16(rem), p); }
inline void store_tail(float* p, std::size_t rem, vf v) noexcept { _mm512_mask_storeu_ps(p, mask16(rem), v); }
inline float hsum(vf v) noexcept { return _mm512_reduce_add_ps(v); }
inline std::uint32_t hsum_i32(vi v) noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(v)); }

inline vf cvt_bf16(__m256i h) noexcept { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
inline vf cvt_u8(__m128i b) noexcept { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)); }
// 16 packed nibbles (8 bytes in the low half of b) -> 16 components as floats.
inline vf cvt_u4(__m128i b) noexcept {
  const __m128i m = _mm_set1_epi8(0x0f);
  return cvt_u8(_mm_unpacklo_epi8(_mm_and_si128(b, m), _mm_and_si128(_mm_srli_epi16(b, 4), m)));
}

inline vf load_f16(const std::uint16_t* c) noexcept {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c)));
}
inline vf load_f16_tail(const std::uint16_t* c, std::size_t rem) noexcept {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(rem), c));
}
inline vf load_bf16(const std::uint16_t* c) noexcept { return cvt_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c))); }
inline vf load_bf16_tail(const std::uint16_t* c, std::size_t rem) noexcept {
  return cvt_bf16(_mm256_maskz_loadu_epi16(mask16(rem), c));
}
inline vf load_u8(const std::uint8_t* c) noexcept { return cvt_u8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c))); }
inline vf load_u8_tail(const std::uint8_t* c, std::size_t rem) noexcept { return cvt_u8(_mm_maskz_loadu_epi8(mask16(rem), c)); }
inline vf load_u4(const std::uint8_t* c) noexcept {
  return cvt_u4(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c)));
}
inline vf load_u4_tail(const std::uint8_t* c, std::size_t rem) noexcept {
  return cvt_u4(_mm_maskz_loadu_epi8(mask16((rem + 1) / 2), c));
}
template <class Step>
inline std::uint32_t int_tail(Step& s, const std::uint8_t* a, const std::uint8_t* b, std::size_t rem) noexcept {
  const __mmask64 m = static_cast<__mmask64>((std::uint64_t{1} << rem) - 1u);  // rem < 64
  s.step(_mm512_maskz_loadu_epi8(m, a), _mm512_maskz_loadu_epi8(m, b));
  return s.result();
}

constexpr int round_nearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
inline void store_f16(std::uint16_t* c, vf v) noexcept {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), _mm512_cvtps_ph(v, round_nearest));
}
inline void store_f16_tail(std::uint16_t* c, std::size_t rem, vf v) noexcept {
  _mm256_mask_storeu_epi16(c, mask16(rem), _mm512_cvtps_ph(v, round_nearest));
}
inline vi as_bits(vf v) noexcept { return _mm512_castps_si512(v); }
inline vi select_nan(vi x, vi r, vi quiet) noexcept {
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_blend_epi32(nan, r, quiet);
}
inline void store_bf16(std::uint16_t* c, vi bits) noexcept {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), _mm512_cvtepi32_epi16(bits));
}
inline void store_bf16_tail(std::uint16_t* c, std::size_t rem, vi bits) noexcept {
  _mm256_mask_storeu_epi16(c, mask16(rem), _mm512_cvtepi32_epi16(bits));
}

inline vi pq_iota() noexcept { return _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
inline vi pq_index8(const std::uint8_t* code) noexcept {
  return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code)));
}
inline vf pq_gather(const float* base, vi idx) noexcept { return _mm512_i32gather_ps(idx, base, 4); }
inline float pq_lut8_finish(vf acc, vi step, const float* lut, const std::uint8_t* code, std::size_t m,
                            std::size_t M) noexcept {
  if (m < M) {  // a masked gather for the last M - m < 16 sub-quantizers
    const __mmask16 k = mask16(M - m);
    const vi idx = _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, code + m)), step);
    acc = _mm512_add_ps(acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, idx, lut + m * 256, 4));
  }
  return _mm512_reduce_add_ps(acc);
}

// One gather of 16 for 16 sub-quantizers; the tail (< 16) by a masked gather.
inline vi lut4_index(__m128i nib) noexcept {
  return _mm512_add_epi32(_mm512_cvtepu8_epi32(nib), _mm512_mullo_epi32(pq_iota(), _mm512_set1_epi32(16)));
}
inline void pq_lut4_16(vf& a0, vf&, const float* lut, __m128i nib) noexcept {
  a0 = _mm512_add_ps(a0, pq_gather(lut, lut4_index(nib)));
}
inline float pq_lut4_finish(vf acc, const float* lut, const std::uint8_t* code, std::size_t m, std::size_t M) noexcept {
  if (m < M) {
    const __mmask16 k = mask16(M - m);
    const __m128i b = _mm_maskz_loadu_epi8(mask16((M - m + 1) / 2), code + m / 2), f = _mm_set1_epi8(0x0f);
    const __m128i nib = _mm_unpacklo_epi8(_mm_and_si128(b, f), _mm_and_si128(_mm_srli_epi16(b, 4), f));
    acc = _mm512_add_ps(acc, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, lut4_index(nib), lut + m * 16, 4));
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

#define QTUNE_F16_TO_F32_UNROLL
#include "kernels/simd_body_impl.hpp"

namespace {

// VNNI steps for int_sum (simd_body_impl.hpp).
struct l2_u8_vnni_step {
  vi acc = _mm512_setzero_si512();
  void step(vi a, vi b) noexcept {
    const vi d = absdiff_u8(a, b), z = _mm512_setzero_si512();
    const vi lo = _mm512_unpacklo_epi8(d, z), hi = _mm512_unpackhi_epi8(d, z);
    acc = _mm512_dpwssd_epi32(acc, lo, lo);
    acc = _mm512_dpwssd_epi32(acc, hi, hi);
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
};

// vpdpbusd multiplies unsigned by *signed* bytes: a * b = a * (b - 128) + 128 * a, with
// b - 128 = b ^ 0x80 as int8 and sum(a) from vpsadbw. Wrap-around is exact modulo 2^32.
struct ip_u8_vnni_step {
  vi acc = _mm512_setzero_si512();
  vi sum_a = _mm512_setzero_si512();
  void step(vi a, vi b) noexcept {
    acc = _mm512_dpbusd_epi32(acc, a, _mm512_xor_si512(b, _mm512_set1_epi8(static_cast<char>(0x80))));
    sum_a = _mm512_add_epi64(sum_a, _mm512_sad_epu8(a, _mm512_setzero_si512()));
  }
  std::uint32_t result() const noexcept {
    return hsum_i32(acc) + 128u * static_cast<std::uint32_t>(_mm512_reduce_add_epi64(sum_a));
  }
};

struct l2_u4_vnni_step {
  vi acc = _mm512_setzero_si512();
  void step(vi a, vi b) noexcept {
    const vi dl = absdiff_i8(lo_nib(a), lo_nib(b)), dh = absdiff_i8(hi_nib(a), hi_nib(b));
    acc = _mm512_dpbusd_epi32(acc, dl, dl);
    acc = _mm512_dpbusd_epi32(acc, dh, dh);
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
};

struct ip_u4_vnni_step {
  vi acc = _mm512_setzero_si512();
  void step(vi a, vi b) noexcept {
    acc = _mm512_dpbusd_epi32(acc, lo_nib(a), lo_nib(b));
    acc = _mm512_dpbusd_epi32(acc, hi_nib(a), hi_nib(b));
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
};

using int_kernels_vnni = int_kernel_set<l2_u8_vnni_step, ip_u8_vnni_step, l2_u4_vnni_step, ip_u4_vnni_step>;

}  // namespace

}  // namespace avx512

constinit const table detail::avx512_table = QTUNE_KERNEL_TABLE(avx512, simd_level::avx512, avx512::int_kernels, false);
constinit const table detail::avx512_vnni_table = QTUNE_KERNEL_TABLE(avx512, simd_level::avx512, avx512::int_kernels_vnni, true);

}  // namespace qtune::kernels
