#pragma once
// Distance kernels: one table of function pointers per SIMD level, filled once.
//
// Every kernel has a scalar reference (kernels_scalar.cpp) and, where it pays, AVX2
// (kernels_avx2.cpp) and AVX-512 (kernels_avx512.cpp) versions, compiled with per-file flags.
// kernels::active() returns the table for qtune::active_simd_level(); kernels::at(level) a
// specific one (tests compare every level with the scalar reference).
//
// Conventions (FAISS names): dim = number of vector components; codes are the bytes a codec
// wrote. All kernels are noexcept and check nothing inside loops; callers guarantee sizes.
// SIMD translation units include only <immintrin.h>, <cstddef>, <cstdint> and this header,
// so no inline STL function is ever compiled with AVX flags (which would break other CPUs).
//
// Layouts:
//  * fp16 / bf16 codes: dim uint16 values, IEEE binary16 / bfloat16 bit patterns.
//  * sq8 codes: dim uint8 values; decoded x_j = offset_j + scale_j * c_j.
//  * sq4 codes: ceil(dim / 2) bytes; component 2i is the LOW nibble of byte i, 2i+1 the high
//    nibble; decoded as for sq8 with c_j in 0..15. An odd dim leaves the last high nibble 0.
//  * pq codes, nbits = 8: M bytes, code m indexes lut[m * 256 + code].
//  * pq codes, nbits = 4: ceil(M / 2) bytes packed like sq4; lut is M x 16.
#include <cstddef>
#include <cstdint>

#include "qtune/simd.hpp"

namespace qtune::kernels {

struct table {
  simd_level level;

  // --- fp32 ----------------------------------------------------------------------------
  float (*l2_f32)(const float* x, const float* y, std::size_t dim) noexcept;  // sum (x-y)^2
  float (*ip_f32)(const float* x, const float* y, std::size_t dim) noexcept;  // sum x*y

  // --- fp16 / bf16 codes against a float query ---------------------------------------
  float (*l2_f16)(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
  float (*ip_f16)(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
  float (*l2_bf16)(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
  float (*ip_bf16)(const float* q, const std::uint16_t* c, std::size_t dim) noexcept;
  void (*f32_to_f16)(const float* x, std::uint16_t* c, std::size_t n) noexcept;  // round to nearest even
  void (*f16_to_f32)(const std::uint16_t* c, float* x, std::size_t n) noexcept;
  void (*f32_to_bf16)(const float* x, std::uint16_t* c, std::size_t n) noexcept;  // round to nearest even
  void (*bf16_to_f32)(const std::uint16_t* c, float* x, std::size_t n) noexcept;

  // --- scalar-quantized codes (sq8: one byte per component; sq4: packed nibbles) -------
  // Asymmetric L2: sum_j (qo_j - scale_j * c_j)^2, where qo = q - offset (prepared per query).
  float (*l2_sq8)(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept;
  float (*l2_sq4)(const float* qo, const float* scale, const std::uint8_t* c, std::size_t dim) noexcept;
  // Asymmetric inner product: sum_j qs_j * c_j, where qs = q * scale (the caller adds the
  // query-only term sum_j q_j * offset_j, prepared once per query).
  float (*ip_sq8)(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept;
  float (*ip_sq4)(const float* qs, const std::uint8_t* c, std::size_t dim) noexcept;
  // Symmetric L2 between two codes: sum_j w_j * (a_j - b_j)^2, with w = scale^2.
  float (*l2_sq8_sym)(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
  float (*l2_sq4_sym)(const float* w, const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
  // Integer kernels on raw codes (uniform scale), VNNI where present:
  // sum (a_j - b_j)^2 and sum a_j * b_j over uint8 codes / packed uint4 codes.
  std::uint32_t (*l2_u8)(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
  std::uint32_t (*ip_u8)(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
  std::uint32_t (*l2_u4)(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;
  std::uint32_t (*ip_u4)(const std::uint8_t* a, const std::uint8_t* b, std::size_t dim) noexcept;

  // --- product quantization: sum of per-subspace look-up table entries -----------------
  float (*pq_lut8)(const float* lut, const std::uint8_t* code, std::size_t M) noexcept;  // lut: M x 256
  float (*pq_lut4)(const float* lut, const std::uint8_t* code, std::size_t M) noexcept;  // lut: M x 16
  // Scan n contiguous codes (code_size bytes each): out[i] = distance of code i.
  void (*pq_lut8_scan)(const float* lut, const std::uint8_t* codes, std::size_t n, std::size_t M,
                       float* out) noexcept;

  // True when the integer kernels (l2_u8, ip_u8, l2_u4, ip_u4) use AVX-512 VNNI
  // (vpdpbusd / vpdpwssd); results are identical either way.
  bool vnni;
};

/// The table for the active SIMD level (re-read after a scoped_simd_level change).
const table& active() noexcept;
/// The table for `level` (clamped to what the CPU supports).
const table& at(simd_level level) noexcept;

}  // namespace qtune::kernels
