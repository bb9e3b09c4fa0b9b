// Entry point of `tune`: builds the CLI from the registered commands, runs it, and maps
// every failure to one clear line on stderr and a distinct exit code.
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>

#include "cli/command.hpp"
#include "qtune/error.hpp"
#include "qtune/version.hpp"

namespace qtune::cli {

static std::map<std::string, command_setup>& registry() {
  static std::map<std::string, command_setup> commands;
  return commands;
}

bool register_command(const char* name, command_setup setup) {
  registry().emplace(name, std::move(setup));
  return true;
}

}  // namespace qtune::cli

int main(int argc, char** argv) {
  using namespace qtune::cli;
  CLI::App app{"qtune: tune vector indexes and quantization by measuring"};
  app.name("tune");
  app.set_version_flag("--version", std::string(qtune::version_string) + " (" + qtune::git_commit + ")");
  app.require_subcommand(0, 1);
  // "sweep" registers the root options/positional (tune [options] SPEC.yaml); the others add
  // subcommands. Registration order is by name, so help output is stable.
  for (auto& [name, setup] : registry()) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tune: " << e.what() << "\n";
    return exit_usage;
  } catch (const exit_with& e) {
    if (!e.message.empty()) std::cerr << "tune: " << e.message << "\n";
    return e.code;
  } catch (const qtune::error& e) {
    std::cerr << "tune: error: " << e.what() << "\n";
    return exit_error;
  } catch (const std::exception& e) {
    std::cerr << "tune: internal error: " << e.what() << "\n";
    return exit_error;
  }
  return exit_ok;
}
