// The library front door (qtune/qtune.hpp): parameter file -> index, checked loading, and
// searches that take raw vectors (cosine normalisation happens here, once per row).
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "qtune/qtune.hpp"

namespace qtune {
namespace {

/// Throws naming `what`, the row and the column of the first non-finite value or one larger
/// in magnitude than max_abs_value (float32 distances over it overflow; see dataset.hpp).
void check_finite(const float* x, std::size_t dim, const char* what, std::size_t row) {
  for (std::size_t j = 0; j < dim; ++j) {
    if (std::fabs(x[j]) <= max_abs_value) continue;
    QTUNE_CHECK(std::isfinite(x[j]), what, " row ", row, " column ", j, " is not a finite number (", x[j], ")");
    fail(what, " row ", row, " column ", j, " is ", x[j], ", outside [-1e15, 1e15]: float32 distances over values "
         "this large overflow");
  }
}

/// dst = x / |x|. Throws on a zero row (cosine is undefined there).
void normalize_into(const float* x, std::size_t dim, float* dst, const char* what, std::size_t row) {
  double s = 0;
  for (std::size_t j = 0; j < dim; ++j) s += static_cast<double>(x[j]) * x[j];
  QTUNE_CHECK(s > 0, what, " row ", row, " is a zero vector: cosine distance is undefined");
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (std::size_t j = 0; j < dim; ++j) dst[j] = x[j] * inv;
}

/// A contiguous, checked (and for cosine normalised) copy of x when one is needed; else x.
struct prepared_rows {
  std::vector<float> storage;
  matrix_view<float> view;
};

prepared_rows prepare_rows(matrix_view<float> x, metric distance, const char* what) {
  prepared_rows p;
  p.view = x;
  for (std::size_t i = 0; i < x.rows; ++i) check_finite(x.row(i), x.dim, what, i);
  if (distance != metric::cosine) return p;
  p.storage.resize(x.rows * x.dim);
  for (std::size_t i = 0; i < x.rows; ++i) normalize_into(x.row(i), x.dim, p.storage.data() + i * x.dim, what, i);
  p.view = {p.storage.data(), x.rows, x.dim, x.dim};
  return p;
}

}  // namespace

std::unique_ptr<index> build_index(const recommended_params& params, matrix_view<float> base, std::size_t threads) {
  QTUNE_CHECK(base.dim == params.dim, "build_index: base vectors have dimension ", base.dim,
              ", the parameter file says dim ", params.dim);
  QTUNE_CHECK(base.rows > 0, "build_index: the base is empty");
  index_config config = params.config;
  if (threads != 0) config.threads = threads;
  auto idx = make_index(config, params.dim);
  const prepared_rows rows = prepare_rows(base, config.distance, "base");
  idx->build(rows.view);
  return idx;
}

std::unique_ptr<index> open_index(const std::filesystem::path& path, const recommended_params& params) {
  std::unique_ptr<index> idx = load_index(path);
  const index_config& got = idx->config();
  const index_config& want = params.config;
  const std::string name = path.string();
  QTUNE_CHECK(got.kind == want.kind, name, ": index kind '", got.kind, "' does not match the parameter file's '",
              want.kind, "'");
  QTUNE_CHECK(got.codec == want.codec || want.kind != "hnsw", name, ": index codec '", got.codec,
              "' does not match the parameter file's '", want.codec, "'");
  QTUNE_CHECK(got.distance == want.distance, name, ": index metric '", to_string(got.distance),
              "' does not match the parameter file's '", to_string(want.distance), "'");
  QTUNE_CHECK(idx->dim() == params.dim, name, ": index dimension ", idx->dim(),
              " does not match the parameter file's dim ", params.dim);
  idx->set_ef_search(want.ef_search);
  if (want.kind == "hnsw") idx->set_rerank(want.rerank);
  return idx;
}

std::size_t add_vectors(index& idx, matrix_view<float> x) {
  QTUNE_CHECK(x.dim == idx.dim(), "add_vectors: vectors have dimension ", x.dim, ", the index has dim ", idx.dim());
  const std::size_t first = idx.size();
  if (x.rows == 0) return first;
  const prepared_rows rows = prepare_rows(x, idx.config().distance, "added vector");
  idx.add(rows.view);
  return first;
}

std::size_t search_into(const index& idx, const float* q, std::size_t k, std::size_t ef_search, std::int32_t* ids,
                        float* distances) {
  QTUNE_CHECK(k > 0, "search: k must be > 0");
  const std::size_t dim = idx.dim();
  check_finite(q, dim, "query", 0);
  const float* query = q;
  if (idx.config().distance == metric::cosine) {
    thread_local std::vector<float> normalized;
    normalized.resize(dim);
    normalize_into(q, dim, normalized.data(), "query", 0);
    query = normalized.data();
  }
  idx.search_ef(query, k, ef_search, ids, distances);
  std::size_t found = 0;
  while (found < k && ids[found] >= 0) ++found;
  return found;
}

knn_result search(const index& idx, matrix_view<float> queries, std::size_t k, std::size_t ef_search,
                  std::size_t threads) {
  QTUNE_CHECK(k > 0, "search: k must be > 0");
  QTUNE_CHECK(queries.dim == idx.dim(), "search: queries have dimension ", queries.dim, ", the index has dim ",
              idx.dim());
  const prepared_rows rows = prepare_rows(queries, idx.config().distance, "query");
  knn_result r;
  r.nq = queries.rows;
  r.k = k;
  r.ids.resize(r.nq * k);
  r.distances.resize(r.nq * k);
  idx.search_batch(rows.view, k, r.ids.data(), r.distances.data(), threads, ef_search);
  return r;
}

}  // namespace qtune
