#pragma once
// Run-time SIMD dispatch. Kernels exist at every level; the best level the CPU supports is
// chosen once at start-up. QTUNE_SIMD=scalar|avx2|avx512 in the environment caps it (for
// tests and for comparing levels); scoped_simd_level caps it inside a scope (tests).
#include <string>
#include <string_view>

namespace qtune {

enum class simd_level {
  scalar = 0,  ///< portable C++ reference, always built
  avx2 = 1,    ///< AVX2 + FMA + F16C
  avx512 = 2,  ///< AVX-512 F/BW/DQ/VL (+ VNNI where the CPU has it)
};

/// Highest level this CPU supports (cpuid + OS support for the registers).
simd_level detected_simd_level();
/// Level in use now: min(detected, $QTUNE_SIMD, innermost scoped_simd_level).
simd_level active_simd_level();
std::string to_string(simd_level level);
/// "scalar" | "avx2" | "avx512"; throws qtune::error otherwise.
simd_level parse_simd_level(std::string_view name);
/// AVX-512 VNNI present and AVX-512 usable (the integer kernels use vpdpbusd / vpdpwssd then).
bool cpu_has_avx512_vnni() noexcept;
/// A human description of the CPU, e.g. "Intel(R) Xeon(R) ... (avx512, vnni)".
std::string cpu_description();

/// Caps the active level while alive (not thread-safe: tests set it from the main thread).
class scoped_simd_level {
 public:
  explicit scoped_simd_level(simd_level cap);
  ~scoped_simd_level();
  scoped_simd_level(const scoped_simd_level&) = delete;
  scoped_simd_level& operator=(const scoped_simd_level&) = delete;

 private:
  simd_level previous_;
};

}  // namespace qtune
