// Quantization throughput (MB/s of float32 input) per block type, on the real stories260K
// weights when present ($QTUNE_DATA_DIR, default ../shared/data; else 281,600 Gaussian values, about the
// size of its 292,096 quantizable weights), single thread. Reports the SIMD-free reference path of every
// type; f16 conversion is the cheapest type, a floor for comparison (no external peer is run).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "qtune/weights.hpp"
#include "data_dir.hpp"

namespace w = qtune::weights;

namespace {

// 256-value rows so every type (K-quants included) applies.
const std::vector<float>& input() {
  static const std::vector<float> x = [] {
    std::vector<float> v;
    const std::filesystem::path p = qtune::testing::data_dir() / "stories260k" / "stories260K.safetensors";
    if (std::filesystem::exists(p)) {
      const w::model m = w::read_safetensors(p);
      for (const auto& t : m.tensors)
        if (w::is_quantizable(t)) {
          const auto x = m.to_float(t);
          v.insert(v.end(), x.begin(), x.end());
        }
    } else {
      std::mt19937 rng(1);
      std::normal_distribution<float> g(0.0f, 0.02f);
      v.resize(281600);
      for (auto& e : v) e = g(rng);
    }
    v.resize(v.size() / 256 * 256);
    return v;
  }();
  return x;
}

void bm_quantize(benchmark::State& state, const std::string& type) {
  const w::wformat f = w::parse_format(type);
  const auto& x = input();
  std::vector<std::uint8_t> out(w::row_size(f, x.size()));
  // Rows processed one at a time keep this single-threaded (the library parallelises big tensors).
  for (auto _ : state) {
    for (std::size_t r = 0; r < x.size() / 256; ++r) w::quantize(f, x.data() + r * 256, 1, 256, out.data() + r * w::row_size(f, 256));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * x.size() * sizeof(float)));
  state.counters["bpw"] = w::bits_per_weight(f);
}

void bm_dequantize(benchmark::State& state, const std::string& type) {
  const w::wformat f = w::parse_format(type);
  const auto& x = input();
  std::vector<std::uint8_t> codes(w::row_size(f, x.size()));
  w::quantize(f, x.data(), x.size() / 256, 256, codes.data());
  std::vector<float> y(x.size());
  for (auto _ : state) {
    w::dequantize(f, codes.data(), y.size(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * x.size() * sizeof(float)));
}

const char* const types[] = {"f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q6_k", "int8_g128", "int4_g128"};

const bool registered = [] {
  for (const char* t : types) {
    benchmark::RegisterBenchmark((std::string("quantize/") + t).c_str(), bm_quantize, std::string(t))->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
    benchmark::RegisterBenchmark((std::string("dequantize/") + t).c_str(), bm_dequantize, std::string(t))->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly(true);
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
