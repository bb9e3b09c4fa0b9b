// More than one machine: `tune plan`, `tune run --shard I/N`, `tune merge DIR` and
// `tune submit --slurm|--k8s` (qtune/sweep_shard.hpp; README "More than one machine").
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "cli/html_report.hpp"
#include "cli/progress_bar.hpp"
#include "cli/sweep_cli.hpp"
#include "qtune/error.hpp"
#include "qtune/progress.hpp"
#include "qtune/sweep_shard.hpp"
#include "util/atomic_file.hpp"

namespace qtune::cli {

namespace {

struct shard_options {
  std::string spec, shard, dir;
  std::size_t shards = 0;
  spec_overrides overrides;
  bool quiet = false;
};

report_writer html_writer() {
  if (!have_html_reports) return {};
  return [](const std::filesystem::path& html, const sweep_report_input& in) {
    write_file_atomic(html, report::render_sweep_report(in));
  };
}

void say(bool quiet, const std::string& m) {
  if (!quiet) std::cerr << "tune: " << m << "\n";
}

void run_plan(const shard_options& o) {
  const sweep_spec spec = load_spec(o.spec, o.overrides, "tune plan SPEC.yaml [-o DIR]: a sweep spec is required");
  progress_bar bar(o.quiet);
  progress_scope scope(bar.callback());
  const sweep_context ctx(spec);  // computes (and caches) the ground truth: the chain's first step
  const sweep_plan plan = plan_sweep(ctx);
  const std::filesystem::path dir = output_dir_of(spec);
  write_plan_file(dir, plan, spec, o.overrides);
  bar.finish();
  std::cout << plan.text << "wrote " << (dir / "plan.json").string() << ": " << plan.units.size()
            << " units (one build each); run them with: tune run " << o.spec << " -o " << dir.string()
            << " --shard I/N\n";
}

shard_id shard_of(const shard_options& o) {
  if (!o.shard.empty()) return parse_shard(o.shard);
  if (auto s = shard_from_environment(o.shards)) return *s;
  if (o.shards) fail("--shards ", o.shards, " without --shard I/N, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX");
  return {0, 1};
}

void run_run(const shard_options& o) {
  const sweep_spec spec = load_spec(o.spec, o.overrides, "tune run SPEC.yaml --shard I/N [-o DIR]: a spec is required");
  const shard_id shard = shard_of(o);
  install_stop_handlers();
  const sweep_context ctx(spec);
  const sweep_plan plan = plan_sweep(ctx);
  const std::filesystem::path dir = output_dir_of(spec);
  write_plan_file(dir, plan, spec, o.overrides);
  shard_run_options ro;
  ro.stop = &stop_flag();
  ro.on_message = [&](const std::string& m) { say(o.quiet, "shard " + shard.to_string() + ": " + m); };
  const shard_run_result r = run_shard(ctx, plan, dir, shard, ro);
  std::cout << "shard " << shard.to_string() << " on " << host_name() << ": " << r.units << " units, " << r.measured
            << " measured, " << r.skipped << " already done, " << r.failures.size() << " failed -> " << dir.string()
            << "/units/\n";
  if (r.interrupted) throw exit_with{exit_interrupted, "interrupted: finished units are on disk; rerun to continue"};
  if (!r.failures.empty()) {
    std::string msg = "shard " + shard.to_string() + ": " + std::to_string(r.failures.size()) + " units failed:";
    for (const auto& f : r.failures) msg += "\n  " + f;
    throw exit_with{exit_error, msg};
  }
}

void run_merge(const shard_options& o) {
  const std::filesystem::path dir = o.dir;
  const plan_record rec = read_plan_file(dir);
  const sweep_spec spec = spec_of_plan(rec, dir);
  sweep_context_options co;
  co.with_truth = false;  // the units carry their recall; merge only finalizes
  const sweep_context ctx(spec, co);
  const sweep_plan plan = plan_sweep(ctx);
  QTUNE_CHECK(plan.data_hash == rec.data_hash, (dir / "plan.json").string(), ": the data changed since the plan (data hash ",
              plan.data_hash, ", the plan's ", rec.data_hash, ")");
  sweep_outcome out;
  try {
    out = merge_units(ctx, plan, dir, html_writer(), o.shards);
  } catch (const error& e) {
    std::string msg = e.what();
    if (std::filesystem::exists(dir / "slurm" / "run.sbatch"))
      msg += "\nresubmit a shard with: sbatch --array=I " + (dir / "slurm" / "run.sbatch").string() +
             " (then tune merge " + dir.string() + " again)";
    throw exit_with{exit_error, "error: " + msg};
  }
  std::cout << "merged " << plan.units.size() << " units, " << out.points.size() << " points\n" << out.summary << "\n";
  if (out.status == sweep_status::target_missed) throw exit_with{exit_target_missed, ""};
}

}  // namespace

}  // namespace qtune::cli

QTUNE_CLI_COMMAND(shard) {
  using namespace qtune::cli;
  auto o = std::make_shared<shard_options>();
  auto* plan = app.add_subcommand("plan", "Write the sweep's work units (DIR/plan.json) and compute its ground truth");
  plan->add_option("spec", o->spec, "Sweep spec (YAML)")->required();
  add_spec_overrides(plan, o->overrides, "Output folder on the shared filesystem (default results/<spec name>/)");
  plan->add_flag("--quiet,-q", o->quiet, "No progress on stderr");
  plan->callback([o] { run_plan(*o); });

  auto* run = app.add_subcommand("run", "Run one shard of a sweep's units: one atomically written file per unit");
  run->add_option("spec", o->spec, "Sweep spec (YAML)")->required();
  run->add_option("--shard", o->shard, "I/N: run the units with index % N == I (default: from SLURM_ARRAY_TASK_ID/"
                                       "SLURM_ARRAY_TASK_COUNT or JOB_COMPLETION_INDEX + --shards, else all)");
  run->add_option("--shards", o->shards, "Shard count for JOB_COMPLETION_INDEX (Kubernetes Indexed Job)");
  add_spec_overrides(run, o->overrides, "Output folder on the shared filesystem (default results/<spec name>/)");
  run->add_flag("--quiet,-q", o->quiet, "No per-unit lines on stderr");
  run->callback([o] { run_run(*o); });

  auto* merge = app.add_subcommand(
      "merge", "Check a sharded run is complete (exit 1 listing missing/failed units) and write its results");
  merge->add_option("dir", o->dir, "The output folder the shards wrote")->required();
  merge->add_option("--shards", o->shards, "Shard count, to name each missing unit's shard (default: from unit files)");
  merge->callback([o] { run_merge(*o); });
}
