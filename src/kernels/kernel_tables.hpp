#pragma once
// Internal to src/kernels: the per-level tables and the scalar
// reference functions. SIMD translation units may include this (declarations only, no STL).
#include "kernels/kernels.hpp"

namespace qtune::kernels {

// The scalar reference (kernels_scalar.cpp): always built, no special flags. Shapes as in
// the table fields of kernels.hpp.
namespace scalar {
float l2_f32(const float* x, const float* y, std::size_t dim) noexcept;
float ip_f32(const float* x, const float* y, std::size_t dim) noexcept;
float l2_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
float ip_f16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
float l2_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
float ip_bf16(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
void f32_to_f16(const float* x, std::uint16_t* c, std::size_t n) noexcept;
void f16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept;
void f32_to_bf16(const float* x, std::uint16_t* c, std::size_t n) noexcept;
void bf16_to_f32(const std::uint16_t* c, float* x, std::size_t n) noexcept;
float l2_sq8(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept;
float l2_sq4(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept;
float ip_sq8(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept;
float ip_sq4(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept;
float l2_sq8_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
float l2_sq4_sym(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
std::uint32_t l2_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
std::uint32_t ip_u8(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
std::uint32_t l2_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
std::uint32_t ip_u4(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
float pq_lut8(const float* lut, const std::uint8_t* code, std::size_t M) noexcept;
float pq_lut4(const float* lut, const std::uint8_t* code, std::size_t M) noexcept;
void pq_lut8_scan(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                  float* out) noexcept;
}  // namespace scalar

namespace detail {
// Constant-initialised (no start-up code runs in a SIMD translation unit).
extern const table scalar_table;       // kernels_scalar.cpp
extern const table avx2_table;         // kernels_avx2.cpp
extern const table avx512_table;       // kernels_avx512.cpp, AVX-512 BW integer kernels
extern const table avx512_vnni_table;  // kernels_avx512.cpp, VNNI integer kernels
}  // namespace detail

}  // namespace qtune::kernels
