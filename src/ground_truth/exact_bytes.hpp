#pragma once
// Byte-valued data in exact_knn: when every component of the base and the queries is an integer
// within one window of 256 values (SIFT and BIGANN descriptors, MNIST pixels, ...), squared L2
// distances are integers that an int8 GEMM computes exactly, four times faster than sgemm on
// VNNI cores and with no float64 re-scoring. oneDNN's u8 x s8 -> s32 GEMM does the products;
// without VNNI it sums pairs in saturating int16 (inexact), so it is used only where a check
// with worst-case operands proves it exact (int8_gemm_is_exact). Not installed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "qtune/dataset.hpp"

namespace qtune::detail {

/// Whether int8_gemm is exact on this machine: checked once per process, with operands that
/// overflow int16 pair sums (255 * 127 + 255 * 127, 255 * -128 + 255 * -128).
bool int8_gemm_is_exact();

/// c[i * ldc + j] = sum_t a[i * lda + t] * b[j * ldb + t], for i < m, j < n, t < k; int32
/// accumulation (callers keep k * 255 * 128 inside int32). Runs on the calling thread only
/// (oneDNN's OpenMP team is capped at one thread for the call): exact_knn parallelises with TBB.
void int8_gemm(const std::uint8_t* a, std::size_t lda, const std::int8_t* b, std::size_t ldb, std::size_t m,
               std::size_t n, std::size_t k, std::int32_t* c, std::size_t ldc);

/// The smallest c such that every component of base and queries is an integer in [c, c + 255],
/// if there is one (none for NaN, infinities or fractions).
std::optional<float> byte_window(matrix_view<float> base, matrix_view<float> queries);

/// x shifted into the window, u = v - c in [0, 255], as row-major bytes u - bias (bias 0: u8;
/// bias 128: s8 in two's complement), with each row's sum u^2 and sum u.
struct byte_rows {
  std::vector<std::uint8_t> bytes;
  std::vector<std::int64_t> norm;
  std::vector<std::int64_t> sum;
};
byte_rows to_bytes(matrix_view<float> x, float c, int bias);

}  // namespace qtune::detail
