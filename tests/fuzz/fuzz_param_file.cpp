// Recommended parameter file (parse_param_file_text): the input is the file's text. A file that
// loads must render again without error.
#include <string>

#include "fuzz_common.hpp"
#include "qtune/param_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  qtune_fuzz::expect_only_qtune_errors("parse_param_file_text", [&] {
    const qtune::recommended_params p = qtune::parse_param_file_text(text, "fuzz.yaml");
    (void)qtune::render_param_file(p);
  });
  return 0;
}
