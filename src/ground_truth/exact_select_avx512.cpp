// exact_knn's threshold filters with AVX-512 (compiled with per-file flags): 16 keys per compare;
// the rare hits are compressed in a register and stored whole (a compress straight to memory is
// microcoded on Zen 4), so the buffer keeps 16 free slots. One loop, two kinds of key
// (exact_select.hpp): float32 score + offset, and int32 norm - 2 * dot.
// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized on its own _mm512_undefined_*()
// placeholders when inlined here (the reductions); the warning is about the header.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "ground_truth/exact_select.hpp"

namespace qtune::detail {

namespace {

// key = score + offset (with_offset) or score.
template <bool with_offset>
struct float_keys {
  using key = float;
  using vec = __m512;
  const float* s;
  const float* off;
  vec load(std::size_t j) const noexcept {
    vec v = _mm512_loadu_ps(s + j);
    if constexpr (with_offset) v = _mm512_add_ps(v, _mm512_loadu_ps(off + j));
    return v;
  }
  vec load(__mmask16 live, std::size_t j) const noexcept {
    vec v = _mm512_maskz_loadu_ps(live, s + j);
    if constexpr (with_offset) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(live, off + j));
    return v;
  }
  static vec splat(key t) noexcept { return _mm512_set1_ps(t); }
  static __mmask16 below(__mmask16 live, vec v, vec thr) noexcept {
    return _mm512_mask_cmp_ps_mask(live, v, thr, _CMP_LT_OQ);
  }
  static void store_compressed(key* out, __mmask16 m, vec v) noexcept {
    _mm512_storeu_ps(out, _mm512_maskz_compress_ps(m, v));
  }
};

// key = norm - 2 * dot, in int32.
struct i32_keys {
  using key = std::int32_t;
  using vec = __m512i;
  const std::int32_t* dots;
  const std::int32_t* norms;
  vec load(std::size_t j) const noexcept {
    const vec d = _mm512_loadu_si512(dots + j);
    return _mm512_sub_epi32(_mm512_loadu_si512(norms + j), _mm512_add_epi32(d, d));
  }
  vec load(__mmask16 live, std::size_t j) const noexcept {
    const vec d = _mm512_maskz_loadu_epi32(live, dots + j);
    return _mm512_sub_epi32(_mm512_maskz_loadu_epi32(live, norms + j), _mm512_add_epi32(d, d));
  }
  static vec splat(key t) noexcept { return _mm512_set1_epi32(t); }
  static __mmask16 below(__mmask16 live, vec v, vec thr) noexcept { return _mm512_mask_cmplt_epi32_mask(live, v, thr); }
  static void store_compressed(key* out, __mmask16 m, vec v) noexcept {
    _mm512_storeu_si512(out, _mm512_maskz_compress_epi32(m, v));
  }
};

// Keys as unsigned integers in the same order (floats: the sign bit flipped for positives, all
// bits for negatives; -0 sorts just below +0, which compare equal as floats: harmless, since only
// "kept <= t <= dropped" matters).
inline __m512i ordered(__m512 v) noexcept {
  const __m512i b = _mm512_castps_si512(v);
  const __mmask16 neg = _mm512_movepi32_mask(b);
  return _mm512_mask_xor_epi32(_mm512_xor_si512(b, _mm512_set1_epi32(int(0x80000000u))), neg, b,
                               _mm512_set1_epi32(-1));
}
inline __m512i ordered(__m512i v) noexcept { return _mm512_xor_si512(v, _mm512_set1_epi32(int(0x80000000u))); }
inline __m512 load_keys(const float* p, __mmask16 live) noexcept { return _mm512_maskz_loadu_ps(live, p); }
inline __m512i load_keys(const std::int32_t* p, __mmask16 live) noexcept { return _mm512_maskz_loadu_epi32(live, p); }

// topk_reduce_avx512: the kc-th smallest key by a bisection over the ordered integers
// (each step counts the keys <= mid, 16 per compare), then the kept keys compressed in place.
// No data-dependent branches per key, unlike nth_element (measured: it was 18-25% of the byte
// pass's time).
constexpr std::size_t reduce_max_vectors = 64;  // buffers up to 1024 keys; larger ones: topk_reduce

template <class Key>
void reduce(topk_buffer_of<Key>& b, std::size_t kc, Key* scratch) noexcept {
  const std::size_t count = b.count;
  if (count < kc) return;
  const std::size_t vecs = (count + 15) / 16;
  if (vecs > reduce_max_vectors) return topk_reduce(b, kc, scratch);
  auto live = [&](std::size_t v) {
    return count - v * 16 >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (count - v * 16)) - 1);
  };
  // The ordered keys, once; dead lanes get the largest value and are never counted below it
  // (mid < hi <= max live key).
  __m512i u[reduce_max_vectors];
  __m512i lo_v = _mm512_set1_epi32(-1), hi_v = _mm512_setzero_si512();
  for (std::size_t v = 0; v < vecs; ++v) {
    const __mmask16 m = live(v);
    u[v] = _mm512_mask_blend_epi32(m, _mm512_set1_epi32(-1), ordered(load_keys(b.keys + v * 16, m)));
    lo_v = _mm512_mask_min_epu32(lo_v, m, lo_v, u[v]);
    hi_v = _mm512_mask_max_epu32(hi_v, m, hi_v, u[v]);
  }
  std::uint32_t lo = _mm512_reduce_min_epu32(lo_v), hi = _mm512_reduce_max_epu32(hi_v);
  while (lo < hi) {  // smallest t with count(u <= t) >= kc
    const std::uint32_t mid = lo + (hi - lo) / 2;
    const __m512i mv = _mm512_set1_epi32(int(mid));
    std::size_t c = 0;
    for (std::size_t v = 0; v < vecs; ++v) c += std::size_t(__builtin_popcount(_mm512_cmple_epu32_mask(u[v], mv)));
    if (c >= kc) hi = mid;
    else lo = mid + 1;
  }
  const __m512i tv = _mm512_set1_epi32(int(lo));
  std::size_t below = 0;
  for (std::size_t v = 0; v < vecs; ++v)
    below += std::size_t(__builtin_popcount(_mm512_mask_cmplt_epu32_mask(live(v), u[v], tv)));
  std::size_t ties = kc - below;  // slots left for keys equal to t
  std::size_t kept = 0;
  Key t{};
  for (std::size_t v = 0; v < vecs; ++v) {
    const __mmask16 m = live(v);
    const __mmask16 lt = _mm512_mask_cmplt_epu32_mask(m, u[v], tv);
    std::uint32_t eq = _mm512_mask_cmpeq_epu32_mask(m, u[v], tv);
    if (eq) {
      const std::size_t first = std::size_t(__builtin_ctz(eq));
      __builtin_memcpy(&t, b.keys + v * 16 + first, sizeof(Key));
    }
    while (std::size_t(__builtin_popcount(eq)) > ties) eq &= ~(1u << (31 - __builtin_clz(eq)));
    ties -= std::size_t(__builtin_popcount(eq));
    const __mmask16 keep = __mmask16(lt | eq);
    const __mmask16 out = __mmask16((1u << __builtin_popcount(keep)) - 1);
    // in place: kept <= v * 16, and only the first popcount lanes are written
    const __m512i k = _mm512_maskz_compress_epi32(keep, _mm512_maskz_loadu_epi32(m, b.keys + v * 16));
    const __m512i i = _mm512_maskz_compress_epi32(keep, _mm512_maskz_loadu_epi32(m, b.ids + v * 16));
    _mm512_mask_storeu_epi32(b.keys + kept, out, k);
    _mm512_mask_storeu_epi32(b.ids + kept, out, i);
    kept += std::size_t(__builtin_popcount(keep));
  }
  b.count = kept;
  b.threshold = t;
}

template <class Keys>
inline void filter(const Keys& src, topk_buffer_of<typename Keys::key>& b, std::size_t nb, std::int32_t id0,
                   std::size_t kc, std::size_t cap, typename Keys::key* scratch) noexcept {
  using vec = typename Keys::vec;
  constexpr __mmask16 all = 0xFFFF;
  vec thr = Keys::splat(b.threshold);
  __m512i idv = _mm512_add_epi32(_mm512_set1_epi32(id0),
                                 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512i step = _mm512_set1_epi32(16);
  auto take = [&](__mmask16 m, vec v) {
    Keys::store_compressed(b.keys + b.count, m, v);
    _mm512_storeu_si512(b.ids + b.count, _mm512_maskz_compress_epi32(m, idv));
    b.count += std::size_t(__builtin_popcount(m));
    if (b.count + 16 > cap) {
      reduce(b, kc, scratch);
      thr = Keys::splat(b.threshold);
    }
  };
  std::size_t j = 0;
  for (; j + 32 <= nb; j += 32) {
    const vec v0 = src.load(j), v1 = src.load(j + 16);
    const __mmask16 m0 = Keys::below(all, v0, thr);
    const __mmask16 m1 = Keys::below(all, v1, thr);
    if (__builtin_expect((m0 | m1) != 0, 0)) {
      if (m0) take(m0, v0);
      idv = _mm512_add_epi32(idv, step);
      // the threshold may have dropped: compare the second half again
      if (m1) {
        const __mmask16 m = Keys::below(all, v1, thr);
        if (m) take(m, v1);
      }
      idv = _mm512_add_epi32(idv, step);
    } else {
      idv = _mm512_add_epi32(idv, _mm512_set1_epi32(32));
    }
  }
  for (; j < nb; j += 16) {
    const __mmask16 live = nb - j >= 16 ? all : __mmask16((1u << (nb - j)) - 1);
    const vec v = src.load(live, j);
    const __mmask16 m = Keys::below(live, v, thr);
    if (m) take(m, v);
    idv = _mm512_add_epi32(idv, step);
  }
}

}  // namespace

void topk_reduce_avx512(topk_buffer& b, std::size_t kc, float* scratch) noexcept { reduce(b, kc, scratch); }
void topk_reduce_avx512(topk_buffer_i32& b, std::size_t kc, std::int32_t* scratch) noexcept {
  reduce(b, kc, scratch);
}

void topk_filter_avx512(topk_buffer& b, const float* scores, const float* offset, std::size_t nb, std::int32_t id0,
                        std::size_t kc, std::size_t cap, float* scratch) noexcept {
  if (offset) filter(float_keys<true>{scores, offset}, b, nb, id0, kc, cap, scratch);
  else filter(float_keys<false>{scores, nullptr}, b, nb, id0, kc, cap, scratch);
}

void topk_filter_i32_avx512(topk_buffer_i32& b, const std::int32_t* dots, const std::int32_t* norms, std::size_t nb,
                            std::int32_t id0, std::size_t kc, std::size_t cap, std::int32_t* scratch) noexcept {
  filter(i32_keys{dots, norms}, b, nb, id0, kc, cap, scratch);
}

}  // namespace qtune::detail
