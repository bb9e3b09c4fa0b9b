// The memory-budget planner and model quantization on the real stories260K weights.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/weights.hpp"
#include "test_data.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;

TEST(weights_plan, respects_the_budget_and_trades_size_for_error) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model m = w::read_gguf(path);
  double prev_err = -1;
  std::uint64_t prev_bytes = ~0ull;
  for (const double bpw : {16.0, 9.0, 7.5, 6.9}) {  // tighter and tighter (q4_0 everywhere: 6.73)
    w::plan_options o;
    o.budget_bpw = bpw;
    const w::plan_result r = w::make_plan(m, o);
    ASSERT_TRUE(r.feasible) << bpw;
    EXPECT_LE(static_cast<double>(r.bytes), bpw * static_cast<double>(r.total_values) / 8.0) << bpw;
    EXPECT_LE(r.bytes, prev_bytes);
    EXPECT_GE(r.rel_rmse, prev_err) << bpw;  // less memory cannot mean less error
    prev_err = r.rel_rmse;
    prev_bytes = r.bytes;
    // The chosen point is not beaten by any front point that also fits.
    for (const auto& p : r.front)
      if (static_cast<double>(p.bytes) <= bpw * static_cast<double>(r.total_values) / 8.0)
        EXPECT_GE(p.rel_rmse, r.rel_rmse - 1e-12) << bpw;
  }
  // The front is a front: bytes up, error down.
  w::plan_options o;
  o.budget_bpw = 8;
  const w::plan_result r = w::make_plan(m, o);
  ASSERT_GE(r.front.size(), 3u);
  for (std::size_t i = 1; i < r.front.size(); ++i) {
    EXPECT_GT(r.front[i].bytes, r.front[i - 1].bytes);
    EXPECT_LT(r.front[i].rel_rmse, r.front[i - 1].rel_rmse);
  }
  // Infeasible: flagged, with every tensor at its smallest choice.
  w::plan_options tiny;
  tiny.budget_mb = 0.1;
  const w::plan_result t = w::make_plan(m, tiny);
  EXPECT_FALSE(t.feasible);
  for (const auto& pt : t.tensors) EXPECT_EQ(pt.chosen, 0u);
}

TEST(weights_plan, overrides_force_a_type) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model m = w::read_gguf(path);
  w::plan_options o;
  o.budget_bpw = 6;
  o.overrides = {{"token_embd|output", w::parse_format("q8_0")}};
  const w::plan_result r = w::make_plan(m, o);
  std::size_t forced = 0;
  for (const auto& t : r.tensors) {
    if (t.name == "token_embd.weight" || t.name == "output.weight") {
      EXPECT_TRUE(t.forced);
      EXPECT_EQ(t.candidates[t.chosen].format, w::parse_format("q8_0"));
      ++forced;
    }
  }
  EXPECT_EQ(forced, 2u);
}

TEST(weights_plan, quantize_model_falls_back_like_llama_cpp_and_sets_file_type) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model m = w::read_gguf(path);
  const w::quantized_model q = w::quantize_model(m, std::vector<w::wformat>(m.tensors.size(), w::parse_format("q4_k")));
  for (const auto& qt : q.tensors) {
    if (!w::is_quantizable(qt.info)) {
      EXPECT_EQ(qt.info.format.type, w::wtype::f32) << qt.info.name;
    } else if (qt.info.ne[0] == 64) {
      EXPECT_EQ(qt.info.format.type, w::wtype::q5_0) << qt.info.name;  // 64 % 256 != 0
    } else {
      EXPECT_EQ(qt.info.ne[0], 172u);
      EXPECT_EQ(qt.info.format.type, w::wtype::f16) << qt.info.name;  // 172 % 32 != 0
    }
  }
  const w::kv* ft = nullptr;
  for (const auto& e : q.metadata)
    if (e.key == "general.file_type") ft = &e;
  ASSERT_NE(ft, nullptr);
  EXPECT_EQ(ft->value.u, 8u);  // MOSTLY_Q5_0: what most weights ended up as
}

TEST(weights_plan, bad_override_regex_and_bad_importance_are_errors) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model m = w::read_gguf(path);
  try {
    w::format_overrides bad({{"token_embd(", w::parse_format("q8_0")}});
    FAIL() << "an unbalanced regex must be rejected";
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("bad regular expression 'token_embd('"), std::string::npos) << e.what();
  }
  const w::format_overrides o({{"^output", w::parse_format("q8_0")}, {"output|token_embd", w::parse_format("q4_0")}});
  ASSERT_NE(o.match("output.weight"), nullptr);
  EXPECT_EQ(*o.match("output.weight"), w::parse_format("q8_0"));  // the first matching rule wins
  EXPECT_EQ(*o.match("token_embd.weight"), w::parse_format("q4_0"));
  EXPECT_EQ(o.match("blk.0.attn_q.weight"), nullptr);

  // Importance weights per tensor (a folder of .npy) are validated like a single file.
  const auto dir = std::filesystem::temp_directory_path() / ("qtune_imp_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const w::tensor& t = m.find("output.weight");
  std::vector<float> imp(t.ne[0], 1.0f);
  imp[3] = -1.0f;
  qtune::write_npy(dir / "output.weight.npy", {imp.data(), 1, imp.size(), imp.size()});
  try {
    (void)w::read_importance(dir, m);
    FAIL() << "a negative importance weight must be rejected";
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("must be finite and >= 0"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}
