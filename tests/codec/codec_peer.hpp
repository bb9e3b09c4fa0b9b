#pragma once
// Shared by tests/codec/test_codec_faiss.cpp and tests/bench/bench_codecs.cpp: the real sets
// and recall@k of exhaustive search, qtune codecs vs the FAISS index of the same codec, on
// the same training rows, base, queries and ground truth, in the same process.
#include <omp.h>

#include <faiss/Index.h>
#include <faiss/index_factory.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "data_dir.hpp"

namespace qtune::testing {

struct real_set {
  std::string name;
  metric distance = metric::l2;
  vectors base;     // normalised for cosine
  vectors queries;  // normalised for cosine
  knn_result truth;
};

struct real_set_files {
  const char* name;
  const char* base;
  const char* queries;
  const char* gt;
  metric distance;
};

inline const std::vector<real_set_files>& real_sets() {
  static const std::vector<real_set_files> sets = {
      {"sift10k", "sift10k/siftsmall_base.fvecs", "sift10k/siftsmall_query.fvecs", "sift10k/siftsmall_groundtruth.ivecs",
       metric::l2},
      {"glove50-10k", "glove50-10k/glove50_base.fvecs", "glove50-10k/glove50_query.fvecs",
       "glove50-10k/glove50_groundtruth.ivecs", metric::cosine},
      {"fmnist10k", "fmnist10k/fmnist_base.fvecs", "fmnist10k/fmnist_query.fvecs", "fmnist10k/fmnist_groundtruth.ivecs",
       metric::l2},
  };
  return sets;
}

/// Loads a set (contiguous heap copies); nullopt when its files are missing.
inline std::optional<real_set> load_real_set(const real_set_files& f, std::size_t max_queries = 0) {
  const auto dir = data_dir();
  for (const char* p : {f.base, f.queries, f.gt})
    if (!std::filesystem::exists(dir / p)) return std::nullopt;
  real_set s;
  s.name = f.name;
  s.distance = f.distance;
  const vectors b = read_vectors(dir / f.base);
  const vectors q = read_vectors(dir / f.queries);
  const std::size_t nq = max_queries ? std::min(max_queries, q.rows()) : q.rows();
  s.base = b.slice(0, b.rows());
  s.queries = q.slice(0, nq);
  if (f.distance == metric::cosine) {
    s.base.normalize_rows(f.base);
    s.queries.normalize_rows(f.queries);
  }
  const int_matrix ids = read_ids(dir / f.gt);
  s.truth.nq = nq;
  s.truth.k = ids.dim;
  s.truth.ids.assign(ids.values.begin(), ids.values.begin() + static_cast<std::ptrdiff_t>(nq * ids.dim));
  return s;
}

/// recall@k of exhaustive search over qtune codes; trained on the first n_train base rows.
inline double qtune_recall(const real_set& s, const std::string& codec_name, std::size_t k, std::size_t n_train,
                           double* rel_err = nullptr) {
  auto c = make_codec(codec_name, s.base.dim(), s.distance);
  c->train(std::min(n_train, s.base.rows()), s.base.view().data);
  std::vector<std::uint8_t> codes(s.base.rows() * c->code_size());
  encode_parallel(*c, s.base.view(), codes.data());
  if (rel_err) *rel_err = relative_error(*c, s.base.view(), codes.data());
  const knn_result found = search_codes(*c, codes.data(), s.base.rows(), s.queries.view(), k);
  return recall_ids(found, s.truth, k);
}

/// The same for a FAISS index_factory string ("SQ8", "SQ4", "PQ16x8np": "np" skips the
/// polysemous re-ordering, which costs minutes and changes no distance), single-threaded OpenMP
/// (on a shared machine an OpenMP team spinning against other processes costs 10x).
inline double faiss_recall(const real_set& s, const std::string& factory, std::size_t k, std::size_t n_train) {
  const int omp_before = omp_get_max_threads();
  omp_set_num_threads(1);
  // FAISS at its best: cosine sets (rows normalised at load) as L2 on the unit vectors, which
  // ranks SQ codes better than inner product does (the reconstructions' norms differ)
  const auto fm = s.distance == metric::ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2;
  std::unique_ptr<faiss::Index> index(faiss::index_factory(static_cast<int>(s.base.dim()), factory.c_str(), fm));
  using idx_t = faiss::Index::idx_t;
  index->train(static_cast<idx_t>(std::min(n_train, s.base.rows())), s.base.view().data);
  index->add(static_cast<idx_t>(s.base.rows()), s.base.view().data);
  knn_result found;
  found.nq = s.queries.rows();
  found.k = k;
  std::vector<idx_t> labels(found.nq * k);
  found.distances.resize(found.nq * k);
  index->search(static_cast<idx_t>(found.nq), s.queries.view().data, static_cast<idx_t>(k), found.distances.data(),
                labels.data());
  found.ids.assign(labels.begin(), labels.end());
  omp_set_num_threads(omp_before);
  return recall_ids(found, s.truth, k);
}

}  // namespace qtune::testing
