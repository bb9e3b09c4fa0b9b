#pragma once
// Float32 candidate selection of exact_knn: a per-query buffer that takes every score below a
// threshold and, when full, keeps only the kc smallest keys and lowers the threshold to the
// largest kept key. Any candidate ever dropped has key >= the final threshold, which is
// all that finish_query's proof needs. Only <cstddef>/<cstdint> here: the AVX-512 file
// includes it and must not instantiate STL code with AVX flags.
#include <cstddef>
#include <cstdint>

namespace qtune::detail {

struct topk_buffer {
  float* keys;          ///< capacity `cap` (see topk_filter_*)
  std::int32_t* ids;
  std::size_t count;
  float threshold;      ///< +inf until kc candidates are kept
};

/// If b holds kc or more: keeps kc of them, the kc smallest keys (any of those equal to the
/// kc-th), in any order, and sets threshold to the kc-th smallest key. scratch: b.count floats.
void topk_reduce(topk_buffer& b, std::size_t kc, float* scratch) noexcept;

/// Appends (scores[j] + offset[j], id0 + j) for every j < nb whose key is below b.threshold
/// (offset may be null: no offset), reducing to kc when the buffer is full (the AVX-512 one when
/// fewer than 16 free slots are left, since it stores whole vectors).
/// cap >= kc + 32; scratch: cap floats.
void topk_filter_scalar(topk_buffer& b, const float* scores, const float* offset, std::size_t nb,
                        std::int32_t id0, std::size_t kc, std::size_t cap, float* scratch) noexcept;
void topk_filter_avx512(topk_buffer& b, const float* scores, const float* offset, std::size_t nb,
                        std::int32_t id0, std::size_t kc, std::size_t cap, float* scratch) noexcept;

}  // namespace qtune::detail
