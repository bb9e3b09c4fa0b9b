#pragma once
// Distance metrics. Everywhere in qtune a *distance* is "smaller is closer":
//   l2     -> squared Euclidean distance  sum (x - y)^2
//   ip     -> 1 - <x, y>                  (hnswlib's InnerProductSpace convention)
//   cosine -> 1 - <x, y> on vectors normalised once, at load (so it is ip after loading)
// This matches the *_groundtruth_dist.fvecs files in ../shared/data.
#include <string>
#include <string_view>

namespace qtune {

enum class metric { l2, ip, cosine };

/// "l2" | "ip" | "cosine" (also accepts ann-benchmarks' "euclidean", "angular", "dot").
/// Throws qtune::error naming the bad value.
metric parse_metric(std::string_view name);
std::string to_string(metric m);

/// The metric codecs and indexes compute after loading: cosine becomes ip.
constexpr metric compute_metric(metric m) { return m == metric::cosine ? metric::ip : m; }

}  // namespace qtune
