// rot,<codec>: a seeded random orthogonal rotation in front of any codec. Rotation spreads
// the variance evenly over dimensions (helps scalar quantizers with skewed dimensions and PQ
// with correlated subspaces); distances are unchanged, so the inner codec's distance
// functions and parameters are used as they are.
#include <algorithm>
#include <cmath>
#include <random>

#include "codec/codec_impl.hpp"

namespace qtune::detail {

namespace {

constexpr std::uint64_t rotation_seed = 1234;

// Rows of a dim x dim orthogonal matrix: modified Gram-Schmidt (applied twice, in double) on
// the rows of a Gaussian matrix, i.e. the Q factor of its QR decomposition, which is
// Haar-distributed up to signs.
std::vector<float> random_rotation(std::size_t dim, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> a(dim * dim);
  for (double& v : a) v = normal(rng);
  for (std::size_t i = 0; i < dim; ++i) {
    double* ri = a.data() + i * dim;
    for (int pass = 0; pass < 2; ++pass)
      for (std::size_t k = 0; k < i; ++k) {
        const double* rk = a.data() + k * dim;
        double dot = 0;
        for (std::size_t j = 0; j < dim; ++j) dot += ri[j] * rk[j];
        for (std::size_t j = 0; j < dim; ++j) ri[j] -= dot * rk[j];
      }
    double norm = 0;
    for (std::size_t j = 0; j < dim; ++j) norm += ri[j] * ri[j];
    norm = std::sqrt(norm);
    QTUNE_CHECK(norm > 1e-9, "random rotation: degenerate Gaussian matrix at row ", i);
    for (std::size_t j = 0; j < dim; ++j) ri[j] /= norm;
  }
  return std::vector<float>(a.begin(), a.end());
}

class rot_codec final : public codec {
 public:
  rot_codec(std::unique_ptr<codec> inner, std::size_t dim, metric m) : codec(dim, m), inner_(std::move(inner)) {}

  std::string name() const override { return "rot," + inner_->name(); }
  std::size_t code_size() const override { return inner_->code_size(); }
  std::size_t table_bytes() const override {
    return inner_->table_bytes() + (has_rotation() ? dim_ * dim_ * sizeof(float) : 0);
  }
  bool is_trained() const override { return has_rotation() && inner_->is_trained(); }

  void train(std::size_t n, const float* x) override {
    if (!has_rotation()) set_rotation(random_rotation(dim_, rotation_seed).data());
    std::vector<float> y(n * dim_);
    rotate(n, x, y.data(), r_.data());
    inner_->train(n, y.data());
  }

  void encode(std::size_t n, const float* x, std::uint8_t* codes) const override {
    require_trained();
    constexpr std::size_t block = 256;
    std::vector<float> y(std::min(n, block) * dim_);
    for (std::size_t i0 = 0; i0 < n; i0 += block) {
      const std::size_t len = std::min(block, n - i0);
      rotate(len, x + i0 * dim_, y.data(), r_.data());
      inner_->encode(len, y.data(), codes + i0 * code_size());
    }
  }

  void decode(std::size_t n, const std::uint8_t* codes, float* x) const override {
    require_trained();
    constexpr std::size_t block = 256;
    std::vector<float> y(std::min(n, block) * dim_);
    for (std::size_t i0 = 0; i0 < n; i0 += block) {
      const std::size_t len = std::min(block, n - i0);
      inner_->decode(len, codes + i0 * code_size(), y.data());
      rotate_back(len, y.data(), x + i0 * dim_);
    }
  }

  std::size_t prepared_query_size() const override { return inner_->prepared_query_size(); }
  void prepare_query(const float* q, void* prepared) const override {
    thread_local std::vector<float> y;
    y.resize(dim_);
    rotate(1, q, y.data(), r_.data());
    inner_->prepare_query(y.data(), prepared);
  }
  code_distance_fn asymmetric_distance() const override { return inner_->asymmetric_distance(); }
  code_distance_fn symmetric_distance() const override { return inner_->symmetric_distance(); }
  const void* distance_params() const override { return inner_->distance_params(); }

  void save(std::ostream& out) const override {
    require_trained();
    stream_writer w(out);
    write_header(w, "QCRT", 1, dim_);
    w.pod<std::uint64_t>(rotation_seed);
    w.floats(r_.data(), dim_ * dim_);
    inner_->save(out);
  }
  void load(std::istream& in) override {
    stream_reader r(in, "codec " + name());
    read_header(r, "QCRT", 1, dim_);
    (void)r.pod<std::uint64_t>("seed");
    std::vector<float> rot(dim_ * dim_);
    r.floats(rot.data(), rot.size(), "rotation matrix");
    for (std::size_t i = 0; i < rot.size(); ++i)
      QTUNE_CHECK(std::isfinite(rot[i]) && std::fabs(rot[i]) <= 1.0f + 1e-5f, r.what(), ": rotation entry ", i,
                  " is ", rot[i], ", expected a value in [-1, 1]");
    inner_->load(in);
    set_rotation(rot.data());
  }

 private:
  bool has_rotation() const noexcept { return r_.size() == dim_ * dim_; }
  void require_trained() const { QTUNE_CHECK(is_trained(), "codec ", name(), " is not trained"); }

  void set_rotation(const float* rot) {
    r_.resize(dim_ * dim_);
    std::copy(rot, rot + dim_ * dim_, r_.data());
  }

  // y_i = M x_i for n rows (M: dim x dim row-major).
  void rotate(std::size_t n, const float* x, float* y, const float* mat) const {
    const kernels::table& t = kernels::active();
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < dim_; ++j) y[i * dim_ + j] = t.ip_f32(mat + j * dim_, x + i * dim_, dim_);
  }

  // x_i = R^T y_i for n rows (R^T undoes R): a sum of R's rows weighted by y, so decoding needs
  // no transposed copy of R (decode is off the search path).
  void rotate_back(std::size_t n, const float* y, float* x) const {
    for (std::size_t i = 0; i < n; ++i) {
      float* xi = x + i * dim_;
      std::fill(xi, xi + dim_, 0.0f);
      for (std::size_t j = 0; j < dim_; ++j) {
        const float yj = y[i * dim_ + j];
        const float* row = r_.data() + j * dim_;
        for (std::size_t k = 0; k < dim_; ++k) xi[k] += yj * row[k];
      }
    }
  }

  std::unique_ptr<codec> inner_;
  aligned_floats r_;
};

}  // namespace

std::unique_ptr<codec> make_rot_codec(std::unique_ptr<codec> inner, std::size_t dim, metric m) {
  return std::make_unique<rot_codec>(std::move(inner), dim, m);
}

}  // namespace qtune::detail
