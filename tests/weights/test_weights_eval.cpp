// Perplexity / KL divergence (llama-perplexity protocol), the importance matrix, and plans checked
// by the model, on stories260K and the TinyStories samples.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "run_command.hpp"
#include "test_data.hpp"
#include "weights/imatrix.hpp"
#include "weights/llama_model.hpp"
#include "weights/perplexity.hpp"
#include "weights/plan_validate.hpp"
#include "weights/tokenizer_spm.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;

namespace {

using qtune::testing::run_tune;

// Writes m with its metadata/tensors edited by `edit` (a GGUF v3 through the writer).
std::filesystem::path write_edited(const w::model& m, const std::string& name,
                                   const std::function<void(std::vector<w::kv>&, std::vector<w::tensor>&,
                                                            std::vector<std::uint8_t>&)>& edit) {
  std::vector<w::kv> md = m.metadata;
  std::vector<w::tensor> ts = m.tensors;
  std::vector<std::uint8_t> data = m.data;
  edit(md, ts, data);
  const auto p = qtune::testing::weights_tmp(name);
  w::write_gguf(p, md, ts, data);
  return p;
}

}  // namespace

TEST(weights_eval, perplexity_protocol_and_self_kld) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  QTUNE_REQUIRE_DATA_FILE(val, "tinystories/tinystories_val_sample.txt");
  const w::model g = w::read_gguf(path);
  const auto m = w::llama_model::from_gguf(g);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  w::eval_options eo;
  eo.n_ctx = 256;
  eo.n_chunks = 4;
  const auto tokens = w::eval_tokens(tok, m, w::read_eval_text(val), eo, val.string());
  const w::eval_result r = w::evaluate(m, tokens, tok.bos(), eo, &m);
  EXPECT_EQ(r.n_chunks, 4u);
  EXPECT_EQ(r.n_scored, 4u * 127u);  // n_ctx - 1 - n_ctx/2 per chunk
  EXPECT_GT(r.ppl, 1.5);
  EXPECT_LT(r.ppl, 20.0);             // val loss 1.2968 at 512 context: ppl ~ 3.7
  EXPECT_DOUBLE_EQ(r.base_ppl, r.ppl);
  EXPECT_NEAR(r.kld_mean, 0.0, 1e-12);
  EXPECT_EQ(r.top1, 1.0);
  // The Q8_0 file of the same weights (llama.cpp, 2023) is close to the F32 model.
  QTUNE_REQUIRE_DATA_FILE(q8, "gguf/tinyllamas-stories-260k-q8_0.gguf");
  const auto mq = w::llama_model::from_gguf(w::read_gguf(q8));
  const w::eval_result rq = w::evaluate(mq, tokens, tok.bos(), eo, &m);
  EXPECT_GT(rq.kld_mean, 0.0);
  EXPECT_LT(rq.kld_mean, 0.01);
  EXPECT_GT(rq.top1, 0.95);
  // The cached reference gives the same figures as the side-by-side evaluation.
  const w::kld_reference ref(m, tokens, tok.bos(), eo);
  const w::eval_result rr = ref.compare(mq);
  EXPECT_NEAR(rr.kld_mean, rq.kld_mean, 1e-6);
  EXPECT_EQ(rr.top1, rq.top1);
}

// An entry with no values (found by fuzz_imatrix: a memcpy into an empty vector's null data(),
// UBSan) is refused, as llama.cpp's readers refuse nval < 1.
TEST(weights_eval, imatrix_entries_without_values_are_refused) {
  w::imatrix one;
  one.entries["blk.0.attn_q.weight"] = {1, {}};
  const auto file = qtune::testing::weights_tmp("empty-entry.imatrix");
  w::write_imatrix(file, one);
  QTUNE_EXPECT_ERROR(w::read_imatrix(file), "empty-entry.imatrix", "'blk.0.attn_q.weight' has 0 values (expected >= 1");
  one.entries["blk.0.attn_q.weight"] = {1, {0.5f}};
  w::write_imatrix(file, one);
  EXPECT_EQ(w::read_imatrix(file).entries.at("blk.0.attn_q.weight").mean_sq, std::vector<float>{0.5f});
}

TEST(weights_eval, imatrix_round_trip_and_effect_on_q4_0) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  QTUNE_REQUIRE_DATA_FILE(train, "tinystories/tinystories_sample.txt");
  QTUNE_REQUIRE_DATA_FILE(val, "tinystories/tinystories_val_sample.txt");
  const w::model g = w::read_gguf(path);
  const auto m = w::llama_model::from_gguf(g);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  w::eval_options eo;
  eo.n_ctx = 256;
  const auto train_tokens = w::eval_tokens(tok, m, w::read_eval_text(train), eo, train.string());
  const w::imatrix im = w::collect_imatrix(m, train_tokens, tok.bos(), 256, 40, "tinystories_sample.txt");
  EXPECT_EQ(im.entries.size(), 5u * 7u);  // blk.* matrices only, as llama-imatrix
  EXPECT_EQ(im.entries.at("blk.0.ffn_down.weight").mean_sq.size(), 172u);
  EXPECT_EQ(im.entries.at("blk.0.attn_q.weight").ncall, 40);
  const auto file = qtune::testing::weights_tmp("train.imatrix");
  w::write_imatrix(file, im);
  const w::imatrix back = w::read_imatrix(file);
  EXPECT_EQ(back.last_call, 40);
  EXPECT_EQ(back.dataset, "tinystories_sample.txt");
  ASSERT_EQ(back.entries.size(), im.entries.size());
  for (const auto& [name, e] : im.entries)
    for (std::size_t i = 0; i < e.mean_sq.size(); ++i)
      ASSERT_NEAR(back.entries.at(name).mean_sq[i], e.mean_sq[i], 1e-6f * (1 + e.mean_sq[i])) << name;
  // Truncated files are refused.
  auto bytes = qtune::testing::file_bytes(file);
  qtune::testing::bytes_builder cut;
  cut.b.assign(bytes.begin(), bytes.begin() + 100);
  QTUNE_EXPECT_ERROR(w::read_imatrix(cut.write("cut.imatrix")), "cut.imatrix");

  // q4_0 with and without the imatrix, KL divergence on the validation text.
  const w::importance_map imp = w::imatrix_importance(back, g, file.string());
  eo.n_chunks = 24;
  const w::kld_reference ref(m, w::eval_tokens(tok, m, w::read_eval_text(val), eo, val.string()), tok.bos(), eo);
  const std::vector<w::wformat> q4(g.tensors.size(), w::parse_format("q4_0"));
  const auto plain = w::measure_choice(g, q4, nullptr, ref, "q4_0");
  const auto with = w::measure_choice(g, q4, &imp, ref, "q4_0 + imatrix");
  EXPECT_NE(plain.eval.kld_mean, with.eval.kld_mean);
  EXPECT_LT(with.eval.kld_mean, plain.eval.kld_mean);
  std::printf("q4_0 KLD on %zu validation tokens: %.6f without imatrix, %.6f with (%.1f%% change); top-1 %.4f -> %.4f\n",
              plain.eval.n_scored, plain.eval.kld_mean, with.eval.kld_mean,
              100.0 * (with.eval.kld_mean - plain.eval.kld_mean) / plain.eval.kld_mean, plain.eval.top1, with.eval.top1);
}

TEST(weights_eval, validated_plans_beat_uniform_types_of_no_larger_size) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  QTUNE_REQUIRE_DATA_FILE(val, "tinystories/tinystories_val_sample.txt");
  const w::model g = w::read_gguf(path);
  const auto m = w::llama_model::from_gguf(g);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  w::eval_options eo;
  eo.n_ctx = 256;
  eo.n_chunks = 16;
  const w::kld_reference ref(m, w::eval_tokens(tok, m, w::read_eval_text(val), eo, val.string()), tok.bos(), eo);
  std::vector<w::measured_choice> uniform;
  for (const char* f : {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "f16"})
    uniform.push_back(w::measure_choice(g, std::vector<w::wformat>(g.tensors.size(), w::parse_format(f)), nullptr, ref, f));
  // stories260K cannot go below 6.73 bpw: ffn_down's rows of 172 fit no block type (f16), and the
  // norms stay f32. So 4.5 and 5.5 bpw are infeasible: the plan is every tensor at its smallest
  // type (= uniform q4_0). The feasible budgets between uniform q4_0 (6.73) and q8_0 are the
  // real test of the planner.
  for (const double bpw : {4.5, 5.5, 7.0, 7.3, 7.6, 8.0}) {
    w::plan_options po;
    po.budget_bpw = bpw;
    const w::plan_result r = w::make_plan(g, po);
    const auto plan = w::measure_choice(g, w::plan_choice(g, r), nullptr, ref, "plan");
    const w::measured_choice* best = nullptr;
    for (const auto& u : uniform)
      if (u.bytes <= plan.bytes && (!best || u.eval.kld_mean < best->eval.kld_mean)) best = &u;
    std::printf("budget %.1f bpw: plan %llu bytes (%.3f bpw, feasible %d) KLD %.6f; best uniform of no larger size: %s\n",
                bpw, static_cast<unsigned long long>(plan.bytes), plan.bpw, r.feasible, plan.eval.kld_mean,
                best ? (best->label + " KLD " + std::to_string(best->eval.kld_mean)).c_str() : "none");
    if (best) EXPECT_LE(plan.eval.kld_mean, best->eval.kld_mean) << bpw << " bpw vs " << best->label;
  }
}

TEST(weights_eval, cli_eval_imatrix_and_bad_input) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  QTUNE_REQUIRE_DATA_FILE(val, "tinystories/tinystories_val_sample.txt");
  QTUNE_REQUIRE_DATA_FILE(q8, "gguf/tinyllamas-stories-260k-q8_0.gguf");
  auto [rc, out] = run_tune("weights eval " + path.string() + " --text " + val.string() + " --ctx 256 --chunks 2 --base " +
                        q8.string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("perplexity "), std::string::npos) << out;
  EXPECT_NE(out.find("KL divergence mean"), std::string::npos) << out;
  EXPECT_NE(out.find("254 tokens scored"), std::string::npos) << out;
  EXPECT_NE(out.find("time "), std::string::npos) << out;
  std::tie(rc, out) = run_tune("weights eval --json " + path.string() + " --text " + val.string() + " --chunks 1");
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"ppl\""), std::string::npos) << out;

  const w::model g = w::read_gguf(path);
  const auto bad_utf8 = [] {
    qtune::testing::bytes_builder b;
    b.raw("Once upon a time \xff\xfe there was");
    return b.write("bad_utf8.txt");
  }();
  const auto empty = qtune::testing::bytes_builder{}.write("empty.txt");
  const auto gpt2 = write_edited(g, "gpt2.gguf", [](auto& md, auto&, auto&) {
    for (auto& e : md)
      if (e.key == "general.architecture") e.value.s = "gpt2";
  });
  const auto missing = write_edited(g, "missing.gguf", [](auto&, auto& ts, auto&) {
    ts.erase(std::remove_if(ts.begin(), ts.end(), [](const w::tensor& t) { return t.name == "blk.2.attn_v.weight"; }),
             ts.end());
  });
  const auto nan = write_edited(g, "nan.gguf", [](auto&, auto& ts, auto& data) {
    for (const auto& t : ts)
      if (t.name == "blk.4.ffn_gate.weight") {
        const float v = INFINITY;
        std::memcpy(data.data() + t.offset + 4 * 1000, &v, 4);
      }
  });
  struct bad_case {
    std::string model, text, extra, want;
  };
  const std::vector<bad_case> cases = {
      {path.string(), bad_utf8.string(), "", "not valid UTF-8 at byte 17"},
      {path.string(), empty.string(), "", "the text is empty"},
      {path.string(), val.string(), "--ctx 4096", "exceeds the model's context length 2048"},
      {gpt2.string(), val.string(), "", "architecture 'gpt2' is not supported"},
      {missing.string(), val.string(), "", "tensor 'blk.2.attn_v.weight' is missing"},
      {nan.string(), val.string(), "", "'blk.4.ffn_gate.weight'"},
  };
  const auto out_file = qtune::testing::weights_tmp("bad.imatrix");
  const auto out_plan = qtune::testing::weights_tmp("bad_plan.gguf");
  for (const auto& c : cases) {
    std::tie(rc, out) = run_tune("weights eval " + c.model + " --text " + c.text + " --chunks 1 " + c.extra);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find(c.want), std::string::npos) << c.want << " / " << out;
    std::filesystem::remove(out_file);
    std::tie(rc, out) = run_tune("weights imatrix " + c.model + " --text " + c.text + " --chunks 1 -o " + out_file.string() +
                             " " + c.extra);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_NE(out.find(c.want), std::string::npos) << c.want << " / " << out;
    EXPECT_FALSE(std::filesystem::exists(out_file)) << c.want;
    std::filesystem::remove(out_plan);
    std::tie(rc, out) = run_tune("weights plan -q --budget-bpw 8 --validate --chunks 1 " + c.model + " --text " + c.text +
                             " -o " + out_plan.string() + " " + c.extra);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_FALSE(std::filesystem::exists(out_plan)) << c.want;
  }
  // plan --objective kld: bounded search, then validation on later chunks, in the JSON too.
  std::tie(rc, out) = run_tune("weights plan -q --json --budget-bpw 7.3 --objective kld --max-evals 12 --search-chunks 2 "
                           "--validate --chunks 2 " + path.string() + " --text " + val.string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"evaluations\": "), std::string::npos) << out;
  EXPECT_NE(out.find("\"search\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"best_uniform_no_larger\""), std::string::npos) << out;
  // imatrix -> quantize --imatrix through the CLI.
  std::tie(rc, out) = run_tune("weights imatrix " + path.string() + " --text " + val.string() + " --chunks 2 -o " +
                           out_file.string());
  ASSERT_EQ(rc, 0) << out;
  const auto q = qtune::testing::weights_tmp("imatrix_q4_0.gguf");
  std::tie(rc, out) = run_tune("weights quantize -q --type q4_0 --imatrix " + out_file.string() + " " + path.string() +
                           " -o " + q.string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(w::read_gguf(q).find("blk.0.attn_q.weight").format.type, w::wtype::q4_0);
}
