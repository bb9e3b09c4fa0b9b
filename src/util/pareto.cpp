#include "qtune/pareto.hpp"

#include "qtune/error.hpp"

namespace qtune {

std::vector<std::size_t> non_dominated(const std::vector<std::vector<double>>& objectives) {
  const std::size_t n = objectives.size();
  std::vector<std::size_t> front;
  if (n == 0) return front;
  const std::size_t d = objectives[0].size();
  QTUNE_CHECK(d >= 1, "non_dominated: points need at least one objective");
  for (std::size_t i = 0; i < n; ++i)
    QTUNE_CHECK(objectives[i].size() == d, "non_dominated: point ", i, " has ", objectives[i].size(),
                " objectives, expected ", d);
  for (std::size_t i = 0; i < n; ++i) {
    bool dominated = false;
    for (std::size_t j = 0; j < n && !dominated; ++j) {
      if (j == i) continue;
      bool all_le = true, one_lt = false;
      for (std::size_t c = 0; c < d; ++c) {
        if (objectives[j][c] > objectives[i][c]) {
          all_le = false;
          break;
        }
        if (objectives[j][c] < objectives[i][c]) one_lt = true;
      }
      dominated = all_le && one_lt;
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

pareto_fronts compute_fronts(const std::vector<double>& recall, const std::vector<double>& latency,
                             const std::vector<double>& memory) {
  QTUNE_CHECK(recall.size() == latency.size() && recall.size() == memory.size(),
              "compute_fronts: ", recall.size(), " recalls, ", latency.size(), " latencies, ", memory.size(),
              " memory sizes; expected equal counts");
  std::vector<std::vector<double>> rl, rm, rlm;
  for (std::size_t i = 0; i < recall.size(); ++i) {
    rl.push_back({-recall[i], latency[i]});
    rm.push_back({-recall[i], memory[i]});
    rlm.push_back({-recall[i], latency[i], memory[i]});
  }
  return {non_dominated(rl), non_dominated(rm), non_dominated(rlm)};
}

}  // namespace qtune
