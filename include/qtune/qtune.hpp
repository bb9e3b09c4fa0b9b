#pragma once
// qtune as a library: the one header to include.
//
//   auto params = qtune::load_param_file("recommended.yaml");   // <qtune/param_file.hpp>, qtune::tune
//   qtune::vectors base = qtune::read_vectors("base.fvecs");
//   auto index = qtune::build_index(params, base.view());        // or qtune::open_index(file, params)
//   qtune::knn_result r = qtune::search(*index, queries.view(), params.k);
//
// Everything below takes raw vectors: for metric::cosine these functions normalise a copy of
// each row (the index itself expects unit rows, see index.hpp). Every buffer is borrowed for the
// duration of the call only; results are returned by value and owned by the caller. No
// third-party header is included by any qtune header.
//
// Threads: search() and search_into() may run from many threads at once on the same index
// (the index keeps per-thread scratch). add_vectors(), index::add(), build and load must not
// overlap with searches on the same index; serialise them (e.g. std::shared_mutex).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "qtune/metric.hpp"
#include "qtune/params.hpp"
#include "qtune/version.hpp"

namespace qtune {

/// Builds the index the parameter file describes (params.config) over `base`
/// (base: rows x params.dim floats, any row stride, borrowed). Ids are base row numbers.
/// threads: build threads (0 = params.config.threads, whose 0 means all cores).
/// Throws qtune::error when base.dim != params.dim, base is empty or a value is not finite.
std::unique_ptr<index> build_index(const recommended_params& params, matrix_view<float> base,
                                   std::size_t threads = 0);

/// Opens an index file written by index::save() and checks it against the parameter file:
/// kind, codec, metric and dimension must be the ones params names (else qtune::error naming
/// the file, the field, the file's value and the expected one). efSearch and rerank are set to
/// params' values. A corrupt, truncated or foreign file is a qtune::error naming the file.
std::unique_ptr<index> open_index(const std::filesystem::path& path, const recommended_params& params);

/// Appends x (rows x index.dim() floats, borrowed) to a built or loaded index; the new rows get
/// ids index.size() .. index.size() + rows - 1 (returned: the first new id). Normalises a copy
/// for cosine. Exclusive: no search may run on `idx` meanwhile.
std::size_t add_vectors(index& idx, matrix_view<float> x);

/// The k nearest neighbours of every query (queries: nq x index.dim() floats, borrowed), with
/// efSearch `ef_search` for this call (0 = the index's setting; ignored by backends without it)
/// on `threads` threads (0 = all cores). Result: nq x k ids and distances (smaller is closer,
/// see metric.hpp), row-major, padded with -1 / +inf when fewer than k exist.
/// Throws qtune::error when k == 0, the dimension differs or a value is not finite.
knn_result search(const index& idx, matrix_view<float> queries, std::size_t k, std::size_t ef_search = 0,
                  std::size_t threads = 0);

/// One query: q has index.dim() floats (borrowed); ids and distances have k slots each, owned
/// and allocated by the caller; padded as above. Returns how many neighbours were found (<= k).
/// Thread-safe; allocates nothing for l2/ip (a thread-local copy for cosine).
std::size_t search_into(const index& idx, const float* q, std::size_t k, std::size_t ef_search,
                        std::int32_t* ids, float* distances);

}  // namespace qtune
