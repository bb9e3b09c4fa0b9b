// Text through the SentencePiece tokenizer, as `tune weights eval` and `tune weights imatrix` feed
// a text file to it (read_eval_text, then encode): the input is the text file. The vocabulary is
// built here: merges of one to three characters with scores, every byte as "<0xXX>", control
// tokens, and in a second vocabulary user-defined tokens matched before the merge.
//
// Property (the first vocabulary, complete byte fallback, no user-defined tokens): a text that
// read_eval_text accepts and that holds no U+2581 (which the tokenizer's pieces use for a space)
// decodes back to itself.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "qtune/weights.hpp"
#include "weights/perplexity.hpp"
#include "weights/tokenizer_spm.hpp"

namespace w = qtune::weights;

namespace {

w::spm_tokenizer make_tokenizer(bool with_user_defined) {
  struct entry {
    std::string text;
    float score;
    std::int64_t type;
  };
  const std::string sp = "\xe2\x96\x81";  // U+2581
  std::vector<entry> v = {{"<unk>", 0, 2}, {"<s>", 0, 3}, {"</s>", 0, 3}};
  for (const std::string& t : std::vector<std::string>{sp, "a", "b", "c", "t", "h", "e", "\xc3\xa9", "\xe6\x97\xa5", "\xe6\x9c\xac"})
    v.push_back({t, -5, 1});
  const std::vector<std::pair<std::string, float>> merges = {
      {sp + "a", -1}, {"ab", -2}, {"abc", -1.5f}, {sp + "ab", -0.5f}, {"th", -1}, {"he", -1.2f},
      {"the", -0.7f}, {sp + "the", -0.2f}, {"\xe6\x97\xa5\xe6\x9c\xac", -0.3f}, {sp + sp, -3}, {"bb", -2}};
  for (const auto& [t, s] : merges) v.push_back({t, s, 1});
  static const char* hex = "0123456789ABCDEF";
  for (int c = 0; c < 256; ++c) v.push_back({std::string("<0x") + hex[c >> 4] + hex[c & 15] + ">", 0, 6});
  if (with_user_defined) {
    v.push_back({"<|im|>", 0, 4});
    v.push_back({"\xc2\xa1u!", 0, 4});
    v.push_back({"<0xZZ>", 0, 6});  // a malformed byte token: printed as its text
  }
  w::model m;
  auto add = [&](const std::string& key, w::gguf_value value) { m.metadata.push_back({key, std::move(value)}); };
  w::gguf_value model_name, tokens, scores, types, bos, eos;
  model_name.type = w::gguf_value::str, model_name.s = "llama";
  tokens.type = scores.type = types.type = w::gguf_value::array;
  tokens.elem_type = w::gguf_value::str, scores.elem_type = w::gguf_value::f32, types.elem_type = w::gguf_value::i32;
  for (const entry& e : v) {
    w::gguf_value t, s, ty;
    t.type = w::gguf_value::str, t.s = e.text;
    s.type = w::gguf_value::f32, s.f = e.score;
    ty.type = w::gguf_value::i32, ty.i = e.type;
    tokens.items.push_back(t), scores.items.push_back(s), types.items.push_back(ty);
  }
  bos.type = eos.type = w::gguf_value::u32;
  bos.u = 1, eos.u = 2;
  add("tokenizer.ggml.model", model_name);
  add("tokenizer.ggml.tokens", tokens);
  add("tokenizer.ggml.scores", scores);
  add("tokenizer.ggml.token_type", types);
  add("tokenizer.ggml.bos_token_id", bos);
  add("tokenizer.ggml.eos_token_id", eos);
  return w::spm_tokenizer::from_gguf(m);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const w::spm_tokenizer plain = make_tokenizer(false);
  static const w::spm_tokenizer user = make_tokenizer(true);
  const auto path = qtune_fuzz::write_input(data, size, "text.txt");
  qtune_fuzz::expect_only_qtune_errors("read_eval_text + encode", [&] {
    const std::string text = w::read_eval_text(path);
    const std::vector<std::int32_t> ids = plain.encode(text, true);
    const std::string back = plain.decode(ids);
    if (text.find("\xe2\x96\x81") == std::string::npos && back != text) {
      std::fprintf(stderr, "spm: decode(encode(text)) differs from the text (%zu vs %zu bytes)\n", back.size(),
                   text.size());
      std::abort();
    }
    (void)user.decode(user.encode(text, true));
  });
  return 0;
}
