#pragma once
// The SentencePiece (SPM) tokenizer of a GGUF vocabulary (tokenizer.ggml.model = "llama"), as
// llama.cpp's llm_tokenizer_spm tokenizes for llama-perplexity (parse_special = false):
//   - a space is prepended to the text (tokenizer.ggml.add_space_prefix, default true) and every
//     ' ' becomes U+2581 "▁";
//   - the text is split into UTF-8 characters; the adjacent pair whose concatenation is a vocabulary
//     token with the highest score is merged first (ties: the leftmost pair), until no pair merges;
//   - a symbol that is not a token is written as byte tokens "<0xXX>" (byte fallback), or as the
//     one-byte token, or as the unknown token when neither exists;
//   - BOS (tokenizer.ggml.bos_token_id) first when asked (tokenizer.ggml.add_bos_token, default true).
// User-defined tokens are matched as whole fragments before the merge, as llama.cpp does.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qtune/weights.hpp"

namespace qtune::weights {

/// Throws qtune::error "<what>: not valid UTF-8 at byte N" when text is not well-formed UTF-8
/// (overlong forms, surrogates and code points above U+10FFFF are invalid).
void check_utf8(std::string_view text, const std::string& what);

class spm_tokenizer {
 public:
  enum token_type : std::int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

  /// Reads tokenizer.ggml.{model,tokens,scores,token_type,bos_token_id,eos_token_id,
  /// unknown_token_id,add_bos_token,add_space_prefix}. Throws when the model is not "llama" (SPM)
  /// or the arrays are missing or of different lengths.
  static spm_tokenizer from_gguf(const model& m);

  /// Token ids of text (valid UTF-8, checked by the caller), BOS first when add_bos and the vocabulary adds it.
  std::vector<std::int32_t> encode(std::string_view text, bool add_bos) const;
  /// The text of the tokens: control tokens (BOS/EOS) print nothing, byte tokens their byte, "▁" is
  /// a space, and the space the encoder prepended is removed from the first piece.
  std::string decode(const std::vector<std::int32_t>& tokens) const;
  /// One token's text as decode prints it, without stripping.
  std::string piece(std::int32_t id) const;

  std::size_t n_vocab() const noexcept { return tokens_.size(); }
  std::int32_t bos() const noexcept { return bos_; }
  std::int32_t eos() const noexcept { return eos_; }
  bool add_bos() const noexcept { return add_bos_; }
  token_type type(std::int32_t id) const noexcept { return types_[static_cast<std::size_t>(id)]; }
  const std::string& text(std::int32_t id) const noexcept { return tokens_[static_cast<std::size_t>(id)]; }
  /// Same tokens and types (the check that two models can be compared token by token).
  bool same_vocab(const spm_tokenizer& o) const noexcept { return tokens_ == o.tokens_ && types_ == o.types_; }

 private:
  void encode_fragment(std::string_view text, std::vector<std::int32_t>& out) const;
  std::int32_t byte_token(std::uint8_t c) const;

  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<token_type> types_;
  std::unordered_map<std::string, std::int32_t> to_id_;
  std::vector<std::int32_t> user_defined_;
  std::int32_t bos_ = 1, eos_ = 2, unk_ = 0;
  bool add_bos_ = true, add_space_prefix_ = true;
};

}  // namespace qtune::weights
