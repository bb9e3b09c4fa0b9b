// Sweep spec YAML (parse_sweep_spec_text): the input is the spec's text.
#include <string>

#include "fuzz_common.hpp"
#include "qtune/sweep_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qtune_fuzz::expect_only_qtune_errors("parse_sweep_spec_text", [&] {
    const qtune::sweep_spec s = qtune::parse_sweep_spec_text(text, "fuzz.yaml");
    (void)qtune::canonical_text(s);
  });
  return 0;
}
