#pragma once
// Running a command from a test: the shell, or the `tune` binary built with the tests.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <utility>

namespace qtune::testing {

/// Runs `command` through the shell with stderr joined to stdout; returns {exit code (-1 when it
/// did not exit normally or could not start), stdout + stderr}.
inline std::pair<int, std::string> run_shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return {-1, out};
  std::array<char, 4096> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

#ifdef QTUNE_TUNE_BINARY
/// The `tune` binary with `args` (shell words): run_shell(QTUNE_TUNE_BINARY + " " + args).
inline std::pair<int, std::string> run_tune(const std::string& args) {
  return run_shell(std::string(QTUNE_TUNE_BINARY) + " " + args);
}
#endif

}  // namespace qtune::testing
