// The SIMD kernels, written once (FAISS style: one body, instantiated per ISA). Private to
// src/kernels: included INSIDE `namespace qtune::kernels::<isa> { ... }` by kernels_avx2.cpp and
// kernels_avx512.cpp, each compiled with its own flags. No #pragma once and no #include here:
// this text is meant to be compiled once per ISA, in the including translation unit.
//
// The including file defines, before this text (all with internal linkage):
//   vf, vi                          the float and integer vector types; W: floats per vf
//   QTUNE_V(op)                     the ISA's intrinsic named op: QTUNE_V(add_ps) = _mm256_add_ps
//   QTUNE_VSI(op)                   the ISA's whole-register intrinsic: QTUNE_VSI(and) = _mm256_and_si256
//   load_tail(p, rem), store_tail(p, rem, v)        rem < W floats, the rest zero / untouched
//   hsum(vf), hsum_i32(vi)                          horizontal sums
//   load_f16/bf16/u8(p), load_*_tail(p, rem)        W components as floats (tail: rem < W, zeros)
//   load_u4(p), load_u4_tail(p, rem)                W packed nibbles from p (W / 2 bytes)
//   store_f16(c, v), store_f16_tail(c, rem, v)      W floats as binary16, round to nearest even
//   store_bf16(c, bits), store_bf16_tail(c, rem, bits)   W int32 lanes holding bf16 bits
//   select_nan(x, r, quiet)         lanes of quiet where float x is NaN, else r; as_bits(vf) -> vi
//   QTUNE_F16_TO_F32_UNROLL         a loop pragma (or nothing) for f16_to_f32's main loop
//   int_tail(step, a, b, rem)       int_sum's last rem < sizeof(vi) bytes and its result: one
//                                   masked step, or byte by byte through Step::one(x, y)
//   pq_index8(code), pq_gather(base, idx), pq_iota()  W uint8 codes as int32; lut gather; 0..W-1
//   pq_lut8_finish(acc, step, lut, code, m, M)  the tail of pq_lut8 (m..M-1) and the final sum
//   pq_lut4_16(a0, a1, lut, nib), pq_lut4_finish(acc, lut, code, m, M)   the same for pq_lut4
//                                   (16 sub-quantizers per step: one gather of 16, or two of 8)
// Tails never read past the end of an input (tests/kernels put inputs before a PROT_NONE page).
// Everything here has internal linkage (an AVX-compiled inline must never serve another TU).

namespace {

// ---- loaders: full(j) reads components j..j+W-1, tail(j, rem) reads rem < W and zero-fills ----
struct f32_src {
  const float* p;
  vf full(std::size_t j) const noexcept { return QTUNE_V(loadu_ps)(p + j); }
  vf tail(std::size_t j, std::size_t rem) const noexcept { return load_tail(p + j, rem); }
};
struct f16_src {
  const std::uint16_t* p;
  vf full(std::size_t j) const noexcept { return load_f16(p + j); }
  vf tail(std::size_t j, std::size_t rem) const noexcept { return load_f16_tail(p + j, rem); }
};
struct bf16_src {
  const std::uint16_t* p;
  vf full(std::size_t j) const noexcept { return load_bf16(p + j); }
  vf tail(std::size_t j, std::size_t rem) const noexcept { return load_bf16_tail(p + j, rem); }
};
struct u8_src {
  const std::uint8_t* p;
  vf full(std::size_t j) const noexcept { return load_u8(p + j); }
  vf tail(std::size_t j, std::size_t rem) const noexcept { return load_u8_tail(p + j, rem); }
};
struct u4_src {  // j is always a multiple of W here
  const std::uint8_t* p;
  vf full(std::size_t j) const noexcept { return load_u4(p + j / 2); }
  // An odd rem reads one high nibble too many: its query/scale/weight lanes are zero.
  vf tail(std::size_t j, std::size_t rem) const noexcept { return load_u4_tail(p + j / 2, rem); }
};

// ---- float sums -------------------------------------------------------------------------------
// One component-wise step: acc + (q - c)^2 (L2) or acc + q * c.
template <bool L2>
inline vf fold(vf acc, vf q, vf c) noexcept {
  if constexpr (L2) {
    const vf d = QTUNE_V(sub_ps)(q, c);
    return QTUNE_V(fmadd_ps)(d, d, acc);
  } else {
    return QTUNE_V(fmadd_ps)(q, c, acc);
  }
}

// sum (q - c)^2 (L2) or sum q * c, with four independent accumulators (hides FMA latency).
template <bool L2, class Src>
inline float fold_sum(const float* q, Src c, std::size_t dim) noexcept {
  vf a0 = QTUNE_V(setzero_ps)(), a1 = QTUNE_V(setzero_ps)();
  vf a2 = QTUNE_V(setzero_ps)(), a3 = QTUNE_V(setzero_ps)();
  std::size_t j = 0;
  for (; j + 4 * W <= dim; j += 4 * W) {
    a0 = fold<L2>(a0, QTUNE_V(loadu_ps)(q + j), c.full(j));
    a1 = fold<L2>(a1, QTUNE_V(loadu_ps)(q + j + W), c.full(j + W));
    a2 = fold<L2>(a2, QTUNE_V(loadu_ps)(q + j + 2 * W), c.full(j + 2 * W));
    a3 = fold<L2>(a3, QTUNE_V(loadu_ps)(q + j + 3 * W), c.full(j + 3 * W));
  }
  for (; j + W <= dim; j += W) a0 = fold<L2>(a0, QTUNE_V(loadu_ps)(q + j), c.full(j));
  if (j < dim) a1 = fold<L2>(a1, load_tail(q + j, dim - j), c.tail(j, dim - j));
  return hsum(QTUNE_V(add_ps)(QTUNE_V(add_ps)(a0, a1), QTUNE_V(add_ps)(a2, a3)));
}
template <class Src>
inline float l2_sum(const float* q, Src c, std::size_t dim) noexcept { return fold_sum<true>(q, c, dim); }
template <class Src>
inline float ip_sum(const float* q, Src c, std::size_t dim) noexcept { return fold_sum<false>(q, c, dim); }

// sum (qo - scale * c)^2
template <class Src>
inline float l2_scaled(const float* qo, const float* scale, Src c, std::size_t dim) noexcept {
  vf a0 = QTUNE_V(setzero_ps)(), a1 = QTUNE_V(setzero_ps)();
  std::size_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const vf d0 = QTUNE_V(fnmadd_ps)(QTUNE_V(loadu_ps)(scale + j), c.full(j), QTUNE_V(loadu_ps)(qo + j));
    const vf d1 =
        QTUNE_V(fnmadd_ps)(QTUNE_V(loadu_ps)(scale + j + W), c.full(j + W), QTUNE_V(loadu_ps)(qo + j + W));
    a0 = QTUNE_V(fmadd_ps)(d0, d0, a0);
    a1 = QTUNE_V(fmadd_ps)(d1, d1, a1);
  }
  for (; j + W <= dim; j += W) {
    const vf d = QTUNE_V(fnmadd_ps)(QTUNE_V(loadu_ps)(scale + j), c.full(j), QTUNE_V(loadu_ps)(qo + j));
    a0 = QTUNE_V(fmadd_ps)(d, d, a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const vf d = QTUNE_V(fnmadd_ps)(load_tail(scale + j, rem), c.tail(j, rem), load_tail(qo + j, rem));
    a1 = QTUNE_V(fmadd_ps)(d, d, a1);
  }
  return hsum(QTUNE_V(add_ps)(a0, a1));
}

// sum w * (a - b)^2 over code components (exact small integers in float)
template <class Src>
inline float l2_weighted(const float* w, Src a, Src b, std::size_t dim) noexcept {
  vf a0 = QTUNE_V(setzero_ps)(), a1 = QTUNE_V(setzero_ps)();
  std::size_t j = 0;
  for (; j + 2 * W <= dim; j += 2 * W) {
    const vf d0 = QTUNE_V(sub_ps)(a.full(j), b.full(j));
    const vf d1 = QTUNE_V(sub_ps)(a.full(j + W), b.full(j + W));
    a0 = QTUNE_V(fmadd_ps)(QTUNE_V(loadu_ps)(w + j), QTUNE_V(mul_ps)(d0, d0), a0);
    a1 = QTUNE_V(fmadd_ps)(QTUNE_V(loadu_ps)(w + j + W), QTUNE_V(mul_ps)(d1, d1), a1);
  }
  for (; j + W <= dim; j += W) {
    const vf d = QTUNE_V(sub_ps)(a.full(j), b.full(j));
    a0 = QTUNE_V(fmadd_ps)(QTUNE_V(loadu_ps)(w + j), QTUNE_V(mul_ps)(d, d), a0);
  }
  if (j < dim) {
    const std::size_t rem = dim - j;
    const vf d = QTUNE_V(sub_ps)(a.tail(j, rem), b.tail(j, rem));
    a1 = QTUNE_V(fmadd_ps)(load_tail(w + j, rem), QTUNE_V(mul_ps)(d, d), a1);
  }
  return hsum(QTUNE_V(add_ps)(a0, a1));
}

// ---- integer kernels on raw codes ---------------------------------------------------------------
// Written once over a "step" that folds one register of a and b into an int32 accumulator; the
// tail step sees zero bytes (which add nothing).
inline vi load_bytes(const std::uint8_t* p) noexcept { return QTUNE_VSI(loadu)(reinterpret_cast<const vi*>(p)); }

template <class Step>
inline std::uint32_t int_sum(const std::uint8_t* a, const std::uint8_t* b, std::size_t bytes) noexcept {
  constexpr std::size_t R = sizeof(vi);
  Step s;
  std::size_t i = 0;
  for (; i + 2 * R <= bytes; i += 2 * R) {
    s.step(load_bytes(a + i), load_bytes(b + i));
    s.step(load_bytes(a + i + R), load_bytes(b + i + R));
  }
  for (; i + R <= bytes; i += R) s.step(load_bytes(a + i), load_bytes(b + i));
  return i < bytes ? int_tail(s, a + i, b + i, bytes - i) : s.result();
}

inline vi absdiff_u8(vi a, vi b) noexcept {
  return QTUNE_VSI(or)(QTUNE_V(subs_epu8)(a, b), QTUNE_V(subs_epu8)(b, a));
}
inline vi lo_nib(vi v) noexcept { return QTUNE_VSI(and)(v, QTUNE_V(set1_epi8)(0x0f)); }
inline vi hi_nib(vi v) noexcept { return QTUNE_VSI(and)(QTUNE_V(srli_epi16)(v, 4), QTUNE_V(set1_epi8)(0x0f)); }
inline vi absdiff_i8(vi a, vi b) noexcept { return QTUNE_V(abs_epi8)(QTUNE_V(sub_epi8)(a, b)); }

struct l2_u8_step {
  vi acc = QTUNE_VSI(setzero)();
  void step(vi a, vi b) noexcept {
    const vi d = absdiff_u8(a, b), z = QTUNE_VSI(setzero)();
    const vi lo = QTUNE_V(unpacklo_epi8)(d, z), hi = QTUNE_V(unpackhi_epi8)(d, z);
    acc = QTUNE_V(add_epi32)(acc, QTUNE_V(add_epi32)(QTUNE_V(madd_epi16)(lo, lo), QTUNE_V(madd_epi16)(hi, hi)));
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
  static std::uint32_t one(std::uint32_t x, std::uint32_t y) noexcept { return (x - y) * (x - y); }
};

struct ip_u8_step {
  vi acc = QTUNE_VSI(setzero)();
  void step(vi a, vi b) noexcept {
    const vi z = QTUNE_VSI(setzero)();
    const vi lo = QTUNE_V(madd_epi16)(QTUNE_V(unpacklo_epi8)(a, z), QTUNE_V(unpacklo_epi8)(b, z));
    const vi hi = QTUNE_V(madd_epi16)(QTUNE_V(unpackhi_epi8)(a, z), QTUNE_V(unpackhi_epi8)(b, z));
    acc = QTUNE_V(add_epi32)(acc, QTUNE_V(add_epi32)(lo, hi));
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
  static std::uint32_t one(std::uint32_t x, std::uint32_t y) noexcept { return x * y; }
};

// Packed uint4 (values <= 15 fit int8): a and b share the layout, so low nibbles pair with low
// and high with high; no interleaving is needed for a sum. Products fit maddubs (<= 15 * 15).
struct l2_u4_step {
  vi acc = QTUNE_VSI(setzero)();
  void step(vi a, vi b) noexcept {
    const vi dl = absdiff_i8(lo_nib(a), lo_nib(b)), dh = absdiff_i8(hi_nib(a), hi_nib(b));
    const vi s16 = QTUNE_V(add_epi16)(QTUNE_V(maddubs_epi16)(dl, dl), QTUNE_V(maddubs_epi16)(dh, dh));
    acc = QTUNE_V(add_epi32)(acc, QTUNE_V(madd_epi16)(s16, QTUNE_V(set1_epi16)(1)));
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
  static std::uint32_t one(std::uint32_t x, std::uint32_t y) noexcept {  // both nibbles of a byte
    return l2_u8_step::one(x & 15u, y & 15u) + l2_u8_step::one(x >> 4, y >> 4);
  }
};

struct ip_u4_step {
  vi acc = QTUNE_VSI(setzero)();
  void step(vi a, vi b) noexcept {
    const vi s16 = QTUNE_V(add_epi16)(QTUNE_V(maddubs_epi16)(lo_nib(a), lo_nib(b)),
                                      QTUNE_V(maddubs_epi16)(hi_nib(a), hi_nib(b)));
    acc = QTUNE_V(add_epi32)(acc, QTUNE_V(madd_epi16)(s16, QTUNE_V(set1_epi16)(1)));
  }
  std::uint32_t result() const noexcept { return hsum_i32(acc); }
  static std::uint32_t one(std::uint32_t x, std::uint32_t y) noexcept { return (x & 15u) * (y & 15u) + (x >> 4) * (y >> 4); }
};

inline std::uint32_t nibble(const std::uint8_t* c, std::size_t j) noexcept {
  return (j & 1) ? (c[j >> 1] >> 4) : (c[j >> 1] & 0x0fu);
}

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

// ---- bf16 rounding ------------------------------------------------------------------------------
// Round-to-nearest-even bf16 of W floats (as int32 lanes holding the 16 result bits); NaN quiet.
inline vi bf16_round(vi x) noexcept {
  const vi lsb = QTUNE_VSI(and)(QTUNE_V(srli_epi32)(x, 16), QTUNE_V(set1_epi32)(1));
  const vi r = QTUNE_V(srli_epi32)(QTUNE_V(add_epi32)(x, QTUNE_V(add_epi32)(QTUNE_V(set1_epi32)(0x7fff), lsb)), 16);
  const vi quiet = QTUNE_VSI(or)(QTUNE_V(srli_epi32)(x, 16), QTUNE_V(set1_epi32)(0x40));
  return select_nan(x, r, quiet);
}

// ---- the table's functions ------------------------------------------------------------------------
float l2_f32(const float* x, const float* y, std::size_t dim) noexcept { return l2_sum(x, f32_src{y}, dim); }
float ip_f32(const float* x, const float* y, std::size_t dim) noexcept { return ip_sum(x, f32_src{y}, dim); }
float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, f16_src{c}, dim); }
float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, f16_src{c}, dim); }
float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_sum(q, bf16_src{c}, dim); }
float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_sum(q, bf16_src{c}, dim); }

void f32_to_f16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + W <= n; i += W) store_f16(c + i, QTUNE_V(loadu_ps)(x + i));
  if (i < n) store_f16_tail(c + i, n - i, load_tail(x + i, n - i));
}

void f16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  QTUNE_F16_TO_F32_UNROLL
  for (; i + W <= n; i += W) QTUNE_V(storeu_ps)(x + i, load_f16(c + i));
  if (i < n) store_tail(x + i, n - i, load_f16_tail(c + i, n - i));
}

void f32_to_bf16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + W <= n; i += W) store_bf16(c + i, bf16_round(as_bits(QTUNE_V(loadu_ps)(x + i))));
  if (i < n) store_bf16_tail(c + i, n - i, bf16_round(as_bits(load_tail(x + i, n - i))));
}

void bf16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + W <= n; i += W) QTUNE_V(storeu_ps)(x + i, load_bf16(c + i));
  if (i < n) store_tail(x + i, n - i, load_bf16_tail(c + i, n - i));
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

// The four integer kernels over a set of steps (the VNNI set is defined by kernels_avx512.cpp).
template <class L2U8, class IPU8, class L2U4, class IPU4>
struct int_kernel_set {
  static std::uint32_t l2_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
    return int_sum<L2U8>(a, b, dim);
  }
  static std::uint32_t ip_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
    return int_sum<IPU8>(a, b, dim);
  }
  static std::uint32_t l2_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
    return u4_sum<L2U4, true>(a, b, dim);
  }
  static std::uint32_t ip_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
    return u4_sum<IPU4, false>(a, b, dim);
  }
};
using int_kernels = int_kernel_set<l2_u8_step, ip_u8_step, l2_u4_step, ip_u4_step>;

// sum_m lut[m * 256 + code[m]]: W sub-quantizers per gather, two accumulators.
float pq_lut8(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  const vi step = QTUNE_V(mullo_epi32)(pq_iota(), QTUNE_V(set1_epi32)(256));
  vf a0 = QTUNE_V(setzero_ps)(), a1 = QTUNE_V(setzero_ps)();
  std::size_t m = 0;
  for (; m + 2 * W <= M; m += 2 * W) {
    a0 = QTUNE_V(add_ps)(a0, pq_gather(lut + m * 256, QTUNE_V(add_epi32)(pq_index8(code + m), step)));
    a1 = QTUNE_V(add_ps)(a1, pq_gather(lut + (m + W) * 256, QTUNE_V(add_epi32)(pq_index8(code + m + W), step)));
  }
  for (; m + W <= M; m += W)
    a0 = QTUNE_V(add_ps)(a0, pq_gather(lut + m * 256, QTUNE_V(add_epi32)(pq_index8(code + m), step)));
  return pq_lut8_finish(QTUNE_V(add_ps)(a0, a1), step, lut, code, m, M);
}

// 16 packed nibbles (8 bytes) -> 16 bytes in component order (SSE2, present at every level).
inline __m128i unpack_nibbles(__m128i b) noexcept {
  const __m128i m = _mm_set1_epi8(0x0f);
  return _mm_unpacklo_epi8(_mm_and_si128(b, m), _mm_and_si128(_mm_srli_epi16(b, 4), m));
}

// sum_m lut[m * 16 + nibble m]: 16 sub-quantizers (8 code bytes) per step.
float pq_lut4(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  vf a0 = QTUNE_V(setzero_ps)(), a1 = QTUNE_V(setzero_ps)();
  std::size_t m = 0;
  for (; m + 16 <= M; m += 16)
    pq_lut4_16(a0, a1, lut + m * 16, unpack_nibbles(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(code + m / 2))));
  return pq_lut4_finish(QTUNE_V(add_ps)(a0, a1), lut, code, m, M);
}

void pq_lut8_scan(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                  float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = pq_lut8(lut, codes + i * M, M);
}

}  // namespace
