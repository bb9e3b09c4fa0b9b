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

#include "util/half.hpp"

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

// ---- additions for the model-weight block formats (src/weights/) ------------------------------
// These reproduce the arithmetic of llama.cpp's reference quantizers operation for operation
// (same float expressions, same order), so the blocks they produce are byte-identical.

// Half floats come from the one converter (util/half.hpp): IEEE binary16 / bfloat16 <-> binary32,
// round to nearest even, bit-exact with F16C (ggml's GGML_FP32_TO_FP16 on x86).
using ::qtune::bf16_to_fp32;
using ::qtune::fp16_to_fp32;
using ::qtune::fp32_to_fp16;

/// ggml's nearest_int: round half to even through the 1.5*2^23 trick; valid for |v| <= 4194303.
inline int nearest_int(float v) noexcept {
  float val = v + 12582912.f;
  int i;
  __builtin_memcpy(&i, &val, 4);
  return (i & 0x007fffff) - 0x00400000;
}

/// Symmetric quantization with an offset, truncated: c = min(qmax, (int8)(x * inv_scale + offset)).
/// This is q4_0 (offset 8.5, qmax 15) and q5_0 (offset 16.5, qmax 31) exactly as llama.cpp
/// writes it: the half is added in the same float expression as the zero point.
inline void quantize_offset_truncate(const float* x, std::size_t n, float inv_scale, float offset, int qmax,
                                     std::uint8_t* codes) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i] * inv_scale;
    codes[i] = static_cast<std::uint8_t>(std::min(qmax, static_cast<int>(static_cast<std::int8_t>(v + offset))));
  }
}

/// Packs n (even) 4-bit codes in the GGUF "split halves" order used by q4_0/q4_1/q5_x and the
/// K-quants: byte i holds code i in its LOW nibble and code i + n/2 in its HIGH nibble.
/// out: n/2 bytes. Only the low 4 bits of each code are used.
inline void pack_nibbles_split(const std::uint8_t* codes, std::size_t n, std::uint8_t* out) noexcept {
  const std::size_t h = n / 2;
  for (std::size_t i = 0; i < h; ++i)
    out[i] = static_cast<std::uint8_t>((codes[i] & 0x0F) | ((codes[i + h] & 0x0F) << 4));
}

inline void unpack_nibbles_split(const std::uint8_t* packed, std::size_t n, std::uint8_t* codes) noexcept {
  const std::size_t h = n / 2;
  for (std::size_t i = 0; i < h; ++i) {
    codes[i] = packed[i] & 0x0F;
    codes[i + h] = packed[i] >> 4;
  }
}

/// Smallest |x| treated as non-zero by the K-quant scale searches (ggml's GROUP_MAX_EPS).
inline constexpr float group_max_eps = 1e-15f;

/// Symmetric scale search of ggml's make_qx_quants: codes L[i] in [0, 2*nmax) stand for
/// (L[i] - nmax) * scale; returns the scale. rmse_type 1 weights errors by x^2; a non-null
/// `weights` (n floats) replaces those weights (importance-aware rounding). L: n bytes.
inline float make_qx_quants(int n, int nmax, const float* x, std::int8_t* L, int rmse_type,
                            const float* weights) noexcept {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) { amax = ax; max = x[i]; }
  }
  if (amax < group_max_eps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  if (rmse_type == 0) {
    for (int i = 0; i < n; ++i) L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i]))));
    return 1 / iscale;
  }
  bool return_early = false;
  if (rmse_type < 0) { rmse_type = -rmse_type; return_early = true; }
  auto weight = [&](int i) -> float {
    return weights ? weights[i]
           : rmse_type == 1 ? x[i] * x[i]
           : rmse_type == 2 ? 1.f
           : rmse_type == 3 ? std::fabs(x[i])
                            : std::sqrt(std::fabs(x[i]));
  };
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
    L[i] = static_cast<std::int8_t>(l + nmax);
    const float w = weight(i);
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  if (return_early) return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
      const float w = weight(i);
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = static_cast<std::int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i]))));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

/// Affine (scale + min) search of ggml's make_qkx2_quants: codes L[i] in [0, nmax] stand for
/// scale * L[i] - *the_min; minimises sum weights[i] * err^2 (or |err| with use_mad) over
/// nstep+1 candidate scales. x, weights: n floats; L, Laux: n bytes (Laux is scratch).
inline float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, std::uint8_t* L,
                              float* the_min, std::uint8_t* Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) noexcept {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<std::uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_error += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min))));
      Laux[i] = static_cast<std::uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        cur_error += weights[i] * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

}  // namespace qtune::sq
