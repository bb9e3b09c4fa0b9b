#include "qtune/progress.hpp"

#include <atomic>
#include <mutex>

namespace qtune {

namespace {
std::atomic<progress_callback*> g_current{nullptr};
std::mutex g_mutex;  // serialises callback calls and scope changes
}  // namespace

progress_scope::progress_scope(progress_callback callback) : callback_(std::move(callback)) {
  std::lock_guard<std::mutex> lock(g_mutex);
  previous_ = g_current.load();
  g_current.store(callback_ ? &callback_ : nullptr);
}

progress_scope::~progress_scope() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_current.store(previous_);
}

bool progress_enabled() noexcept { return g_current.load(std::memory_order_relaxed) != nullptr; }

void report_progress(const progress_event& event) {
  if (!progress_enabled()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  if (progress_callback* cb = g_current.load()) (*cb)(event);
}

void report_progress(const std::string& phase, std::uint64_t done, std::uint64_t total, const std::string& message) {
  if (!progress_enabled()) return;
  report_progress(progress_event{phase, done, total, message, false});
}

}  // namespace qtune
