#pragma once
// Shared plumbing of the libFuzzer targets (tests/fuzz/fuzz_*.cpp).
//
// Every qtune reader takes a path, so a target writes its input to a per-process file (in
// $QTUNE_FUZZ_TMPDIR, else /dev/shm when it exists, else the temp directory) and calls the
// public reader on it. A qtune::error is the expected answer to a bad input; any other
// exception escaping a reader is a finding (the target aborts so libFuzzer records the input),
// as are the sanitizers' reports, timeouts and allocations over -malloc_limit_mb.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <typeinfo>

#include "qtune/error.hpp"

namespace qtune_fuzz {

inline std::filesystem::path scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base;
    if (const char* d = std::getenv("QTUNE_FUZZ_TMPDIR"); d && *d) base = d;
    else if (std::filesystem::is_directory("/dev/shm")) base = "/dev/shm";
    else base = std::filesystem::temp_directory_path();
    auto p = base / ("qtune-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    // Removed at exit (libFuzzer exits through exit() after a normal run).
    static const std::filesystem::path keep = p;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return p;
  }();
  return dir;
}

/// Writes the input to scratch_dir()/name and returns the path (overwritten on every call).
inline std::filesystem::path write_input(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const auto p = scratch_dir() / name;
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  return p;
}

/// Runs f; qtune::error is fine, anything else aborts with the exception's type and message.
template <class F>
void expect_only_qtune_errors(const char* what, F&& f) {
  try {
    f();
  } catch (const qtune::error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\n%s: a non-qtune exception escaped: %s: %s\n", what, typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "\n%s: an unknown exception escaped\n", what);
    std::abort();
  }
}

}  // namespace qtune_fuzz
