// Measured plans: KL divergence of quantized models, llama.cpp's Q4_K_M recipe, KLD refinement.
#include "weights/plan_validate.hpp"

#include <algorithm>
#include <cmath>
#include <regex>

#include "qtune/error.hpp"

namespace qtune::weights {

std::vector<wformat> plan_choice(const model& m, const plan_result& r) {
  std::vector<wformat> choice;
  std::size_t k = 0;
  for (const auto& t : m.tensors) {
    if (is_quantizable(t)) {
      QTUNE_CHECK(k < r.tensors.size() && r.tensors[k].name == t.name, "plan does not match the model's tensors");
      const auto& pt = r.tensors[k++];
      choice.push_back(pt.candidates[pt.chosen].format);
    } else {
      choice.push_back({wtype::f32, 0});
    }
  }
  return choice;
}

std::vector<wformat> q4_k_m_recipe(const model& m) {
  std::uint32_t n_layer = 0;
  if (const kv* e = m.find_kv("llama.block_count")) n_layer = static_cast<std::uint32_t>(e->value.u);
  auto more_bits = [&](std::int64_t i, std::int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; };
  const std::regex layer_re(R"(^blk\.(\d+)\.(attn_v|ffn_down)\.weight$)");
  std::vector<wformat> out;
  for (const auto& t : m.tensors) {
    wformat f{wtype::q4_k, 0};
    std::smatch mt;
    if (t.name == "output.weight") f = {wtype::q6_k, 0};
    else if (std::regex_match(t.name, mt, layer_re) && more_bits(std::stoll(mt[1]), n_layer)) f = {wtype::q6_k, 0};
    out.push_back(effective_format(t, f));
  }
  return out;
}

model as_model(const quantized_model& q, const std::filesystem::path& path) {
  model r;
  r.path = path;
  r.container = "gguf";
  r.gguf_version = 3;
  r.metadata = q.metadata;
  for (const auto& qt : q.tensors) r.tensors.push_back(qt.info);
  r.data = q.data;
  return r;
}

measured_choice measure_choice(const model& m, const std::vector<wformat>& choice, const importance_map* importance,
                               const kld_reference& ref, const std::string& label, bool allow_nonfinite) {
  const quantized_model q = quantize_model(m, choice, importance, allow_nonfinite);
  measured_choice r;
  r.label = label;
  for (const auto& qt : q.tensors) {
    r.choice.push_back(qt.info.format);
    r.bytes += qt.info.nbytes;
  }
  r.bpw = 8.0 * static_cast<double>(r.bytes) / static_cast<double>(std::max<std::uint64_t>(m.total_values(), 1));
  const llama_model lm = llama_model::from_gguf(as_model(q, m.path.string() + " [" + label + "]"), true);
  r.eval = ref.compare(lm);
  return r;
}

kld_refine_result refine_plan_kld(const model& m, plan_result& r, const importance_map* importance,
                                  const kld_reference& search, const kld_refine_options& opt,
                                  const std::function<void(const std::string&)>& log) {
  kld_refine_result out;
  const std::size_t T = r.tensors.size();
  std::vector<std::size_t> picks(T);
  for (std::size_t i = 0; i < T; ++i) picks[i] = r.tensors[i].chosen;
  auto bytes_of = [&](const std::vector<std::size_t>& p) {
    double b = static_cast<double>(r.fixed_bytes);
    for (std::size_t i = 0; i < T; ++i) b += static_cast<double>(r.tensors[i].candidates[p[i]].bytes);
    return b;
  };
  auto kld_of = [&](const std::vector<std::size_t>& p) {
    plan_result tmp = r;
    for (std::size_t i = 0; i < T; ++i) tmp.tensors[i].chosen = p[i];
    ++out.evals;
    return measure_choice(m, plan_choice(m, tmp), importance, search, "search").eval.kld_mean;
  };
  double cur = kld_of(picks);
  out.kld_before = cur;
  if (log) log("kld search: proxy plan KLD " + std::to_string(cur));
  // Marginal KLD per byte of one step down (cost) and one step up (gain), per tensor.
  std::vector<double> cost(T, INFINITY), gain(T, 0);
  // At most three quarters of the evaluations measure (all upgrades first, then downgrades); the
  // rest try swaps.
  const std::size_t measure_limit = std::max<std::size_t>(2, opt.max_evals - opt.max_evals / 4);
  for (std::size_t i = 0; i < T && out.evals < measure_limit; ++i) {
    const auto& c = r.tensors[i].candidates;
    if (r.tensors[i].forced || picks[i] + 1 >= c.size()) continue;
    auto p = picks;
    ++p[i];
    const double db = static_cast<double>(c[p[i]].bytes) - static_cast<double>(c[picks[i]].bytes);
    gain[i] = (cur - kld_of(p)) / db;
  }
  for (std::size_t i = 0; i < T && out.evals < measure_limit; ++i) {
    const auto& c = r.tensors[i].candidates;
    if (r.tensors[i].forced || picks[i] == 0) continue;
    auto p = picks;
    --p[i];
    const double db = static_cast<double>(c[picks[i]].bytes) - static_cast<double>(c[p[i]].bytes);
    cost[i] = (kld_of(p) - cur) / db;
  }
  // Swaps: the best measured upgrades, paid for by the cheapest downgrades.
  std::vector<std::size_t> up(T), down(T);
  for (std::size_t i = 0; i < T; ++i) up[i] = down[i] = i;
  std::sort(up.begin(), up.end(), [&](auto a, auto b) { return gain[a] > gain[b]; });
  std::sort(down.begin(), down.end(), [&](auto a, auto b) { return cost[a] < cost[b]; });
  for (const std::size_t u : up) {
    if (out.evals >= opt.max_evals || gain[u] <= 0) break;
    auto p = picks;
    if (p[u] + 1 >= r.tensors[u].candidates.size()) continue;
    ++p[u];
    double predicted = -gain[u] * (static_cast<double>(r.tensors[u].candidates[p[u]].bytes) -
                                   static_cast<double>(r.tensors[u].candidates[picks[u]].bytes));
    for (const std::size_t d : down) {
      if (bytes_of(p) <= opt.budget_bytes) break;
      if (d == u || p[d] == 0 || !std::isfinite(cost[d]) || p[d] != picks[d]) continue;
      --p[d];
      predicted += cost[d] * (static_cast<double>(r.tensors[d].candidates[picks[d]].bytes) -
                              static_cast<double>(r.tensors[d].candidates[p[d]].bytes));
    }
    if (bytes_of(p) > opt.budget_bytes || predicted >= 0) continue;
    const double k = kld_of(p);
    if (k < cur) {
      if (log) log("kld search: " + r.tensors[u].name + " up -> KLD " + std::to_string(k));
      cur = k;
      picks = p;
      ++out.swaps;
    }
  }
  out.kld_after = cur;
  out.picks = picks;
  for (std::size_t i = 0; i < T; ++i) r.tensors[i].chosen = picks[i];
  r.bytes = static_cast<std::uint64_t>(bytes_of(picks));
  double err = 0, n = 0;
  for (const auto& t : r.tensors) {
    err += static_cast<double>(t.n) * t.candidates[t.chosen].rel_mse;
    n += static_cast<double>(t.n);
  }
  r.rel_rmse = n > 0 ? std::sqrt(err / n) : 0;
  return out;
}

}  // namespace qtune::weights
