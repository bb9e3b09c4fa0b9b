// AVX2 + FMA + F16C kernels (this file alone is compiled with -mavx2 -mfma -mf16c).
// Only <immintrin.h>, <cstddef>, <cstdint>, <cstring> and the kernel headers are included,
// and every helper has internal linkage: no inline function compiled here can be chosen by
// the linker for a caller on a CPU without AVX2. The table below is constant data.
//
// Tails (dim not a multiple of 8) go through masked loads or a zeroed stack buffer, so each
// component is converted by the same instruction as in the main loop.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/kernel_tables.hpp"

namespace qtune::kernels::avx2 {

namespace {

inline float hsum(__m256 v) noexcept {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline std::uint32_t hsum_epi32(__m256i v) noexcept {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return static_cast<std::uint32_t>(_mm_cvtsi128_si32(s));
}

// Lanes 0..rem-1 set (rem in 0..8), for maskload/maskstore.
inline __m256i lane_mask(std::size_t rem) noexcept {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rem)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline __m256 load_f16(const std::uint16_t* c) noexcept {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
}

inline __m256 load_bf16(const std::uint16_t* c) noexcept {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

inline __m256 load_u8(const std::uint8_t* c) noexcept {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c))));
}

// 8 components from 4 bytes of packed nibbles (component 2i = low nibble of byte i).
inline __m256 load_u4(const std::uint8_t* c) noexcept {
  std::uint32_t w;
  std::memcpy(&w, c, 4);
  const __m128i v = _mm_cvtsi32_si128(static_cast<int>(w));
  const __m128i m = _mm_set1_epi8(0x0f);
  const __m128i lo = _mm_and_si128(v, m);
  const __m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), m);
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi)));
}

// Loaders: full(j) reads components j..j+7, tail(j, rem) reads rem < 8 and zero-fills.
struct f32_src {
  const float* p;
  __m256 full(std::size_t j) const noexcept { return _mm256_loadu_ps(p + j); }
  __m256 tail(std::size_t j, std::size_t rem) const noexcept {
    return _mm256_maskload_ps(p + j, lane_mask(rem));
  }
};

struct f16_src {
  const std::uint16_t* p;
  __m256 full(std::size_t j) const noexcept { return load_f16(p + j); }
  __m256 tail(std::size_t j, std::size_t rem) const noexcept {
    std::uint16_t buf[8] = {};
    std::memcpy(buf, p + j, rem * sizeof(std::uint16_t));
    return load_f16(buf);
  }
};

struct bf16_src {
  const std::uint16_t* p;
  __m256 full(std::size_t j) const noexcept { return load_bf16(p + j); }
  __m256 tail(std::size_t j, std::size_t rem) const noexcept {
    std::uint16_t buf[8] = {};
    std::memcpy(buf, p + j, rem * sizeof(std::uint16_t));
    return load_bf16(buf);
  }
};

struct u8_src {
  const std::uint8_t* p;
  __m256 full(std::size_t j) const noexcept { return load_u8(p + j); }
  __m256 tail(std::size_t j, std::size_t rem) const noexcept {
    std::uint8_t buf[8] = {};
    std::memcpy(buf, p + j, rem);
    return load_u8(buf);
  }
};

struct u4_src {  // j is always a multiple of 8 here
  const std::uint8_t* p;
  __m256 full(std::size_t j) const noexcept { return load_u4(p + j / 2); }
  __m256 tail(std::size_t j, std::size_t rem) const noexcept {
    std::uint8_t buf[4] = {};
    std::memcpy(buf, p + j / 2, (rem + 1) / 2);
    // An odd rem reads one high nibble too many: its query/scale/weight lanes are zero.
    return load_u4(buf);
  }
};

// sum (q - c)^2 with four independent accumulators (hides FMA latency).
template <class Src>
inline float l2_sum(const float* q, Src c, std::size_t dim) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(q + j), c.full(j));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(q + j + 8), c.full(j + 8));
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(q + j + 16), c.full(j + 16));
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(q + j + 24), c.full(j + 24));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
    a2 = _mm256_fmadd_ps(d2, d2, a2);
    a3 = _mm256_fmadd_ps(d3, d3, a3);
  }
  for (; j + 8 <= dim; j += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(q + j), c.full(j));
    a0 = _mm256_fmadd_ps(d, d, a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(q + j, lane_mask(rem)), c.tail(j, rem));
    a1 = _mm256_fmadd_ps(d, d, a1);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// sum q * c
template <class Src>
inline float ip_sum(const float* q, Src c, std::size_t dim) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), c.full(j), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), c.full(j + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 16), c.full(j + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 24), c.full(j + 24), a3);
  }
  for (; j + 8 <= dim; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), c.full(j), a0);
  if (j < dim) {
    const std::size_t rem = dim - j;
    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(q + j, lane_mask(rem)), c.tail(j, rem), a1);
  }
  return hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

// sum (qo - scale * c)^2
template <class Src>
inline float l2_scaled(const float* qo, const float* scale, Src c, std::size_t dim) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 16 <= dim; j += 16) {
    const __m256 d0 = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + j), c.full(j), _mm256_loadu_ps(qo + j));
    const __m256 d1 =
        _mm256_fnmadd_ps(_mm256_loadu_ps(scale + j + 8), c.full(j + 8), _mm256_loadu_ps(qo + j + 8));
    a0 = _mm256_fmadd_ps(d0, d0, a0);
    a1 = _mm256_fmadd_ps(d1, d1, a1);
  }
  for (; j + 8 <= dim; j += 8) {
    const __m256 d = _mm256_fnmadd_ps(_mm256_loadu_ps(scale + j), c.full(j), _mm256_loadu_ps(qo + j));
    a0 = _mm256_fmadd_ps(d, d, a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __m256i m = lane_mask(rem);
    const __m256 d = _mm256_fnmadd_ps(_mm256_maskload_ps(scale + j, m), c.tail(j, rem),
                                      _mm256_maskload_ps(qo + j, m));
    a1 = _mm256_fmadd_ps(d, d, a1);
  }
  return hsum(_mm256_add_ps(a0, a1));
}

// sum w * (a - b)^2 over code components (exact small integers in float)
template <class Src>
inline float l2_weighted(const float* w, Src a, Src b, std::size_t dim) noexcept {
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::size_t j = 0;
  for (; j + 16 <= dim; j += 16) {
    const __m256 d0 = _mm256_sub_ps(a.full(j), b.full(j));
    const __m256 d1 = _mm256_sub_ps(a.full(j + 8), b.full(j + 8));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_mul_ps(d0, d0), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j + 8), _mm256_mul_ps(d1, d1), a1);
  }
  for (; j + 8 <= dim; j += 8) {
    const __m256 d = _mm256_sub_ps(a.full(j), b.full(j));
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + j), _mm256_mul_ps(d, d), a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __m256 d = _mm256_sub_ps(a.tail(j, rem), b.tail(j, rem));
    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(w + j, lane_mask(rem)), _mm256_mul_ps(d, d), a1);
  }
  return hsum(_mm256_add_ps(a0, a1));
}

inline std::uint32_t nibble(const std::uint8_t* c, std::size_t j) noexcept {
  return (j & 1) ? (c[j >> 1] >> 4) : (c[j >> 1] & 0x0fu);
}

}  // namespace

float l2_f32(const float* x, const float* y, std::size_t dim) noexcept { return l2_sum(x, f32_src{y}, dim); }
float ip_f32(const float* x, const float* y, std::size_t dim) noexcept { return ip_sum(x, f32_src{y}, dim); }
float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, f16_src{c}, dim); }
float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, f16_src{c}, dim); }
float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, bf16_src{c}, dim); }
float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, bf16_src{c}, dim); }

void f32_to_f16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c + i), h);
  }
  if (i < n) {
    const std::size_t rem = n - i;
    std::uint16_t buf[8];
    const __m128i h = _mm256_cvtps_ph(_mm256_maskload_ps(x + i, lane_mask(rem)), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(buf), h);
    std::memcpy(c + i, buf, rem * sizeof(std::uint16_t));
  }
}

void f16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, load_f16(c + i));
  if (i < n) {
    const std::size_t rem = n - i;
    _mm256_maskstore_ps(x + i, lane_mask(rem), f16_src{c}.tail(i, rem));
  }
}

namespace {
// Round-to-nearest-even bf16 of 8 floats (as int32 lanes holding the 16 result bits).
inline __m256i bf16_round(__m256i x) noexcept {
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff)),
                                         _mm256_set1_epi32(0x7f800000));
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(0x40));
  return _mm256_blendv_epi8(r, quiet, nan);
}

inline __m128i pack_u16(__m256i r) noexcept {  // 8 x int32 in 0..0xffff -> 8 x uint16
  const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08);
  return _mm256_castsi256_si128(p);
}
}  // namespace

void f32_to_bf16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(c + i), pack_u16(bf16_round(v)));
  }
  if (i < n) {
    const std::size_t rem = n - i;
    const __m256i v = _mm256_castps_si256(_mm256_maskload_ps(x + i, lane_mask(rem)));
    std::uint16_t buf[8];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(buf), pack_u16(bf16_round(v)));
    std::memcpy(c + i, buf, rem * sizeof(std::uint16_t));
  }
}

void bf16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, load_bf16(c + i));
  if (i < n) {
    const std::size_t rem = n - i;
    _mm256_maskstore_ps(x + i, lane_mask(rem), bf16_src{c}.tail(i, rem));
  }
}

float l2_sq8(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept {
  return l2_scaled(qo, scale, u8_src{c}, dim);
}
float l2_sq4(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept {
  return l2_scaled(qo, scale, u4_src{c}, dim);
}
float ip_sq8(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept { return ip_sum(qs, u8_src{c}, dim); }
float ip_sq4(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept { return ip_sum(qs, u4_src{c}, dim); }
float l2_sq8_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return l2_weighted(w, u8_src{a}, u8_src{b}, dim);
}
float l2_sq4_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return l2_weighted(w, u4_src{a}, u4_src{b}, dim);
}

std::uint32_t l2_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  __m256i acc = _mm256_setzero_si256();
  const __m256i zero = _mm256_setzero_si256();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + j));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j));
    const __m256i d = _mm256_or_si256(_mm256_subs_epu8(va, vb), _mm256_subs_epu8(vb, va));
    const __m256i lo = _mm256_unpacklo_epi8(d, zero), hi = _mm256_unpackhi_epi8(d, zero);
    acc = _mm256_add_epi32(acc, _mm256_add_epi32(_mm256_madd_epi16(lo, lo), _mm256_madd_epi16(hi, hi)));
  }
  std::uint32_t s = hsum_epi32(acc);
  for (; j < dim; ++j) {
    const int d = static_cast<int>(a[j]) - static_cast<int>(b[j]);
    s += static_cast<std::uint32_t>(d * d);
  }
  return s;
}

std::uint32_t ip_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  __m256i acc = _mm256_setzero_si256();
  const __m256i zero = _mm256_setzero_si256();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + j));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + j));
    const __m256i lo = _mm256_madd_epi16(_mm256_unpacklo_epi8(va, zero), _mm256_unpacklo_epi8(vb, zero));
    const __m256i hi = _mm256_madd_epi16(_mm256_unpackhi_epi8(va, zero), _mm256_unpackhi_epi8(vb, zero));
    acc = _mm256_add_epi32(acc, _mm256_add_epi32(lo, hi));
  }
  std::uint32_t s = hsum_epi32(acc);
  for (; j < dim; ++j) s += static_cast<std::uint32_t>(a[j]) * b[j];
  return s;
}

// Packed uint4: a and b share the layout, so low nibbles pair with low nibbles and high with
// high; no interleaving is needed for a sum. Products fit maddubs (<= 15 * 15).
std::uint32_t l2_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  const std::size_t bytes = dim / 2;
  const __m256i m = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 32 <= bytes; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    const __m256i dlo = _mm256_abs_epi8(_mm256_sub_epi8(_mm256_and_si256(va, m), _mm256_and_si256(vb, m)));
    const __m256i dhi = _mm256_abs_epi8(_mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(va, 4), m),
                                                        _mm256_and_si256(_mm256_srli_epi16(vb, 4), m)));
    const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(dlo, dlo), _mm256_maddubs_epi16(dhi, dhi));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s16, ones));
  }
  std::uint32_t s = hsum_epi32(acc);
  for (std::size_t j = 2 * i; j < dim; ++j) {
    const int d = static_cast<int>(nibble(a, j)) - static_cast<int>(nibble(b, j));
    s += static_cast<std::uint32_t>(d * d);
  }
  return s;
}

std::uint32_t ip_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  const std::size_t bytes = dim / 2;
  const __m256i m = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 32 <= bytes; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    const __m256i lo = _mm256_maddubs_epi16(_mm256_and_si256(va, m), _mm256_and_si256(vb, m));
    const __m256i hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(va, 4), m),
                                            _mm256_and_si256(_mm256_srli_epi16(vb, 4), m));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(lo, hi), ones));
  }
  std::uint32_t s = hsum_epi32(acc);
  for (std::size_t j = 2 * i; j < dim; ++j) s += nibble(a, j) * nibble(b, j);
  return s;
}

float pq_lut8(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  const __m256i step = _mm256_setr_epi32(0, 256, 512, 768, 1024, 1280, 1536, 1792);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::size_t m = 0;
  for (; m + 16 <= M; m += 16) {
    const __m256i i0 = _mm256_add_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m))), step);
    const __m256i i1 = _mm256_add_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m + 8))), step);
    a0 = _mm256_add_ps(a0, _mm256_i32gather_ps(lut + m * 256, i0, 4));
    a1 = _mm256_add_ps(a1, _mm256_i32gather_ps(lut + (m + 8) * 256, i1, 4));
  }
  for (; m + 8 <= M; m += 8) {
    const __m256i i0 = _mm256_add_epi32(
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m))), step);
    a0 = _mm256_add_ps(a0, _mm256_i32gather_ps(lut + m * 256, i0, 4));
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; m < M; ++m) s += lut[m * 256 + code[m]];
  return s;
}

float pq_lut4(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  const __m256i step = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
  const __m128i m4 = _mm_set1_epi8(0x0f);
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  std::size_t m = 0;
  for (; m + 16 <= M; m += 16) {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m / 2));
    const __m128i nib = _mm_unpacklo_epi8(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    const __m256i i0 = _mm256_add_epi32(_mm256_cvtepu8_epi32(nib), step);
    const __m256i i1 = _mm256_add_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(nib, 8)), step);
    a0 = _mm256_add_ps(a0, _mm256_i32gather_ps(lut + m * 16, i0, 4));
    a1 = _mm256_add_ps(a1, _mm256_i32gather_ps(lut + (m + 8) * 16, i1, 4));
  }
  float s = hsum(_mm256_add_ps(a0, a1));
  for (; m < M; ++m) s += lut[m * 16 + nibble(code, m)];
  return s;
}

void pq_lut8_scan(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                  float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = pq_lut8(lut, codes + i * M, M);
}

}  // namespace qtune::kernels::avx2

namespace qtune::kernels::detail {

namespace v = ::qtune::kernels::avx2;

constinit const table avx2_table = {
    .level = simd_level::avx2,
    .l2_f32 = v::l2_f32,
    .ip_f32 = v::ip_f32,
    .l2_f16 = v::l2_f16,
    .ip_f16 = v::ip_f16,
    .l2_bf16 = v::l2_bf16,
    .ip_bf16 = v::ip_bf16,
    .f32_to_f16 = v::f32_to_f16,
    .f16_to_f32 = v::f16_to_f32,
    .f32_to_bf16 = v::f32_to_bf16,
    .bf16_to_f32 = v::bf16_to_f32,
    .l2_sq8 = v::l2_sq8,
    .l2_sq4 = v::l2_sq4,
    .ip_sq8 = v::ip_sq8,
    .ip_sq4 = v::ip_sq4,
    .l2_sq8_sym = v::l2_sq8_sym,
    .l2_sq4_sym = v::l2_sq4_sym,
    .l2_u8 = v::l2_u8,
    .ip_u8 = v::ip_u8,
    .l2_u4 = v::l2_u4,
    .ip_u4 = v::ip_u4,
    .pq_lut8 = v::pq_lut8,
    .pq_lut4 = v::pq_lut4,
    .pq_lut8_scan = v::pq_lut8_scan,
    .vnni = false,
};

}  // namespace qtune::kernels::detail
