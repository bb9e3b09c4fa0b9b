#pragma once
// Internal to src/tune: the multi-fidelity sweep (issue 10), the steps of qtune/sweep_steps.hpp
// driven over nested samples of the base with successive halving, then confirmed at full size.
// run_sweep() calls it when the spec has `fidelity:`.
//
//   1. Levels: spec.fidelity.levels (or fidelity::default_fractions), nested seeded samples
//      (fidelity::nested_sample_ids), each with exact ground truth for the tuning queries,
//      computed once and cached by content hash.
//   2. At every level below full size, each surviving arm (a build with one rerank factor) is
//      built on the sample; auto-ef finds its smallest efSearch reaching the target, starting
//      from the efSearch predicted from the levels below; its objective is measured there with
//      an interval over repetitions. fidelity::successive_halving keeps the arms whose interval
//      overlaps the best one's; the others are dropped with the reason.
//   3. For each survivor the efSearch needed at full size is predicted with a bootstrap interval
//      (fidelity::predict_ef). At full size auto-ef starts from it (galloping both ways) and each
//      survivor is measured by measure_unit() exactly as a plain sweep measures.
//   4. finalize_sweep() recommends from the full-size points only (validated on the held-out
//      queries); recommended.yaml gets the search_cost block.
//
// results.jsonl receives, besides the full-size points, {"record": "fidelity_level", ...} lines
// (per level and arm: efSearch needed, cost and interval, keep/drop and why) and
// {"record": "ef_scaling", ...} lines (per arm: needed efSearch per level, predicted vs measured
// at full size). read_results_jsonl() skips them; read_ef_scaling() reads the latter.
#include "qtune/sweep.hpp"

namespace qtune::detail {

/// Runs a spec with spec.fidelity.enabled. options.dry_run returns the plan with both time
/// estimates (exhaustive and multi-fidelity); options.no_confirm stops after the sample levels
/// and writes an extrapolated recommendation marked measured.at_full_size: false.
sweep_outcome run_multi_fidelity(const sweep_spec& spec, const sweep_options& options);

}  // namespace qtune::detail
