// Codec core: names, error budgets, distance consistency, serialization, rotation, search.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "test_data.hpp"

namespace {

using qtune::codec;
using qtune::make_codec;
using qtune::metric;

// Anisotropic Gaussian data: dimension j has mean j * 0.1 - 1 and standard deviation
// 0.2 + j % 7 (so ranges differ per dimension), optionally normalised to unit length.
std::vector<float> gaussian(std::size_t n, std::size_t dim, std::uint64_t seed, bool normalise = false) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n * dim);
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      float& v = x[i * dim + j];
      v = static_cast<float>(j) * 0.1f - 1.0f + (0.2f + static_cast<float>(j % 7)) * normal(rng);
      norm += static_cast<double>(v) * v;
    }
    if (normalise)
      for (std::size_t j = 0; j < dim; ++j) x[i * dim + j] = static_cast<float>(x[i * dim + j] / std::sqrt(norm));
  }
  return x;
}

qtune::matrix_view<float> view(const std::vector<float>& x, std::size_t dim) {
  return {x.data(), x.size() / dim, dim, dim};
}

// Mean relative squared reconstruction error of a freshly trained codec on x.
double trained_error(codec& c, const std::vector<float>& x) {
  c.train(x.size() / c.dim(), x.data());
  std::vector<std::uint8_t> codes(x.size() / c.dim() * c.code_size());
  qtune::encode_parallel(c, view(x, c.dim()), codes.data());
  return qtune::relative_error(c, view(x, c.dim()), codes.data());
}

double ref_distance(const float* a, const float* b, std::size_t dim, metric m) {
  double s = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const double d = m == metric::l2 ? double(a[j]) - b[j] : double(a[j]) * b[j];
    s += m == metric::l2 ? d * d : d;
  }
  return m == metric::l2 ? s : 1.0 - s;
}

std::vector<float> aligned_prepared(const codec& c) { return std::vector<float>(c.prepared_query_size() / 4 + 16); }
void* align64(std::vector<float>& v) {
  auto p = reinterpret_cast<std::uintptr_t>(v.data());
  return reinterpret_cast<void*>((p + 63) / 64 * 64);
}

// Every family, with odd dims and odd M where the layout allows it.
struct named_dim {
  std::string name;
  std::size_t dim;
};
const std::vector<named_dim> all_codecs = {
    {"fp32", 48},          {"fp16", 48},       {"bf16", 48},          {"sq8", 48},          {"sq8", 33},
    {"sq4", 48},           {"sq4", 33},        {"sq8:q0.01", 48},     {"sq4:minmax", 33},   {"sq8:mse", 33},   {"pq8x8", 48},
    {"pq12x4", 48},        {"pq11x4", 33},     {"pq3x8", 33},         {"rot,sq8", 48},      {"rot,sq4", 33},
    {"rot,pq8x8", 48},     {"rot,fp16", 48},   {"rot,fp32", 33},      {"bin", 48},          {"bin", 33},
    {"rot,bin", 48},
};

TEST(codec_names, canonical_round_trip) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"fp32", "fp32"},           {"FP16", "fp16"},          {"bf16", "bf16"},
      {"sq8", "sq8"},             {"sq8:minmax", "sq8"},     {"SQ4", "sq4"},
      {"sq4:q0.001", "sq4"},      {"sq4:minmax", "sq4:minmax"}, {"sq8:q0.01", "sq8:q0.01"},
      {"sq4:q0.0050", "sq4:q0.005"}, {"sq8:q0", "sq8"},      {"pq16x8", "pq16x8"},
      {"pq16", "pq16x8"},         {"pq8x4", "pq8x4"},        {"rot,sq4", "rot,sq4"},
      {"ROT, SQ8:MINMAX", "rot,sq8"}, {"rot,pq16x4", "rot,pq16x4"}, {"BIN", "bin"},
      {"rot,bin", "rot,bin"},     {"SQ8:MSE", "sq8:mse"},    {"sq4:mse", "sq4:mse"},
  };
  for (const auto& [in, canonical] : cases) {
    EXPECT_EQ(qtune::canonical_codec_name(in), canonical) << in;
    auto c = make_codec(in, 128, metric::l2);
    EXPECT_EQ(c->name(), canonical) << in;
    EXPECT_EQ(make_codec(c->name(), 128, metric::l2)->name(), c->name());
    EXPECT_EQ(qtune::codec_code_size(in, 128), c->code_size()) << in;
  }
  for (const auto& info : qtune::list_codecs()) EXPECT_EQ(qtune::canonical_codec_name(info.name), info.name);
}

TEST(codec_names, code_sizes) {
  EXPECT_EQ(qtune::codec_code_size("fp32", 128), 512u);
  EXPECT_EQ(qtune::codec_code_size("fp16", 128), 256u);
  EXPECT_EQ(qtune::codec_code_size("sq8", 33), 33u);
  EXPECT_EQ(qtune::codec_code_size("sq4", 33), 17u);
  EXPECT_EQ(qtune::codec_code_size("pq16x8", 128), 16u);
  EXPECT_EQ(qtune::codec_code_size("pq11x4", 33), 6u);
  EXPECT_EQ(qtune::codec_code_size("rot,sq4", 128), 64u);
  EXPECT_EQ(qtune::codec_code_size("bin", 128), 16u);
  EXPECT_EQ(qtune::codec_code_size("bin", 33), 5u);
}

TEST(codec_names, bad_names_throw) {
  for (const char* bad : {"", "sq", "sq16", "sq8:foo", "sq8:q0.7", "sq8:q-1", "sq4:qx", "pq0x8", "pq16x5",
                          "pqx8", "pq16x", "rot,rot,sq8", "rot,", "fp64", "hnsw", "sq8,rot", "bin8", "bin:q0.1"}) {
    EXPECT_THROW(make_codec(bad, 128, metric::l2), qtune::error) << bad;
  }
  try {
    make_codec("pq7x8", 128, metric::l2);
    FAIL() << "pq7x8 with dim 128 must throw";
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("divisible"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_codec("sq8", 0, metric::l2), qtune::error);
}

// Error budgets (mean ||x - dec(enc(x))||^2 / ||x||^2) on the anisotropic Gaussian set,
// 64-d, 3000 vectors. Derivation: fp16 rounds to 11 significant bits, relative error per
// component <= 2^-11 (squared mean ~ 2^-24 / 3 = 2e-8); bf16 8 bits (~1.3e-6); sq8 min-max,
// step = range / 255 with range ~ 7.5 sigma: step^2 / 12 / (sigma^2 + mean^2) < 1e-4; sq4
// steps 17x wider (x 289; clipping at the 0.1% quantiles trades a little tail error for a
// finer step). PQ budgets: measured (pq16x8 0.028, pq8x8 0.090, pq16x4 0.139) x 2. bin: the
// best 1-bit quantizer of a Gaussian (threshold at the mean, levels at the half means) leaves
// (1 - 2/pi) = 0.3634 of the variance, and variance <= ||x||^2 on average, so <= 0.3634 + noise.
// "mse" picks, per dimension, the clipping with the least squared error on the training values,
// min-max among the candidates: its total error is never above min-max's, and at 4 bits, on data
// with an outlier per dimension, it is well below.
TEST(codec_error, least_error_ranges_beat_min_max_on_heavy_tails) {
  const std::size_t dim = 16, n = 4000;
  auto x = gaussian(n, dim, 11);
  for (std::size_t j = 0; j < dim; ++j) x[(j * 37 % n) * dim + j] = 40.f;  // one outlier per dimension
  auto total_error = [&](const std::string& name) {
    auto c = make_codec(name, dim, metric::l2);
    c->train(n, x.data());
    std::vector<std::uint8_t> codes(n * c->code_size());
    c->encode(n, x.data(), codes.data());
    std::vector<float> dec(n * dim);
    c->decode(n, codes.data(), dec.data());
    double e = 0;
    for (std::size_t i = 0; i < n * dim; ++i) e += (double(dec[i]) - x[i]) * (double(dec[i]) - x[i]);
    return e;
  };
  for (const char* bits : {"sq8", "sq4"}) {
    const double mse = total_error(std::string(bits) + ":mse"), minmax = total_error(std::string(bits) + ":minmax");
    std::printf("[heavy tails] %s total squared error: mse %.4g, minmax %.4g\n", bits, mse, minmax);
    EXPECT_LE(mse, minmax * (1 + 1e-9)) << bits;
  }
  // at 4 bits one outlier stretches the step of 4000 values; cutting it is far better
  EXPECT_LT(total_error("sq4:mse"), 0.5 * total_error("sq4:minmax"));
}

// A codec trained directly (not through a reader, which refuses them first) refuses a non-finite
// training value: sq with min-max (min / max would skip a NaN silently), quantile and least-error
// ranges (a NaN breaks their sort) name the dimension; pq, bin and rot refuse it too.
TEST(codec_error, non_finite_training_values_are_an_error) {
  const std::size_t dim = 8, n = 300;
  for (const char* name : {"sq8", "sq8:q0.01", "sq8:mse", "sq4", "sq4:mse", "pq4x4", "bin", "rot,sq8"}) {
    auto x = gaussian(n, dim, 5);
    x[123 * dim + 6] = std::numeric_limits<float>::quiet_NaN();
    auto c = make_codec(name, dim, metric::l2);
    try {
      c->train(n, x.data());
      ADD_FAILURE() << name << " trained on a NaN";
    } catch (const qtune::error& e) {
      const std::string m = e.what();  // rot spreads the NaN over every dimension; pq reports FAISS's check
      EXPECT_TRUE(m.find("finite") != std::string::npos || m.find("NaN") != std::string::npos) << name << ": " << m;
      if (std::string(name).rfind("sq", 0) == 0) EXPECT_NE(m.find("dimension 6"), std::string::npos) << name << ": " << m;
    }
  }
}

TEST(codec_error, budgets_per_bit_width_synthetic) {
  const std::size_t dim = 64;
  const auto x = gaussian(3000, dim, 7);
  const std::vector<std::pair<std::string, double>> budgets = {
      {"fp32", 0.0},      {"fp16", 1e-7},         {"bf16", 6e-6},     {"sq8", 1e-4},
      {"sq8:q0.001", 3e-4}, {"sq4", 0.02},        {"sq4:minmax", 0.026}, {"rot,sq8", 1e-4},
      {"rot,sq4", 0.02},  {"pq16x8", 0.06},       {"pq8x8", 0.18},    {"pq16x4", 0.28},
      {"bin", 0.37},
  };
  for (const auto& [name, budget] : budgets) {
    auto c = make_codec(name, dim, metric::l2);
    const double err = trained_error(*c, x);
    std::printf("[synthetic 64-d] %-12s relative error %.3g (budget %.3g)\n", name.c_str(), err, budget);
    EXPECT_LE(err, budget) << name;
    if (budget > 0) EXPECT_GT(err, 0.0) << name;  // a lossy codec that reports 0 is broken
  }
}

TEST(codec_error, budgets_per_bit_width_sift) {
  QTUNE_REQUIRE_DATA_FILE(base_path, "sift10k/siftsmall_base.fvecs");
  qtune::read_options opt;
  opt.max_rows = 3000;
  qtune::vectors base = qtune::read_vectors(base_path, opt);
  const qtune::vectors b = base.slice(0, base.rows());
  std::vector<float> x(b.view().data, b.view().data + b.rows() * b.dim());
  // SIFT: integers 0..180, many zeros; budgets measured x ~2 margin.
  const std::vector<std::pair<std::string, double>> budgets = {
      {"fp16", 1e-7}, {"bf16", 5e-6}, {"sq8", 3e-5}, {"sq4", 6e-3}, {"pq16x8", 0.06},
  };
  for (const auto& [name, budget] : budgets) {
    auto c = make_codec(name, b.dim(), metric::l2);
    const double err = trained_error(*c, x);
    std::printf("[sift10k 3000] %-8s relative error %.3g (budget %.3g)\n", name.c_str(), err, budget);
    EXPECT_LE(err, budget) << name;
  }
}

TEST(codec_error, more_bits_less_error) {
  const auto x = gaussian(2000, 32, 11);
  auto e8 = trained_error(*make_codec("sq8", 32, metric::l2), x);
  auto e4 = trained_error(*make_codec("sq4", 32, metric::l2), x);
  auto p8 = trained_error(*make_codec("pq8x8", 32, metric::l2), x);
  auto p4 = trained_error(*make_codec("pq8x4", 32, metric::l2), x);
  EXPECT_LT(e8 * 50, e4);
  EXPECT_LT(p8, p4);
}

TEST(codec_error, constant_dimension_is_exact) {
  const std::size_t dim = 8;
  auto x = gaussian(300, dim, 3);
  for (std::size_t i = 0; i < 300; ++i) x[i * dim + 2] = 5.0f;  // a zero range
  for (const char* name : {"sq8", "sq4", "sq4:q0.01"}) {
    auto c = make_codec(name, dim, metric::l2);
    c->train(300, x.data());
    std::vector<std::uint8_t> code(c->code_size());
    std::vector<float> dec(dim);
    c->encode(1, x.data(), code.data());
    c->decode(1, code.data(), dec.data());
    EXPECT_EQ(dec[2], 5.0f) << name;
    for (float v : dec) EXPECT_TRUE(std::isfinite(v)) << name;
  }
}

// The asymmetric distance equals the distance between the query and the decoded vector, and
// the symmetric distance equals the distance between the two decoded vectors.
TEST(codec_distance, asymmetric_and_symmetric_match_decoded) {
  for (const metric m : {metric::l2, metric::ip, metric::cosine}) {
    for (const auto& [name, dim] : all_codecs) {
      const auto train = gaussian(600, dim, 21, m != metric::l2);
      const auto base = gaussian(40, dim, 22, m != metric::l2);
      const auto queries = gaussian(8, dim, 23, m != metric::l2);
      auto c = make_codec(name, dim, m);
      c->train(600, train.data());
      ASSERT_TRUE(c->is_trained()) << name;
      std::vector<std::uint8_t> codes(40 * c->code_size());
      c->encode(40, base.data(), codes.data());
      std::vector<float> dec(40 * dim);
      c->decode(40, codes.data(), dec.data());
      auto buf = aligned_prepared(*c);
      void* prepared = align64(buf);
      const auto fn = c->asymmetric_distance();
      const auto sfn = c->symmetric_distance();
      const void* params = c->distance_params();
      const metric cm = qtune::compute_metric(m);
      // sq codecs created for cosine rank by the cosine to the reconstruction (the query is a
      // unit vector; the reconstruction's norm is divided out)
      const bool cos_rec = m == metric::cosine && std::string(name).find("sq") != std::string::npos;
      // pq codecs created for cosine score half the squared L2 to the reconstruction (1 - cos
      // for unit vectors)
      const bool cos_l2 = m == metric::cosine && std::string(name).find("pq") != std::string::npos;
      auto ref_distance = [&](const float* a, const float* b, std::size_t d, metric mm) {
        if (cos_l2) return 0.5 * ::ref_distance(a, b, d, metric::l2);
        if (!cos_rec) return ::ref_distance(a, b, d, mm);
        double ab = 0, aa = 0, bb = 0;
        for (std::size_t j = 0; j < d; ++j) {
          ab += double(a[j]) * b[j];
          aa += double(a[j]) * a[j];
          bb += double(b[j]) * b[j];
        }
        return 1.0 - ab / std::sqrt(aa * bb);
      };
      for (std::size_t q = 0; q < 8; ++q) {
        c->prepare_query(queries.data() + q * dim, prepared);
        for (std::size_t i = 0; i < 40; ++i) {
          const double ref = ref_distance(queries.data() + q * dim, dec.data() + i * dim, dim, cm);
          const double got = fn(prepared, codes.data() + i * c->code_size(), params);
          ASSERT_NEAR(got, ref, 2e-4 * (1.0 + std::fabs(ref))) << name << " " << to_string(m) << " q" << q << " i" << i;
          EXPECT_FLOAT_EQ(static_cast<float>(got), c->distance(prepared, codes.data() + i * c->code_size()));
        }
      }
      for (std::size_t i = 0; i < 10; ++i)
        for (std::size_t j = 0; j < 10; ++j) {
          const double ref = ref_distance(dec.data() + i * dim, dec.data() + j * dim, dim, cm);
          const double got = sfn(codes.data() + i * c->code_size(), codes.data() + j * c->code_size(), params);
          ASSERT_NEAR(got, ref, 2e-4 * (1.0 + std::fabs(ref))) << name << " " << to_string(m) << " sym " << i << "," << j;
        }
    }
  }
}

std::string saved(const codec& c) {
  std::ostringstream out;
  qtune::save_codec(c, out);
  return out.str();
}

TEST(codec_io, save_load_gives_identical_codes) {
  for (const auto& [name, dim] : all_codecs) {
    for (const metric m : {metric::l2, metric::ip}) {
      const auto train = gaussian(500, dim, 31, m == metric::ip);
      auto c = make_codec(name, dim, m);
      c->train(500, train.data());
      const std::string bytes = saved(*c);
      std::istringstream in(bytes);
      auto d = qtune::load_codec(in);
      EXPECT_EQ(d->name(), c->name());
      EXPECT_EQ(d->dim(), dim);
      EXPECT_EQ(d->distance_metric(), c->distance_metric());
      EXPECT_EQ(saved(*d), bytes) << name;
      std::vector<std::uint8_t> a(100 * c->code_size()), b(a.size());
      const auto x = gaussian(100, dim, 32, m == metric::ip);
      c->encode(100, x.data(), a.data());
      d->encode(100, x.data(), b.data());
      EXPECT_EQ(a, b) << name;
      auto pa = aligned_prepared(*c), pb = aligned_prepared(*d);
      c->prepare_query(x.data(), align64(pa));
      d->prepare_query(x.data(), align64(pb));
      EXPECT_EQ(c->distance(align64(pa), a.data() + c->code_size()), d->distance(align64(pb), a.data() + c->code_size()));
      EXPECT_EQ(c->distance_codes(a.data(), a.data() + c->code_size()), d->distance_codes(a.data(), a.data() + c->code_size()));
    }
  }
}

TEST(codec_io, truncated_or_mismatched_stream_throws) {
  const auto train = gaussian(500, 32, 41);
  for (const char* name : {"fp16", "sq8", "sq4:q0.01", "pq8x8", "rot,sq4", "bin"}) {
    auto c = make_codec(name, 32, metric::l2);
    c->train(500, train.data());
    const std::string bytes = saved(*c);
    for (std::size_t cut : {std::size_t(0), std::size_t(4), std::size_t(20), bytes.size() / 2, bytes.size() - 1}) {
      std::istringstream in(bytes.substr(0, cut));
      EXPECT_THROW(qtune::load_codec(in), qtune::error) << name << " cut at " << cut;
    }
    std::string bad = bytes;
    bad[0] = 'X';
    std::istringstream in(bad);
    EXPECT_THROW(qtune::load_codec(in), qtune::error) << name;
  }
  // Parameters of one codec into another of a different kind / dim.
  auto sq8 = make_codec("sq8", 32, metric::l2);
  sq8->train(500, train.data());
  std::ostringstream out;
  sq8->save(out);
  for (auto [name, dim] : {std::pair{"sq4", 32}, std::pair{"sq8", 16}, std::pair{"pq8x8", 32}, std::pair{"fp32", 32}}) {
    auto other = make_codec(name, dim, metric::l2);
    std::istringstream in(out.str());
    EXPECT_THROW(other->load(in), qtune::error) << name << " dim " << dim;
  }
  // Untrained codecs refuse to encode and save.
  auto fresh = make_codec("sq8", 32, metric::l2);
  std::vector<std::uint8_t> code(32);
  EXPECT_THROW(fresh->encode(1, train.data(), code.data()), qtune::error);
  std::ostringstream sink;
  EXPECT_THROW(qtune::save_codec(*fresh, sink), qtune::error);
  // PQ needs 2^nbits training vectors.
  EXPECT_THROW(make_codec("pq8x8", 32, metric::l2)->train(100, train.data()), qtune::error);
}

// bin's byte layout and levels, worked out by hand: 10 dims, training rows 0..3 with
// x_ij = i (every dim has mean 1.5, lo = mean(0,1) = 0.5, hi = mean(2,3) = 2.5) except dim 9,
// which is constant 7 (lo = hi = 7). Bit j of the code is bit j % 8 of byte j / 8.
TEST(codec_bin, layout_and_levels_by_hand) {
  const std::size_t dim = 10;
  std::vector<float> train(4 * dim);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t j = 0; j < dim; ++j) train[i * dim + j] = j == 9 ? 7.0f : static_cast<float>(i);
  auto c = make_codec("bin", dim, metric::l2);
  c->train(4, train.data());
  ASSERT_EQ(c->code_size(), 2u);
  // dims 0, 3, 8 above their threshold 1.5, dim 9 above 7; the rest at or below.
  std::vector<float> x = {2, 0, 1, 3, -5, 1.5f, 0, 0, 1.6f, 9};
  std::uint8_t code[2];
  c->encode(1, x.data(), code);
  EXPECT_EQ(code[0], 0b00001001);
  EXPECT_EQ(code[1], 0b00000011);
  std::vector<float> dec(dim);
  c->decode(1, code, dec.data());
  const std::vector<float> expected = {2.5f, 0.5f, 0.5f, 2.5f, 0.5f, 0.5f, 0.5f, 0.5f, 2.5f, 7.0f};
  EXPECT_EQ(dec, expected);
  // 2 bytes per vector whatever the metric; 10 dims -> the padding bits 10..15 stay 0.
  x[9] = 0;
  c->encode(1, x.data(), code);
  EXPECT_EQ(code[1], 0b00000001);
}

// rot,fp32 encodes R x exactly (as floats): the codes expose the rotation.
TEST(codec_rotation, orthogonal_and_preserves_distances) {
  const std::size_t dim = 40;
  auto c = make_codec("rot,fp32", dim, metric::l2);
  const auto x = gaussian(200, dim, 51);
  c->train(200, x.data());
  // Columns of R = R e_i: orthonormal.
  std::vector<float> eye(dim * dim, 0.0f), cols(dim * dim);
  for (std::size_t i = 0; i < dim; ++i) eye[i * dim + i] = 1.0f;
  c->encode(dim, eye.data(), reinterpret_cast<std::uint8_t*>(cols.data()));
  for (std::size_t i = 0; i < dim; ++i)
    for (std::size_t j = 0; j < dim; ++j) {
      double dot = 0;
      for (std::size_t k = 0; k < dim; ++k) dot += double(cols[i * dim + k]) * cols[j * dim + k];
      ASSERT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-5) << i << "," << j;
    }
  // Not the identity (a rotation that does nothing would pass the checks above).
  double off = 0;
  for (std::size_t i = 0; i < dim; ++i) off += std::fabs(cols[i * dim + i]);
  EXPECT_LT(off, 0.5 * dim);
  // Norms and distances are preserved; decode undoes the rotation.
  std::vector<float> y(200 * dim), back(200 * dim);
  c->encode(200, x.data(), reinterpret_cast<std::uint8_t*>(y.data()));
  c->decode(200, reinterpret_cast<const std::uint8_t*>(y.data()), back.data());
  for (std::size_t i = 0; i < 200; ++i) {
    const double nx = ref_distance(x.data() + i * dim, std::vector<float>(dim, 0.0f).data(), dim, metric::l2);
    const double ny = ref_distance(y.data() + i * dim, std::vector<float>(dim, 0.0f).data(), dim, metric::l2);
    EXPECT_NEAR(ny, nx, 1e-5 * nx);
    for (std::size_t j = 0; j < dim; ++j) EXPECT_NEAR(back[i * dim + j], x[i * dim + j], 1e-4);
    if (i > 0) {
      const double dx = ref_distance(x.data() + i * dim, x.data(), dim, metric::l2);
      const double dy = ref_distance(y.data() + i * dim, y.data(), dim, metric::l2);
      EXPECT_NEAR(dy, dx, 1e-5 * dx);
    }
  }
  // The same seed gives the same rotation.
  auto c2 = make_codec("rot,fp32", dim, metric::l2);
  c2->train(0, nullptr);
  std::vector<float> cols2(dim * dim);
  c2->encode(dim, eye.data(), reinterpret_cast<std::uint8_t*>(cols2.data()));
  EXPECT_EQ(cols, cols2);
}

TEST(codec_search, fp32_search_equals_exact_knn) {
  const std::size_t dim = 24;
  const auto base = gaussian(1500, dim, 61);
  const auto queries = gaussian(30, dim, 62);
  for (const metric m : {metric::l2, metric::ip}) {
    auto c = make_codec("fp32", dim, m);
    c->train(0, nullptr);
    std::vector<std::uint8_t> codes(1500 * c->code_size());
    qtune::encode_parallel(*c, view(base, dim), codes.data());
    const auto found = qtune::search_codes(*c, codes.data(), 1500, view(queries, dim), 10);
    const auto truth = qtune::exact_knn(view(base, dim), view(queries, dim), m, 10);
    EXPECT_DOUBLE_EQ(qtune::recall_ids(found, truth, 10), 1.0) << to_string(m);
    for (std::size_t q = 0; q < 30; ++q)
      for (std::size_t j = 0; j + 1 < 10; ++j) EXPECT_LE(found.distances_of(q)[j], found.distances_of(q)[j + 1]);
  }
  // Fewer codes than k: padded with -1 / +inf.
  auto c = make_codec("sq8", dim, metric::l2);
  c->train(1500, base.data());
  std::vector<std::uint8_t> codes(3 * c->code_size());
  c->encode(3, base.data(), codes.data());
  const auto r = qtune::search_codes(*c, codes.data(), 3, view(queries, dim), 5);
  EXPECT_EQ(r.ids_of(0)[3], -1);
  EXPECT_TRUE(std::isinf(r.distances_of(0)[4]));
  EXPECT_GE(r.ids_of(0)[2], 0);
}

}  // namespace
