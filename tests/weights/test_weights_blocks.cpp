// Block formats: bytes worked out by hand from the GGUF specification, decoder layouts, and
// round-trip error budgets per bit width on the real stories260K weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "codec/scalar_quant.hpp"
#include "qtune/weights.hpp"
#include "test_data.hpp"
#include "weights/ggml_blocks.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;

namespace {

std::vector<std::uint8_t> quantize_block(w::wformat f, const std::vector<float>& x) {
  std::vector<std::uint8_t> out(w::row_size(f, x.size()));
  w::quantize(f, x.data(), 1, x.size(), out.data());
  return out;
}

}  // namespace

TEST(weights_blocks, type_table_matches_ggml) {
  EXPECT_EQ(w::traits(w::parse_format("q8_0")).type_size, 34u);
  EXPECT_EQ(w::traits(w::parse_format("q4_0")).type_size, 18u);
  EXPECT_EQ(w::traits(w::parse_format("q4_1")).type_size, 20u);
  EXPECT_EQ(w::traits(w::parse_format("q5_0")).type_size, 22u);
  EXPECT_EQ(w::traits(w::parse_format("q5_1")).type_size, 24u);
  EXPECT_EQ(w::traits(w::parse_format("q4_k")).type_size, 144u);
  EXPECT_EQ(w::traits(w::parse_format("q6_k")).type_size, 210u);
  EXPECT_EQ(w::traits(w::parse_format("q4_k")).blck_size, 256u);
  EXPECT_DOUBLE_EQ(w::bits_per_weight(w::parse_format("q4_k")), 4.5);
  EXPECT_DOUBLE_EQ(w::bits_per_weight(w::parse_format("q6_k")), 6.5625);
  for (const char* s : {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k", "int8_g128",
                        "int4_g64"})
    EXPECT_EQ(w::to_string(w::parse_format(s)), s);
  EXPECT_THROW(w::parse_format("q3_k"), qtune::error);
  EXPECT_THROW(w::parse_format("int4_g3"), qtune::error);
  EXPECT_EQ(w::format_from_gguf_id(12).type, w::wtype::q4_k);
  EXPECT_THROW(w::format_from_gguf_id(10), qtune::error);  // Q2_K: not supported
}

TEST(weights_blocks, fp16_conversion_round_to_nearest_even) {
  namespace sq = qtune::sq;
  EXPECT_EQ(sq::fp32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(sq::fp32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(sq::fp32_to_fp16(65504.f), 0x7BFF);
  EXPECT_EQ(sq::fp32_to_fp16(65520.f), 0x7C00);                  // tie rounds up to inf
  EXPECT_EQ(sq::fp32_to_fp16(1.0f + 1.0f / 2048), 0x3C00);       // tie -> even
  EXPECT_EQ(sq::fp32_to_fp16(1.0f + 3.0f / 2048), 0x3C02);       // tie -> even (up)
  EXPECT_EQ(sq::fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);    // smallest subnormal
  EXPECT_EQ(sq::fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);    // tie -> even (0)
  for (std::uint32_t h = 0; h < 0x7C00; ++h)  // every finite half survives the round trip
    ASSERT_EQ(sq::fp32_to_fp16(sq::fp16_to_fp32(static_cast<std::uint16_t>(h))), h) << h;
}

// q8_0 from the spec: d = max|x| / 127 as fp16, q = roundf(x / d) (half away from zero).
// x[0] = 127 makes d = 1.0 (fp16 0x3C00); 2.5 -> 3 and -2.5 -> -3 pin the rounding mode.
TEST(weights_blocks, q8_0_bytes_by_hand) {
  std::vector<float> x(32);
  x[0] = 127;
  x[1] = 2.5f;
  x[2] = -2.5f;
  for (int j = 3; j < 32; ++j) x[j] = static_cast<float>(j - 16);
  const std::vector<std::uint8_t> expected = {
      0x00, 0x3c, 0x7f, 0x03, 0xfd, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
      0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  EXPECT_EQ(quantize_block(w::parse_format("q8_0"), x), expected);
  std::vector<float> y(32);
  w::dequantize(w::parse_format("q8_0"), expected.data(), 32, y.data());
  EXPECT_EQ(y[1], 3.0f);
  EXPECT_EQ(y[2], -3.0f);
  EXPECT_EQ(y[31], 15.0f);
}

// q4_0 from the spec: the value of largest magnitude m (sign kept) gives d = m / -8; codes are
// min(15, trunc(x/d + 8.5)); byte j = code j | code (j+16) << 4. x[0] = -8 gives d = 1.0.
// 2.5 -> trunc(11.0) = 11 and -0.5 -> trunc(8.0) = 8 pin the truncation rule.
TEST(weights_blocks, q4_0_bytes_by_hand) {
  std::vector<float> x(32);
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(j - 8);
  for (int i = 0; i < 16; ++i) x[16 + i] = static_cast<float>(7 - i);
  x[17] = 2.5f;
  x[18] = -0.5f;
  const std::vector<std::uint8_t> expected = {0x00, 0x3c, 0xf0, 0xb1, 0x82, 0xc3, 0xb4, 0xa5, 0x96,
                                              0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
  EXPECT_EQ(quantize_block(w::parse_format("q4_0"), x), expected);
  std::vector<float> y(32);
  w::dequantize(w::parse_format("q4_0"), expected.data(), 32, y.data());
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[16], 7.0f);
  EXPECT_EQ(y[17], 3.0f);
  EXPECT_EQ(y[18], 0.0f);
}

// q5_0: d = m / -16, codes min(31, trunc(x/d + 16.5)); low nibbles as q4_0, bit 4 of code j in
// bit j of the little-endian u32 qh.
TEST(weights_blocks, q5_0_bytes_by_hand) {
  std::vector<float> x(32);
  for (int j = 0; j < 16; ++j) x[j] = static_cast<float>(2 * (j - 8));
  for (int i = 0; i < 16; ++i) x[16 + i] = static_cast<float>(2 * (7 - i));
  x[17] = 5.0f;
  x[18] = -1.0f;
  const std::vector<std::uint8_t> expected = {0x00, 0x3c, 0x00, 0xff, 0xfb, 0x00, 0xe0, 0x52, 0xf4, 0x86, 0x68,
                                              0x4a, 0x2c, 0x0e, 0xe0, 0xc2, 0xa4, 0x86, 0x68, 0x4a, 0x2c, 0x0e};
  EXPECT_EQ(quantize_block(w::parse_format("q5_0"), x), expected);
}

// Decoder layouts against blocks assembled field by field.
TEST(weights_blocks, q4_k_and_q6_k_decoders_follow_the_layout) {
  namespace b = qtune::weights::blocks;
  b::block_q4_k k4{};
  k4.d = qtune::sq::fp32_to_fp16(0.5f);
  k4.dmin = qtune::sq::fp32_to_fp16(0.25f);
  // sub-block 0: scale 2, min 3; sub-block 5: scale 33 (needs the high bits), min 40.
  k4.scales[0] = 2;
  k4.scales[4] = 3;
  k4.scales[9] = (33 & 0xF) | ((40 & 0xF) << 4);
  k4.scales[1] |= (33 >> 4) << 6;
  k4.scales[5] |= (40 >> 4) << 6;
  k4.qs[0] = 0x07;          // element 0 (low nibble, chunk 0), element 32 (high nibble) = 0
  k4.qs[64 + 3] = 0x90;     // chunk 2: element 128+32+3 = 163 (sub-block 5) code 9
  std::vector<float> y(256);
  w::dequantize(w::parse_format("q4_k"), reinterpret_cast<const std::uint8_t*>(&k4), 256, y.data());
  EXPECT_FLOAT_EQ(y[0], 0.5f * 2 * 7 - 0.25f * 3);
  EXPECT_FLOAT_EQ(y[163], 0.5f * 33 * 9 - 0.25f * 40);

  b::block_q6_k k6{};
  k6.d = qtune::sq::fp32_to_fp16(0.5f);
  for (int i = 0; i < 16; ++i) k6.scales[i] = static_cast<std::int8_t>(i + 1);
  // element 128 + 64 + 5 = 197: ql[64 + 5] high nibble, qh[32 + 5] bits 4..5, scale index 8 + 4.
  const int code = 45;  // stored value; decoded code - 32 = 13
  k6.ql[64 + 5] = static_cast<std::uint8_t>((code & 0xF) << 4);
  k6.qh[32 + 5] = static_cast<std::uint8_t>((code >> 4) << 4);
  w::dequantize(w::parse_format("q6_k"), reinterpret_cast<const std::uint8_t*>(&k6), 256, y.data());
  EXPECT_FLOAT_EQ(y[197], 0.5f * 13 * 13);
  EXPECT_FLOAT_EQ(y[0], 0.5f * 1 * -32);  // all-zero codes decode to -32 * scale
}

// Every block type on the real stories260K weights: each matrix taken as a stream of 256-value
// rows (all stories260K matrices hold a multiple of 256 values; their own rows of 64 or 172
// values do not fit K-quant blocks). Budgets: pooled relative RMSE per bit width, with the
// ordering that the bit widths promise.
TEST(weights_blocks, round_trip_error_budgets_on_stories260k) {
  QTUNE_REQUIRE_DATA_FILE(path, "stories260k/stories260K.safetensors");
  const w::model m = w::read_safetensors(path);
  struct budget {
    const char* type;
    double max_rel_rmse;
    double min_snr_db;
  };
  // Measured (this code): q8_0 .0054, q6_k .0175, q5_1 .038, q5_0 .043, q4_k .075, q4_1 .084,
  // q4_0 .086, int8_g64 .0059, int4_g32 .084, f16 .0002. Budgets leave ~20% headroom.
  const budget budgets[] = {{"q8_0", 0.0065, 43},  {"q6_k", 0.021, 33},  {"q5_1", 0.046, 26},
                            {"q5_0", 0.052, 25},   {"q4_k", 0.09, 20.5}, {"q4_1", 0.10, 19.5},
                            {"q4_0", 0.103, 19.5}, {"int8_g64", 0.0071, 43}, {"int4_g32", 0.10, 19.5},
                            {"f16", 0.0003, 70}};
  std::map<std::string, double> rel;
  for (const auto& bu : budgets) {
    const w::wformat f = w::parse_format(bu.type);
    w::error_stats total;
    for (const auto& t : m.tensors) {
      if (!w::is_quantizable(t)) continue;
      const std::vector<float> x = m.to_float(t);
      ASSERT_EQ(x.size() % 256, 0u) << t.name;
      std::vector<std::uint8_t> codes(w::row_size(f, x.size()));
      w::quantize(f, x.data(), x.size() / 256, 256, codes.data());
      std::vector<float> y(x.size());
      w::dequantize(f, codes.data(), y.size(), y.data());
      total.add(w::measure(x.data(), y.data(), x.size(), static_cast<double>(codes.size())));
    }
    rel[bu.type] = total.rel_rmse();
    std::printf("  %-9s rel_rmse %.5f  snr %.2f dB  cos %.6f\n", bu.type, total.rel_rmse(), total.snr_db(), total.cosine());
    EXPECT_LT(total.rel_rmse(), bu.max_rel_rmse) << bu.type;
    EXPECT_GT(total.snr_db(), bu.min_snr_db) << bu.type;
    EXPECT_GT(total.cosine(), 0.99) << bu.type;
    EXPECT_NEAR(total.bpw(), w::bits_per_weight(f), 1e-9) << bu.type;
  }
  EXPECT_LT(rel["q8_0"], rel["q6_k"]);
  EXPECT_LT(rel["q6_k"], rel["q5_1"]);
  EXPECT_LT(rel["q5_1"], rel["q5_0"]);
  EXPECT_LT(rel["q5_0"], rel["q4_k"]);
  EXPECT_LT(rel["q4_k"], rel["q4_0"]);
}

// Importance weights: the weighted error on the important columns must not get worse, and for
// the searched types it must improve in total.
TEST(weights_blocks, importance_weights_reduce_weighted_error) {
  QTUNE_REQUIRE_DATA_FILE(path, "stories260k/stories260K.safetensors");
  const w::model m = w::read_safetensors(path);
  const std::vector<float> x = m.to_float(m.find("token_embd.weight"));  // 512 rows of 64
  std::vector<float> x256(x.begin(), x.end());
  std::vector<float> imp(256, 1.0f);
  std::mt19937 rng(7);
  for (int j = 0; j < 256; ++j)
    if (rng() % 8 == 0) imp[j] = 50.0f;
  for (const char* type : {"q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k", "int4_g32", "int8_g32"}) {
    const w::wformat f = w::parse_format(type);
    auto weighted = [&](const float* qw) {
      std::vector<std::uint8_t> c(w::row_size(f, x256.size()));
      w::quantize(f, x256.data(), x256.size() / 256, 256, c.data(), qw);
      std::vector<float> y(x256.size());
      w::dequantize(f, c.data(), y.size(), y.data());
      double e = 0;
      for (std::size_t i = 0; i < y.size(); ++i) e += imp[i % 256] * (x256[i] - y[i]) * (x256[i] - y[i]);
      return e;
    };
    const double plain = weighted(nullptr), aware = weighted(imp.data());
    EXPECT_LT(aware, plain) << type << ": importance-weighted error " << aware << " vs " << plain;
  }
}
