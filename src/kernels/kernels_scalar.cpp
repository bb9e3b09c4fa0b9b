// The scalar reference: plain C++, always built without SIMD flags. Every SIMD kernel is
// tested against these. Float sums run in index order with one float accumulator, so the
// reference is simple to reason about; SIMD levels reorder the sum (tests allow ~1e-5).
#include <cstring>

#include "kernels/kernel_tables.hpp"
#include "util/half.hpp"

namespace qtune::kernels::scalar {

namespace {

// The one half-float converter (util/half.hpp), bit-exact with F16C.
inline std::uint16_t to_f16(float f) noexcept { return fp32_to_fp16(f); }
inline float from_f16(std::uint16_t h) noexcept { return fp16_to_fp32(h); }
inline std::uint16_t to_bf16(float f) noexcept { return fp32_to_bf16(f); }
inline float from_bf16(std::uint16_t h) noexcept { return bf16_to_fp32(h); }

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

namespace {
// sum (q - from(c))^2 and sum q * from(c) over half-float codes.
template <float (*from)(std::uint16_t) noexcept>
float l2_half(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) {
    const float d = q[j] - from(c[j]);
    s += d * d;
  }
  return s;
}
template <float (*from)(std::uint16_t) noexcept>
float ip_half(const float* q, const std::uint16_t* c, std::size_t dim) noexcept {
  float s = 0.0f;
  for (std::size_t j = 0; j < dim; ++j) s += q[j] * from(c[j]);
  return s;
}
}  // namespace

float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_half<from_f16>(q, c, dim); }
float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_half<from_f16>(q, c, dim); }
float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return l2_half<from_bf16>(q, c, dim); }
float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept { return ip_half<from_bf16>(q, c, dim); }

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

constinit const table scalar_table = QTUNE_KERNEL_TABLE(::qtune::kernels::scalar, simd_level::scalar, ::qtune::kernels::scalar, false);

}  // namespace qtune::kernels::detail
