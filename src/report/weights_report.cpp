// HTML reports of `tune weights stats` (error vs bits per weight per tensor) and `plan` (the
// budget plan on the size-vs-error front).
#include <cmath>
#include <cstdio>
#include <sstream>

#include "report/report.hpp"

namespace qtune::report {

namespace w = qtune::weights;
using nlohmann::json;

namespace {

std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}
std::string sci(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}
json finite(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
std::string shape_of(const w::tensor& t) {
  std::string s;
  for (std::size_t i = 0; i < t.ne.size(); ++i) s += (i ? "x" : "") + std::to_string(t.ne[i]);
  return s;
}
const char* schema = "https://vega.github.io/schema/vega-lite/v6.json";

}  // namespace

std::string render_weights_stats_report(const w::model& m,
                                        const std::vector<std::pair<w::wformat, w::quantized_model>>& results,
                                        const std::string& model_name) {
  json rows = json::array(), totals = json::array();
  table t;
  t.id = "tensors";
  t.header = {"tensor", "shape", "type asked", "type used", "bpw", "rmse", "rel_rmse", "max_abs", "snr dB", "cosine"};
  std::size_t n_tensors = 0;
  for (const auto& [f, q] : results) {
    std::size_t nt = 0;
    for (const auto& qt : q.tensors) {
      if (!w::is_quantizable(qt.info)) continue;
      ++nt;
      const auto& s = qt.stats;
      rows.push_back({{"tensor", qt.info.name}, {"asked", w::to_string(f)}, {"used", w::to_string(qt.info.format)},
                      {"bpw", s.bpw()}, {"rel_rmse", finite(s.rel_rmse() > 0 ? s.rel_rmse() : NAN)},
                      {"snr_db", finite(s.snr_db())}, {"cosine", finite(s.cosine())}, {"shape", shape_of(qt.info)}});
      t.rows.push_back({{qt.info.name, {}, {}}, {shape_of(qt.info), {}, {}}, {w::to_string(f), {}, {}},
                        {w::to_string(qt.info.format), {}, {}}, {fmt(s.bpw(), 3), s.bpw(), {}},
                        {sci(s.rmse()), s.rmse(), {}}, {fmt(s.rel_rmse(), 5), s.rel_rmse(), {}},
                        {sci(s.max_abs), s.max_abs, {}}, {fmt(s.snr_db(), 2), s.snr_db(), {}},
                        {fmt(s.cosine(), 6), s.cosine(), {}}});
    }
    n_tensors = std::max(n_tensors, nt);
    totals.push_back({{"tensor", "all (pooled)"}, {"asked", w::to_string(f)}, {"bpw", q.total.bpw()},
                      {"rel_rmse", finite(q.total.rel_rmse() > 0 ? q.total.rel_rmse() : NAN)},
                      {"snr_db", finite(q.total.snr_db())}});
  }
  const json x = {{"field", "bpw"}, {"type", "quantitative"}, {"title", "bits per weight"}, {"scale", {{"zero", false}}}};
  const json y = {{"field", "rel_rmse"}, {"type", "quantitative"}, {"title", "relative RMSE (log)"},
                  {"scale", {{"type", "log"}}}};
  const json tip = json::array({{{"field", "tensor"}}, {{"field", "shape"}}, {{"field", "asked"}, {"title", "type asked"}},
                                {{"field", "used"}, {"title", "type used"}}, {{"field", "bpw"}, {"format", ".3f"}},
                                {{"field", "rel_rmse"}, {"format", ".5f"}}, {{"field", "snr_db"}, {"format", ".2f"}},
                                {{"field", "cosine"}, {"format", ".6f"}}});
  const json color = {{"field", "tensor"}, {"type", "nominal"}, {"legend", n_tensors <= 24 ? json{{"columns", 1}} : json(nullptr)}};
  json error_chart = {
      {"$schema", schema},
      {"title", "Error vs bits per weight, per tensor"},
      {"width", 620},
      {"height", 380},
      {"layer", json::array({
          {{"data", {{"values", rows}}}, {"mark", {{"type", "line"}, {"opacity", 0.5}}},
           {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"order", {{"field", "bpw"}}}}}},
          {{"data", {{"values", rows}}}, {"mark", {{"type", "point"}, {"filled", true}, {"size", 40}}},
           {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip}}}},
          {{"data", {{"values", totals}}}, {"mark", {{"type", "line"}, {"color", "#000"}, {"strokeWidth", 3},
                                                     {"point", {{"filled", true}, {"color", "#000"}, {"size", 70}}}}},
           {"encoding", {{"x", x}, {"y", y}, {"order", {{"field", "bpw"}}},
                         {"tooltip", json::array({{{"field", "tensor"}}, {{"field", "asked"}, {"title", "type"}},
                                                  {{"field", "bpw"}, {"format", ".3f"}},
                                                  {{"field", "rel_rmse"}, {"format", ".5f"}},
                                                  {{"field", "snr_db"}, {"format", ".2f"}}})}}}},
      })},
      {"resolve", {{"scale", {{"color", "independent"}}}}}};
  json heat = {
      {"$schema", schema},
      {"title", "SNR (dB) per tensor and type"},
      {"data", {{"values", rows}}},
      {"width", {{"step", 48}}},
      {"height", {{"step", 16}}},
      {"mark", "rect"},
      {"encoding", {{"x", {{"field", "asked"}, {"type", "nominal"}, {"title", "type"}, {"sort", {{"field", "bpw"}, {"op", "median"}}}}},
                    {"y", {{"field", "tensor"}, {"type", "nominal"}, {"sort", nullptr}}},
                    {"color", {{"field", "snr_db"}, {"type", "quantitative"}, {"title", "SNR dB"},
                               {"scale", {{"scheme", "viridis"}}}}},
                    {"tooltip", tip}}}};
  page pg;
  pg.title = "qtune weights report: " + model_name;
  pg.facts = {{"model", model_name},
              {"container", m.container},
              {"tensors", std::to_string(m.tensors.size()) + " (" + std::to_string(n_tensors) + " quantizable)"},
              {"weights", std::to_string(m.total_values())},
              {"tensor bytes", std::to_string(m.total_bytes())}};
  pg.summary = "Each quantizable tensor stored in each block type: relative RMSE (RMSE / RMS of the weights) against "
               "bits per weight. 1-D tensors stay f32; a type whose block does not divide a row falls back (shown as "
               "'type used'). The black line pools all tensors.";
  pg.charts.push_back({"chart-error", error_chart, "Hover a point for the tensor, type and figures."});
  pg.charts.push_back({"chart-snr", heat, "Higher is better."});
  pg.tables.push_back(std::move(t));
  pg.table_titles.push_back("Every tensor in every type");
  return render_page(pg);
}

std::string render_weights_plan_report(const w::plan_result& r, const std::string& model_name,
                                       std::optional<std::uint64_t> budget_bytes,
                                       const std::vector<w::plan_validation_row>& validation) {
  const double total = static_cast<double>(r.total_values ? r.total_values : 1);
  auto bpw_of = [&](std::uint64_t bytes) { return 8.0 * static_cast<double>(bytes) / total; };
  json front = json::array();
  for (const auto& p : r.front)
    front.push_back({{"bpw", bpw_of(p.bytes)}, {"bytes", p.bytes}, {"rel_rmse", finite(p.rel_rmse > 0 ? p.rel_rmse : NAN)}});
  const json chosen = json::array({{{"bpw", bpw_of(r.bytes)}, {"bytes", r.bytes},
                                    {"rel_rmse", finite(r.rel_rmse > 0 ? r.rel_rmse : NAN)}, {"label", "chosen plan"}}});
  const json x = {{"field", "bpw"}, {"type", "quantitative"}, {"title", "bits per weight (all tensors)"},
                  {"scale", {{"zero", false}}}};
  const json y = {{"field", "rel_rmse"}, {"type", "quantitative"}, {"title", "relative RMSE of the model (log)"},
                  {"scale", {{"type", "log"}}}};
  const json tip = json::array({{{"field", "bpw"}, {"format", ".3f"}}, {{"field", "bytes"}, {"format", ","}},
                                {{"field", "rel_rmse"}, {"format", ".5f"}}});
  json layers = json::array({
      {{"data", {{"values", front}}}, {"mark", {{"type", "line"}, {"point", true}}},
       {"encoding", {{"x", x}, {"y", y}, {"order", {{"field", "bpw"}}}, {"tooltip", tip}}}},
      {{"data", {{"values", chosen}}},
       {"mark", {{"type", "point"}, {"shape", "diamond"}, {"size", 400}, {"filled", false}, {"strokeWidth", 3},
                 {"color", "#000"}}},
       {"encoding", {{"x", x}, {"y", y}, {"tooltip", tip}}}},
      {{"data", {{"values", chosen}}},
       {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 14}, {"dy", -10}, {"fontWeight", "bold"}}},
       {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "label"}}}}}},
  });
  if (budget_bytes) {
    const json b = json::array({{{"bpw", bpw_of(*budget_bytes)}, {"label", "budget " + fmt(bpw_of(*budget_bytes), 3) + " bpw"}}});
    layers.push_back({{"data", {{"values", b}}},
                      {"mark", {{"type", "rule"}, {"color", "#d62728"}, {"strokeDash", {6, 4}}}},
                      {"encoding", {{"x", {{"field", "bpw"}, {"type", "quantitative"}}}, {"tooltip", {{"field", "label"}}}}}});
  }
  json front_chart = {{"$schema", schema}, {"title", "Size vs error of whole-model plans"},
                      {"width", 560}, {"height", 340}, {"layer", layers}};
  json per = json::array(), cands = json::array();
  table t;
  t.id = "plan";
  t.header = {"tensor", "weights", "type", "bytes", "bpw", "rel_rmse", "override"};
  for (const auto& pt : r.tensors) {
    const auto& c = pt.candidates[pt.chosen];
    const double bpw = pt.n ? 8.0 * static_cast<double>(c.bytes) / static_cast<double>(pt.n) : 0.0;
    per.push_back({{"tensor", pt.name}, {"type", w::to_string(c.format)}, {"bpw", bpw}, {"bytes", c.bytes},
                   {"rel_rmse", std::sqrt(c.rel_mse)}, {"weights", pt.n}});
    for (std::size_t i = 0; i < pt.candidates.size(); ++i) {
      const auto& cc = pt.candidates[i];
      cands.push_back({{"tensor", pt.name}, {"type", w::to_string(cc.format)},
                       {"bpw", pt.n ? 8.0 * static_cast<double>(cc.bytes) / static_cast<double>(pt.n) : 0.0},
                       {"rel_rmse", finite(cc.rel_mse > 0 ? std::sqrt(cc.rel_mse) : NAN)}, {"chosen", i == pt.chosen}});
    }
    t.rows.push_back({{pt.name, {}, {}}, {std::to_string(pt.n), static_cast<double>(pt.n), {}},
                      {w::to_string(c.format), {}, {}}, {std::to_string(c.bytes), static_cast<double>(c.bytes), {}},
                      {fmt(bpw, 3), bpw, {}}, {fmt(std::sqrt(c.rel_mse), 5), std::sqrt(c.rel_mse), {}},
                      {pt.forced ? "yes" : "", {}, {}}});
  }
  json bars = {{"$schema", schema},
               {"title", "Chosen type per tensor"},
               {"data", {{"values", per}}},
               {"width", {{"step", 18}}},
               {"height", 300},
               {"mark", "bar"},
               {"encoding", {{"x", {{"field", "tensor"}, {"type", "nominal"}, {"sort", nullptr}, {"axis", {{"labelAngle", -60}}}}},
                             {"y", {{"field", "bpw"}, {"type", "quantitative"}, {"title", "bits per weight"}}},
                             {"color", {{"field", "type"}, {"type", "nominal"}}},
                             {"tooltip", json::array({{{"field", "tensor"}}, {{"field", "type"}},
                                                      {{"field", "weights"}, {"format", ","}},
                                                      {{"field", "bytes"}, {"format", ","}},
                                                      {{"field", "bpw"}, {"format", ".3f"}},
                                                      {{"field", "rel_rmse"}, {"format", ".5f"}}})}}}};
  const json cx = {{"field", "bpw"}, {"type", "quantitative"}, {"title", "bits per weight"}, {"scale", {{"zero", false}}}};
  const json cy = {{"field", "rel_rmse"}, {"type", "quantitative"}, {"title", "relative RMSE (log)"},
                   {"scale", {{"type", "log"}}}};
  const json ctip = json::array({{{"field", "tensor"}}, {{"field", "type"}}, {{"field", "bpw"}, {"format", ".3f"}},
                                 {{"field", "rel_rmse"}, {"format", ".5f"}}, {{"field", "chosen"}}});
  json cand_chart = {
      {"$schema", schema},
      {"title", "Each tensor's candidates (filled: chosen)"},
      {"width", 560},
      {"height", 340},
      {"data", {{"values", cands}}},
      {"layer", json::array({
          {{"mark", {{"type", "line"}, {"opacity", 0.35}}},
           {"encoding", {{"x", cx}, {"y", cy}, {"detail", {{"field", "tensor"}}}, {"order", {{"field", "bpw"}}}}}},
          {{"mark", {{"type", "point"}, {"size", 45}}},
           {"encoding", {{"x", cx}, {"y", cy}, {"color", {{"field", "type"}, {"type", "nominal"}}},
                         {"fill", {{"condition", {{"test", "datum.chosen"}, {"field", "type"}, {"type", "nominal"}}},
                                   {"value", "transparent"}}},
                         {"tooltip", ctip}}}}})}};
  page pg;
  pg.title = "qtune weights plan: " + model_name;
  pg.facts = {{"model", model_name},
              {"plan bytes", std::to_string(r.bytes) + " (" + fmt(bpw_of(r.bytes), 3) + " bpw over all weights)"},
              {"1-D tensors (f32)", std::to_string(r.fixed_bytes) + " bytes"},
              {"model rel_rmse", fmt(r.rel_rmse, 5)},
              {"budget", budget_bytes ? std::to_string(*budget_bytes) + " bytes (" + fmt(bpw_of(*budget_bytes), 3) + " bpw)"
                                      : std::string("none")},
              {"feasible", r.feasible ? "yes" : "no: every tensor at its smallest type"}};
  pg.summary = "One storage type per tensor, chosen to minimise the weight-count-weighted squared relative error "
               "within the budget. The front lists whole-model plans no other plan beats in both size and error.";
  pg.charts.push_back({"chart-front", front_chart, "Diamond: the chosen plan; dashed red: the budget."});
  pg.charts.push_back({"chart-types", bars, "Bits per weight of the type chosen for each tensor."});
  pg.charts.push_back({"chart-candidates", cand_chart, "Every candidate type of every tensor."});
  pg.tables.push_back(std::move(t));
  pg.table_titles.push_back("The plan");
  if (!validation.empty()) {
    json pts = json::array();
    table v;
    v.id = "validation";
    v.header = {"configuration", "bytes", "bpw", "KLD (mean)", "KLD p99", "top-1 agreement", "perplexity"};
    for (const auto& row : validation) {
      pts.push_back({{"label", row.label}, {"bpw", row.bpw}, {"kld", finite(row.kld_mean > 0 ? row.kld_mean : NAN)},
                     {"kind", row.is_plan ? "plan" : row.label.rfind("uniform", 0) == 0 ? "uniform type" : "recipe"}});
      v.rows.push_back({{row.label + (row.best_uniform ? " (best uniform of no larger size)" : ""), {}, {}},
                        {std::to_string(row.bytes), static_cast<double>(row.bytes), {}},
                        {fmt(row.bpw, 3), row.bpw, {}},
                        {fmt(row.kld_mean, 6), row.kld_mean, {}},
                        {fmt(row.kld_p99, 6), row.kld_p99, {}},
                        {fmt(100.0 * row.top1, 2) + "%", row.top1, {}},
                        {fmt(row.ppl, 4), row.ppl, {}}});
      if (row.is_plan) pg.facts.push_back({"validated KL divergence", fmt(row.kld_mean, 6) + " (p99 " +
                                           fmt(row.kld_p99, 6) + ", top-1 " + fmt(100.0 * row.top1, 2) + "%)"});
    }
    const json vx = {{"field", "bpw"}, {"type", "quantitative"}, {"title", "bits per weight"}, {"scale", {{"zero", false}}}};
    const json vy = {{"field", "kld"}, {"type", "quantitative"}, {"title", "KL divergence from the model (log)"},
                     {"scale", {{"type", "log"}}}};
    json vchart = {{"$schema", schema},
                   {"title", "Measured KL divergence: plan vs uniform types vs Q4_K_M"},
                   {"width", 560},
                   {"height", 340},
                   {"data", {{"values", pts}}},
                   {"mark", {{"type", "point"}, {"filled", true}, {"size", 90}}},
                   {"encoding", {{"x", vx}, {"y", vy}, {"color", {{"field", "kind"}, {"type", "nominal"}}},
                                 {"shape", {{"field", "kind"}, {"type", "nominal"}}},
                                 {"tooltip", json::array({{{"field", "label"}}, {{"field", "bpw"}, {"format", ".3f"}},
                                                          {{"field", "kld"}, {"format", ".6f"}}})}}}};
    pg.charts.push_back({"chart-validation", vchart, "KL divergence measured on held-out text (lower is better)."});
    pg.tables.push_back(std::move(v));
    pg.table_titles.push_back("Validation: KL divergence measured by the model");
  }
  return render_page(pg);
}

}  // namespace qtune::report
