// The root command: `tune [options] SPEC.yaml` runs a sweep (qtune/sweep.hpp). Subcommands
// registered by other cmd_*.cpp files take precedence over the positional SPEC.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "cli/progress_bar.hpp"
#include "cli/sweep_cli.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "cli/html_report.hpp"
#include "util/atomic_file.hpp"

namespace {

struct tune_options {
  std::string spec;
  qtune::spec_overrides overrides;
  bool dry_run = false, resume = false, remeasure_noisy = false, quiet = false, example = false, no_confirm = false;
};

void run_tune(const tune_options& o) {
  using namespace qtune;
  if (o.example) {
    std::cout << example_spec_text();
    return;
  }
  const sweep_spec spec = cli::load_spec(o.spec, o.overrides,
                                         "a sweep spec is required: tune [options] SPEC.yaml (tune --example prints "
                                         "a template, tune --help lists the commands)");
  // Progress of the sweep and of the phases inside it (ground truth) on stderr.
  cli::progress_bar printer(o.quiet);
  progress_scope scope(printer.callback());
  sweep_options opt;
  opt.resume = o.resume || o.remeasure_noisy;
  opt.remeasure_noisy = o.remeasure_noisy;
  opt.dry_run = o.dry_run;
  opt.no_confirm = o.no_confirm;
  opt.stop = &cli::stop_flag();
  cli::install_stop_handlers();
  if (cli::have_html_reports)
    opt.write_report = [](const std::filesystem::path& html, const sweep_report_input& in) {
      write_file_atomic(html, report::render_sweep_report(in));
    };
  const sweep_outcome out = run_sweep(spec, opt);
  printer.finish();
  if (out.status == sweep_status::planned) {
    std::cout << out.plan_text;
    return;
  }
  if (out.status == sweep_status::interrupted) throw cli::exit_with{cli::exit_interrupted, out.summary};
  std::cout << out.summary << "\n";
  if (!o.quiet) {
    std::ostringstream t;
    t << std::fixed << std::setprecision(1) << out.seconds;
    std::cout << "sweep took " << t.str() << " s, " << out.points.size() << " points"
              << (out.points_resumed ? " (" + std::to_string(out.points_resumed) + " resumed)" : "") << "\n";
  }
  if (out.status == sweep_status::target_missed) throw cli::exit_with{cli::exit_target_missed, ""};
}

}  // namespace

QTUNE_CLI_COMMAND(tune) {
  auto o = std::make_shared<tune_options>();
  app.add_option("spec", o->spec, "Sweep spec (YAML), e.g. sweeps/default.yaml; see sweeps/README.md");
  qtune::cli::add_spec_overrides(&app, o->overrides, "Output folder (default results/<spec name>/)");
  app.add_flag("--dry-run", o->dry_run, "Print the plan (builds, searches, estimated memory and time) and exit");
  app.add_flag("--resume", o->resume, "Keep points already in results.jsonl (same spec) and measure the rest");
  app.add_flag("--remeasure-noisy", o->remeasure_noisy,
               "With --resume: measure again the points flagged noisy (taken on a busy machine)");
  app.add_flag("--no-confirm", o->no_confirm,
               "Multi-fidelity specs only: stop after the samples and write an EXTRAPOLATED recommendation, "
               "marked measured.at_full_size: false (not measured at full size)");
  app.add_flag("--quiet,-q", o->quiet, "No progress bar or progress lines; print only the result");
  app.add_flag("--example", o->example, "Print a commented template spec and exit");
  app.footer(
      "Exit codes: 0 recommended, 1 error, 2 usage, 3 target recall missed, 4 check failed (tune review), 130 "
      "interrupted (results kept).");
  CLI::App* root = &app;
  app.callback([root, o] {
    if (!root->get_subcommands().empty()) return;  // a subcommand ran instead
    run_tune(*o);
  });
}
