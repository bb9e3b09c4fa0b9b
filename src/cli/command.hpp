#pragma once
// How the `tune` CLI is assembled: each src/cli/cmd_*.cpp registers itself with
// QTUNE_CLI_COMMAND, so adding a subcommand touches no other file.
//
//   QTUNE_CLI_COMMAND(groundtruth) {           // `app` is the root CLI::App
//     auto* sub = app.add_subcommand("groundtruth", "Exact k-NN ground truth");
//     auto opts = std::make_shared<options>();
//     sub->add_option(...);
//     sub->callback([opts] { run(*opts); });    // throw qtune::error or cli::exit_with
//   }
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace qtune::cli {

/// Distinct exit codes of `tune` (documented in the README).
enum exit_code : int {
  exit_ok = 0,
  exit_error = 1,           ///< bad input, I/O error, any qtune::error
  exit_usage = 2,           ///< bad command line
  exit_target_missed = 3,   ///< the sweep ran, but no configuration reached the target recall
  exit_check_failed = 4,    ///< a review/check found measured figures outside the recorded ones
  exit_interrupted = 130,   ///< stopped by SIGINT/SIGTERM; results so far are on disk
};

/// Thrown by a command to end `tune` with a given code after printing `message` (if any).
struct exit_with {
  int code;
  std::string message;
};

using command_setup = std::function<void(CLI::App& app)>;
bool register_command(const char* name, command_setup setup);

}  // namespace qtune::cli

#define QTUNE_CLI_COMMAND(name)                                                       \
  static void qtune_cli_setup_##name(CLI::App& app);                                  \
  [[maybe_unused]] static const bool qtune_cli_registered_##name =                    \
      ::qtune::cli::register_command(#name, &qtune_cli_setup_##name);                 \
  static void qtune_cli_setup_##name(CLI::App& app)
