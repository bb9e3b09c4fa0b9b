#pragma once
// Sweeps over many machines (issue 11): the plan's units split into shards that run as separate
// processes (Slurm array tasks, Kubernetes Indexed Job pods), results on a shared folder, one
// file per unit, and a merge that writes what a one-process run writes.
//
//   tune plan SPEC -o DIR          writes DIR/plan.json (the units and the spec to rebuild them)
//   tune run SPEC -o DIR --shard I/N    runs the units with index % N == I into DIR/units/
//   tune merge DIR                 checks every unit is there, then finalizes into DIR
//
// A unit file exists only complete (written atomically), so a killed task loses at most the
// unit it was measuring, and a rerun skips every unit whose file is valid.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qtune/sweep_spec.hpp"
#include "qtune/sweep_steps.hpp"

namespace qtune {

/// Shard `index` of `count` (0 <= index < count).
struct shard_id {
  std::size_t index = 0, count = 1;
  std::string to_string() const { return std::to_string(index) + "/" + std::to_string(count); }
  bool contains(const work_unit& u) const { return u.index % count == index; }
};
/// Parses "I/N"; throws qtune::error ("--shard 3/3: the index must be below the count 3").
shard_id parse_shard(std::string_view text);
/// The shard a scheduler gave this process: SLURM_ARRAY_TASK_ID of `shards` when shards > 0 (so a
/// single task can rerun one shard), else SLURM_ARRAY_TASK_ID less SLURM_ARRAY_TASK_MIN of
/// SLURM_ARRAY_TASK_COUNT; else JOB_COMPLETION_INDEX (Kubernetes Indexed Job) of `shards`
/// (required then). nullopt when none is set. Throws on inconsistent values.
std::optional<shard_id> shard_from_environment(std::size_t shards);

/// DIR/plan.json: what merge needs to rebuild the plan: the spec file, the overrides, the spec
/// and data hashes, and each unit's index, id and build.
struct plan_record {
  std::filesystem::path spec_file;
  spec_overrides overrides;
  std::string spec_hash, data_hash;
  std::vector<std::string> unit_ids;
  std::vector<std::string> unit_builds;
};
void write_plan_file(const std::filesystem::path& dir, const sweep_plan& plan, const sweep_spec& spec,
                     const spec_overrides& overrides);
/// Reads DIR/plan.json; throws qtune::error naming it when absent or corrupt.
plan_record read_plan_file(const std::filesystem::path& dir);
/// The spec a plan record was made from (parsed again, overrides applied, output = dir).
sweep_spec spec_of_plan(const plan_record& rec, const std::filesystem::path& dir);

struct shard_run_options {
  const std::atomic<bool>* stop = nullptr;
  /// Progress lines (one per unit started / finished / skipped).
  std::function<void(const std::string&)> on_message;
  bool remeasure_noisy = true;
};
struct shard_run_result {
  std::size_t units = 0;     ///< units of this shard
  std::size_t measured = 0;  ///< measured now
  std::size_t skipped = 0;   ///< already complete on disk
  std::vector<std::string> failures;  ///< "unit <id> (<build>): <error>"; also in units/<id>.failed
  bool interrupted = false;
};
/// Runs the units of `shard` that have no valid unit file in `dir`, storing each as it ends.
/// A unit that throws is recorded in units/<id>.failed and the next unit runs.
shard_run_result run_shard(const sweep_context& ctx, const sweep_plan& plan, const std::filesystem::path& dir,
                           shard_id shard, const shard_run_options& options = {});

/// Completeness of a folder: each unit done, missing or failed (with the error), and the shard
/// that owns it (index % shards when shards > 0; shards is read from the unit files when 0).
struct unit_state {
  std::size_t index = 0;
  std::string id, build;
  enum { done, missing, failed, corrupt } state = missing;
  std::string error;
  std::size_t shard = 0, shards = 0;  ///< shards 0: unknown
};
std::vector<unit_state> check_units(const std::filesystem::path& dir, const sweep_plan& plan, std::size_t shards = 0);

/// Merges a complete folder: every unit's points in plan order into results.jsonl, then
/// finalize_sweep(). Throws qtune::error listing the missing/failed units when incomplete.
sweep_outcome merge_units(const sweep_context& ctx, const sweep_plan& plan, const std::filesystem::path& dir,
                          const report_writer& writer = {}, std::size_t shards = 0);

}  // namespace qtune
