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

/// The table of the kernels in namespace `ns` (scalar, avx2, avx512): one list for every level.
/// The integer kernels are ints::l2_u8, ... (ints: ns itself, or a set such as ns::int_kernels).
#define QTUNE_KERNEL_TABLE(ns, lvl, ints, has_vnni)                                                    \
  ::qtune::kernels::table {                                                                           \
    .level = lvl, .l2_f32 = ns::l2_f32, .ip_f32 = ns::ip_f32, .l2_f16 = ns::l2_f16, .ip_f16 = ns::ip_f16, \
    .l2_bf16 = ns::l2_bf16, .ip_bf16 = ns::ip_bf16, .f32_to_f16 = ns::f32_to_f16,                       \
    .f16_to_f32 = ns::f16_to_f32, .f32_to_bf16 = ns::f32_to_bf16, .bf16_to_f32 = ns::bf16_to_f32,      \
    .l2_sq8 = ns::l2_sq8, .l2_sq4 = ns::l2_sq4, .ip_sq8 = ns::ip_sq8, .ip_sq4 = ns::ip_sq4,              \
    .l2_sq8_sym = ns::l2_sq8_sym, .l2_sq4_sym = ns::l2_sq4_sym, .l2_u8 = ints::l2_u8,                    \
    .ip_u8 = ints::ip_u8, .l2_u4 = ints::l2_u4, .ip_u4 = ints::ip_u4,             .pq_lut8 = ns::pq_lut8,   \
    .pq_lut4 = ns::pq_lut4, .pq_lut8_scan = ns::pq_lut8_scan, .vnni = has_vnni,                         \
  }

namespace detail {
// Constant-initialised (no start-up code runs in a SIMD translation unit).
extern const table scalar_table;       // kernels_scalar.cpp
extern const table avx2_table;         // kernels_avx2.cpp
extern const table avx512_table;       // kernels_avx512.cpp, AVX-512 BW integer kernels
extern const table avx512_vnni_table;  // kernels_avx512.cpp, VNNI integer kernels
}  // namespace detail

}  // namespace qtune::kernels
