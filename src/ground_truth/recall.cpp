// Recall against ground truth: by ids, and ann-benchmarks' distance-threshold variant.
#include <algorithm>
#include <unordered_set>

#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace qtune {

namespace {

void check_shapes(const char* fn, const knn_result& found, const knn_result& truth, std::size_t k) {
  QTUNE_CHECK(k > 0, fn, ": k must be > 0");
  QTUNE_CHECK(found.nq == truth.nq, fn, ": found has ", found.nq, " queries, truth has ", truth.nq);
  QTUNE_CHECK(found.k >= k, fn, ": found has ", found.k, " columns, fewer than k = ", k);
  QTUNE_CHECK(truth.k >= k, fn, ": truth has ", truth.k, " columns, fewer than k = ", k);
  QTUNE_CHECK(found.ids.size() == found.nq * found.k, fn, ": found.ids has ", found.ids.size(), " entries, expected ",
              found.nq * found.k);
  QTUNE_CHECK(truth.ids.size() == truth.nq * truth.k, fn, ": truth.ids has ", truth.ids.size(),
              " entries, expected ", truth.nq * truth.k);
}

double finish(std::vector<double>& values, std::vector<double>* per_query) {
  double sum = 0;
  for (double v : values) sum += v;
  const double mean = values.empty() ? 0.0 : sum / double(values.size());
  if (per_query) *per_query = std::move(values);
  return mean;
}

}  // namespace

double recall_ids(const knn_result& found, const knn_result& truth, std::size_t k, std::vector<double>* per_query) {
  check_shapes("recall_ids", found, truth, k);
  std::vector<double> values(found.nq);
  std::vector<std::int32_t> t;
  for (std::size_t q = 0; q < found.nq; ++q) {
    // Padding (-1) in the truth means the base had fewer than k vectors: count only real ones.
    t.assign(truth.ids_of(q), truth.ids_of(q) + k);
    t.erase(std::remove(t.begin(), t.end(), -1), t.end());
    std::sort(t.begin(), t.end());
    if (t.empty()) {
      values[q] = 1.0;
      continue;
    }
    std::size_t hits = 0;
    const std::int32_t* f = found.ids_of(q);
    for (std::size_t j = 0; j < k; ++j) {
      if (f[j] < 0) continue;
      // A duplicate id in `found` is counted once.
      if (std::binary_search(t.begin(), t.end(), f[j]) && std::find(f, f + j, f[j]) == f + j) ++hits;
    }
    values[q] = double(hits) / double(t.size());
  }
  return finish(values, per_query);
}

double recall_distance(const knn_result& found, const knn_result& truth, std::size_t k, float epsilon,
                       std::vector<double>* per_query) {
  check_shapes("recall_distance", found, truth, k);
  QTUNE_CHECK(truth.distances.size() == truth.nq * truth.k, "recall_distance: truth has no distances (",
              truth.distances.size(), " values, expected ", truth.nq * truth.k, ")");
  QTUNE_CHECK(found.distances.size() == found.nq * found.k, "recall_distance: found has no distances (",
              found.distances.size(), " values, expected ", found.nq * found.k, ")");
  std::vector<double> values(found.nq);
  for (std::size_t q = 0; q < found.nq; ++q) {
    const std::int32_t* tid = truth.ids_of(q);
    // The k-th true distance; with padding, the last real one.
    std::size_t real = 0;
    while (real < k && tid[real] >= 0) ++real;
    if (real == 0) {
      values[q] = 1.0;
      continue;
    }
    const double threshold = double(truth.distances_of(q)[real - 1]) + double(epsilon);
    std::size_t hits = 0;
    const std::int32_t* fid = found.ids_of(q);
    const float* fd = found.distances_of(q);
    for (std::size_t j = 0; j < k; ++j)
      if (fid[j] >= 0 && double(fd[j]) <= threshold) ++hits;
    values[q] = double(std::min(hits, real)) / double(real);
  }
  return finish(values, per_query);
}

}  // namespace qtune
