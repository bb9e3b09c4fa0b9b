// `tune weights stats|quantize|dequantize|plan`: model-weight quantization (GGUF block formats).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "cli/progress_bar.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/weights.hpp"
#include "qtune/sweep.hpp"
#include "cli/html_report.hpp"
#include "util/atomic_file.hpp"
#include "weights/imatrix.hpp"
#include "weights/llama_model.hpp"
#include "weights/perplexity.hpp"
#include "weights/plan_validate.hpp"
#include "weights/tokenizer_spm.hpp"

namespace {

namespace w = qtune::weights;

struct weights_options {
  std::string model;
  std::string out;
  std::string type = "q4_k";
  std::vector<std::string> types;
  std::vector<std::string> tensor_types;  // "regex=type"
  std::string importance;
  bool json = false;
  bool totals_only = false;
  bool quiet = false;
  bool allow_nonfinite = false;
  std::string imatrix;                     // llama.cpp legacy imatrix file
  std::string text, base;                  // eval / imatrix / plan --validate
  std::uint32_t ctx = 256;
  std::size_t chunks = 0;                  // 0: all (eval, imatrix); plan: validation chunks
  std::size_t search_chunks = 8;           // plan --objective kld
  std::size_t max_evals = 96;
  bool validate = false;
  std::string objective = "proxy";
  std::string html;
  double budget_bpw = 0, budget_mb = 0, fit_gb = 0, overhead_gb = 0.5;
};

std::string shape_str(const w::tensor& t) {
  std::string s;
  for (std::size_t i = 0; i < t.ne.size(); ++i) s += (i ? "x" : "") + std::to_string(t.ne[i]);
  return s;
}

// JSON has no infinity: an exact reconstruction reports snr_db as null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json stats_json(const w::error_stats& s) {
  return {{"n", s.n},           {"bytes", s.bytes},          {"bpw", num(s.bpw())},
          {"rmse", num(s.rmse())}, {"rel_rmse", num(s.rel_rmse())}, {"max_abs", num(s.max_abs)},
          {"snr_db", num(s.snr_db())}, {"cosine", num(s.cosine())}};
}

void print_stats_row(const std::string& a, const std::string& b, const std::string& c, const w::error_stats& s) {
  std::printf("%-28s %-10s %-6s %6.3f %10.3e %9.5f %10.3e %7.2f %9.6f\n", a.c_str(), b.c_str(), c.c_str(), s.bpw(),
              s.rmse(), s.rel_rmse(), s.max_abs, s.snr_db(), s.cosine());
}

std::vector<std::pair<std::string, w::wformat>> parse_overrides(const std::vector<std::string>& specs) {
  std::vector<std::pair<std::string, w::wformat>> out;
  for (const auto& s : specs) {
    const auto eq = s.rfind('=');
    QTUNE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < s.size(), "--tensor-type '", s,
                "': expected REGEX=TYPE, e.g. 'token_embd|output=q8_0'");
    out.emplace_back(s.substr(0, eq), w::parse_format(s.substr(eq + 1)));
  }
  return out;
}

const w::importance_map* load_importance(const weights_options& o, const w::model& m, w::importance_map& storage) {
  QTUNE_CHECK(o.importance.empty() || o.imatrix.empty(), "give only one of --importance and --imatrix");
  if (!o.imatrix.empty()) {
    storage = w::imatrix_importance(w::read_imatrix(o.imatrix), m, o.imatrix);
    return &storage;
  }
  if (o.importance.empty()) return nullptr;
  storage = w::read_importance(o.importance, m);
  return &storage;
}

nlohmann::json eval_json(const w::eval_result& r) {
  nlohmann::json j = {{"tokens", r.n_tokens}, {"chunks", r.n_chunks}, {"scored", r.n_scored},
                      {"ppl", num(r.ppl)}, {"ppl_stderr", num(r.ppl_stderr)}, {"nll", num(r.nll)},
                      {"seconds", r.seconds}};
  if (r.has_base) {
    j["base_ppl"] = num(r.base_ppl);
    j["delta_ppl"] = num(r.delta_ppl());
    j["kld_mean"] = num(r.kld_mean);
    j["kld_p99"] = num(r.kld_p99);
    j["kld_max"] = num(r.kld_max);
    j["top1_agreement"] = num(r.top1);
  }
  return j;
}

void run_stats(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  w::importance_map imp_storage;
  const w::importance_map* imp = load_importance(o, m, imp_storage);
  std::vector<w::wformat> types;
  if (o.types.empty()) {
    types = w::quantized_formats();
    types.push_back({w::wtype::f16, 0});
  } else {
    for (const auto& t : o.types) types.push_back(w::parse_format(t));
  }
  nlohmann::json j = {{"model", o.model}, {"container", m.container}, {"tensors", m.tensors.size()},
                      {"weights", m.total_values()}, {"bytes", m.total_bytes()}};
  if (!o.json) {
    std::printf("%s: %s, %zu tensors, %llu weights, %llu bytes of tensor data\n", o.model.c_str(),
                m.container.c_str(), m.tensors.size(), static_cast<unsigned long long>(m.total_values()),
                static_cast<unsigned long long>(m.total_bytes()));
    std::printf("1-D tensors stay f32 and are not in the table; a type whose block does not divide a row falls back\n"
                "(q4_k -> q5_0, q6_k -> q8_0, else f16), shown in the 'used' column.\n");
  }
  // Non-finite weights are counted and reported; the error columns are measured on the other
  // values (NaN -> 0, Inf -> the largest finite magnitude), never printed as "rel_rmse 0".
  nlohmann::json jnf = nlohmann::json::array();
  std::uint64_t nf_total = 0;
  for (const auto& t : m.tensors) {
    const std::vector<float> x = m.to_float(t);
    const w::nonfinite_count c = w::count_nonfinite(x.data(), x.size());
    if (!c.any()) continue;
    nf_total += c.nan + c.inf;
    jnf.push_back({{"tensor", t.name}, {"nan", c.nan}, {"inf", c.inf}, {"first_index", c.first_index}});
    if (!o.json)
      std::printf("NON-FINITE: %s has %llu NaN and %llu Inf values (first at index %llu); the errors below are over "
                  "the tensor with them replaced (NaN -> 0, Inf -> largest finite magnitude)\n",
                  t.name.c_str(), static_cast<unsigned long long>(c.nan), static_cast<unsigned long long>(c.inf),
                  static_cast<unsigned long long>(c.first_index));
  }
  j["nonfinite_values"] = nf_total;
  j["nonfinite"] = jnf;
  nlohmann::json jtypes = nlohmann::json::array();
  std::vector<std::pair<w::wformat, w::quantized_model>> results;
  for (const auto& f : types) {
    std::vector<w::wformat> choice(m.tensors.size(), f);
    results.emplace_back(f, w::quantize_model(m, choice, imp, /*allow_nonfinite=*/true));
  }
  if (!o.html.empty()) {
    qtune::write_file_atomic(o.html, qtune::report::render_weights_stats_report(m, results, o.model));
    if (!o.json) std::printf("wrote %s\n", o.html.c_str());
  }
  if (!o.json && !o.totals_only) {
    std::printf("\n%-28s %-10s %-6s %6s %10s %9s %10s %7s %9s\n", "tensor", "shape", "used", "bpw", "rmse", "rel_rmse",
                "max_abs", "snr_db", "cosine");
    for (const auto& [f, q] : results) {
      std::printf("-- %s\n", w::to_string(f).c_str());
      for (const auto& qt : q.tensors) {
        if (!w::is_quantizable(qt.info)) continue;
        print_stats_row(qt.info.name, shape_str(qt.info), w::to_string(qt.info.format), qt.stats);
      }
    }
  }
  if (!o.json) {
    std::printf("\ntotals over the quantized tensors (pooled), and the file size with 1-D tensors in f32:\n");
    std::printf("%-8s %6s %10s %9s %10s %7s %9s %12s\n", "type", "bpw", "rmse", "rel_rmse", "max_abs", "snr_db",
                "cosine", "file_bytes");
  }
  for (const auto& [f, q] : results) {
    std::uint64_t file_bytes = 0;
    for (const auto& qt : q.tensors) file_bytes += qt.info.nbytes;
    if (o.json) {
      nlohmann::json jt = {{"type", w::to_string(f)}, {"total", stats_json(q.total)}, {"file_bytes", file_bytes}};
      nlohmann::json per = nlohmann::json::array();
      for (const auto& qt : q.tensors) {
        if (!w::is_quantizable(qt.info)) continue;
        nlohmann::json e = stats_json(qt.stats);
        e["tensor"] = qt.info.name;
        e["used"] = w::to_string(qt.info.format);
        e["ne"] = qt.info.ne;
        per.push_back(e);
      }
      jt["tensors"] = per;
      jtypes.push_back(jt);
    } else {
      const auto& s = q.total;
      std::printf("%-8s %6.3f %10.3e %9.5f %10.3e %7.2f %9.6f %12llu\n", w::to_string(f).c_str(), s.bpw(), s.rmse(),
                  s.rel_rmse(), s.max_abs, s.snr_db(), s.cosine(), static_cast<unsigned long long>(file_bytes));
    }
  }
  if (o.json) {
    j["types"] = jtypes;
    std::cout << j.dump(2) << "\n";
  }
}

void write_quantized(const std::string& out, const w::quantized_model& q) {
  std::vector<w::tensor> infos;
  for (const auto& qt : q.tensors) infos.push_back(qt.info);
  w::write_gguf(out, q.metadata, infos, q.data);
}

void run_quantize(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  w::importance_map imp_storage;
  const w::importance_map* imp = load_importance(o, m, imp_storage);
  const w::wformat f = w::parse_format(o.type);
  QTUNE_CHECK(w::traits(f).in_gguf, "--type ", o.type, " has no GGUF type; use it with `tune weights stats`");
  const w::format_overrides overrides(parse_overrides(o.tensor_types));
  std::vector<w::wformat> choice;
  for (const auto& t : m.tensors) {
    const w::wformat* forced = overrides.match(t.name);
    choice.push_back(forced ? *forced : f);
  }
  const w::quantized_model q = w::quantize_model(m, choice, imp, o.allow_nonfinite);
  write_quantized(o.out, q);
  for (const auto& qt : q.tensors)
    if (qt.nonfinite.any())
      std::printf("note: %s: replaced %llu NaN and %llu Inf values (--allow-nonfinite)\n", qt.info.name.c_str(),
                  static_cast<unsigned long long>(qt.nonfinite.nan), static_cast<unsigned long long>(qt.nonfinite.inf));
  std::size_t fallbacks = 0;
  for (const auto& qt : q.tensors)
    if (w::is_quantizable(qt.info) && !(qt.info.format == qt.asked)) {
      ++fallbacks;
      std::printf("note: %s (%s) stored as %s: rows of %llu values do not fit %s blocks\n", qt.info.name.c_str(),
                  shape_str(qt.info).c_str(), w::to_string(qt.info.format).c_str(),
                  static_cast<unsigned long long>(qt.info.ne[0]), w::to_string(qt.asked).c_str());
    }
  std::printf("wrote %s: %zu tensors, %zu bytes of tensor data, %.3f bpw over quantized tensors, rel_rmse %.5f, "
              "snr %.2f dB%s\n",
              o.out.c_str(), q.tensors.size(), q.data.size(), q.total.bpw(), q.total.rel_rmse(), q.total.snr_db(),
              fallbacks ? " (with fallbacks above)" : "");
}

void run_dequantize(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  w::write_safetensors_f32(o.out, m);
  std::printf("wrote %s: %zu tensors as F32\n", o.out.c_str(), m.tensors.size());
}

void run_plan(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  w::importance_map imp_storage;
  const w::importance_map* imp = load_importance(o, m, imp_storage);
  w::plan_options po;
  const double gib = 1024.0 * 1024.0 * 1024.0;
  if (o.budget_bpw > 0) po.budget_bpw = o.budget_bpw;
  if (o.budget_mb > 0) po.budget_mb = o.budget_mb;
  if (!po.budget_bpw && !po.budget_mb) {
    QTUNE_CHECK(o.fit_gb > 0, "plan: give --budget-bpw, --budget-mb or --fit-gb");
    QTUNE_CHECK(o.fit_gb > o.overhead_gb, "plan: --fit-gb ", o.fit_gb, " leaves nothing after the overhead of ",
                o.overhead_gb, " GiB");
    po.budget_mb = (o.fit_gb - o.overhead_gb) * 1024.0;
  }
  QTUNE_CHECK(!(po.budget_bpw && po.budget_mb), "plan: give only one of --budget-bpw and --budget-mb");
  po.overrides = parse_overrides(o.tensor_types);
  po.allow_nonfinite = o.allow_nonfinite;
  w::plan_result r = w::make_plan(m, po, imp);
  QTUNE_CHECK(o.objective == "proxy" || o.objective == "kld", "--objective must be proxy or kld, got '", o.objective, "'");
  const bool measured = o.validate || o.objective == "kld";
  QTUNE_CHECK(!measured || !o.text.empty(), "plan: --validate and --objective kld need --text FILE (held-out text)");
  std::vector<w::plan_validation_row> validation;
  nlohmann::json jval;
  if (measured) {
    const w::llama_model base = w::llama_model::from_gguf(m, o.allow_nonfinite);
    const w::spm_tokenizer tok = w::spm_tokenizer::from_gguf(m);
    const std::string text = w::read_eval_text(o.text);
    w::eval_options eo;
    eo.n_ctx = o.ctx;
    const std::vector<std::int32_t> tokens = w::eval_tokens(tok, base, text, eo, o.text);
    // The KLD search (if any) uses the first chunks; validation the chunks after them, so the
    // figure is measured on text the search did not see.
    const std::size_t search = o.objective == "kld" ? o.search_chunks : 0;
    const std::size_t n_val = o.chunks ? o.chunks : 32;
    QTUNE_CHECK(tokens.size() >= (search + 1) * o.ctx, o.text, ": ", tokens.size(), " tokens: too few for ", search,
                " search chunks and validation chunks of ", o.ctx);
    w::eval_options vo = eo;
    vo.n_chunks = n_val;
    const double plan_budget = po.budget_bpw ? *po.budget_bpw * static_cast<double>(r.total_values) / 8.0
                                             : *po.budget_mb * 1048576.0;
    if (o.objective == "kld" && r.feasible) {
      w::eval_options so = eo;
      so.n_chunks = search;
      const w::kld_reference sref(base, std::vector<std::int32_t>(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(search * o.ctx)),
                                  tok.bos(), so);
      w::kld_refine_options ro;
      ro.max_evals = o.max_evals;
      ro.budget_bytes = plan_budget;
      const w::kld_refine_result rr = w::refine_plan_kld(m, r, imp, sref, ro);
      if (!o.json)
        std::printf("objective kld: %zu evaluations on %zu search chunks, %zu swaps, search KLD %.6f -> %.6f\n",
                    rr.evals, search, rr.swaps, rr.kld_before, rr.kld_after);
      jval["search"] = {{"evaluations", rr.evals}, {"chunks", search}, {"swaps", rr.swaps},
                        {"kld_before", rr.kld_before}, {"kld_after", rr.kld_after}};
    }
    const w::kld_reference vref(base, std::vector<std::int32_t>(tokens.begin() + static_cast<std::ptrdiff_t>(search * o.ctx), tokens.end()),
                                tok.bos(), vo);
    std::vector<w::measured_choice> rows;
    rows.push_back(w::measure_choice(m, w::plan_choice(m, r), imp, vref, "plan (" + o.objective + ")", o.allow_nonfinite));
    std::vector<w::wformat> uniform = po.candidates;
    if (uniform.empty()) {
      uniform = w::quantized_formats();
      uniform.push_back({w::wtype::f16, 0});
    }
    for (const w::wformat f : uniform) {
      if (!w::traits(f).in_gguf) continue;
      rows.push_back(w::measure_choice(m, std::vector<w::wformat>(m.tensors.size(), f), imp, vref,
                                       "uniform " + w::to_string(f), o.allow_nonfinite));
    }
    rows.push_back(w::measure_choice(m, w::q4_k_m_recipe(m), imp, vref, "llama.cpp Q4_K_M recipe", o.allow_nonfinite));
    const auto& plan_row = rows.front();
    const w::measured_choice* best_uniform = nullptr;
    for (const auto& row : rows)
      if (row.label.rfind("uniform ", 0) == 0 && row.bytes <= plan_row.bytes &&
          (!best_uniform || row.eval.kld_mean < best_uniform->eval.kld_mean))
        best_uniform = &row;
    if (!o.json) {
      std::printf("validation on %s: %zu chunks of %u after the first %zu, %zu tokens scored, against %s itself\n",
                  o.text.c_str(), plan_row.eval.n_chunks, o.ctx, search, plan_row.eval.n_scored, o.model.c_str());
      std::printf("%-28s %10s %7s %10s %10s %7s %9s\n", "configuration", "bytes", "bpw", "KLD", "KLD p99", "top-1",
                  "ppl");
    }
    nlohmann::json jrows = nlohmann::json::array();
    for (const auto& row : rows) {
      const bool no_larger = row.bytes <= plan_row.bytes;
      if (!o.json)
        std::printf("%-28s %10llu %7.3f %10.6f %10.6f %6.2f%% %9.4f%s\n", row.label.c_str(),
                    static_cast<unsigned long long>(row.bytes), row.bpw, row.eval.kld_mean, row.eval.kld_p99,
                    100.0 * row.eval.top1, row.eval.ppl, &row == best_uniform ? "  <- best uniform of no larger size" : "");
      jrows.push_back({{"label", row.label}, {"bytes", row.bytes}, {"bpw", row.bpw}, {"no_larger_than_plan", no_larger},
                       {"eval", eval_json(row.eval)}});
      validation.push_back({row.label, row.bytes, row.bpw, row.eval.kld_mean, row.eval.kld_p99, row.eval.top1,
                            row.eval.ppl, row.eval.base_ppl, &row == &plan_row, &row == best_uniform});
    }
    jval["text"] = o.text;
    jval["ctx"] = o.ctx;
    jval["chunks"] = plan_row.eval.n_chunks;
    jval["scored_tokens"] = plan_row.eval.n_scored;
    jval["kld_mean"] = plan_row.eval.kld_mean;
    jval["kld_p99"] = plan_row.eval.kld_p99;
    jval["top1_agreement"] = plan_row.eval.top1;
    jval["configurations"] = jrows;
    if (best_uniform) {
      jval["best_uniform_no_larger"] = best_uniform->label;
      if (!o.json)
        std::printf("validated: plan KLD %.6f vs %s %.6f (%s)\n", plan_row.eval.kld_mean, best_uniform->label.c_str(),
                    best_uniform->eval.kld_mean,
                    plan_row.eval.kld_mean <= best_uniform->eval.kld_mean ? "plan no worse" : "PLAN WORSE");
    } else if (!o.json) {
      std::printf("validated: plan KLD %.6f; no uniform type fits in the plan's size\n", plan_row.eval.kld_mean);
    }
  }
  const double bpw = 8.0 * static_cast<double>(r.bytes) / static_cast<double>(r.total_values);
  const double need_gb = static_cast<double>(r.bytes) / gib + o.overhead_gb;
  nlohmann::json j;
  if (o.json) {
    nlohmann::json jt = nlohmann::json::array();
    for (const auto& t : r.tensors) {
      const auto& c = t.candidates[t.chosen];
      jt.push_back({{"tensor", t.name}, {"type", w::to_string(c.format)}, {"bytes", c.bytes},
                    {"rel_rmse", std::sqrt(c.rel_mse)}, {"forced", t.forced}});
    }
    nlohmann::json jf = nlohmann::json::array();
    for (const auto& p : r.front) jf.push_back({{"bytes", p.bytes}, {"rel_rmse", p.rel_rmse}});
    j = {{"model", o.model}, {"feasible", r.feasible}, {"bytes", r.bytes}, {"bpw", bpw}, {"rel_rmse", r.rel_rmse},
         {"fixed_bytes", r.fixed_bytes}, {"tensors", jt}, {"front", jf}};
    if (measured) j["validation"] = jval;
  } else {
    std::printf("%-28s %-8s %10s %9s\n", "tensor", "type", "bytes", "rel_rmse");
    for (const auto& t : r.tensors) {
      const auto& c = t.candidates[t.chosen];
      std::printf("%-28s %-8s %10llu %9.5f%s\n", t.name.c_str(), w::to_string(c.format).c_str(),
                  static_cast<unsigned long long>(c.bytes), std::sqrt(c.rel_mse), t.forced ? "  (override)" : "");
    }
    std::printf("plan: %llu bytes (%.3f bpw over all %llu weights, 1-D tensors f32: %llu bytes), total rel_rmse %.5f%s\n",
                static_cast<unsigned long long>(r.bytes), bpw, static_cast<unsigned long long>(r.total_values),
                static_cast<unsigned long long>(r.fixed_bytes), r.rel_rmse,
                r.feasible ? "" : "  -- BUDGET NOT MET: every tensor at its smallest type");
    std::printf("\nsize-vs-error front (whole-model plans):\n%12s %8s %9s\n", "bytes", "bpw", "rel_rmse");
    for (const auto& p : r.front)
      std::printf("%12llu %8.3f %9.5f\n", static_cast<unsigned long long>(p.bytes),
                  8.0 * static_cast<double>(p.bytes) / static_cast<double>(r.total_values), p.rel_rmse);
  }
  if (o.fit_gb > 0) {
    const bool fits = need_gb <= o.fit_gb;
    if (o.json) {
      j["fit"] = {{"memory_gib", o.fit_gb}, {"overhead_gib", o.overhead_gb}, {"needed_gib", need_gb}, {"fits", fits}};
    } else {
      std::printf("\nfit in %.3g GiB: %s (weights %.4f GiB + stated overhead %.3g GiB = %.4f GiB)\n", o.fit_gb,
                  fits ? "yes" : "no", static_cast<double>(r.bytes) / gib, o.overhead_gb, need_gb);
    }
  }
  if (!o.html.empty()) {
    std::optional<std::uint64_t> budget;
    if (po.budget_bpw) budget = static_cast<std::uint64_t>(*po.budget_bpw * static_cast<double>(r.total_values) / 8.0);
    if (po.budget_mb) budget = static_cast<std::uint64_t>(*po.budget_mb * 1024.0 * 1024.0);
    qtune::write_file_atomic(o.html, qtune::report::render_weights_plan_report(r, o.model, budget, validation));
    if (!o.json) std::printf("wrote %s\n", o.html.c_str());
  }
  if (!o.out.empty()) {
    const w::quantized_model q = w::quantize_model(m, w::plan_choice(m, r), imp, o.allow_nonfinite);
    write_quantized(o.out, q);
    if (!o.json) std::printf("wrote %s\n", o.out.c_str());
  }
  if (o.json) std::cout << j.dump(2) << "\n";
}

void run_eval(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  const w::llama_model lm = w::llama_model::from_gguf(m, o.allow_nonfinite);
  const w::spm_tokenizer tok = w::spm_tokenizer::from_gguf(m);
  std::optional<w::llama_model> base;
  if (!o.base.empty()) {
    const w::model bm = w::read_model(o.base);
    QTUNE_CHECK(w::spm_tokenizer::from_gguf(bm).same_vocab(tok), o.base, ": its vocabulary differs from ", o.model,
                "'s; KL divergence needs the same tokens");
    base.emplace(w::llama_model::from_gguf(bm, o.allow_nonfinite));
  }
  const std::string text = w::read_eval_text(o.text);
  w::eval_options eo;
  eo.n_ctx = o.ctx;
  eo.n_chunks = o.chunks;
  const std::vector<std::int32_t> tokens = w::eval_tokens(tok, lm, text, eo, o.text);
  const w::eval_result r = w::evaluate(lm, tokens, tok.bos(), eo, base ? &*base : nullptr);
  if (o.json) {
    nlohmann::json j = eval_json(r);
    j["model"] = o.model;
    j["text"] = o.text;
    j["ctx"] = o.ctx;
    if (base) j["base"] = o.base;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%s on %s: %zu tokens, %zu chunks of %u, %zu tokens scored (second half of each chunk)\n",
              o.model.c_str(), o.text.c_str(), r.n_tokens, r.n_chunks, o.ctx, r.n_scored);
  std::printf("perplexity %.4f +/- %.4f\n", r.ppl, r.ppl_stderr);
  if (r.has_base)
    std::printf("base %s: perplexity %.4f, delta ppl %+.4f\nKL divergence mean %.6f, p99 %.6f, max %.6f; top-1 "
                "agreement %.2f%%\n",
                o.base.c_str(), r.base_ppl, r.delta_ppl(), r.kld_mean, r.kld_p99, r.kld_max, 100.0 * r.top1);
  std::printf("time %.2f s (%.0f tokens/s%s)\n", r.seconds,
              static_cast<double>(r.n_chunks * o.ctx * (r.has_base ? 2 : 1)) / std::max(r.seconds, 1e-9),
              r.has_base ? ", both models" : "");
}

void run_imatrix(const weights_options& o) {
  const w::model m = w::read_model(o.model);
  const w::llama_model lm = w::llama_model::from_gguf(m, o.allow_nonfinite);
  const w::spm_tokenizer tok = w::spm_tokenizer::from_gguf(m);
  const std::string text = w::read_eval_text(o.text);
  w::eval_options eo;
  eo.n_ctx = o.ctx;
  eo.n_chunks = o.chunks;
  const std::vector<std::int32_t> tokens = w::eval_tokens(tok, lm, text, eo, o.text);
  const w::imatrix im = w::collect_imatrix(lm, tokens, tok.bos(), o.ctx, o.chunks,
                                           std::filesystem::path(o.text).filename().string());
  w::write_imatrix(o.out, im);
  std::printf("wrote %s: %zu matrices, %d chunks of %u tokens (llama.cpp legacy imatrix format)\n", o.out.c_str(),
              im.entries.size(), im.last_call, o.ctx);
}

/// Runs a command with the progress bar (or lines) on stderr unless --quiet.
void with_progress(const weights_options& o, void (*run)(const weights_options&)) {
  qtune::cli::progress_bar bar(o.quiet);
  qtune::progress_scope scope(bar.callback());
  run(o);
}

}  // namespace

QTUNE_CLI_COMMAND(weights) {
  auto* sub = app.add_subcommand("weights", "Model-weight quantization: GGUF block formats, error reports, budgets");
  sub->require_subcommand(1);
  auto o = std::make_shared<weights_options>();

  auto* st = sub->add_subcommand("stats", "Error of every block type on every tensor (RMSE, rel. RMSE, SNR, cosine, bpw)");
  st->add_option("model", o->model, "MODEL.gguf or MODEL.safetensors")->required();
  st->add_option("--types", o->types, "types to measure (default: q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q6_k f16)")->delimiter(',');
  st->add_option("--importance", o->importance, "importance weights: a 1-D .npy per column, or a directory of <tensor>.npy");
  st->add_option("--imatrix", o->imatrix, "llama.cpp imatrix file (legacy binary format)");
  st->add_flag("--json", o->json, "JSON output");
  st->add_flag("--totals-only", o->totals_only, "only the per-type totals");
  st->add_option("--html", o->html, "also write an HTML report (error vs bits per weight per tensor) to this file");
  st->add_flag("--quiet,-q", o->quiet, "no progress bar or progress lines on stderr");
  st->callback([o] { with_progress(*o, run_stats); });

  auto* qu = sub->add_subcommand("quantize", "Quantize a model to one type and write GGUF v3");
  qu->add_option("model", o->model, "MODEL.gguf or MODEL.safetensors")->required();
  qu->add_option("--type", o->type, "q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q6_k, f16, f32")->required();
  qu->add_option("-o,--output", o->out, "OUT.gguf")->required();
  qu->add_option("--tensor-type", o->tensor_types, "override 'REGEX=TYPE' (repeatable)");
  qu->add_option("--importance", o->importance, "importance weights (.npy or directory)");
  qu->add_option("--imatrix", o->imatrix, "llama.cpp imatrix file (legacy binary format, e.g. from `tune weights imatrix`)");
  qu->add_flag("--quiet,-q", o->quiet, "no progress bar or progress lines on stderr");
  qu->add_flag("--allow-nonfinite", o->allow_nonfinite, "quantize NaN as 0 and Inf as the largest finite magnitude instead of refusing");
  qu->callback([o] { with_progress(*o, run_quantize); });

  auto* de = sub->add_subcommand("dequantize", "Write every tensor back as F32 safetensors");
  de->add_option("model", o->model, "MODEL.gguf or MODEL.safetensors")->required();
  de->add_option("-o,--output", o->out, "OUT.safetensors")->required();
  de->callback([o] { run_dequantize(*o); });

  auto* pl = sub->add_subcommand("plan", "Choose a type per tensor for a memory budget (size-vs-error front)");
  pl->add_option("model", o->model, "MODEL.gguf or MODEL.safetensors")->required();
  pl->add_option("--budget-bpw", o->budget_bpw, "bits per weight over all tensors");
  pl->add_option("--budget-mb", o->budget_mb, "MiB of tensor data");
  pl->add_option("--tensor-type", o->tensor_types, "override 'REGEX=TYPE' (repeatable)");
  pl->add_option("-o,--output", o->out, "write the planned GGUF here");
  pl->add_option("--fit-gb", o->fit_gb, "report whether weights + overhead fit in this many GiB (the budget when none is given)");
  pl->add_option("--overhead-gb", o->overhead_gb, "stated runtime overhead (KV cache, buffers) in GiB, default 0.5");
  pl->add_option("--importance", o->importance, "importance weights (.npy or directory)");
  pl->add_option("--imatrix", o->imatrix, "llama.cpp imatrix file (legacy binary format)");
  pl->add_flag("--validate", o->validate, "measure the plan's KL divergence from the model on --text (and uniform types, Q4_K_M)");
  pl->add_option("--text", o->text, "held-out UTF-8 text for --validate / --objective kld");
  pl->add_option("--objective", o->objective, "proxy (weights' relative RMSE, default) or kld (refine by measured KL divergence)");
  pl->add_option("--ctx", o->ctx, "context of the measurement chunks (default 256)");
  pl->add_option("--chunks", o->chunks, "validation chunks (default 32)");
  pl->add_option("--search-chunks", o->search_chunks, "chunks the kld search evaluates on, before the validation chunks (default 8)");
  pl->add_option("--max-evals", o->max_evals, "model evaluations the kld search may spend (default 96)");
  pl->add_flag("--json", o->json, "JSON output");
  pl->add_option("--html", o->html, "also write an HTML report (the plan on the size-vs-error front) to this file");
  pl->add_flag("--quiet,-q", o->quiet, "no progress bar or progress lines on stderr");
  pl->add_flag("--allow-nonfinite", o->allow_nonfinite, "plan with NaN as 0 and Inf as the largest finite magnitude instead of refusing");
  pl->callback([o] { with_progress(*o, run_plan); });

  auto* ev = sub->add_subcommand("eval", "Perplexity (llama-perplexity protocol) and, with --base, KL divergence");
  ev->add_option("model", o->model, "MODEL.gguf (llama architecture)")->required();
  ev->add_option("--text", o->text, "UTF-8 text file")->required();
  ev->add_option("--ctx", o->ctx, "tokens per chunk (default 256)");
  ev->add_option("--chunks", o->chunks, "evaluate at most this many chunks (default all)");
  ev->add_option("--base", o->base, "BASE.gguf: also KL divergence, top-1 agreement and delta ppl against it");
  ev->add_flag("--json", o->json, "JSON output");
  ev->add_flag("--allow-nonfinite", o->allow_nonfinite, "evaluate weights holding NaN/Inf instead of refusing");
  ev->callback([o] { run_eval(*o); });

  auto* im = sub->add_subcommand("imatrix", "Importance matrix from text (llama.cpp legacy imatrix format)");
  im->add_option("model", o->model, "MODEL.gguf (llama architecture)")->required();
  im->add_option("--text", o->text, "UTF-8 calibration text")->required();
  im->add_option("-o,--output", o->out, "OUT.imatrix")->required();
  im->add_option("--ctx", o->ctx, "tokens per chunk (default 256)");
  im->add_option("--chunks", o->chunks, "at most this many chunks (default all)");
  im->add_flag("--allow-nonfinite", o->allow_nonfinite, "use weights holding NaN/Inf instead of refusing");
  im->callback([o] { run_imatrix(*o); });
}
