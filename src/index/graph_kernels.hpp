#pragma once
// Integer distance kernels of the graph search (private to src/index), one per ISA with a scalar
// reference, chosen at run time (AVX-512 VNNI vpdpwssd, else AVX2 vpmaddwd, else scalar; capped
// by qtune::active_simd_level()).
//
// dot_u8_i16_batch: for each of m nodes, out[i] = sum_j w[j] * c_j where c = the uint8 code at
// base + ids[i] * stride (dim bytes, read with masked loads: nothing past byte dim is touched) and
// w = dim int16 weights, zero-padded to a multiple of 64 entries (64-byte aligned is best). The
// caller bounds |w[j]| so that 255 * dim * max|w| < 2^31: every partial sum is then exact and all
// levels give the same integer.
#include <cstddef>
#include <cstdint>


// Opaque declaration of qtune::simd_level (qtune/simd.hpp): the SIMD translation units include
// only <immintrin.h>, <cstddef>, <cstdint> and this header, so that no inline standard-library
// function is ever compiled with AVX flags.
namespace qtune {
enum class simd_level;
}

namespace qtune::detail::graph_kernels {

using dot_u8_i16_batch_fn = void (*)(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                                     const std::uint32_t* ids, std::size_t m, std::size_t dim,
                                     std::int32_t* out) noexcept;

void dot_u8_i16_batch_scalar(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                             const std::uint32_t* ids, std::size_t m, std::size_t dim, std::int32_t* out) noexcept;
void dot_u8_i16_batch_avx2(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                           const std::uint32_t* ids, std::size_t m, std::size_t dim, std::int32_t* out) noexcept;
void dot_u8_i16_batch_avx512vnni(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                                 const std::uint32_t* ids, std::size_t m, std::size_t dim, std::int32_t* out) noexcept;

/// The kernel for `level` (clamped to what the CPU has); "avx512" needs AVX-512 VNNI, else AVX2 runs.
dot_u8_i16_batch_fn dot_u8_i16_batch(simd_level level) noexcept;
/// The name of the kernel dot_u8_i16_batch(level) returns: "scalar", "avx2" or "avx512-vnni".
const char* dot_u8_i16_batch_name(simd_level level) noexcept;

}  // namespace qtune::detail::graph_kernels
