// SIMD level detection and capping. The detected level and the $QTUNE_SIMD cap are computed
// once (function-local statics, so calls from other translation units' static initialisers
// are safe); the scoped cap is an atomic so active_simd_level() stays cheap and race-free.
#include "qtune/simd.hpp"

#include <cpuid.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "qtune/error.hpp"

namespace qtune {

namespace {

struct cpu_features {
  simd_level level = simd_level::scalar;
  bool vnni = false;
};

std::uint64_t read_xcr0() noexcept {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

cpu_features probe_cpu() noexcept {
  cpu_features f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  const bool avx512dq = ebx & (1u << 17);
  const bool avx512bw = ebx & (1u << 30);
  const bool avx512vl = ebx & (1u << 31);
  const bool avx512vnni = ecx & (1u << 11);
  if (!(os_ymm && avx2 && fma && f16c)) return f;
  f.level = simd_level::avx2;
  if (os_zmm && avx512f && avx512dq && avx512bw && avx512vl) {
    f.level = simd_level::avx512;
    f.vnni = avx512vnni;
  }
  return f;
}

const cpu_features& features() noexcept {
  static const cpu_features f = probe_cpu();
  return f;
}

// $QTUNE_SIMD, read once. An invalid value is reported (as qtune::error) on every use.
struct env_cap {
  simd_level cap = simd_level::avx512;
  std::string error;
};

const env_cap& environment_cap() {
  static const env_cap e = [] {
    env_cap r;
    const char* v = std::getenv("QTUNE_SIMD");
    if (v == nullptr || *v == '\0') return r;
    try {
      r.cap = parse_simd_level(v);
    } catch (const error& ex) {
      r.error = std::string("environment variable QTUNE_SIMD: ") + ex.what();
    }
    return r;
  }();
  return e;
}

std::atomic<int> g_scope_cap{static_cast<int>(simd_level::avx512)};

}  // namespace

simd_level detected_simd_level() { return features().level; }

simd_level active_simd_level() {
  const env_cap& e = environment_cap();
  if (!e.error.empty()) fail(e.error);
  const int level = std::min({static_cast<int>(features().level), static_cast<int>(e.cap),
                              g_scope_cap.load(std::memory_order_relaxed)});
  return static_cast<simd_level>(level);
}

std::string to_string(simd_level level) {
  switch (level) {
    case simd_level::scalar: return "scalar";
    case simd_level::avx2: return "avx2";
    case simd_level::avx512: return "avx512";
  }
  return "?";
}

simd_level parse_simd_level(std::string_view name) {
  if (name == "scalar") return simd_level::scalar;
  if (name == "avx2") return simd_level::avx2;
  if (name == "avx512") return simd_level::avx512;
  fail("unknown SIMD level '", name, "' (expected scalar, avx2 or avx512)");
}

std::string cpu_description() {
  std::string model;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        model = line.substr(colon + 1);
        const auto first = model.find_first_not_of(" \t");
        model = first == std::string::npos ? std::string() : model.substr(first);
      }
      break;
    }
  }
  if (model.empty()) model = "unknown CPU";
  std::string d = model + " (" + to_string(detected_simd_level());
  if (features().vnni) d += ", vnni";
  const simd_level active = active_simd_level();
  if (active != detected_simd_level()) d += ", capped to " + to_string(active);
  return d + ")";
}

scoped_simd_level::scoped_simd_level(simd_level cap)
    : previous_(static_cast<simd_level>(g_scope_cap.load(std::memory_order_relaxed))) {
  // Caps nest: an inner guard can only lower the level.
  const int next = std::min(static_cast<int>(previous_), static_cast<int>(cap));
  g_scope_cap.store(next, std::memory_order_relaxed);
}

scoped_simd_level::~scoped_simd_level() {
  g_scope_cap.store(static_cast<int>(previous_), std::memory_order_relaxed);
}

bool cpu_has_avx512_vnni() noexcept { return features().vnni; }

}  // namespace qtune
