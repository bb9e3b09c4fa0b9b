// The multi-fidelity sweep end to end, in-process (run_sweep with `fidelity:`), on real data:
// what it drops is dominated at its level and says why, the recommendation is measured at full
// size and validated, predicted vs measured efSearch is recorded, search_cost is written, and
// --no-confirm is marked as extrapolated. Plus the spec keys.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "qtune/param_file.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using qtune::testing::error_of;

struct tune_fidelity_sweep : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    dir = qtune::testing::fresh_test_dir("qtune_fid_");
  }
  void TearDown() override { fs::remove_all(dir); }

  qtune::sweep_spec write_spec(const std::string& text) const {
    std::ofstream(dir / "spec.yaml") << text;
    return qtune::parse_sweep_spec(dir / "spec.yaml");
  }
  std::vector<json> records(const std::string& kind) const {
    std::vector<json> out;
    std::ifstream in(dir / "out" / "results.jsonl");
    for (std::string line; std::getline(in, line);) {
      const json j = json::parse(line);
      if (j.contains("record") && j["record"] == kind) out.push_back(j);
    }
    return out;
  }
};

std::string sift_spec(const fs::path& data, const std::string& extra) {
  std::ostringstream s;
  s << "dataset:\n  base: " << (data / "siftsmall_base.fvecs").string()
    << "\n  queries: " << (data / "siftsmall_query.fvecs").string() << "\n  metric: l2\n"
    << "k: 10\ntarget_recall: 0.95\n"
    << "grid:\n  codecs: [fp32, sq8, sq4]\n  m: [8, 16]\n  ef_construction: [60]\n  ef_search: auto\n"
    << "  rerank: [0, 4]\n"
    << "objective: latency_p50\nthreads: 0\nrepetitions: 3\nwarmup_queries: 20\n"
    << "cache_dir: cache\noutput: out\n"
    << "fidelity:\n  levels: [0.2, 0.5, 1.0]\n  margin: 0.1\n"
    << extra;
  return s.str();
}

TEST_F(tune_fidelity_sweep, drops_only_dominated_arms_and_recommends_a_point_measured_at_full_size) {
  QTUNE_REQUIRE_DATA_FILE(base, "sift10k/siftsmall_base.fvecs");
  const qtune::sweep_spec spec = write_spec(sift_spec(base.parent_path(), ""));
  ASSERT_TRUE(spec.fidelity.enabled);
  const qtune::sweep_outcome out = qtune::run_sweep(spec, {});
  ASSERT_EQ(out.status, qtune::sweep_status::recommended) << out.summary;

  // Every point the recommendation could come from was measured on all 10,000 rows, and the
  // chosen one holds on the held-out validation queries.
  for (const auto& p : out.points) EXPECT_EQ(p.n_base, 10000u) << p.describe();
  ASSERT_TRUE(out.recommended);
  EXPECT_EQ(out.recommended->n_base, 10000u);
  EXPECT_GE(out.recommended->validation_recall_ids.value, 0.95);

  // Level records: 10 arms (fp32 x 2 M without rerank, sq8/sq4 x 2 M x {0, 4}) at level 0.
  const std::vector<json> levels = records("fidelity_level");
  std::map<std::size_t, std::vector<json>> by_level;
  for (const auto& r : levels) by_level[r["level"].get<std::size_t>()].push_back(r);
  ASSERT_EQ(by_level[0].size(), 10u);
  EXPECT_EQ(by_level[0][0]["n_base"], 2000);
  for (auto& [l, rs] : by_level) {
    // The halving rule, checked from the records: a reaching arm is dropped exactly when its
    // interval, widened by the margin, lies above the best one's.
    double best = 1e300, best_hi = 0;
    for (const auto& r : rs)
      if (r["reached"] && r["cost"].get<double>() < best)
        best = r["cost"], best_hi = r["cost_interval"][1].get<double>() + 0.1 * r["cost"].get<double>();
    for (const auto& r : rs) {
      EXPECT_FALSE(r["reason"].get<std::string>().empty());
      if (!r["reached"]) {
        EXPECT_EQ(r["decision"], "drop");
        continue;
      }
      const double lo = r["cost_interval"][0].get<double>() - 0.1 * r["cost"].get<double>();
      EXPECT_EQ(r["decision"] == "keep", lo <= best_hi) << r.dump();
    }
    // What a level keeps is exactly what the next level (or full size) measures.
    std::set<std::string> kept, next;
    for (const auto& r : rs)
      if (r["decision"] == "keep") kept.insert(r["arm"]);
    if (by_level.count(l + 1)) {
      for (const auto& r : by_level[l + 1]) next.insert(r["arm"]);
    } else {
      for (const auto& p : out.points)
        if (p.auto_found) next.insert(p.build_key() + "|rr" + std::to_string(p.config.rerank));
    }
    EXPECT_EQ(kept, next) << "level " << l;
  }

  // Predicted vs measured efSearch for every arm measured at full size.
  const std::vector<qtune::ef_scaling> sc = qtune::read_ef_scaling(dir / "out" / "results.jsonl");
  std::size_t autos = 0;
  for (const auto& p : out.points) autos += p.auto_found ? 1 : 0;
  ASSERT_EQ(sc.size(), autos);
  for (const auto& s : sc) {
    ASSERT_TRUE(s.measured) << s.arm;
    EXPECT_EQ(s.needed.size(), 2u);
    EXPECT_EQ(s.n_full, 10000u);
    EXPECT_LE(s.lo, s.predicted);
    EXPECT_GE(s.hi, s.predicted);
  }

  // recommended.yaml: measured at full size, with what the search cost.
  const qtune::recommended_params rp = qtune::load_param_file(dir / "out" / "recommended.yaml");
  EXPECT_TRUE(rp.at_full_size);
  ASSERT_TRUE(rp.search_cost);
  EXPECT_EQ(rp.search_cost->builds_total, 6u);
  EXPECT_GE(rp.search_cost->builds_full_size, 1u);
  EXPECT_LT(rp.search_cost->builds_full_size, 6u);
  EXPECT_GT(rp.search_cost->seconds, 0);
  EXPECT_GT(rp.search_cost->exhaustive_seconds_estimate, 0);
  EXPECT_EQ(rp.measured.n_base, 10000u);
}

TEST_F(tune_fidelity_sweep, no_confirm_writes_an_answer_marked_extrapolated) {
  QTUNE_REQUIRE_DATA_FILE(base, "sift10k/siftsmall_base.fvecs");
  const qtune::sweep_spec spec = write_spec(sift_spec(base.parent_path(), ""));
  qtune::sweep_options opt;
  opt.no_confirm = true;
  const qtune::sweep_outcome out = qtune::run_sweep(spec, opt);
  ASSERT_EQ(out.status, qtune::sweep_status::recommended) << out.summary;
  EXPECT_NE(out.summary.find("EXTRAPOLATED"), std::string::npos) << out.summary;
  EXPECT_TRUE(out.points.empty());  // nothing was measured at full size
  std::ifstream in(dir / "out" / "recommended.yaml");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("at_full_size: false"), std::string::npos) << text.str();
  const qtune::recommended_params rp = qtune::load_param_file(dir / "out" / "recommended.yaml");
  EXPECT_FALSE(rp.at_full_size);
  ASSERT_TRUE(rp.search_cost);
  EXPECT_EQ(rp.search_cost->builds_full_size, 0u);
}

TEST_F(tune_fidelity_sweep, no_confirm_without_fidelity_is_an_error) {
  QTUNE_REQUIRE_DATA_FILE(base, "sift10k/siftsmall_base.fvecs");
  std::string text = sift_spec(base.parent_path(), "");
  text = text.substr(0, text.find("fidelity:"));
  const qtune::sweep_spec spec = write_spec(text);
  EXPECT_FALSE(spec.fidelity.enabled);
  qtune::sweep_options opt;
  opt.no_confirm = true;
  EXPECT_NE(error_of([&] { qtune::run_sweep(spec, opt); }).find("--no-confirm"), std::string::npos);
}

TEST_F(tune_fidelity_sweep, spec_keys_are_checked_and_a_plain_spec_keeps_its_hash) {
  const std::string head = "dataset: {base: b.fvecs, queries: q.fvecs}\n";
  const auto err = [&](const std::string& tail) {
    return error_of([&] { qtune::parse_sweep_spec_text(head + tail, "s.yaml"); });
  };
  EXPECT_NE(err("fidelity: {levels: [0.3, 0.1, 1.0]}\n").find("strictly increasing"), std::string::npos);
  EXPECT_NE(err("fidelity: {levels: [0.1, 0.5]}\n").find("end with 1.0"), std::string::npos);
  EXPECT_NE(err("fidelity: {levels: [0, 1.0]}\n").find("fidelity.levels[0]"), std::string::npos);
  EXPECT_NE(err("fidelity: {level: [0.1, 1.0]}\n").find("unknown key 'level'"), std::string::npos);
  EXPECT_NE(err("fidelity: sometimes\n").find("s.yaml:2:11"), std::string::npos) << err("fidelity: sometimes\n");
  EXPECT_NE(err("fidelity: {margin: -1}\n").find("fidelity.margin"), std::string::npos);

  const qtune::sweep_spec plain = qtune::parse_sweep_spec_text(head, "s.yaml");
  const qtune::sweep_spec off = qtune::parse_sweep_spec_text(head + "fidelity: off\n", "s.yaml");
  const qtune::sweep_spec on = qtune::parse_sweep_spec_text(head + "fidelity: auto\n", "s.yaml");
  EXPECT_FALSE(off.fidelity.enabled);
  EXPECT_TRUE(on.fidelity.enabled);
  EXPECT_TRUE(on.fidelity.levels.empty());  // the default geometric levels
  EXPECT_EQ(qtune::spec_hash(plain), qtune::spec_hash(off));  // results of plain specs still resume
  EXPECT_NE(qtune::spec_hash(plain), qtune::spec_hash(on));
  const qtune::sweep_spec lv =
      qtune::parse_sweep_spec_text(head + "fidelity: {levels: [0.1, 0.4, 1.0], min_rows: 10, keep_at_least: 2}\n", "s.yaml");
  EXPECT_EQ(lv.fidelity.levels, (std::vector<double>{0.1, 0.4, 1.0}));
  EXPECT_EQ(lv.fidelity.min_rows, 10u);
  EXPECT_EQ(lv.fidelity.keep_at_least, 2u);
}

TEST(tune_fidelity_records, results_reader_skips_records_and_reads_ef_scaling) {
  const fs::path p = fs::temp_directory_path() / ("qtune_records_" + std::to_string(::getpid()) + ".jsonl");
  qtune::measured_point pt;
  pt.config.kind = "hnsw", pt.config.codec = "sq8", pt.config.m = 16, pt.config.ef_construction = 100;
  pt.config.ef_search = 20;
  qtune::ef_scaling s;
  s.arm = "hnsw|sq8|M16|efc100|rr0";
  s.needed = {{2000, 8.5}, {6000, 11.25}};
  s.n_full = 20000, s.predicted = 15, s.lo = 12, s.hi = 17, s.exponent = 0.25, s.measured = 16;
  {
    std::ofstream out(p);
    out << R"({"record":"fidelity_level","level":0,"arm":"x","decision":"drop","reason":"dominated"})" << "\n"
        << qtune::to_json_line(pt) << "\n"
        << qtune::to_json_line(s) << "\n";
  }
  const auto points = qtune::read_results_jsonl(p);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].key(), pt.key());
  const auto sc = qtune::read_ef_scaling(p);
  ASSERT_EQ(sc.size(), 1u);
  EXPECT_EQ(sc[0].arm, s.arm);
  EXPECT_EQ(sc[0].needed, s.needed);
  EXPECT_EQ(sc[0].measured, std::optional<std::size_t>(16));
  EXPECT_TRUE(sc[0].inside());
  // An interval open above (hi = +inf, which JSON cannot hold) is written as null and read back;
  // a sweep once wrote a record it could not read (flaky drops_only_dominated_arms... test).
  s.hi = std::numeric_limits<double>::infinity();
  s.arm = "hnsw|sq4|M16|efc100|rr0";
  const std::string line = qtune::to_json_line(s);
  EXPECT_NE(line.find("\"ef_interval\":[12.0,null]"), std::string::npos) << line;
  std::ofstream(p, std::ios::app) << line << "\n";
  const auto again = qtune::read_ef_scaling(p);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[1].hi, std::numeric_limits<double>::infinity());
  EXPECT_EQ(again[1].lo, 12.0);
  EXPECT_TRUE(again[1].inside());
  fs::remove(p);
}

// Counts in results.jsonl that no size_t holds are an error naming the key and the line, never an
// unchecked cast: fuzz_results_jsonl found "n_full":1e95 (undefined behaviour under UBSan).
TEST(tune_fidelity_records, counts_that_are_floats_or_negative_are_errors_naming_key_and_line) {
  const fs::path p = fs::temp_directory_path() / ("qtune_counts_" + std::to_string(::getpid()) + ".jsonl");
  qtune::ef_scaling s;
  s.arm = "hnsw|sq8|M16|efc100|rr0";
  s.needed = {{2000, 8.5}};
  s.n_full = 20000, s.predicted = 15, s.lo = 12, s.hi = 17, s.exponent = 0.25;
  qtune::measured_point pt;
  pt.config.kind = "hnsw", pt.config.codec = "sq8", pt.config.m = 16, pt.config.ef_construction = 100;
  pt.config.ef_search = 20;
  auto expect_error = [&](const std::string& good, const std::string& field, const std::string& bad, auto read) {
    std::string line = good;
    const std::size_t at = line.find("\"" + field + "\":");
    ASSERT_NE(at, std::string::npos) << line;
    const std::size_t end = line.find_first_of(",}", at);
    line.replace(at, end - at, "\"" + field + "\":" + bad);
    std::ofstream(p, std::ios::trunc) << line << "\n" << line << "\n";  // not the last line: not "half-written"
    try {
      read();
      ADD_FAILURE() << "no error for " << field << "=" << bad;
    } catch (const qtune::error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("'" + field + "' must be an integer in [0, 18446744073709551615], got " + bad),
                std::string::npos) << what;
      EXPECT_NE(what.find(p.string() + ":1:"), std::string::npos) << what;
    }
  };
  const auto read_scaling = [&] { (void)qtune::read_ef_scaling(p); };
  const auto read_points = [&] { (void)qtune::read_results_jsonl(p); };
  for (const char* bad : {"1e+95", "-1", "16.5"}) {
    expect_error(qtune::to_json_line(s), "n_full", bad, read_scaling);
    expect_error(qtune::to_json_line(pt), "m", bad, read_points);
    expect_error(qtune::to_json_line(pt), "resident_bytes", bad, read_points);
  }
  fs::remove(p);
}

}  // namespace

namespace {

// A codec whose recall levels off below the target as the base grows (sq4 on dense clusters)
// wins every sample where it still reaches it; when it stops reaching it, the arms it dominated
// come back instead of the sweep ending with nothing.
TEST_F(tune_fidelity_sweep, arms_dropped_as_dominated_come_back_when_no_arm_reaches_the_target) {
  qtune::testing::write_clustered_set(dir, 7);
  const qtune::sweep_spec spec = write_spec(
      "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
      "k: 10\ntarget_recall: 0.90\n"
      "grid:\n  codecs: [fp32, sq4]\n  m: [8]\n  ef_construction: [40]\n  ef_search: auto\n  ef_search_max: 256\n"
      "objective: memory\nthreads: 1\nrepetitions: 1\nwarmup_queries: 10\ncache_dir: cache\noutput: out\n"
      "fidelity: {levels: [0.02, 0.2, 1.0], margin: 0}\n");
  const qtune::sweep_outcome out = qtune::run_sweep(spec, {});
  std::map<std::string, std::vector<std::string>> decisions;  // arm -> decisions in order
  for (const auto& r : records("fidelity_level")) decisions[r["arm"]].push_back(r["decision"]);
  const auto& fp32 = decisions["hnsw|fp32|M8|efc40|rr0"];
  const auto& sq4 = decisions["hnsw|sq4|M8|efc40|rr0"];
  ASSERT_GE(sq4.size(), 2u) << out.summary;
  EXPECT_EQ(sq4[0], "keep");   // the smallest, and it reaches the target on 60 rows
  EXPECT_EQ(sq4[1], "drop");   // not on 600
  ASSERT_GE(fp32.size(), 3u);
  EXPECT_EQ(fp32[0], "drop");  // dominated by sq4's bytes on 60 rows
  EXPECT_EQ(fp32[1], "revive");
  EXPECT_EQ(fp32[2], "keep");
  ASSERT_EQ(out.status, qtune::sweep_status::recommended) << out.summary;
  EXPECT_EQ(out.recommended->config.codec, "fp32");
}

}  // namespace
