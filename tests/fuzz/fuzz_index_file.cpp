// qtune index files (load_index, as open_index uses it): the input is the file. An index that
// loads answers one search, so graph and code errors that only show when searching surface too.
#include <cstdint>
#include <vector>

#include "fuzz_common.hpp"
#include "qtune/index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.qidx");
  qtune_fuzz::expect_only_qtune_errors("load_index", [&] {
    const auto idx = qtune::load_index(path);
    if (idx->size() == 0 || idx->dim() == 0 || idx->dim() > (1u << 16)) return;
    std::vector<float> q(idx->dim());
    for (std::size_t j = 0; j < q.size(); ++j) q[j] = float(j % 7) * 0.25f - 0.5f;
    std::int32_t ids[5];
    float d[5];
    idx->search_ef(q.data(), 5, 16, ids, d);
    for (std::int32_t id : ids)
      if (id < -1 || (id >= 0 && std::size_t(id) >= idx->size())) __builtin_trap();  // an id outside the index
  });
  return 0;
}
