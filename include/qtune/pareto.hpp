#pragma once
// Pareto fronts (non-dominated sets) of measured points.
//
// Every objective is "smaller is better"; pass -recall for recall. A point a dominates b when
// a is <= b in every objective and < in at least one. Equal points do not dominate each
// other, so duplicates on the front are all kept.
#include <cstddef>
#include <vector>

namespace qtune {

/// objectives: n rows of d values (all rows the same length d >= 1). Returns the indices of
/// the non-dominated rows, ascending. O(n^2 d), fine for sweep sizes.
std::vector<std::size_t> non_dominated(const std::vector<std::vector<double>>& objectives);

/// The three fronts a sweep reports, from recall (higher is better), latency and memory
/// (lower is better); each returns ascending indices.
struct pareto_fronts {
  std::vector<std::size_t> recall_latency;
  std::vector<std::size_t> recall_memory;
  std::vector<std::size_t> recall_latency_memory;
};
pareto_fronts compute_fronts(const std::vector<double>& recall, const std::vector<double>& latency,
                             const std::vector<double>& memory);

}  // namespace qtune
