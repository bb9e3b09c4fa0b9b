#include <gtest/gtest.h>

#include <string>

#include "qtune/error.hpp"
#include "qtune/sweep_spec.hpp"

namespace {

using qtune::parse_sweep_spec_text;

const char* minimal = R"(dataset:
  base: data/base.fvecs
  queries: /abs/queries.fvecs
  metric: cosine
  max_base: 500
k: 5
grid:
  codecs: [fp32, SQ8]
  m: [8, 16]
  ef_construction: 40
  ef_search: [64, 16, 32]
  rerank: [0, 3]
objective:
  optimize: qps
  memory_budget: 2MiB
threads: 1
seed: 7
)";

/// The message of the qtune::error that parsing `yaml` throws ("" when none).
std::string error_of(const std::string& yaml) {
  try {
    parse_sweep_spec_text(yaml, "specs/x.yaml");
  } catch (const qtune::error& e) {
    return e.what();
  }
  return "";
}

TEST(tune_spec, parses_every_section) {
  const auto s = parse_sweep_spec_text(minimal, "specs/x.yaml");
  EXPECT_EQ(s.name, "x");
  EXPECT_EQ(s.dataset.base, std::filesystem::path("specs/data/base.fvecs"));  // relative to the spec
  EXPECT_EQ(s.dataset.queries, std::filesystem::path("/abs/queries.fvecs"));  // absolute kept
  EXPECT_EQ(s.dataset.distance, qtune::metric::cosine);
  EXPECT_EQ(s.dataset.max_base, 500u);
  EXPECT_EQ(s.k, 5u);
  EXPECT_EQ(s.grid.codecs, (std::vector<std::string>{"fp32", "sq8"}));  // canonical spelling
  EXPECT_EQ(s.grid.m, (std::vector<std::size_t>{8, 16}));
  EXPECT_EQ(s.grid.ef_construction, (std::vector<std::size_t>{40}));
  EXPECT_FALSE(s.grid.ef_search_auto);
  EXPECT_EQ(s.grid.ef_search, (std::vector<std::size_t>{16, 32, 64}));  // cheapest first
  EXPECT_EQ(s.grid.rerank, (std::vector<std::size_t>{0, 3}));
  EXPECT_EQ(s.objective, qtune::objective_kind::qps);
  EXPECT_EQ(s.memory_budget, 2u * 1024 * 1024);
  EXPECT_EQ(s.threads, 1u);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_DOUBLE_EQ(s.target_recall, 0.95);  // default
}

TEST(tune_spec, unknown_key_names_file_line_column) {
  std::string y = minimal;
  y.replace(y.find("  ef_construction: 40"), 21, "  ef_constrution: 40");
  const std::string msg = error_of(y);
  EXPECT_NE(msg.find("specs/x.yaml:10:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown key 'ef_constrution' in grid"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ef_construction"), std::string::npos) << msg;  // lists the allowed keys
}

TEST(tune_spec, wrong_types_name_file_line_column) {
  std::string y = minimal;
  y.replace(y.find("k: 5"), 4, "k: five");
  std::string msg = error_of(y);
  EXPECT_NE(msg.find("specs/x.yaml:6:4: k must be a positive integer, got 'five'"), std::string::npos) << msg;

  y = minimal;
  y.replace(y.find("m: [8, 16]"), 10, "m: [8, -3]");
  msg = error_of(y);
  EXPECT_NE(msg.find("specs/x.yaml:9:10:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("grid.m[1]"), std::string::npos) << msg;

  y = minimal;
  y.replace(y.find("threads: 1"), 10, "threads: [1]");
  msg = error_of(y);
  EXPECT_NE(msg.find("specs/x.yaml:16:10: threads must be an integer, got a list"), std::string::npos) << msg;

  y = minimal;
  y.replace(y.find("objective:\n  optimize: qps\n  memory_budget: 2MiB\n"), 49, "objective: [qps]\n");
  msg = error_of(y);
  EXPECT_NE(msg.find("specs/x.yaml:13:12: objective must be a name (latency_p50, latency_p99, qps, memory) or a mapping"), std::string::npos) << msg;
}

TEST(tune_spec, impossible_values_are_errors) {
  auto with = [](const std::string& from, const std::string& to) {
    std::string y = minimal;
    y.replace(y.find(from), from.size(), to);
    return error_of(y);
  };
  EXPECT_NE(with("k: 5", "k: 0").find("x.yaml:6:4: k must be at least 1"), std::string::npos);
  EXPECT_NE(with("seed: 7", "seed: 7\ntarget_recall: 1.5").find("x.yaml:18:16: target_recall must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(with("seed: 7", "seed: 7\nsplit: {validation_fraction: 1.0}").find("validation_fraction must be in (0, 1)"),
            std::string::npos);
  EXPECT_NE(with("rerank: [0, 3]", "rerank: [0, 1]").find("rerank factors must be 0 (off) or 2..1000"),
            std::string::npos);
  EXPECT_NE(with("m: [8, 16]", "m: [8, 8]").find("lists 8 twice"), std::string::npos);
  EXPECT_NE(with("memory_budget: 2MiB", "memory_budget: 2 parsecs").find("x.yaml:15:18:"), std::string::npos);
  EXPECT_NE(with("optimize: qps", "optimize: speed").find("x.yaml:14:13:"), std::string::npos);
  EXPECT_NE(with("metric: cosine", "metric: manhattan").find("x.yaml:4:11:"), std::string::npos);
  EXPECT_NE(with("codecs: [fp32, SQ8]", "codecs: [fp32, sq9]").find("x.yaml:8:18: grid.codecs[1]"), std::string::npos);
  EXPECT_NE(error_of("k: 3\n").find("needs a 'dataset' section"), std::string::npos);
  EXPECT_NE(error_of("dataset: {base: a.fvecs}\n").find("needs 'queries'"), std::string::npos);
  EXPECT_NE(error_of("dataset: [1\n").find("specs/x.yaml:"), std::string::npos);  // YAML syntax error
}

TEST(tune_spec, auto_ef_and_defaults) {
  const auto s = parse_sweep_spec_text("dataset: {base: b.fvecs, queries: q.fvecs}\ngrid: {ef_search: auto, "
                                       "ef_search_max: 300, ef_search_extra: []}\n",
                                       "/tmp/y.yaml");
  EXPECT_TRUE(s.grid.ef_search_auto);
  EXPECT_EQ(s.grid.ef_search_max, 300u);
  EXPECT_TRUE(s.grid.ef_search_extra.empty());
  EXPECT_EQ(s.grid.codecs, (std::vector<std::string>{"fp32"}));
  EXPECT_EQ(s.objective, qtune::objective_kind::latency_p50);
}

TEST(tune_spec, example_template_parses) {
  const auto s = parse_sweep_spec_text(qtune::example_spec_text(), "/tmp/example.yaml");
  EXPECT_EQ(s.name, "my-sweep");
  EXPECT_TRUE(s.grid.ef_search_auto);
  EXPECT_EQ(s.grid.codecs.size(), 3u);
}

TEST(tune_spec, hash_changes_with_measured_settings_only) {
  auto a = parse_sweep_spec_text(minimal, "specs/x.yaml");
  auto b = a;
  b.output = "elsewhere";
  EXPECT_EQ(qtune::spec_hash(a), qtune::spec_hash(b));
  b.k = 6;
  EXPECT_NE(qtune::spec_hash(a), qtune::spec_hash(b));
}

}  // namespace
