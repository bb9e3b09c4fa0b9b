// Exact k=100 ground truth: qtune::exact_knn against FAISS (knn_L2sqr / knn_inner_product and
// IndexFlatL2 / IndexFlatIP::search) on the same contiguous float32 data, in the same process.
// Runs are interleaved; prints median/min/max seconds, QPS and the speed ratio
// (FAISS median seconds / qtune median seconds: > 1 means qtune is faster).
//
// Also the achieved fraction of this machine's peak: the 2 n nq d operations of the distance pass
// per second, against a tiny register-resident loop measured at startup on every thread at
// once, at the widest vector width the CPU has: FP32 FMA for the float32 pass, int8 VNNI
// (vpdpbusd) for the byte pass that exact_knn takes on byte-valued data (integers within 256
// values: sift, mnist, fmnist). The float32 pass is also timed on those sets (byte pass off),
// so both of qtune's passes are compared with FAISS.
//
// Before every timed call the benchmark sleeps settle_ms (default 100): the previous call's idle
// threads otherwise still hold cores (libgomp workers spin after a parallel region, OpenBLAS
// workers yield in a loop for up to 2^28 cycles), and whichever call comes next pays for them.
// On 2 cores that made qtune's first call after FAISS bimodal (glove50-10k: 20 or 33 ms).
// settle_ms=0 gives the old back-to-back timing.
//
//   bench_ground_truth [repetitions=5] [settle_ms=100]   datasets from $QTUNE_DATA_DIR
//                                                          (default ../shared/data)
#include <dlfcn.h>
#include <unistd.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/utils/distances.h>
#include <oneapi/tbb/task_arena.h>

#include "ground_truth/exact_detail.hpp"
#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/simd.hpp"
#include "data_dir.hpp"

namespace {

namespace fs = std::filesystem;

struct stats {
  double median, min, max;
};

stats summarize(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}

// --- the FP32 FMA peak ------------------------------------------------------------------------

// 10 independent accumulators hide the FMA latency (4 cycles x 2 ports on current cores, 8 or
// more chains). Returns flops (2 per lane per FMA) in `iters` rounds.
__attribute__((target("avx512f"))) double fma_loop_avx512(std::size_t iters, float* sink) {
  __m512 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm512_set1_ps(1.0f + 0.01f * float(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (std::size_t t = 0; t < iters; ++t)
    for (int i = 0; i < 10; ++i) a[i] = _mm512_fmadd_ps(a[i], x, y);
  __m512 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_ps(s, a[i]);
  *sink = _mm512_reduce_add_ps(s);
  return double(iters) * 10 * 16 * 2;
}
__attribute__((target("avx2,fma"))) double fma_loop_avx2(std::size_t iters, float* sink) {
  __m256 a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_set1_ps(1.0f + 0.01f * float(i));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (std::size_t t = 0; t < iters; ++t)
    for (int i = 0; i < 10; ++i) a[i] = _mm256_fmadd_ps(a[i], x, y);
  __m256 s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm256_add_ps(s, a[i]);
  float v[8];
  _mm256_storeu_ps(v, s);
  *sink = v[0] + v[7];
  return double(iters) * 10 * 8 * 2;
}

// 10 chains of vpdpbusd (64 u8 x s8 products summed into 16 int32 lanes): 128 ops each.
__attribute__((target("avx512f,avx512vnni"))) double vnni_loop_avx512(std::size_t iters, float* sink) {
  __m512i a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm512_set1_epi32(i);
  const __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-1);
  for (std::size_t t = 0; t < iters; ++t)
    for (int i = 0; i < 10; ++i) a[i] = _mm512_dpbusd_epi32(a[i], x, y);
  __m512i s = a[0];
  for (int i = 1; i < 10; ++i) s = _mm512_add_epi32(s, a[i]);
  *sink = float(_mm512_reduce_add_epi32(s));
  return double(iters) * 10 * 64 * 2;
}

struct fma_peak {
  double gflops = 0;          ///< all threads together (GOP/s for the int8 peak)
  int threads = 0;
  const char* width = "";
};

/// The best of 3 runs of ~0.2 s on `threads` threads at once; int8 = the VNNI loop (0 without VNNI).
fma_peak measure_fma_peak(int threads, bool int8 = false) {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (int8 && !(avx512 && __builtin_cpu_supports("avx512vnni"))) return {0, threads, "none"};
  if (!avx512 && !__builtin_cpu_supports("fma")) return {0, threads, "none"};
  fma_peak out{0, threads, int8 ? "AVX-512 VNNI" : avx512 ? "AVX-512" : "AVX2"};
  const std::size_t iters = 100'000'000;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> flops(threads);
    std::vector<float> sink(threads);
    const double s = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<std::thread> pool;
      for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
          flops[t] = int8     ? vnni_loop_avx512(iters, &sink[t])
                     : avx512 ? fma_loop_avx512(iters, &sink[t])
                              : fma_loop_avx2(iters, &sink[t]);
        });
      for (auto& th : pool) th.join();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }();
    double total = 0;
    for (double f : flops) total += f;
    out.gflops = std::max(out.gflops, total / s * 1e-9);
  }
  return out;
}

fma_peak g_peak, g_int8_peak;

int g_settle_ms = 100;

double seconds(const std::function<void()>& f) {
  if (g_settle_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(g_settle_ms));
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int openblas_threads() {
  using get_fn = int (*)();
  auto get = reinterpret_cast<get_fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : -1;
}

// A contiguous copy (FAISS needs stride == dim; qtune gets the same copy for a fair match).
std::vector<float> contiguous(const qtune::vectors& v) {
  std::vector<float> out(v.rows() * v.dim());
  for (std::size_t i = 0; i < v.rows(); ++i) std::copy_n(v.row(i), v.dim(), out.data() + i * v.dim());
  return out;
}

void print_row(const char* name, const stats& s, std::size_t nq) {
  std::printf("  %-34s median %.4f s  min %.4f  max %.4f  QPS %.0f\n", name, s.median, s.min, s.max,
              double(nq) / s.median);
}

void bench(const std::string& name, const fs::path& base_path, const fs::path& query_path, qtune::metric m,
           int reps) {
  if (!fs::exists(base_path) || !fs::exists(query_path)) {
    std::printf("%s: skipped (missing %s)\n", name.c_str(), base_path.string().c_str());
    return;
  }
  qtune::vectors base = qtune::read_vectors(base_path);
  qtune::vectors queries = qtune::read_vectors(query_path);
  if (m == qtune::metric::cosine) {
    base.normalize_rows(base_path.string());
    queries.normalize_rows(query_path.string());
  }
  const std::size_t n = base.rows(), nq = queries.rows(), dim = base.dim(), k = 100;
  const auto xb = contiguous(base), xq = contiguous(queries);
  const qtune::matrix_view<float> vb{xb.data(), n, dim, dim}, vq{xq.data(), nq, dim, dim};
  const bool l2 = qtune::compute_metric(m) == qtune::metric::l2;

  std::vector<float> fd(nq * k);
  std::vector<faiss::Index::idx_t> fi(nq * k);
  std::unique_ptr<faiss::IndexFlat> index;
  if (l2) index = std::make_unique<faiss::IndexFlatL2>(int(dim));
  else index = std::make_unique<faiss::IndexFlatIP>(int(dim));
  index->add(faiss::Index::idx_t(n), xb.data());
  // On data whose components are all integers in [0, 255] FAISS can store the bytes themselves
  // (QT_8bit_direct decodes each byte to its value, no loss): another candidate for its best.
  std::unique_ptr<faiss::IndexScalarQuantizer> sq_direct;
  if (l2 && std::all_of(xb.begin(), xb.end(), [](float v) { return v >= 0 && v <= 255 && v == float(int(v)); }) &&
      std::all_of(xq.begin(), xq.end(), [](float v) { return v >= 0 && v <= 255 && v == float(int(v)); })) {
    sq_direct = std::make_unique<faiss::IndexScalarQuantizer>(int(dim), faiss::ScalarQuantizer::QT_8bit_direct,
                                                              faiss::METRIC_L2);
    sq_direct->train(faiss::Index::idx_t(n), xb.data());
    sq_direct->add(faiss::Index::idx_t(n), xb.data());
  }

  qtune::knn_result ours;
  bool byte_pass = false;
  std::vector<double> t_ours, t_ours_strided, t_float, t_blas, t_knn, t_index, t_sq;
  using qtune::detail::blas_mode;
  using qtune::detail::byte_path;
  // One warm-up of each, then interleaved repetitions.
  for (int r = -1; r < reps; ++r) {
    const double a = seconds([&] { ours = qtune::exact_knn(vb, vq, m, k); });
    byte_pass = qtune::detail::last_exact_knn_stats().byte_path;
    const double b = seconds([&] { qtune::exact_knn(base.view(), queries.view(), m, k); });
    const double f = byte_pass ? seconds([&] {
      qtune::detail::exact_knn_with(vb, vq, m, k, blas_mode::tbb_tasks, byte_path::never);
    })
                               : a;
    const double e =
        seconds([&] { qtune::detail::exact_knn_with(vb, vq, m, k, blas_mode::blas_threads, byte_path::never); });
    const double c = seconds([&] {
      if (l2) faiss::knn_L2sqr(xq.data(), xb.data(), dim, nq, n, k, fd.data(), fi.data());
      else faiss::knn_inner_product(xq.data(), xb.data(), dim, nq, n, k, fd.data(), fi.data());
    });
    const double d = seconds([&] { index->search(faiss::Index::idx_t(nq), xq.data(), faiss::Index::idx_t(k), fd.data(), fi.data()); });
    if (r < 0) continue;
    t_ours.push_back(a);
    t_ours_strided.push_back(b);
    t_float.push_back(f);
    t_blas.push_back(e);
    t_knn.push_back(c);
    t_index.push_back(d);
  }
  // The byte index is 5-17x slower than IndexFlat here (Debian's FAISS decodes bytes
  // without SIMD): one warm run shows it, instead of holding up every repetition.
  if (sq_direct) {
    for (int r = 0; r < 2; ++r)
      t_sq.assign(1, seconds([&] {
        sq_direct->search(faiss::Index::idx_t(nq), xq.data(), faiss::Index::idx_t(k), fd.data(), fi.data());
      }));
  }
  // Agreement: fraction of FAISS's ids that qtune also returns (ties may differ).
  qtune::knn_result theirs;
  theirs.nq = nq;
  theirs.k = k;
  theirs.ids.assign(fi.begin(), fi.end());
  const double agree = qtune::recall_ids(theirs, ours, k);

  const stats so = summarize(t_ours), ss = summarize(t_ours_strided), sf = summarize(t_float),
              sb = summarize(t_blas), sk = summarize(t_knn), si = summarize(t_index),
              sq = sq_direct ? summarize(t_sq) : si;
  const double faiss_best = std::min({sk.median, si.median, sq.median});
  std::printf("%s: n=%zu nq=%zu dim=%zu k=%zu metric=%s, %d repetitions, FAISS/qtune id agreement %.5f\n",
              name.c_str(), n, nq, dim, k, qtune::to_string(m).c_str(), reps, agree);
  print_row("qtune exact_knn (contiguous)", so, nq);
  print_row("qtune exact_knn (mapped .fvecs)", ss, nq);
  if (byte_pass) print_row("qtune float32 pass (byte pass off)", sf, nq);
  print_row("qtune float32, BLAS-threaded sgemm", sb, nq);
  print_row(l2 ? "faiss::knn_L2sqr" : "faiss::knn_inner_product", sk, nq);
  print_row(l2 ? "faiss::IndexFlatL2::search" : "faiss::IndexFlatIP::search", si, nq);
  if (sq_direct) print_row("faiss IndexSQ 8bit_direct (1 run)", sq, nq);
  std::printf("  qtune's pass: %s\n", byte_pass ? "bytes (exact int8 GEMM: the data are integers within 256 values)"
                                               : "float32 (sgemm, float64 re-scoring)");
  std::printf("  speed ratio qtune/FAISS (FAISS s / qtune s, median): %.2fx vs knn function, %.2fx vs IndexFlat",
              sk.median / so.median, si.median / so.median);
  if (byte_pass) std::printf("; float32 pass alone %.2fx vs knn function", sk.median / sf.median);
  std::printf("; %.2fx vs FAISS's fastest of these\n", faiss_best / so.median);
  const double gop = 2.0 * double(n) * double(nq) * double(dim) * 1e-9;  // the distance pass
  const fma_peak& qtune_peak = byte_pass ? g_int8_peak : g_peak;
  if (g_peak.gflops > 0) {
    std::printf("  fraction of the FP32 FMA peak (%.0f GFLOP/s): qtune float32 pass %.1f%%, faiss::knn %.1f%%, "
                "IndexFlat %.1f%%\n",
                g_peak.gflops, 100 * gop / sf.median / g_peak.gflops, 100 * gop / sk.median / g_peak.gflops,
                100 * gop / si.median / g_peak.gflops);
    if (byte_pass && g_int8_peak.gflops > 0)
      std::printf("  fraction of the int8 VNNI peak (%.0f GOP/s): qtune byte pass %.1f%%\n", g_int8_peak.gflops,
                  100 * gop / so.median / g_int8_peak.gflops);
  }
  std::printf("GT_RATIO %s vs_knn=%.2f vs_indexflat=%.2f vs_faiss_best=%.2f pass=%s float32_pass_vs_knn=%.2f "
              "peak_fraction=%.3f peak=%s\n",
              name.c_str(), sk.median / so.median, si.median / so.median, faiss_best / so.median,
              byte_pass ? "bytes" : "float32",
              sk.median / sf.median, qtune_peak.gflops > 0 ? gop / so.median / qtune_peak.gflops : 0.0,
              byte_pass ? "int8" : "fp32");
}

}  // namespace

int main(int argc, char** argv) {
  // FAISS at its best: its OpenMP team spin-waits between parallel regions by default, which on
  // few cores steals them from the OpenBLAS threads of its sgemm (measured on 2 cores:
  // knn_L2sqr on fmnist10k 0.22 s -> 0.14 s with passive waiting, sift10k 44 ms -> 9 ms).
  // libgomp reads OMP_WAIT_POLICY when it loads, before main: set it and run again.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
    std::perror("bench_ground_truth: re-exec with OMP_WAIT_POLICY=PASSIVE failed, running as is");
  }
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  g_settle_ms = argc > 2 ? std::max(0, std::atoi(argv[2])) : 100;
  const fs::path dir = qtune::testing::data_dir();
  std::printf("bench_ground_truth: SIMD %s, TBB threads %d, OpenMP threads %d (OMP_WAIT_POLICY=%s), OpenBLAS "
              "threads %d, %d ms settle before each timed call\n",
              qtune::to_string(qtune::active_simd_level()).c_str(), tbb::this_task_arena::max_concurrency(),
              omp_get_max_threads(), std::getenv("OMP_WAIT_POLICY"), openblas_threads(), g_settle_ms);
  g_peak = measure_fma_peak(tbb::this_task_arena::max_concurrency());
  std::printf("  FP32 FMA peak, measured: %.1f GFLOP/s on %d threads (%s FMA loop, 10 chains)\n", g_peak.gflops,
              g_peak.threads, g_peak.width);
  g_int8_peak = measure_fma_peak(tbb::this_task_arena::max_concurrency(), true);
  if (g_int8_peak.gflops > 0)
    std::printf("  int8 peak, measured: %.1f GOP/s on %d threads (%s loop, 10 chains)\n", g_int8_peak.gflops,
                g_int8_peak.threads, g_int8_peak.width);
  std::printf("  qtune exact_knn: TBB tasks over (query block, base slice), a single-threaded product and a\n"
              "  threshold filter per task; on byte-valued data an exact int8 GEMM (oneDNN), else sgemm and\n"
              "  float64 re-scoring; variant: the float32 tasks in turn, multi-threaded sgemm\n");
  bench("sift10k", dir / "sift10k/siftsmall_base.fvecs", dir / "sift10k/siftsmall_query.fvecs", qtune::metric::l2,
        reps);
  bench("fmnist10k", dir / "fmnist10k/fmnist_base.fvecs", dir / "fmnist10k/fmnist_query.fvecs", qtune::metric::l2,
        reps);
  bench("mnist10k", dir / "mnist10k/mnist_base.fvecs", dir / "mnist10k/mnist_query.fvecs", qtune::metric::l2,
        reps);
  bench("glove50-10k", dir / "glove50-10k/glove50_base.fvecs", dir / "glove50-10k/glove50_query.fvecs",
        qtune::metric::cosine, reps);
  return 0;
}
