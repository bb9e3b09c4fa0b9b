// Every kernel at every SIMD level this CPU has, against the scalar reference; the scalar
// reference itself against plain double-precision sums and independent fp16/bf16 rounding.
// Inputs sit at the very end of a page followed by an inaccessible page, so a tail that
// reads past the buffer crashes the test instead of passing by luck.
#include <gtest/gtest.h>
#include <immintrin.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/kernels.hpp"
#include "kernels/kernel_tables.hpp"
#include "qtune/simd.hpp"

namespace qtune::kernels {
namespace {

const std::vector<std::size_t>& test_dims() {
  static const std::vector<std::size_t> dims = [] {
    std::vector<std::size_t> d;
    for (std::size_t i = 1; i <= 67; ++i) d.push_back(i);
    for (std::size_t i : {128, 784, 1024}) d.push_back(i);
    return d;
  }();
  return dims;
}

std::vector<simd_level> supported_levels() {
  std::vector<simd_level> levels;
  for (simd_level l : {simd_level::scalar, simd_level::avx2, simd_level::avx512})
    if (static_cast<int>(l) <= static_cast<int>(detected_simd_level())) levels.push_back(l);
  return levels;
}

// `count` elements of T ending exactly at a PROT_NONE page. Owns the mapping.
template <class T>
class guarded {
 public:
  explicit guarded(std::size_t count) : count_(count) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = count * sizeof(T);
    const std::size_t data_pages = (bytes + page - 1) / page + 1;
    size_ = (data_pages + 1) * page;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(p);
    mprotect(base_ + data_pages * page, page, PROT_NONE);
    data_ = reinterpret_cast<T*>(base_ + data_pages * page - bytes);
  }
  ~guarded() { munmap(base_, size_); }
  guarded(const guarded&) = delete;
  guarded& operator=(const guarded&) = delete;
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return count_; }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  std::size_t count_ = 0;
  T* data_ = nullptr;
};

struct rng {
  std::mt19937 gen;
  explicit rng(std::uint32_t seed) : gen(seed) {}
  float normal() { return std::normal_distribution<float>(0.0f, 1.0f)(gen); }
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen); }
  std::uint8_t byte() { return static_cast<std::uint8_t>(gen() & 0xffu); }
  std::uint32_t bits() { return static_cast<std::uint32_t>(gen()); }
};

template <class T>
void fill_normal(guarded<T>& v, rng& r) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = r.normal();
}
void fill_bytes(guarded<std::uint8_t>& v, rng& r) {
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = r.byte();
}

float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
std::uint32_t nib(const std::uint8_t* c, std::size_t j) { return (j & 1) ? c[j / 2] >> 4 : c[j / 2] & 15u; }

// Float kernels may reorder the sum: allow 1e-5 of the sum of |terms| (what reordering can
// change), plus a tiny absolute floor for all-zero results.
void expect_close(double got, double ref, double abs_terms, const std::string& what) {
  const double tol = 1e-5 * abs_terms + 1e-30;
  EXPECT_LE(std::fabs(got - ref), tol) << what << ": got " << got << ", expected " << ref;
}

std::string where(simd_level level, std::size_t dim) {
  return "level " + to_string(level) + ", dim " + std::to_string(dim);
}

const table& ref() { return at(simd_level::scalar); }

// ---- dispatch -------------------------------------------------------------------------

TEST(kernels_dispatch, at_returns_the_requested_level_clamped_to_the_cpu) {
  for (simd_level l : {simd_level::scalar, simd_level::avx2, simd_level::avx512}) {
    const simd_level expected =
        static_cast<int>(l) <= static_cast<int>(detected_simd_level()) ? l : detected_simd_level();
    EXPECT_EQ(at(l).level, expected) << to_string(l);
  }
  EXPECT_FALSE(ref().vnni);
  EXPECT_FALSE(at(simd_level::avx2).vnni);
  // the AVX-512 table uses VNNI exactly when the CPU has it
  if (detected_simd_level() == simd_level::avx512)
    EXPECT_EQ(at(simd_level::avx512).vnni, qtune::cpu_has_avx512_vnni());
}

TEST(kernels_dispatch, active_follows_scoped_simd_level) {
  const simd_level start = active_simd_level();
  for (simd_level l : supported_levels()) {
    scoped_simd_level guard(l);
    const simd_level expected = static_cast<int>(l) < static_cast<int>(start) ? l : start;
    EXPECT_EQ(active_simd_level(), expected);
    EXPECT_EQ(active().level, expected);
    EXPECT_EQ(&active(), &at(expected)) << "active() must hand out the same table as at()";
  }
  EXPECT_EQ(active().level, start);
}

TEST(kernels_dispatch, every_table_entry_is_filled) {
  for (simd_level l : supported_levels()) {
    const table& t = at(l);
    const void* const* first = reinterpret_cast<const void* const*>(&t.l2_f32);
    const void* const* last = reinterpret_cast<const void* const*>(&t.pq_lut8_scan);
    for (const void* const* p = first; p <= last; ++p) EXPECT_NE(*p, nullptr) << to_string(l);
  }
}

// ---- the scalar reference against double precision ------------------------------------

TEST(kernels_scalar, float_kernels_match_double_precision_sums) {
  rng r(1);
  for (std::size_t dim : test_dims()) {
    guarded<float> x(dim), y(dim), scale(dim);
    guarded<std::uint8_t> c(dim), c4((dim + 1) / 2);
    fill_normal(x, r);
    fill_normal(y, r);
    fill_bytes(c, r);
    fill_bytes(c4, r);
    for (std::size_t j = 0; j < dim; ++j) scale[j] = r.uniform(0.01f, 0.1f);
    double l2 = 0, ip = 0, ip_abs = 0, sq8 = 0, sq4 = 0, ipq8 = 0, ipq8_abs = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double d = double(x[j]) - y[j];
      l2 += d * d;
      ip += double(x[j]) * y[j];
      ip_abs += std::fabs(double(x[j]) * y[j]);
      const double e8 = double(x[j]) - double(scale[j]) * c[j];
      const double e4 = double(x[j]) - double(scale[j]) * nib(c4.data(), j);
      sq8 += e8 * e8;
      sq4 += e4 * e4;
      ipq8 += double(x[j]) * c[j];
      ipq8_abs += std::fabs(double(x[j]) * c[j]);
    }
    const std::string w = where(simd_level::scalar, dim);
    expect_close(ref().l2_f32(x.data(), y.data(), dim), l2, l2, "l2_f32 " + w);
    expect_close(ref().ip_f32(x.data(), y.data(), dim), ip, ip_abs, "ip_f32 " + w);
    expect_close(ref().l2_sq8(x.data(), scale.data(), c.data(), dim), sq8, sq8, "l2_sq8 " + w);
    expect_close(ref().l2_sq4(x.data(), scale.data(), c4.data(), dim), sq4, sq4, "l2_sq4 " + w);
    expect_close(ref().ip_sq8(x.data(), c.data(), dim), ipq8, ipq8_abs, "ip_sq8 " + w);
  }
}

TEST(kernels_scalar, integer_kernels_match_wide_sums) {
  rng r(2);
  for (std::size_t dim : test_dims()) {
    guarded<std::uint8_t> a(dim), b(dim);
    fill_bytes(a, r);
    fill_bytes(b, r);
    std::uint64_t l2 = 0, ip = 0, l24 = 0, ip4 = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const std::int64_t d = std::int64_t(a[j]) - b[j];
      l2 += std::uint64_t(d * d);
      ip += std::uint64_t(a[j]) * b[j];
    }
    // As packed uint4 the same bytes hold 2 * (dim / 2) components (even count only).
    const std::size_t dim4 = 2 * (dim / 2);
    for (std::size_t j = 0; j < dim4; ++j) {
      const std::int64_t d = std::int64_t(nib(a.data(), j)) - nib(b.data(), j);
      l24 += std::uint64_t(d * d);
      ip4 += std::uint64_t(nib(a.data(), j)) * nib(b.data(), j);
    }
    EXPECT_EQ(ref().l2_u8(a.data(), b.data(), dim), l2) << dim;
    EXPECT_EQ(ref().ip_u8(a.data(), b.data(), dim), ip) << dim;
    EXPECT_EQ(ref().l2_u4(a.data(), b.data(), dim4), l24) << dim;
    EXPECT_EQ(ref().ip_u4(a.data(), b.data(), dim4), ip4) << dim;
  }
}

// ---- every level against the scalar reference ------------------------------------------

TEST(kernels_levels, fp32_l2_and_ip) {
  rng r(3);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t dim : test_dims()) {
      guarded<float> x(dim), y(dim);
      fill_normal(x, r);
      fill_normal(y, r);
      double ip_abs = 0;
      for (std::size_t j = 0; j < dim; ++j) ip_abs += std::fabs(double(x[j]) * y[j]);
      const float l2 = ref().l2_f32(x.data(), y.data(), dim);
      expect_close(t.l2_f32(x.data(), y.data(), dim), l2, l2, "l2_f32 " + where(level, dim));
      expect_close(t.ip_f32(x.data(), y.data(), dim), ref().ip_f32(x.data(), y.data(), dim), ip_abs,
                   "ip_f32 " + where(level, dim));
    }
  }
}

TEST(kernels_levels, fp16_and_bf16_codes_against_float_query) {
  rng r(4);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t dim : test_dims()) {
      guarded<float> q(dim), v(dim);
      guarded<std::uint16_t> h(dim), b(dim);
      fill_normal(q, r);
      fill_normal(v, r);
      ref().f32_to_f16(v.data(), h.data(), dim);
      ref().f32_to_bf16(v.data(), b.data(), dim);
      std::vector<float> hv(dim), bv(dim);
      ref().f16_to_f32(h.data(), hv.data(), dim);
      ref().bf16_to_f32(b.data(), bv.data(), dim);
      double ip_h = 0, ip_b = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        ip_h += std::fabs(double(q[j]) * hv[j]);
        ip_b += std::fabs(double(q[j]) * bv[j]);
      }
      const std::string w = where(level, dim);
      const float l2h = ref().l2_f16(q.data(), h.data(), dim);
      const float l2b = ref().l2_bf16(q.data(), b.data(), dim);
      expect_close(t.l2_f16(q.data(), h.data(), dim), l2h, l2h, "l2_f16 " + w);
      expect_close(t.ip_f16(q.data(), h.data(), dim), ref().ip_f16(q.data(), h.data(), dim), ip_h, "ip_f16 " + w);
      expect_close(t.l2_bf16(q.data(), b.data(), dim), l2b, l2b, "l2_bf16 " + w);
      expect_close(t.ip_bf16(q.data(), b.data(), dim), ref().ip_bf16(q.data(), b.data(), dim), ip_b, "ip_bf16 " + w);
      // The code kernels must equal the fp32 kernels on the decoded vectors (same level).
      expect_close(t.l2_f16(q.data(), h.data(), dim), t.l2_f32(q.data(), hv.data(), dim), l2h, "l2_f16 vs f32 " + w);
    }
  }
}

TEST(kernels_levels, scalar_quantized_codes) {
  rng r(5);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t dim : test_dims()) {
      const std::size_t half = (dim + 1) / 2;
      guarded<float> qo(dim), scale(dim), w(dim);
      guarded<std::uint8_t> c8(dim), d8(dim), c4(half), d4(half);
      fill_normal(qo, r);
      for (std::size_t j = 0; j < dim; ++j) {
        scale[j] = r.uniform(0.001f, 0.2f);
        w[j] = scale[j] * scale[j];
      }
      fill_bytes(c8, r);
      fill_bytes(d8, r);
      fill_bytes(c4, r);
      fill_bytes(d4, r);
      if (dim & 1) {  // the layout leaves the last high nibble 0
        c4[half - 1] &= 0x0f;
        d4[half - 1] &= 0x0f;
      }
      double ip8 = 0, ip4 = 0;
      for (std::size_t j = 0; j < dim; ++j) {
        ip8 += std::fabs(double(qo[j]) * c8[j]);
        ip4 += std::fabs(double(qo[j]) * nib(c4.data(), j));
      }
      const std::string s = where(level, dim);
      const float l28 = ref().l2_sq8(qo.data(), scale.data(), c8.data(), dim);
      const float l24 = ref().l2_sq4(qo.data(), scale.data(), c4.data(), dim);
      const float s8 = ref().l2_sq8_sym(w.data(), c8.data(), d8.data(), dim);
      const float s4 = ref().l2_sq4_sym(w.data(), c4.data(), d4.data(), dim);
      expect_close(t.l2_sq8(qo.data(), scale.data(), c8.data(), dim), l28, l28, "l2_sq8 " + s);
      expect_close(t.l2_sq4(qo.data(), scale.data(), c4.data(), dim), l24, l24, "l2_sq4 " + s);
      expect_close(t.ip_sq8(qo.data(), c8.data(), dim), ref().ip_sq8(qo.data(), c8.data(), dim), ip8, "ip_sq8 " + s);
      expect_close(t.ip_sq4(qo.data(), c4.data(), dim), ref().ip_sq4(qo.data(), c4.data(), dim), ip4, "ip_sq4 " + s);
      expect_close(t.l2_sq8_sym(w.data(), c8.data(), d8.data(), dim), s8, s8, "l2_sq8_sym " + s);
      expect_close(t.l2_sq4_sym(w.data(), c4.data(), d4.data(), dim), s4, s4, "l2_sq4_sym " + s);
    }
  }
}

TEST(kernels_levels, integer_kernels_are_exact) {
  rng r(6);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t dim : test_dims()) {
      const std::size_t half = (dim + 1) / 2;
      guarded<std::uint8_t> a(dim), b(dim), a4(half), b4(half);
      // Random bytes, then the extremes (largest products and differences in every lane).
      for (int pass = 0; pass < 3; ++pass) {
        for (std::size_t j = 0; j < dim; ++j) {
          a[j] = pass == 0 ? r.byte() : 255;
          b[j] = pass == 0 ? r.byte() : (pass == 1 ? 0 : 255);
        }
        for (std::size_t j = 0; j < half; ++j) {
          a4[j] = pass == 0 ? r.byte() : 0xff;
          b4[j] = pass == 0 ? r.byte() : (pass == 1 ? 0 : 0xff);
        }
        if (dim & 1) {
          a4[half - 1] &= 0x0f;
          b4[half - 1] &= 0x0f;
        }
        const std::string s = where(level, dim) + ", pass " + std::to_string(pass);
        EXPECT_EQ(t.l2_u8(a.data(), b.data(), dim), ref().l2_u8(a.data(), b.data(), dim)) << s;
        EXPECT_EQ(t.ip_u8(a.data(), b.data(), dim), ref().ip_u8(a.data(), b.data(), dim)) << s;
        EXPECT_EQ(t.l2_u4(a4.data(), b4.data(), dim), ref().l2_u4(a4.data(), b4.data(), dim)) << s;
        EXPECT_EQ(t.ip_u4(a4.data(), b4.data(), dim), ref().ip_u4(a4.data(), b4.data(), dim)) << s;
      }
    }
  }
}

TEST(kernels_levels, integer_kernels_long_vectors_do_not_overflow_lanes) {
  // 65536 components of 255 vs 0: the total (4.26e9) still fits uint32, every lane is busy.
  const std::size_t dim = 65536;
  std::vector<std::uint8_t> a(dim, 255), b(dim, 0), a4(dim / 2, 0xff), b4(dim / 2, 0);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    EXPECT_EQ(t.l2_u8(a.data(), b.data(), dim), 65536u * 65025u) << to_string(level);
    EXPECT_EQ(t.ip_u8(a.data(), a.data(), dim), 65536u * 65025u) << to_string(level);
    EXPECT_EQ(t.l2_u4(a4.data(), b4.data(), dim), 65536u * 225u) << to_string(level);
    EXPECT_EQ(t.ip_u4(a4.data(), a4.data(), dim), 65536u * 225u) << to_string(level);
  }
}

TEST(kernels_levels, product_quantization_lookups) {
  rng r(7);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t M : test_dims()) {
      if (M > 128) continue;  // M x 256 tables: keep the test small
      guarded<float> lut8(M * 256), lut4(M * 16);
      guarded<std::uint8_t> code8(M), code4((M + 1) / 2);
      for (std::size_t i = 0; i < lut8.size(); ++i) lut8[i] = r.uniform(0.0f, 4.0f);
      for (std::size_t i = 0; i < lut4.size(); ++i) lut4[i] = r.uniform(0.0f, 4.0f);
      fill_bytes(code8, r);
      fill_bytes(code4, r);
      if (M & 1) code4[(M + 1) / 2 - 1] &= 0x0f;
      double e8 = 0, e4 = 0;
      for (std::size_t m = 0; m < M; ++m) {
        e8 += lut8[m * 256 + code8[m]];
        e4 += lut4[m * 16 + nib(code4.data(), m)];
      }
      const std::string s = where(level, M);
      expect_close(t.pq_lut8(lut8.data(), code8.data(), M), e8, e8, "pq_lut8 " + s);
      expect_close(t.pq_lut4(lut4.data(), code4.data(), M), e4, e4, "pq_lut4 " + s);
      expect_close(ref().pq_lut8(lut8.data(), code8.data(), M), e8, e8, "scalar pq_lut8 " + s);
      expect_close(ref().pq_lut4(lut4.data(), code4.data(), M), e4, e4, "scalar pq_lut4 " + s);

      const std::size_t n = 37;
      guarded<std::uint8_t> codes(n * M);
      fill_bytes(codes, r);
      std::vector<float> out(n, -1.0f);
      t.pq_lut8_scan(lut8.data(), codes.data(), n, M, out.data());
      for (std::size_t i = 0; i < n; ++i) {
        const float e = ref().pq_lut8(lut8.data(), codes.data() + i * M, M);
        expect_close(out[i], e, e, "pq_lut8_scan code " + std::to_string(i) + " " + s);
      }
    }
  }
}

// ---- fp16 / bf16 conversions -------------------------------------------------------------

// Independent references: GCC's _Float16 (soft-float in this TU, no F16C), and bf16 rounding
// chosen by comparing the two neighbours in double precision.
#if defined(__clang__)
// clang 14 has no _Float16 on x86 without AVX512-FP16 (the sanitizer build uses clang): use the
// CPU's F16C conversion, which every x86-64 with AVX2 has, as the reference there.
__attribute__((target("f16c"))) std::uint16_t ref_f16(float f) {
  return static_cast<std::uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float ref_f16_to_f32(std::uint16_t u) { return _cvtsh_ss(u); }
#else
std::uint16_t ref_f16(float f) {
  const _Float16 h = static_cast<_Float16>(f);
  std::uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}

float ref_f16_to_f32(std::uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return static_cast<float>(h);
}

#endif

std::uint16_t ref_bf16(float f) {
  const std::uint32_t x = float_bits(f);
  const std::uint16_t lo = static_cast<std::uint16_t>(x >> 16);
  if ((x & 0xffffu) == 0) return lo;
  const std::uint16_t hi = static_cast<std::uint16_t>(lo + 1);  // next magnitude up (may be inf)
  const double dl = std::fabs(double(f) - double(bits_float(std::uint32_t(lo) << 16)));
  const double dh = std::fabs(double(f) - double(bits_float(std::uint32_t(hi) << 16)));
  if (std::isinf(bits_float(std::uint32_t(hi) << 16))) {
    // Overflow rounds to inf past the midpoint to 2^128 (lo's mantissa is odd there).
    return (x & 0xffffu) >= 0x8000u ? hi : lo;
  }
  if (dl < dh) return lo;
  if (dh < dl) return hi;
  return (lo & 1) ? hi : lo;
}

bool is_nan_f16(std::uint16_t h) { return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0; }
bool is_nan_bf16(std::uint16_t h) { return (h & 0x7f80u) == 0x7f80u && (h & 0x7fu) != 0; }

TEST(kernels_fp16, decode_all_65536_patterns_exactly) {
  std::vector<std::uint16_t> all(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<std::uint16_t>(i);
  for (simd_level level : supported_levels()) {
    std::vector<float> out(65536);
    at(level).f16_to_f32(all.data(), out.data(), all.size());
    for (std::uint32_t i = 0; i < 65536; ++i) {
      const float e = ref_f16_to_f32(static_cast<std::uint16_t>(i));
      if (is_nan_f16(static_cast<std::uint16_t>(i))) {
        // NaN: sign and payload kept, made quiet (as the F16C instruction does).
        const std::uint32_t want = (std::uint32_t(i & 0x8000u) << 16) | 0x7fc00000u | ((i & 0x3ffu) << 13);
        ASSERT_EQ(float_bits(out[i]), want) << to_string(level) << " pattern " << i;
      } else {
        ASSERT_EQ(float_bits(out[i]), float_bits(e)) << to_string(level) << " pattern " << i;
      }
    }
  }
}

TEST(kernels_fp16, encode_round_trips_every_half_and_rounds_midpoints_to_even) {
  // Inputs: every half value, each midpoint between neighbours, and one float ulp either side.
  std::vector<float> in;
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const std::uint16_t h = static_cast<std::uint16_t>(i);
    if (is_nan_f16(h)) continue;
    const float f = ref_f16_to_f32(h);
    in.push_back(f);
    if ((i & 0x7fffu) < 0x7c00u) {  // finite: midpoint towards the next magnitude
      const float g = ref_f16_to_f32(static_cast<std::uint16_t>(i + 1));
      const float mid = static_cast<float>((double(f) + double(g)) / 2);  // exact in float
      in.push_back(mid);
      in.push_back(std::nextafter(mid, 0.0f));
      in.push_back(std::nextafter(mid, mid * 2));
    }
  }
  // Plus random bit patterns over every exponent, NaNs included.
  rng r(8);
  for (int i = 0; i < 200000; ++i) in.push_back(bits_float(r.bits()));
  for (simd_level level : supported_levels()) {
    std::vector<std::uint16_t> out(in.size());
    at(level).f32_to_f16(in.data(), out.data(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (std::isnan(in[i])) {
        ASSERT_TRUE(is_nan_f16(out[i])) << to_string(level) << " input " << float_bits(in[i]);
        ASSERT_EQ(out[i] & 0x8000u, (float_bits(in[i]) >> 16) & 0x8000u);
      } else {
        ASSERT_EQ(out[i], ref_f16(in[i])) << to_string(level) << " input bits 0x" << std::hex
                                          << float_bits(in[i]);
      }
    }
    // Round trip: decode(encode(decode(h))) == decode(h) for every non-NaN half.
    std::vector<std::uint16_t> halves;
    for (std::uint32_t i = 0; i < 65536; ++i)
      if (!is_nan_f16(static_cast<std::uint16_t>(i))) halves.push_back(static_cast<std::uint16_t>(i));
    std::vector<float> dec(halves.size());
    std::vector<std::uint16_t> enc(halves.size());
    at(level).f16_to_f32(halves.data(), dec.data(), halves.size());
    at(level).f32_to_f16(dec.data(), enc.data(), dec.size());
    for (std::size_t i = 0; i < halves.size(); ++i) ASSERT_EQ(enc[i], halves[i]) << to_string(level);
  }
}

TEST(kernels_fp16, scalar_and_simd_agree_on_nan_payloads) {
  // Bit-exact NaN handling across levels (a quieted NaN keeps its top payload bits).
  std::vector<float> in;
  for (std::uint32_t m : {1u, 0x1fffu, 0x2000u, 0x3fffffu, 0x400000u, 0x7fffffu})
    for (std::uint32_t s : {0u, 0x80000000u}) in.push_back(bits_float(s | 0x7f800000u | m));
  std::vector<std::uint16_t> want(in.size()), got(in.size());
  ref().f32_to_f16(in.data(), want.data(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) EXPECT_TRUE(is_nan_f16(want[i]));
  for (simd_level level : supported_levels()) {
    at(level).f32_to_f16(in.data(), got.data(), in.size());
    EXPECT_EQ(got, want) << to_string(level);
  }
}

TEST(kernels_bf16, decode_all_65536_patterns_exactly) {
  std::vector<std::uint16_t> all(65536);
  for (std::uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<std::uint16_t>(i);
  for (simd_level level : supported_levels()) {
    std::vector<float> out(65536);
    at(level).bf16_to_f32(all.data(), out.data(), all.size());
    for (std::uint32_t i = 0; i < 65536; ++i) ASSERT_EQ(float_bits(out[i]), i << 16) << to_string(level);
  }
}

TEST(kernels_bf16, encode_rounds_to_nearest_even_and_keeps_nan) {
  std::vector<float> in;
  for (std::uint32_t i = 0; i < 65536; ++i) {
    const std::uint32_t b = i << 16;
    for (std::uint32_t low : {0x0u, 0x1u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) in.push_back(bits_float(b | low));
  }
  rng r(9);
  for (int i = 0; i < 200000; ++i) in.push_back(bits_float(r.bits()));
  for (simd_level level : supported_levels()) {
    std::vector<std::uint16_t> out(in.size());
    at(level).f32_to_bf16(in.data(), out.data(), in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (std::isnan(in[i])) {
        ASSERT_TRUE(is_nan_bf16(out[i])) << to_string(level) << " input 0x" << std::hex << float_bits(in[i]);
        ASSERT_EQ(out[i] & 0x8000u, (float_bits(in[i]) >> 16) & 0x8000u);
      } else {
        ASSERT_EQ(out[i], ref_bf16(in[i])) << to_string(level) << " input 0x" << std::hex << float_bits(in[i]);
      }
    }
  }
}

TEST(kernels_levels, conversions_handle_every_tail_length) {
  rng r(10);
  for (simd_level level : supported_levels()) {
    const table& t = at(level);
    for (std::size_t n : test_dims()) {
      guarded<float> x(n), back(n), want(n);
      guarded<std::uint16_t> h(n), hw(n), b(n), bw(n);
      fill_normal(x, r);
      t.f32_to_f16(x.data(), h.data(), n);
      ref().f32_to_f16(x.data(), hw.data(), n);
      t.f32_to_bf16(x.data(), b.data(), n);
      ref().f32_to_bf16(x.data(), bw.data(), n);
      for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(h[i], hw[i]) << where(level, n) << " i " << i;
        ASSERT_EQ(b[i], bw[i]) << where(level, n) << " i " << i;
      }
      t.f16_to_f32(h.data(), back.data(), n);
      ref().f16_to_f32(h.data(), want.data(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(float_bits(back[i]), float_bits(want[i])) << where(level, n);
      t.bf16_to_f32(b.data(), back.data(), n);
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(float_bits(back[i]), std::uint32_t(b[i]) << 16) << where(level, n);
    }
  }
}

}  // namespace
}  // namespace qtune::kernels
