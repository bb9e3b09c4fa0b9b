#pragma once
// Half floats: THE converters between binary32 and IEEE binary16 / bfloat16, used by the kernels'
// scalar reference, the codecs, the dataset readers (.npy float16) and the weight block formats.
//
// Both directions are bit-exact with F16C (vcvtps2ph with imm 0 = round to nearest even, and
// vcvtph2ps): a NaN keeps its sign and its top payload bits and becomes quiet; overflow rounds to
// +-inf; subnormals are exact. bfloat16 rounds to nearest even; a NaN stays NaN (made quiet).
// Header-only and free of STL functions, so any translation unit (SIMD ones included) may use it.
#include <cstdint>

namespace qtune {

namespace detail {
inline std::uint32_t float_bits(float f) noexcept {
  std::uint32_t u;
  __builtin_memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(std::uint32_t u) noexcept {
  float f;
  __builtin_memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace detail

/// binary32 -> binary16, round to nearest even.
inline std::uint16_t fp32_to_fp16(float f) noexcept {
  const std::uint32_t x = detail::float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf or NaN
    if (a == 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7c00u);
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  }
  // 0x477ff000 is halfway between 65504 (largest half, odd mantissa) and 65536: ties to inf.
  if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (a < 0x38800000u) {  // below 2^-14: half subnormal (or zero)
    const std::uint32_t e = a >> 23;
    const std::uint32_t shift = 126u - e;  // value / 2^-24 = m >> shift
    if (e == 0 || shift > 24) return static_cast<std::uint16_t>(sign);
    const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u))) ++h;  // may carry into the smallest normal
    return static_cast<std::uint16_t>(sign | h);
  }
  const std::uint32_t t = a - (112u << 23);  // rebias exponent 127 -> 15
  std::uint32_t h = t >> 13;
  const std::uint32_t rem = t & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry bumps the exponent
  return static_cast<std::uint16_t>(sign | h);
}

/// binary16 -> binary32 (exact).
inline float fp16_to_fp32(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu;
  std::uint32_t m = h & 0x3ffu;
  if (e == 0x1f) {
    if (m == 0) return detail::bits_float(sign | 0x7f800000u);
    return detail::bits_float(sign | 0x7fc00000u | (m << 13));
  }
  if (e == 0) {
    if (m == 0) return detail::bits_float(sign);
    std::uint32_t exp = 113;  // subnormal m * 2^-24: normalise; 127 - 14
    while ((m & 0x400u) == 0) {
      m <<= 1;
      --exp;
    }
    return detail::bits_float(sign | (exp << 23) | ((m & 0x3ffu) << 13));
  }
  return detail::bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

/// binary32 -> bfloat16, round to nearest even.
inline std::uint16_t fp32_to_bf16(float f) noexcept {
  const std::uint32_t x = detail::float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/// bfloat16 -> binary32 (exact).
inline float bf16_to_fp32(std::uint16_t h) noexcept { return detail::bits_float(static_cast<std::uint32_t>(h) << 16); }

}  // namespace qtune
