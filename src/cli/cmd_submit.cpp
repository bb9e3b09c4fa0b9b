// `tune submit --slurm SPEC` (a chain of sbatch scripts: plan + ground truth, the shard array,
// merge, linked by --dependency=afterok) and `tune submit --k8s SPEC -o job.yaml` (Kubernetes
// Jobs: plan, an Indexed Job of shards, merge).
#include <unistd.h>

#include <array>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.hpp"
#include "cli/sweep_cli.hpp"
#include "qtune/error.hpp"
#include "qtune/sweep.hpp"
#include "util/atomic_file.hpp"

namespace qtune::cli {

namespace {

struct submit_options {
  std::string spec, partition, time, mem, job_file, image = "qtune:latest", claim = "qtune-shared",
                                                    mount = "/shared";
  std::size_t cpus = 0, shards = 3;
  spec_overrides overrides;
  bool slurm = false, k8s = false, dry_run = false;
};

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string self_path() {
  std::array<char, 4096> buf{};
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string("tune");
}

/// "--target-recall 0.9 --k 10 --threads 1" for the overrides given.
std::vector<std::string> override_args(const spec_overrides& o) {
  std::vector<std::string> a;
  if (o.target_recall) a.insert(a.end(), {"--target-recall", std::to_string(*o.target_recall)});
  if (o.k) a.insert(a.end(), {"--k", std::to_string(*o.k)});
  if (o.threads) a.insert(a.end(), {"--threads", std::to_string(*o.threads)});
  return a;
}

std::string sbatch_script(const submit_options& o, const std::string& step, const std::filesystem::path& dir,
                          const std::vector<std::string>& command, const std::string& array) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
    << "# qtune " << step << " step of " << o.spec << " (written by tune submit --slurm)\n"
    << "#SBATCH --job-name=qtune-" << step << "\n"
    << "#SBATCH --output=" << (dir / "slurm" / (step + (array.empty() ? "-%j.out" : "-%a-%A.out"))).string() << "\n";
  if (!array.empty()) s << "#SBATCH --array=" << array << "\n";
  if (!o.partition.empty()) s << "#SBATCH --partition=" << o.partition << "\n";
  if (!o.time.empty()) s << "#SBATCH --time=" << o.time << "\n";
  if (o.cpus) s << "#SBATCH --cpus-per-task=" << o.cpus << "\n";
  if (!o.mem.empty()) s << "#SBATCH --mem=" << o.mem << "\n";
  s << "set -euo pipefail\nexec";
  for (const auto& a : command) s << " " << shell_quote(a);
  s << "\n";
  return s.str();
}

/// Runs sbatch; returns the job id (--parsable prints "id[;cluster]").
std::string sbatch(const std::vector<std::string>& args) {
  std::string cmd = "sbatch --parsable";
  for (const auto& a : args) cmd += " " + shell_quote(a);
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  QTUNE_CHECK(p, "cannot run sbatch");
  std::string out;
  std::array<char, 512> buf;
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  QTUNE_CHECK(status == 0, "sbatch failed (", cmd, "): ", out);
  return out.substr(0, out.find(';'));
}

void submit_slurm(const submit_options& o, const sweep_spec& spec) {
  const std::filesystem::path dir = std::filesystem::absolute(output_dir_of(spec)).lexically_normal();
  const std::string tune = self_path(), spec_file = std::filesystem::absolute(o.spec).string();
  std::vector<std::string> common = {"-o", dir.string()};
  for (const auto& a : override_args(o.overrides)) common.push_back(a);
  auto cmd = [&](std::vector<std::string> head) {
    head.insert(head.begin(), tune);
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  const std::filesystem::path sd = dir / "slurm";
  std::filesystem::create_directories(sd);
  write_file_atomic(sd / "plan.sbatch", sbatch_script(o, "plan", dir, cmd({"plan", spec_file, "--quiet"}), ""));
  write_file_atomic(sd / "run.sbatch",
                    sbatch_script(o, "run", dir, cmd({"run", spec_file, "--quiet", "--shards", std::to_string(o.shards)}),
                                  "0-" + std::to_string(o.shards - 1)));
  write_file_atomic(sd / "merge.sbatch",
                    sbatch_script(o, "merge", dir, {tune, "merge", dir.string(), "--shards", std::to_string(o.shards)}, ""));
  std::cout << "wrote " << (sd / "plan.sbatch").string() << ", run.sbatch (array of " << o.shards
            << " shards), merge.sbatch\n";
  if (o.dry_run) return;
  const std::string plan = sbatch({(sd / "plan.sbatch").string()});
  const std::string run = sbatch({"--dependency=afterok:" + plan, (sd / "run.sbatch").string()});
  const std::string merge = sbatch({"--dependency=afterok:" + run, (sd / "merge.sbatch").string()});
  std::cout << "submitted: plan " << plan << ", run " << run << " (array 0-" << o.shards - 1 << "), merge " << merge
            << "\nwatch: squeue -j " << plan << "," << run << "," << merge << "   results: " << dir.string() << "/\n";
}

std::string k8s_job(const submit_options& o, const std::string& name, const std::vector<std::string>& command,
                    std::size_t completions) {
  std::ostringstream y;
  y << "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: " << name << "\n  labels: {app: qtune}\nspec:\n";
  if (completions) {
    y << "  completionMode: Indexed      # each pod gets JOB_COMPLETION_INDEX = its shard\n"
      << "  completions: " << completions << "\n  parallelism: " << completions << "\n";
  }
  y << "  backoffLimit: " << (completions ? completions * 2 : 2) << "\n"
    << "  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: tune\n"
    << "        image: " << o.image << "\n        command: [";
  for (std::size_t i = 0; i < command.size(); ++i) y << (i ? ", " : "") << "\"" << command[i] << "\"";
  y << "]\n";
  if (o.cpus || !o.mem.empty()) {
    y << "        resources:\n          requests: {";
    if (o.cpus) y << "cpu: \"" << o.cpus << "\"" << (o.mem.empty() ? "" : ", ");
    if (!o.mem.empty()) y << "memory: \"" << o.mem << "\"";
    y << "}\n";
  }
  y << "        volumeMounts: [{name: shared, mountPath: " << o.mount << "}]\n"
    << "      volumes: [{name: shared, persistentVolumeClaim: {claimName: " << o.claim << "}}]\n";
  return y.str();
}

void submit_k8s(const submit_options& o, const sweep_spec& spec) {
  QTUNE_CHECK(!o.job_file.empty(), "tune submit --k8s needs --job-file FILE (the manifest to write)");
  std::string name = spec.name.empty() ? "sweep" : spec.name;
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  const std::string dir = output_dir_of(spec).string(), spec_file = o.spec;
  std::vector<std::string> common = {"-o", dir};
  for (const auto& a : override_args(o.overrides)) common.push_back(a);
  auto cmd = [&](std::vector<std::string> head) {
    head.insert(head.begin(), "tune");
    head.insert(head.end(), common.begin(), common.end());
    return head;
  };
  std::ostringstream y;
  y << "# qtune sweep " << name << " as Kubernetes Jobs (tune submit --k8s). Paths are inside the image's\n"
    << "# shared volume (" << o.mount << ", PersistentVolumeClaim " << o.claim << "). Apply in order:\n"
    << "#   kubectl apply -f FILE -l step=plan  && kubectl wait --for=condition=complete job/qtune-" << name << "-plan\n"
    << "#   kubectl apply -f FILE -l step=run   && kubectl wait --for=condition=complete --timeout=24h job/qtune-"
    << name << "-run\n"
    << "#   kubectl apply -f FILE -l step=merge\n";
  auto with_step = [](std::string job, const std::string& step) {
    const std::string from = "labels: {app: qtune}";
    job.replace(job.find(from), from.size(), "labels: {app: qtune, step: " + step + "}");
    return job;
  };
  y << "---\n" << with_step(k8s_job(o, "qtune-" + name + "-plan", cmd({"plan", spec_file, "--quiet"}), 0), "plan");
  y << "---\n"
    << with_step(k8s_job(o, "qtune-" + name + "-run",
                         cmd({"run", spec_file, "--quiet", "--shards", std::to_string(o.shards)}), o.shards),
                 "run");
  y << "---\n"
    << with_step(k8s_job(o, "qtune-" + name + "-merge",
                         {"tune", "merge", dir, "--shards", std::to_string(o.shards)}, 0),
                 "merge");
  write_file_atomic(o.job_file, y.str());
  std::cout << "wrote " << o.job_file << ": plan Job, Indexed Job of " << o.shards << " shards, merge Job\n";
}

void run_submit(const submit_options& o) {
  QTUNE_CHECK(o.slurm != o.k8s, "tune submit: give exactly one of --slurm or --k8s");
  QTUNE_CHECK(o.shards >= 1, "--shards must be at least 1");
  const sweep_spec spec = load_spec(o.spec, o.overrides, "tune submit --slurm|--k8s SPEC.yaml: a spec is required");
  if (o.slurm) submit_slurm(o, spec);
  else submit_k8s(o, spec);
}

}  // namespace

}  // namespace qtune::cli

QTUNE_CLI_COMMAND(submit) {
  using namespace qtune::cli;
  auto o = std::make_shared<submit_options>();
  auto* sub = app.add_subcommand("submit", "Submit a sharded sweep to Slurm (sbatch chain) or write Kubernetes Jobs");
  sub->add_option("spec", o->spec, "Sweep spec (YAML)")->required();
  sub->add_flag("--slurm", o->slurm, "Write and submit sbatch scripts: plan -> array of shards -> merge (afterok)");
  sub->add_flag("--k8s", o->k8s, "Write a Kubernetes manifest (plan Job, Indexed Job of shards, merge Job)");
  sub->add_option("--shards", o->shards, "Array tasks / Indexed Job completions")->capture_default_str();
  sub->add_option("--partition", o->partition, "sbatch --partition");
  sub->add_option("--time", o->time, "sbatch --time");
  sub->add_option("--cpus-per-task", o->cpus, "sbatch --cpus-per-task / pod cpu request");
  sub->add_option("--mem", o->mem, "sbatch --mem / pod memory request");
  sub->add_option("--job-file", o->job_file, "--k8s: the manifest to write");
  sub->add_option("--image", o->image, "--k8s: container image with tune")->capture_default_str();
  sub->add_option("--volume-claim", o->claim, "--k8s: PersistentVolumeClaim of the shared folder")->capture_default_str();
  sub->add_option("--mount", o->mount, "--k8s: where the shared volume is mounted")->capture_default_str();
  sub->add_flag("--dry-run", o->dry_run, "--slurm: only write the scripts");
  add_spec_overrides(sub, o->overrides, "Output folder on the shared filesystem (default results/<spec name>/)");
  sub->callback([o] { run_submit(*o); });
}
