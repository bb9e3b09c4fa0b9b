// The noisy-machine flag (issue 14.6): a busy loop on the measuring core makes single-thread QPS
// disagree with 1/p50; the point is re-measured once, flagged `noisy`, marked in the report and
// counted in one warning line at the end.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "qtune/sweep_steps.hpp"
#if QTUNE_HAVE_REPORT
#include "report/report.hpp"
#endif
#include "test_data.hpp"

namespace {

namespace fs = std::filesystem;

/// Pins the calling thread to one CPU for its lifetime, then restores the old mask.
struct pin_here {
  cpu_set_t old{};
  explicit pin_here(int cpu) {
    sched_getaffinity(0, sizeof old, &old);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  ~pin_here() { sched_setaffinity(0, sizeof old, &old); }
};

/// `n` threads spinning on `cpu` until destroyed.
struct busy_loops {
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  busy_loops(int cpu, int n) {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this, cpu] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
        volatile unsigned long x = 0;
        while (!stop.load(std::memory_order_relaxed)) x = x + 1;
      });
  }
  ~busy_loops() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

TEST(tune_noisy, busy_loop_on_the_measuring_core_flags_points_and_warns) {
  const fs::path dir = fs::temp_directory_path() / ("qtune_noisy_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  qtune::testing::write_clustered_set(dir, 9);
  std::ofstream(dir / "spec.yaml") << "dataset: {base: base.fvecs, queries: queries.fvecs, metric: l2}\n"
                                   << "k: 10\ntarget_recall: 0.5\ngrid: {codecs: [fp32], m: [16], "
                                      "ef_construction: [40], ef_search: [400]}\n"
                                   << "objective: memory\nthreads: 1\nrepetitions: 5\nwarmup_queries: 10\n"
                                   << "cache_dir: cache\n";
  const qtune::sweep_spec spec = qtune::parse_sweep_spec(dir / "spec.yaml");
  const qtune::sweep_context ctx(spec);
  const qtune::sweep_plan plan = qtune::plan_sweep(ctx);
  qtune::unit_result r;
  {
    const int cpu = sched_getcpu() < 0 ? 0 : sched_getcpu();
    pin_here pin(cpu);
    busy_loops busy(cpu, 3);  // this thread gets ~1/4 of its core, in scheduler slices
    r = qtune::measure_unit(ctx, plan.units[0], {});
  }
  ASSERT_EQ(r.points.size(), 1u);
  const qtune::measured_point& p = r.points[0];
  std::printf("p50 %.1f us, 1/p50 %.0f QPS, measured %.0f QPS single-thread, load %.2f\n", p.latency_p50_us.median,
              1e6 / p.latency_p50_us.median, p.qps_single.median, p.load_average);
  EXPECT_TRUE(p.noisy) << "QPS " << p.qps_single.median << " vs 1/p50 " << 1e6 / p.latency_p50_us.median;
  EXPECT_NE(qtune::to_json_line(p).find("\"noisy\":true"), std::string::npos);

  const qtune::sweep_outcome out = qtune::finalize_sweep(ctx, r.points, false, dir / "out");
  EXPECT_NE(out.summary.find("warning: 1 point was measured on a busy machine; latency figures are unreliable; "
                             "rerun with --resume --remeasure-noisy"),
            std::string::npos)
      << out.summary;
#if QTUNE_HAVE_REPORT
  qtune::sweep_report_input in;
  in.points = r.points;
  in.k = 10;
  const std::string html = qtune::report::render_sweep_report(in);
  EXPECT_NE(html.find("[noisy]"), std::string::npos);
  EXPECT_NE(html.find("busy machine"), std::string::npos);
#endif
  fs::remove_all(dir);
}

#if QTUNE_HAVE_REPORT
TEST(tune_noisy, report_flags_fronts_that_mix_cpus) {
  std::vector<qtune::measured_point> pts(2);
  for (std::size_t i = 0; i < 2; ++i) {
    auto& p = pts[i];
    p.config.codec = "sq8", p.config.m = 16, p.config.ef_construction = 100, p.config.ef_search = 16 * (i + 1);
    p.tuning_recall_ids.value = 0.9 + 0.05 * static_cast<double>(i);
    p.latency_p50_us = p.latency_p99_us = {10.0 * static_cast<double>(i + 1), 10, 10};
    p.qps_single = {1e5 / static_cast<double>(i + 1), 1, 1};
    p.resident_bytes = 1000;
    p.n_base = 10;
    p.host = i ? "node2" : "node1";
    p.cpu = i ? "Intel Xeon" : "AMD EPYC";
  }
  qtune::sweep_report_input in;
  in.points = pts;
  std::string html = qtune::report::render_sweep_report(in);
  EXPECT_NE(html.find("mix 2 hosts with 2 different CPUs"), std::string::npos);
  in.points[1].cpu = "AMD EPYC";
  html = qtune::report::render_sweep_report(in);
  EXPECT_EQ(html.find("different CPUs"), std::string::npos);
}
#endif

}  // namespace
