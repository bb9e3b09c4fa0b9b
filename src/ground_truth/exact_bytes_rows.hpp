#pragma once
// Row kernels of the byte pass (exact_bytes.hpp), scalar and AVX-512. Only <cstddef>/<cstdint>
// here: the AVX-512 file includes it.
#include <cstddef>
#include <cstdint>

namespace qtune::detail {

/// Running window test: lo/hi are the extremes seen, integers stays true while every value is
/// an integer of magnitude < 2^24 (so NaN and infinities make it false).
struct window_stats {
  float lo;
  float hi;
  bool integers;
};
void window_row(const float* v, std::size_t dim, window_stats& w) noexcept;
void window_row_avx512(const float* v, std::size_t dim, window_stats& w) noexcept;

/// out[d] = low byte of (u_d - bias), u_d = v[d] - c (an integer in [0, 255]); returns
/// sum u_d^2 and sum u_d. dim <= 32000.
struct byte_row_sums {
  std::int64_t norm;
  std::int64_t sum;
};
byte_row_sums bytes_row(const float* v, std::size_t dim, float c, int bias, std::uint8_t* out) noexcept;
byte_row_sums bytes_row_avx512(const float* v, std::size_t dim, float c, int bias, std::uint8_t* out) noexcept;

}  // namespace qtune::detail
