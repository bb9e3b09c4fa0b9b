#include "qtune/metric.hpp"

#include "qtune/error.hpp"

namespace qtune {

metric parse_metric(std::string_view name) {
  if (name == "l2" || name == "euclidean" || name == "L2") return metric::l2;
  if (name == "ip" || name == "dot" || name == "inner_product") return metric::ip;
  if (name == "cosine" || name == "angular") return metric::cosine;
  fail("unknown metric '", name, "' (expected l2, ip or cosine)");
}

std::string to_string(metric m) {
  switch (m) {
    case metric::l2: return "l2";
    case metric::ip: return "ip";
    case metric::cosine: return "cosine";
  }
  return "?";
}

}  // namespace qtune
