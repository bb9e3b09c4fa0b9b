// A sweep's results.jsonl (read_results_jsonl, read_ef_scaling): the input is the file. `tune
// report` and a resumed sweep read it, and a killed writer or a hand edit can leave anything in
// it. Every point read must render to a line that reads back.
#include "fuzz_common.hpp"
#include "qtune/sweep.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = qtune_fuzz::write_input(data, size, "results.jsonl");
  qtune_fuzz::expect_only_qtune_errors("read_results_jsonl", [&] {
    for (const qtune::measured_point& p : qtune::read_results_jsonl(path))
      (void)qtune::from_json_line(qtune::to_json_line(p));
  });
  qtune_fuzz::expect_only_qtune_errors("read_ef_scaling", [&] {
    for (const qtune::ef_scaling& s : qtune::read_ef_scaling(path)) (void)qtune::to_json_line(s);
  });
  return 0;
}
