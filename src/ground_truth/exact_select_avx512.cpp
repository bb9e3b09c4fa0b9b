// exact_knn's threshold filters with AVX-512 (compiled with per-file flags): 16 keys per compare;
// the rare hits are compressed in a register and stored whole (a compress straight to memory is
// microcoded on Zen 4), so the buffer keeps 16 free slots. One loop, two kinds of key
// (exact_select.hpp): float32 score + offset, and int32 norm - 2 * dot.
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
      topk_reduce(b, kc, scratch);
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
