// search_service: serves one qtune index over HTTP (see search_service.hpp for the endpoints).
//
//   search_service --params recommended.yaml --base base.fvecs [--save-index idx.qidx] --port 8080
//   search_service --params recommended.yaml --index idx.qidx --port 8080
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>
#include <thread>

#include "search_service.hpp"

int main(int argc, char** argv) {
  CLI::App app{"qtune example: an HTTP JSON search service over one index"};
  std::string params_path, base_path, index_path, save_path;
  std::size_t max_base = 0;
  qtune_service::service_options opt;
  app.add_option("--params", params_path, "recommended parameter file (from `tune`)")->required()->check(CLI::ExistingFile);
  auto* base = app.add_option("--base", base_path, "base vectors to build the index from (.fvecs, .npy, .hdf5, ...)")
                   ->check(CLI::ExistingFile);
  auto* idx = app.add_option("--index", index_path, "a saved qtune index file to serve")->check(CLI::ExistingFile);
  base->excludes(idx);
  app.add_option("--max-base", max_base, "use only the first N base rows (0 = all)");
  app.add_option("--save-index", save_path, "after building from --base, save the index here");
  app.add_option("--host", opt.host, "address to listen on")->capture_default_str();
  app.add_option("--port", opt.port, "port (0 = any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
  app.add_option("--threads", opt.threads, "HTTP worker threads")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-k", opt.max_k, "largest k a request may ask for")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--max-body", opt.max_body_bytes, "largest request body in bytes")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (base_path.empty() == index_path.empty()) {
    std::cerr << "search_service: give exactly one of --base or --index\n";
    return 2;
  }

  // SIGINT/SIGTERM stop the server: the handler (which may run on any thread, including ones
  // libraries started before main, e.g. OpenBLAS's pool) only writes a byte to a pipe; a watcher
  // thread reads it and calls stop().
  static int signal_pipe[2] = {-1, -1};
  if (::pipe(signal_pipe) != 0) {
    std::perror("search_service: pipe");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(signal_pipe[1], &byte, 1);
  };
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  try {
    const qtune::recommended_params params = qtune::load_param_file(params_path);
    std::unique_ptr<qtune::index> index;
    if (!index_path.empty()) {
      index = qtune::open_index(index_path, params);
    } else {
      qtune::read_options ro;
      ro.max_rows = max_base;
      const qtune::vectors rows = qtune::read_vectors(base_path, ro);
      index = qtune::build_index(params, rows.view());
      if (!save_path.empty()) index->save(save_path);
    }
    std::cerr << "search_service: " << index->size() << " vectors, dim " << index->dim() << ", "
              << index->config().kind << " " << index->config().codec << "\n";
    qtune_service::search_service service(std::move(index), params, opt);
    const int port = service.bind();
    std::cout << "listening on http://" << opt.host << ":" << port << std::endl;
    std::atomic<bool> signalled{false};
    std::thread watcher([&] {
      char byte = 0;
      while (::read(signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
      }
      signalled = byte == 1;
      service.stop();
    });
    service.serve();
    // serve() returned: a signal stopped it, or it failed (then wake the watcher with byte 2).
    const char wake = 2;
    [[maybe_unused]] const auto n = ::write(signal_pipe[1], &wake, 1);
    watcher.join();
    if (!signalled) std::cerr << "search_service: the server stopped unexpectedly\n";
    return signalled ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "search_service: " << e.what() << "\n";
    return 1;
  }
}
