// fp32 / fp16 / bf16: no training; the query stays in float32 and the distance kernels
// convert the codes on the fly.
#include <algorithm>

#include "codec/codec_impl.hpp"

namespace qtune::detail {

namespace {

enum class fmt { f32, f16, bf16 };

struct float_params {
  kernel_slot kernels;
  std::size_t dim = 0;
};

template <fmt F>
float raw_distance(const kernels::table& t, bool ip, const float* q, const void* c, std::size_t dim) noexcept {
  if constexpr (F == fmt::f32) {
    const auto* y = static_cast<const float*>(c);
    return ip ? t.ip_f32(q, y, dim) : t.l2_f32(q, y, dim);
  } else if constexpr (F == fmt::f16) {
    const auto* y = static_cast<const std::uint16_t*>(c);
    return ip ? t.ip_f16(q, y, dim) : t.l2_f16(q, y, dim);
  } else {
    const auto* y = static_cast<const std::uint16_t*>(c);
    return ip ? t.ip_bf16(q, y, dim) : t.l2_bf16(q, y, dim);
  }
}

// Prepared query = the query itself (dim floats).
template <fmt F, bool IP>
float asym(const void* q, const void* c, const void* params) {
  const auto& p = *static_cast<const float_params*>(params);
  const float d = raw_distance<F>(p.kernels.get(), IP, static_cast<const float*>(q), c, p.dim);
  return IP ? 1.0f - d : d;
}

// Code against code: fp32 codes are floats already; fp16/bf16 codes of `a` are widened in
// chunks on the stack and compared with `b` by the asymmetric kernel.
template <fmt F, bool IP>
float sym(const void* a, const void* b, const void* params) {
  if constexpr (F == fmt::f32) {
    return asym<F, IP>(a, b, params);
  } else {
    const auto& p = *static_cast<const float_params*>(params);
    const kernels::table& t = p.kernels.get();
    constexpr std::size_t chunk = 256;
    alignas(64) float buf[chunk];
    const auto* ca = static_cast<const std::uint16_t*>(a);
    const auto* cb = static_cast<const std::uint16_t*>(b);
    float s = 0.0f;
    for (std::size_t j0 = 0; j0 < p.dim; j0 += chunk) {
      const std::size_t len = std::min(chunk, p.dim - j0);
      if constexpr (F == fmt::f16) t.f16_to_f32(ca + j0, buf, len);
      else t.bf16_to_f32(ca + j0, buf, len);
      s += raw_distance<F>(t, IP, buf, cb + j0, len);
    }
    return IP ? 1.0f - s : s;
  }
}

class float_codec final : public codec {
 public:
  float_codec(fmt f, std::size_t dim, metric m) : codec(dim, m), fmt_(f) { params_.dim = dim; }

  std::string name() const override {
    switch (fmt_) {
      case fmt::f32: return "fp32";
      case fmt::f16: return "fp16";
      case fmt::bf16: return "bf16";
    }
    return "?";
  }
  std::size_t code_size() const override { return (fmt_ == fmt::f32 ? 4 : 2) * dim_; }
  std::size_t table_bytes() const override { return 0; }
  bool is_trained() const override { return true; }
  void train(std::size_t, const float*) override {}

  void encode(std::size_t n, const float* x, std::uint8_t* codes) const override {
    const kernels::table& t = kernels::active();
    switch (fmt_) {
      case fmt::f32: std::memcpy(codes, x, n * dim_ * sizeof(float)); break;
      case fmt::f16: t.f32_to_f16(x, reinterpret_cast<std::uint16_t*>(codes), n * dim_); break;
      case fmt::bf16: t.f32_to_bf16(x, reinterpret_cast<std::uint16_t*>(codes), n * dim_); break;
    }
  }
  void decode(std::size_t n, const std::uint8_t* codes, float* x) const override {
    const kernels::table& t = kernels::active();
    switch (fmt_) {
      case fmt::f32: std::memcpy(x, codes, n * dim_ * sizeof(float)); break;
      case fmt::f16: t.f16_to_f32(reinterpret_cast<const std::uint16_t*>(codes), x, n * dim_); break;
      case fmt::bf16: t.bf16_to_f32(reinterpret_cast<const std::uint16_t*>(codes), x, n * dim_); break;
    }
  }

  std::size_t prepared_query_size() const override { return dim_ * sizeof(float); }
  void prepare_query(const float* q, void* prepared) const override {
    std::memcpy(prepared, q, dim_ * sizeof(float));
  }
  code_distance_fn asymmetric_distance() const override { return pick<false>(); }
  code_distance_fn symmetric_distance() const override { return pick<true>(); }
  const void* distance_params() const override {
    params_.kernels.refresh();
    return &params_;
  }

  void save(std::ostream& out) const override {
    stream_writer w(out);
    write_header(w, "QCFL", 1, dim_);
    w.pod<std::uint32_t>(static_cast<std::uint32_t>(fmt_));
  }
  void load(std::istream& in) override {
    stream_reader r(in, "codec " + name());
    read_header(r, "QCFL", 1, dim_);
    r.expect<std::uint32_t>(r.pod<std::uint32_t>("format"), static_cast<std::uint32_t>(fmt_), "format");
  }

 private:
  template <bool Sym>
  code_distance_fn pick() const {
    const bool ip = metric_ == metric::ip;
    switch (fmt_) {
      case fmt::f32: return Sym ? (ip ? sym<fmt::f32, true> : sym<fmt::f32, false>) : (ip ? asym<fmt::f32, true> : asym<fmt::f32, false>);
      case fmt::f16: return Sym ? (ip ? sym<fmt::f16, true> : sym<fmt::f16, false>) : (ip ? asym<fmt::f16, true> : asym<fmt::f16, false>);
      case fmt::bf16: return Sym ? (ip ? sym<fmt::bf16, true> : sym<fmt::bf16, false>) : (ip ? asym<fmt::bf16, true> : asym<fmt::bf16, false>);
    }
    return nullptr;
  }

  fmt fmt_;
  float_params params_;
};

}  // namespace

std::unique_ptr<codec> make_float_codec(const codec_spec& s, std::size_t dim, metric m) {
  const fmt f = s.kind == family::fp32 ? fmt::f32 : s.kind == family::fp16 ? fmt::f16 : fmt::bf16;
  return std::make_unique<float_codec>(f, dim, m);
}

}  // namespace qtune::detail
