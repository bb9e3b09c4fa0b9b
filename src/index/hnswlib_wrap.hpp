#pragma once
// hnswlib 0.6.2 (Debian's header-only package) defines four non-inline functions at global
// scope in hnswlib.h (cpuid, xgetbv, AVXCapable, AVX512Capable) and five non-inline variables in
// space_l2.h / space_ip.h (the SIMD distance-function pointers). Including it in more than one
// translation unit of a program is a multiple-definition link error, so the library's copy
// gets private names here. Include this from ONE .cpp of the library only (src/index/hnsw_index.cpp);
// tests and benchmarks may then include <hnswlib/hnswlib.h> directly.
#include <cpuid.h>
#include <x86intrin.h>

#include <cstdint>

#define cpuid qtune_index_hnswlib_cpuid
#define xgetbv qtune_index_hnswlib_xgetbv
#define AVXCapable qtune_index_hnswlib_avx_capable
#define AVX512Capable qtune_index_hnswlib_avx512_capable
#define L2SqrSIMD16Ext qtune_index_hnswlib_l2_simd16
#define InnerProductSIMD16Ext qtune_index_hnswlib_ip_simd16
#define InnerProductSIMD4Ext qtune_index_hnswlib_ip_simd4
#define InnerProductDistanceSIMD16Ext qtune_index_hnswlib_ipd_simd16
#define InnerProductDistanceSIMD4Ext qtune_index_hnswlib_ipd_simd4
#include <hnswlib/hnswlib.h>
#undef L2SqrSIMD16Ext
#undef InnerProductSIMD16Ext
#undef InnerProductSIMD4Ext
#undef InnerProductDistanceSIMD16Ext
#undef InnerProductDistanceSIMD4Ext
#undef cpuid
#undef xgetbv
#undef AVXCapable
#undef AVX512Capable
