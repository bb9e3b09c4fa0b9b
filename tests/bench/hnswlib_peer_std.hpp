#pragma once
// The standard-library, oneTBB and intrinsics headers that hnswlib and the peer use, included by
// hnswlib_peer_avx2.cpp / hnswlib_peer_avx512.cpp BEFORE their target pragma, so no inline library
// function is compiled with the peer's ISA.
#include <assert.h>
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <fstream>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include "hnswlib_peer.hpp"

