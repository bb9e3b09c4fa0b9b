// The progress plumbing (qtune/progress.hpp) and the CLI's renderer (src/cli/progress_bar.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "cli/progress_bar.hpp"
#include "qtune/progress.hpp"

namespace {

/// Captures std::cerr while alive.
struct capture_cerr {
  std::ostringstream text;
  std::streambuf* old = std::cerr.rdbuf(text.rdbuf());
  ~capture_cerr() { std::cerr.rdbuf(old); }
};

TEST(progress, scopes_nest_and_restore) {
  std::vector<std::string> outer, inner;
  EXPECT_FALSE(qtune::progress_enabled());
  {
    qtune::progress_scope a([&](const qtune::progress_event& e) { outer.push_back(e.phase); });
    qtune::report_progress("one", 1, 2);
    {
      qtune::progress_scope b([&](const qtune::progress_event& e) { inner.push_back(e.phase); });
      qtune::report_progress("two", 1, 2);
    }
    qtune::report_progress("three", 2, 2);
  }
  EXPECT_FALSE(qtune::progress_enabled());
  qtune::report_progress("dropped", 0, 1);  // no scope: nothing happens
  EXPECT_EQ(outer, (std::vector<std::string>{"one", "three"}));
  EXPECT_EQ(inner, (std::vector<std::string>{"two"}));
}

TEST(progress, callbacks_are_serialised_across_threads) {
  int calls = 0;  // deliberately not atomic: report_progress must serialise
  {
    qtune::progress_scope s([&](const qtune::progress_event&) { ++calls; });
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([] {
        for (int i = 0; i < 2000; ++i) qtune::report_progress("x", i, 2000);
      });
    for (auto& t : ts) t.join();
  }
  EXPECT_EQ(calls, 8000);
}

TEST(progress, plain_lines_skip_transient_and_repeated_messages) {
  capture_cerr cap;
  {
    qtune::cli::progress_bar bar(false, false);
    bar({"sweep", 0, 10, "build 1/2", false, false});
    bar({"sweep", 1, 10, "build 1/2: searching, efSearch 10", false, true});   // transient: not printed
    bar({"sweep", 2, 10, "build 1/2: searching, efSearch 20", false, true});
    bar({"sweep", 3, 10, "point a: recall 0.9", true, false});                 // result: printed
    bar({"ground truth", 5, 100, "", false, false});                            // first of a phase: printed
    bar({"ground truth", 6, 100, "", false, false});                            // within 5 s: not printed
    bar({"ground truth", 100, 100, "", false, false});                          // final: printed
  }
  const std::string s = cap.text.str();
  EXPECT_NE(s.find("[sweep 0/10 0:00] build 1/2\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("searching"), std::string::npos) << s;
  EXPECT_NE(s.find("[sweep 3/10 0:00] point a: recall 0.9\n"), std::string::npos) << s;
  EXPECT_NE(s.find("[ground truth 5/100"), std::string::npos) << s;
  EXPECT_EQ(s.find("[ground truth 6/100"), std::string::npos) << s;
  EXPECT_NE(s.find("[ground truth 100/100"), std::string::npos) << s;
  EXPECT_EQ(s.find('\r'), std::string::npos);
}

TEST(progress, terminal_bar_redraws_in_place_with_eta_and_quiet_prints_nothing) {
  capture_cerr cap;
  {
    qtune::cli::progress_bar bar(false, true);
    bar({"quantize", 50, 100, "blk.0 -> q4_k", false, false});
    bar({"quantize", 100, 100, "", false, false});
  }
  const std::string s = cap.text.str();
  EXPECT_NE(s.find(" 50%"), std::string::npos) << s;
  EXPECT_NE(s.find("ETA "), std::string::npos) << s;
  EXPECT_NE(s.find("100%"), std::string::npos) << s;
  EXPECT_NE(s.find("\r\033[K"), std::string::npos);  // cleared before redrawing / at the end
  EXPECT_EQ(s.find('\n'), std::string::npos);         // nothing scrolls
  capture_cerr quiet;
  {
    qtune::cli::progress_bar bar(true, true);
    bar({"quantize", 50, 100, "x", true, false});
  }
  EXPECT_TRUE(quiet.text.str().empty());
}

}  // namespace
