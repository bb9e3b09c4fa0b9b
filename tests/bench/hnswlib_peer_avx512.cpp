// The hnswlib peer with its AVX-512 distances (see hnswlib_peer.hpp); only called on CPUs with
// AVX-512 F/BW/DQ/VL.
#define QTUNE_PEER_NS peer_avx512
#define hnswlib qtune_bench_hnswlib_avx512
#define cpuid qtune_bench_avx512_cpuid
#define xgetbv qtune_bench_avx512_xgetbv
#define AVXCapable qtune_bench_avx512_avx_capable
#define AVX512Capable qtune_bench_avx512_avx512_capable
#define USE_SSE
#define USE_AVX
#define USE_AVX512
#include "hnswlib_peer_std.hpp"
#pragma GCC push_options
#pragma GCC target("avx,avx2,fma,avx512f,avx512bw,avx512dq,avx512vl")
#include "hnswlib_peer_impl.hpp"
#pragma GCC pop_options
