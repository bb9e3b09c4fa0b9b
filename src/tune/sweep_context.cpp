// The sweep's shared state: data, query split, ground truth and threads, loaded once per process.
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>

#include "ground_truth/exact_f64.hpp"
#include "qtune/codec.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/simd.hpp"
#include "qtune/sweep_steps.hpp"
#include "qtune/version.hpp"
#include "tune/sweep_detail.hpp"

namespace qtune {

namespace detail {

float exact_distance(const float* x, const float* q, std::size_t dim, metric m) {
  const detail::f64_kernels f64 = detail::f64_kernels_active();
  return static_cast<float>(compute_metric(m) == metric::l2 ? f64.l2(x, q, dim) : 1.0 - f64.ip(x, q, dim));
}

}  // namespace detail

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

double load_average_1min() {
  double l[1];
  return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

namespace {

using detail::exact_distance;

knn_result select_rows(const knn_result& r, const std::vector<std::size_t>& rows) {
  knn_result out;
  out.nq = rows.size();
  out.k = r.k;
  out.ids.reserve(rows.size() * r.k);
  for (std::size_t q : rows) out.ids.insert(out.ids.end(), r.ids_of(q), r.ids_of(q) + r.k);
  if (!r.distances.empty()) {
    out.distances.reserve(rows.size() * r.k);
    for (std::size_t q : rows) out.distances.insert(out.distances.end(), r.distances_of(q), r.distances_of(q) + r.k);
  }
  return out;
}

/// Fisher-Yates with our own index draw, so the split is the same with every standard library.
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % i]);
  return p;
}

void check_files_exist(const sweep_spec& spec) {
  const auto& ds = spec.dataset;
  QTUNE_CHECK(std::filesystem::exists(ds.base), spec.place("dataset.base"), ": base file ", ds.base.string(),
              " does not exist", ds.base.string().find("fashion-mnist") != std::string::npos
                                     ? " (install Debian's dataset-fashion-mnist: bash .ci/install-deps)"
                                     : "");
  QTUNE_CHECK(std::filesystem::exists(ds.queries), spec.place("dataset.queries"), ": query file ",
              ds.queries.string(), " does not exist");
}

/// The spec's ground-truth file cut to the loaded queries, k columns, with exact distances.
knn_result truth_from_file(const sweep_spec& spec, const vectors& base, const vectors& queries) {
  const auto& ds = spec.dataset;
  const knn_result truth = read_knn(ds.ground_truth, ds.ground_truth_distances);
  QTUNE_CHECK(truth.nq >= queries.rows(), spec.place("dataset.ground_truth"), ": ground truth has ", truth.nq,
              " rows, the queries ", queries.rows());
  QTUNE_CHECK(truth.k >= spec.k, spec.place("dataset.ground_truth"), ": ground truth has ", truth.k,
              " neighbours per query, k is ", spec.k);
  // Keep the first k columns of the first nq rows; a subset base is fine only when every
  // true neighbour lies inside it (then they are also the subset's true neighbours).
  knn_result t;
  t.nq = queries.rows();
  t.k = spec.k;
  for (std::size_t q = 0; q < t.nq; ++q)
    for (std::size_t j = 0; j < spec.k; ++j) {
      const std::int32_t id = truth.ids_of(q)[j];
      QTUNE_CHECK(id >= 0 && static_cast<std::size_t>(id) < base.rows(), spec.place("dataset.ground_truth"),
                  ": query ", q, " has true neighbour ", id, " outside the ", base.rows(),
                  " base rows loaded (max_base?); drop ground_truth to compute it");
      t.ids.push_back(id);
      t.distances.push_back(exact_distance(base.row(id), queries.row(q), base.dim(), ds.distance));
    }
  return t;
}

}  // namespace

sweep_context::sweep_context(const sweep_spec& spec, const sweep_context_options& options) : spec_(spec) {
  hash_ = qtune::spec_hash(spec_);
  threads_ = spec_.threads ? spec_.threads : static_cast<std::size_t>(tbb::info::default_concurrency());
  if (spec_.threads)
    thread_limit_ = std::make_shared<tbb::global_control>(tbb::global_control::max_allowed_parallelism, spec_.threads);
  if (options.on_message) options.on_message("loading data");
  else if (progress_enabled()) report_progress(progress_event{"sweep", 0, 0, "loading data", false, false});

  const auto& ds = spec_.dataset;
  check_files_exist(spec_);
  read_options ro;
  ro.max_rows = ds.max_base;  // an HDF5 file's base is its "train" dataset (the default)
  if (options.base_rows) ro.max_rows = ro.max_rows ? std::min(ro.max_rows, options.base_rows) : options.base_rows;
  base_ = read_vectors(ds.base, ro);
  read_options rq;
  rq.max_rows = ds.max_queries;
  rq.hdf5_dataset = "test";  // read only from HDF5 files
  vectors queries = read_vectors(ds.queries, rq);
  QTUNE_CHECK(base_->dim() == queries.dim(), spec_.place("dataset.queries"), ": queries have dimension ",
              queries.dim(), ", the base has ", base_->dim());
  QTUNE_CHECK(base_->rows() > spec_.k, spec_.place("dataset.base"), ": the base has ", base_->rows(),
              " vectors, need more than k = ", spec_.k);
  QTUNE_CHECK(queries.rows() >= 2, spec_.place("dataset.queries"), ": need at least 2 queries, got ", queries.rows());
  if (ds.distance == metric::cosine) {
    base_->normalize_rows(ds.base.string());
    queries.normalize_rows(ds.queries.string());
  }
  n_queries_ = queries.rows();
  base_hash_ = content_hash(base_->view());
  queries_hash_ = content_hash(queries.view());
  // Codec names must fit the data's dimension (pq16x8 needs dim % 16 == 0): check before any work.
  for (std::size_t i = 0; i < spec_.grid.codecs.size(); ++i) {
    try {
      (void)codec_code_size(spec_.grid.codecs[i], base_->dim());
    } catch (const error& e) {
      fail(spec_.place("grid.codecs[" + std::to_string(i) + "]"), ": codec '", spec_.grid.codecs[i],
           "' does not fit dimension ", base_->dim(), ": ", e.what());
    }
  }

  const std::filesystem::path cache = spec_.cache_dir.empty() ? default_ground_truth_cache_dir() : spec_.cache_dir;
  const bool from_file = !ds.ground_truth.empty() && options.base_rows == 0;
  ground_truth_desc_ = from_file ? ds.ground_truth.string() : "computed (exact, cached in " + cache.string() + ")";
  knn_result truth;
  if (options.with_truth)
    truth = from_file ? truth_from_file(spec_, *base_, queries)
                      : cached_exact_knn(base_->view(), queries.view(), ds.distance, spec_.k, cache);

  const std::size_t nq = queries.rows();
  std::size_t nv = static_cast<std::size_t>(std::llround(spec_.validation_fraction * static_cast<double>(nq)));
  nv = std::clamp<std::size_t>(nv, 1, nq - 1);
  const std::vector<std::size_t> perm = permutation(nq, spec_.seed);
  std::vector<std::size_t> val(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(nv));
  std::vector<std::size_t> tun(perm.begin() + static_cast<std::ptrdiff_t>(nv), perm.end());
  std::sort(val.begin(), val.end());
  std::sort(tun.begin(), tun.end());
  validation_rows_ = val;
  tuning_ = queries.select(tun);
  validation_ = queries.select(val);
  if (options.with_truth) {
    truth_tuning_ = select_rows(truth, tun);
    truth_validation_ = select_rows(truth, val);
  }
  queries_ = std::move(queries);
}

sweep_context::~sweep_context() = default;

std::vector<std::pair<std::string, std::string>> sweep_context::facts() const {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back("base", std::filesystem::absolute(spec_.dataset.base).string());
  f.emplace_back("queries", std::filesystem::absolute(spec_.dataset.queries).string());
  f.emplace_back("ground truth", ground_truth_desc_);
  if (!spec_.file.empty()) f.emplace_back("spec", std::filesystem::absolute(spec_.file).string());
  f.emplace_back("metric", to_string(spec_.dataset.distance));
  f.emplace_back("data", std::to_string(base_->rows()) + " base x " + std::to_string(base_->dim()) + " dims, " +
                             std::to_string(tuning_->rows()) + " tuning + " + std::to_string(validation_->rows()) +
                             " validation queries");
  f.emplace_back("objective", to_string(spec_.objective));
  f.emplace_back("qtune", std::string(version_string) + " (" + git_commit + ")");
  f.emplace_back("cpu", cpu_description() + ", " + to_string(active_simd_level()) + ", " + std::to_string(threads_) +
                            (threads_ == 1 ? " thread" : " threads"));
  f.emplace_back("date", utc_now());
  return f;
}

}  // namespace qtune
