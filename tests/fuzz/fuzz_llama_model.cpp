// A llama-architecture GGUF as `tune weights` loads it for perplexity and the importance matrix:
// the input is the file. The forward pass's model (llama_model::from_gguf) and its SentencePiece
// tokenizer (spm_tokenizer::from_gguf) are built from it; hyperparameters, tensor shapes and the
// vocabulary arrays all come from the fuzzed bytes. A model that loads, when small, runs two
// tokens through the forward pass; a tokenizer that loads encodes and decodes a fixed text.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "qtune/weights.hpp"
#include "weights/llama_model.hpp"
#include "weights/tokenizer_spm.hpp"

namespace w = qtune::weights;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.gguf");
  w::model m;
  try {
    m = w::read_gguf(path);
  } catch (const qtune::error&) {
    return 0;  // fuzz_gguf covers the reader; this target is about what is built on a file it accepts
  }
  qtune_fuzz::expect_only_qtune_errors("llama_model::from_gguf", [&] {
    const w::llama_model lm = w::llama_model::from_gguf(m, /*allow_nonfinite=*/true);
    const w::llama_hparams& hp = lm.hparams();
    // Keep each run cheap: the forward pass allocates n_ctx * kv_dim per layer and n * n_ff.
    if (std::uint64_t{hp.n_embd} * hp.n_layer > (1u << 12) || hp.n_ff > (1u << 12) || hp.n_vocab > (1u << 12)) return;
    auto cache = lm.make_cache(4);
    const std::int32_t tokens[2] = {0, static_cast<std::int32_t>(hp.n_vocab - 1)};
    std::vector<float> logits(2 * std::size_t{hp.n_vocab});
    lm.forward(cache, tokens, 2, logits.data());
    lm.forward(cache, tokens, 1, logits.data());
  });
  qtune_fuzz::expect_only_qtune_errors("spm_tokenizer::from_gguf", [&] {
    const w::spm_tokenizer tok = w::spm_tokenizer::from_gguf(m);
    const std::string text = "Once upon a time,  a b\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x99\x82\t<0x41>\n";
    w::check_utf8(text, "text");
    const std::vector<std::int32_t> ids = tok.encode(text, true);
    (void)tok.decode(ids);
    for (std::int32_t id : ids) (void)tok.piece(id);
  });
  return 0;
}
