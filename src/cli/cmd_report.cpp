// `tune report DIR`: the self-contained HTML report of a sweep's output folder (also written by
// every sweep as DIR/report.html).
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command.hpp"
#include "qtune/error.hpp"
#include "qtune/sweep.hpp"
#include "cli/html_report.hpp"
#include "util/atomic_file.hpp"

namespace {

struct report_options {
  std::string dir;
  std::string output;
  double target_recall = -1;
};

void run_report(const report_options& o) {
  std::optional<double> target;
  if (o.target_recall >= 0) {
    QTUNE_CHECK(o.target_recall > 0 && o.target_recall <= 1, "--target-recall must be in (0, 1], got ",
                o.target_recall);
    target = o.target_recall;
  }
  const qtune::report::sweep_report_input in = qtune::report::load_sweep_dir(o.dir, target);
  const std::filesystem::path out = o.output.empty() ? std::filesystem::path(o.dir) / "report.html" : std::filesystem::path(o.output);
  qtune::write_file_atomic(out, qtune::report::render_sweep_report(in));
  std::cout << "wrote " << out.string() << " (" << in.points.size() << " points)\n";
}

}  // namespace

QTUNE_CLI_COMMAND(report) {
  auto* sub = app.add_subcommand("report", "Write the HTML report (charts, table) of a sweep's output folder");
  auto o = std::make_shared<report_options>();
  sub->add_option("dir", o->dir, "A sweep's output folder (holds results.jsonl)")->required();
  sub->add_option("-o,--output", o->output, "HTML file to write (default DIR/report.html)");
  sub->add_option("--target-recall", o->target_recall,
                  "Target line (default: the target in DIR/recommended.yaml; needed when that file is absent)");
  sub->callback([o] { run_report(*o); });
}
