// safetensors model files (read_safetensors): the input is the file. A model that loads is
// converted to float tensor by tensor (small tensors only).
#include "fuzz_common.hpp"
#include "qtune/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "in.safetensors");
  qtune_fuzz::expect_only_qtune_errors("read_safetensors", [&] {
    const qtune::weights::model m = qtune::weights::read_safetensors(path);
    for (const auto& t : m.tensors)
      if (t.n_values() <= (1u << 16)) (void)m.to_float(t);
  });
  return 0;
}
