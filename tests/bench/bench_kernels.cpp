// Micro-benchmarks of every distance kernel at every SIMD level this CPU has, at dim 128 and
// 784, plus hnswlib's L2Sqr (hnswlib::L2Space(dim).get_dist_func(), its AVX path compiled in by
// hnswlib_avx.hpp) as the peer for l2_f32 in the same process. Each case is repeated; the
// summary at the end prints median ns/op and the ratios (median/min/max of the repetitions).
//
//   bench_kernels [--benchmark_filter=l2_f32] [--benchmark_repetitions=N]
//
// Each timed iteration walks a pool of database vectors (L2-resident) against one query, so
// successive calls do not hit the same cache lines.
#include <benchmark/benchmark.h>
#include "hnswlib_avx.hpp"  // hnswlib with its AVX L2Sqr, as bench_hnsw uses it

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/kernels.hpp"
#include "qtune/simd.hpp"

namespace {

using qtune::simd_level;
namespace kernels = qtune::kernels;

constexpr std::size_t pool = 64;  // database vectors per case

struct data {
  std::size_t dim;
  std::vector<float> q, x, scale, w, lut8, lut4;
  std::vector<std::uint16_t> h, b;
  std::vector<std::uint8_t> c8, c4, pq8, pq4;

  explicit data(std::size_t d) : dim(d) {
    std::mt19937 gen(42);
    std::normal_distribution<float> nd;
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> u(0.01f, 0.1f);
    q.resize(dim);
    x.resize(pool * dim);
    scale.resize(dim);
    w.resize(dim);
    for (auto& v : q) v = nd(gen);
    for (auto& v : x) v = nd(gen);
    for (std::size_t j = 0; j < dim; ++j) {
      scale[j] = u(gen);
      w[j] = scale[j] * scale[j];
    }
    h.resize(x.size());
    b.resize(x.size());
    kernels::at(simd_level::scalar).f32_to_f16(x.data(), h.data(), x.size());
    kernels::at(simd_level::scalar).f32_to_bf16(x.data(), b.data(), x.size());
    c8.resize(pool * dim);
    c4.resize(pool * ((dim + 1) / 2));
    for (auto& v : c8) v = static_cast<std::uint8_t>(byte(gen));
    for (auto& v : c4) v = static_cast<std::uint8_t>(byte(gen));
    // PQ with M = dim / 8 sub-quantizers (16 for dim 128, 98 for 784).
    const std::size_t M = dim / 8;
    lut8.resize(M * 256);
    lut4.resize(M * 16);
    for (auto& v : lut8) v = u(gen);
    for (auto& v : lut4) v = u(gen);
    pq8.resize(pool * M);
    pq4.resize(pool * ((M + 1) / 2));
    for (auto& v : pq8) v = static_cast<std::uint8_t>(byte(gen));
    for (auto& v : pq4) v = static_cast<std::uint8_t>(byte(gen));
  }
};

const data& data_for(std::size_t dim) {
  static std::map<std::size_t, data> cache;
  auto it = cache.find(dim);
  if (it == cache.end()) it = cache.emplace(dim, data(dim)).first;
  return it->second;
}

// One distance per iteration, cycling through the pool.
template <class F>
void run_loop(benchmark::State& state, F&& f) {
  std::size_t i = 0;
  for (auto _ : state) {
    auto r = f(i);
    benchmark::DoNotOptimize(r);
    i = (i + 1) & (pool - 1);
  }
  state.SetItemsProcessed(state.iterations());
}

void register_kernel_cases(simd_level level, std::size_t dim) {
  const kernels::table* t = &kernels::at(level);
  const data* d = &data_for(dim);
  const std::string suffix = "/" + qtune::to_string(level) + "/" + std::to_string(dim);
  const std::size_t half = (dim + 1) / 2, M = dim / 8, half_m = (M + 1) / 2;
  auto add = [&](const std::string& name, auto f) {
    benchmark::RegisterBenchmark((name + suffix).c_str(), [f](benchmark::State& s) { run_loop(s, f); });
  };
  add("l2_f32", [t, d](std::size_t i) { return t->l2_f32(d->q.data(), d->x.data() + i * d->dim, d->dim); });
  add("ip_f32", [t, d](std::size_t i) { return t->ip_f32(d->q.data(), d->x.data() + i * d->dim, d->dim); });
  add("l2_f16", [t, d](std::size_t i) { return t->l2_f16(d->q.data(), d->h.data() + i * d->dim, d->dim); });
  add("ip_f16", [t, d](std::size_t i) { return t->ip_f16(d->q.data(), d->h.data() + i * d->dim, d->dim); });
  add("l2_bf16", [t, d](std::size_t i) { return t->l2_bf16(d->q.data(), d->b.data() + i * d->dim, d->dim); });
  add("ip_bf16", [t, d](std::size_t i) { return t->ip_bf16(d->q.data(), d->b.data() + i * d->dim, d->dim); });
  add("f32_to_f16", [t, d](std::size_t i) {
    static thread_local std::vector<std::uint16_t> out(4096);
    t->f32_to_f16(d->x.data() + i * d->dim, out.data(), d->dim);
    return out[0];
  });
  add("f16_to_f32", [t, d](std::size_t i) {
    static thread_local std::vector<float> out(4096);
    t->f16_to_f32(d->h.data() + i * d->dim, out.data(), d->dim);
    return out[0];
  });
  add("f32_to_bf16", [t, d](std::size_t i) {
    static thread_local std::vector<std::uint16_t> out(4096);
    t->f32_to_bf16(d->x.data() + i * d->dim, out.data(), d->dim);
    return out[0];
  });
  add("bf16_to_f32", [t, d](std::size_t i) {
    static thread_local std::vector<float> out(4096);
    t->bf16_to_f32(d->b.data() + i * d->dim, out.data(), d->dim);
    return out[0];
  });
  add("l2_sq8", [t, d](std::size_t i) {
    return t->l2_sq8(d->q.data(), d->scale.data(), d->c8.data() + i * d->dim, d->dim);
  });
  add("l2_sq4", [t, d, half](std::size_t i) {
    return t->l2_sq4(d->q.data(), d->scale.data(), d->c4.data() + i * half, d->dim);
  });
  add("ip_sq8", [t, d](std::size_t i) { return t->ip_sq8(d->q.data(), d->c8.data() + i * d->dim, d->dim); });
  add("ip_sq4", [t, d, half](std::size_t i) { return t->ip_sq4(d->q.data(), d->c4.data() + i * half, d->dim); });
  add("l2_sq8_sym", [t, d](std::size_t i) {
    return t->l2_sq8_sym(d->w.data(), d->c8.data(), d->c8.data() + i * d->dim, d->dim);
  });
  add("l2_sq4_sym", [t, d, half](std::size_t i) {
    return t->l2_sq4_sym(d->w.data(), d->c4.data(), d->c4.data() + i * half, d->dim);
  });
  add("l2_u8", [t, d](std::size_t i) { return t->l2_u8(d->c8.data(), d->c8.data() + i * d->dim, d->dim); });
  add("ip_u8", [t, d](std::size_t i) { return t->ip_u8(d->c8.data(), d->c8.data() + i * d->dim, d->dim); });
  add("l2_u4", [t, d, half](std::size_t i) { return t->l2_u4(d->c4.data(), d->c4.data() + i * half, d->dim); });
  add("ip_u4", [t, d, half](std::size_t i) { return t->ip_u4(d->c4.data(), d->c4.data() + i * half, d->dim); });
  add("pq_lut8", [t, d, M](std::size_t i) { return t->pq_lut8(d->lut8.data(), d->pq8.data() + i * M, M); });
  add("pq_lut4", [t, d, M, half_m](std::size_t i) {
    return t->pq_lut4(d->lut4.data(), d->pq4.data() + i * half_m, M);
  });
  // The scan's time is per code (items = pool codes per iteration).
  benchmark::RegisterBenchmark(("pq_lut8_scan_per_code" + suffix).c_str(), [t, d, M](benchmark::State& s) {
    std::vector<float> out(pool);
    for (auto _ : s) {
      t->pq_lut8_scan(d->lut8.data(), d->pq8.data(), pool, M, out.data());
      benchmark::DoNotOptimize(out.data());
      benchmark::ClobberMemory();
    }
    s.SetItemsProcessed(s.iterations() * pool);
  });
}

void register_hnswlib(std::size_t dim) {
  const data* d = &data_for(dim);
  benchmark::RegisterBenchmark(("l2_f32/hnswlib/" + std::to_string(dim)).c_str(), [d](benchmark::State& s) {
    hnswlib::L2Space space(d->dim);
    hnswlib::DISTFUNC<float> f = space.get_dist_func();
    void* param = space.get_dist_func_param();
    run_loop(s, [&](std::size_t i) { return f(d->q.data(), d->x.data() + i * d->dim, param); });
  });
}

// Keeps the console output and remembers each case's repetitions for the summary.
class summary_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.error_occurred) continue;
      // CPU time: on a shared machine wall time also counts time spent preempted.
      double ns = r.GetAdjustedCPUTime();
      if (r.run_name.function_name.rfind("pq_lut8_scan", 0) == 0) ns /= static_cast<double>(pool);
      times_[r.run_name.function_name].push_back(ns);
    }
  }

  void print_summary() const {
    std::printf("\nSummary: median CPU ns/op over repetitions (min..max); xN = scalar / level; [peer/level]\n");
    std::printf("simd: detected %s, active %s; cpu: %s; threads: 1\n",
                qtune::to_string(qtune::detected_simd_level()).c_str(),
                qtune::to_string(qtune::active_simd_level()).c_str(), qtune::cpu_description().c_str());
    std::map<std::string, std::map<std::string, std::vector<double>>> by_case;  // "kernel/dim" -> level
    for (const auto& [name, v] : times_) {
      const auto a = name.find('/'), b = name.rfind('/');
      by_case[name.substr(0, a) + name.substr(b)][name.substr(a + 1, b - a - 1)] = v;
    }
    for (const auto& [c, levels] : by_case) {
      std::printf("%-28s", c.c_str());
      const auto scalar = levels.find("scalar");
      for (const char* l : {"scalar", "avx2", "avx512", "hnswlib"}) {
        const auto it = levels.find(l);
        if (it == levels.end()) continue;
        const auto [med, lo, hi] = stats(it->second);
        std::printf("  %s %.1f (%.1f..%.1f)", l, med, lo, hi);
        if (scalar != levels.end() && it != scalar && std::string(l) != "hnswlib")
          std::printf(" x%.2f", std::get<0>(stats(scalar->second)) / med);
      }
      const auto peer = levels.find("hnswlib");
      if (peer != levels.end()) {
        for (const char* l : {"avx2", "avx512"}) {
          const auto it = levels.find(l);
          if (it != levels.end())
            std::printf("  [hnswlib/%s x%.2f]", l, std::get<0>(stats(peer->second)) / std::get<0>(stats(it->second)));
        }
      }
      std::printf("\n");
    }
  }

 private:
  static std::tuple<double, double, double> stats(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    const double med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return {med, v.front(), v.back()};
  }
  std::map<std::string, std::vector<double>> times_;
};

}  // namespace

int main(int argc, char** argv) {
  // Default: 5 repetitions of short runs, unless the caller passes its own.
  std::vector<char*> args(argv, argv + argc);
  std::string reps = "--benchmark_repetitions=5", min_time = "--benchmark_min_time=0.05";
  bool has_reps = false, has_time = false;
  for (int i = 1; i < argc; ++i) {
    has_reps |= std::string(argv[i]).rfind("--benchmark_repetitions", 0) == 0;
    has_time |= std::string(argv[i]).rfind("--benchmark_min_time", 0) == 0;
  }
  if (!has_reps) args.push_back(reps.data());
  if (!has_time) args.push_back(min_time.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());

  benchmark::AddCustomContext("qtune_simd_detected", qtune::to_string(qtune::detected_simd_level()));
  benchmark::AddCustomContext("qtune_simd_active", qtune::to_string(qtune::active_simd_level()));
  benchmark::AddCustomContext("qtune_cpu", qtune::cpu_description());
  benchmark::AddCustomContext("threads", "1");

  for (std::size_t dim : {128, 784}) {
    for (simd_level l : {simd_level::scalar, simd_level::avx2, simd_level::avx512})
      if (static_cast<int>(l) <= static_cast<int>(qtune::active_simd_level())) register_kernel_cases(l, dim);
    register_hnswlib(dim);
  }
  summary_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary();
  benchmark::Shutdown();
  return 0;
}
