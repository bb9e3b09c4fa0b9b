// The hnswlib peer with its AVX distances (see hnswlib_peer.hpp).
#define QTUNE_PEER_NS peer_avx2
#define hnswlib qtune_bench_hnswlib_avx2
#define cpuid qtune_bench_avx2_cpuid
#define xgetbv qtune_bench_avx2_xgetbv
#define AVXCapable qtune_bench_avx2_avx_capable
#define AVX512Capable qtune_bench_avx2_avx512_capable
// the pragma does not define __AVX__, which hnswlib tests to compile its AVX path
#define USE_SSE
#define USE_AVX
#include "hnswlib_peer_std.hpp"
#pragma GCC push_options
#pragma GCC target("avx,avx2,fma")
#include "hnswlib_peer_impl.hpp"
#pragma GCC pop_options

#include <cpuid.h>

namespace qtune_bench {

std::unique_ptr<hnswlib_peer> make_hnswlib_peer(std::size_t dim, std::size_t max_elements, std::size_t M,
                                                std::size_t ef_construction, bool ip) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return peer_avx512::make(dim, max_elements, M, ef_construction, ip);
  return peer_avx2::make(dim, max_elements, M, ef_construction, ip);
}

}  // namespace qtune_bench
