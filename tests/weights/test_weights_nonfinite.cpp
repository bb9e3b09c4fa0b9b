// NaN / Inf weights (issue 14): refused naming the tensor and the first index unless allowed; with
// --allow-nonfinite they are replaced, and no block is ever written with an infinite scale.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "run_command.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;
using qtune::testing::bytes_builder;

namespace {

using qtune::testing::run_tune;

// A safetensors file with one F32 tensor "blk.0.w" of 4 rows x 64 columns: values 0.01*i, with
// x[bad] set to `v` when bad >= 0.
std::filesystem::path st_with(const std::string& name, long bad, float v) {
  const std::string h = R"({"blk.0.w":{"dtype":"F32","shape":[4,64],"data_offsets":[0,1024]}})";
  bytes_builder b;
  b.u64(h.size()).raw(h);
  for (int i = 0; i < 256; ++i) b.put<float>(i == bad ? v : 0.01f * static_cast<float>(i - 128));
  return b.write(name);
}

}  // namespace

TEST(weights_nonfinite, quantize_and_plan_refuse_naming_tensor_and_index) {
  for (const float v : {std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY}) {
    const w::model m = w::read_safetensors(st_with("nf.safetensors", 70, v));
    const std::vector<w::wformat> choice(1, w::parse_format("q4_0"));
    QTUNE_EXPECT_ERROR(w::quantize_model(m, choice), "'blk.0.w'", "index 70", "row 1, column 6", "--allow-nonfinite");
    w::plan_options po;
    po.budget_bpw = 6;
    QTUNE_EXPECT_ERROR(w::make_plan(m, po), "'blk.0.w'", "index 70");
  }
}

TEST(weights_nonfinite, allowed_values_are_replaced_and_blocks_stay_finite) {
  const w::model m = w::read_safetensors(st_with("nf_ok.safetensors", 70, INFINITY));
  for (const char* type : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "f16"}) {
    const w::quantized_model q = w::quantize_model(m, {w::parse_format(type)}, nullptr, true);
    EXPECT_EQ(q.tensors[0].nonfinite.inf, 1u);
    std::vector<float> y(256);
    w::dequantize(q.tensors[0].info.format, q.data.data() + q.tensors[0].info.offset, y.size(), y.data());
    for (const float v : y) ASSERT_TRUE(std::isfinite(v)) << type;
    EXPECT_NEAR(y[70], 0.01f * 127, 0.05f) << type;  // Inf -> the largest finite magnitude, 1.27
    EXPECT_TRUE(std::isfinite(q.total.rel_rmse()));
  }
  // Finite but beyond fp16: q8_0's fp16 scale would be +Inf. Refused, never written.
  const w::model big = w::read_safetensors(st_with("big.safetensors", 5, 3e38f));
  QTUNE_EXPECT_ERROR(w::quantize_model(big, {w::parse_format("q8_0")}), "'blk.0.w'", "q8_0", "indices [0, 32)", "3e+38", "overflows");
  // The planner drops formats that cannot hold the range and keeps f32-wide candidates only if given.
  w::plan_options po;
  po.budget_bpw = 40;
  po.candidates = {w::parse_format("q8_0"), w::parse_format("f16"), w::parse_format("bf16")};
  const w::plan_result r = w::make_plan(big, po);
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(w::to_string(r.tensors[0].candidates[r.tensors[0].chosen].format), "bf16");
}

TEST(weights_nonfinite, cli_refuses_writes_nothing_and_stats_counts) {
  const auto model = st_with("nf_cli.safetensors", 70, std::numeric_limits<float>::quiet_NaN());
  const auto out = qtune::testing::weights_tmp("nf_cli_out.gguf");
  std::filesystem::remove(out);
  auto [rc, text] = run_tune("weights quantize -q --type q4_0 " + model.string() + " -o " + out.string());
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("'blk.0.w'"), std::string::npos) << text;
  EXPECT_NE(text.find("index 70"), std::string::npos) << text;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::tie(rc, text) = run_tune("weights plan -q --budget-bpw 6 " + model.string() + " -o " + out.string());
  EXPECT_EQ(rc, 1) << text;
  EXPECT_FALSE(std::filesystem::exists(out));
  std::tie(rc, text) = run_tune("weights quantize -q --allow-nonfinite --type q4_0 " + model.string() + " -o " + out.string());
  EXPECT_EQ(rc, 0) << text;
  EXPECT_TRUE(std::filesystem::exists(out));
  EXPECT_NE(text.find("replaced 1 NaN"), std::string::npos) << text;
  std::tie(rc, text) = run_tune("weights stats -q --types q4_0 " + model.string());
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("NON-FINITE: blk.0.w has 1 NaN and 0 Inf"), std::string::npos) << text;
  EXPECT_EQ(text.find(" nan "), std::string::npos) << text;
  std::tie(rc, text) = run_tune("weights stats -q --json --types q4_0 " + model.string());
  EXPECT_NE(text.find("\"nonfinite_values\": 1"), std::string::npos) << text;
}
