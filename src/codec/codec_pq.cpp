// pq{M}x{nbits}: product quantization. Codebooks are trained by FAISS (k-means per
// subspace); encoding, look-up tables and distances use qtune's kernels.
#include <omp.h>

#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <dlfcn.h>
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <oneapi/tbb/parallel_for.h>

#include <atomic>
#include <cmath>
#include <mutex>

#include "codec/codec_impl.hpp"

namespace qtune::detail {

namespace {

struct pq_params {
  kernel_slot kernels;
  std::size_t m = 0;
  std::size_t ksub = 0;
  // m x ksub x ksub centroid-to-centroid distance terms, built on the first code-to-code
  // distance (a graph built from float vectors and searched asymmetrically never needs it).
  mutable std::atomic<const float*> sdc{nullptr};
  const float* (*build_sdc)(const void* codec) = nullptr;
  const void* codec = nullptr;

  const float* sdc_table() const {
    const float* t = sdc.load(std::memory_order_acquire);
    return t ? t : build_sdc(codec);
  }
};

inline std::size_t pq_code_at(const std::uint8_t* c, std::size_t m, int nbits) noexcept {
  if (nbits == 8) return c[m];
  return (m & 1) ? (c[m >> 1] >> 4) : (c[m >> 1] & 0x0fu);
}

// How a PQ codec scores: l2 (||q - x||^2), ip (1 - <q, x>), or, for a codec created for
// cosine (rows and queries unit vectors), half the squared L2 to the reconstruction, which is
// 1 - cos for unit vectors and ranks the codes better than 1 - <q, x> does, because the
// reconstructions' norms differ (recall@10 on glove50-10k, pq10x8: 0.598 as ip, as FAISS's
// METRIC_L2 on the unit vectors with this form).
enum class pq_form { l2, ip, cosine_l2 };

template <pq_form Form>
constexpr float finish_sum(float s) noexcept {
  if constexpr (Form == pq_form::ip) return 1.0f - s;
  else if constexpr (Form == pq_form::cosine_l2) return 0.5f * s;
  else return s;
}

// Prepared query: the look-up table lut[m * ksub + k] (l2 forms: ||q_m - c_mk||^2; ip: <q_m, c_mk>).
template <int NBits, pq_form Form>
float asym(const void* q, const void* c, const void* params) {
  const auto& p = *static_cast<const pq_params*>(params);
  const auto* lut = static_cast<const float*>(q);
  const auto* code = static_cast<const std::uint8_t*>(c);
  float s;
  if constexpr (NBits == 8) s = p.kernels.get().pq_lut8(lut, code, p.m);
  else s = p.kernels.get().pq_lut4(lut, code, p.m);
  return finish_sum<Form>(s);
}

// Symmetric: sum over subspaces of sdc[m][a_m][b_m] (the distance between decoded vectors).
template <int NBits, pq_form Form>
float sym(const void* a, const void* b, const void* params) {
  const auto& p = *static_cast<const pq_params*>(params);
  const auto* ca = static_cast<const std::uint8_t*>(a);
  const auto* cb = static_cast<const std::uint8_t*>(b);
  constexpr std::size_t ksub = std::size_t(1) << NBits;
  const float* sdc = p.sdc_table();
  float s = 0.0f;
  for (std::size_t m = 0; m < p.m; ++m)
    s += sdc[(m * ksub + pq_code_at(ca, m, NBits)) * ksub + pq_code_at(cb, m, NBits)];
  return finish_sum<Form>(s);
}

// FAISS parallelises k-means with OpenMP (and BLAS). We parallelise over subspaces with
// oneTBB instead, so inside each task FAISS must stay on the calling thread, or every worker
// would start a team of its own (measured on 2 loaded cores: 83 s instead of 3 s of CPU
// for pq16x8 on sift10k). omp_set_num_threads sets the calling thread's value only.
class scoped_omp_threads {
 public:
  scoped_omp_threads() {
    previous_ = omp_get_max_threads();
    if (previous_ != 1) omp_set_num_threads(1);
    else previous_ = 0;
  }
  ~scoped_omp_threads() {
    if (previous_ > 0) omp_set_num_threads(previous_);
  }
  scoped_omp_threads(const scoped_omp_threads&) = delete;
  scoped_omp_threads& operator=(const scoped_omp_threads&) = delete;

 private:
  int previous_ = 0;
};

// OpenBLAS keeps its own thread pool; its thread count is process-wide. The symbols are
// looked up at run time (we link libblas.so; with another BLAS they are absent).
class scoped_blas_threads {
 public:
  explicit scoped_blas_threads(int n) {
    static const auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    static const auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    if (!set || !get) return;
    set_ = set;
    previous_ = get();
    if (previous_ != n) set(n);
    else set_ = nullptr;
  }
  ~scoped_blas_threads() {
    if (set_) set_(previous_);
  }
  scoped_blas_threads(const scoped_blas_threads&) = delete;
  scoped_blas_threads& operator=(const scoped_blas_threads&) = delete;

 private:
  void (*set_)(int) = nullptr;
  int previous_ = 0;
};

class pq_codec final : public codec {
 public:
  pq_codec(const codec_spec& s, std::size_t dim, metric m)
      : codec(dim, m), m_(s.m), nbits_(s.bits), ksub_(std::size_t(1) << s.bits), dsub_(dim / s.m) {
    params_.m = m_;
    params_.ksub = ksub_;
    params_.codec = this;
    params_.build_sdc = [](const void* c) { return static_cast<const pq_codec*>(c)->build_sdc(); };
  }

  std::string name() const override { return "pq" + std::to_string(m_) + "x" + std::to_string(nbits_); }
  std::size_t code_size() const override { return nbits_ == 8 ? m_ : (m_ + 1) / 2; }
  /// Centroids, plus the symmetric table once a code-to-code distance has built it.
  std::size_t table_bytes() const override {
    if (!trained_) return 0;
    std::lock_guard lock(sdc_mutex_);
    return (centroids_.size() + sdc_.size()) * sizeof(float);
  }
  bool is_trained() const override { return trained_; }

  void train(std::size_t n, const float* x) override {
    QTUNE_CHECK(n >= ksub_ && x != nullptr, "codec ", name(), ": training needs at least ", ksub_,
                " vectors (2^nbits), got ", n);
    // One k-means per subspace, run in parallel by oneTBB, each single-threaded inside
    // FAISS (OpenMP and OpenBLAS pinned to one thread): the same clustering as
    // faiss::ProductQuantizer::train (same parameters and seed for every subspace), without
    // two thread pools fighting over the cores.
    std::vector<float> centroids(m_ * ksub_ * dsub_);
    scoped_blas_threads blas_guard(1);
    tbb::parallel_for(std::size_t(0), m_, [&](std::size_t m) {
      scoped_omp_threads omp_guard;
      std::vector<float> slice(n * dsub_);
      for (std::size_t i = 0; i < n; ++i)
        std::memcpy(slice.data() + i * dsub_, x + i * dim_ + m * dsub_, dsub_ * sizeof(float));
      try {
        faiss::ClusteringParameters cp;
        cp.niter = 25;
        cp.seed = 1234;
        cp.verbose = false;
        cp.min_points_per_centroid = 1;  // n >= ksub is checked above; avoids FAISS's stderr warning
        faiss::Clustering clus(static_cast<int>(dsub_), ksub_, cp);
        faiss::IndexFlatL2 assign(static_cast<faiss::Index::idx_t>(dsub_));
        clus.train(static_cast<faiss::Index::idx_t>(n), slice.data(), assign);
        QTUNE_CHECK(clus.centroids.size() == ksub_ * dsub_, "codec ", name(), ": FAISS returned ",
                    clus.centroids.size(), " centroid values for subspace ", m, ", expected ", ksub_ * dsub_);
        std::memcpy(centroids.data() + m * ksub_ * dsub_, clus.centroids.data(), ksub_ * dsub_ * sizeof(float));
      } catch (const faiss::FaissException& e) {
        fail("codec ", name(), ": FAISS k-means of subspace ", m, " failed: ", e.what());
      }
    });
    set_centroids(centroids.data());
  }

  void encode(std::size_t n, const float* x, std::uint8_t* codes) const override {
    require_trained();
    const kernels::table& t = kernels::active();
    const std::size_t cs = code_size();
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = x + i * dim_;
      std::uint8_t* out = codes + i * cs;
      if (nbits_ == 4) std::memset(out, 0, cs);
      for (std::size_t m = 0; m < m_; ++m) {
        const float* sub = row + m * dsub_;
        const float* cent = centroids_.data() + m * ksub_ * dsub_;
        std::size_t best = 0;
        float best_d = std::numeric_limits<float>::infinity();
        for (std::size_t k = 0; k < ksub_; ++k) {
          const float d = t.l2_f32(sub, cent + k * dsub_, dsub_);
          if (d < best_d) best_d = d, best = k;
        }
        if (nbits_ == 8) out[m] = static_cast<std::uint8_t>(best);
        else out[m >> 1] |= static_cast<std::uint8_t>(best << ((m & 1) * 4));
      }
    }
  }

  void decode(std::size_t n, const std::uint8_t* codes, float* x) const override {
    require_trained();
    const std::size_t cs = code_size();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t m = 0; m < m_; ++m) {
        const std::size_t k = pq_code_at(codes + i * cs, m, nbits_);
        std::memcpy(x + i * dim_ + m * dsub_, centroids_.data() + (m * ksub_ + k) * dsub_, dsub_ * sizeof(float));
      }
  }

  std::size_t prepared_query_size() const override { return m_ * ksub_ * sizeof(float); }
  void prepare_query(const float* q, void* prepared) const override {
    const kernels::table& t = kernels::active();
    auto* lut = static_cast<float*>(prepared);
    const bool ip = form() == pq_form::ip;
    for (std::size_t m = 0; m < m_; ++m) {
      const float* sub = q + m * dsub_;
      const float* cent = centroids_.data() + m * ksub_ * dsub_;
      for (std::size_t k = 0; k < ksub_; ++k)
        lut[m * ksub_ + k] = ip ? t.ip_f32(sub, cent + k * dsub_, dsub_) : t.l2_f32(sub, cent + k * dsub_, dsub_);
    }
  }
  code_distance_fn asymmetric_distance() const override {
    switch (form()) {
      case pq_form::ip: return nbits_ == 8 ? asym<8, pq_form::ip> : asym<4, pq_form::ip>;
      case pq_form::cosine_l2: return nbits_ == 8 ? asym<8, pq_form::cosine_l2> : asym<4, pq_form::cosine_l2>;
      default: return nbits_ == 8 ? asym<8, pq_form::l2> : asym<4, pq_form::l2>;
    }
  }
  code_distance_fn symmetric_distance() const override {
    switch (form()) {
      case pq_form::ip: return nbits_ == 8 ? sym<8, pq_form::ip> : sym<4, pq_form::ip>;
      case pq_form::cosine_l2: return nbits_ == 8 ? sym<8, pq_form::cosine_l2> : sym<4, pq_form::cosine_l2>;
      default: return nbits_ == 8 ? sym<8, pq_form::l2> : sym<4, pq_form::l2>;
    }
  }
  const void* distance_params() const override {
    params_.kernels.refresh();
    return &params_;
  }

  void save(std::ostream& out) const override {
    require_trained();
    stream_writer w(out);
    write_header(w, "QCPQ", 1, dim_);
    w.pod<std::uint32_t>(static_cast<std::uint32_t>(m_));
    w.pod<std::uint32_t>(static_cast<std::uint32_t>(nbits_));
    w.floats(centroids_.data(), centroids_.size());
  }
  void load(std::istream& in) override {
    stream_reader r(in, "codec " + name());
    read_header(r, "QCPQ", 1, dim_);
    r.expect<std::uint32_t>(r.pod<std::uint32_t>("M"), static_cast<std::uint32_t>(m_), "M");
    r.expect<std::uint32_t>(r.pod<std::uint32_t>("nbits"), static_cast<std::uint32_t>(nbits_), "nbits");
    std::vector<float> centroids(m_ * ksub_ * dsub_);
    r.floats(centroids.data(), centroids.size(), "centroids");
    for (std::size_t i = 0; i < centroids.size(); ++i)
      QTUNE_CHECK(std::isfinite(centroids[i]), r.what(), ": centroid value ", i, " is not finite");
    set_centroids(centroids.data());
  }

 private:
  void require_trained() const { QTUNE_CHECK(trained_, "codec ", name(), " is not trained"); }
  pq_form form() const noexcept {
    if (created_metric() == metric::cosine) return pq_form::cosine_l2;
    return metric_ == metric::ip ? pq_form::ip : pq_form::l2;
  }

  void set_centroids(const float* centroids) {
    centroids_.resize(m_ * ksub_ * dsub_);
    std::memcpy(centroids_.data(), centroids, centroids_.size() * sizeof(float));
    {
      std::lock_guard lock(sdc_mutex_);
      sdc_.resize(0);
      params_.sdc.store(nullptr, std::memory_order_release);
    }
    trained_ = true;
  }

  // The symmetric table: sdc[m][i][j] = ||c_mi - c_mj||^2 (l2) or <c_mi, c_mj> (ip),
  // M x 2^nbits x 2^nbits floats (1 MiB for pq16x8): built once, on demand.
  const float* build_sdc() const {
    std::lock_guard lock(sdc_mutex_);
    if (sdc_.size() != 0) return sdc_.data();
    const kernels::table& t = kernels::active();
    const bool ip = form() == pq_form::ip;
    aligned_floats sdc(m_ * ksub_ * ksub_);
    for (std::size_t m = 0; m < m_; ++m) {
      const float* cent = centroids_.data() + m * ksub_ * dsub_;
      for (std::size_t i = 0; i < ksub_; ++i)
        for (std::size_t j = 0; j < ksub_; ++j)
          sdc[(m * ksub_ + i) * ksub_ + j] =
              ip ? t.ip_f32(cent + i * dsub_, cent + j * dsub_, dsub_) : t.l2_f32(cent + i * dsub_, cent + j * dsub_, dsub_);
    }
    sdc_ = std::move(sdc);
    params_.sdc.store(sdc_.data(), std::memory_order_release);
    return sdc_.data();
  }


  std::size_t m_;
  int nbits_;
  std::size_t ksub_;
  std::size_t dsub_;
  bool trained_ = false;
  aligned_floats centroids_;  // m x ksub x dsub (FAISS layout)
  mutable std::mutex sdc_mutex_;
  mutable aligned_floats sdc_;  // m x ksub x ksub, see build_sdc()
  mutable pq_params params_;
};

}  // namespace

std::unique_ptr<codec> make_pq_codec(const codec_spec& s, std::size_t dim, metric m) {
  return std::make_unique<pq_codec>(s, dim, m);
}

}  // namespace qtune::detail
