#pragma once
// Number formatting shared by the reports, the CLI and the tuner. Internal to the library.
#include <cstdio>
#include <ctime>
#include <string>

namespace qtune {

/// v with `prec` digits after the point ("%.*f"): fixed(0.12345, 3) == "0.123".
inline std::string fixed(double v, int prec) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

/// v in the shortest "%.10g" form, as the parameter files write numbers.
inline std::string general(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

/// The current time in UTC, ISO 8601 to the second: "2026-12-01T03:14:00Z" (the `date` of
/// results, parameter files and deploy checks).
inline std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace qtune
