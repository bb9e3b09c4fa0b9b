// The sweep's steps called in-process (qtune/sweep_steps.hpp): plan, measure one unit, store
// (results.jsonl and unit files), finalize; and that composing them equals run_sweep().
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "qtune/codec.hpp"
#include "qtune/error.hpp"
#include "qtune/sweep_steps.hpp"
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

struct tune_steps : ::testing::Test {
  fs::path dir;
  void SetUp() override {
    dir = qtune::testing::fresh_test_dir("qtune_steps_");
    qtune::testing::write_clustered_set(dir, 5);
  }
  void TearDown() override { fs::remove_all(dir); }

  qtune::sweep_spec spec(const std::string& grid) const {
    const fs::path p = dir / "spec.yaml";
    std::ofstream(p) << "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
                     << "k: 10\ntarget_recall: 0.9\ngrid:\n"
                     << grid << "objective: memory\nthreads: 1\nrepetitions: 2\nwarmup_queries: 20\n"
                     << "cache_dir: cache\noutput: out\n";
    return qtune::parse_sweep_spec(p);
  }
};

const char* small_grid = "  codecs: [fp32, sq8]\n  m: [8]\n  ef_construction: [40]\n  ef_search: [16, 48]\n";

std::set<std::pair<std::string, double>> config_recall(const std::vector<qtune::measured_point>& points) {
  std::set<std::pair<std::string, double>> s;
  for (const auto& p : points) s.emplace(p.key(), p.validation_recall_ids.value);
  return s;
}

TEST_F(tune_steps, plan_lists_one_unit_per_build_with_stable_ids) {
  const qtune::sweep_spec s = spec(small_grid + std::string("  rerank: [0, 2]\n  faiss: [\"HNSW8,SQ8\"]\n"));
  const qtune::sweep_context ctx(s, {.with_truth = false});
  const qtune::sweep_plan plan = qtune::plan_sweep(ctx);
  ASSERT_EQ(plan.units.size(), 3u);  // fp32, sq8, faiss
  EXPECT_EQ(plan.units[0].build.codec, "fp32");
  EXPECT_EQ(plan.units[0].reranks, (std::vector<std::size_t>{0}));  // rerank on fp32 is pointless
  EXPECT_EQ(plan.units[1].reranks, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(plan.units[1].build.rerank, 2u);  // the build keeps full rows for rerank 2
  EXPECT_EQ(plan.units[2].build.parsed_kind().family, qtune::index_family::faiss);
  EXPECT_EQ(plan.units[2].build.parsed_kind().factory, "HNSW8,SQ8");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < plan.units.size(); ++i) {
    EXPECT_EQ(plan.units[i].index, i);
    ids.insert(plan.units[i].id);
  }
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(qtune::plan_sweep(ctx).units[1].id, plan.units[1].id);  // stable
  // Another spec (another target) gives other ids: its unit files are never taken for these.
  qtune::sweep_spec s2 = s;
  s2.target_recall = 0.8;
  const qtune::sweep_context ctx2(s2, {.with_truth = false});
  EXPECT_NE(qtune::plan_sweep(ctx2).units[1].id, plan.units[1].id);
  EXPECT_NE(plan.text.find("builds (3)"), std::string::npos) << plan.text;
}

TEST_F(tune_steps, measure_store_and_finalize_equal_run_sweep) {
  const qtune::sweep_spec s = spec(small_grid);
  const qtune::sweep_context ctx(s);
  const qtune::sweep_plan plan = qtune::plan_sweep(ctx);
  ASSERT_EQ(plan.units.size(), 2u);
  const fs::path units_dir = dir / "steps";
  std::vector<qtune::measured_point> all;
  for (const auto& u : plan.units) {
    std::size_t seen = 0;
    qtune::measure_options mo;
    mo.on_point = [&](const qtune::measured_point&) { ++seen; };
    const qtune::unit_result r = qtune::measure_unit(ctx, u, mo);
    ASSERT_FALSE(r.interrupted);
    ASSERT_EQ(r.points.size(), 2u);  // ef 16 and 48
    EXPECT_EQ(seen, 2u);
    EXPECT_GT(r.build_seconds, 0);
    for (const auto& p : r.points) {
      EXPECT_EQ(p.build_key(), u.build.build_key());
      EXPECT_FALSE(p.host.empty());
      EXPECT_EQ(p.spec_hash, plan.spec_hash);
    }
    qtune::store_unit_file(units_dir, plan, u, r.points, "0/1");
    const auto back = qtune::read_unit_file(units_dir, plan, u);
    ASSERT_TRUE(back.has_value());
    ASSERT_EQ(back->size(), r.points.size());
    for (std::size_t i = 0; i < back->size(); ++i)
      EXPECT_EQ(qtune::to_json_line((*back)[i]), qtune::to_json_line(r.points[i]));
    all.insert(all.end(), r.points.begin(), r.points.end());
  }
  const qtune::sweep_outcome fin = qtune::finalize_sweep(ctx, all, false, units_dir);
  EXPECT_EQ(fin.status, qtune::sweep_status::recommended) << fin.summary;
  EXPECT_TRUE(fs::exists(units_dir / "recommended.yaml"));
  EXPECT_TRUE(fs::exists(units_dir / "pareto.csv"));

  // The composed one-process sweep measures the same configurations with the same recall
  // (threads 1, fixed seed: builds are bit-reproducible).
  const qtune::sweep_outcome one = qtune::run_sweep(s, {});
  EXPECT_EQ(config_recall(one.points), config_recall(all));
  ASSERT_TRUE(one.recommended && fin.recommended);
  EXPECT_EQ(one.recommended->key(), fin.recommended->key());  // objective memory: deterministic
}

TEST_F(tune_steps, unit_files_refuse_truncation_corruption_and_other_specs) {
  const qtune::sweep_spec s = spec(small_grid);
  const qtune::sweep_context ctx(s);
  const qtune::sweep_plan plan = qtune::plan_sweep(ctx);
  const auto& u = plan.units[0];
  EXPECT_FALSE(qtune::read_unit_file(dir, plan, u).has_value());  // absent: not run yet
  const qtune::unit_result r = qtune::measure_unit(ctx, u, {});
  qtune::store_unit_file(dir, plan, u, r.points);
  const fs::path f = qtune::unit_file_path(dir, u);
  std::string text;
  {
    std::ifstream in(f);
    std::ostringstream o;
    o << in.rdbuf();
    text = o.str();
  }
  auto expect_error = [&](const std::string& content, const std::string& words) {
    std::ofstream(f, std::ios::trunc) << content;
    try {
      (void)qtune::read_unit_file(dir, plan, u);
      ADD_FAILURE() << "no error for: " << words;
    } catch (const qtune::error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(f.string()), std::string::npos) << e.what();
    }
  };
  expect_error(text.substr(0, text.rfind('\n', text.size() - 2) + 1), "truncated");  // last point lost
  expect_error(text.substr(0, text.size() - 20), "corrupt");                      // half a line
  expect_error("", "empty or truncated");
  std::string other = text;
  other.replace(other.find(plan.spec_hash), plan.spec_hash.size(), "0123456789abcdef");
  expect_error(other, "another spec");
  // A header count that is no size_t: a float beyond its range (undefined behaviour in an
  // unchecked cast, found by fuzz_results_jsonl's sibling reader) or a negative number.
  const std::size_t count_at = text.find("\"points\":");
  ASSERT_NE(count_at, std::string::npos) << text;
  const std::size_t count_end = text.find_first_of(",}", count_at);
  for (const char* bad : {"1e+95", "-1", "2.5"}) {
    std::string edited = text;
    edited.replace(count_at, count_end - count_at, std::string("\"points\":") + bad);
    expect_error(edited, std::string("'points' must be an integer in [0, 18446744073709551615], got ") + bad);
  }
}

TEST_F(tune_steps, resume_through_measure_options_skips_known_points) {
  const qtune::sweep_spec s = spec(small_grid);
  const qtune::sweep_context ctx(s);
  const qtune::sweep_plan plan = qtune::plan_sweep(ctx);
  const qtune::unit_result first = qtune::measure_unit(ctx, plan.units[0], {});
  qtune::measure_options mo;
  mo.known = &first.points;
  const qtune::unit_result again = qtune::measure_unit(ctx, plan.units[0], mo);
  EXPECT_TRUE(again.skipped);
  EXPECT_TRUE(again.points.empty());
  std::vector<qtune::measured_point> half(first.points.begin(), first.points.begin() + 1);
  mo.known = &half;
  const qtune::unit_result rest = qtune::measure_unit(ctx, plan.units[0], mo);
  ASSERT_EQ(rest.points.size(), 1u);
  EXPECT_EQ(rest.points[0].key(), first.points[1].key());
  EXPECT_EQ(rest.points[0].validation_recall_ids.value, first.points[1].validation_recall_ids.value);
}

TEST_F(tune_steps, results_log_appends_and_replaces_by_key) {
  const fs::path f = dir / "r" / "results.jsonl";
  qtune::measured_point a, b;
  a.config.kind = "hnsw", a.config.codec = "sq8", a.config.m = 8, a.config.ef_construction = 40;
  a.config.ef_search = 16;
  b = a;
  b.config.ef_search = 32;
  {
    qtune::results_log log(f, {a});
    log.append(b);
    b.tuning_recall_ids.value = 0.5;
    log.append(b);
    ASSERT_EQ(log.points().size(), 2u);
    EXPECT_EQ(log.points()[1].tuning_recall_ids.value, 0.5);
  }
  const auto back = qtune::read_results_jsonl(f);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].tuning_recall_ids.value, 0.5);  // the later line wins
}

TEST(tune_noisy, qps_far_from_one_over_p50_or_spread_repetitions_is_noisy) {
  qtune::measured_point p;
  p.latency_p50_us = {100, 95, 110};
  p.qps_single = {9000, 8800, 9100};  // mean latency ~111 us: a quiet machine
  EXPECT_FALSE(qtune::noisy_measurement(p));
  p.qps_single = {3000, 2900, 3100};  // mean 3x p50: preempted queries
  EXPECT_TRUE(qtune::noisy_measurement(p));
  p.qps_single = {9000, 8800, 9100};
  p.latency_p50_us = {100, 60, 200};  // repetitions disagree
  EXPECT_TRUE(qtune::noisy_measurement(p));
  const qtune::measured_point back = qtune::from_json_line(qtune::to_json_line([&] {
    qtune::measured_point q = p;
    q.noisy = true;
    q.host = "node7";
    return q;
  }()));
  EXPECT_TRUE(back.noisy);
  EXPECT_EQ(back.host, "node7");
}

TEST(tune_config, kinds_and_codec_specs_round_trip) {
  for (const char* k : {"hnsw", "faiss:HNSW32,SQ8", "faiss:IVF64,PQ8"})
    EXPECT_EQ(qtune::parse_index_kind(k).to_string(), k);
  EXPECT_THROW(qtune::parse_index_kind("annoy"), qtune::error);
  EXPECT_THROW(qtune::parse_index_kind("faiss:"), qtune::error);
  for (const char* c : {"fp32", "fp16", "bf16", "sq8", "sq4", "sq8:q0.01", "sq4:minmax", "pq16x8", "pq8x4", "bin",
                        "rot,sq4", "rot,pq16x4"}) {
    const qtune::codec_spec s = qtune::parse_codec_spec(c);
    EXPECT_EQ(s.to_string(), c);
    EXPECT_EQ(qtune::parse_codec_spec(s.to_string()), s);
  }
  const qtune::codec_spec pq = qtune::parse_codec_spec("rot,pq16");
  EXPECT_EQ(pq.kind, qtune::codec_family::pq);
  EXPECT_EQ(pq.m, 16u);
  EXPECT_EQ(pq.bits, 8);
  EXPECT_TRUE(pq.rotate);
  qtune::index_config c;
  c.codec = "sq8", c.m = 16, c.ef_construction = 100, c.ef_search = 64, c.rerank = 4;
  EXPECT_EQ(c.key(), "hnsw|sq8|M16|efc100|ef64|rr4");
  EXPECT_EQ(c.describe(), "hnsw sq8 M=16 efC=100 ef=64 rerank=4");
}

}  // namespace
