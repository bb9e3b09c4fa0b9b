// AVX2 + FMA + F16C kernels (this file alone is compiled with -mavx2 -mfma -mf16c): the AVX2
// primitives the kernel bodies need, then the bodies themselves (simd_body_impl.hpp, written once
// for every ISA). Only <immintrin.h>, <cstddef>, <cstdint>, <cstring> and the kernel headers are
// included, and every helper has internal linkage: no inline function compiled here can be chosen
// by the linker for a caller on a CPU without AVX2. The table below is constant data.
//
// Tails (dim not a multiple of 8) go through masked loads or a zeroed stack buffer, so each
// component is converted by the same instruction as in the main loop.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_tables.hpp"

namespace qtune::kernels {
namespace avx2 {

namespace {

using vf = __m256;
using vi = __m256i;
constexpr std::size_t W = 8;
#define QTUNE_V(op) _mm256_##op
#define QTUNE_VSI(op) _mm256_##op##_si256

// Lanes 0..rem-1 set (rem in 0..8), for maskload/maskstore.
inline vi lane_mask(std::size_t rem) noexcept {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline vf load_tail(const float* p, std::size_t rem) noexcept { return _mm256_maskload_ps(p, lane_mask(rem)); }
inline void store_tail(float* p, std::size_t rem, vf v) noexcept { _mm256_maskstore_ps(p, lane_mask(rem), v); }

inline float hsum(vf v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline std::uint32_t hsum_i32(vi v) noexcept {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
}

// Partial loads through a zeroed buffer of N elements (AVX2 has no byte/word masked loads).
template <std::size_t N, class T>
struct padded {
  T v[N] = {};
  padded(const T* p, std::size_t count) noexcept { std::memcpy(v, p, count * sizeof(T)); }
};

inline vf load_f16(const std::uint16_t* c) noexcept {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
}
inline vf load_bf16(const std::uint16_t* c) noexcept {
  const vi w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline vf load_u8(const std::uint8_t* c) noexcept {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c))));
}
// 8 components from 4 bytes of packed nibbles (component 2i = low nibble of byte i).
inline vf load_u4(const std::uint8_t* c) noexcept {
  std::uint32_t w;
  std::memcpy(&w, c, 4);
  const __m128i v = _mm_cvtsi32_si128(static_cast<int>(w));
  const __m128i m = _mm_set1_epi8(0x0f);
  const __m128i nib = _mm_unpacklo_epi8(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(nib));
}
inline vf load_f16_tail(const std::uint16_t* c, std::size_t rem) noexcept { return load_f16(padded<8, std::uint16_t>(c, rem).v); }
inline vf load_bf16_tail(const std::uint16_t* c, std::size_t rem) noexcept { return load_bf16(padded<8, std::uint16_t>(c, rem).v); }
inline vf load_u8_tail(const std::uint8_t* c, std::size_t rem) noexcept { return load_u8(padded<8, std::uint8_t>(c, rem).v); }
inline vf load_u4_tail(const std::uint8_t* c, std::size_t rem) noexcept {
  return load_u4(padded<4, std::uint8_t>(c, (rem + 1) / 2).v);
}
// Byte by byte: cheaper than a partial copy to the stack and a reload (no masked byte loads).
template <class Step>
inline std::uint32_t int_tail(const Step& s, const std::uint8_t* a, const std::uint8_t* b, std::size_t rem) noexcept {
  std::uint32_t t = s.result();
  for (std::size_t i = 0; i < rem; ++i) t += Step::one(a[i], b[i]);
  return t;
}

inline void store_f16(std::uint16_t* c, vf v) noexcept {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(c), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
inline void store_f16_tail(std::uint16_t* c, std::size_t rem, vf v) noexcept {
  std::uint16_t buf[8];
  store_f16(buf, v);
  std::memcpy(c, buf, rem * sizeof(std::uint16_t));
}
inline vi as_bits(vf v) noexcept { return _mm256_castps_si256(v); }
inline vi select_nan(vi x, vi r, vi quiet) noexcept {
  const vi nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(r, quiet, nan);
}
inline void store_bf16(std::uint16_t* c, vi bits) noexcept {  // 8 x int32 in 0..0xffff -> 8 x uint16
  const vi p = _mm256_permute4x64_epi64(_mm256_packus_epi32(bits, bits), 0x08);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(c), _mm256_castsi256_si128(p));
}
inline void store_bf16_tail(std::uint16_t* c, std::size_t rem, vi bits) noexcept {
  std::uint16_t buf[8];
  store_bf16(buf, bits);
  std::memcpy(c, buf, rem * sizeof(std::uint16_t));
}

inline vi pq_iota() noexcept { return _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7); }
inline vi pq_index8(const std::uint8_t* code) noexcept {
  return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code)));
}
inline vf pq_gather(const float* base, vi idx) noexcept { return _mm256_i32gather_ps(base, idx, 4); }
inline float pq_lut8_finish(vf acc, vi, const float* lut, const std::uint8_t* code, std::size_t m,
                            std::size_t M) noexcept {
  float s = hsum(acc);
  for (; m < M; ++m) s += lut[m * 256 + code[m]];
  return s;
}

// Two gathers of 8 for 16 sub-quantizers; the tail (< 16) one by one.
inline void pq_lut4_16(vf& a0, vf& a1, const float* lut, __m128i nib) noexcept {
  const vi step = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
  a0 = _mm256_add_ps(a0, pq_gather(lut, _mm256_add_epi32(_mm256_cvtepu8_epi32(nib), step)));
  a1 = _mm256_add_ps(a1, pq_gather(lut + 8 * 16, _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(nib, 8)), step)));
}
inline float pq_lut4_finish(vf acc, const float* lut, const std::uint8_t* code, std::size_t m, std::size_t M) noexcept {
  float s = hsum(acc);
  for (; m < M; ++m) s += lut[m * 16 + ((m & 1) ? (code[m >> 1] >> 4) : (code[m >> 1] & 0x0fu))];
  return s;
}

}  // namespace

// bench_kernels, d = 128: unrolled x4, f16_to_f32 takes 6.8 ns instead of 10.3 (one 8-lane
// conversion per loop step ran at ~2 cycles); at d = 784 and on AVX-512 it changes nothing or
// costs a little, so only here.
#define QTUNE_F16_TO_F32_UNROLL _Pragma("GCC unroll 4")
#include "kernels/simd_body_impl.hpp"

}  // namespace avx2

constinit const table detail::avx2_table = QTUNE_KERNEL_TABLE(avx2, simd_level::avx2, avx2::int_kernels, false);

}  // namespace qtune::kernels
