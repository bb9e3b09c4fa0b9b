// The llama forward pass and the SPM tokenizer on stories260K.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "test_data.hpp"
#include "weights/llama_model.hpp"
#include "weights/tokenizer_spm.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Greedy decoding with the KV cache, one token per forward call.
std::vector<std::int32_t> greedy(const w::llama_model& m, std::vector<std::int32_t> prompt, std::size_t n_new) {
  auto cache = m.make_cache(static_cast<std::uint32_t>(prompt.size() + n_new));
  std::vector<float> logits(prompt.size() * m.hparams().n_vocab);
  m.forward(cache, prompt.data(), prompt.size(), logits.data());
  std::vector<std::int32_t> out;
  const float* last = logits.data() + (prompt.size() - 1) * m.hparams().n_vocab;
  std::vector<float> step(m.hparams().n_vocab);
  for (std::size_t i = 0; i < n_new; ++i) {
    const auto next = static_cast<std::int32_t>(w::argmax(last, m.hparams().n_vocab));
    out.push_back(next);
    if (i + 1 == n_new) break;
    m.forward(cache, &next, 1, step.data());
    last = step.data();
  }
  return out;
}

// Karpathy's llama2.c README (section "stories260K", also the Hugging Face tinyllamas
// stories260K/readme.md) publishes what `./run stories260K.bin -z tok512.bin -t 0.0` prints:
// "temperature 0.0 (i.e. deterministic greedy argmax sampling)", 256 steps (run.c's default) from
// the BOS token alone: 256 generated tokens; run.c strips the leading space after BOS. This is that text,
// verbatim; llama2.c's own C forward pass and its sentencepiece tokenizer produced it, not qtune.
const char* k_llama2c_reference =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a "
    "big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. She said, \"I want to "
    "play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
    "Lily didn't want to help her mom, so she said, \"I'm sorry, mom. I didn't know what to do.\" Her mom said, "
    "\"Don't worry, Lily. We can help you.";

}  // namespace

TEST(weights_llama, incremental_kv_cache_agrees_with_full_sequence) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model g = w::read_gguf(path);
  const auto m = w::llama_model::from_gguf(g);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  const std::vector<std::int32_t> t =
      tok.encode("One day, a little dog named Spot went to the park. He saw a big red ball and wanted to play.", true);
  const std::size_t n = t.size(), V = m.hparams().n_vocab;
  ASSERT_GT(n, 20u);
  std::vector<float> full(n * V), inc(n * V);
  auto c1 = m.make_cache(64);
  m.forward(c1, t.data(), n, full.data());
  // Incremental: one token, then a block of 5, then one at a time.
  auto c2 = m.make_cache(64);
  std::size_t i = 0;
  for (const std::size_t step : {std::size_t{1}, std::size_t{5}}) {
    m.forward(c2, t.data() + i, step, inc.data() + i * V);
    i += step;
  }
  for (; i < n; ++i) m.forward(c2, t.data() + i, 1, inc.data() + i * V);
  double worst = 0;
  for (std::size_t k = 0; k < n * V; ++k) worst = std::max(worst, std::fabs(static_cast<double>(full[k]) - inc[k]));
  EXPECT_LE(worst, 1e-5) << "max |full - incremental| over " << n << " positions x " << V << " logits";
  RecordProperty("max_abs_logit_difference", std::to_string(worst));
  // The cache refuses to overflow.
  auto small = m.make_cache(4);
  QTUNE_EXPECT_ERROR(m.forward(small, t.data(), 5, nullptr), "exceed the cache of 4");
}

TEST(weights_llama, greedy_generation_reproduces_llama2c_reference) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model g = w::read_gguf(path);
  const auto m = w::llama_model::from_gguf(g);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  EXPECT_TRUE(m.tied_output() == false);  // the file carries output.weight (equal to token_embd)
  // From BOS alone, 256 greedy steps: llama2.c's published text, exactly.
  const std::vector<std::int32_t> gen = greedy(m, {tok.bos()}, 256);
  EXPECT_EQ(tok.decode(gen), k_llama2c_reference);
  // Deterministic, and the same from the prompt "Once upon a time" (which the greedy path passes
  // through): the next tokens are the reference's continuation ", there was a little girl named Lily."
  EXPECT_EQ(greedy(m, {tok.bos()}, 256), gen);
  const std::vector<std::int32_t> prompt = tok.encode("Once upon a time", true);
  const std::vector<std::int32_t> cont = greedy(m, prompt, 40);
  std::vector<std::int32_t> whole = prompt;
  whole.insert(whole.end(), cont.begin(), cont.end());
  const std::string text = tok.decode(whole);
  const std::string ref = k_llama2c_reference;
  EXPECT_EQ(text, ref.substr(0, text.size()));
  EXPECT_EQ(text.rfind("Once upon a time, there was a little girl named Lily.", 0), 0u) << text;
}

TEST(weights_llama, tokenizer_round_trips_validation_text_with_byte_fallback) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  QTUNE_REQUIRE_DATA_FILE(val, "tinystories/tinystories_val_sample.txt");
  const w::model g = w::read_gguf(path);
  const auto tok = w::spm_tokenizer::from_gguf(g);
  const std::string text = read_text(val);
  w::check_utf8(text, val.string());
  const std::vector<std::int32_t> t = tok.encode(text, true);
  ASSERT_EQ(t.front(), tok.bos());
  EXPECT_EQ(tok.decode(t), text);
  std::size_t bytes = 0, newline = 0;
  for (const auto id : t) {
    if (tok.type(id) == w::spm_tokenizer::byte) ++bytes;
    if (tok.text(id) == "<0x0A>") ++newline;
  }
  EXPECT_GT(newline, 0u);          // '\n' is not a piece of this vocabulary
  EXPECT_GT(bytes, newline);       // nor are the mis-decoded quotes (U+00E2 U+20AC ...)
  // A character outside the 512-token vocabulary becomes its UTF-8 bytes, and comes back.
  const std::string snow = "a \xe2\x98\x83 snowman";  // U+2603
  const auto s = tok.encode(snow, false);
  std::vector<std::string> pieces;
  for (const auto id : s) pieces.push_back(tok.text(id));
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0xE2>"), pieces.end());
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0x98>"), pieces.end());
  EXPECT_NE(std::find(pieces.begin(), pieces.end(), "<0x83>"), pieces.end());
  EXPECT_EQ(tok.decode(s), snow);
  RecordProperty("validation_tokens", std::to_string(t.size()));
  RecordProperty("byte_fallback_tokens", std::to_string(bytes));
}

TEST(weights_llama, tokenizer_matches_llama_spm_vocab_examples) {
  // llama.cpp's 32K llama SPM vocabulary: the leading space becomes part of the first piece.
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/ggml-vocab-llama-spm.gguf");
  const auto tok = w::spm_tokenizer::from_gguf(w::read_gguf(path));
  // BOS = 1, and "Hello world" -> ["▁Hello", "▁world"] (SentencePiece's own pieces for it).
  const auto t = tok.encode("Hello world", true);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], 1);
  EXPECT_EQ(tok.text(t[1]), "\xe2\x96\x81Hello");
  EXPECT_EQ(tok.text(t[2]), "\xe2\x96\x81world");
  EXPECT_EQ(tok.decode(t), "Hello world");
}

// A byte token whose text is not "<0xXX>" prints as its text; it used to throw
// std::invalid_argument from std::stoi (found while writing fuzz_spm_text).
TEST(weights_llama, malformed_byte_tokens_print_as_their_text) {
  w::model m;
  w::gguf_value name, tokens, types;
  name.type = w::gguf_value::str, name.s = "llama";
  tokens.type = types.type = w::gguf_value::array;
  tokens.elem_type = w::gguf_value::str, types.elem_type = w::gguf_value::i32;
  for (const auto& [text, type] : std::vector<std::pair<std::string, int>>{
           {"<unk>", 2}, {"<s>", 3}, {"</s>", 3}, {"<0x41>", 6}, {"<0x6a>", 6}, {"<0xZZ>", 6}, {"<0x4>", 6}}) {
    w::gguf_value t, ty;
    t.type = w::gguf_value::str, t.s = text;
    ty.type = w::gguf_value::i32, ty.i = type;
    tokens.items.push_back(t), types.items.push_back(ty);
  }
  m.metadata = {{"tokenizer.ggml.model", name}, {"tokenizer.ggml.tokens", tokens}, {"tokenizer.ggml.token_type", types}};
  const auto tok = w::spm_tokenizer::from_gguf(m);
  EXPECT_EQ(tok.piece(3), "A");
  EXPECT_EQ(tok.piece(4), "j");
  EXPECT_EQ(tok.piece(5), "<0xZZ>");
  EXPECT_EQ(tok.piece(6), "<0x4>");
}

TEST(weights_llama, bad_models_are_clear_errors) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  w::model g = w::read_gguf(path);
  {
    w::model m = g;
    for (auto& e : m.metadata)
      if (e.key == "general.architecture") e.value.s = "gpt2";
    QTUNE_EXPECT_ERROR(w::llama_model::from_gguf(m), "architecture 'gpt2' is not supported");
  }
  {
    w::model m = g;
    m.tensors.erase(std::remove_if(m.tensors.begin(), m.tensors.end(),
                                   [](const w::tensor& t) { return t.name == "blk.3.ffn_up.weight"; }),
                    m.tensors.end());
    QTUNE_EXPECT_ERROR(w::llama_model::from_gguf(m), "tensor 'blk.3.ffn_up.weight' is missing");
  }
  {
    w::model m = g;
    const w::tensor& t = m.find("blk.1.attn_k.weight");
    const float nan = NAN;
    std::memcpy(m.data.data() + t.offset + 4 * 77, &nan, 4);
    QTUNE_EXPECT_ERROR(w::llama_model::from_gguf(m), "'blk.1.attn_k.weight'", "index 77");
    EXPECT_NO_THROW(w::llama_model::from_gguf(m, /*allow_nonfinite=*/true));
  }
  QTUNE_REQUIRE_DATA_FILE(dummy, "gguf/dummy.gguf");
  QTUNE_EXPECT_ERROR(w::llama_model::from_gguf(w::read_gguf(dummy)), "general.architecture");
  QTUNE_EXPECT_ERROR(w::check_utf8("ab\xff", "t.txt"), "t.txt", "not valid UTF-8 at byte 2");
  QTUNE_EXPECT_ERROR(w::check_utf8("\xc0\xaf", "t.txt"), "not valid UTF-8 at byte 0");
  QTUNE_EXPECT_ERROR(w::check_utf8("\xed\xa0\x80", "t.txt"), "byte 0");
  QTUNE_EXPECT_ERROR(w::check_utf8("x\xe2\x98", "t.txt"), "byte 1");
}
