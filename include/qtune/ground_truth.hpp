#pragma once
// Exact k-nearest neighbours (brute force) and recall against them.
//
// Distances follow qtune/metric.hpp: squared L2 for l2, 1 - <x, y> for ip/cosine (cosine
// inputs must already be normalised). Computed with blocked matrix products (BLAS sgemm) in
// parallel with oneTBB; ties are broken by the lower base id.
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

/// As exact_knn, but cached on disk in `cache_dir` under a key hashing the content of base and
/// queries, the metric and k; a second call with the same data reads the cache. A cache entry
/// with a larger k also serves a smaller k. A corrupt cache entry is recomputed.
knn_result cached_exact_knn(matrix_view<float> base, matrix_view<float> queries, metric m, std::size_t k,
                            const std::filesystem::path& cache_dir);

/// Writes ids as .ivecs and distances as .fvecs beside it: by default `ids_path` with its
/// extension replaced by ".fvecs" (gt.ivecs -> gt.fvecs). Both written atomically.
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
