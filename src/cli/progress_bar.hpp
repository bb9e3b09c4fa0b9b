#pragma once
// The CLI's renderer of library progress (qtune/progress.hpp) on stderr: on a terminal a bar
// with ETA redrawn in place (at most 10 times a second), otherwise plain lines (results and new
// steps as they come, a line with the count at most every 5 s); nothing when quiet.
//
//   qtune::cli::progress_bar bar(quiet);
//   qtune::progress_scope scope(bar.callback());
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "qtune/progress.hpp"

namespace qtune::cli {

class progress_bar {
 public:
  using clock = std::chrono::steady_clock;
  explicit progress_bar(bool quiet) : quiet_(quiet), tty_(::isatty(STDERR_FILENO) == 1) {}
  progress_bar(bool quiet, bool tty) : quiet_(quiet), tty_(tty) {}
  ~progress_bar() { finish(); }
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  progress_callback callback() {
    return [this](const progress_event& e) { (*this)(e); };
  }

  static std::string clock_text(double s) {
    if (!(s >= 0) || s > 359999) return "--:--";
    const long t = static_cast<long>(s + 0.5);
    std::ostringstream o;
    o << t / 60 << ":" << std::setw(2) << std::setfill('0') << t % 60;
    return o.str();
  }

  void operator()(const progress_event& e) {
    if (quiet_) return;
    const auto now = clock::now();
    phase_state& ph = phases_[e.phase];
    if (!ph.started || e.done < ph.last_done) ph.start = now, ph.started = true;
    ph.last_done = e.done;
    const double elapsed = std::chrono::duration<double>(now - ph.start).count();
    const bool final = e.total > 0 && e.done >= e.total;
    const std::string text = e.message.empty() ? e.phase : (e.phase == "sweep" ? e.message : e.phase + ": " + e.message);
    if (!tty_) {
      const bool changed = !e.transient && !e.message.empty() && e.message != ph.last_message;
      const bool periodic = std::chrono::duration<double>(now - ph.last_print).count() >= 5.0;
      if (e.is_result || changed || periodic || (final && !ph.final_printed)) {
        std::cerr << "[" << e.phase << " " << e.done << "/" << e.total << " " << clock_text(elapsed) << "] " << text
                  << "\n";
        ph.last_print = now;
        ph.final_printed = final;
      }
      if (!e.message.empty()) ph.last_message = e.message;
      return;
    }
    if (e.is_result) {
      clear();
      std::cerr << "  " << e.message << "\n";
    } else if (!final && std::chrono::duration<double>(now - last_draw_).count() < 0.1) {
      return;
    }
    clear();
    const double frac = e.total ? static_cast<double>(e.done) / static_cast<double>(e.total) : 0.0;
    const double eta = frac > 0.02 ? elapsed * (1 - frac) / frac : -1;
    int width = 100;
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) width = ws.ws_col;
    const int bar = 30;
    const int filled = static_cast<int>(frac * bar + 0.5);
    std::ostringstream line;
    line << "[" << std::string(filled, '#') << std::string(bar - filled, '.') << "] " << std::setw(3)
         << static_cast<int>(frac * 100 + 0.5) << "%  " << clock_text(elapsed) << " elapsed, ETA " << clock_text(eta)
         << "  " << text;
    std::string s = line.str();
    if (static_cast<int>(s.size()) > width - 1) s.resize(width - 1);
    std::cerr << s << std::flush;
    drawn_ = true;
    last_draw_ = now;
  }
  void finish() {
    if (drawn_) clear();
  }

 private:
  struct phase_state {
    bool started = false, final_printed = false;
    std::uint64_t last_done = 0;
    clock::time_point start{}, last_print{};
    std::string last_message;
  };
  void clear() {
    if (drawn_) std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }
  bool quiet_, tty_;
  bool drawn_ = false;
  clock::time_point last_draw_{};
  std::map<std::string, phase_state> phases_;
};

}  // namespace qtune::cli
