// End-to-end tests of the `tune` binary (QTUNE_TUNE_BINARY) on a tiny synthetic data set:
// exit codes, dry run, Ctrl-C, and the SIGKILL + --resume property.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "qtune/dataset.hpp"
#include "qtune/param_file.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Complete lines (ending in '\n') of a file.
std::size_t complete_lines(const fs::path& p) {
  const std::string s = slurp(p);
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

struct fixture_dir {
  fs::path dir;
  explicit fixture_dir(const std::string& name) {
    dir = fs::temp_directory_path() / ("qtune_cli_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    qtune::testing::write_clustered_set(dir, 11);
  }
  ~fixture_dir() { fs::remove_all(dir); }

  fs::path write_spec(const std::string& name, const std::string& grid, const std::string& extra = "") const {
    const fs::path p = dir / (name + ".yaml");
    std::ofstream(p) << "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
                     << "k: 10\ntarget_recall: 0.9\n"
                     << "grid:\n" << grid << "objective: memory\nthreads: 1\nrepetitions: 2\nwarmup_queries: 20\n"
                     << "cache_dir: cache\n" << extra;
    return p;
  }
};

struct result {
  int code = -1;
  std::string out, err;
};

pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv;
    std::string bin = QTUNE_TUNE_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_code(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

result run(const fixture_dir& f, const std::vector<std::string>& args) {
  const fs::path out = f.dir / "stdout.txt", err = f.dir / "stderr.txt";
  result r;
  r.code = wait_code(spawn(args, out, err));
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

/// The index section and validated recall of a recommended.yaml: what "the same
/// recommendation" means (latency and dates differ between runs).
std::string decision(const fs::path& rec) {
  const auto p = qtune::load_param_file(rec);
  std::ostringstream o;
  o << p.config.kind << " " << p.config.codec << " M" << p.config.m << " efc" << p.config.ef_construction << " ef"
    << p.config.ef_search << " rr" << p.config.rerank << " tuning " << p.measured.tuning_recall_ids.value
    << " validation " << p.measured.validation_recall_ids.value << " bytes " << p.measured.total_bytes();
  return o.str();
}

const char* kGrid =
    "  codecs: [fp32, sq8, sq4]\n  m: [8, 16]\n  ef_construction: [40]\n  ef_search: [10, 14, 20, 28, 40, 56, 80]\n"
    "  rerank: [0, 2]\n";
constexpr std::size_t kPoints = 2 * 7 + 4 * 7 * 2;  // fp32 without rerank; sq8/sq4 with rerank 0 and 2

TEST(tune_cli, sigkill_then_resume_gives_the_same_recommendation) {
  fixture_dir f("resume");
  const fs::path spec = f.write_spec("tiny", kGrid);

  // Uninterrupted reference run.
  const result ref = run(f, {"--quiet", "--output", (f.dir / "ref").string(), spec.string()});
  ASSERT_EQ(ref.code, 0) << ref.out << ref.err;
  ASSERT_EQ(complete_lines(f.dir / "ref" / "results.jsonl"), kPoints);

  // Killed with SIGKILL mid-sweep.
  const fs::path out = f.dir / "killed";
  const fs::path jsonl = out / "results.jsonl";
  const pid_t pid = spawn({"--output", out.string(), spec.string()}, f.dir / "k_out.txt", f.dir / "k_err.txt");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_lines(jsonl) < 5 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(pid, SIGKILL);
  EXPECT_EQ(wait_code(pid), 128 + SIGKILL);
  const std::size_t at_kill = complete_lines(jsonl);
  ASSERT_GE(at_kill, 5u);
  ASSERT_LT(at_kill, kPoints) << "the sweep finished before it could be killed";
  EXPECT_FALSE(fs::exists(out / "recommended.yaml"));

  // Resume: keeps every complete point, measures only the rest (the in-flight point at most is redone).
  const result res = run(f, {"--resume", "--output", out.string(), spec.string()});
  ASSERT_EQ(res.code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find(std::to_string(kPoints) + " points (" + std::to_string(at_kill) + " resumed)"),
            std::string::npos)
      << res.out;
  EXPECT_EQ(complete_lines(jsonl), kPoints);
  EXPECT_EQ(decision(out / "recommended.yaml"), decision(f.dir / "ref" / "recommended.yaml"));

  // Resuming a finished sweep measures nothing and decides the same.
  const result again = run(f, {"--resume", "--output", out.string(), spec.string()});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("(" + std::to_string(kPoints) + " resumed)"), std::string::npos) << again.out;
  EXPECT_EQ(decision(out / "recommended.yaml"), decision(f.dir / "ref" / "recommended.yaml"));

  // Resuming with a different spec is refused rather than mixing results.
  const fs::path other = f.write_spec("tiny", kGrid, "seed: 9\n");
  const result mixed = run(f, {"--resume", "--output", out.string(), other.string()});
  EXPECT_EQ(mixed.code, 1);
  EXPECT_NE(mixed.err.find("different spec"), std::string::npos) << mixed.err;
}

TEST(tune_cli, sigint_stops_cleanly_with_results_on_disk) {
  fixture_dir f("sigint");
  const fs::path spec = f.write_spec("tiny", kGrid);
  const fs::path out = f.dir / "out";
  const pid_t pid = spawn({"--output", out.string(), spec.string()}, f.dir / "o.txt", f.dir / "e.txt");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (complete_lines(out / "results.jsonl") < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  ::kill(pid, SIGINT);
  EXPECT_EQ(wait_code(pid), 130) << slurp(f.dir / "e.txt");
  EXPECT_NE(slurp(f.dir / "e.txt").find("interrupted"), std::string::npos);
  const std::size_t lines = complete_lines(out / "results.jsonl");
  EXPECT_GE(lines, 2u);
  EXPECT_LT(lines, kPoints);
  EXPECT_EQ(complete_lines(out / "results.csv"), lines + 1);  // header + every point so far
}

TEST(tune_cli, exit_codes_dry_run_and_errors) {
  fixture_dir f("codes");
  // Target missed: one clear line, exit 3, results still written, no parameter file.
  const fs::path missed =
      f.write_spec("missed", "  codecs: [sq4]\n  m: [8]\n  ef_construction: [20]\n  ef_search: [1]\n");
  const result r = run(f, {"--target-recall", "0.9999", "--output", (f.dir / "m").string(), missed.string()});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("target recall 0.9999 missed: best recall reached was"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hnsw sq4 M=8 efC=20 ef=1"), std::string::npos) << r.out;
  EXPECT_EQ(complete_lines(f.dir / "m" / "results.jsonl"), 1u);
  EXPECT_TRUE(fs::exists(f.dir / "m" / "results.csv"));
  EXPECT_TRUE(fs::exists(f.dir / "m" / "pareto.csv"));
  EXPECT_FALSE(fs::exists(f.dir / "m" / "recommended.yaml"));

  // Auto ef reaches the target and the recommendation validates.
  const fs::path autos =
      f.write_spec("auto", "  codecs: [sq8]\n  m: [8]\n  ef_construction: [40]\n  ef_search: auto\n");
  const result a = run(f, {"--quiet", "--k", "5", "--output", (f.dir / "a").string(), autos.string()});
  ASSERT_EQ(a.code, 0) << a.out << a.err;
  const auto rec = qtune::load_param_file(f.dir / "a" / "recommended.yaml");
  EXPECT_EQ(rec.k, 5u);
  EXPECT_GE(rec.measured.validation_recall_ids.value, 0.9);
  EXPECT_GE(rec.measured.tuning_recall_ids.value, 0.9);

  // Dry run prints the plan and measures nothing.
  const result d = run(f, {"--dry-run", "--output", (f.dir / "d").string(), autos.string()});
  EXPECT_EQ(d.code, 0) << d.err;
  EXPECT_NE(d.out.find("builds (1)"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("estimated time"), std::string::npos) << d.out;
  EXPECT_FALSE(fs::exists(f.dir / "d" / "results.jsonl"));

  // A spec error names file:line:column and exits 1.
  std::ofstream(f.dir / "bad.yaml") << "dataset: {base: base.fvecs, queries: queries.fvecs}\nk: 10\nthreds: 2\n";
  const result b = run(f, {(f.dir / "bad.yaml").string()});
  EXPECT_EQ(b.code, 1);
  EXPECT_NE(b.err.find("bad.yaml:3:1: unknown key 'threds'"), std::string::npos) << b.err;

  // --example prints a template; no spec is a usage error.
  const result ex = run(f, {"--example"});
  EXPECT_EQ(ex.code, 0);
  EXPECT_NE(ex.out.find("target_recall:"), std::string::npos);
  EXPECT_EQ(run(f, {}).code, 2);
}

TEST(tune_cli, subcommands_win_over_the_spec_positional) {
  fixture_dir f("sub");
  const result r = run(f, {"groundtruth", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("sweep spec"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("groundtruth"), std::string::npos) << r.out;
}

}  // namespace
