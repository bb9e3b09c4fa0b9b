#pragma once
// Re-measuring a recommended configuration (`tune review`): rebuilds the index of a parameter
// file on the data its provenance names (or a given spec), with the same query split, and
// measures it as the sweep did. The CLI compares recorded and measured figures.
#include <filesystem>
#include <string>

#include "qtune/ground_truth.hpp"
#include "qtune/param_file.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune {

struct review_outcome {
  measured_point measured;          ///< the configuration measured again (same fields as the sweep's)
  std::string base_hash, queries_hash;  ///< content hashes of the rows loaded now
  knn_result validation_found;      ///< neighbours found for the validation queries, in their order
  std::vector<std::size_t> validation_rows;  ///< rows of the query file held out
  std::string spec_hash;            ///< hash of the effective spec used now
  /// The machine's 1-minute load average before building and after measuring (-1 unknown):
  /// a load above the cores in use means the latency figures were taken on a busy machine.
  double load_before = -1, load_after = -1;
};

/// The spec a parameter file was measured with: `spec_path` if given, else the file named in its
/// provenance, else one built from the provenance alone (base/queries paths, metric, seed,
/// default split). k, target, recall measure and seed are taken from the parameter file.
/// Throws qtune::error when no usable spec can be found.
sweep_spec review_spec(const recommended_params& p, const std::filesystem::path& spec_path = {});

/// Loads the data, checks its shape against the file, builds and measures p.config.
review_outcome review_measure(const recommended_params& p, const sweep_spec& spec);

}  // namespace qtune
