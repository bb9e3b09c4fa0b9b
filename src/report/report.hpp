#pragma once
// Self-contained HTML reports: one file that works offline, with interactive Vega-Lite charts
// (Vega, Vega-Lite and Vega-Embed are inlined; see src/report/report_web.cmake) and sortable
// tables. Used by the sweep (report.html), `tune report DIR` and `tune weights stats|plan --html`.
//
// The page records its own health for headless checks: <body data-rendered="N"> once all N
// charts have rendered, data-errors="E" counting console.error calls, uncaught errors and
// rejected promises (listed in <pre id="qtune-errors">), and data-done="1" when finished.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "qtune/weights.hpp"
#include "weights/plan_validate.hpp"

namespace qtune::report {

/// One chart: a Vega-Lite spec rendered into <div id="id">.
struct chart {
  std::string id;
  nlohmann::json spec;
  std::string caption;       ///< plain text under the chart (escaped)
};

/// A table: header cells and rows of cells; a cell's `sort` value (number or text) orders it
/// when its column header is clicked.
struct table_cell {
  std::string text;
  std::optional<double> number;  ///< sorts numerically when set
  std::string title;             ///< tooltip (optional)
};
struct table {
  std::string id;
  std::vector<std::string> header;
  std::vector<std::vector<table_cell>> rows;
  std::vector<std::size_t> highlight;  ///< rows to mark (e.g. the recommended point)
};

struct page {
  std::string title;
  std::vector<std::pair<std::string, std::string>> facts;  ///< shown as a definition list
  std::string summary;            ///< one paragraph (plain text)
  std::vector<chart> charts;
  std::vector<table> tables;
  std::vector<std::string> table_titles;  ///< one per table
};

/// The whole HTML document. Everything is escaped; JSON is embedded safely.
std::string render_page(const page& p);
std::string html_escape(const std::string& s);

// --- sweep reports --------------------------------------------------------------------------

/// The sweep's report data (defined by the tuner, qtune/sweep.hpp).
using qtune::sweep_report_input;

/// Reads DIR/results.jsonl and, when present, DIR/recommended.yaml (target, recall measure, k,
/// the recommended point, provenance). Without recommended.yaml the target must be given.
/// Throws qtune::error naming the file on missing or bad input.
sweep_report_input load_sweep_dir(const std::filesystem::path& dir, std::optional<double> target_recall = {});

/// The sweep report: recall vs QPS (log), vs p99 latency, vs bytes per vector, each with the
/// Pareto front per codec, the target line and the recommended point; then a sortable table.
page sweep_report_page(const sweep_report_input& in);
std::string render_sweep_report(const sweep_report_input& in);

/// The point's codec label in the charts: the codec for hnsw, the kind for faiss.
std::string codec_label(const measured_point& p);

// --- weights reports ------------------------------------------------------------------------

/// `tune weights stats`: error (relative RMSE, log) vs bits per weight per tensor, one series per
/// tensor, plus the pooled totals per type; a table of every (tensor, type).
std::string render_weights_stats_report(const weights::model& m,
                                        const std::vector<std::pair<weights::wformat, weights::quantized_model>>& results,
                                        const std::string& model_name);
/// `tune weights plan`: the size-vs-error front with the chosen plan and the budget marked, the
/// chosen type per tensor, and each tensor's own candidates; tables of the plan; with
/// `validation`, the measured KL divergence of the plan beside uniform types and Q4_K_M.
std::string render_weights_plan_report(const weights::plan_result& plan, const std::string& model_name,
                                       std::optional<std::uint64_t> budget_bytes,
                                       const std::vector<weights::plan_validation_row>& validation = {});

}  // namespace qtune::report
