// The HTML report of a real (small) sweep: self-contained, rendered without errors in headless
// Chromium, with a screenshot saved into the build folder; and `tune report DIR`.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "qtune/sweep.hpp"
#include "report/report.hpp"
#include "report_test_util.hpp"

namespace {

namespace fs = std::filesystem;
using qtune::testing::quick_sweep;
using qtune::testing::shell_quote;
using qtune::testing::slurp_file;

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

std::string body_attr(const std::string& dom, const std::string& name) {
  std::smatch m;
  const std::regex re("<body[^>]*\\s" + name + "=\"([^\"]*)\"");
  return std::regex_search(dom, m, re) ? m[1].str() : std::string("(absent)");
}

TEST(report, sweep_writes_a_self_contained_report) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const fs::path html = s.out / "report.html";
  ASSERT_TRUE(fs::exists(html));
  const std::string text = slurp_file(html);
  // Offline: the libraries are inlined, nothing is loaded from elsewhere.
  EXPECT_GT(text.size(), 700'000u);
  EXPECT_EQ(text.find("<script src"), std::string::npos);
  EXPECT_EQ(text.find("<link"), std::string::npos);
  EXPECT_NE(text.find("vegaEmbed"), std::string::npos);
  for (const char* id : {"chart-qps", "chart-p99", "chart-bytes"}) EXPECT_NE(text.find(id), std::string::npos) << id;
  // Tooltips carry every parameter of a point; QPS is on a log scale; the target is drawn.
  for (const char* field : {"\"title\":\"efSearch\"", "\"title\":\"efConstruction\"", "\"title\":\"M\"",
                            "\"title\":\"rerank\"", "\"title\":\"configuration\"", "\"type\":\"log\"",
                            "\"target\":0.9"})
    EXPECT_NE(text.find(field), std::string::npos) << field;
  // One table row per measured point, the recommended one highlighted.
  const auto points = qtune::read_results_jsonl(s.out / "results.jsonl");
  ASSERT_GE(points.size(), 6u);
  const std::size_t table_at = text.find("<table class=\"data\" id=\"points\"");
  ASSERT_NE(table_at, std::string::npos);
  const std::string table = text.substr(table_at, text.find("</table>", table_at) - table_at);
  EXPECT_EQ(count(table, "<tr"), points.size() + 1);  // + the header row
  EXPECT_EQ(count(table, "<tr class=\"hl\">"), 1u);
  EXPECT_NE(table.find("(recommended)"), std::string::npos);
}

TEST(report, report_command_rebuilds_it_from_the_folder) {
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const fs::path html = s.dir / "again.html";
  const auto r = qtune::testing::tune("report " + shell_quote(s.out) + " -o " + shell_quote(html));
  ASSERT_EQ(r.code, 0) << r.out;
  const auto in = qtune::report::load_sweep_dir(s.out);
  ASSERT_TRUE(in.recommended.has_value());
  EXPECT_DOUBLE_EQ(in.target_recall, 0.9);
  EXPECT_EQ(in.k, 10u);
  // The recommended point of the folder is the one recommended.yaml names.
  const std::string yaml = slurp_file(s.out / "recommended.yaml");
  EXPECT_NE(yaml.find("ef_search: " + std::to_string(in.points[*in.recommended].config.ef_search)), std::string::npos);
  const std::string text = slurp_file(html);
  EXPECT_NE(text.find(qtune::report::html_escape(in.points[*in.recommended].describe()) + "  (recommended)"),
            std::string::npos);
  // Without recommended.yaml, a target is required.
  const fs::path bare = s.dir / "bare";
  fs::create_directories(bare);
  fs::copy_file(s.out / "results.jsonl", bare / "results.jsonl", fs::copy_options::overwrite_existing);
  const auto missing = qtune::testing::tune("report " + shell_quote(bare));
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("--target-recall"), std::string::npos) << missing.out;
  const auto with_target = qtune::testing::tune("report " + shell_quote(bare) + " --target-recall 0.95");
  EXPECT_EQ(with_target.code, 0) << with_target.out;
  EXPECT_TRUE(fs::exists(bare / "report.html"));
  // Not a sweep folder: a clear error naming the file.
  const auto empty = qtune::testing::tune("report " + shell_quote(s.dir / "nothing-here"));
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.out.find("nothing-here"), std::string::npos) << empty.out;
}

TEST(report, renders_in_headless_chromium_without_errors) {
  QTUNE_REQUIRE_CHROMIUM(chromium);
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  const fs::path html = s.out / "report.html";
  const auto dom = qtune::testing::chromium_dump_dom(chromium, html);
  ASSERT_EQ(dom.code, 0) << dom.out.substr(0, 2000);
  EXPECT_EQ(body_attr(dom.out, "data-done"), "1") << dom.out.substr(0, 2000);
  EXPECT_EQ(body_attr(dom.out, "data-errors"), "0");
  EXPECT_EQ(body_attr(dom.out, "data-rendered"), "3");
  // Each chart drew an SVG with point symbols, axes and the target rule.
  EXPECT_GE(count(dom.out, "<svg"), 3u);
  EXPECT_GE(count(dom.out, "mark-symbol"), 3u);
  EXPECT_GE(count(dom.out, "mark-rule"), 3u);
  EXPECT_NE(dom.out.find("recall@10"), std::string::npos);
  // A screenshot of the real sweep's report, kept in the build folder for people to look at.
  const fs::path png = fs::current_path() / "report-screenshot.png";
  ASSERT_TRUE(qtune::testing::chromium_screenshot(chromium, html, png));
  const std::string bytes = slurp_file(png);
  ASSERT_GT(bytes.size(), 20'000u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
}

TEST(report, chromium_check_notices_errors) {
  // The check above would pass vacuously if the page could not report problems: a page with a
  // console error must say so.
  QTUNE_REQUIRE_CHROMIUM(chromium);
  const auto& s = quick_sweep::get();
  ASSERT_EQ(s.sweep.code, 0) << s.sweep.out;
  std::string text = slurp_file(s.out / "report.html");
  const std::size_t at = text.rfind("</body>");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "<script>console.error('deliberate');</script>\n");
  const fs::path bad = s.dir / "bad.html";
  std::ofstream(bad, std::ios::binary) << text;
  const auto dom = qtune::testing::chromium_dump_dom(chromium, bad);
  EXPECT_EQ(body_attr(dom.out, "data-errors"), "1");
  EXPECT_NE(dom.out.find("deliberate"), std::string::npos);
}

TEST(report, html_escaping_and_embedded_json_are_safe) {
  qtune::report::page p;
  p.title = "a <b> & \"c\"";
  p.facts = {{"x</script><script>alert(1)</script>", "y"}};
  qtune::report::chart c;
  c.id = "c1";
  c.spec = {{"title", "</script><script>alert(2)</script>"}, {"mark", "point"}};
  p.charts.push_back(c);
  const std::string html = qtune::report::render_page(p);
  EXPECT_NE(html.find("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"), std::string::npos);
  EXPECT_EQ(html.find("alert(1)</script>"), std::string::npos);
  EXPECT_EQ(html.find("alert(2)</script>"), std::string::npos);
  EXPECT_NE(html.find("<\\/script><script>alert(2)<\\/script>"), std::string::npos);
}

}  // namespace
