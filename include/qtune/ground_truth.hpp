#pragma once
// Exact k-nearest neighbours (brute force) and recall against them.
//
// Distances follow qtune/metric.hpp: squared L2 for l2, 1 - <x, y> for ip/cosine (cosine
// inputs must already be normalised). Computed with blocked matrix products (BLAS sgemm) in
// parallel with oneTBB; ties are broken by the lower base id.
//
// Exactness: sgemm ranks candidates in float32 (||x||^2 - 2<q, x> for l2, -<q, x> for ip),
// keeping a few more than k per query; the kept candidates are then re-scored in float64
// (direct difference for l2) and sorted by (distance, id). A rigorous float32 error bound
// (gamma_dim * |q| * max|x|) proves per query that no dropped candidate can enter the top k;
// when the proof fails (near-ties at the margin) that query is re-scanned against every base
// vector with the bound as slack. So the result equals a float64 brute force (on the float32
// inputs): equal ids except between neighbours at exactly equal float64 distance, where the
// lower id comes first.
// Byte-valued l2 data (every component an integer within one window of 256 values, e.g. SIFT,
// MNIST) are ranked by an int8 GEMM whose keys are exact integers, where the machine's int8
// GEMM is exact (VNNI): the same result, bit for bit, without float64 re-scoring.
//
// Ground-truth cache (cached_exact_knn): one file per (base, queries, metric) in cache_dir,
//   gt-<key>-k<k>.knn, key = 16 hex digits hashing content_hash(base), content_hash(queries),
//   the metric and the cache format version. Binary, little-endian: a 96-byte header (magic
//   "QTGTKNN1", version, metric, nq, k, base rows, dim, 8-lane FNV-1a checksum of the payload),
//   then nq*k int32 ids, then nq*k float32 distances. Written to a temporary file in the same
//   folder and renamed into place. Any entry with k' >= k serves k (its first k columns).
//   Where the cache lives: the caller decides (cache_dir); tools use
//   default_ground_truth_cache_dir(): $QTUNE_CACHE_DIR, else $XDG_CACHE_HOME/qtune/ground_truth,
//   else $HOME/.cache/qtune/ground_truth, else <temp dir>/qtune-ground-truth. Entries are never
//   evicted; delete the folder to reclaim space.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/metric.hpp"

namespace qtune {

/// k neighbours per query, nearest first. ids/distances: nq * k, row-major.
/// An id of -1 (distance +inf) pads rows when the base has fewer than k vectors.
struct knn_result {
  std::size_t nq = 0;
  std::size_t k = 0;
  std::vector<std::int32_t> ids;
  std::vector<float> distances;

  const std::int32_t* ids_of(std::size_t q) const noexcept { return ids.data() + q * k; }
  const float* distances_of(std::size_t q) const noexcept { return distances.data() + q * k; }
};

/// Exact top-k of every query against the base.
knn_result exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k);

/// Whether exact_knn(base, queries, m, k) ranks with the exact int8 pass (byte-valued l2 data,
/// on a machine whose int8 GEMM is exact) rather than float32 products re-scored in float64.
/// The answer is the same either way; this says which arithmetic. Scans the data once.
bool exact_knn_takes_byte_pass(matrix_view<float> base, matrix_view<float> queries, metric m);

/// As exact_knn, but cached on disk in `cache_dir` under a key hashing the content of base and
/// queries, the metric and k; a second call with the same data reads the cache. A cache entry
/// with a larger k also serves a smaller k. A corrupt cache entry is recomputed.
knn_result cached_exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                            const std::filesystem::path& cache_dir);

/// Stores r (computed elsewhere, e.g. merged from query shards) as the cache entry that
/// cached_exact_knn(base, queries, m, r.k, cache_dir) would write: the same key and bytes.
void store_cached_knn(matrix_view<float> base, matrix_view<float> queries, metric m, const knn_result& r,
                      const std::filesystem::path& cache_dir);

/// Number of exact_knn computations run in this process so far (cache hits do not count).
/// For tests and logs.
std::uint64_t exact_knn_call_count() noexcept;

/// Of those, the number that ranked with the exact int8 pass (exact_knn_takes_byte_pass), so a
/// caller can log which arithmetic ran without scanning the data again. For tests and logs.
std::uint64_t exact_knn_byte_pass_count() noexcept;

/// The ground-truth cache folder tools use by default (see the policy at the top of this file).
std::filesystem::path default_ground_truth_cache_dir();

/// Writes ids as .ivecs and distances as .fvecs beside it: by default `ids_path` with its
/// extension replaced by ".fvecs" (gt.ivecs -> gt.fvecs). Both written atomically.
/// Padding (id -1, distance +inf) is stored with distance FLT_MAX, since .fvecs readers
/// reject non-finite values; read_knn turns it back into +inf.
void write_knn(const knn_result& r, const std::filesystem::path& ids_path,
               const std::filesystem::path& dist_path = {});
/// Reads ids (.ivecs) and, if present, distances (.fvecs) back.
knn_result read_knn(const std::filesystem::path& ids_path, const std::filesystem::path& dist_path = {});

/// Recall@k by id intersection: |found[q][:k] ∩ truth[q][:k]| / k, averaged over queries.
/// `found` may hold more than k columns (only the first k count). Per-query values in `per_query`.
double recall_ids(const knn_result& found, const knn_result& truth, std::size_t k,
                  std::vector<double>* per_query = nullptr);
/// ann-benchmarks' recall: a found neighbour is a hit when its true distance is within the
/// k-th true distance + epsilon (default 1e-3). Needs truth.distances and found.distances
/// recomputed exactly by the caller (found.distances must be *exact* distances).
double recall_distance(const knn_result& found, const knn_result& truth, std::size_t k, float epsilon = 1e-3f,
                       std::vector<double>* per_query = nullptr);

}  // namespace qtune
