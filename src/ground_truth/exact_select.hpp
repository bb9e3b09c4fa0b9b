#pragma once
// Candidate selection of exact_knn's first pass: a per-query buffer that takes every key below a
// threshold and, when full, keeps only the kc smallest keys and lowers the threshold to the
// largest kept key. Any candidate ever dropped has key >= the final threshold, which is all
// that the passes' proofs (float_pass::finish, byte_pass::finish) need. Two key types: float32
// (the sgemm pass: key = score + offset) and int32 (the byte pass: key = norm - 2 * dot, exact).
// Only <cstddef>/<cstdint> here: the AVX-512 file includes it and must not instantiate STL code
// with AVX flags.
#include <cstddef>
#include <cstdint>

namespace qtune::detail {

template <class Key>
struct topk_buffer_of {
  Key* keys;            ///< capacity `cap` (see topk_filter_*)
  std::int32_t* ids;
  std::size_t count;
  Key threshold;        ///< unbounded (+inf, INT32_MAX) until kc candidates are kept
};
using topk_buffer = topk_buffer_of<float>;
using topk_buffer_i32 = topk_buffer_of<std::int32_t>;

/// If b holds kc or more: keeps kc of them, the kc smallest keys (any of those equal to the
/// kc-th), in any order, and sets threshold to the kc-th smallest key. scratch: b.count keys.
void topk_reduce(topk_buffer& b, std::size_t kc, float* scratch) noexcept;
void topk_reduce(topk_buffer_i32& b, std::size_t kc, std::int32_t* scratch) noexcept;
/// The same with AVX-512 (the AVX-512 filters use it): a bisection for the kc-th key instead of
/// nth_element; buffers over 1024 keys go to topk_reduce.
void topk_reduce_avx512(topk_buffer& b, std::size_t kc, float* scratch) noexcept;
void topk_reduce_avx512(topk_buffer_i32& b, std::size_t kc, std::int32_t* scratch) noexcept;

/// Appends (scores[j] + offset[j], id0 + j) for every j < nb whose key is below b.threshold
/// (offset may be null: no offset), reducing to kc when the buffer is full (the AVX-512 one when
/// fewer than 16 free slots are left, since it stores whole vectors).
/// cap >= kc + 32; scratch: cap floats.
void topk_filter_scalar(topk_buffer& b, const float* scores, const float* offset, std::size_t nb,
                        std::int32_t id0, std::size_t kc, std::size_t cap, float* scratch) noexcept;
void topk_filter_avx512(topk_buffer& b, const float* scores, const float* offset, std::size_t nb,
                        std::int32_t id0, std::size_t kc, std::size_t cap, float* scratch) noexcept;

/// The same for int32 keys norms[j] - 2 * dots[j] (the caller keeps them inside int32).
void topk_filter_i32_scalar(topk_buffer_i32& b, const std::int32_t* dots, const std::int32_t* norms,
                            std::size_t nb, std::int32_t id0, std::size_t kc, std::size_t cap,
                            std::int32_t* scratch) noexcept;
void topk_filter_i32_avx512(topk_buffer_i32& b, const std::int32_t* dots, const std::int32_t* norms,
                            std::size_t nb, std::int32_t id0, std::size_t kc, std::size_t cap,
                            std::int32_t* scratch) noexcept;

}  // namespace qtune::detail
