// More than one machine (issue 11) through the `tune` binary: plan / run --shard / merge, a killed
// shard, bad input, sharded ground truth, submit --slurm --dry-run and --k8s, and the real Slurm
// cluster test (tests/cli/slurm_cluster_test.sh).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "data_dir.hpp"
#include "qtune/error.hpp"
#include "qtune/sweep_shard.hpp"
#include "run_command.hpp"
#include "test_data.hpp"

namespace {

using qtune::testing::run_shell;

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string tune = QTUNE_TUNE_BINARY;

struct cli_shard : ::testing::Test {
  fs::path dir, spec;
  void SetUp() override {
    dir = qtune::testing::fresh_test_dir("qtune_shard_");
    qtune::testing::write_clustered_set(dir, 3);
    spec = dir / "spec.yaml";
    std::ofstream(spec) << "name: shardtest\ndataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
                        << "k: 10\ntarget_recall: 0.9\ngrid:\n  codecs: [fp32, sq8, sq4]\n  m: [8]\n"
                        << "  ef_construction: [40]\n  ef_search: [16, 48]\nobjective: memory\nthreads: 1\n"
                        << "repetitions: 1\nwarmup_queries: 10\ncache_dir: cache\n";
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string run(const std::string& args) const { return tune + " " + args; }
};

std::set<std::string> key_recall(const fs::path& jsonl) {
  std::set<std::string> s;
  std::istringstream in(slurp(jsonl));
  for (std::string line; std::getline(in, line);) {
    const auto k = line.find("\"key\":");
    const auto v = line.find("\"validation_recall_ids\":");
    s.insert(line.substr(k, line.find(',', k) - k) + line.substr(v, line.find('}', v) - v));
  }
  return s;
}

TEST_F(cli_shard, three_shards_merge_to_the_one_process_result_and_reruns_do_nothing) {
  const std::string out = (dir / "sharded").string();
  auto [rc, text] = run_shell(run("plan " + spec.string() + " -o " + out + " -q"));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("3 units"), std::string::npos) << text;
  for (int i = 0; i < 3; ++i) {
    std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " -q --shard " + std::to_string(i) + "/3"));
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("1 measured"), std::string::npos) << text;
  }
  std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " -q --shard 1/3"));
  EXPECT_NE(text.find("0 measured, 1 already done"), std::string::npos) << text;  // a rerun does nothing
  std::tie(rc, text) = run_shell(run("merge " + out));
  ASSERT_EQ(rc, 0) << text;
  for (const char* f : {"results.jsonl", "results.csv", "pareto.csv", "recommended.yaml"})
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  std::tie(rc, text) = run_shell(run(spec.string() + " -o " + (dir / "one").string() + " -q"));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(key_recall(fs::path(out) / "results.jsonl"), key_recall(dir / "one" / "results.jsonl"));
  const std::string a = slurp(fs::path(out) / "recommended.yaml"), b = slurp(dir / "one" / "recommended.yaml");
  EXPECT_EQ(a.substr(a.find("index:"), a.find("dim:") - a.find("index:")),
            b.substr(b.find("index:"), b.find("dim:") - b.find("index:")));
  EXPECT_NE(slurp(fs::path(out) / "results.jsonl").find("\"host\":"), std::string::npos);
}

TEST_F(cli_shard, a_killed_shard_loses_only_its_unit_in_flight_and_merge_names_it) {
  const std::string out = (dir / "killed").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(tune.c_str(), tune.c_str(), "run", spec.c_str(), "-o", out.c_str(), "-q", "--shard", "0/1",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Kill it as soon as its first unit file exists: the second unit is in flight.
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    bool unit_done = false;
    if (fs::is_directory(fs::path(out) / "units"))
      for (const auto& e : fs::directory_iterator(fs::path(out) / "units")) unit_done |= e.path().extension() == ".jsonl";
    if (unit_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(fs::path(out) / "units")) {
    // Complete unit files only; a kill during the atomic write may leave its temporary
    // ("<id>.jsonl.tmp.<pid>.<n>"), which no reader takes for a unit.
    if (e.path().filename().string().find(".tmp.") != std::string::npos) continue;
    EXPECT_EQ(e.path().extension(), ".jsonl") << e.path();
    ++files;
  }
  ASSERT_GE(files, 1u);
  ASSERT_LT(files, 3u) << "the shard finished before it was killed";
  auto [rc, text] = run_shell(run("merge " + out + " --shards 1"));
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("shard 0/1: missing"), std::string::npos) << text;
  std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " -q --shard 0/1"));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find(std::to_string(files) + " already done"), std::string::npos) << text;
  std::tie(rc, text) = run_shell(run("merge " + out));
  EXPECT_EQ(rc, 0) << text;
}

TEST_F(cli_shard, bad_input_is_a_clear_error) {
  const std::string out = (dir / "bad").string();
  auto [rc, text] = run_shell(run("run " + spec.string() + " -o " + out + " --shard 3/3"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("--shard 3/3: the index must be below the count 3"), std::string::npos) << text;
  std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " --shard x"));
  EXPECT_NE(text.find("expected I/N"), std::string::npos) << text;
  // Complete a run, then damage its unit files in turn.
  std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " -q"));
  ASSERT_EQ(rc, 0) << text;
  fs::path unit;
  for (const auto& e : fs::directory_iterator(fs::path(out) / "units")) unit = e.path();
  const std::string good = slurp(unit);
  std::ofstream(unit, std::ios::trunc) << good.substr(0, good.size() / 2);
  std::tie(rc, text) = run_shell(run("merge " + out));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("CORRUPT"), std::string::npos) << text;
  EXPECT_NE(text.find(unit.filename().string()), std::string::npos) << text;
  std::ofstream(unit, std::ios::trunc) << good;
  // A folder that mixes specs: another target recall writes units of another hash.
  std::tie(rc, text) = run_shell(run("run " + spec.string() + " -o " + out + " --target-recall 0.8"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("plan of another spec"), std::string::npos) << text;
  fs::copy_file(unit, fs::path(out) / "units" / "u0000-0123456789abcdef.jsonl");
  std::tie(rc, text) = run_shell(run("merge " + out));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("is not a unit of this plan"), std::string::npos) << text;
}

TEST(cli_shard_env, scheduler_indices) {
  ::setenv("SLURM_ARRAY_TASK_ID", "4", 1);
  ::setenv("SLURM_ARRAY_TASK_MIN", "3", 1);
  ::setenv("SLURM_ARRAY_TASK_COUNT", "5", 1);
  auto s = qtune::shard_from_environment(0);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->to_string(), "1/5");
  s = qtune::shard_from_environment(8);  // --shards: the task id is the shard (resubmitting one)
  EXPECT_EQ(s->to_string(), "4/8");
  ::unsetenv("SLURM_ARRAY_TASK_ID");
  ::unsetenv("SLURM_ARRAY_TASK_MIN");
  ::unsetenv("SLURM_ARRAY_TASK_COUNT");
  EXPECT_FALSE(qtune::shard_from_environment(0));
  ::setenv("JOB_COMPLETION_INDEX", "2", 1);
  EXPECT_THROW(qtune::shard_from_environment(0), qtune::error);  // needs --shards
  EXPECT_EQ(qtune::shard_from_environment(3)->to_string(), "2/3");
  EXPECT_THROW(qtune::shard_from_environment(2), qtune::error);   // 2/2 out of range
  ::unsetenv("JOB_COMPLETION_INDEX");
}

TEST_F(cli_shard, sharded_ground_truth_merges_byte_identical) {
  const std::string common = " --base " + (dir / "base.fvecs").string() + " --queries " +
                             (dir / "queries.fvecs").string() + " -k 20 -q";
  auto [rc, text] = run_shell(run("groundtruth" + common + " --no-cache -o " + (dir / "one.ivecs").string()));
  ASSERT_EQ(rc, 0) << text;
  for (int i = 0; i < 4; ++i) {
    std::tie(rc, text) = run_shell(run("groundtruth" + common + " -o " + (dir / "gt.ivecs").string() + " --shard " +
                                std::to_string(i) + "/4"));
    ASSERT_EQ(rc, 0) << text;
  }
  std::tie(rc, text) = run_shell(run("groundtruth --merge --shards 4 -o " + (dir / "gt.ivecs").string()));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(slurp(dir / "gt.ivecs"), slurp(dir / "one.ivecs"));
  EXPECT_EQ(slurp(dir / "gt.fvecs"), slurp(dir / "one.fvecs"));
  fs::remove(dir / "gt.shard-2-of-4.ivecs");
  std::tie(rc, text) = run_shell(run("groundtruth --merge --shards 4 -o " + (dir / "gt.ivecs").string()));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("shard 2/4 has not run"), std::string::npos) << text;
}

TEST_F(cli_shard, the_sweeps_ground_truth_in_shards_fills_the_same_cache_entry) {
  std::string text = slurp(spec);
  text.replace(text.find("cache_dir: cache"), 16, "cache_dir: cache2");
  const fs::path spec2 = dir / "spec2.yaml";
  std::ofstream(spec2) << text;
  auto [rc, out] = run_shell(run("plan " + spec.string() + " -o " + (dir / "p").string() + " -q"));  // one process
  ASSERT_EQ(rc, 0) << out;
  for (int i = 0; i < 3; ++i) {
    std::tie(rc, out) = run_shell(run("groundtruth --spec " + spec2.string() + " -o " + (dir / "g.ivecs").string() +
                               " --shard " + std::to_string(i) + "/3"));
    ASSERT_EQ(rc, 0) << out;
  }
  std::tie(rc, out) = run_shell(run("groundtruth --spec " + spec2.string() + " -o " + (dir / "g.ivecs").string() +
                             " --merge --shards 3"));
  ASSERT_EQ(rc, 0) << out;
  std::vector<fs::path> a, b;
  for (const auto& e : fs::directory_iterator(dir / "cache")) a.push_back(e.path());
  for (const auto& e : fs::directory_iterator(dir / "cache2")) b.push_back(e.path());
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].filename(), b[0].filename());  // the same cache key
  EXPECT_EQ(slurp(a[0]), slurp(b[0]));          // byte-identical
}

TEST_F(cli_shard, submit_writes_an_sbatch_chain_and_a_kubernetes_manifest) {
  const std::string out = (dir / "sub").string();
  auto [rc, text] = run_shell(run("submit --slurm --dry-run " + spec.string() + " -o " + out +
                           " --shards 4 --partition short --time 01:00:00 --cpus-per-task 2 --mem 4G --threads 1"));
  ASSERT_EQ(rc, 0) << text;
  const std::string run_script = slurp(fs::path(out) / "slurm" / "run.sbatch");
  for (const char* want : {"#SBATCH --array=0-3", "#SBATCH --partition=short", "#SBATCH --time=01:00:00",
                           "#SBATCH --cpus-per-task=2", "#SBATCH --mem=4G", "'run'", "'--shards' '4'",
                           "'--threads' '1'"})
    EXPECT_NE(run_script.find(want), std::string::npos) << want << "\n" << run_script;
  EXPECT_NE(slurp(fs::path(out) / "slurm" / "merge.sbatch").find("'merge'"), std::string::npos);
  EXPECT_NE(slurp(fs::path(out) / "slurm" / "plan.sbatch").find("'plan'"), std::string::npos);

  const fs::path job = dir / "job.yaml";
  std::tie(rc, text) = run_shell(run("submit --k8s " + spec.string() + " --job-file " + job.string() + " --shards 5"));
  ASSERT_EQ(rc, 0) << text;
  const std::vector<YAML::Node> docs = YAML::LoadAll(slurp(job));
  ASSERT_EQ(docs.size(), 3u);
  const char* steps[] = {"plan", "run", "merge"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(docs[i]["kind"].as<std::string>(), "Job");
    EXPECT_EQ(docs[i]["metadata"]["labels"]["step"].as<std::string>(), steps[i]);
    const YAML::Node c = docs[i]["spec"]["template"]["spec"]["containers"][0];
    EXPECT_EQ(c["command"][1].as<std::string>(), steps[i]);
    EXPECT_EQ(docs[i]["spec"]["template"]["spec"]["restartPolicy"].as<std::string>(), "Never");
  }
  EXPECT_EQ(docs[1]["spec"]["completionMode"].as<std::string>(), "Indexed");
  EXPECT_EQ(docs[1]["spec"]["completions"].as<int>(), 5);
  EXPECT_EQ(docs[1]["spec"]["parallelism"].as<int>(), 5);
  std::tie(rc, text) = run_shell(run("submit " + spec.string()));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("exactly one of --slurm or --k8s"), std::string::npos) << text;
}

TEST(cli_slurm, real_cluster_three_tasks_equal_one_process_and_a_cancelled_shard_is_resubmitted) {
  const auto [rc, text] = run_shell("bash " + std::string(QTUNE_SOURCE_DIR) + "/tests/cli/slurm_cluster_test.sh " + tune +
                             " " + QTUNE_SOURCE_DIR + " " + qtune::testing::data_dir().string());
  std::printf("%s", text.c_str());
  if (rc == 77) {
    if (std::getenv("QTUNE_REQUIRE_SLURM")) FAIL() << text;
    GTEST_SKIP() << text;
  }
  EXPECT_EQ(rc, 0) << text;
}

}  // namespace
