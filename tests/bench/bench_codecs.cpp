// Codec benchmarks:
//  1. Google Benchmark: encode throughput and asymmetric-distance throughput per codec
//     (sift10k base when present, else 10k x 128 Gaussian), plus the FAISS SQ8 distance
//     computer as a peer for the sq8 scan.
//  2. The sq8 scan ratio qtune / FAISS (median, min, max of 7 runs, same process).
//  3. The recall table: recall@10 of exhaustive search over codes, qtune vs FAISS per codec,
//     per real set (sift10k, glove50-10k, fmnist10k), with relative error.
// Set QTUNE_BENCH_SKIP_RECALL=1 to skip part 3.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <faiss/impl/ScalarQuantizer.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "codec/codec_peer.hpp"
#include "qtune/simd.hpp"

namespace {

using namespace qtune;

struct bench_data {
  std::vector<float> base;
  std::vector<float> queries;
  std::size_t n = 0, dim = 0;
  std::string source;
};

const bench_data& data() {
  static const bench_data d = [] {
    bench_data r;
    const auto path = testing::data_dir() / "sift10k/siftsmall_base.fvecs";
    if (std::filesystem::exists(path)) {
      const vectors v = read_vectors(path).slice(0, 10000);
      r.n = v.rows();
      r.dim = v.dim();
      r.base.assign(v.view().data, v.view().data + r.n * r.dim);
      r.source = "sift10k";
    } else {
      r.n = 10000;
      r.dim = 128;
      std::mt19937 rng(1);
      std::normal_distribution<float> g;
      r.base.resize(r.n * r.dim);
      for (float& x : r.base) x = g(rng);
      r.source = "gaussian 10000x128";
    }
    r.queries.assign(r.base.begin(), r.base.begin() + 16 * r.dim);
    return r;
  }();
  return d;
}

struct trained {
  std::unique_ptr<codec> c;
  std::vector<std::uint8_t> codes;
};

trained& get_trained(const std::string& name) {
  static std::map<std::string, trained> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const bench_data& d = data();
  trained t;
  t.c = make_codec(name, d.dim, metric::l2);
  t.c->train(d.n, d.base.data());
  t.codes.resize(d.n * t.c->code_size());
  t.c->encode(d.n, d.base.data(), t.codes.data());
  return cache.emplace(name, std::move(t)).first->second;
}

void bm_encode(benchmark::State& state, std::string name) {
  const bench_data& d = data();
  trained& t = get_trained(name);
  const std::size_t batch = 1000;
  std::vector<std::uint8_t> out(batch * t.c->code_size());
  for (auto _ : state) {
    t.c->encode(batch, d.base.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void bm_asymmetric(benchmark::State& state, std::string name) {
  const bench_data& d = data();
  trained& t = get_trained(name);
  std::vector<float> buf(t.c->prepared_query_size() / 4 + 16);
  void* prepared = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(buf.data()) + 63) / 64 * 64);
  t.c->prepare_query(d.queries.data(), prepared);
  const code_distance_fn fn = t.c->asymmetric_distance();
  const void* params = t.c->distance_params();
  const std::size_t cs = t.c->code_size();
  for (auto _ : state) {
    float s = 0;
    for (std::size_t i = 0; i < d.n; ++i) s += fn(prepared, t.codes.data() + i * cs, params);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * d.n));
}

void bm_prepare(benchmark::State& state, std::string name) {
  const bench_data& d = data();
  trained& t = get_trained(name);
  std::vector<float> buf(t.c->prepared_query_size() / 4 + 16);
  void* prepared = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(buf.data()) + 63) / 64 * 64);
  for (auto _ : state) {
    t.c->prepare_query(d.queries.data(), prepared);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

struct faiss_sq8 {
  faiss::ScalarQuantizer sq;
  std::vector<std::uint8_t> codes;
  std::unique_ptr<faiss::ScalarQuantizer::SQDistanceComputer> dc;
  faiss_sq8() : sq(static_cast<int>(data().dim), faiss::ScalarQuantizer::QT_8bit) {
    const bench_data& d = data();
    sq.train(d.n, d.base.data());
    codes.resize(d.n * sq.code_size);
    sq.compute_codes(d.base.data(), codes.data(), d.n);
    dc.reset(sq.get_distance_computer(faiss::METRIC_L2));
    dc->set_query(d.queries.data());
  }
  float scan() const {
    float s = 0;
    for (std::size_t i = 0; i < data().n; ++i) s += dc->query_to_code(codes.data() + i * sq.code_size);
    return s;
  }
};

faiss_sq8& peer_sq8() {
  static faiss_sq8 p;
  return p;
}

void bm_faiss_sq8_asymmetric(benchmark::State& state) {
  faiss_sq8& p = peer_sq8();
  for (auto _ : state) benchmark::DoNotOptimize(p.scan());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * data().n));
}

// Median / min / max seconds of `runs` calls.
template <class F>
std::array<double, 3> timed(F&& f, int runs = 7) {
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

void sq8_scan_ratio() {
  trained& t = get_trained("sq8");
  const bench_data& d = data();
  std::vector<float> buf(t.c->prepared_query_size() / 4 + 16);
  void* prepared = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(buf.data()) + 63) / 64 * 64);
  t.c->prepare_query(d.queries.data(), prepared);
  const code_distance_fn fn = t.c->asymmetric_distance();
  const void* params = t.c->distance_params();
  volatile float sink = 0;
  const auto q = timed([&] {
    float s = 0;
    for (int rep = 0; rep < 20; ++rep)
      for (std::size_t i = 0; i < d.n; ++i) s += fn(prepared, t.codes.data() + i * d.dim, params);
    sink = s;
  });
  faiss_sq8& p = peer_sq8();
  const auto f = timed([&] {
    float s = 0;
    for (int rep = 0; rep < 20; ++rep) s += p.scan();
    sink = s;
  });
  (void)sink;
  std::printf("\nsq8 asymmetric scan of %zu codes x 20 (%s), simd %s, 1 thread:\n", d.n, d.source.c_str(),
              to_string(active_simd_level()).c_str());
  std::printf("  qtune median %.4f s (min %.4f, max %.4f); faiss median %.4f s (min %.4f, max %.4f); "
              "faiss/qtune time ratio %.2f\n",
              q[0], q[1], q[2], f[0], f[1], f[2], f[0] / q[0]);
}

void recall_table() {
  omp_set_num_threads(1);
  std::printf("\nrecall@10 of exhaustive search over codes, qtune vs FAISS (same training rows, base, queries)\n");
  std::printf("%-12s %-12s %-14s %8s %8s %10s %12s\n", "set", "qtune codec", "faiss", "qtune", "faiss", "delta",
              "qtune relerr");
  struct row {
    std::string qtune, faiss;
  };
  for (const auto& files : testing::real_sets()) {
    auto s = testing::load_real_set(files, 300);
    if (!s) {
      std::printf("%-12s (missing)\n", files.name);
      continue;
    }
    const std::size_t dim = s->base.dim();
    const std::size_t m1 = dim % 16 == 0 ? 16 : dim % 10 == 0 ? 10 : 8;
    const std::size_t m2 = dim % 8 == 0 ? 8 : 5;
    const std::string pq1 = std::to_string(m1), pq2 = std::to_string(m2);
    const std::vector<row> rows = {
        {"fp16", "Flat"},           {"sq8", "SQ8"},         {"sq8:q0.0001", "SQ8"}, {"sq8:mse", "SQ8"}, {"rot,sq8", "SQ8"},
        {"sq4", "SQ4"},             {"sq4:minmax", "SQ4"},  {"sq4:q0.0001", "SQ4"}, {"sq4:q0.003", "SQ4"},
        {"rot,sq4", "SQ4"},         {"pq" + pq1 + "x8", "PQ" + pq1 + "x8np"},   {"pq" + pq2 + "x8", "PQ" + pq2 + "x8np"},
        {"pq" + pq1 + "x4", "PQ" + pq1 + "x4np"}, {"rot,pq" + pq1 + "x8", "PQ" + pq1 + "x8np"},
    };
    std::map<std::string, double> faiss_cache;
    const std::size_t n = s->base.rows();
    for (const row& r : rows) {
      double err = 0;
      const double q = testing::qtune_recall(*s, r.qtune, 10, n, &err);
      auto it = faiss_cache.find(r.faiss);
      if (it == faiss_cache.end()) it = faiss_cache.emplace(r.faiss, testing::faiss_recall(*s, r.faiss, 10, n)).first;
      std::printf("%-12s %-12s %-14s %8.4f %8.4f %+10.4f %12.3g\n", files.name, r.qtune.c_str(), r.faiss.c_str(), q,
                  it->second, q - it->second, err);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> names = {"fp32", "fp16", "bf16", "sq8", "sq4", "pq16x8", "pq16x4", "rot,sq8"};
  for (const auto& n : names) {
    benchmark::RegisterBenchmark(("encode/" + n).c_str(), bm_encode, n);
    benchmark::RegisterBenchmark(("asymmetric/" + n).c_str(), bm_asymmetric, n);
    benchmark::RegisterBenchmark(("prepare_query/" + n).c_str(), bm_prepare, n);
  }
  benchmark::RegisterBenchmark("asymmetric/faiss_SQ8", bm_faiss_sq8_asymmetric);
  benchmark::Initialize(&argc, argv);
  std::printf("data: %s; simd level %s; %s\n", data().source.c_str(), to_string(active_simd_level()).c_str(),
              cpu_description().c_str());
  benchmark::RunSpecifiedBenchmarks();
  sq8_scan_ratio();
  const char* skip = std::getenv("QTUNE_BENCH_SKIP_RECALL");
  if (!(skip && std::string(skip) == "1")) recall_table();
  benchmark::Shutdown();
  return 0;
}
