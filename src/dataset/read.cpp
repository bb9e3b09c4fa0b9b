// Format dispatch for read_vectors / read_ids, and load_dataset.
#include <algorithm>
#include <cctype>
#include <limits>

#include "dataset/dataset_impl.hpp"

namespace qtune {

namespace {

enum class format { fvecs, ivecs, bvecs, npy, hdf5, idx, unknown };

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

format format_of(const std::filesystem::path& path) {
  std::string name = lower(path.filename().string());
  if (name.size() > 3 && name.ends_with(".gz")) name.resize(name.size() - 3);
  if (name.ends_with(".fvecs")) return format::fvecs;
  if (name.ends_with(".ivecs")) return format::ivecs;
  if (name.ends_with(".bvecs")) return format::bvecs;
  if (name.ends_with(".npy")) return format::npy;
  if (name.ends_with(".hdf5") || name.ends_with(".h5")) return format::hdf5;
  if (name.ends_with(".idx") || name.ends_with("-ubyte") || name.ends_with(".ubyte") ||
      name.find("-idx1-") != std::string::npos || name.find("-idx3-") != std::string::npos)
    return format::idx;
  return format::unknown;
}

[[noreturn]] void unknown_format(const std::filesystem::path& path, const char* what) {
  fail(path.string(), ": cannot tell the format of ", what, " from the file name '", path.filename().string(),
       "'; expected .fvecs, .ivecs, .bvecs, .npy, .hdf5/.h5 or an IDX file (*-idx3-ubyte[.gz], *.idx[.gz])");
}

}  // namespace

vectors read_vectors(const std::filesystem::path& path, const read_options& opt) {
  using namespace detail;
  switch (format_of(path)) {
    case format::fvecs: return read_fvecs(path, opt);
    case format::bvecs: return read_bvecs(path, opt);
    case format::npy: return read_npy_vectors(path, opt);
    case format::hdf5: return read_hdf5_vectors(path, opt.hdf5_dataset, opt);
    case format::idx: return read_idx_vectors(path, opt);
    case format::ivecs: {
      // Integer vectors as float32 (exact for |v| < 2^24).
      int_matrix m = read_ivecs(path, opt);
      std::vector<float> v(m.values.begin(), m.values.end());
      return vectors(std::move(v), m.rows, m.dim);
    }
    case format::unknown: break;
  }
  unknown_format(path, "vectors");
}

int_matrix read_ids(const std::filesystem::path& path, const read_options& opt) {
  using namespace detail;
  switch (format_of(path)) {
    case format::ivecs: return read_ivecs(path, opt);
    case format::npy: return read_npy_ids(path, opt);
    case format::hdf5: {
      // The ann-benchmarks ids live in "neighbors"; keep an explicitly chosen dataset.
      const std::string ds = opt.hdf5_dataset == read_options{}.hdf5_dataset ? "neighbors" : opt.hdf5_dataset;
      return read_hdf5_ids(path, ds, opt);
    }
    case format::idx: return read_idx_ids(path, opt);
    case format::fvecs:
    case format::bvecs:
      fail(path.string(), ": ids must be .ivecs, an int32/int64 .npy, HDF5 \"neighbors\" or IDX labels, got a ",
           path.extension().string(), " file");
    case format::unknown: break;
  }
  unknown_format(path, "ids");
}

}  // namespace qtune

namespace qtune {

namespace {
bool is_hdf5(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return e == ".hdf5" || e == ".h5";
}

/// Keeps the first `rows` rows of ids (and checks there are that many).
void limit_rows(int_matrix& m, std::size_t rows) {
  m.rows = rows;
  m.values.resize(rows * m.dim);
}
}  // namespace

loaded_dataset load_dataset(const std::filesystem::path& base, const std::filesystem::path& queries,
                            const std::filesystem::path& ground_truth,
                            const std::filesystem::path& ground_truth_distances, metric distance,
                            std::size_t max_base, std::size_t max_queries) {
  loaded_dataset out;
  out.distance = distance;
  read_options bopt, qopt;
  bopt.max_rows = max_base;
  qopt.max_rows = max_queries;
  std::filesystem::path gt_name = ground_truth, gtd_name = ground_truth_distances;
  if (is_hdf5(base) && queries.empty()) {
    ann_dataset ds = read_ann_hdf5(base);
    out.distance = ds.distance;
    out.base = max_base && max_base < ds.train.rows() ? ds.train.slice(0, max_base) : std::move(ds.train);
    out.queries = max_queries && max_queries < ds.test.rows() ? ds.test.slice(0, max_queries) : std::move(ds.test);
    if (ground_truth.empty()) {
      out.ground_truth = std::move(ds.neighbors);
      if (ds.distances) out.ground_truth_distances = std::move(ds.distances);
      gt_name = gtd_name = base;
    }
  } else {
    QTUNE_CHECK(!queries.empty(), base.string(), ": no query file given (only an ann-benchmarks HDF5 base carries "
                                                 "its own queries)");
    out.base = read_vectors(base, bopt);
    out.queries = read_vectors(queries, qopt);
  }
  QTUNE_CHECK(out.queries.dim() == out.base.dim(), (queries.empty() ? base : queries).string(), ": queries have dimension ",
              out.queries.dim(), ", expected ", out.base.dim(), " (the dimension of the base ", base.string(), ")");
  if (!ground_truth.empty()) {
    read_options gopt;
    gopt.max_rows = max_queries;
    out.ground_truth = read_ids(ground_truth, gopt);
  }
  if (!ground_truth_distances.empty()) {
    read_options gopt;
    gopt.max_rows = max_queries;
    gopt.max_abs = std::numeric_limits<float>::max();  // distances, not vectors
    out.ground_truth_distances = read_vectors(ground_truth_distances, gopt);
  }
  const std::size_t nq = out.queries.rows();
  if (out.ground_truth) {
    int_matrix& gt = *out.ground_truth;
    QTUNE_CHECK(gt.rows >= nq, gt_name.string(), ": ground truth has ", gt.rows, " rows, expected at least ", nq,
                " (one per query)");
    limit_rows(gt, nq);
    for (std::size_t i = 0; i < gt.values.size(); ++i)
      QTUNE_CHECK(gt.values[i] >= -1 && gt.values[i] < std::int64_t(out.base.rows()), gt_name.string(), ": vector ",
                  i / gt.dim, " column ", i % gt.dim, " holds id ", gt.values[i], ", outside the base of ",
                  out.base.rows(), " vectors", max_base ? " (max_base limits the base; recompute the ground truth)" : "");
  }
  if (out.ground_truth_distances) {
    vectors& d = *out.ground_truth_distances;
    QTUNE_CHECK(d.rows() >= nq, gtd_name.string(), ": ground-truth distances have ", d.rows(),
                " rows, expected at least ", nq);
    if (d.rows() > nq) d = d.slice(0, nq);
    if (out.ground_truth)
      QTUNE_CHECK(d.dim() == out.ground_truth->dim, gtd_name.string(), ": ground-truth distances have ", d.dim(),
                  " columns, expected ", out.ground_truth->dim, " (as the ground-truth ids)");
  }
  out.base_hash = content_hash(out.base.view());
  out.queries_hash = content_hash(out.queries.view());
  if (out.distance == metric::cosine) {
    out.base.normalize_rows(base.string());
    out.queries.normalize_rows((queries.empty() ? base : queries).string());
  }
  return out;
}

}  // namespace qtune
