#pragma once
// The HTML reports as the CLI sees them: src/report when it was built (QTUNE_HAVE_REPORT=1),
// otherwise stand-ins with the same names that fail with one clear line. The report layer needs
// node/npm at build time; without them everything else builds (see QTUNE_BUILD_REPORT).
#include <optional>
#include <string>

#include "qtune/error.hpp"

#if QTUNE_HAVE_REPORT
#include "report/report.hpp"
#else
#include <filesystem>

#include "qtune/sweep.hpp"
#endif

namespace qtune::cli {
inline constexpr bool have_html_reports = QTUNE_HAVE_REPORT != 0;
}  // namespace qtune::cli

#if !QTUNE_HAVE_REPORT
namespace qtune::report {

using qtune::sweep_report_input;

[[noreturn]] inline void reports_not_built() {
  fail("this tune was built without HTML reports (node/npm were missing at configure time, or "
       "QTUNE_BUILD_REPORT=OFF); rebuild with them to write report.html");
}
inline sweep_report_input load_sweep_dir(const std::filesystem::path&, std::optional<double> = {}) {
  reports_not_built();
}
template <class... Args>
std::string render_sweep_report(const Args&...) {
  reports_not_built();
}
template <class... Args>
std::string render_weights_stats_report(const Args&...) {
  reports_not_built();
}
template <class... Args>
std::string render_weights_plan_report(const Args&...) {
  reports_not_built();
}

}  // namespace qtune::report
#endif
