// The folder graph of src/, read from #include lines: every folder includes only the folders the
// table below allows (each one lower down, so there is no cycle), no private header is included
// from another folder, and public headers include no src/ header. README "Layout" draws it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// What each folder of src/ may include (directly), lowest layer first. A folder not listed
// here fails the test: add it where it belongs.
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> graph = {
      {"util", {}},
      {"core", {"util"}},
      {"kernels", {"core", "util"}},
      {"dataset", {"core", "util"}},
      {"ground_truth", {"dataset", "kernels", "core", "util"}},
      {"codec", {"ground_truth", "dataset", "kernels", "core", "util"}},  // ground_truth: knn_result
      {"index", {"codec", "ground_truth", "dataset", "kernels", "core", "util"}},
      {"tune", {"index", "codec", "ground_truth", "dataset", "kernels", "core", "util"}},
      {"api", {"index", "codec", "ground_truth", "dataset", "kernels", "core", "util"}},
      {"weights", {"codec", "core", "util"}},
      {"report", {"tune", "weights", "index", "codec", "ground_truth", "dataset", "core", "util"}},
      {"cli", {"report", "weights", "api", "tune", "index", "codec", "ground_truth", "dataset", "kernels", "core",
               "util"}},
  };
  return graph;
}

// The folder that implements each public header (include/qtune/<name>.hpp). A header missing
// here belongs to the lowest folder of src/ that includes it (see owner_of below).
const std::map<std::string, std::string>& public_header_owner() {
  static const std::map<std::string, std::string> owner = {
      {"error.hpp", "util"},          {"progress.hpp", "util"},      {"pareto.hpp", "util"},
      {"simd.hpp", "core"},           {"metric.hpp", "core"},        {"version.hpp", "core"},
      {"dataset.hpp", "dataset"},     {"ground_truth.hpp", "ground_truth"}, {"codec.hpp", "codec"},
      {"index.hpp", "index"},         {"qtune.hpp", "api"},          {"param_file.hpp", "tune"},
      {"measurement.hpp", "index"},   {"params.hpp", "index"},  // plain data over index_config
      {"recommend.hpp", "tune"},      {"sweep.hpp", "tune"},         {"sweep_spec.hpp", "tune"},
      {"sweep_steps.hpp", "tune"},    {"sweep_shard.hpp", "tune"},   {"weights.hpp", "weights"},
  };
  return owner;
}

// A header private to its folder: <folder>/*_impl.hpp, <folder>/*_detail.hpp.
bool is_private(const std::string& include) { return std::regex_search(include, std::regex(R"(_(impl|detail)\.hpp$)")); }

struct include_line {
  std::string file;  // relative to the source root
  int line;
  std::string target;
};

std::vector<include_line> includes_of(const fs::path& root, const fs::path& file) {
  static const std::regex inc(R"(^\s*#\s*include\s*["<]([^">]+)[">])");
  std::vector<include_line> out;
  std::ifstream in(file);
  std::string text;
  for (int n = 1; std::getline(in, text); ++n) {
    std::smatch m;
    if (std::regex_search(text, m, inc)) out.push_back({fs::relative(file, root).string(), n, m[1].str()});
  }
  return out;
}

bool is_source(const fs::path& p) {
  const std::string e = p.extension().string();
  return e == ".hpp" || e == ".cpp" || e == ".h" || e == ".in";
}

// The owner of a public header missing from the table: the one folder of src/ including it that
// every other includer may include ("" when there is none).
std::string owner_of(const fs::path& root, const std::string& name) {
  std::set<std::string> includers;
  for (const auto& entry : fs::recursive_directory_iterator(root / "src")) {
    if (!entry.is_regular_file() || !is_source(entry.path())) continue;
    for (const include_line& inc : includes_of(root, entry.path()))
      if (inc.target == "qtune/" + name) includers.insert(fs::relative(entry.path(), root / "src").begin()->string());
  }
  for (const std::string& f : includers) {
    bool lowest = allowed().count(f) != 0;
    for (const std::string& g : includers)
      if (g != f && (!allowed().count(g) || !allowed().at(g).count(f))) lowest = false;
    if (lowest) return f;
  }
  return "";
}

class include_graph : public ::testing::Test {
 protected:
  fs::path root_ = QTUNE_SOURCE_DIR;

  // folder of src/ (or the owner of a public header) an include names; "" when neither.
  std::string folder_named(const std::string& include, const include_line& where) {
    if (include.rfind("qtune/", 0) == 0) {
      const std::string name = include.substr(6);
      const auto it = public_header_owner().find(name);
      if (it != public_header_owner().end()) return it->second;
      if (!fs::exists(root_ / "include" / include)) return "";
      const std::string owner = owner_of(root_, name);
      if (owner.empty())
        ADD_FAILURE() << where.file << ":" << where.line << ": public header " << include
                      << " has no owner: add it to public_header_owner() in tests/arch/test_include_graph.cpp";
      return owner;
    }
    const auto slash = include.find('/');
    if (slash == std::string::npos) return "";
    const std::string top = include.substr(0, slash);
    return fs::is_directory(root_ / "src" / top) ? top : "";
  }
};

TEST_F(include_graph, the_allowed_graph_has_no_cycle) {
  std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
  std::function<void(const std::string&, std::vector<std::string>&)> visit = [&](const std::string& f,
                                                                                 std::vector<std::string>& path) {
    path.push_back(f);
    state[f] = 1;
    const auto it = allowed().find(f);
    ASSERT_NE(it, allowed().end()) << f << " is allowed as a dependency but has no row";
    for (const std::string& g : it->second) {
      if (state[g] == 1) {
        std::string cycle;
        for (const auto& p : path) cycle += p + " -> ";
        ADD_FAILURE() << "cycle in the allowed graph: " << cycle << g;
      } else if (state[g] == 0) {
        visit(g, path);
      }
    }
    state[f] = 2;
    path.pop_back();
  };
  for (const auto& [f, deps] : allowed()) {
    std::vector<std::string> path;
    if (state[f] == 0) visit(f, path);
  }
}

TEST_F(include_graph, every_folder_includes_only_what_it_may) {
  std::set<std::string> seen;
  for (const auto& dir : fs::directory_iterator(root_ / "src")) {
    if (!dir.is_directory()) continue;
    const std::string folder = dir.path().filename().string();
    seen.insert(folder);
    const auto rule = allowed().find(folder);
    if (rule == allowed().end()) {
      ADD_FAILURE() << "src/" << folder << " is not in the layer table of tests/arch/test_include_graph.cpp";
      continue;
    }
    for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
      if (!entry.is_regular_file() || !is_source(entry.path())) continue;
      for (const include_line& inc : includes_of(root_, entry.path())) {
        const std::string to = folder_named(inc.target, inc);
        if (to.empty() || to == folder) continue;
        EXPECT_TRUE(rule->second.count(to))
            << inc.file << ":" << inc.line << ": src/" << folder << " must not include " << inc.target << " (src/"
            << to << " is not below it; see the graph in README.md, Layout)";
        EXPECT_FALSE(is_private(inc.target))
            << inc.file << ":" << inc.line << ": " << inc.target << " is private to src/" << to
            << " (*_impl.hpp, *_detail.hpp); give it an interface header";
      }
    }
  }
  EXPECT_GE(seen.size(), 10u) << "src/ was not found under " << root_;
}

TEST_F(include_graph, public_headers_follow_their_owner_and_include_no_src_header) {
  for (const auto& entry : fs::directory_iterator(root_ / "include" / "qtune")) {
    const std::string name = entry.path().filename().string();
    const auto known = public_header_owner().find(name);
    const std::string owner = known != public_header_owner().end() ? known->second : owner_of(root_, name);
    if (owner.empty()) {
      ADD_FAILURE() << "include/qtune/" << name << " has no owner: add it to public_header_owner()";
      continue;
    }
    for (const include_line& inc : includes_of(root_, entry.path())) {
      if (inc.target.rfind("qtune/", 0) != 0) {
        const auto slash = inc.target.find('/');
        EXPECT_FALSE(slash != std::string::npos && fs::is_directory(root_ / "src" / inc.target.substr(0, slash)))
            << inc.file << ":" << inc.line << ": a public header includes src/ header " << inc.target;
        continue;
      }
      const std::string to = folder_named(inc.target, inc);
      if (to.empty() || to == owner) continue;
      EXPECT_TRUE(allowed().at(owner).count(to))
          << inc.file << ":" << inc.line << ": " << name << " (src/" << owner << ") must not include "
          << inc.target << " (src/" << to << ")";
    }
  }
}

}  // namespace
