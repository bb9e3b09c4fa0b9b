// The scalar reference: plain C++, always built without SIMD flags. Every SIMD kernel is
// tested against these. Float sums run in index order with one float accumulator, so the
// reference is simple to reason about; SIMD levels reorder the sum (tests allow ~1e-5).
#include <cstring>

#include "kernels/kernel_tables.hpp"

namespace qtune::kernels::scalar {

namespace {

std::uint32_t float_bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float bits_float(std::uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// IEEE binary32 -> binary16, round to nearest even; bit-exact with F16C vcvtps2ph
// (imm = round to nearest): NaN keeps its sign and top 10 payload bits and becomes quiet.
std::uint16_t to_f16(float f) noexcept {
  const std::uint32_t x = float_bits(f);
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

// binary16 -> binary32 is exact; NaN keeps its payload and becomes quiet (as vcvtph2ps).
float from_f16(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu;
  std::uint32_t m = h & 0x3ffu;
  if (e == 0x1f) {
    if (m == 0) return bits_float(sign | 0x7f800000u);
    return bits_float(sign | 0x7fc00000u | (m << 13));
  }
  if (e == 0) {
    if (m == 0) return bits_float(sign);
    // subnormal: normalise m * 2^-24
    std::uint32_t exp = 113;  // 127 - 14
    while ((m & 0x400u) == 0) {
      m <<= 1;
      --exp;
    }
    return bits_float(sign | (exp << 23) | ((m & 0x3ffu) << 13));
  }
  return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

// binary32 -> bfloat16, round to nearest even; NaN stays NaN (made quiet, sign kept).
std::uint16_t to_bf16(float f) noexcept {
  const std::uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float from_bf16(std::uint16_t h) noexcept { return bits_float(static_cast<std::uint32_t>(h) << 16); }

// Component j of a packed 4-bit code: low nibble first.
std::uint32_t nibble(const std::uint8_t* c, std::size_t j) noexcept {
  return (j & 1) ? (c[j >> 1] >> 4) : (c[j >> 1] & 0x0fu);
}

}  // namespace

float l2_f32(const float* x, const float* y, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = x[j] - y[j];
    s += d * d;
  }
  return s;
}

float ip_f32(const float* x, const float* y, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += x[j] * y[j];
  return s;
}

float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = q[j] - from_f16(c[j]);
    s += d * d;
  }
  return s;
}

float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += q[j] * from_f16(c[j]);
  return s;
}

float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = q[j] - from_bf16(c[j]);
    s += d * d;
  }
  return s;
}

float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += q[j] * from_bf16(c[j]);
  return s;
}

void f32_to_f16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) c[i] = to_f16(x[i]);
}

void f16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = from_f16(c[i]);
}

void f32_to_bf16(const float* x, std::uint16_t* c, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) c[i] = to_bf16(x[i]);
}

void bf16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = from_bf16(c[i]);
}

float l2_sq8(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = qo[j] - scale[j] * static_cast<float>(c[j]);
    s += d * d;
  }
  return s;
}

float l2_sq4(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = qo[j] - scale[j] * static_cast<float>(nibble(c, j));
    s += d * d;
  }
  return s;
}

float ip_sq8(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += qs[j] * static_cast<float>(c[j]);
  return s;
}

float ip_sq4(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += qs[j] * static_cast<float>(nibble(c, j));
  return s;
}

float l2_sq8_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = static_cast<float>(static_cast<int>(a[j]) - static_cast<int>(b[j]));
    s += w[j] * (d * d);
  }
  return s;
}

float l2_sq4_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = static_cast<float>(static_cast<int>(nibble(a, j)) - static_cast<int>(nibble(b, j)));
    s += w[j] * (d * d);
  }
  return s;
}

std::uint32_t l2_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  std::uint32_t s = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const int d = static_cast<int>(a[j]) - static_cast<int>(b[j]);
    s += static_cast<std::uint32_t>(d * d);
  }
  return s;
}

std::uint32_t ip_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  std::uint32_t s = 0;
  for (std::size_t j = 0; j < dim; ++j) s += static_cast<std::uint32_t>(a[j]) * b[j];
  return s;
}

std::uint32_t l2_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  std::uint32_t s = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const int d = static_cast<int>(nibble(a, j)) - static_cast<int>(nibble(b, j));
    s += static_cast<std::uint32_t>(d * d);
  }
  return s;
}

std::uint32_t ip_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept {
  std::uint32_t s = 0;
  for (std::size_t j = 0; j < dim; ++j) s += nibble(a, j) * nibble(b, j);
  return s;
}

float pq_lut8(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  float s = 0.0f;
  for (std::size_t m = 0; m < M; ++m) s += lut[m * 256 + code[m]];
  return s;
}

float pq_lut4(const float* lut, const std::uint8_t* code, std::size_t M) noexcept {
  float s = 0.0f;
  for (std::size_t m = 0; m < M; ++m) s += lut[m * 16 + nibble(code, m)];
  return s;
}

void pq_lut8_scan(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                  float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = pq_lut8(lut, codes + i * M, M);
}

}  // namespace qtune::kernels::scalar

namespace qtune::kernels::detail {

namespace s = ::qtune::kernels::scalar;

constinit const table scalar_table = {
    .level = simd_level::scalar,
    .l2_f32 = s::l2_f32,
    .ip_f32 = s::ip_f32,
    .l2_f16 = s::l2_f16,
    .ip_f16 = s::ip_f16,
    .l2_bf16 = s::l2_bf16,
    .ip_bf16 = s::ip_bf16,
    .f32_to_f16 = s::f32_to_f16,
    .f16_to_f32 = s::f16_to_f32,
    .f32_to_bf16 = s::f32_to_bf16,
    .bf16_to_f32 = s::bf16_to_f32,
    .l2_sq8 = s::l2_sq8,
    .l2_sq4 = s::l2_sq4,
    .ip_sq8 = s::ip_sq8,
    .ip_sq4 = s::ip_sq4,
    .l2_sq8_sym = s::l2_sq8_sym,
    .l2_sq4_sym = s::l2_sq4_sym,
    .l2_u8 = s::l2_u8,
    .ip_u8 = s::ip_u8,
    .l2_u4 = s::l2_u4,
    .ip_u4 = s::ip_u4,
    .pq_lut8 = s::pq_lut8,
    .pq_lut4 = s::pq_lut4,
    .pq_lut8_scan = s::pq_lut8_scan,
    .vnni = false,
};

}  // namespace qtune::kernels::detail
