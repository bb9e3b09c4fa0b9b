// AVX-512 F/BW/DQ/VL kernels, plus VNNI variants of the integer kernels (this file alone is
// compiled with the AVX-512 flags). Same include rules as kernels_avx2.cpp: no STL, helpers
// with internal linkage, tables as constant data. dispatch.cpp hands out the VNNI table only
// when cpuid reports AVX512_VNNI; the plain table uses AVX-512 BW only.
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

namespace qtune::kernels::avx512 {

namespace {

inline __mmask16 mask16(std::size_t rem) noexcept { return static_cast<__mmask16>((1u << rem) - 1u); }
inline __mmask64 mask64(std::size_t rem) noexcept {
  return rem >= 64 ? ~__mmask64{0} : static_cast<__mmask64>((std::uint64_t{1} << rem) - 1u);
}

inline __m512 load_f16(const std::uint16_t* c) noexcept {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(c)));
}
inline __m512 cvt_bf16(__m256i h) noexcept {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline __m512 cvt_u8(__m128i b) noexcept { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b)); }

// 16 packed nibbles (8 bytes in the low half of b) -> 16 bytes in component order.
inline __m128i unpack_nibbles(__m128i b) noexcept {
  const __m128i m = _mm_set1_epi8(0x0f);
  return _mm_unpacklo_epi8(_mm_and_si128(b, m), _mm_and_si128(_mm_srli_epi16(b, 4), m));
}

// Loaders: full(j) reads components j..j+15, tail(j, rem) reads rem < 16, zeros the rest.
struct f32_src {
  const float* p;
  __m512 full(std::size_t j) const noexcept { return _mm512_loadu_ps(p + j); }
  __m512 tail(std::size_t j, std::size_t rem) const noexcept { return _mm512_maskz_loadu_ps(mask16(rem), p + j); }
};

struct f16_src {
  const std::uint16_t* p;
  __m512 full(std::size_t j) const noexcept { return load_f16(p + j); }
  __m512 tail(std::size_t j, std::size_t rem) const noexcept {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask16(rem), p + j));
  }
};

struct bf16_src {
  const std::uint16_t* p;
  __m512 full(std::size_t j) const noexcept {
    return cvt_bf16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + j)));
  }
  __m512 tail(std::size_t j, std::size_t rem) const noexcept {
    return cvt_bf16(_mm256_maskz_loadu_epi16(mask16(rem), p + j));
  }
};

struct u8_src {
  const std::uint8_t* p;
  __m512 full(std::size_t j) const noexcept {
    return cvt_u8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j)));
  }
  __m512 tail(std::size_t j, std::size_t rem) const noexcept {
    return cvt_u8(_mm_maskz_loadu_epi8(mask16(rem), p + j));
  }
};

struct u4_src {  // j is always a multiple of 16 here
  const std::uint8_t* p;
  __m512 full(std::size_t j) const noexcept {
    return cvt_u8(unpack_nibbles(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + j / 2))));
  }
  __m512 tail(std::size_t j, std::size_t rem) const noexcept {
    // An odd rem reads one high nibble too many: its query/scale/weight lanes are zero.
    return cvt_u8(unpack_nibbles(_mm_maskz_loadu_epi8(mask16((rem + 1) / 2), p + j / 2)));
  }
};

template <class Src>
inline float l2_sum(const float* q, Src c, std::size_t dim) noexcept {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 64 <= dim; j += 64) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(q + j), c.full(j));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(q + j + 16), c.full(j + 16));
    const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(q + j + 32), c.full(j + 32));
    const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(q + j + 48), c.full(j + 48));
    a0 = _mm512_fmadd_ps(d0, d0, a0);
    a1 = _mm512_fmadd_ps(d1, d1, a1);
    a2 = _mm512_fmadd_ps(d2, d2, a2);
    a3 = _mm512_fmadd_ps(d3, d3, a3);
  }
  for (; j + 16 <= dim; j += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(q + j), c.full(j));
    a0 = _mm512_fmadd_ps(d, d, a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask16(rem), q + j), c.tail(j, rem));
    a1 = _mm512_fmadd_ps(d, d, a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

template <class Src>
inline float ip_sum(const float* q, Src c, std::size_t dim) noexcept {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 64 <= dim; j += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), c.full(j), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), c.full(j + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 32), c.full(j + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 48), c.full(j + 48), a3);
  }
  for (; j + 16 <= dim; j += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), c.full(j), a0);
  if (j < dim) {
    const std::size_t rem = dim - j;
    a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask16(rem), q + j), c.tail(j, rem), a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

template <class Src>
inline float l2_scaled(const float* qo, const float* scale, Src c, std::size_t dim) noexcept {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    const __m512 d0 = _mm512_fnmadd_ps(_mm512_loadu_ps(scale + j), c.full(j), _mm512_loadu_ps(qo + j));
    const __m512 d1 =
        _mm512_fnmadd_ps(_mm512_loadu_ps(scale + j + 16), c.full(j + 16), _mm512_loadu_ps(qo + j + 16));
    a0 = _mm512_fmadd_ps(d0, d0, a0);
    a1 = _mm512_fmadd_ps(d1, d1, a1);
  }
  for (; j + 16 <= dim; j += 16) {
    const __m512 d = _mm512_fnmadd_ps(_mm512_loadu_ps(scale + j), c.full(j), _mm512_loadu_ps(qo + j));
    a0 = _mm512_fmadd_ps(d, d, a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __mmask16 m = mask16(rem);
    const __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(m, scale + j), c.tail(j, rem),
                                      _mm512_maskz_loadu_ps(m, qo + j));
    a1 = _mm512_fmadd_ps(d, d, a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

template <class Src>
inline float l2_weighted(const float* w, Src a, Src b, std::size_t dim) noexcept {
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  std::size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    const __m512 d0 = _mm512_sub_ps(a.full(j), b.full(j));
    const __m512 d1 = _mm512_sub_ps(a.full(j + 16), b.full(j + 16));
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), _mm512_mul_ps(d0, d0), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j + 16), _mm512_mul_ps(d1, d1), a1);
  }
  for (; j + 16 <= dim; j += 16) {
    const __m512 d = _mm512_sub_ps(a.full(j), b.full(j));
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + j), _mm512_mul_ps(d, d), a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const __m512 d = _mm512_sub_ps(a.tail(j, rem), b.tail(j, rem));
    a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask16(rem), w + j), _mm512_mul_ps(d, d), a1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

// Round-to-nearest-even bf16 of 16 floats (as int32 lanes); NaN made quiet.
inline __m256i bf16_round(__m512i x) noexcept {
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  const __m512i r =
      _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb)), 16);
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(0x40));
  return _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, r, quiet));
}

inline std::uint32_t nibble(const std::uint8_t* c, std::size_t j) noexcept {
  return (j & 1) ? (c[j >> 1] >> 4) : (c[j >> 1] & 0x0fu);
}

inline __m512i load64(const std::uint8_t* p) noexcept { return _mm512_loadu_si512(p); }

// Integer kernels, written once over a "step" policy that folds 64 bytes of a and b into
// an int32 accumulator; the tail step sees masked-to-zero bytes (which add nothing).
template <class Step>
inline std::uint32_t int_sum(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  Step s;
  std::size_t i = 0;
  for (; i + 128 <= bytes; i += 128) {
    s.step(load64(a + i), load64(b + i));
    s.step(load64(a + i + 64), load64(b + i + 64));
  }
  for (; i + 64 <= bytes; i += 64) s.step(load64(a + i), load64(b + i));
  if (i < bytes) {
    const __mmask64 m = mask64(bytes - i);
    s.step(_mm512_maskz_loadu_epi8(m, a + i), _mm512_maskz_loadu_epi8(m, b + i));
  }
  return s.result();
}

inline __m512i absdiff_u8(__m512i a, __m512i b) noexcept {
  return _mm512_or_si512(_mm512_subs_epu8(a, b), _mm512_subs_epu8(b, a));
}

struct l2_u8_bw_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i d = absdiff_u8(a, b), z = _mm512_setzero_si512();
    const __m512i lo = _mm512_unpacklo_epi8(d, z), hi = _mm512_unpackhi_epi8(d, z);
    acc = _mm512_add_epi32(acc, _mm512_add_epi32(_mm512_madd_epi16(lo, lo), _mm512_madd_epi16(hi, hi)));
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

struct l2_u8_vnni_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i d = absdiff_u8(a, b), z = _mm512_setzero_si512();
    const __m512i lo = _mm512_unpacklo_epi8(d, z), hi = _mm512_unpackhi_epi8(d, z);
    acc = _mm512_dpwssd_epi32(acc, lo, lo);
    acc = _mm512_dpwssd_epi32(acc, hi, hi);
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

struct ip_u8_bw_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i z = _mm512_setzero_si512();
    const __m512i lo = _mm512_madd_epi16(_mm512_unpacklo_epi8(a, z), _mm512_unpacklo_epi8(b, z));
    const __m512i hi = _mm512_madd_epi16(_mm512_unpackhi_epi8(a, z), _mm512_unpackhi_epi8(b, z));
    acc = _mm512_add_epi32(acc, _mm512_add_epi32(lo, hi));
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

// vpdpbusd multiplies unsigned by *signed* bytes: a * b = a * (b - 128) + 128 * a, with
// b - 128 = b ^ 0x80 as int8 and sum(a) from vpsadbw. Wrap-around is exact modulo 2^32.
struct ip_u8_vnni_step {
  __m512i acc = _mm512_setzero_si512();
  __m512i sum_a = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    acc = _mm512_dpbusd_epi32(acc, a, _mm512_xor_si512(b, _mm512_set1_epi8(static_cast<char>(0x80))));
    sum_a = _mm512_add_epi64(sum_a, _mm512_sad_epu8(a, _mm512_setzero_si512()));
  }
  std::uint32_t result() const noexcept {
    return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)) +
           128u * static_cast<std::uint32_t>(_mm512_reduce_add_epi64(sum_a));
  }
};

inline __m512i lo_nib(__m512i v) noexcept { return _mm512_and_si512(v, _mm512_set1_epi8(0x0f)); }
inline __m512i hi_nib(__m512i v) noexcept {
  return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0x0f));
}
inline __m512i absdiff_i8(__m512i a, __m512i b) noexcept { return _mm512_abs_epi8(_mm512_sub_epi8(a, b)); }

// Packed uint4 (values <= 15 fit int8): low nibbles pair with low, high with high.
struct l2_u4_bw_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i dl = absdiff_i8(lo_nib(a), lo_nib(b)), dh = absdiff_i8(hi_nib(a), hi_nib(b));
    const __m512i s16 = _mm512_add_epi16(_mm512_maddubs_epi16(dl, dl), _mm512_maddubs_epi16(dh, dh));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(s16, _mm512_set1_epi16(1)));
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

struct l2_u4_vnni_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i dl = absdiff_i8(lo_nib(a), lo_nib(b)), dh = absdiff_i8(hi_nib(a), hi_nib(b));
    acc = _mm512_dpbusd_epi32(acc, dl, dl);
    acc = _mm512_dpbusd_epi32(acc, dh, dh);
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

struct ip_u4_bw_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    const __m512i s16 = _mm512_add_epi16(_mm512_maddubs_epi16(lo_nib(a), lo_nib(b)),
                                         _mm512_maddubs_epi16(hi_nib(a), hi_nib(b)));
    acc = _mm512_add_epi32(acc, _mm512_madd_epi16(s16, _mm512_set1_epi16(1)));
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

struct ip_u4_vnni_step {
  __m512i acc = _mm512_setzero_si512();
  void step(__m512i a, __m512i b) noexcept {
    acc = _mm512_dpbusd_epi32(acc, lo_nib(a), lo_nib(b));
    acc = _mm512_dpbusd_epi32(acc, hi_nib(a), hi_nib(b));
  }
  std::uint32_t result() const noexcept { return static_cast<std::uint32_t>(_mm512_reduce_add_epi32(acc)); }
};

// Full bytes through Step; an odd dim's last component (low nibble of the last byte) apart.
template <class Step, bool L2>
inline std::uint32_t u4_sum(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  std::uint32_t s = int_sum<Step>(a, b, dim / 2);
  if (dim & 1) {
    const std::uint32_t x = nibble(a, dim - 1), y = nibble(b, dim - 1);
    s += L2 ? (x - y) * (x - y) : x * y;  // unsigned wrap: (x - y)^2 is still exact
  }
  return s;
}

}  // namespace

float l2_f32(const float* x, const float* y, std::size_t dim) noexcept { return l2_sum(x, f32_src{y}, dim); }
float ip_f32(const float* x, const float* y, std::size_t dim) noexcept { return ip_sum(x, f32_src{y}, dim); }
float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, f16_src{c}, dim); }
float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, f16_src{c}, dim); }
float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, bf16_src{c}, dim); }
float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, bf16_src{c}, dim); }

void f32_to_f16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  constexpr int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), rn));
  if (i < n) {
    const __mmask16 m = mask16(n - i);
    _mm256_mask_storeu_epi16(c + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), rn));
  }
}

void f16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, load_f16(c + i));
  if (i < n) _mm512_mask_storeu_ps(x + i, mask16(n - i), f16_src{c}.tail(i, n - i));
}

void f32_to_bf16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i), bf16_round(_mm512_loadu_si512(x + i)));
  if (i < n) {
    const __mmask16 m = mask16(n - i);
    _mm256_mask_storeu_epi16(c + i, m, bf16_round(_mm512_maskz_loadu_epi32(m, x + i)));
  }
}

void bf16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, bf16_src{c}.full(i));
  if (i < n) _mm512_mask_storeu_ps(x + i, mask16(n - i), bf16_src{c}.tail(i, n - i));
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
  return int_sum<l2_u8_bw_step>(a, b, dim);
}
std::uint32_t ip_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return int_sum<ip_u8_bw_step>(a, b, dim);
}
std::uint32_t l2_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return u4_sum<l2_u4_bw_step, true>(a, b, dim);
}
std::uint32_t ip_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return u4_sum<ip_u4_bw_step, false>(a, b, dim);
}
std::uint32_t l2_u8_vnni(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return int_sum<l2_u8_vnni_step>(a, b, dim);
}
std::uint32_t ip_u8_vnni(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return int_sum<ip_u8_vnni_step>(a, b, dim);
}
std::uint32_t l2_u4_vnni(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return u4_sum<l2_u4_vnni_step, true>(a, b, dim);
}
std::uint32_t ip_u4_vnni(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  return u4_sum<ip_u4_vnni_step, false>(a, b, dim);
}

float pq_lut8(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  const __m512i step = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(256));
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  std::size_t m = 0;
  for (; m + 32 <= M; m += 32) {
    const __m512i i0 = _mm512_add_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + m))), step);
    const __m512i i1 = _mm512_add_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + m + 16))), step);
    a0 = _mm512_add_ps(a0, _mm512_i32gather_ps(i0, lut + m * 256, 4));
    a1 = _mm512_add_ps(a1, _mm512_i32gather_ps(i1, lut + (m + 16) * 256, 4));
  }
  for (; m + 16 <= M; m += 16) {
    const __m512i i0 = _mm512_add_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(code + m))), step);
    a0 = _mm512_add_ps(a0, _mm512_i32gather_ps(i0, lut + m * 256, 4));
  }
  if (m < M) {
    const __mmask16 k = mask16(M - m);
    const __m512i i0 = _mm512_add_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, code + m)), step);
    a1 = _mm512_add_ps(a1, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), k, i0, lut + m * 256, 4));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

float pq_lut4(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  const __m512i step = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(16));
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  std::size_t m = 0;
  for (; m + 16 <= M; m += 16) {
    const __m128i nib = unpack_nibbles(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m / 2)));
    const __m512i i0 = _mm512_add_epi32(_mm512_cvtepu8_epi32(nib), step);
    a0 = _mm512_add_ps(a0, _mm512_i32gather_ps(i0, lut + m * 16, 4));
  }
  if (m < M) {
    const std::size_t rem = M - m;
    const __m128i nib = unpack_nibbles(_mm_maskz_loadu_epi8(mask16((rem + 1) / 2), code + m / 2));
    const __m512i i0 = _mm512_add_epi32(_mm512_cvtepu8_epi32(nib), step);
    a1 = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask16(rem), i0, lut + m * 16, 4);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
}

void pq_lut8_scan(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                  float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = pq_lut8(lut, codes + i * M, M);
}

}  // namespace qtune::kernels::avx512

namespace qtune::kernels::detail {

namespace v = ::qtune::kernels::avx512;

#define QTUNE_AVX512_COMMON                                                                  \
  .level = simd_level::avx512, .l2_f32 = v::l2_f32, .ip_f32 = v::ip_f32, .l2_f16 = v::l2_f16, \
  .ip_f16 = v::ip_f16, .l2_bf16 = v::l2_bf16, .ip_bf16 = v::ip_bf16,                          \
  .f32_to_f16 = v::f32_to_f16, .f16_to_f32 = v::f16_to_f32, .f32_to_bf16 = v::f32_to_bf16,    \
  .bf16_to_f32 = v::bf16_to_f32, .l2_sq8 = v::l2_sq8, .l2_sq4 = v::l2_sq4, .ip_sq8 = v::ip_sq8, \
  .ip_sq4 = v::ip_sq4, .l2_sq8_sym = v::l2_sq8_sym, .l2_sq4_sym = v::l2_sq4_sym

constinit const table avx512_table = {
    QTUNE_AVX512_COMMON,
    .l2_u8 = v::l2_u8,
    .ip_u8 = v::ip_u8,
    .l2_u4 = v::l2_u4,
    .ip_u4 = v::ip_u4,
    .pq_lut8 = v::pq_lut8,
    .pq_lut4 = v::pq_lut4,
    .pq_lut8_scan = v::pq_lut8_scan,
    .vnni = false,
};

constinit const table avx512_vnni_table = {
    QTUNE_AVX512_COMMON,
    .l2_u8 = v::l2_u8_vnni,
    .ip_u8 = v::ip_u8_vnni,
    .l2_u4 = v::l2_u4_vnni,
    .ip_u4 = v::ip_u4_vnni,
    .pq_lut8 = v::pq_lut8,
    .pq_lut4 = v::pq_lut4,
    .pq_lut8_scan = v::pq_lut8_scan,
    .vnni = true,
};

#undef QTUNE_AVX512_COMMON

}  // namespace qtune::kernels::detail
