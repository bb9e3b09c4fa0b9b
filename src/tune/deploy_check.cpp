// The deploy check in FAISS and hnswlib (see deploy_check.hpp).
#include "tune/deploy_check.hpp"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexRefine.h>
#include <faiss/index_factory.h>
#include <omp.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <random>

#include "index/hnswlib_peer.hpp"
#include "qtune/error.hpp"
#include "qtune/recommend.hpp"

namespace qtune {

namespace {

using clock_type = std::chrono::steady_clock;

std::vector<float> contiguous(matrix_view<float> x) {
  std::vector<float> out(x.rows * x.dim);
  for (std::size_t i = 0; i < x.rows; ++i) std::copy_n(x.row(i), x.dim, out.data() + i * x.dim);
  return out;
}

/// An engine index: build once, search a batch at a given ef.
class engine_index {
 public:
  virtual ~engine_index() = default;
  virtual void search(matrix_view<float> q, std::size_t k, std::size_t ef, std::int32_t* ids) = 0;
};

class faiss_engine : public engine_index {
 public:
  faiss_engine(const engine_setup& s, matrix_view<float> base) {
    const auto fm = s.distance == metric::l2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
    try {
      index_.reset(faiss::index_factory(static_cast<int>(base.dim), s.factory.c_str(), fm));
    } catch (const faiss::FaissException& e) {
      fail("deploy check: FAISS rejects the factory string '", s.factory, "': ", e.what());
    }
    // Unwrap RR...,  ...,RFlat to reach the HNSW index.
    faiss::Index* inner = index_.get();
    if (auto* pt = dynamic_cast<faiss::IndexPreTransform*>(inner)) inner = pt->index;
    if (auto* rf = dynamic_cast<faiss::IndexRefine*>(inner)) {
      if (s.k_factor > 0) rf->k_factor = static_cast<float>(s.k_factor);
      inner = rf->base_index;
    }
    if (auto* pt = dynamic_cast<faiss::IndexPreTransform*>(inner)) inner = pt->index;
    hnsw_ = dynamic_cast<faiss::IndexHNSW*>(inner);
    QTUNE_CHECK(hnsw_, "deploy check: '", s.factory, "' is not an HNSW index in FAISS");
    hnsw_->hnsw.efConstruction = static_cast<int>(s.ef_construction);
    if (s.threads) omp_set_num_threads(static_cast<int>(s.threads));
    const std::vector<float> x = contiguous(base);
    const auto n = static_cast<faiss::Index::idx_t>(base.rows);
    if (!index_->is_trained) index_->train(n, x.data());
    index_->add(n, x.data());
  }
  void search(matrix_view<float> q, std::size_t k, std::size_t ef, std::int32_t* ids) override {
    // FAISS 1.7.3 reads hnsw.efSearch in its search loop (SearchParametersHNSW is ignored).
    hnsw_->hnsw.efSearch = static_cast<int>(ef);
    const std::vector<float> x = contiguous(q);
    std::vector<faiss::Index::idx_t> labels(q.rows * k);
    std::vector<float> dist(q.rows * k);
    index_->search(static_cast<faiss::Index::idx_t>(q.rows), x.data(), static_cast<faiss::Index::idx_t>(k), dist.data(),
                   labels.data());
    for (std::size_t i = 0; i < labels.size(); ++i) ids[i] = static_cast<std::int32_t>(labels[i]);
  }

 private:
  std::unique_ptr<faiss::Index> index_;
  faiss::IndexHNSW* hnsw_ = nullptr;
};

/// hnswlib's own fp32 graph (src/index/hnswlib_peer.hpp: the one place that includes hnswlib).
class hnswlib_engine : public engine_index {
 public:
  hnswlib_engine(const engine_setup& s, matrix_view<float> base)
      : peer_(contiguous(base).data(), base.rows, base.dim, s.distance != metric::l2,
              detail::hnsw_build_params{s.m, s.ef_construction, static_cast<std::size_t>(s.seed), s.threads}) {}
  void search(matrix_view<float> q, std::size_t k, std::size_t ef, std::int32_t* ids) override {
    peer_.search(contiguous(q).data(), q.rows, k, ef, ids);
  }

 private:
  detail::hnswlib_fp32_peer peer_;
};

knn_result search_all(engine_index& ix, matrix_view<float> q, std::size_t k, std::size_t ef) {
  knn_result r;
  r.nq = q.rows;
  r.k = k;
  r.ids.assign(q.rows * k, -1);
  r.distances.assign(q.rows * k, 0.f);
  ix.search(q, k, ef, r.ids.data());
  return r;
}

knn_result first_rows(const knn_result& t, const std::vector<std::size_t>& rows, std::size_t k) {
  knn_result r;
  r.nq = rows.size();
  r.k = k;
  for (std::size_t q : rows)
    for (std::size_t j = 0; j < k; ++j) {
      r.ids.push_back(t.ids_of(q)[j]);
      r.distances.push_back(t.distances_of(q)[j]);
    }
  return r;
}

}  // namespace

engine_verification verify_on_engine(const engine_setup& setup, matrix_view<float> base, matrix_view<float> tuning,
                                     const knn_result& truth_tuning, matrix_view<float> validation,
                                     const knn_result& truth_validation, std::size_t k, double target,
                                     std::size_t ef_max) {
  QTUNE_CHECK(setup.engine == "faiss" || setup.engine == "hnswlib", "deploy check: engine must be faiss or hnswlib, got '",
              setup.engine, "'");
  engine_verification v;
  v.setup = setup;
  v.spelling = setup.engine == "faiss"
                   ? "faiss index_factory(\"" + setup.factory + "\"), efConstruction " +
                         std::to_string(setup.ef_construction) +
                         (setup.k_factor ? ", k_factor " + std::to_string(setup.k_factor) : std::string())
                   : "hnswlib HierarchicalNSW<float> " + std::string(setup.distance == metric::l2 ? "l2" : "ip") +
                         " M=" + std::to_string(setup.m) + " ef_construction=" + std::to_string(setup.ef_construction);
  std::unique_ptr<tbb::global_control> limit;
  if (setup.threads)
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, setup.threads);
  const auto t0 = clock_type::now();
  std::unique_ptr<engine_index> ix;
  if (setup.engine == "faiss") ix = std::make_unique<faiss_engine>(setup, base);
  else ix = std::make_unique<hnswlib_engine>(setup, base);
  v.build_seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  const auto found = find_min_ef(
      [&](std::size_t ef) { return recall_ids(search_all(*ix, tuning, k, ef), truth_tuning, k); }, target, k,
      std::max(ef_max, k));
  v.verified_ef_search = found.ef;
  v.reached = found.reached;
  v.tuning_recall = found.recall;
  v.probes = found.probes;
  v.validation_found = search_all(*ix, validation, k, found.ef);
  std::vector<double> per_query;
  v.verified_recall = recall_ids(v.validation_found, truth_validation, k, &per_query);
  const interval ci = bootstrap_mean_interval(per_query);
  v.verified_lo = ci.lo, v.verified_hi = ci.hi;
  return v;
}

engine_setup engine_setup_of(const std::filesystem::path& path, const recommended_params& p, const std::string& engine) {
  QTUNE_CHECK(engine == "faiss" || engine == "hnswlib", "--engine must be faiss or hnswlib, got '", engine, "'");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    fail(path.string(), ": ", e.what());
  }
  const YAML::Node e = root["deploy"][engine];
  QTUNE_CHECK(e && e.IsMap(), path.string(), ": no deploy.", engine, " section");
  engine_setup s;
  s.engine = engine;
  s.distance = p.config.distance;
  s.seed = p.config.seed;
  s.threads = p.config.threads;
  if (engine == "faiss") {
    QTUNE_CHECK(e["factory"], path.string(), ": deploy.faiss has no factory string",
                e["note"] ? " (" + e["note"].as<std::string>() + ")" : std::string());
    s.factory = e["factory"].as<std::string>();
    s.ef_construction = e["efConstruction"] ? e["efConstruction"].as<std::size_t>() : p.config.ef_construction;
    s.k_factor = e["k_factor"] ? e["k_factor"].as<std::size_t>() : 0;
  } else {
    s.m = e["M"] ? e["M"].as<std::size_t>() : p.config.m;
    s.ef_construction = e["ef_construction"] ? e["ef_construction"].as<std::size_t>() : p.config.ef_construction;
  }
  return s;
}

engine_verification verify_param_file_on_engine(const std::filesystem::path& path, const recommended_params& p,
                                                const sweep_spec& spec, const std::string& engine) {
  engine_setup s = engine_setup_of(path, p, engine);
  if (spec.threads) s.threads = spec.threads;
  const auto& ds = spec.dataset;
  read_options ro;
  ro.max_rows = ds.max_base;
  vectors base = read_vectors(ds.base, ro);
  read_options rq;
  rq.max_rows = ds.max_queries;
  rq.hdf5_dataset = "test";
  vectors queries = read_vectors(ds.queries, rq);
  QTUNE_CHECK(base.dim() == p.dim, ds.base.string(), ": the data has dimension ", base.dim(),
              ", the parameter file says ", p.dim);
  if (ds.distance == metric::cosine) {
    base.normalize_rows(ds.base.string());
    queries.normalize_rows(ds.queries.string());
  }
  // The sweep hashes the rows as it uses them (after normalising).
  QTUNE_CHECK(content_hash(base.view()) == p.provenance.base_hash, ds.base.string(),
              ": the base differs from the one the parameter file was measured on (content hash)");
  // The sweep's query split (src/tune/sweep.cpp: seeded Fisher-Yates with mt19937_64, the first
  // round(fraction * nq) of the permutation held out), so the validation queries are the same.
  const std::size_t nq = queries.rows();
  std::vector<std::size_t> perm(nq);
  for (std::size_t i = 0; i < nq; ++i) perm[i] = i;
  std::mt19937_64 rng(spec.seed);
  for (std::size_t i = nq; i > 1; --i) std::swap(perm[i - 1], perm[rng() % i]);
  std::size_t nv = static_cast<std::size_t>(std::llround(spec.validation_fraction * static_cast<double>(nq)));
  nv = std::clamp<std::size_t>(nv, 1, nq - 1);
  std::vector<std::size_t> val(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(nv));
  std::vector<std::size_t> tun(perm.begin() + static_cast<std::ptrdiff_t>(nv), perm.end());
  std::sort(val.begin(), val.end());
  std::sort(tun.begin(), tun.end());
  const std::filesystem::path cache = spec.cache_dir.empty() ? default_ground_truth_cache_dir() : spec.cache_dir;
  const knn_result truth = cached_exact_knn(base.view(), queries.view(), ds.distance, p.k, cache);
  const vectors vq = queries.select(val), tq = queries.select(tun);
  engine_verification v = verify_on_engine(s, base.view(), tq.view(), first_rows(truth, tun, p.k), vq.view(),
                                           first_rows(truth, val, p.k), p.k, p.target_recall);
  return v;
}

}  // namespace qtune
