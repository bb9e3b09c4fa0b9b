#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "qtune/error.hpp"
#include "qtune/param_file.hpp"
#include "qtune/sweep.hpp"
#include "util/atomic_file.hpp"

namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("qtune_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

qtune::recommended_params sample(const std::string& codec, std::size_t rerank) {
  qtune::recommended_params p;
  p.config.kind = "hnsw";
  p.config.codec = codec;
  p.config.m = 16;
  p.config.ef_construction = 100;
  p.config.ef_search = 57;
  p.config.rerank = rerank;
  p.config.distance = qtune::metric::l2;
  p.dim = 784;
  p.k = 10;
  p.target_recall = 0.95;
  auto& m = p.measured;
  m.config.kind = "hnsw", m.config.codec = codec, m.config.m = 16, m.config.ef_construction = 100, m.config.ef_search = 57, m.config.rerank = rerank;
  m.tuning_recall_ids = {0.9561, 0.951, 0.9612};
  m.validation_recall_ids = {0.9532, 0.947, 0.959};
  m.tuning_recall_distance = {0.957, 0.952, 0.962};
  m.validation_recall_distance = {0.954, 0.948, 0.96};
  m.latency_p50_us = {123.25, 120, 130};
  m.latency_p95_us = {180, 170, 190};
  m.latency_p99_us = {240.5, 230, 250};
  m.qps_single = {7890.5, 7000, 8000};
  m.qps_batch = {15000, 14000, 16000};
  m.threads = 2;
  m.resident_bytes = 12345678;
  m.rerank_bytes = rerank ? 31360000 : 0;
  m.n_base = 10000, m.n_tuning = 500, m.n_validation = 500;
  m.build_seconds = 3.25;
  auto& v = p.provenance;
  v.base_path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  v.base_hash = "0123456789abcdef";
  v.queries_path = "/q \"quoted\".fvecs";
  v.queries_hash = "fedcba9876543210";
  v.ground_truth = "computed";
  v.spec_path = "/work/sweeps/default.yaml";
  v.spec_file_hash = "aa";
  v.spec_hash = "bb";
  v.qtune_version = "0.1.0";
  v.git_commit = "abc";
  v.cpu = "Some CPU (avx512)";
  v.simd_level = "avx512";
  v.threads = 2;
  v.date = "2026-11-22T21:00:00Z";
  return p;
}

TEST(tune_param_file, round_trips) {
  const fs::path dir = temp_dir("param");
  for (auto [codec, rr] : {std::pair<std::string, std::size_t>{"sq8", 0}, {"sq4", 4}, {"pq16x8", 2}, {"fp32", 0}}) {
    const auto p = sample(codec, rr);
    const fs::path f = dir / ("rec_" + codec + ".yaml");
    qtune::write_param_file(f, p);
    const auto q = qtune::load_param_file(f);
    EXPECT_EQ(q.config.kind, "hnsw");
    EXPECT_EQ(q.config.codec, codec);
    EXPECT_EQ(q.config.m, 16u);
    EXPECT_EQ(q.config.ef_construction, 100u);
    EXPECT_EQ(q.config.ef_search, 57u);
    EXPECT_EQ(q.config.rerank, rr);
    EXPECT_EQ(q.dim, 784u);
    EXPECT_DOUBLE_EQ(q.measured.tuning_recall_ids.value, 0.9561);
    EXPECT_DOUBLE_EQ(q.measured.validation_recall_ids.lo, 0.947);
    EXPECT_DOUBLE_EQ(q.measured.latency_p99_us.median, 240.5);
    EXPECT_EQ(q.measured.resident_bytes, 12345678u);
    EXPECT_EQ(q.provenance.queries_path, "/q \"quoted\".fvecs");
    EXPECT_EQ(q.provenance.date, "2026-11-22T21:00:00Z");
    // Re-rendering what was loaded gives the same file, byte for byte.
    EXPECT_EQ(qtune::render_param_file(q), slurp(f)) << codec;
  }
  fs::remove_all(dir);
}

TEST(tune_param_file, deploy_section_uses_each_systems_key_names) {
  const std::string sq8 = qtune::render_param_file(sample("sq8", 0));
  for (const char* key : {"factory: \"HNSW16,SQ8\"", "efSearch: 57", "hnsw_config: {m: 16, ef_construct: 100}",
                          "quantization_config: {scalar: {type: int8", "hnsw_ef: 57", "maxConnections: 16",
                          "index_type: HNSW_SQ", "sq_type: SQ8", "hnsw.ef_search: 57", "type: int8_hnsw",
                          "num_candidates"})
    EXPECT_NE(sq8.find(key), std::string::npos) << key;
  const std::string sq4 = qtune::render_param_file(sample("sq4", 4));
  for (const char* key : {"HNSW16,SQ4,RFlat", "k_factor: 4", "oversampling: 4", "refine_k: 4", "type: int4_hnsw",
                          "rescore_vector: {oversample: 4}", "no Qdrant equivalent"})
    EXPECT_NE(sq4.find(key), std::string::npos) << key;
  const std::string pq = qtune::render_param_file(sample("pq16x8", 2));
  for (const char* key : {"HNSW16_PQ16", "index_type: HNSW_PQ", "m: 16, nbits: 8", "product: {compression: x64",
                          "no Elasticsearch equivalent"})
    EXPECT_NE(pq.find(key), std::string::npos) << key;  const std::string bin = qtune::render_param_file(sample("bin", 4));
  for (const char* key : {"quantization_config: {binary: {always_ram: true}}", "oversampling: 4", "bq: {enabled: true}",
                          "type: bbq_hnsw", "rescore_vector: {oversample: 4}", "bit_hamming_ops", "BHNSW16",
                          "no Milvus equivalent"})
    EXPECT_NE(bin.find(key), std::string::npos) << key;
}

TEST(tune_param_file, load_errors_name_the_place) {
  const fs::path dir = temp_dir("param_bad");
  std::string text = qtune::render_param_file(sample("sq8", 0));
  text.replace(text.find("  ef_search: 57"), 14, "  ef_search: lots");
  qtune::write_file_atomic(dir / "bad.yaml", text);
  try {
    qtune::load_param_file(dir / "bad.yaml");
    FAIL() << "expected an error";
  } catch (const qtune::error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.yaml:11:14:"), std::string::npos) << msg;
    EXPECT_NE(msg.find("index.ef_search"), std::string::npos) << msg;
  }
  EXPECT_THROW(qtune::load_param_file(dir / "missing.yaml"), qtune::error);
  fs::remove_all(dir);
}

// Issue 14: yaml-cpp exceptions escaped load_param_file (not a qtune::error, no file name), and
// out-of-range values were accepted and deployed.
TEST(tune_param_file, malformed_files_are_qtune_errors_naming_the_file) {
  const std::string good = qtune::render_param_file(sample("sq8", 0));
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const auto at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {replaced("  ef_search: 57", "  ef_search: [57]"), "index.ef_search"},
      {replaced("index:\n", "index: 5\nx:\n"), "index"},
      {replaced("{value: 0.9561,", "{value: {a: 1},"), "measured.tuning_recall_ids"},
      {replaced("ci95: [0.951, 0.9612]", "ci95: [{a: 1}, 0.9612]"), "ci95"},
      {replaced("ci95: [0.951, 0.9612]", "ci95: [x, y]"), "ci95"},
      {replaced("measured:\n", "measured: [1, 2]\nm2:\n"), "measured"},
      {replaced("target_recall: 0.95", "target_recall: -5"), "'target_recall' must be in (0, 1], got -5"},
      {replaced("target_recall: 0.95", "target_recall: .nan"), "'target_recall' must be in (0, 1]"},
      {replaced("  rerank: 0", "  rerank: 9223372036854775807"), "'index.rerank' must be in [0, 1000], got 9223372036854775807"},
      {replaced("  rerank: 0", "  rerank: 1"), "'index.rerank' must be 0 (off) or 2..1000"},
      {replaced("  threads: 2", "  threads: 18446744073709551615"), "'provenance.threads' must be in [0, 4096]"},
      {replaced("  threads: 2", "  threads: -1"), "provenance.threads"},
      {replaced("  m: 16", "  m: 0"), "'index.m' must be in [1, 4096]"},
      {replaced("dim: 784", "dim: 0"), "'dim' must be in [1, 1048576]"},
      {replaced("k: 10\n", "k: 100000000\n"), "'k' must be in [1, 1000]"},
      {replaced("latency_p50_us: 123.25", "latency_p50_us: -1"), "measured.latency_p50_us"},
      {"qtune_param_file: 1\nindex: {kind: [a, b]}\n", "index.kind"},
      {"- 1\n- 2\n", "not a qtune parameter file"},
      {"qtune_param_file: {", "YAML syntax error"},
  };
  for (const auto& [text, expected] : cases) {
    try {
      qtune::parse_param_file_text(text, "p.yaml");
      ADD_FAILURE() << "accepted; expected " << expected;
    } catch (const qtune::error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("p.yaml", 0), 0u) << msg;
      EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a non-qtune exception escaped (expected " << expected << "): " << e.what();
    }
  }
}

TEST(tune_atomic_write, replaces_whole_file_and_leaves_no_temporaries) {
  const fs::path dir = temp_dir("atomic");
  const fs::path f = dir / "out.txt";
  qtune::write_file_atomic(f, std::string(100000, 'a'));
  EXPECT_EQ(slurp(f), std::string(100000, 'a'));
  qtune::write_file_atomic(f, "short\n");
  EXPECT_EQ(slurp(f), "short\n");  // replaced, not overwritten in place
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  // A reader holding the old file keeps the old content (rename swaps inodes).
  std::ifstream old(f);
  qtune::write_file_atomic(f, "new\n");
  std::string line;
  std::getline(old, line);
  EXPECT_EQ(line, "short");
  EXPECT_THROW(qtune::write_file_atomic("/proc/qtune_cannot_write_here/x", "x"), std::exception);
  fs::remove_all(dir);
}

TEST(tune_results, jsonl_round_trip_and_truncated_tail) {
  const fs::path dir = temp_dir("jsonl");
  auto p = sample("sq8", 0).measured;
  p.spec_hash = "h1";
  auto p2 = p;
  p2.config.ef_search = 80;
  p2.auto_found = true;
  const std::string l1 = qtune::to_json_line(p), l2 = qtune::to_json_line(p2);
  const auto back = qtune::from_json_line(l1);
  EXPECT_EQ(back.key(), p.key());
  EXPECT_DOUBLE_EQ(back.latency_p50_us.min, 120);
  EXPECT_EQ(qtune::to_json_line(back), l1);
  // A killed writer leaves half a line: it is dropped, the rest is kept.
  qtune::write_file_atomic(dir / "r.jsonl", l1 + "\n" + l2 + "\n" + l2.substr(0, l2.size() / 2));
  std::size_t dropped = 0;
  auto pts = qtune::read_results_jsonl(dir / "r.jsonl", &dropped);
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(dropped, 1u);
  EXPECT_TRUE(pts[1].auto_found);
  // Corruption elsewhere is an error naming the line.
  qtune::write_file_atomic(dir / "r.jsonl", l1 + "\n{oops\n" + l2 + "\n");
  try {
    qtune::read_results_jsonl(dir / "r.jsonl");
    FAIL();
  } catch (const qtune::error& e) {
    EXPECT_NE(std::string(e.what()).find("r.jsonl:2:"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace

// Issue 14: a parameter file whose provenance.spec points at another file made `tune review`
// print that file's whole content in its error (the spec parser quoted the scalar it found).
#include "tune/review.hpp"

TEST(tune_param_file, review_of_a_spec_that_is_another_file_does_not_print_it) {
  const fs::path dir = temp_dir("review_spec_leak");
  std::string secret = "root:x:0:0:root:/root:/bin/bash\n";
  for (int i = 0; i < 200; ++i) secret += "user" + std::to_string(i) + ":x:1000:1000::/home/u:/bin/sh\n";
  secret += "TOKEN=do-not-print-me\n";
  qtune::write_file_atomic(dir / "passwd", secret);
  auto p = sample("sq8", 0);
  p.provenance.spec_path = (dir / "passwd").string();
  try {
    qtune::review_spec(p);
    FAIL() << "expected an error";
  } catch (const qtune::error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("do-not-print-me"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("user10:"), std::string::npos) << msg;
    EXPECT_LT(msg.size(), 400u) << msg;
    EXPECT_NE(msg.find("passwd"), std::string::npos) << msg;
  }
  fs::remove_all(dir);
}
