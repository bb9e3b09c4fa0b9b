// The sweep report: three recall-vs-cost charts with Pareto fronts per codec, and a table.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/param_file.hpp"
#include "qtune/pareto.hpp"
#include "qtune/recommend.hpp"
#include "report/report.hpp"

namespace qtune::report {

namespace fs = std::filesystem;
using nlohmann::json;

std::string codec_label(const measured_point& p) { return p.config.is_hnsw() ? p.config.codec : p.config.kind; }

sweep_report_input load_sweep_dir(const fs::path& dir, std::optional<double> target_recall) {
  QTUNE_CHECK(fs::is_directory(dir), dir.string(), ": not a folder (expected a sweep's output folder)");
  const fs::path jsonl = dir / "results.jsonl";
  QTUNE_CHECK(fs::exists(jsonl), jsonl.string(), ": does not exist (is ", dir.string(), " a sweep's output folder?)");
  sweep_report_input in;
  in.points = read_results_jsonl(jsonl);
  QTUNE_CHECK(!in.points.empty(), jsonl.string(), ": holds no measured point");
  in.scaling = read_ef_scaling(jsonl);
  in.name = fs::absolute(dir).lexically_normal().filename().string();
  if (in.name.empty()) in.name = fs::absolute(dir).lexically_normal().parent_path().filename().string();
  const fs::path rec = dir / "recommended.yaml";
  if (fs::exists(rec)) {
    const recommended_params rp = load_param_file(rec);
    in.target_recall = rp.target_recall;
    in.steer_by = rp.steer_by;
    in.k = rp.k;
    const std::string key = rp.measured.key();
    for (std::size_t i = 0; i < in.points.size(); ++i)
      if (in.points[i].key() == key) in.recommended = i;
    const auto& v = rp.provenance;
    in.facts = {{"base", v.base_path},
                {"queries", v.queries_path},
                {"ground truth", v.ground_truth},
                {"spec", v.spec_path},
                {"metric", to_string(rp.config.distance)},
                {"dim", std::to_string(rp.dim)},
                {"qtune", v.qtune_version + " (" + v.git_commit + ")"},
                {"cpu", v.cpu + ", " + v.simd_level + ", " + std::to_string(v.threads) + " threads"},
                {"date", v.date}};
    in.outcome = "recommended: " + rp.measured.describe();
  } else {
    QTUNE_CHECK(target_recall.has_value(), rec.string(),
                ": does not exist (the sweep missed its target or was interrupted); give --target-recall");
    in.outcome = "no recommendation in this folder (no recommended.yaml)";
  }
  if (target_recall) in.target_recall = *target_recall;
  return in;
}

namespace {

std::string fmt(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

json axis_recall(const std::string& title) {
  return {{"field", "recall"}, {"type", "quantitative"}, {"title", title}, {"scale", {{"zero", false}, {"nice", false}}}};
}

/// One chart: points, the front per codec as a line, the target, the recommended point.
json recall_chart(const std::string& title, const std::string& recall_title, const std::string& field,
                  const std::string& y_title, bool log_y, const std::string& front_field, double target,
                  const json& values) {
  json y = {{"field", field}, {"type", "quantitative"}, {"title", y_title}};
  y["scale"] = log_y ? json{{"type", "log"}} : json{{"zero", false}};
  const json x = axis_recall(recall_title);
  const json color = {{"field", "codec"}, {"type", "nominal"}, {"title", "codec"}};
  const json tooltip = json::array({
      {{"field", "config"}, {"title", "configuration"}},
      {{"field", "recall"}, {"title", "recall (tuning)"}, {"format", ".4f"}},
      {{"field", "recall_ci"}, {"title", "95% interval"}},
      {{"field", "val_recall"}, {"title", "recall (validation)"}, {"format", ".4f"}},
      {{"field", "qps"}, {"title", "QPS (1 thread)"}, {"format", ",.0f"}},
      {{"field", "qps_batch"}, {"title", "QPS (batch)"}, {"format", ",.0f"}},
      {{"field", "p50"}, {"title", "p50 latency (us)"}, {"format", ".1f"}},
      {{"field", "p99"}, {"title", "p99 latency (us)"}, {"format", ".1f"}},
      {{"field", "bytes_per_vector"}, {"title", "bytes / vector"}, {"format", ".1f"}},
      {{"field", "m"}, {"title", "M"}},
      {{"field", "ef_construction"}, {"title", "efConstruction"}},
      {{"field", "ef_search"}, {"title", "efSearch"}},
      {{"field", "rerank"}, {"title", "rerank"}},
  });
  json layers = json::array();
  layers.push_back({{"mark", {{"type", "line"}, {"strokeWidth", 2}, {"interpolate", "linear"}}},
                    {"transform", json::array({{{"filter", "datum." + front_field}}})},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"order", {{"field", "recall"}}}}}});
  layers.push_back({{"mark", {{"type", "point"}, {"filled", true}, {"size", 55}, {"opacity", 0.75}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"shape", {{"field", "rerank_label"},
                                  {"type", "nominal"}, {"title", "rerank"}}}, {"tooltip", tooltip}}}});
  layers.push_back({{"data", {{"values", json::array({{{"target", target}, {"label", "target " + fmt(target, 3)}}})}}},
                    {"mark", {{"type", "rule"}, {"color", "#d62728"}, {"strokeDash", {6, 4}}, {"strokeWidth", 1.5}}},
                    {"encoding", {{"x", {{"field", "target"}, {"type", "quantitative"}}},
                                  {"tooltip", {{"field", "label"}}}}}});
  layers.push_back({{"data", {{"values", json::array({{{"target", target}, {"label", "target " + fmt(target, 3)}}})}}},
                    {"mark", {{"type", "text"}, {"color", "#d62728"}, {"align", "left"}, {"dx", 4}, {"dy", 8},
                              {"baseline", "top"}}},
                    {"encoding", {{"x", {{"field", "target"}, {"type", "quantitative"}}},
                                  {"y", {{"value", 0}}}, {"text", {{"field", "label"}}}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.recommended"}}})},
                    {"mark", {{"type", "point"}, {"shape", "diamond"}, {"size", 420}, {"filled", false},
                              {"strokeWidth", 3}, {"color", "#000"}}},
                    {"encoding", {{"x", x}, {"y", y}, {"tooltip", tooltip}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.recommended"}}})},
                    {"mark", {{"type", "text"}, {"align", "left"}, {"dx", 14}, {"dy", -12}, {"fontWeight", "bold"}}},
                    {"encoding", {{"x", x}, {"y", y}, {"text", {{"value", "recommended"}}}}}});
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
          {"title", title},
          {"width", 560},
          {"height", 340},
          {"data", {{"values", values}}},
          {"layer", layers},
          {"resolve", {{"scale", {{"shape", "independent"}}}}}};
}

/// Multi-fidelity: one small chart per arm (faceted) of the efSearch needed vs base rows, log-log:
/// the sample levels (line), the prediction at full size with its interval (rule), and what
/// auto-ef measured there (diamond).
json ef_scaling_chart(const std::vector<ef_scaling>& scaling) {
  json values = json::array();
  for (const auto& s : scaling) {
    for (const auto& [n, ef] : s.needed)
      values.push_back({{"arm", s.arm}, {"n", n}, {"ef", ef}, {"what", "needed on a sample"}});
    values.push_back({{"arm", s.arm}, {"n", s.n_full}, {"ef", s.predicted}, {"lo", s.lo}, {"hi", s.hi},
                      {"what", "predicted (interval)"}});
    if (s.measured)
      values.push_back({{"arm", s.arm}, {"n", s.n_full}, {"ef", static_cast<double>(*s.measured)},
                        {"what", "measured at full size"}});
  }
  const json x = {{"field", "n"}, {"type", "quantitative"}, {"title", "base rows (log)"}, {"scale", {{"type", "log"}}}};
  const json y = {{"field", "ef"}, {"type", "quantitative"}, {"title", "efSearch needed (log)"},
                  {"scale", {{"type", "log"}}}};
  const json color = {{"field", "what"}, {"type", "nominal"}, {"title", ""}};
  const json tip = json::array({{{"field", "arm"}}, {{"field", "what"}}, {{"field", "n"}, {"format", ","}},
                                {{"field", "ef"}, {"format", ".1f"}}, {{"field", "lo"}}, {{"field", "hi"}}});
  json layers = json::array();
  layers.push_back({{"transform", json::array({{{"filter", "datum.what == 'needed on a sample'"}}})},
                    {"mark", {{"type", "line"}, {"point", true}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.what == 'predicted (interval)'"}}})},
                    {"mark", {{"type", "rule"}, {"strokeWidth", 3}}},
                    {"encoding", {{"x", x}, {"y", {{"field", "lo"}, {"type", "quantitative"}}}, {"y2", {{"field", "hi"}}},
                                  {"color", color}, {"tooltip", tip}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.what == 'predicted (interval)'"}}})},
                    {"mark", {{"type", "tick"}, {"thickness", 2}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip}}}});
  layers.push_back({{"transform", json::array({{{"filter", "datum.what == 'measured at full size'"}}})},
                    {"mark", {{"type", "point"}, {"shape", "diamond"}, {"size", 120}, {"filled", true}}},
                    {"encoding", {{"x", x}, {"y", y}, {"color", color}, {"tooltip", tip}}}});
  return {{"$schema", "https://vega.github.io/schema/vega-lite/v6.json"},
          {"title", "efSearch needed vs base size (multi-fidelity)"},
          {"data", {{"values", values}}},
          {"facet", {{"field", "arm"}, {"type", "nominal"}, {"title", ""}}},
          {"columns", 3},
          {"spec", {{"width", 180}, {"height", 120}, {"layer", layers}}},
          {"resolve", {{"scale", {{"y", "independent"}}}}}};
}

table ef_scaling_table(const std::vector<ef_scaling>& scaling) {
  table t;
  t.id = "ef-scaling";
  t.header = {"arm", "efSearch needed on the samples (rows: ef)", "predicted at full size", "interval",
              "measured at full size", "inside"};
  for (const auto& s : scaling) {
    std::string levels;
    for (const auto& [n, ef] : s.needed) levels += (levels.empty() ? "" : ", ") + std::to_string(n) + ": " + fmt(ef, 1);
    t.rows.push_back({table_cell{s.arm, {}, {}}, table_cell{levels, {}, {}},
                      table_cell{fmt(s.predicted, 1), s.predicted, "efSearch = a * n^" + fmt(s.exponent, 3)},
                      table_cell{"[" + fmt(s.lo, 0) + ", " + fmt(s.hi, 0) + "]", s.lo, {}},
                      s.measured ? table_cell{std::to_string(*s.measured), static_cast<double>(*s.measured), {}}
                                 : table_cell{"not measured", {}, {}},
                      table_cell{s.measured ? (s.inside() ? "yes" : "no") : "", {}, {}}});
  }
  return t;
}

}  // namespace

/// Warnings about where the latency figures came from: points flagged noisy (a busy machine),
/// and a latency front whose points were measured on hosts with different CPUs (sharded runs).
std::string machine_notes(const std::vector<measured_point>& pts, const std::vector<bool>& f_qps,
                          const std::vector<bool>& f_p99) {
  std::size_t noisy = 0;
  std::set<std::string> front_cpus, front_hosts;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    noisy += pts[i].noisy ? 1 : 0;
    if ((f_qps[i] || f_p99[i]) && !pts[i].cpu.empty()) front_cpus.insert(pts[i].cpu), front_hosts.insert(pts[i].host);
  }
  std::ostringstream s;
  if (noisy)
    s << " WARNING: " << noisy << " point" << (noisy == 1 ? " was" : "s were")
      << " measured on a busy machine (marked [noisy]); their latency figures are unreliable.";
  if (front_cpus.size() > 1) {
    s << " WARNING: the latency fronts mix " << front_hosts.size() << " hosts with " << front_cpus.size()
      << " different CPUs (";
    std::size_t j = 0;
    for (const auto& c : front_cpus) s << (j++ ? "; " : "") << c;
    s << "): latency and QPS are not comparable across them.";
  }
  return s.str();
}

page sweep_report_page(const sweep_report_input& in) {
  const auto& pts = in.points;
  const std::string k = in.k ? std::to_string(in.k) : std::string("k");
  const std::string recall_title = "recall@" + k + " (" + (in.steer_by == recall_measure::ids ? "ids" : "distance") +
                                   ", tuning queries)";
  // Fronts per codec, on tuning recall (the figure the recommendation steers by).
  std::map<std::string, std::vector<std::size_t>> groups;
  for (std::size_t i = 0; i < pts.size(); ++i) groups[codec_label(pts[i])].push_back(i);
  std::vector<bool> f_qps(pts.size()), f_p99(pts.size()), f_bytes(pts.size());
  auto bpv = [](const measured_point& p) {
    return p.n_base ? static_cast<double>(p.total_bytes()) / static_cast<double>(p.n_base) : 0.0;
  };
  for (const auto& [codec, idx] : groups) {
    std::vector<std::vector<double>> a, b, c;
    for (std::size_t i : idx) {
      const double r = -tuning_recall(pts[i], in.steer_by);
      a.push_back({r, -pts[i].qps_single.median});
      b.push_back({r, pts[i].latency_p99_us.median});
      c.push_back({r, bpv(pts[i])});
    }
    for (std::size_t j : non_dominated(a)) f_qps[idx[j]] = true;
    for (std::size_t j : non_dominated(b)) f_p99[idx[j]] = true;
    for (std::size_t j : non_dominated(c)) f_bytes[idx[j]] = true;
  }
  json values = json::array();
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const auto& p = pts[i];
    const recall_ci& r = in.steer_by == recall_measure::ids ? p.tuning_recall_ids : p.tuning_recall_distance;
    values.push_back({{"config", p.describe()},
                      {"codec", codec_label(p)},
                      {"m", p.config.m},
                      {"ef_construction", p.config.ef_construction},
                      {"ef_search", p.config.ef_search},
                      {"rerank", p.config.rerank},
                      {"rerank_label", p.config.rerank ? "x" + std::to_string(p.config.rerank) : std::string("off")},
                      {"recall", r.value},
                      {"recall_ci", "[" + fmt(r.lo, 4) + ", " + fmt(r.hi, 4) + "]"},
                      {"val_recall", validation_recall(p, in.steer_by)},
                      {"qps", p.qps_single.median},
                      {"qps_batch", p.qps_batch.median},
                      {"p50", p.latency_p50_us.median},
                      {"p99", p.latency_p99_us.median},
                      {"bytes_per_vector", bpv(p)},
                      {"front_qps", static_cast<bool>(f_qps[i])},
                      {"front_p99", static_cast<bool>(f_p99[i])},
                      {"front_bytes", static_cast<bool>(f_bytes[i])},
                      {"recommended", in.recommended && *in.recommended == i},
                      {"noisy", p.noisy},
                      {"host", p.host}});
  }
  page pg;
  pg.title = "qtune sweep report: " + in.name;
  pg.facts = in.facts;
  {
    std::ostringstream s;
    s << pts.size() << " measured points; target recall " << fmt(in.target_recall, 4) << " (" << recall_title
      << "). " << in.outcome;
    if (in.recommended) {
      const auto& p = pts[*in.recommended];
      s << ": tuning recall " << fmt(tuning_recall(p, in.steer_by), 4) << ", validation recall "
        << fmt(validation_recall(p, in.steer_by), 4) << ", p50 " << fmt(p.latency_p50_us.median, 1) << " us, p99 "
        << fmt(p.latency_p99_us.median, 1) << " us, " << fmt(p.qps_single.median, 0) << " QPS, "
        << fmt(bpv(p), 1) << " bytes/vector.";
    }
    s << machine_notes(pts, f_qps, f_p99);
    pg.summary = s.str();
  }
  pg.charts.push_back({"chart-qps",
                       recall_chart("Recall vs throughput", recall_title, "qps", "queries per second (1 thread, log)",
                                    true, "front_qps", in.target_recall, values),
                       "Lines: the Pareto front of each codec (no point of that codec has both higher recall and "
                       "higher QPS). Dashed red: the target. Diamond: the recommended configuration."});
  pg.charts.push_back({"chart-p99",
                       recall_chart("Recall vs tail latency", recall_title, "p99",
                                    "p99 latency (us, 1 query at a time, log)", true, "front_p99", in.target_recall, values),
                       "p99 of single-query latency on one thread, median over repetitions."});
  pg.charts.push_back({"chart-bytes",
                       recall_chart("Recall vs memory", recall_title, "bytes_per_vector",
                                    "bytes per vector (graph + codes + rerank vectors)", false, "front_bytes",
                                    in.target_recall, values),
                       "Analytic memory per base vector; rerank settings count the full-precision vectors they read."});
  table t;
  t.id = "points";
  t.header = {"configuration", "codec", "M", "efC", "efSearch", "rerank", "recall (tuning)", "95% interval",
              "recall (validation)", "p50 us", "p99 us", "QPS 1 thread", "QPS batch", "bytes/vector", "build s",
              "fronts"};
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const auto& p = pts[i];
    const recall_ci& r = in.steer_by == recall_measure::ids ? p.tuning_recall_ids : p.tuning_recall_distance;
    auto n = [](double v, int prec) { return table_cell{fmt(v, prec), v, {}}; };
    std::string fronts;
    if (f_qps[i]) fronts += "qps ";
    if (f_p99[i]) fronts += "p99 ";
    if (f_bytes[i]) fronts += "bytes";
    t.rows.push_back({table_cell{p.describe() + (in.recommended && *in.recommended == i ? "  (recommended)" : "") +
                                     (p.noisy ? "  [noisy]" : ""),
                                 {}, p.key() + (p.host.empty() ? std::string() : " on " + p.host) +
                                         (p.noisy ? ": measured on a busy machine, latency unreliable" : "")},
                      table_cell{codec_label(p), {}, {}},
                      n(static_cast<double>(p.config.m), 0),
                      n(static_cast<double>(p.config.ef_construction), 0),
                      n(static_cast<double>(p.config.ef_search), 0),
                      n(static_cast<double>(p.config.rerank), 0),
                      n(r.value, 4),
                      table_cell{"[" + fmt(r.lo, 4) + ", " + fmt(r.hi, 4) + "]", r.lo, {}},
                      n(validation_recall(p, in.steer_by), 4),
                      n(p.latency_p50_us.median, 1),
                      n(p.latency_p99_us.median, 1),
                      n(p.qps_single.median, 0),
                      n(p.qps_batch.median, 0),
                      n(bpv(p), 1),
                      n(p.build_seconds, 2),
                      table_cell{fronts, {}, "Pareto fronts of its codec this point lies on"}});
    if (in.recommended && *in.recommended == i) t.highlight.push_back(i);
  }
  pg.tables.push_back(std::move(t));
  pg.table_titles.push_back("All measured points");
  if (!in.scaling.empty()) {
    std::size_t measured = 0, inside = 0;
    for (const auto& s : in.scaling) measured += s.measured ? 1 : 0, inside += s.inside() ? 1 : 0;
    pg.charts.push_back({"chart-ef-scaling", ef_scaling_chart(in.scaling),
                         "Multi-fidelity: the efSearch each surviving arm needed on the nested samples, the "
                         "log-log fit's prediction for the full base with its bootstrap interval, and what auto-ef "
                         "measured there: inside the interval for " + std::to_string(inside) + " of " +
                             std::to_string(measured) + " arms measured at full size."});
    pg.tables.push_back(ef_scaling_table(in.scaling));
    pg.table_titles.push_back("efSearch needed vs base size (multi-fidelity)");
  }
  return pg;
}

std::string render_sweep_report(const sweep_report_input& in) { return render_page(sweep_report_page(in)); }

}  // namespace qtune::report
