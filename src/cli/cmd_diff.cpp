// `tune diff A.yaml B.yaml`: what changed between two parameter files, parameters and measured
// figures side by side (changed rows marked with '*', relative change for figures).
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "qtune/param_file.hpp"
#include "qtune/sweep_spec.hpp"

namespace {

struct diff_options {
  std::string a, b;
  bool only_changes = false;
};

std::string num(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

class table {
 public:
  table(const std::string& a, const std::string& b, bool only_changes) : only_changes_(only_changes) {
    line(' ', "", a, b, "");
  }
  void section(const std::string& title) { o_ << title << ":\n"; }
  void text(const std::string& what, const std::string& a, const std::string& b) {
    if (a == b && only_changes_) return;
    line(a == b ? ' ' : '*', what, a, b, "");
    changed_ += a != b;
  }
  void number(const std::string& what, double a, double b, int prec, const std::string& unit = "") {
    const std::string sa = num(a, prec), sb = num(b, prec);
    if (sa == sb && only_changes_) return;
    std::string change;
    if (sa != sb && a != 0) change = (b >= a ? "+" : "") + num(100.0 * (b - a) / a, 1) + "%";
    line(sa == sb ? ' ' : '*', what, sa + unit, sb + unit, change);
    changed_ += sa != sb;
  }
  std::string str() const { return o_.str(); }
  int changed() const { return changed_; }

 private:
  void line(char mark, const std::string& what, const std::string& a, const std::string& b, const std::string& c) {
    char buf[1024];
    std::snprintf(buf, sizeof buf, "%c %-28s %-30s %-30s %s", mark, what.c_str(), a.c_str(), b.c_str(), c.c_str());
    std::string s = buf;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    o_ << s << "\n";
  }
  std::ostringstream o_;
  bool only_changes_;
  int changed_ = 0;
};

void run_diff(const diff_options& o) {
  using namespace qtune;
  const recommended_params a = load_param_file(o.a), b = load_param_file(o.b);
  table t(o.a, o.b, o.only_changes);
  t.section("index");
  t.text("kind", a.config.kind, b.config.kind);
  t.text("codec", a.config.codec, b.config.codec);
  t.text("m", std::to_string(a.config.m), std::to_string(b.config.m));
  t.text("ef_construction", std::to_string(a.config.ef_construction), std::to_string(b.config.ef_construction));
  t.text("ef_search", std::to_string(a.config.ef_search), std::to_string(b.config.ef_search));
  t.text("rerank", std::to_string(a.config.rerank), std::to_string(b.config.rerank));
  t.text("metric", to_string(a.config.distance), to_string(b.config.distance));
  t.text("seed", std::to_string(a.config.seed), std::to_string(b.config.seed));
  t.section("goal");
  t.text("dim", std::to_string(a.dim), std::to_string(b.dim));
  t.text("k", std::to_string(a.k), std::to_string(b.k));
  t.number("target_recall", a.target_recall, b.target_recall, 4);
  t.text("recall measure", a.steer_by == recall_measure::ids ? "ids" : "distance",
         b.steer_by == recall_measure::ids ? "ids" : "distance");
  t.text("objective", to_string(a.objective), to_string(b.objective));
  const auto& ma = a.measured;
  const auto& mb = b.measured;
  t.section("measured");
  t.number("tuning recall (ids)", ma.tuning_recall_ids.value, mb.tuning_recall_ids.value, 4);
  t.number("validation recall (ids)", ma.validation_recall_ids.value, mb.validation_recall_ids.value, 4);
  t.text("  95% interval", "[" + num(ma.validation_recall_ids.lo, 4) + ", " + num(ma.validation_recall_ids.hi, 4) + "]",
         "[" + num(mb.validation_recall_ids.lo, 4) + ", " + num(mb.validation_recall_ids.hi, 4) + "]");
  t.number("tuning recall (distance)", ma.tuning_recall_distance.value, mb.tuning_recall_distance.value, 4);
  t.number("validation recall (distance)", ma.validation_recall_distance.value, mb.validation_recall_distance.value, 4);
  t.number("latency p50", ma.latency_p50_us.median, mb.latency_p50_us.median, 1, " us");
  t.number("latency p95", ma.latency_p95_us.median, mb.latency_p95_us.median, 1, " us");
  t.number("latency p99", ma.latency_p99_us.median, mb.latency_p99_us.median, 1, " us");
  t.number("QPS (1 thread)", ma.qps_single.median, mb.qps_single.median, 0);
  t.number("QPS (batch)", ma.qps_batch.median, mb.qps_batch.median, 0);
  t.number("resident bytes", static_cast<double>(ma.resident_bytes), static_cast<double>(mb.resident_bytes), 0);
  t.number("rerank bytes", static_cast<double>(ma.rerank_bytes), static_cast<double>(mb.rerank_bytes), 0);
  t.number("bytes per vector", ma.n_base ? static_cast<double>(ma.total_bytes()) / ma.n_base : 0,
           mb.n_base ? static_cast<double>(mb.total_bytes()) / mb.n_base : 0, 1);
  t.number("build seconds", ma.build_seconds, mb.build_seconds, 2);
  t.text("base vectors", std::to_string(ma.n_base), std::to_string(mb.n_base));
  t.text("tuning / validation queries", std::to_string(ma.n_tuning) + " / " + std::to_string(ma.n_validation),
         std::to_string(mb.n_tuning) + " / " + std::to_string(mb.n_validation));
  const auto& pa = a.provenance;
  const auto& pb = b.provenance;
  t.section("provenance");
  t.text("dataset_base", pa.base_path, pb.base_path);
  t.text("dataset_base_hash", pa.base_hash, pb.base_hash);
  t.text("dataset_queries", pa.queries_path, pb.queries_path);
  t.text("dataset_queries_hash", pa.queries_hash, pb.queries_hash);
  t.text("spec", pa.spec_path, pb.spec_path);
  t.text("spec_hash", pa.spec_hash, pb.spec_hash);
  t.text("qtune", pa.qtune_version + " " + pa.git_commit, pb.qtune_version + " " + pb.git_commit);
  t.text("cpu", pa.cpu, pb.cpu);
  t.text("simd", pa.simd_level, pb.simd_level);
  t.text("threads", std::to_string(pa.threads), std::to_string(pb.threads));
  t.text("date", pa.date, pb.date);
  std::cout << t.str();
  std::cout << (t.changed() ? std::to_string(t.changed()) + " rows differ (marked *)" : std::string("no differences"))
            << "\n";
}

}  // namespace

QTUNE_CLI_COMMAND(diff) {
  auto* sub = app.add_subcommand("diff", "Show what changed between two parameter files (parameters and figures)");
  auto o = std::make_shared<diff_options>();
  sub->add_option("a", o->a, "The older parameter file")->required();
  sub->add_option("b", o->b, "The newer parameter file")->required();
  sub->add_flag("--changes-only", o->only_changes, "Only rows that differ");
  sub->callback([o] { run_diff(*o); });
}
