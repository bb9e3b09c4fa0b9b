// Sweep spec parsing: strict (unknown keys and wrong types are errors) and every message names
// FILE:LINE:COLUMN, because a spec is hand-written and a typo must not silently change a sweep.
#include "qtune/sweep_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "qtune/codec.hpp"
#include "qtune/error.hpp"
#include "util/byte_size.hpp"
#include "util/hash.hpp"

namespace qtune {

std::string to_string(objective_kind o) {
  switch (o) {
    case objective_kind::latency_p50: return "latency_p50";
    case objective_kind::latency_p99: return "latency_p99";
    case objective_kind::qps: return "qps";
    case objective_kind::memory: return "memory";
  }
  return "?";
}

objective_kind parse_objective(const std::string& name) {
  if (name == "latency_p50") return objective_kind::latency_p50;
  if (name == "latency_p99") return objective_kind::latency_p99;
  if (name == "qps") return objective_kind::qps;
  if (name == "memory") return objective_kind::memory;
  fail("objective must be one of latency_p50, latency_p99, qps, memory, got '", name, "'");
}

std::string sweep_spec::place(const std::string& key) const {
  auto it = where.find(key);
  if (it != where.end()) return it->second;
  return file.string();
}

namespace {

struct parser {
  std::filesystem::path file;
  sweep_spec* spec;

  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return file.string();
    return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  template <class... Args>
  [[noreturn]] void fail_at(const YAML::Node& n, Args&&... args) const {
    fail(where(n), ": ", std::forward<Args>(args)...);
  }
  void remember(const std::string& key, const YAML::Node& n) { spec->where[key] = where(n); }

  /// At most 60 bytes of a value, control characters escaped: a spec path that points at
  /// another file (a parameter file's provenance.spec) must not print that file in an error.
  static std::string clip(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && out.size() < 60; ++i) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      if (c < 0x20 || c == 0x7f) {
        static const char hex[] = "0123456789abcdef";
        out.push_back('\\');
        if (c == '\n') {
          out.push_back('n');
        } else {
          out.push_back('x');
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        }
      } else {
        out += char(c);
      }
    }
    if (out.size() >= 60 && s.size() > 60) out += "... (" + std::to_string(s.size()) + " bytes)";
    return out;
  }

  static std::string shown(const YAML::Node& n) {
    if (n.IsScalar()) return std::string(1, '\'').append(clip(n.Scalar())).append(1, '\'');
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "nothing";
  }

  /// Checks that `n` is a map whose keys are all in `allowed`.
  void check_keys(const YAML::Node& n, const std::string& what, const std::vector<std::string>& allowed) const {
    if (!n.IsMap()) fail_at(n, what, " must be a mapping, got ", shown(n));
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail_at(it->first, "unknown key '", clip(key), "' in ", what, " (expected one of: ", list, ")");
      }
    }
  }

  std::string get_string(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail_at(n, key, " must be a string, got ", shown(n));
    return n.Scalar();
  }

  std::uint64_t get_uint(const YAML::Node& n, const std::string& key, std::uint64_t min_value) const {
    if (!n.IsScalar()) fail_at(n, key, " must be an integer, got ", shown(n));
    const std::string& s = n.Scalar();
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || s[0] == '-' || s[0] == '+') {
      if (min_value > 0)
        fail_at(n, key, " must be a positive integer, got '", clip(s), "'");
      fail_at(n, key, " must be a non-negative integer, got '", clip(s), "'");
    }
    if (v < min_value) fail_at(n, key, " must be at least ", min_value, ", got ", v);
    return v;
  }

  double get_double(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail_at(n, key, " must be a number, got ", shown(n));
    const std::string& s = n.Scalar();
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v))
      fail_at(n, key, " must be a number, got '", clip(s), "'");
    return v;
  }

  bool get_bool(const YAML::Node& n, const std::string& key) const {
    if (!n.IsScalar()) fail_at(n, key, " must be true or false, got ", shown(n));
    const std::string& s = n.Scalar();
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
    fail_at(n, key, " must be true or false, got '", clip(s), "'");
  }

  /// A list (or a single scalar, taken as a one-element list) of positive integers.
  std::vector<std::size_t> get_uint_list(const YAML::Node& n, const std::string& key, std::uint64_t min_value) {
    std::vector<std::size_t> out;
    if (n.IsScalar()) {
      out.push_back(get_uint(n, key, min_value));
      remember(key + "[0]", n);
    } else if (n.IsSequence()) {
      if (n.size() == 0) fail_at(n, key, " must not be an empty list");
      for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string k = key + "[" + std::to_string(i) + "]";
        out.push_back(get_uint(n[i], k, min_value));
        remember(k, n[i]);
      }
    } else {
      fail_at(n, key, " must be an integer or a list of integers, got ", shown(n));
    }
    std::set<std::size_t> seen;
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!seen.insert(out[i]).second) fail_at(n, key, " lists ", out[i], " twice");
    return out;
  }

  std::vector<std::string> get_string_list(const YAML::Node& n, const std::string& key) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
      remember(key + "[0]", n);
    } else if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        const std::string k = key + "[" + std::to_string(i) + "]";
        out.push_back(get_string(n[i], k));
        remember(k, n[i]);
      }
    } else {
      fail_at(n, key, " must be a string or a list of strings, got ", shown(n));
    }
    return out;
  }

  std::filesystem::path get_path(const YAML::Node& n, const std::string& key) {
    std::string s = get_string(n, key);
    if (s.empty()) fail_at(n, key, " must not be empty");
    remember(key, n);
    std::filesystem::path p(s);
    if (p.is_relative()) p = file.parent_path() / p;
    return p.lexically_normal();
  }

  void parse_dataset(const YAML::Node& n) {
    check_keys(n, "dataset", {"base", "queries", "ground_truth", "ground_truth_distances", "metric", "max_base",
                              "max_queries"});
    auto& d = spec->dataset;
    if (!n["base"]) fail_at(n, "dataset needs 'base' (the base vectors file)");
    if (!n["queries"]) fail_at(n, "dataset needs 'queries' (the query vectors file)");
    d.base = get_path(n["base"], "dataset.base");
    d.queries = get_path(n["queries"], "dataset.queries");
    if (n["ground_truth"] && !n["ground_truth"].IsNull()) d.ground_truth = get_path(n["ground_truth"], "dataset.ground_truth");
    if (n["ground_truth_distances"] && !n["ground_truth_distances"].IsNull()) {
      if (d.ground_truth.empty())
        fail_at(n["ground_truth_distances"], "dataset.ground_truth_distances needs dataset.ground_truth");
      d.ground_truth_distances = get_path(n["ground_truth_distances"], "dataset.ground_truth_distances");
    }
    if (n["metric"]) {
      try {
        d.distance = parse_metric(get_string(n["metric"], "dataset.metric"));
      } catch (const error& e) {
        fail_at(n["metric"], "dataset.metric: ", e.what());
      }
    }
    if (n["max_base"]) d.max_base = get_uint(n["max_base"], "dataset.max_base", 0);
    if (n["max_queries"]) d.max_queries = get_uint(n["max_queries"], "dataset.max_queries", 0);
    if (n["max_queries"]) remember("dataset.max_queries", n["max_queries"]);
    if (n["max_base"]) remember("dataset.max_base", n["max_base"]);
    if (d.max_queries == 1) fail_at(n["max_queries"], "dataset.max_queries must be at least 2 (tuning + validation)");
  }

  void parse_grid(const YAML::Node& n) {
    check_keys(n, "grid", {"codecs", "m", "ef_construction", "ef_search", "ef_search_max", "ef_search_extra",
                           "rerank", "faiss"});
    auto& g = spec->grid;
    if (n["codecs"]) {
      g.codecs = get_string_list(n["codecs"], "grid.codecs");
      for (std::size_t i = 0; i < g.codecs.size(); ++i) {
        const YAML::Node c = n["codecs"].IsSequence() ? n["codecs"][i] : n["codecs"];
        try {
          g.codecs[i] = canonical_codec_name(g.codecs[i]);
        } catch (const error& e) {
          fail_at(c, "grid.codecs[", i, "]: ", e.what());
        }
      }
      std::set<std::string> seen;
      for (const auto& c : g.codecs)
        if (!seen.insert(c).second) fail_at(n["codecs"], "grid.codecs lists '", c, "' twice");
    }
    if (n["faiss"]) {
      g.faiss = get_string_list(n["faiss"], "grid.faiss");
      for (std::size_t i = 0; i < g.faiss.size(); ++i) {
        std::string& f = g.faiss[i];
        if (f.rfind("faiss:", 0) == 0) f = f.substr(6);
        if (f.empty()) fail_at(n["faiss"], "grid.faiss[", i, "] must be a FAISS factory string such as HNSW32,SQ8");
      }
    }
    if (n["codecs"] && g.codecs.empty() && g.faiss.empty()) fail_at(n["codecs"], "grid.codecs must not be empty");
    if (n["m"]) g.m = get_uint_list(n["m"], "grid.m", 2);
    if (n["ef_construction"]) g.ef_construction = get_uint_list(n["ef_construction"], "grid.ef_construction", 1);
    if (n["ef_search"]) {
      const YAML::Node e = n["ef_search"];
      remember("grid.ef_search", e);
      if (e.IsScalar() && e.Scalar() == "auto") {
        g.ef_search_auto = true;
      } else {
        g.ef_search_auto = false;
        g.ef_search = get_uint_list(e, "grid.ef_search", 1);
        std::sort(g.ef_search.begin(), g.ef_search.end());  // cheapest first
      }
    }
    if (n["ef_search_max"]) {
      g.ef_search_max = get_uint(n["ef_search_max"], "grid.ef_search_max", 1);
      remember("grid.ef_search_max", n["ef_search_max"]);
    }
    if (n["ef_search_extra"]) {
      const YAML::Node e = n["ef_search_extra"];
      g.ef_search_extra.clear();
      if (e.IsSequence()) {
        for (std::size_t i = 0; i < e.size(); ++i) {
          double f = get_double(e[i], "grid.ef_search_extra[" + std::to_string(i) + "]");
          if (!(f > 1.0) || f > 64.0)
            fail_at(e[i], "grid.ef_search_extra[", i, "] must be a factor in (1, 64], got ", e[i].Scalar());
          g.ef_search_extra.push_back(f);
        }
      } else if (!e.IsNull()) {
        fail_at(e, "grid.ef_search_extra must be a list of factors > 1 (e.g. [1.25, 1.5]) or [], got ", shown(e));
      }
    }
    if (n["rerank"]) g.rerank = get_uint_list(n["rerank"], "grid.rerank", 0);
    for (std::size_t r : g.rerank)
      if (r == 1 || r > 1000) fail_at(n["rerank"], "grid.rerank factors must be 0 (off) or 2..1000, got ", r);
  }

  void parse_objective(const YAML::Node& n) {
    if (n.IsScalar()) {
      try {
        spec->objective = qtune::parse_objective(n.Scalar());
      } catch (const error& e) {
        fail_at(n, e.what());
      }
      return;
    }
    if (!n.IsMap())
      fail_at(n, "objective must be a name (latency_p50, latency_p99, qps, memory) or a mapping, got ", shown(n));
    check_keys(n, "objective", {"optimize", "memory_budget", "memory_counts"});
    if (n["optimize"]) {
      try {
        spec->objective = qtune::parse_objective(get_string(n["optimize"], "objective.optimize"));
      } catch (const error& e) {
        fail_at(n["optimize"], "objective.optimize: ", e.what());
      }
    }
    if (n["memory_budget"] && !n["memory_budget"].IsNull()) {
      try {
        spec->memory_budget = parse_byte_size(get_string(n["memory_budget"], "objective.memory_budget"));
      } catch (const error& e) {
        fail_at(n["memory_budget"], "objective.memory_budget: ", e.what());
      }
      if (spec->memory_budget == 0) fail_at(n["memory_budget"], "objective.memory_budget must be positive");
    }
    if (n["memory_counts"]) {
      const std::string s = get_string(n["memory_counts"], "objective.memory_counts");
      if (s == "total") spec->memory_counts_rerank = true;
      else if (s == "resident") spec->memory_counts_rerank = false;
      else fail_at(n["memory_counts"], "objective.memory_counts must be 'total' or 'resident', got '", clip(s), "'");
    }
  }

  /// `fidelity: auto | on | off` or a mapping {levels, min_rows, margin, keep_at_least}.
  void parse_fidelity(const YAML::Node& n) {
    auto& f = spec->fidelity;
    remember("fidelity", n);
    if (n.IsNull()) return;
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "auto" || s == "on" || s == "true" || s == "yes") f.enabled = true;
      else if (s == "off" || s == "false" || s == "no") f.enabled = false;
      else fail_at(n, "fidelity must be auto, off, or a mapping {levels, min_rows, margin, keep_at_least}, got '",
                   clip(s), "'");
      return;
    }
    if (!n.IsMap()) fail_at(n, "fidelity must be auto, off, or a mapping, got ", shown(n));
    check_keys(n, "fidelity", {"levels", "min_rows", "margin", "keep_at_least"});
    f.enabled = true;
    if (const YAML::Node l = n["levels"]; l && !(l.IsScalar() && l.Scalar() == "auto")) {
      if (!l.IsSequence() || l.size() == 0)
        fail_at(l, "fidelity.levels must be auto or a list of fractions of the base, e.g. [0.1, 0.3, 1.0], got ",
                shown(l));
      for (std::size_t i = 0; i < l.size(); ++i) {
        const std::string key = "fidelity.levels[" + std::to_string(i) + "]";
        const double v = get_double(l[i], key);
        if (!(v > 0 && v <= 1)) fail_at(l[i], key, " must be a fraction in (0, 1], got ", l[i].Scalar());
        if (!f.levels.empty() && v <= f.levels.back())
          fail_at(l[i], "fidelity.levels must be strictly increasing, got ", v, " after ", f.levels.back());
        f.levels.push_back(v);
      }
      if (f.levels.back() != 1.0)
        fail_at(l, "fidelity.levels must end with 1.0 (the full base: the recommendation is measured there)");
      remember("fidelity.levels", l);
    }
    if (n["min_rows"]) f.min_rows = get_uint(n["min_rows"], "fidelity.min_rows", 1);
    if (n["margin"]) {
      f.margin = get_double(n["margin"], "fidelity.margin");
      if (f.margin < 0 || f.margin > 10) fail_at(n["margin"], "fidelity.margin must be in [0, 10], got ", f.margin);
    }
    if (n["keep_at_least"]) f.keep_at_least = get_uint(n["keep_at_least"], "fidelity.keep_at_least", 1);
  }

  void parse_root(const YAML::Node& root) {
    if (!root.IsDefined() || root.IsNull()) fail(file.string(), ":1:1: the spec is empty");
    check_keys(root, "the spec", {"name", "dataset", "k", "target_recall", "recall", "split", "grid", "objective",
                                  "threads", "repetitions", "warmup_queries", "seed", "output", "cache_dir",
                                  "fidelity"});
    spec->name = file.stem().string();
    if (root["name"]) {
      spec->name = get_string(root["name"], "name");
      for (char c : spec->name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
          fail_at(root["name"], "name may hold letters, digits, '-', '_' and '.', got '", spec->name, "'");
      if (spec->name.empty() || spec->name[0] == '.') fail_at(root["name"], "name must not be empty or start with '.'");
    }
    if (!root["dataset"]) fail_at(root, "the spec needs a 'dataset' section");
    parse_dataset(root["dataset"]);
    if (root["k"]) {
      spec->k = get_uint(root["k"], "k", 1);
      remember("k", root["k"]);
      if (spec->k > 1000) fail_at(root["k"], "k must be at most 1000, got ", spec->k);
    }
    if (root["target_recall"]) {
      spec->target_recall = get_double(root["target_recall"], "target_recall");
      remember("target_recall", root["target_recall"]);
      if (!(spec->target_recall > 0.0 && spec->target_recall <= 1.0))
        fail_at(root["target_recall"], "target_recall must be in (0, 1], got ", root["target_recall"].Scalar());
    }
    if (root["recall"]) {
      const std::string s = get_string(root["recall"], "recall");
      if (s == "ids") spec->steer_by = recall_measure::ids;
      else if (s == "distance") spec->steer_by = recall_measure::distance;
      else fail_at(root["recall"], "recall must be 'ids' or 'distance', got '", clip(s), "'");
    }
    if (root["split"]) {
      const YAML::Node s = root["split"];
      check_keys(s, "split", {"validation_fraction"});
      if (s["validation_fraction"]) {
        spec->validation_fraction = get_double(s["validation_fraction"], "split.validation_fraction");
        remember("split.validation_fraction", s["validation_fraction"]);
        if (!(spec->validation_fraction > 0.0 && spec->validation_fraction < 1.0))
          fail_at(s["validation_fraction"], "split.validation_fraction must be in (0, 1), got ",
                  s["validation_fraction"].Scalar());
      }
    }
    if (root["grid"]) parse_grid(root["grid"]);
    if (spec->grid.codecs.empty() && spec->grid.faiss.empty())
      fail_at(root["grid"], "grid has nothing to build: give codecs or faiss");
    if (root["objective"]) parse_objective(root["objective"]);
    if (root["threads"]) spec->threads = get_uint(root["threads"], "threads", 0);
    if (root["repetitions"]) {
      spec->repetitions = get_uint(root["repetitions"], "repetitions", 1);
      if (spec->repetitions > 100) fail_at(root["repetitions"], "repetitions must be at most 100");
    }
    if (root["warmup_queries"]) spec->warmup_queries = get_uint(root["warmup_queries"], "warmup_queries", 0);
    if (root["seed"]) spec->seed = get_uint(root["seed"], "seed", 0);
    if (root["output"]) spec->output = get_path(root["output"], "output");
    if (root["cache_dir"]) spec->cache_dir = get_path(root["cache_dir"], "cache_dir");
    if (root["fidelity"]) parse_fidelity(root["fidelity"]);
  }
};

}  // namespace

sweep_spec parse_sweep_spec_text(const std::string& yaml, const std::filesystem::path& file) {
  sweep_spec spec;
  spec.file = file;
  parser p{file, &spec};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail(file.string(), ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
  try {
    p.parse_root(root);
  } catch (const YAML::Exception& e) {  // e.g. a duplicate key or a bad conversion
    fail(file.string(), ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg);
  }
  return spec;
}

sweep_spec parse_sweep_spec(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in, path.string(), ": cannot open the sweep spec");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_sweep_spec_text(text.str(), path);
}

std::string canonical_text(const sweep_spec& s) {
  std::ostringstream o;
  auto list = [&](const auto& v) {
    std::ostringstream l;
    for (const auto& x : v) l << x << ",";
    return l.str();
  };
  o << "dataset.base=" << s.dataset.base.string() << "\n"
    << "dataset.queries=" << s.dataset.queries.string() << "\n"
    << "dataset.ground_truth=" << s.dataset.ground_truth.string() << "\n"
    << "dataset.metric=" << to_string(s.dataset.distance) << "\n"
    << "dataset.max_base=" << s.dataset.max_base << "\n"
    << "dataset.max_queries=" << s.dataset.max_queries << "\n"
    << "k=" << s.k << "\n"
    << "target_recall=" << s.target_recall << "\n"
    << "recall=" << (s.steer_by == recall_measure::ids ? "ids" : "distance") << "\n"
    << "split.validation_fraction=" << s.validation_fraction << "\n"
    << "grid.codecs=" << list(s.grid.codecs) << "\n"
    << "grid.m=" << list(s.grid.m) << "\n"
    << "grid.ef_construction=" << list(s.grid.ef_construction) << "\n"
    << "grid.ef_search=" << (s.grid.ef_search_auto ? std::string("auto") : list(s.grid.ef_search)) << "\n"
    << "grid.ef_search_max=" << s.grid.ef_search_max << "\n"
    << "grid.ef_search_extra=" << list(s.grid.ef_search_extra) << "\n"
    << "grid.rerank=" << list(s.grid.rerank) << "\n"
    << "grid.faiss=" << list(s.grid.faiss) << "\n"
    << "threads=" << s.threads << "\n"
    << "repetitions=" << s.repetitions << "\n"
    << "warmup_queries=" << s.warmup_queries << "\n"
    << "seed=" << s.seed << "\n";
  if (s.fidelity.enabled)  // only then, so that the hash of a plain spec is what it always was
    o << "fidelity.levels=" << list(s.fidelity.levels) << "\n"
      << "fidelity.min_rows=" << s.fidelity.min_rows << "\n"
      << "fidelity.margin=" << s.fidelity.margin << "\n"
      << "fidelity.keep_at_least=" << s.fidelity.keep_at_least << "\n";
  return o.str();
}

std::string spec_hash(const sweep_spec& spec) { return fnv1a_hex(canonical_text(spec)); }

std::string example_spec_text() {
  return R"(# qtune sweep spec (print this template with `tune --example`; every key: sweeps/README.md).
# Paths are relative to this file's folder, or absolute.
name: my-sweep                 # results go to results/<name>/ (default: the file's name)

dataset:
  base: /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz   # .fvecs .bvecs .npy .hdf5 IDX(.gz)
  queries: /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
  # ground_truth: gt.ivecs         # optional; computed exactly (and cached) when absent
  # ground_truth_distances: gt.fvecs
  metric: l2                     # l2 | ip | cosine (cosine normalises vectors at load)
  max_base: 10000                # use the first N base rows (0 = all)
  max_queries: 1000              # use the first N query rows (0 = all)

k: 10                            # recall@k
target_recall: 0.95              # --target-recall overrides
recall: ids                      # which recall steers: ids (id intersection) | distance (ann-benchmarks)

split:
  validation_fraction: 0.5       # queries held out to confirm the recommendation (seeded shuffle)

grid:
  codecs: [fp32, sq8, sq4]       # any codec name (tune codecs lists them): fp16, bf16, pq16x8, rot,sq4 ...
  m: [16]                        # HNSW M
  ef_construction: [100]
  ef_search: auto                # auto (smallest ef reaching the target) or a list, e.g. [16, 32, 64]
  ef_search_max: 1024            # auto: the largest ef tried
  ef_search_extra: [1.25, 1.5]   # auto: also measure ef x these factors (fallbacks if validation misses)
  rerank: [0, 4]                 # 0 = off; r = re-score the top k*r with full vectors (codecs other than fp32)
  # faiss: ["HNSW16,SQ8"]        # FAISS index_factory strings measured as peers

objective:
  optimize: latency_p50          # latency_p50 | latency_p99 | qps | memory
  # memory_budget: 64MiB         # only configurations within this many bytes qualify
  memory_counts: total           # total (RAM + rerank vectors) | resident (RAM only)

threads: 0                       # 0 = all cores (builds, batch QPS); latency is always one thread
repetitions: 3                   # latency/QPS passes per point (median/min/max reported)
warmup_queries: 100
seed: 42
# output: ../results/my-sweep    # default: results/<name> under the current directory
# cache_dir: ../results/.cache   # ground-truth cache (default $QTUNE_CACHE_DIR or ~/.cache/qtune/ground_truth)
# fidelity:                      # multi-fidelity: tune on nested samples, confirm the survivors at full size
#   levels: [0.1, 0.3, 1.0]      # fractions of the base (auto: 3%, 10%, 30%, 100%, skipping < min_rows rows)
#   min_rows: 2000
#   margin: 0.10                 # widen each build's cost interval by 10% before dropping it as dominated
#   keep_at_least: 1
)";
}

void apply_overrides(sweep_spec& spec, const spec_overrides& o) {
  if (o.target_recall) {
    QTUNE_CHECK(*o.target_recall > 0 && *o.target_recall <= 1, "--target-recall must be in (0, 1], got ",
                *o.target_recall);
    spec.target_recall = *o.target_recall;
  }
  if (!o.output.empty()) spec.output = o.output;
  if (o.threads) {
    QTUNE_CHECK(*o.threads >= 0, "--threads must be >= 0, got ", *o.threads);
    spec.threads = static_cast<std::size_t>(*o.threads);
  }
  if (o.k) {
    QTUNE_CHECK(*o.k >= 1 && *o.k <= 1000, "--k must be in 1..1000, got ", *o.k);
    spec.k = static_cast<std::size_t>(*o.k);
  }
}

}  // namespace qtune
