// Quantizing whole models: effective types, error statistics, importance files, and the
// memory-budget planner over per-tensor size-vs-error fronts.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <regex>

#include "qtune/progress.hpp"
#include "qtune/error.hpp"
#include "qtune/pareto.hpp"
#include "qtune/weights.hpp"

namespace qtune::weights {

// ---- error statistics -------------------------------------------------------------------------

double error_stats::rmse() const noexcept { return n ? std::sqrt(sse / static_cast<double>(n)) : 0.0; }
double error_stats::rel_rmse() const noexcept { return sum_x2 > 0 ? std::sqrt(sse / sum_x2) : (sse > 0 ? INFINITY : 0.0); }
double error_stats::snr_db() const noexcept {
  if (sse == 0) return INFINITY;
  return 10.0 * std::log10(sum_x2 / sse);
}
double error_stats::cosine() const noexcept {
  const double d = std::sqrt(sum_x2) * std::sqrt(sum_y2);
  return d > 0 ? dot / d : (sum_x2 == sum_y2 ? 1.0 : 0.0);
}
double error_stats::bpw() const noexcept { return n ? 8.0 * bytes / static_cast<double>(n) : 0.0; }
void error_stats::add(const error_stats& o) noexcept {
  n += o.n;
  sse += o.sse;
  sum_x2 += o.sum_x2;
  max_abs = std::max(max_abs, o.max_abs);
  dot += o.dot;
  sum_y2 += o.sum_y2;
  bytes += o.bytes;
}

error_stats measure(const float* x, const float* y, std::size_t n, double bytes) {
  error_stats s;
  s.n = n;
  s.bytes = bytes;
  for (std::size_t i = 0; i < n; ++i) {
    const double a = x[i], b = y[i], d = a - b;
    s.sse += d * d;
    s.sum_x2 += a * a;
    s.sum_y2 += b * b;
    s.dot += a * b;
    s.max_abs = std::max(s.max_abs, std::fabs(d));
  }
  return s;
}

// ---- non-finite weights -----------------------------------------------------------------------

nonfinite_count count_nonfinite(const float* x, std::size_t n) noexcept {
  nonfinite_count c;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) continue;
    if (!c.any()) c.first_index = i;
    if (std::isnan(x[i])) ++c.nan; else ++c.inf;
  }
  return c;
}

void check_finite(const tensor& t, const float* x, std::size_t n) {
  const nonfinite_count c = count_nonfinite(x, n);
  if (!c.any()) return;
  const std::uint64_t i = c.first_index;
  fail("tensor '", t.name, "' has ", c.nan, " NaN and ", c.inf, " Inf values; the first is at index ", i, " (row ",
       i / t.ne[0], ", column ", i % t.ne[0], ") = ", x[i],
       "; refusing it (pass --allow-nonfinite to replace NaN by 0 and Inf by the largest finite magnitude)");
}

nonfinite_count replace_nonfinite(float* x, std::size_t n) noexcept {
  const nonfinite_count c = count_nonfinite(x, n);
  if (!c.any()) return c;
  float amax = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i])) amax = std::max(amax, std::fabs(x[i]));
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) x[i] = 0;
    else if (std::isinf(x[i])) x[i] = x[i] > 0 ? amax : -amax;
  }
  return c;
}

// ---- per-tensor choices -----------------------------------------------------------------------

bool is_quantizable(const tensor& t) noexcept {
  std::size_t dims = 0;
  for (auto d : t.ne) dims += d > 1 ? 1 : 0;
  return t.ne.size() >= 2 && dims >= 2;
}

wformat effective_format(const tensor& t, wformat want) {
  if (!is_quantizable(t)) return {wtype::f32, 0};
  auto fits = [&](wformat f) { return t.ne[0] % traits(f).blck_size == 0; };
  if (fits(want)) return want;
  if (want.type == wtype::q4_k) {
    if (fits({wtype::q5_0, 0})) return {wtype::q5_0, 0};
  } else if (want.type == wtype::q6_k) {
    if (fits({wtype::q8_0, 0})) return {wtype::q8_0, 0};
  }
  return {wtype::f16, 0};
}

std::uint32_t llama_file_type(wformat f) noexcept {
  switch (f.type) {
    case wtype::f32: return 0;
    case wtype::f16: return 1;
    case wtype::q4_0: return 2;
    case wtype::q4_1: return 3;
    case wtype::q8_0: return 7;
    case wtype::q5_0: return 8;
    case wtype::q5_1: return 9;
    case wtype::q4_k: return 14;  // MOSTLY_Q4_K_S
    case wtype::q6_k: return 18;
    case wtype::bf16: return 32;
    default: return 0;
  }
}

namespace {
void check_importance(const std::vector<float>& w, const std::filesystem::path& path) {
  for (const float v : w) QTUNE_CHECK(v >= 0 && std::isfinite(v), path.string(), ": importance weights must be finite and >= 0");
}
}  // namespace

struct format_overrides::rule {
  std::regex re;
  wformat format;
};

format_overrides::format_overrides(const std::vector<std::pair<std::string, wformat>>& rules) {
  for (const auto& [re, f] : rules) {
    try {
      rules_.push_back(std::make_shared<const rule>(rule{std::regex(re, std::regex::ECMAScript), f}));
    } catch (const std::regex_error& e) {
      fail("--tensor-type: bad regular expression '", re, "': ", e.what());
    }
  }
}

const wformat* format_overrides::match(const std::string& tensor_name) const {
  for (const auto& r : rules_)
    if (std::regex_search(tensor_name, r->re)) return &r->format;
  return nullptr;
}

importance_map read_importance(const std::filesystem::path& path, const model& m) {
  importance_map out;
  if (std::filesystem::is_directory(path)) {
    for (const auto& t : m.tensors) {
      const auto p = path / (t.name + ".npy");
      if (!std::filesystem::exists(p)) continue;
      std::vector<float> w = read_npy(p);
      QTUNE_CHECK(w.size() == t.ne[0], p.string(), ": ", w.size(), " importance weights, expected ", t.ne[0],
                  " (the row length of '", t.name, "')");
      check_importance(w, p);
      out[t.name] = std::move(w);
    }
    return out;
  }
  const std::vector<float> w = read_npy(path);
  check_importance(w, path);
  for (const auto& t : m.tensors)
    if (is_quantizable(t) && t.ne[0] == w.size()) out[t.name] = w;
  QTUNE_CHECK(!out.empty(), path.string(), ": ", w.size(), " importance weights match no tensor's row length");
  return out;
}

namespace {

const float* importance_for(const importance_map* imp, const tensor& t) {
  if (!imp) return nullptr;
  const auto it = imp->find(t.name);
  return it != imp->end() && it->second.size() == t.ne[0] ? it->second.data() : nullptr;
}

// Quantizes x (the tensor's finite values) to f; returns the bytes and fills the stats. When a
// decoded value is not finite (a scale that overflows fp16), sets *bad_index to its index (else
// SIZE_MAX): the caller refuses or drops that choice.
std::vector<std::uint8_t> encode_measure(const tensor& t, const std::vector<float>& x, wformat f, const float* qw,
                                         error_stats* stats, std::size_t* bad_index) {
  const std::size_t n_per_row = t.ne[0], n_rows = x.size() / n_per_row;
  std::vector<std::uint8_t> bytes(row_size(f, n_per_row) * n_rows);
  quantize(f, x.data(), n_rows, n_per_row, bytes.data(), qw);
  std::vector<float> y(x.size());
  dequantize(f, bytes.data(), y.size(), y.data());
  const nonfinite_count c = count_nonfinite(y.data(), y.size());
  *bad_index = c.any() ? c.first_index : SIZE_MAX;
  *stats = measure(x.data(), y.data(), x.size(), static_cast<double>(bytes.size()));
  return bytes;
}

void set_u32(std::vector<kv>& md, const std::string& key, std::uint32_t v) {
  gguf_value val;
  val.type = gguf_value::u32;
  val.u = v;
  for (auto& e : md)
    if (e.key == key) {
      e.value = val;
      return;
    }
  md.push_back({key, val});
}

}  // namespace

quantized_model quantize_model(const model& m, const std::vector<wformat>& choice, const importance_map* importance,
                               bool allow_nonfinite) {
  QTUNE_CHECK(choice.size() == m.tensors.size(), "quantize_model: ", choice.size(), " formats for ", m.tensors.size(),
              " tensors");
  quantized_model q;
  q.metadata = m.metadata;
  std::map<std::uint32_t, std::uint64_t> count_by_type;
  const std::uint64_t all_values = m.total_values();
  std::uint64_t values_done = 0;
  for (std::size_t i = 0; i < m.tensors.size(); ++i) {
    const tensor& t = m.tensors[i];
    const wformat f = effective_format(t, choice[i]);
    if (progress_enabled())
      report_progress("quantize", values_done, all_values, t.name + " -> " + to_string(f));
    values_done += t.n_values();
    std::vector<float> x = m.to_float(t);
    quantized_tensor qt;
    if (allow_nonfinite) qt.nonfinite = replace_nonfinite(x.data(), x.size());
    else check_finite(t, x.data(), x.size());
    qt.asked = choice[i];
    qt.info = t;
    qt.info.format = f;
    qt.info.flat_blocks = false;
    std::size_t bad = 0;
    std::vector<std::uint8_t> bytes = encode_measure(t, x, f, importance_for(importance, t), &qt.stats, &bad);
    if (bad != SIZE_MAX) {
      const std::size_t bs = traits(f).blck_size, b0 = bad / bs * bs, b1 = std::min(b0 + bs, x.size());
      float amax = 0;
      for (std::size_t k = b0; k < b1; ++k) amax = std::max(amax, std::fabs(x[k]));
      fail("tensor '", t.name, "' in ", to_string(f), ": the block of indices [", b0, ", ", b1, ") (largest |value| ",
           amax, ") decodes to non-finite values: its scale overflows the format; keep the tensor wider, e.g. "
           "--tensor-type '", t.name, "=f32'");
    }
    // Each tensor starts 32-aligned in the buffer too, so the buffer mirrors the file layout.
    while (q.data.size() % 32) q.data.push_back(0);
    qt.info.offset = q.data.size();
    qt.info.nbytes = bytes.size();
    q.data.insert(q.data.end(), bytes.begin(), bytes.end());
    if (is_quantizable(t)) {
      q.total.add(qt.stats);
      count_by_type[static_cast<std::uint32_t>(f.type)] += t.n_values();
    }
    q.tensors.push_back(std::move(qt));
  }
  if (progress_enabled()) report_progress("quantize", values_done, all_values);
  wformat main{wtype::f32, 0};
  std::uint64_t best = 0;
  for (const auto& [type, n] : count_by_type)
    if (n > best && static_cast<wtype>(type) != wtype::f16) {
      best = n;
      main = {static_cast<wtype>(type), 0};
    }
  if (best == 0 && !count_by_type.empty()) main = {wtype::f16, 0};
  set_u32(q.metadata, "general.quantization_version", 2);
  set_u32(q.metadata, "general.file_type", llama_file_type(main));
  return q;
}

// ---- the planner ------------------------------------------------------------------------------

namespace {

struct solution {
  std::vector<std::size_t> pick;
  std::uint64_t bytes = 0;
  double err = 0;  // sum n_t rel_mse_t
};

solution evaluate(const plan_result& r, std::vector<std::size_t> pick) {
  solution s;
  s.pick = std::move(pick);
  s.bytes = r.fixed_bytes;
  for (std::size_t i = 0; i < r.tensors.size(); ++i) {
    const auto& c = r.tensors[i].candidates[s.pick[i]];
    s.bytes += c.bytes;
    s.err += static_cast<double>(r.tensors[i].n) * c.rel_mse;
  }
  return s;
}

// For a price lambda per byte, each tensor minimises n * rel_mse + lambda * bytes.
solution lagrangian(const plan_result& r, double lambda) {
  std::vector<std::size_t> pick(r.tensors.size());
  for (std::size_t i = 0; i < r.tensors.size(); ++i) {
    const auto& t = r.tensors[i];
    double best = INFINITY;
    for (std::size_t c = 0; c < t.candidates.size(); ++c) {
      const double v = static_cast<double>(t.n) * t.candidates[c].rel_mse + lambda * static_cast<double>(t.candidates[c].bytes);
      if (v < best) {
        best = v;
        pick[i] = c;
      }
    }
  }
  return evaluate(r, std::move(pick));
}

}  // namespace

plan_result make_plan(const model& m, const plan_options& opt, const importance_map* importance) {
  QTUNE_CHECK(opt.budget_bpw.has_value() != opt.budget_mb.has_value(), "plan: give exactly one of --budget-bpw and --budget-mb");
  std::vector<wformat> cands = opt.candidates;
  if (cands.empty()) {
    cands = quantized_formats();
    cands.push_back({wtype::f16, 0});
  }
  const format_overrides overrides(opt.overrides);
  plan_result r;
  r.total_values = m.total_values();
  std::uint64_t plan_total = 0, plan_done = 0;  // progress: values measured over all tensors
  for (const tensor& t : m.tensors)
    if (is_quantizable(t)) plan_total += t.n_values();
  for (const tensor& t : m.tensors) {
    if (progress_enabled() && is_quantizable(t)) report_progress("measure types", plan_done, plan_total, t.name);
    if (is_quantizable(t)) plan_done += t.n_values();
    if (!is_quantizable(t)) {
      r.fixed_bytes += t.n_values() * 4;
      continue;
    }
    plan_tensor pt;
    pt.name = t.name;
    pt.n = t.n_values();
    std::vector<wformat> mine = cands;
    if (const wformat* f = overrides.match(t.name)) {
      mine = {*f};
      pt.forced = true;
    }
    std::vector<float> x = m.to_float(t);
    if (opt.allow_nonfinite) replace_nonfinite(x.data(), x.size());
    else check_finite(t, x.data(), x.size());
    const float* qw = importance_for(importance, t);
    std::vector<plan_candidate> all;
    for (const wformat want : mine) {
      const wformat f = effective_format(t, want);
      if (std::any_of(all.begin(), all.end(), [&](const plan_candidate& c) { return c.format == f; })) continue;
      error_stats s;
      std::size_t bad = 0;
      encode_measure(t, x, f, qw, &s, &bad);
      if (bad != SIZE_MAX) continue;  // this format cannot hold the tensor's range
      all.push_back({f, static_cast<std::uint64_t>(s.bytes), s.sum_x2 > 0 ? s.sse / s.sum_x2 : 0.0});
    }
    // Keep the tensor's own front (smaller bytes, smaller error), ascending by size.
    std::vector<std::vector<double>> obj;
    for (const auto& c : all) obj.push_back({static_cast<double>(c.bytes), c.rel_mse});
    for (const std::size_t i : non_dominated(obj)) pt.candidates.push_back(all[i]);
    std::sort(pt.candidates.begin(), pt.candidates.end(), [](const auto& a, const auto& b) {
      return a.bytes != b.bytes ? a.bytes < b.bytes : a.rel_mse < b.rel_mse;
    });
    // Equal points are both kept by non_dominated: drop exact duplicates.
    pt.candidates.erase(std::unique(pt.candidates.begin(), pt.candidates.end(),
                                    [](const auto& a, const auto& b) { return a.bytes == b.bytes && a.rel_mse == b.rel_mse; }),
                        pt.candidates.end());
    r.tensors.push_back(std::move(pt));
  }
  if (progress_enabled()) report_progress("measure types", plan_done, plan_total);
  std::uint64_t quant_values = 0;
  for (const auto& t : r.tensors) quant_values += t.n;

  const double budget = opt.budget_bpw ? *opt.budget_bpw * static_cast<double>(r.total_values) / 8.0
                                       : *opt.budget_mb * 1048576.0;

  // Breakpoints of the per-tensor convex hulls: every price at which some tensor changes choice.
  std::vector<double> lambdas{0.0};
  for (const auto& t : r.tensors)
    for (std::size_t a = 0; a < t.candidates.size(); ++a)
      for (std::size_t b = a + 1; b < t.candidates.size(); ++b) {
        const double db = static_cast<double>(t.candidates[b].bytes) - static_cast<double>(t.candidates[a].bytes);
        const double de = static_cast<double>(t.n) * (t.candidates[a].rel_mse - t.candidates[b].rel_mse);
        if (db > 0 && de > 0) lambdas.push_back(de / db);
      }
  lambdas.push_back(INFINITY);
  std::sort(lambdas.begin(), lambdas.end());
  lambdas.erase(std::unique(lambdas.begin(), lambdas.end()), lambdas.end());

  std::vector<solution> sols;
  for (const double l : lambdas) {
    sols.push_back(lagrangian(r, std::isinf(l) ? 1e300 : l));
    if (l > 0 && std::isfinite(l)) {  // both sides of a breakpoint
      sols.push_back(lagrangian(r, l * (1 + 1e-9)));
      sols.push_back(lagrangian(r, l * (1 - 1e-9)));
    }
  }
  // Best feasible hull solution, then a greedy fill of what is left of the budget.
  const solution* best = nullptr;
  for (const auto& s : sols)
    if (static_cast<double>(s.bytes) <= budget && (!best || s.err < best->err)) best = &s;
  solution cur;
  if (!best) {
    r.feasible = false;
    cur = evaluate(r, std::vector<std::size_t>(r.tensors.size(), 0));
  } else {
    cur = *best;
    for (;;) {
      double best_gain = 0;
      std::size_t bi = 0, bc = 0;
      for (std::size_t i = 0; i < r.tensors.size(); ++i) {
        const auto& t = r.tensors[i];
        const auto& now = t.candidates[cur.pick[i]];
        for (std::size_t c = cur.pick[i] + 1; c < t.candidates.size(); ++c) {
          const double add = static_cast<double>(t.candidates[c].bytes) - static_cast<double>(now.bytes);
          const double gain = static_cast<double>(t.n) * (now.rel_mse - t.candidates[c].rel_mse);
          if (add <= 0 || gain <= 0 || static_cast<double>(cur.bytes) + add > budget) continue;
          if (gain / add > best_gain) {
            best_gain = gain / add;
            bi = i;
            bc = c;
          }
        }
      }
      if (best_gain <= 0) break;
      cur.pick[bi] = bc;
      cur = evaluate(r, cur.pick);
    }
  }
  for (std::size_t i = 0; i < r.tensors.size(); ++i) r.tensors[i].chosen = cur.pick[i];
  r.bytes = cur.bytes;
  const double qv = static_cast<double>(std::max<std::uint64_t>(quant_values, 1));
  r.rel_rmse = std::sqrt(cur.err / qv);

  // The whole-model front: non-dominated (bytes, error) among the hull solutions.
  std::vector<std::vector<double>> obj;
  for (const auto& s : sols) obj.push_back({static_cast<double>(s.bytes), s.err});
  std::vector<plan_point> front;
  for (const std::size_t i : non_dominated(obj)) front.push_back({sols[i].bytes, std::sqrt(sols[i].err / qv)});
  std::sort(front.begin(), front.end(), [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
  front.erase(std::unique(front.begin(), front.end(),
                          [](const auto& a, const auto& b) { return a.bytes == b.bytes && a.rel_rmse == b.rel_rmse; }),
              front.end());
  r.front = std::move(front);
  return r;
}

}  // namespace qtune::weights
