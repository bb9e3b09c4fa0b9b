// Picks the kernel table. The tables are constant data (no start-up code in SIMD files);
// at() never hands out a level the CPU lacks, so a table's code only runs where it can.
#include "kernels/kernel_tables.hpp"

namespace qtune::kernels {

const table& at(simd_level level) noexcept {
  const simd_level detected = detected_simd_level();
  if (static_cast<int>(level) > static_cast<int>(detected)) level = detected;
  switch (level) {
    case simd_level::avx512:
      return cpu_has_avx512_vnni() ? detail::avx512_vnni_table : detail::avx512_table;
    case simd_level::avx2:
      return detail::avx2_table;
    case simd_level::scalar:
      break;
  }
  return detail::scalar_table;
}

// Re-reads the cap on every call (three relaxed loads and a min): callers on hot paths keep
// the returned table, or one of its function pointers, for the duration of a query batch.
// An invalid $QTUNE_SIMD makes active_simd_level() throw, which ends the program here with
// its message; call active_simd_level() first to report it cleanly.
const table& active() noexcept { return at(active_simd_level()); }

}  // namespace qtune::kernels
