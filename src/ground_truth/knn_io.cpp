// Ground truth as files: ids in .ivecs, distances in .fvecs beside them.
#include <algorithm>
#include <limits>
#include <vector>

#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace qtune {

namespace {

std::filesystem::path distances_path(const std::filesystem::path& ids_path, const std::filesystem::path& dist_path) {
  if (!dist_path.empty()) return dist_path;
  auto p = ids_path;
  p.replace_extension(".fvecs");
  QTUNE_CHECK(p != ids_path, ids_path.string(),
              ": the ids file already ends in .fvecs; pass the distances path explicitly");
  return p;
}

}  // namespace

void write_knn(const knn_result& r, const std::filesystem::path& ids_path, const std::filesystem::path& dist_path) {
  QTUNE_CHECK(r.ids.size() == r.nq * r.k, ids_path.string(), ": knn_result has ", r.ids.size(), " ids, expected nq * k = ",
              r.nq * r.k);
  QTUNE_CHECK(r.distances.size() == r.nq * r.k, ids_path.string(), ": knn_result has ", r.distances.size(),
              " distances, expected nq * k = ", r.nq * r.k);
  int_matrix ids;
  ids.values = r.ids;
  ids.rows = r.nq;
  ids.dim = r.k;
  write_ivecs(ids_path, ids);
  // .fvecs readers reject non-finite values, so padding (+inf) is stored as FLT_MAX.
  std::vector<float> dist(r.distances);
  for (float& d : dist)
    if (d == std::numeric_limits<float>::infinity()) d = std::numeric_limits<float>::max();
  write_fvecs(distances_path(ids_path, dist_path), matrix_view<float>{dist.data(), r.nq, r.k, r.k});
}

knn_result read_knn(const std::filesystem::path& ids_path, const std::filesystem::path& dist_path) {
  const int_matrix ids = read_ids(ids_path);
  knn_result r;
  r.nq = ids.rows;
  r.k = ids.dim;
  r.ids = ids.values;
  const auto dpath = dist_path.empty() ? [&] {
    auto p = ids_path;
    p.replace_extension(".fvecs");
    return p;
  }() : dist_path;
  if (dpath != ids_path && std::filesystem::exists(dpath)) {
    read_options opt;
    opt.max_abs = std::numeric_limits<float>::max();  // padding is stored as FLT_MAX
    const vectors d = read_vectors(dpath, opt);
    QTUNE_CHECK(d.rows() == r.nq && d.dim() == r.k, dpath.string(), ": distances are ", d.rows(), " x ", d.dim(),
                ", expected ", r.nq, " x ", r.k, " to match ", ids_path.string());
    r.distances.resize(r.nq * r.k);
    for (std::size_t q = 0; q < r.nq; ++q) std::copy_n(d.row(q), r.k, r.distances.data() + q * r.k);
    for (std::size_t i = 0; i < r.ids.size(); ++i)
      if (r.ids[i] < 0 && r.distances[i] == std::numeric_limits<float>::max())
        r.distances[i] = std::numeric_limits<float>::infinity();
  } else {
    QTUNE_CHECK(dist_path.empty(), dist_path.string(), ": distances file not found");
  }
  return r;
}

}  // namespace qtune
