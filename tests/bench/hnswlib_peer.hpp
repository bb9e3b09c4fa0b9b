#pragma once
// The hnswlib peer of bench_hnsw, compiled with the best distance path the CPU has.
//
// hnswlib only compiles its AVX / AVX-512 distances when the compiler targets them (its own CMake
// uses -march=native, which makes binaries that crash on other CPUs). So the peer is compiled
// twice, in two translation units that rename hnswlib's namespace apart:
// hnswlib_peer_avx2.cpp (AVX2+FMA target, hnswlib's USE_AVX path) and hnswlib_peer_avx512.cpp
// (AVX-512 target, USE_AVX512). make_hnswlib_peer() picks the AVX-512 one only when the CPU has
// AVX-512 F/BW/DQ/VL, so an AVX2-only machine never runs an AVX-512 instruction; inside each,
// hnswlib still checks the CPU for its distance function as it always does.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace qtune_bench {

class hnswlib_peer {
 public:
  virtual ~hnswlib_peer() = default;
  /// Inserts n rows (x: n * dim floats, row i gets label i): the first alone, the rest on
  /// `threads` threads.
  virtual void add(const float* x, std::size_t n, std::size_t threads) = 0;
  /// searchKnn with ef_ = ef (hnswlib's ef is per index: every concurrent caller must pass the same ef).
  virtual void search(const float* q, std::size_t k, std::size_t ef, std::int32_t* ids) = 0;
  /// Bytes per vector: hnswlib's level-0 element (links, vector, label) plus upper-level links.
  virtual double bytes_per_vector() const = 0;
  /// "avx512" or "avx" (hnswlib's distance function in use), "sse" otherwise.
  virtual std::string distance_path() const = 0;
};

/// L2 (ip = false) or inner product (ip = true, hnswlib's 1 - <x, y>) over dim floats.
std::unique_ptr<hnswlib_peer> make_hnswlib_peer(std::size_t dim, std::size_t max_elements, std::size_t M,
                                                std::size_t ef_construction, bool ip);

namespace peer_avx2 {
std::unique_ptr<hnswlib_peer> make(std::size_t dim, std::size_t max_elements, std::size_t M, std::size_t efc, bool ip);
}
namespace peer_avx512 {
std::unique_ptr<hnswlib_peer> make(std::size_t dim, std::size_t max_elements, std::size_t M, std::size_t efc, bool ip);
}

}  // namespace qtune_bench
