// The faiss:<factory> adapter: any FAISS index_factory string, the peer qtune is compared with.
#include <faiss/AutoTune.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "index/hnsw_index.hpp"
#include "index/index_file.hpp"
#include "qtune/error.hpp"

namespace qtune::detail {
namespace {

using faiss_idx = faiss::Index::idx_t;
constexpr std::size_t max_train_rows = 200000;

faiss::MetricType faiss_metric(metric m) {
  return compute_metric(m) == metric::l2 ? faiss::METRIC_L2 : faiss::METRIC_INNER_PRODUCT;
}

int resolve_omp_threads(std::size_t threads) {
  if (threads > 0) return static_cast<int>(threads);
  const unsigned hc = std::thread::hardware_concurrency();
  return hc > 0 ? static_cast<int>(hc) : 1;
}

/// Analytic bytes of a FAISS index from its structure. HNSW: neighbours (int32, all levels),
/// offsets (size_t per node + 1), levels (int per node) + storage. Flat-code storage (Flat, SQ,
/// PQ): codes + trained tables. IVF: inverted-list codes + 8-byte ids + the coarse quantizer.
/// Anything else: the size of its serialization (write_index), which is codes + structure.
std::size_t faiss_bytes(const faiss::Index* index) {
  if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(index)) {
    return h->hnsw.neighbors.size() * sizeof(faiss::HNSW::storage_idx_t) + h->hnsw.offsets.size() * sizeof(std::size_t) +
           h->hnsw.levels.size() * sizeof(int) + faiss_bytes(h->storage);
  }
  if (const auto* fc = dynamic_cast<const faiss::IndexFlatCodes*>(index)) {
    std::size_t bytes = fc->codes.size();
    if (const auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(index))
      bytes += sq->sq.trained.size() * sizeof(float);
    if (const auto* pq = dynamic_cast<const faiss::IndexPQ*>(index)) bytes += pq->pq.centroids.size() * sizeof(float);
    return bytes;
  }
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
    std::size_t bytes = faiss_bytes(ivf->quantizer);
    if (const auto* al = dynamic_cast<const faiss::ArrayInvertedLists*>(ivf->invlists)) {
      for (std::size_t l = 0; l < al->nlist; ++l) bytes += al->codes[l].size() + al->ids[l].size() * sizeof(faiss_idx);
    }
    return bytes;
  }
  faiss::VectorIOWriter w;
  faiss::write_index(index, &w);
  return w.data.size();
}

class faiss_index final : public index {
 public:
  faiss_index(const index_config& config, std::size_t dim) : config_(config), dim_(dim) {
    QTUNE_CHECK(config.kind.rfind("faiss:", 0) == 0, "faiss index: kind must be 'faiss:<factory>', got '",
                config.kind, "'");
    factory_ = config.kind.substr(6);
    QTUNE_CHECK(!factory_.empty(), "faiss index: empty factory string in '", config.kind, "'");
    QTUNE_CHECK(config.rerank == 0, "faiss index: rerank is not supported (use a FAISS refine suffix such as ',RFlat')");
    index_.reset(create());
  }

  const index_config& config() const override { return config_; }
  std::size_t dim() const override { return dim_; }
  std::size_t size() const override { return static_cast<std::size_t>(index_->ntotal); }

  void build(matrix_view<float> base) override {
    QTUNE_CHECK(base.dim == dim_, "faiss index: base has dimension ", base.dim, ", expected ", dim_);
    QTUNE_CHECK(base.rows > 0, "faiss index: cannot build over an empty base");
    const std::size_t n = base.rows;
    std::vector<float> copy;
    const float* x = base.data;
    if (!base.contiguous()) {
      copy.resize(n * dim_);
      for (std::size_t i = 0; i < n; ++i) std::memcpy(copy.data() + i * dim_, base.row(i), dim_ * sizeof(float));
      x = copy.data();
    }
    index_.reset(create());
    omp_set_num_threads(resolve_omp_threads(config_.threads));
    try {
      if (auto* h = dynamic_cast<faiss::IndexHNSW*>(index_.get())) h->hnsw.efConstruction = static_cast<int>(config_.ef_construction);
      if (!index_->is_trained) {
        const std::size_t nt = std::min(n, max_train_rows);
        index_->train(static_cast<faiss_idx>(nt), x);  // the first rows: the base order is arbitrary
      }
      index_->add(static_cast<faiss_idx>(n), x);
    } catch (const faiss::FaissException& e) {
      fail("faiss index '", factory_, "': build failed: ", e.what());
    }
    apply_ef();
  }

  void add(matrix_view<float> x) override {
    if (index_->ntotal == 0) {
      build(x);
      return;
    }
    QTUNE_CHECK(x.dim == dim_, "faiss index: added vectors have dimension ", x.dim, ", expected ", dim_);
    if (x.rows == 0) return;
    std::vector<float> copy;
    const float* rows = x.data;
    if (!x.contiguous()) {
      copy.resize(x.rows * dim_);
      for (std::size_t i = 0; i < x.rows; ++i) std::memcpy(copy.data() + i * dim_, x.row(i), dim_ * sizeof(float));
      rows = copy.data();
    }
    omp_set_num_threads(resolve_omp_threads(config_.threads));
    try {
      index_->add(static_cast<faiss_idx>(x.rows), rows);
    } catch (const faiss::FaissException& e) {
      fail("faiss index '", factory_, "': add failed: ", e.what());
    }
  }

  void set_ef_search(std::size_t ef) override {
    QTUNE_CHECK(ef >= 1, "faiss index: efSearch must be >= 1, got ", ef);
    config_.ef_search = ef;
    apply_ef();
  }
  void set_rerank(std::size_t r) override {
    QTUNE_CHECK(r == 0, "faiss index: rerank is not supported (use a FAISS refine suffix such as ',RFlat')");
  }

  void search(const float* q, std::size_t k, std::int32_t* ids, float* distances) const override {
    search_ef(q, k, 0, ids, distances);
  }

  void search_ef(const float* q, std::size_t k, std::size_t ef_search, std::int32_t* ids,
                 float* distances) const override {
    omp_set_num_threads(1);  // one query: no OpenMP team
    run(1, q, k, ef_search, ids, distances);
  }

  void search_batch(matrix_view<float> queries, std::size_t k, std::int32_t* ids, float* distances,
                    std::size_t threads, std::size_t ef_search) const override {
    QTUNE_CHECK(queries.dim == dim_, "faiss index: queries have dimension ", queries.dim, ", expected ", dim_);
    std::vector<float> copy;
    const float* x = queries.data;
    if (!queries.contiguous()) {
      copy.resize(queries.rows * dim_);
      for (std::size_t i = 0; i < queries.rows; ++i)
        std::memcpy(copy.data() + i * dim_, queries.row(i), dim_ * sizeof(float));
      x = copy.data();
    }
    omp_set_num_threads(resolve_omp_threads(threads));
    run(queries.rows, x, k, ef_search, ids, distances);
  }

  index_memory memory() const override {
    index_memory mem;
    mem.resident_bytes = faiss_bytes(index_.get());
    return mem;
  }

  void save(const std::filesystem::path& path) const override {
    index_file f;
    f.config = config_;
    f.dim = dim_;
    f.count = size();
    faiss::VectorIOWriter w;
    try {
      faiss::write_index(index_.get(), &w);
    } catch (const faiss::FaissException& e) {
      fail(path.string(), ": faiss::write_index failed: ", e.what());
    }
    f.sections.emplace_back("FAIS", std::string(reinterpret_cast<const char*>(w.data.data()), w.data.size()));
    write_index_file(path, f);
  }

  void load(const std::filesystem::path& path) override {
    const std::string name = path.string();
    index_file f = read_index_file(path);
    QTUNE_CHECK(f.config.kind.rfind("faiss:", 0) == 0, name, ": file holds a '", f.config.kind,
                "' index, expected a faiss:<factory> index");
    QTUNE_CHECK(f.dim == dim_, name, ": file holds ", f.dim, "-dimensional vectors, this index has dim ", dim_);
    const std::string& bytes = f.section("FAIS", path);
    faiss::VectorIOReader r;
    r.data.assign(bytes.begin(), bytes.end());
    std::unique_ptr<faiss::Index> loaded;
    try {
      loaded.reset(faiss::read_index(&r));
    } catch (const faiss::FaissException& e) {
      fail(name, ": faiss::read_index failed: ", e.what());
    }
    QTUNE_CHECK(loaded->d == static_cast<faiss_idx>(dim_), name, ": FAISS index has dim ", loaded->d,
                ", expected ", dim_);
    QTUNE_CHECK(static_cast<std::size_t>(loaded->ntotal) == f.count, name, ": FAISS index holds ", loaded->ntotal,
                " vectors, header says ", f.count);
    config_ = f.config;
    factory_ = config_.kind.substr(6);
    index_ = std::move(loaded);
    apply_ef();
  }

 private:
  faiss::Index* create() const {
    try {
      return faiss::index_factory(static_cast<int>(dim_), factory_.c_str(), faiss_metric(config_.distance));
    } catch (const faiss::FaissException& e) {
      fail("faiss index: bad factory string '", factory_, "': ", e.what());
    }
  }

  void apply_ef() {
    if (auto* h = dynamic_cast<faiss::IndexHNSW*>(index_.get())) {
      h->hnsw.efSearch = static_cast<int>(config_.ef_search);
      return;
    }
    // Other structures (e.g. an HNSW under a pre-transform): the parameter space knows where
    // efSearch lives; an index without it simply ignores the setting.
    try {
      faiss::ParameterSpace().set_index_parameter(index_.get(), "efSearch", static_cast<double>(config_.ef_search));
    } catch (const faiss::FaissException&) {
    }
  }

  void run(std::size_t nq, const float* x, std::size_t k, std::size_t ef, std::int32_t* ids, float* distances) const {
    if (k == 0 || nq == 0) return;
    std::vector<faiss_idx> labels(nq * k);
    std::vector<float> d(nq * k);
    // A per-call efSearch: Debian's FAISS 1.7.3 accepts SearchParametersHNSW but its HNSW search
    // loop still reads hnsw.efSearch (measured: efSearch 2048 through the parameters ran as fast
    // as 16). So the field itself is set for the call, under an exclusive lock; searches with the
    // index's own setting share the lock and run concurrently.
    auto* hnsw = ef != 0 && ef != config_.ef_search ? dynamic_cast<faiss::IndexHNSW*>(index_.get()) : nullptr;
    try {
      if (hnsw) {
        std::unique_lock lock(ef_mutex_);
        hnsw->hnsw.efSearch = static_cast<int>(ef);
        struct restore {
          faiss::IndexHNSW* h;
          int ef;
          ~restore() { h->hnsw.efSearch = ef; }
        } guard{hnsw, static_cast<int>(config_.ef_search)};
        index_->search(static_cast<faiss_idx>(nq), x, static_cast<faiss_idx>(k), d.data(), labels.data());
      } else {
        std::shared_lock lock(ef_mutex_);
        index_->search(static_cast<faiss_idx>(nq), x, static_cast<faiss_idx>(k), d.data(), labels.data());
      }
    } catch (const faiss::FaissException& e) {
      fail("faiss index '", factory_, "': search failed: ", e.what());
    }
    const bool ip = index_->metric_type == faiss::METRIC_INNER_PRODUCT;
    for (std::size_t i = 0; i < nq * k; ++i) {
      if (labels[i] < 0) {
        ids[i] = -1;
        distances[i] = std::numeric_limits<float>::infinity();
      } else {
        ids[i] = static_cast<std::int32_t>(labels[i]);
        distances[i] = ip ? 1.0f - d[i] : d[i];  // qtune: smaller is closer
      }
    }
  }

  index_config config_;
  std::size_t dim_;
  std::string factory_;
  std::unique_ptr<faiss::Index> index_;
  mutable std::shared_mutex ef_mutex_;  // see run(): a per-call efSearch is set on the index
};

}  // namespace

std::unique_ptr<index> make_faiss_index(const index_config& config, std::size_t dim) {
  return std::make_unique<faiss_index>(config, dim);
}

}  // namespace qtune::detail
