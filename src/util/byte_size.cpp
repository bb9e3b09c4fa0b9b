// Byte sizes: parsed from the spellings people write in specs ("512MiB", "2 GB") and formatted
// for people ("1.5 GiB").
#include "util/byte_size.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "qtune/error.hpp"

namespace qtune {

std::uint64_t parse_byte_size(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ' ' && c != '_') s += c;
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  QTUNE_CHECK(i > 0, "expected a byte size such as 512MiB, 2GB or 1000000, got '", text, "'");
  double value = 0;
  try {
    value = std::stod(s.substr(0, i));
  } catch (...) {
    fail("expected a byte size such as 512MiB, 2GB or 1000000, got '", text, "'");
  }
  std::string unit = s.substr(i);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  double mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "k" || unit == "kb") mult = 1e3;
  else if (unit == "m" || unit == "mb") mult = 1e6;
  else if (unit == "g" || unit == "gb") mult = 1e9;
  else if (unit == "kib") mult = 1024.0;
  else if (unit == "mib") mult = 1024.0 * 1024;
  else if (unit == "gib") mult = 1024.0 * 1024 * 1024;
  QTUNE_CHECK(mult > 0, "unknown byte unit '", s.substr(i), "' in '", text, "' (use B, KB, MB, GB, KiB, MiB, GiB)");
  return static_cast<std::uint64_t>(std::llround(value * mult));
}

std::string human_bytes(double b) {
  char buf[64];
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%.1f B", b);
  return buf;
}

}  // namespace qtune
