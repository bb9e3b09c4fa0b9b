#pragma once
// A small, readable forward pass for llama-architecture GGUF models (general.architecture =
// "llama"), as llama.cpp computes LLM_ARCH_LLAMA:
//
//   x = token_embd[token]
//   per layer: h = x + wo * attn(rope(wq * rms(x)), rope(wk * rms(x)), wv * rms(x))
//              x = h + w_down * (silu(w_gate * rms(h)) * (w_up * rms(h)))
//   logits = output * rms(x)          (output = token_embd when the file has no output.weight)
//
// rms(x) = x / sqrt(mean(x^2) + eps) * norm weight. RoPE is llama.cpp's "normal" mode
// (LLAMA_ROPE_TYPE_NORM): adjacent pairs (x[2i], x[2i+1]) of each head's first n_rot values are
// rotated by pos * base^(-2i / n_rot). Grouped-query attention: query head h reads key/value head
// h / (n_head / n_head_kv). Attention scale 1/sqrt(head_dim), causal.
//
// Matrices are kept as GGUF stores them: ne[0] = input dim, so a weight of ne = {in, out} is a
// row-major [out][in] float array, and y = W x is one sgemm (BLAS) per call. Every weight type the
// readers support (f32, f16, bf16, q4_0 ... q6_k) is dequantized through weights::dequantize.
// It is not meant to be fast: stories260K (260K parameters) evaluates ~20K tokens/s per core.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qtune/weights.hpp"

namespace qtune::weights {

struct llama_hparams {
  std::uint32_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
  std::uint32_t n_ctx_train = 0;  ///< llama.context_length
  std::uint32_t n_rot = 0;        ///< llama.rope.dimension_count (default head_dim)
  float rms_eps = 1e-5f;          ///< llama.attention.layer_norm_rms_epsilon
  float rope_freq_base = 10000.f; ///< llama.rope.freq_base
  std::uint32_t head_dim() const noexcept { return n_embd / n_head; }
  std::uint32_t kv_dim() const noexcept { return head_dim() * n_head_kv; }
};

/// One matrix: rows x cols floats, row-major (rows = ne[1] outputs, cols = ne[0] inputs).
struct llama_matrix {
  std::string name;
  std::uint32_t rows = 0, cols = 0;
  std::vector<float> w;
};

struct llama_layer {
  std::vector<float> attn_norm, ffn_norm;          // n_embd
  llama_matrix wq, wk, wv, wo, w_gate, w_up, w_down;
};

/// Called with the input of every matrix product: n rows of m.cols floats (row-major). The
/// importance matrix collects these (see imatrix.hpp).
using matmul_hook = std::function<void(const llama_matrix& m, const float* x, std::size_t n)>;

/// Keys and values of past positions, per layer: n_ctx x kv_dim floats each.
struct llama_kv_cache {
  std::uint32_t n_ctx = 0;
  std::uint32_t n_past = 0;  ///< positions already stored
  std::vector<std::vector<float>> k, v;
  void clear() noexcept { n_past = 0; }
};

class llama_model {
 public:
  /// Builds the model from a GGUF read by read_gguf. Errors (qtune::error, naming the file): an
  /// architecture other than "llama", a missing hyperparameter or tensor, a tensor whose shape
  /// does not match the hyperparameters, and NaN/Inf in any weight (naming the tensor and the first
  /// index) unless allow_nonfinite.
  static llama_model from_gguf(const model& m, bool allow_nonfinite = false);

  const llama_hparams& hparams() const noexcept { return hp_; }
  bool tied_output() const noexcept { return tied_; }

  /// A cache for up to n_ctx positions.
  llama_kv_cache make_cache(std::uint32_t n_ctx) const;

  /// Runs tokens[0..n) at positions cache.n_past .. cache.n_past + n - 1, appending their keys
  /// and values to the cache. logits: n * n_vocab floats (row i = the next-token logits after
  /// tokens[i]); may be null when only the hook is wanted. Throws when the cache would overflow or
  /// a token id is out of range.
  void forward(llama_kv_cache& cache, const std::int32_t* tokens, std::size_t n, float* logits,
               const matmul_hook* hook = nullptr) const;

  /// Every matrix (attention and FFN of each layer, then the output), for the imatrix.
  std::vector<const llama_matrix*> matrices() const;

 private:
  llama_hparams hp_;
  std::vector<float> tok_embd_;  // n_vocab x n_embd
  std::vector<llama_layer> layers_;
  std::vector<float> out_norm_;
  llama_matrix output_;
  bool tied_ = false;
};

/// Index of the largest value of x[0..n) (the first one on ties).
std::size_t argmax(const float* x, std::size_t n) noexcept;

}  // namespace qtune::weights
