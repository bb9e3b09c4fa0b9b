// exact_knn's candidate buffer: the cut-back to kc and the scalar threshold filters
// (exact_select.hpp; the AVX-512 filters are in exact_select_avx512.cpp).
#include "ground_truth/exact_select.hpp"

#include <algorithm>

namespace qtune::detail {

namespace {

template <class Key>
void reduce(topk_buffer_of<Key>& b, std::size_t kc, Key* scratch) noexcept {
  if (b.count < kc) return;
  // The kc-th smallest key t becomes the threshold; kept: every key below t and keys equal to t
  // up to kc in all. Which of several keys equal to t stay does not matter: the proofs only
  // need every dropped candidate to have key >= t.
  std::copy_n(b.keys, b.count, scratch);
  std::nth_element(scratch, scratch + (kc - 1), scratch + b.count);
  const Key t = scratch[kc - 1];
  std::size_t ties = kc;
  for (std::size_t i = 0; i < kc; ++i) ties -= scratch[i] < t;  // slots left for keys equal to t
  std::size_t kept = 0;
  for (std::size_t i = 0; i < b.count; ++i) {
    const Key key = b.keys[i];
    const bool tie = key == t && ties > 0;
    ties -= tie;
    b.keys[kept] = key;
    b.ids[kept] = b.ids[i];
    kept += (key < t) | tie;
  }
  b.count = kept;
  b.threshold = t;
}

// key_of(j) is candidate j's key; appended when below the threshold.
template <class Key, class KeyOf>
void filter(topk_buffer_of<Key>& b, KeyOf key_of, std::size_t nb, std::int32_t id0, std::size_t kc,
            std::size_t cap, Key* scratch) noexcept {
  Key thr = b.threshold;
  for (std::size_t j = 0; j < nb; ++j) {
    const Key key = key_of(j);
    if (key < thr) {
      b.keys[b.count] = key;
      b.ids[b.count] = id0 + std::int32_t(j);
      if (++b.count == cap) {
        reduce(b, kc, scratch);
        thr = b.threshold;
      }
    }
  }
}

}  // namespace

void topk_reduce(topk_buffer& b, std::size_t kc, float* scratch) noexcept { reduce(b, kc, scratch); }
void topk_reduce(topk_buffer_i32& b, std::size_t kc, std::int32_t* scratch) noexcept { reduce(b, kc, scratch); }

void topk_filter_scalar(topk_buffer& b, const float* scores, const float* offset, std::size_t nb, std::int32_t id0,
                        std::size_t kc, std::size_t cap, float* scratch) noexcept {
  if (offset) filter(b, [&](std::size_t j) { return scores[j] + offset[j]; }, nb, id0, kc, cap, scratch);
  else filter(b, [&](std::size_t j) { return scores[j]; }, nb, id0, kc, cap, scratch);
}

void topk_filter_i32_scalar(topk_buffer_i32& b, const std::int32_t* dots, const std::int32_t* norms, std::size_t nb,
                            std::int32_t id0, std::size_t kc, std::size_t cap, std::int32_t* scratch) noexcept {
  filter(b, [&](std::size_t j) { return norms[j] - 2 * dots[j]; }, nb, id0, kc, cap, scratch);
}

}  // namespace qtune::detail
