// bin: one bit per dimension (binary quantization, as Qdrant's "binary", Weaviate's BQ or
// Elasticsearch's bbq keep it), usually paired with rerank on full vectors.
//
// Training learns, per dimension j, a threshold t_j (the training mean) and two levels: lo_j, the
// mean of the training values <= t_j, and hi_j, the mean of those > t_j (the best 1-bit
// reconstruction for that threshold). Bit j is x_j > t_j; bit j of a code is bit (j % 8) of byte
// j / 8, low bit first; bits past dim are 0. decode(bit) = bit ? hi_j : lo_j.
//
// Distances are between the query and the decoded vector, computed through a look-up table per
// byte of code (8 dimensions x 256 bit patterns), so the PQ 8-bit table kernel sums them:
//   l2:  lut_g[b] = sum_{t<8} (q_t - level_t(b))^2
//   ip:  lut_g[b] = sum_{t<8} q_t * level_t(b)                 distance = 1 - sum_g lut_g[code_g]
// Code to code (graph construction from codes), with d_j = hi_j - lo_j:
//   l2:  sum_g W_g[a_g ^ b_g],               W_g[x]  = sum_{t in x} d_t^2
//   ip:  C + sum_g T_g[a_g] + T_g[b_g] + W_g[a_g & b_g],  T_g[x] = sum_{t in x} lo_t d_t,  C = sum lo_j^2
#include <bit>
#include <cmath>

#include "codec/codec_impl.hpp"

namespace qtune::detail {

namespace {

struct bin_params {
  kernel_slot kernels;
  std::size_t groups = 0;          // bytes per code = ceil(dim / 8)
  const float* pair = nullptr;     // W: groups x 256
  const float* single = nullptr;   // T: groups x 256 (ip only)
  float constant = 0.0f;           // C (ip only)
};

template <bool IP>
float asym(const void* q, const void* c, const void* params) {
  const auto& p = *static_cast<const bin_params*>(params);
  const float s = p.kernels.get().pq_lut8(static_cast<const float*>(q), static_cast<const std::uint8_t*>(c), p.groups);
  return IP ? 1.0f - s : s;
}

template <bool IP>
float sym(const void* a, const void* b, const void* params) {
  const auto& p = *static_cast<const bin_params*>(params);
  const auto* ca = static_cast<const std::uint8_t*>(a);
  const auto* cb = static_cast<const std::uint8_t*>(b);
  float s = IP ? p.constant : 0.0f;
  for (std::size_t g = 0; g < p.groups; ++g) {
    const float* w = p.pair + g * 256;
    if constexpr (IP) {
      const float* t = p.single + g * 256;
      s += t[ca[g]] + t[cb[g]] + w[ca[g] & cb[g]];
    } else {
      s += w[ca[g] ^ cb[g]];
    }
  }
  return IP ? 1.0f - s : s;
}

/// table[b] = base + sum over the set bits t of b of delta[t], for b in 0..255.
void fill_subset_sums(float base, const float (&delta)[8], float* table) noexcept {
  table[0] = base;
  for (unsigned b = 1; b < 256; ++b)
    table[b] = table[b & (b - 1)] + delta[std::countr_zero(b)];
}

class bin_codec final : public codec {
 public:
  bin_codec(std::size_t dim, metric m) : codec(dim, m), groups_((dim + 7) / 8) { params_.groups = groups_; }

  std::string name() const override { return "bin"; }
  std::size_t code_size() const override { return groups_; }
  std::size_t table_bytes() const override {
    return trained_ ? (threshold_.size() + lo_.size() + hi_.size() + pair_.size() + single_.size()) * sizeof(float) : 0;
  }
  bool is_trained() const override { return trained_; }

  void train(std::size_t n, const float* x) override {
    QTUNE_CHECK(n >= 1 && x != nullptr, "codec bin: training needs at least one vector, got ", n);
    std::vector<double> mean(dim_, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < dim_; ++j) mean[j] += x[i * dim_ + j];
    for (double& v : mean) v /= static_cast<double>(n);
    std::vector<double> sum_lo(dim_, 0.0), sum_hi(dim_, 0.0);
    std::vector<std::size_t> n_hi(dim_, 0);
    std::vector<float> threshold(dim_), lo(dim_), hi(dim_);
    for (std::size_t j = 0; j < dim_; ++j) threshold[j] = static_cast<float>(mean[j]);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < dim_; ++j) {
        const float v = x[i * dim_ + j];
        if (v > threshold[j]) sum_hi[j] += v, ++n_hi[j];
        else sum_lo[j] += v;
      }
    for (std::size_t j = 0; j < dim_; ++j) {
      const std::size_t n_lo = n - n_hi[j];
      lo[j] = n_lo ? static_cast<float>(sum_lo[j] / static_cast<double>(n_lo)) : threshold[j];
      hi[j] = n_hi[j] ? static_cast<float>(sum_hi[j] / static_cast<double>(n_hi[j])) : threshold[j];
      QTUNE_CHECK(std::isfinite(lo[j]) && std::isfinite(hi[j]), "codec bin: training data of dimension ", j,
                  " is not finite");
    }
    set_levels(std::move(threshold), std::move(lo), std::move(hi));
  }

  void encode(std::size_t n, const float* x, std::uint8_t* codes) const override {
    require_trained();
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = x + i * dim_;
      std::uint8_t* out = codes + i * groups_;
      std::memset(out, 0, groups_);
      for (std::size_t j = 0; j < dim_; ++j)
        if (row[j] > threshold_[j]) out[j >> 3] |= static_cast<std::uint8_t>(1u << (j & 7));
    }
  }

  void decode(std::size_t n, const std::uint8_t* codes, float* x) const override {
    require_trained();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint8_t* code = codes + i * groups_;
      for (std::size_t j = 0; j < dim_; ++j) x[i * dim_ + j] = ((code[j >> 3] >> (j & 7)) & 1u) ? hi_[j] : lo_[j];
    }
  }

  std::size_t prepared_query_size() const override { return groups_ * 256 * sizeof(float); }
  void prepare_query(const float* q, void* prepared) const override {
    require_trained();
    auto* lut = static_cast<float*>(prepared);
    const bool ip = metric_ == metric::ip;
    for (std::size_t g = 0; g < groups_; ++g) {
      float base = 0.0f;
      float delta[8] = {};
      for (std::size_t t = 0; t < 8 && g * 8 + t < dim_; ++t) {
        const std::size_t j = g * 8 + t;
        if (ip) {
          base += q[j] * lo_[j];
          delta[t] = q[j] * (hi_[j] - lo_[j]);
        } else {
          const float dl = q[j] - lo_[j], dh = q[j] - hi_[j];
          base += dl * dl;
          delta[t] = dh * dh - dl * dl;
        }
      }
      fill_subset_sums(base, delta, lut + g * 256);
    }
  }
  code_distance_fn asymmetric_distance() const override { return metric_ == metric::ip ? asym<true> : asym<false>; }
  code_distance_fn symmetric_distance() const override { return metric_ == metric::ip ? sym<true> : sym<false>; }
  const void* distance_params() const override {
    params_.kernels.refresh();
    return &params_;
  }

  void save(std::ostream& out) const override {
    require_trained();
    stream_writer w(out);
    write_header(w, "QCBN", 1, dim_);
    w.floats(threshold_.data(), dim_);
    w.floats(lo_.data(), dim_);
    w.floats(hi_.data(), dim_);
  }
  void load(std::istream& in) override {
    stream_reader r(in, "codec bin");
    read_header(r, "QCBN", 1, dim_);
    std::vector<float> threshold(dim_), lo(dim_), hi(dim_);
    r.floats(threshold.data(), dim_, "thresholds");
    r.floats(lo.data(), dim_, "low levels");
    r.floats(hi.data(), dim_, "high levels");
    for (std::size_t j = 0; j < dim_; ++j)
      QTUNE_CHECK(std::isfinite(threshold[j]) && std::isfinite(lo[j]) && std::isfinite(hi[j]), r.what(),
                  ": parameters of dimension ", j, " are not finite");
    set_levels(std::move(threshold), std::move(lo), std::move(hi));
  }

 private:
  void require_trained() const { QTUNE_CHECK(trained_, "codec bin is not trained"); }

  void set_levels(std::vector<float> threshold, std::vector<float> lo, std::vector<float> hi) {
    threshold_ = std::move(threshold);
    lo_ = std::move(lo);
    hi_ = std::move(hi);
    const bool ip = metric_ == metric::ip;
    pair_.resize(groups_ * 256);
    single_.resize(ip ? groups_ * 256 : 0);
    double constant = 0.0;
    for (std::size_t g = 0; g < groups_; ++g) {
      float d2[8] = {}, lod[8] = {};
      for (std::size_t t = 0; t < 8 && g * 8 + t < dim_; ++t) {
        const std::size_t j = g * 8 + t;
        const float d = hi_[j] - lo_[j];
        d2[t] = d * d;
        lod[t] = lo_[j] * d;
        constant += static_cast<double>(lo_[j]) * lo_[j];
      }
      fill_subset_sums(0.0f, d2, pair_.data() + g * 256);
      if (ip) fill_subset_sums(0.0f, lod, single_.data() + g * 256);
    }
    params_.pair = pair_.data();
    params_.single = ip ? single_.data() : nullptr;
    params_.constant = static_cast<float>(constant);
    trained_ = true;
  }

  std::size_t groups_;
  bool trained_ = false;
  std::vector<float> threshold_, lo_, hi_;  // dim each
  aligned_floats pair_, single_;            // groups x 256 each (single_: ip only)
  mutable bin_params params_;
};

}  // namespace

std::unique_ptr<codec> make_bin_codec(std::size_t dim, metric m) { return std::make_unique<bin_codec>(dim, m); }

}  // namespace qtune::detail
