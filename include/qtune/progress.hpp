#pragma once
// Progress of long library phases (ground truth, sweep builds and searches, weight
// quantization), reported through a callback so the library never prints: the CLI installs a
// renderer (a bar with ETA on a terminal, plain periodic lines otherwise, nothing with --quiet).
//
//   qtune::progress_scope scope([](const qtune::progress_event& e) { ... });  // CLI side
//   qtune::report_progress("ground truth", done, total);                    // library side
//
// One callback is installed per process (the innermost live scope wins); report_progress may be
// called from any thread and calls the callback under a mutex, so callbacks need not be
// thread-safe. With no scope installed, report_progress costs one atomic load.
#include <cstdint>
#include <functional>
#include <string>

namespace qtune {

struct progress_event {
  std::string phase;          ///< "ground truth", "sweep", "quantize", ...
  std::uint64_t done = 0;     ///< work units finished in this phase
  std::uint64_t total = 0;    ///< work units planned (0 = unknown)
  std::string message;        ///< what just happened / is starting, one line (may be empty)
  bool is_result = false;     ///< message reports a result worth keeping on screen
  bool transient = false;     ///< a passing status: redrawn on a terminal, only in periodic plain lines
};

using progress_callback = std::function<void(const progress_event&)>;

/// Installs `callback` for library progress while alive; restores the previous one after.
class progress_scope {
 public:
  explicit progress_scope(progress_callback callback);
  ~progress_scope();
  progress_scope(const progress_scope&) = delete;
  progress_scope& operator=(const progress_scope&) = delete;

 private:
  progress_callback* previous_;
  progress_callback callback_;
};

/// True when a callback is installed (to skip building messages nobody reads).
bool progress_enabled() noexcept;
/// Reports progress of `phase` to the installed callback, if any.
void report_progress(const progress_event& event);
void report_progress(const std::string& phase, std::uint64_t done, std::uint64_t total,
                     const std::string& message = {});

}  // namespace qtune
