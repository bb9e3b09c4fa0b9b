// The root command: `tune [options] SPEC.yaml` runs a sweep (qtune/sweep.hpp). Subcommands
// registered by other cmd_*.cpp files take precedence over the positional SPEC.
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "cli/progress_bar.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "cli/html_report.hpp"
#include "util/atomic_file.hpp"

namespace {

struct tune_options {
  std::string spec;
  double target_recall = -1;
  std::string output;
  long threads = -1;
  long k = -1;
  bool dry_run = false, resume = false, quiet = false, example = false;
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void run_tune(const tune_options& o) {
  using namespace qtune;
  if (o.example) {
    std::cout << example_spec_text();
    return;
  }
  if (o.spec.empty())
    throw cli::exit_with{cli::exit_usage,
                         "a sweep spec is required: tune [options] SPEC.yaml (tune --example prints a template, "
                         "tune --help lists the commands)"};
  sweep_spec spec = parse_sweep_spec(o.spec);
  if (o.target_recall >= 0) {
    QTUNE_CHECK(o.target_recall > 0 && o.target_recall <= 1, "--target-recall must be in (0, 1], got ",
                o.target_recall);
    spec.target_recall = o.target_recall;
  }
  if (!o.output.empty()) spec.output = o.output;
  if (o.threads >= 0) spec.threads = static_cast<std::size_t>(o.threads);
  if (o.k >= 0) {
    QTUNE_CHECK(o.k >= 1 && o.k <= 1000, "--k must be in 1..1000, got ", o.k);
    spec.k = static_cast<std::size_t>(o.k);
  }

  // Progress of the sweep and of the phases inside it (ground truth) on stderr.
  cli::progress_bar printer(o.quiet);
  progress_scope scope(printer.callback());
  sweep_options opt;
  opt.resume = o.resume;
  opt.dry_run = o.dry_run;
  opt.stop = &g_stop;
  install_signal_handlers();
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
  app.add_option("--target-recall", o->target_recall, "Recall@k to reach (overrides the spec's target_recall)");
  app.add_option("--output,-o", o->output, "Output folder (default results/<spec name>/)");
  app.add_option("--threads", o->threads, "Threads for builds and batch QPS (0 = all cores)");
  app.add_option("--k", o->k, "k of recall@k (overrides the spec)");
  app.add_flag("--dry-run", o->dry_run, "Print the plan (builds, searches, estimated memory and time) and exit");
  app.add_flag("--resume", o->resume, "Keep points already in results.jsonl (same spec) and measure the rest");
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
