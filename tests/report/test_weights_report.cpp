// HTML reports of `tune weights stats|plan --html` on a real GGUF model, and the progress
// lines/--quiet of the weights commands.
#include <gtest/gtest.h>

#include <regex>

#include "report_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using qtune::testing::shell_quote;
using qtune::testing::slurp_file;
using qtune::testing::tune;

std::string body_attr(const std::string& dom, const std::string& name) {
  std::smatch m;
  const std::regex re("<body[^>]*\\s" + name + "=\"([^\"]*)\"");
  return std::regex_search(dom, m, re) ? m[1].str() : std::string("(absent)");
}

fs::path tmp(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("qtune_wreport_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d / name;
}

TEST(weights_report, stats_and_plan_write_html_that_renders) {
  QTUNE_REQUIRE_DATA_FILE(model, "gguf/stories260K.gguf");
  const fs::path stats = tmp("stats.html"), plan = tmp("plan.html");
  auto r = tune("weights stats --quiet --types q4_0,q8_0,q4_k --totals-only --html " + shell_quote(stats) + " " +
                shell_quote(model));
  ASSERT_EQ(r.code, 0) << r.out;
  r = tune("weights plan --quiet --budget-bpw 5 --html " + shell_quote(plan) + " " + shell_quote(model));
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string s = slurp_file(stats), p = slurp_file(plan);
  EXPECT_NE(s.find("blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(s.find("chart-error"), std::string::npos);
  EXPECT_NE(p.find("chart-front"), std::string::npos);
  EXPECT_NE(p.find("budget 5.000 bpw"), std::string::npos);
  QTUNE_REQUIRE_CHROMIUM(chromium);
  for (const auto& [file, charts] : {std::pair{stats, "2"}, std::pair{plan, "3"}}) {
    const auto dom = qtune::testing::chromium_dump_dom(chromium, file);
    EXPECT_EQ(body_attr(dom.out, "data-errors"), "0") << file;
    EXPECT_EQ(body_attr(dom.out, "data-rendered"), charts) << file;
    EXPECT_NE(dom.out.find("mark-symbol"), std::string::npos) << file;
  }
  fs::remove_all(stats.parent_path());
}

TEST(progress, plain_lines_in_a_pipe_and_nothing_with_quiet) {
  QTUNE_REQUIRE_DATA_FILE(model, "gguf/stories260K.gguf");
  const fs::path out = tmp("q.gguf");
  // Output goes to a pipe (not a terminal): plain lines, no carriage returns or escapes.
  auto r = tune("weights quantize --type q8_0 -o " + shell_quote(out) + " " + shell_quote(model));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\\[quantize [0-9]+/[0-9]+ [0-9]+:[0-9]{2}\\] quantize: "))) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos);
  EXPECT_EQ(r.out.find("\033["), std::string::npos);
  r = tune("weights quantize --quiet --type q8_0 -o " + shell_quote(out) + " " + shell_quote(model));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("[quantize"), std::string::npos) << r.out;
  fs::remove_all(out.parent_path());
}

}  // namespace
