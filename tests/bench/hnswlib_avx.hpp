#pragma once
// The peer for benchmarks: hnswlib with its AVX distance compiled in.
//
// hnswlib picks its SIMD distance at run time but only compiles the AVX/AVX-512 versions when the
// compiler targets them (its own CMake uses -march=native). The project builds without global
// ISA flags, so the peer's header is compiled here with AVX2 enabled; everything it includes
// from the standard library is included first, without.
#include <assert.h>
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <mutex>
#include <queue>
#include <random>
#include <unordered_map>
#include <unordered_set>
#include <x86intrin.h>
#pragma GCC push_options
#pragma GCC target("avx,avx2,fma")
// The pragma does not define __AVX__, which hnswlib tests; ask for its AVX path directly (it
// still checks the CPU at run time). Its AVX-512 path is not compiled: the bench must run on
// AVX2-only machines too (the 2-core AMD EPYC this was measured on has no AVX-512).
#define USE_SSE
#define USE_AVX
#include <hnswlib/hnswlib.h>
#pragma GCC pop_options
