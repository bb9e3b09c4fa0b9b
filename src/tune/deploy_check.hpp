#pragma once
// The deploy check (`tune review FILE --engine faiss|hnswlib`): builds the recommendation's
// exported spelling in the peer engine, in this process, on the same data, finds the engine's
// own efSearch that reaches the target on the tuning queries (engines' ef semantics differ),
// and measures recall@k on the held-out validation queries there. The result is recorded in
// the parameter file's deploy section as verified_recall / verified_ef_search.
//
//   faiss:    faiss::index_factory(dim, deploy.faiss.factory, metric), hnsw.efConstruction set
//             before add, IndexRefineFlat.k_factor = rerank; efSearch is set on hnsw.efSearch
//             itself (Debian's FAISS 1.7.3 ignores SearchParametersHNSW::efSearch).
//   hnswlib:  hnswlib::HierarchicalNSW<float> (fp32 graph, L2Space / InnerProductSpace) with
//             deploy.hnswlib's M and ef_construction; hnswlib stores float32 only, so a lossy
//             codec's spelling there is the fp32 graph.
#include <cstddef>
#include <string>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/param_file.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune {

struct engine_setup {
  std::string engine;              ///< "faiss" | "hnswlib"
  std::string factory;             ///< faiss: index_factory string (from the file's deploy section)
  std::size_t m = 16;              ///< hnswlib M
  std::size_t ef_construction = 200;
  std::size_t k_factor = 0;        ///< faiss RFlat rerank factor (0 = none)
  metric distance = metric::l2;    ///< cosine: inputs already normalised, searched as ip
  std::uint64_t seed = 42;
  std::size_t threads = 0;         ///< build threads (0 = all)
};

struct engine_verification {
  engine_setup setup;
  std::string spelling;            ///< one line: what was built
  std::size_t verified_ef_search = 0;  ///< smallest engine efSearch reaching the target (tuning queries)
  bool reached = false;            ///< the target was reached at or below ef_max
  double tuning_recall = 0;        ///< recall@k (ids) of the tuning queries at verified_ef_search
  double verified_recall = 0;      ///< recall@k (ids) of the validation queries at verified_ef_search
  double verified_lo = 0, verified_hi = 0;  ///< its 95% bootstrap interval
  std::vector<std::size_t> probes; ///< efSearch values tried
  double build_seconds = 0;
  knn_result validation_found;     ///< the engine's neighbours of the validation queries (ids = base rows)
};

/// Builds `setup` in its engine on base and runs the check. base: n x dim floats (normalised
/// for cosine); truth_*: exact top-k of each query set (k columns at least).
engine_verification verify_on_engine(const engine_setup& setup, matrix_view<float> base, matrix_view<float> tuning,
                                     const knn_result& truth_tuning, matrix_view<float> validation,
                                     const knn_result& truth_validation, std::size_t k, double target,
                                     std::size_t ef_max = 4096);

/// The engine setup a parameter file exports: reads deploy.<engine> of the file at `path`
/// (faiss: factory, efConstruction, k_factor; hnswlib: M, ef_construction). Throws
/// qtune::error naming the file when the file exports no such spelling (e.g. a codec FAISS lacks).
engine_setup engine_setup_of(const std::filesystem::path& path, const recommended_params& p, const std::string& engine);

/// Loads the data of `spec` as the sweep does (row limits, cosine normalisation, the seeded
/// query split, exact ground truth from the cache) and runs verify_on_engine.
engine_verification verify_param_file_on_engine(const std::filesystem::path& path, const recommended_params& p,
                                                const sweep_spec& spec, const std::string& engine);

}  // namespace qtune
