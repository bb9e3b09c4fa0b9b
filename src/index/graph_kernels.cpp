#include "index/graph_kernels.hpp"

#include "qtune/simd.hpp"

namespace qtune::detail::graph_kernels {

void dot_u8_i16_batch_scalar(const std::int16_t* w, const std::uint8_t* base, std::size_t stride,
                             const std::uint32_t* ids, std::size_t m, std::size_t dim, std::int32_t* out) noexcept {
  for (std::size_t i = 0; i < m; ++i) {
    const std::uint8_t* c = base + std::size_t(ids[i]) * stride;
    std::int64_t s = 0;
    for (std::size_t j = 0; j < dim; ++j) s += std::int64_t(w[j]) * c[j];
    out[i] = static_cast<std::int32_t>(s);
  }
}

namespace {
bool cpu_has_avx512_vnni() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}
simd_level effective(simd_level level) noexcept {
  const simd_level cap = detected_simd_level();
  if (level > cap) level = cap;
  if (level == simd_level::avx512 && !cpu_has_avx512_vnni()) level = simd_level::avx2;
  return level;
}
}  // namespace

dot_u8_i16_batch_fn dot_u8_i16_batch(simd_level level) noexcept {
  switch (effective(level)) {
    case simd_level::avx512: return dot_u8_i16_batch_avx512vnni;
    case simd_level::avx2: return dot_u8_i16_batch_avx2;
    default: return dot_u8_i16_batch_scalar;
  }
}

const char* dot_u8_i16_batch_name(simd_level level) noexcept {
  switch (effective(level)) {
    case simd_level::avx512: return "avx512-vnni";
    case simd_level::avx2: return "avx2";
    default: return "scalar";
  }
}

}  // namespace qtune::detail::graph_kernels
