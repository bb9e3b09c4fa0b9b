#pragma once
// Number formatting shared by the reports, the CLI and the tuner. Internal to the library.
#include <cstdio>
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

}  // namespace qtune
