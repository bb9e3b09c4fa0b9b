#pragma once
// Shared by the sweep commands (tune SPEC, tune plan/run/merge/submit): the spec overrides
// every one of them takes, loading a spec with them, and the SIGINT/SIGTERM stop flag.
#include <csignal>

#include <atomic>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "qtune/sweep_spec.hpp"

namespace qtune::cli {

/// --target-recall, --output/-o, --threads, --k.
inline void add_spec_overrides(CLI::App* app, spec_overrides& o, const char* output_help) {
  app->add_option("--target-recall", o.target_recall, "Recall@k to reach (overrides the spec's target_recall)");
  app->add_option("--output,-o", o.output, output_help);
  app->add_option("--threads", o.threads, "Threads for builds and batch QPS (0 = all cores)");
  app->add_option("--k", o.k, "k of recall@k (overrides the spec)");
}

/// parse_sweep_spec(path) with the overrides applied; a missing path is a usage error.
inline sweep_spec load_spec(const std::string& path, const spec_overrides& o, const char* usage) {
  if (path.empty()) throw exit_with{exit_usage, usage};
  sweep_spec spec = parse_sweep_spec(path);
  apply_overrides(spec, o);
  return spec;
}

/// Set by SIGINT/SIGTERM once install_stop_handlers() ran; a second signal ends the process.
inline std::atomic<bool>& stop_flag() {
  static std::atomic<bool> stop{false};
  return stop;
}

extern "C" inline void qtune_cli_on_stop_signal(int) { stop_flag().store(true); }

inline void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = qtune_cli_on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace qtune::cli
