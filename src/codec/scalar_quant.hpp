#pragma once
// Scalar quantization routines shared by the vector codecs (sq8, sq4) and the model-weight
// block formats (q8_0, q4_0, q4_k, ... and per-group int8/int4): one core, not two copies.
//
// A code is an unsigned integer c in [0, qmax]; the value it stands for is lo + scale * c
// (affine) or scale * (c - zero) (symmetric, as GGUF's q8_0/q4_0 store it).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace qtune::sq {

/// How a scaled value becomes an integer. GGUF's reference quantizers use all three:
/// q8_0 uses roundf (half away from zero); q4_0/q4_1/q5_x truncate x + 0.5 after offsetting;
/// K-quants use nearest_int (half to even, via the 1.5*2^23 trick).
enum class rounding { half_away_from_zero, half_to_even, truncate_after_half };

inline int round_to_int(float v, rounding r) noexcept {
  switch (r) {
    case rounding::half_away_from_zero: return static_cast<int>(std::roundf(v));
    case rounding::half_to_even: return static_cast<int>(std::nearbyintf(v));  // default FE_TONEAREST
    case rounding::truncate_after_half: return static_cast<int>(v + 0.5f);     // C cast truncates toward 0
  }
  return 0;
}

inline int clamp_code(int v, int qmin, int qmax) noexcept { return std::min(qmax, std::max(qmin, v)); }

/// Affine quantization of n values with one range: c = clamp(round((x - lo) * inv_scale), 0, qmax).
inline void quantize_affine(const float* x, std::size_t n, float lo, float inv_scale, int qmax,
                            std::uint8_t* codes, rounding r = rounding::half_to_even) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    codes[i] = static_cast<std::uint8_t>(clamp_code(round_to_int((x[i] - lo) * inv_scale, r), 0, qmax));
}

/// Affine quantization with one range per component j (vector codecs: per-dimension ranges).
inline void quantize_affine_per_dim(const float* x, std::size_t dim, const float* lo, const float* inv_scale,
                                    int qmax, std::uint8_t* codes,
                                    rounding r = rounding::half_to_even) noexcept {
  for (std::size_t j = 0; j < dim; ++j)
    codes[j] = static_cast<std::uint8_t>(clamp_code(round_to_int((x[j] - lo[j]) * inv_scale[j], r), 0, qmax));
}

inline void dequantize_affine(const std::uint8_t* codes, std::size_t n, float lo, float scale, float* x) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = lo + scale * static_cast<float>(codes[i]);
}

inline void dequantize_affine_per_dim(const std::uint8_t* codes, std::size_t dim, const float* lo,
                                      const float* scale, float* x) noexcept {
  for (std::size_t j = 0; j < dim; ++j) x[j] = lo[j] + scale[j] * static_cast<float>(codes[j]);
}

/// Symmetric quantization around `zero`: c = clamp(round(x * inv_scale) + zero, 0, qmax).
/// (q8_0: zero = 0 with signed storage; q4_0: zero = 8, qmax = 15.)
inline void quantize_symmetric(const float* x, std::size_t n, float inv_scale, int zero, int qmin, int qmax,
                               int* codes, rounding r) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    codes[i] = clamp_code(round_to_int(x[i] * inv_scale, r) + zero, qmin, qmax);
}

/// Packs n 4-bit codes two per byte, LOW nibble first: code 2i -> bits 0..3 of byte i,
/// code 2i+1 -> bits 4..7. An odd n leaves the last high nibble 0. out: ceil(n/2) bytes.
inline void pack_nibbles(const std::uint8_t* codes, std::size_t n, std::uint8_t* out) noexcept {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    out[i / 2] = static_cast<std::uint8_t>((codes[i] & 0x0F) | ((codes[i + 1] & 0x0F) << 4));
  if (n % 2) out[n / 2] = codes[n - 1] & 0x0F;
}

inline void unpack_nibbles(const std::uint8_t* packed, std::size_t n, std::uint8_t* codes) noexcept {
  for (std::size_t i = 0; i < n; ++i) codes[i] = (packed[i / 2] >> ((i % 2) * 4)) & 0x0F;
}

}  // namespace qtune::sq
