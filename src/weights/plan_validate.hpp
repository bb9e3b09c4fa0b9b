#pragma once
// Budget plans checked by the model itself: the KL divergence of a planned (quantized) model from
// the model it came from, measured on held-out text; uniform types and llama.cpp's Q4_K_M recipe
// measured the same way; and a refinement of the proxy plan by measured KL divergence.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "weights/perplexity.hpp"

namespace qtune::weights {

/// The per-tensor formats of a plan (1-D tensors f32), one per tensor of m.
std::vector<wformat> plan_choice(const model& m, const plan_result& r);

/// llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_M recipe (llama_tensor_get_type at llama.cpp c392e509):
/// q4_k everywhere, q6_k for output.weight, for attn_v.weight and ffn_down.weight of the layers
/// where use_more_bits(i, n_layer) (i < n/8, i >= 7n/8, or (i - n/8) % 3 == 2); then
/// effective_format's fallbacks where a row is not a multiple of 256 (q4_k -> q5_0, q6_k -> q8_0,
/// else f16), as llama-quantize does.
std::vector<wformat> q4_k_m_recipe(const model& m);

/// A model that is the quantized tensors of q (a GGUF as it would be written, held in memory).
model as_model(const quantized_model& q, const std::filesystem::path& path);

/// One measured configuration.
struct measured_choice {
  std::string label;
  std::vector<wformat> choice;
  std::uint64_t bytes = 0;   ///< tensor data bytes (1-D f32 included)
  double bpw = 0;            ///< over all weights
  eval_result eval;
};

/// Quantizes m to `choice`, builds the forward pass and compares it with the reference.
measured_choice measure_choice(const model& m, const std::vector<wformat>& choice, const importance_map* importance,
                               const kld_reference& ref, const std::string& label, bool allow_nonfinite = false);

/// One measured configuration as the plan's output and HTML report show it.
struct plan_validation_row {
  std::string label;
  std::uint64_t bytes = 0;
  double bpw = 0, kld_mean = 0, kld_p99 = 0, top1 = 0, ppl = 0, base_ppl = 0;
  bool is_plan = false, best_uniform = false;
};

struct kld_refine_options {
  std::size_t max_evals = 96;    ///< model evaluations allowed (each one pass over the search text)
  double budget_bytes = 0;       ///< the plan's byte budget
};
struct kld_refine_result {
  std::vector<std::size_t> picks;  ///< per plan tensor, index into its candidates
  double kld_before = 0, kld_after = 0;
  std::size_t evals = 0, swaps = 0;
};
/// Greedy swaps on the proxy plan r, by measured KL divergence on `search` (a reference over
/// text other than the validation text): measures each tensor's marginal KL divergence per byte
/// one step up and one step down its front (at most 3/4 of max_evals), then tries the upgrade with the best measured gain
/// per byte, paid for by the downgrades with the smallest measured cost per byte, keeping a swap
/// only when the measured KL divergence drops; stops after max_evals evaluations. Updates
/// r.tensors[i].chosen and r.bytes.
kld_refine_result refine_plan_kld(const model& m, plan_result& r, const importance_map* importance,
                                  const kld_reference& search, const kld_refine_options& opt,
                                  const std::function<void(const std::string&)>& log = {});

}  // namespace qtune::weights
