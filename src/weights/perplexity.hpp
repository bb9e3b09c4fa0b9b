#pragma once
// Perplexity and KL divergence with llama.cpp's llama-perplexity protocol:
//   - the whole text is tokenized once, BOS first;
//   - it is cut into non-overlapping chunks of n_ctx tokens (the tail that does not fill a chunk
//     is dropped), at most n_chunks of them;
//   - the first token of each chunk is replaced by BOS, and each chunk is one fresh sequence;
//   - only the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predict the
//     tokens at n_ctx/2+1 .. n_ctx-1 (n_ctx - 1 - n_ctx/2 tokens per chunk).
// Against a base model (llama-perplexity --kl-divergence): per scored token the KL divergence
// KL(p_base || p_model) over the vocabulary, whether both argmaxes agree, and both perplexities.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "weights/llama_model.hpp"
#include "weights/tokenizer_spm.hpp"

namespace qtune::weights {

struct eval_options {
  std::uint32_t n_ctx = 256;
  std::size_t n_chunks = 0;  ///< 0: every whole chunk of the text
};

struct eval_result {
  std::size_t n_tokens = 0;     ///< tokens of the whole text (BOS included)
  std::size_t n_chunks = 0;
  std::size_t n_scored = 0;     ///< tokens scored
  double nll = 0;               ///< mean negative log-likelihood (nats)
  double ppl = 0;               ///< exp(nll)
  double ppl_stderr = 0;        ///< llama.cpp's estimate: ppl * stderr of the nll
  double seconds = 0;
  // With a base model:
  bool has_base = false;
  double base_ppl = 0;
  double kld_mean = 0, kld_p99 = 0, kld_max = 0;
  double top1 = 0;              ///< fraction of scored tokens whose argmax agrees with the base
  double delta_ppl() const noexcept { return ppl - base_ppl; }
};

/// Reads a text file for evaluation: it must exist, be non-empty and be valid UTF-8 (errors name
/// the file and the byte offset).
std::string read_eval_text(const std::filesystem::path& path);

/// Tokenizes the text (BOS first) and checks it against the model and options: n_ctx between 8 and
/// the model's context length (llama.context_length), even, and at least one whole chunk of text.
std::vector<std::int32_t> eval_tokens(const spm_tokenizer& tok, const llama_model& m, const std::string& text,
                                      const eval_options& opt, const std::string& what);

/// Perplexity of m on the chunks; with base (same vocabulary), the KL divergence statistics too.
eval_result evaluate(const llama_model& m, const std::vector<std::int32_t>& tokens, std::int32_t bos,
                     const eval_options& opt, const llama_model* base = nullptr);

/// The base model's log-probabilities at every scored position, kept to compare many candidate
/// models against the same base (plan validation): n_scored * n_vocab floats.
class kld_reference {
 public:
  kld_reference(const llama_model& base, std::vector<std::int32_t> tokens, std::int32_t bos, const eval_options& opt);
  /// The statistics of m against the stored base (has_base set).
  eval_result compare(const llama_model& m) const;
  std::size_t n_scored() const noexcept { return targets_.size(); }

 private:
  std::vector<std::int32_t> tokens_;
  std::int32_t bos_;
  eval_options opt_;
  std::size_t n_chunks_ = 0, n_vocab_ = 0;
  std::vector<float> base_logp_;   // n_scored x n_vocab
  std::vector<std::int32_t> targets_;
  std::vector<std::uint32_t> base_top_;
  double base_nll_ = 0;
};

}  // namespace qtune::weights
