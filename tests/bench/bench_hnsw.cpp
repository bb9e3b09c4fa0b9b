// Whole-pipeline comparison at equal recall: qtune's hnsw (several codecs and M) against hnswlib's
// own HierarchicalNSW (float32, compiled with the best distance path the CPU has: AVX-512 where
// present, chosen at run time, see hnswlib_peer.hpp) and FAISS IndexHNSWSQ (8 bit), the peers
// with M = 16 and the same efConstruction, in this process.
//
// Sets: sift10k, glove50-10k (cosine: rows normalised, inner product), mnist10k, fmnist10k (from
// --data) and Fashion-MNIST 60k (--fmnist, Debian's dataset-fashion-mnist).
//
// For each contender: build, find the smallest efSearch of a fine ladder (every value to 64, then
// steps of 4, 8, ...) reaching recall@10 >= target against exact ground truth; then, with every
// contender built, measure single-thread QPS (one query at a time) in interleaved rounds and take
// the median of --runs runs. QPS is queries per second of the measuring thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), so time the thread spends descheduled on a shared machine does not
// count (cache pollution by other processes still does). Bytes per vector are analytic and
// include rerank rows when a configuration keeps them.
//
// hnswlib is built at M = 16, 12 and 8 and its fastest configuration reaching the target is the
// peer; qtune's best configuration per set is the fastest qtune contender that reaches the target
// with at most 35% of that peer's bytes per vector (else the fastest that reaches it). Each set
// ends with
//   RATIO <set> qps_vs_hnswlib=<x> bytes_vs_hnswlib=<y> qps_vs_faiss_sq8=<z> recall=<r>
//         config=<codec,M,ef,rerank>
//
// Usage: bench_hnsw [--quick] [--datasets sift10k,glove50,mnist10k,fmnist10k,fmnist]
//                   [--efc 200] [--target 0.95] [--data DIR] [--fmnist DIR] [--cache DIR]
//                   [--threads N] [--runs 5] [--graph-compare] [--no-table]
//   --quick (or QTUNE_BENCH_QUICK=1): Fashion-MNIST 60k subsampled to the first 20,000 training
//   images and 1,000 test queries; efConstruction 100; 3 runs; fewer qtune contenders.
#include <faiss/IndexHNSW.h>
#include <faiss/IndexScalarQuantizer.h>
#include <omp.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

#include "data_dir.hpp"
#include "hnswlib_peer.hpp"

#include "qtune/dataset.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "qtune/simd.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// CPU seconds of the calling thread.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct options {
  bool quick = false;
  std::vector<std::string> datasets = {"sift10k", "glove50", "mnist10k", "fmnist10k", "fmnist"};
  std::size_t efc = 200;
  bool efc_set = false;
  double target = 0.95;
  std::filesystem::path data = qtune::testing::data_dir();
  std::filesystem::path fmnist = "/usr/share/datasets/fashion-mnist";
  std::filesystem::path cache = ".qtune-cache";
  std::size_t threads = 0;
  std::size_t runs = 5;
  bool runs_set = false;
  bool graph_compare = false;  ///< also compare float-built and code-built graphs
  bool table = true;           ///< the QPS / memory table
};

struct dataset {
  std::string name;
  qtune::metric distance = qtune::metric::l2;
  qtune::vectors base;
  qtune::vectors queries;
  qtune::knn_result truth;
};

/// One contender: search(q, ef, ids, k) with one thread.
struct contender {
  std::string name;
  double build_s = 0;
  double bytes_per_vector = 0;       // resident (graph + codes + tables)
  double rerank_bytes_per_vector = 0;
  std::size_t min_ef = 0;            // max(k, k * rerank)
  std::string config;                // qtune: codec,M,rerank
  std::shared_ptr<void> owner;       // keeps the index alive until QPS is measured
  std::function<void(const float*, std::size_t ef, std::int32_t* ids, std::size_t k)> search;
};

struct result {
  std::string name;
  std::string config;
  std::size_t ef = 0;
  double recall = 0;
  double qps = 0, qps_min = 0, qps_max = 0;
  double bytes = 0, rerank_bytes = 0;
  double build_s = 0;
  bool reached = false;
};

/// Every efSearch to 64, then steps of 4 to 128, 8 to 256, 32 to 512, 128 to 1024, and 2048.
const std::vector<std::size_t> ef_ladder = [] {
  std::vector<std::size_t> v;
  for (std::size_t ef = 10; ef <= 64; ++ef) v.push_back(ef);
  for (std::size_t ef = 68; ef <= 128; ef += 4) v.push_back(ef);
  for (std::size_t ef = 136; ef <= 256; ef += 8) v.push_back(ef);
  for (std::size_t ef = 288; ef <= 512; ef += 32) v.push_back(ef);
  for (std::size_t ef = 640; ef <= 1024; ef += 128) v.push_back(ef);
  v.push_back(2048);
  return v;
}();

double recall_at(const contender& c, const dataset& d, std::size_t ef, std::size_t k, std::size_t threads) {
  qtune::knn_result found;
  found.nq = d.queries.rows();
  found.k = k;
  found.ids.assign(found.nq * k, -1);
  found.distances.assign(found.nq * k, 0.f);
  tbb::task_arena arena(static_cast<int>(threads));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, found.nq), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t q = r.begin(); q < r.end(); ++q) c.search(d.queries.row(q), ef, found.ids.data() + q * k, k);
    });
  });
  return qtune::recall_ids(found, d.truth, k);
}

/// Build-side figures and the smallest efSearch of the ladder reaching the target recall.
result find_ef(const contender& c, const dataset& d, const options& opt) {
  const std::size_t k = 10;
  result r;
  r.name = c.name;
  r.config = c.config;
  r.bytes = c.bytes_per_vector;
  r.rerank_bytes = c.rerank_bytes_per_vector;
  r.build_s = c.build_s;
  // bisection over the ladder (recall is monotone in ef up to noise)
  std::vector<std::size_t> ladder;
  for (std::size_t ef : ef_ladder)
    if (ef >= c.min_ef) ladder.push_back(ef);
  std::size_t lo = 0, hi = ladder.size();
  std::map<std::size_t, double> seen;
  auto rec = [&](std::size_t i) {
    auto it = seen.find(i);
    if (it != seen.end()) return it->second;
    return seen[i] = recall_at(c, d, ladder[i], k, opt.threads);
  };
  if (rec(hi - 1) < opt.target) {
    r.ef = ladder.back();
    r.recall = rec(hi - 1);
  } else {
    hi -= 1;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (rec(mid) >= opt.target) hi = mid;
      else lo = mid + 1;
    }
    r.ef = ladder[lo];
    r.recall = rec(lo);
    r.reached = true;
  }
  return r;
}

/// One single-thread QPS run: whole passes over the queries, one query at a time, lasting at
/// least 0.3 s of this thread's CPU time (sift10k has only 100 queries).
double qps_run(const contender& c, const dataset& d, std::size_t ef, double min_seconds) {
  const std::size_t k = 10;
  omp_set_num_threads(1);
  std::vector<std::int32_t> ids(k);
  const double t0 = thread_cpu_seconds();
  std::size_t done = 0;
  double elapsed = 0;
  do {
    for (std::size_t q = 0; q < d.queries.rows(); ++q) c.search(d.queries.row(q), ef, ids.data(), k);
    done += d.queries.rows();
    elapsed = thread_cpu_seconds() - t0;
  } while (elapsed < min_seconds);
  return static_cast<double>(done) / elapsed;
}

std::vector<float> contiguous(const qtune::vectors& v) {
  std::vector<float> x(v.rows() * v.dim());
  for (std::size_t i = 0; i < v.rows(); ++i) std::memcpy(x.data() + i * v.dim(), v.row(i), v.dim() * sizeof(float));
  return x;
}

std::vector<result> run_dataset(const dataset& d, const options& opt) {
  const std::size_t n = d.base.rows(), dim = d.base.dim(), M = 16, k = 10;
  const bool ip = d.distance != qtune::metric::l2;
  std::vector<result> results;
  const std::vector<float> xb = contiguous(d.base);
  std::printf("\n== %s: %zu base x %zu-d, %zu queries, %s, peers M=%zu efConstruction=%zu, %zu build threads ==\n",
              d.name.c_str(), n, dim, d.queries.rows(), qtune::to_string(d.distance).c_str(), M, opt.efc, opt.threads);
  std::fflush(stdout);

  // Every contender is built and its efSearch found first; QPS is measured afterwards in
  // interleaved rounds (one run of each contender per round), so that a machine whose load
  // changes over the minutes of a run affects all contenders alike.
  std::vector<contender> built;
  auto report = [&](contender c) {
    result r = find_ef(c, d, opt);
    std::printf("  %-22s build %7.1f s  ef %5zu  recall %.4f%s  bytes/vec %7.1f (+%.0f rerank)\n", r.name.c_str(),
                r.build_s, r.ef, r.recall, r.reached ? "" : " (target not reached)", r.bytes, r.rerank_bytes);
    std::fflush(stdout);
    results.push_back(r);
    built.push_back(std::move(c));
  };

  // --- qtune hnsw: codecs and M (build-time choices; efSearch and rerank are searched) ---
  struct qtune_case {
    std::string codec;
    std::size_t m, rerank;
  };
  // large sets (Fashion-MNIST 60k) get fewer contenders: each build takes minutes on 2 cores
  const bool large = n * dim > 20'000'000;
  std::vector<qtune_case> cases = {{"fp32", 16, 0}, {"sq8", 16, 0}, {"sq8", 12, 0}, {"sq8", 8, 0}};
  if (!large && !opt.quick) cases.push_back({"sq4", 16, 2});
  for (const auto& qc : cases) {
    qtune::index_config cfg;
    cfg.kind = "hnsw";
    cfg.codec = qc.codec;
    cfg.m = qc.m;
    cfg.ef_construction = opt.efc;
    cfg.rerank = qc.rerank;
    cfg.threads = opt.threads;
    cfg.distance = d.distance;
    auto idx = qtune::make_index(cfg, dim);
    const auto t0 = clock_type::now();
    idx->build(d.base.view());
    contender c;
    c.name = "qtune " + qc.codec + " M" + std::to_string(qc.m) + (qc.rerank ? "+rerank" + std::to_string(qc.rerank) : "");
    c.config = qc.codec + "," + std::to_string(qc.m) + ",%EF%," + std::to_string(qc.rerank);
    c.build_s = seconds_since(t0);
    const auto mem = idx->memory();
    c.rerank_bytes_per_vector = qc.rerank ? double(mem.rerank_bytes) / n : 0;
    c.bytes_per_vector = double(mem.resident_bytes) / n + c.rerank_bytes_per_vector;
    c.min_ef = std::max<std::size_t>(k, k * qc.rerank);
    const qtune::index* p = idx.get();
    c.owner = std::shared_ptr<qtune::index>(std::move(idx));
    c.search = [p](const float* q, std::size_t ef, std::int32_t* ids, std::size_t kk) {
      thread_local std::vector<float> dd;
      dd.resize(kk);
      p->search_ef(q, kk, ef, ids, dd.data());
    };
    report(c);
  }

  // --- hnswlib, float32, its best distance path, at every M qtune uses (its best is the peer) ---
  std::string peer_path;
  for (std::size_t pm : {std::size_t(16), std::size_t(12), std::size_t(8)}) {
    std::shared_ptr<qtune_bench::hnswlib_peer> peer = qtune_bench::make_hnswlib_peer(dim, n, pm, opt.efc, ip);
    const auto t0 = clock_type::now();
    peer->add(xb.data(), n, opt.threads);
    contender c;
    c.name = "hnswlib fp32 M" + std::to_string(pm);
    c.build_s = seconds_since(t0);
    c.bytes_per_vector = peer->bytes_per_vector();  // links + floats + label
    c.min_ef = k;
    peer_path = peer->distance_path();
    c.owner = peer;
    qtune_bench::hnswlib_peer* pp = peer.get();
    // hnswlib's ef is per index: every thread of the recall pass writes the same value.
    c.search = [pp](const float* q, std::size_t ef, std::int32_t* ids, std::size_t kk) { pp->search(q, kk, ef, ids); };
    report(c);
  }

  // --- FAISS HNSWSQ(8 bit) ---
  {
    auto fi = std::make_unique<faiss::IndexHNSWSQ>(int(dim), faiss::ScalarQuantizer::QT_8bit, int(M),
                                                   ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2);
    fi->hnsw.efConstruction = int(opt.efc);
    omp_set_num_threads(int(opt.threads));
    const auto t0 = clock_type::now();
    if (!fi->is_trained) fi->train(faiss::Index::idx_t(n), xb.data());
    fi->add(faiss::Index::idx_t(n), xb.data());
    contender c;
    c.name = "faiss HNSWSQ8";
    c.build_s = seconds_since(t0);
    std::size_t bytes = fi->hnsw.neighbors.size() * 4 + fi->hnsw.offsets.size() * 8 + fi->hnsw.levels.size() * 4;
    if (auto* fc = dynamic_cast<faiss::IndexFlatCodes*>(fi->storage)) bytes += fc->codes.size();
    if (auto* sq = dynamic_cast<faiss::IndexScalarQuantizer*>(fi->storage)) bytes += sq->sq.trained.size() * 4;
    c.bytes_per_vector = double(bytes) / n;
    c.min_ef = k;
    faiss::IndexHNSW* fp = fi.get();
    c.owner = std::shared_ptr<faiss::IndexHNSW>(std::move(fi));
    // efSearch goes on the index: Debian's FAISS 1.7.3 ignores SearchParametersHNSW::efSearch in
    // its search loop (measured). As for hnswlib, every thread of the recall pass writes the same
    // value.
    c.search = [fp](const float* q, std::size_t ef, std::int32_t* ids, std::size_t kk) {
      omp_set_num_threads(1);
      thread_local std::vector<faiss::Index::idx_t> labels;
      thread_local std::vector<float> dd;
      labels.resize(kk);
      dd.resize(kk);
      fp->hnsw.efSearch = int(ef);
      fp->search(1, q, faiss::Index::idx_t(kk), dd.data(), labels.data());
      for (std::size_t i = 0; i < kk; ++i) ids[i] = static_cast<std::int32_t>(labels[i]);
    };
    report(c);
  }

  std::vector<std::vector<double>> qps(built.size());
  const double min_seconds = opt.quick ? 0.15 : 0.3;
  for (std::size_t run = 0; run < opt.runs; ++run)
    for (std::size_t i = 0; i < built.size(); ++i) qps[i].push_back(qps_run(built[i], d, results[i].ef, min_seconds));
  for (std::size_t i = 0; i < built.size(); ++i) {
    std::sort(qps[i].begin(), qps[i].end());
    results[i].qps = qps[i][qps[i].size() / 2];
    results[i].qps_min = qps[i].front();
    results[i].qps_max = qps[i].back();
  }
  built.clear();

  auto find = [&](const std::string& prefix) -> const result* {
    for (const auto& r : results)
      if (r.name.rfind(prefix, 0) == 0) return &r;
    return nullptr;
  };
  std::printf("\n  %-22s %6s %8s %10s %10s %10s %10s %9s\n", "index", "ef", "recall", "QPS(med)", "QPS(min)",
              "QPS(max)", "bytes/vec", "build s");
  for (const auto& r : results)
    std::printf("  %-22s %6zu %8.4f %10.0f %10.0f %10.0f %10.1f %9.1f\n", r.name.c_str(), r.ef, r.recall, r.qps,
                r.qps_min, r.qps_max, r.bytes, r.build_s);
  // hnswlib's best: the fastest of its M that reaches the target (bytes are that one's)
  const result* hl = nullptr;
  for (const auto& r : results)
    if (r.name.rfind("hnswlib", 0) == 0 && r.reached && (!hl || r.qps > hl->qps)) hl = &r;
  if (!hl) hl = find("hnswlib fp32 M16");
  const result* fsq = find("faiss HNSWSQ8");
  // qtune's best: fastest reaching the target within 35% of hnswlib's bytes, else fastest reaching it
  const result* best = nullptr;
  for (int pass = 0; pass < 2 && !best; ++pass)
    for (const auto& r : results) {
      if (r.name.rfind("qtune ", 0) != 0 || !r.reached) continue;
      if (pass == 0 && hl && r.bytes > 0.35 * hl->bytes) continue;
      if (!best || r.qps > best->qps) best = &r;
    }
  if (best && hl && fsq) {
    std::string config = best->config;
    config.replace(config.find("%EF%"), 4, std::to_string(best->ef));
    std::printf("\n  hnswlib distance path: %s; qtune sq8 integer kernel: %s\n", peer_path.c_str(),
                qtune::to_string(qtune::active_simd_level()).c_str());
    std::printf("  best on %s (recall@10 >= %.2f, single thread): %s vs %s\n", d.name.c_str(), opt.target,
                best->name.c_str(), hl->name.c_str());
    std::printf("RATIO %s qps_vs_hnswlib=%.2f bytes_vs_hnswlib=%.3f qps_vs_faiss_sq8=%.2f recall=%.4f config=%s\n",
                d.name.c_str(), best->qps / hl->qps, best->bytes / hl->bytes, best->qps / fsq->qps, best->recall,
                config.c_str());
  } else {
    std::printf("RATIO %s none: no qtune configuration reached recall@10 %.2f\n", d.name.c_str(), opt.target);
  }
  std::fflush(stdout);
  return results;
}

/// Which graph is better for a lossy codec: built from the float vectors (exact distances, links
/// carried onto the codes) or from the codes (symmetric code-to-code distance)? Same codes, same
/// asymmetric search; recall@10 at equal efSearch, no rerank.
void graph_compare(const dataset& d, const options& opt) {
  const std::size_t dim = d.base.dim(), k = 10;
  const std::vector<std::size_t> efs = {16, 32, 64, 128, 256};
  // PQ with about dim/4 sub-vectors: the largest divisor of dim not above it (50 -> 10)
  std::size_t pq_m = std::max<std::size_t>(1, dim / 4);
  while (dim % pq_m != 0) --pq_m;
  const std::string pq = "pq" + std::to_string(pq_m) + "x8";
  std::printf("\n== graph source comparison on %s (M=16, efConstruction=%zu, recall@10, no rerank) ==\n",
              d.name.c_str(), opt.efc);
  std::printf("  %-10s %-7s %8s", "codec", "graph", "build s");
  for (std::size_t ef : efs) std::printf("   ef=%-4zu", ef);
  std::printf("\n");
  for (const std::string codec : {"sq4", pq.c_str(), "sq8"}) {
    for (const std::string source : {"float", "codes"}) {
      qtune::index_config cfg;
      cfg.codec = codec;
      cfg.m = 16;
      cfg.ef_construction = opt.efc;
      cfg.graph_source = source;
      cfg.threads = opt.threads;
      cfg.distance = d.distance;
      auto idx = qtune::make_index(cfg, dim);
      const auto t0 = clock_type::now();
      idx->build(d.base.view());
      const double build_s = seconds_since(t0);
      contender c;
      const qtune::index* p = idx.get();
      c.search = [p](const float* q, std::size_t ef, std::int32_t* ids, std::size_t kk) {
        thread_local std::vector<float> dd;
        dd.resize(kk);
        p->search_ef(q, kk, ef, ids, dd.data());
      };
      std::printf("  %-10s %-7s %8.1f", codec.c_str(), source.c_str(), build_s);
      for (std::size_t ef : efs) std::printf("   %.4f", recall_at(c, d, ef, k, opt.threads));
      std::printf("\n");
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) try {
  options opt;
  if (const char* q = std::getenv("QTUNE_BENCH_QUICK"); q && std::string(q) == "1") opt.quick = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
      return argv[++i];
    };
    if (a == "--quick") opt.quick = true;
    else if (a == "--datasets") {
      opt.datasets.clear();
      std::string s = next();
      std::size_t pos = 0;
      while (pos <= s.size()) {
        const std::size_t comma = s.find(',', pos);
        opt.datasets.push_back(s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
    } else if (a == "--efc") {
      opt.efc = std::stoul(next());
      opt.efc_set = true;
    } else if (a == "--target") opt.target = std::stod(next());
    else if (a == "--data") opt.data = next();
    else if (a == "--fmnist") opt.fmnist = next();
    else if (a == "--cache") opt.cache = next();
    else if (a == "--threads") opt.threads = std::stoul(next());
    else if (a == "--runs") {
      opt.runs = std::stoul(next());
      opt.runs_set = true;
    }
    else if (a == "--graph-compare") opt.graph_compare = true;
    else if (a == "--no-table") opt.table = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (opt.quick && !opt.efc_set) opt.efc = 100;
  if (opt.quick && !opt.runs_set) opt.runs = 3;
  if (opt.threads == 0) opt.threads = std::max(1u, std::thread::hardware_concurrency());
  std::printf("bench_hnsw: simd %s, cpu %s, build threads %zu, QPS single-thread, %zu runs, %s\n",
              qtune::to_string(qtune::active_simd_level()).c_str(), qtune::cpu_description().c_str(), opt.threads,
              opt.runs, opt.quick ? "QUICK (fmnist subsampled)" : "full");

  std::map<std::string, std::vector<result>> all;
  for (const auto& name : opt.datasets) {
    dataset d;
    d.name = name;
    auto fvecs = [&](const std::string& dir, const std::string& stem) {
      d.base = qtune::read_vectors(opt.data / dir / (stem + "_base.fvecs"));
      d.queries = qtune::read_vectors(opt.data / dir / (stem + "_query.fvecs"));
    };
    if (name == "sift10k") fvecs("sift10k", "siftsmall");
    else if (name == "glove50" || name == "glove50-10k") {
      fvecs("glove50-10k", "glove50");
      d.name = "glove50-10k";
      d.distance = qtune::metric::cosine;  // rows normalised here; every contender then uses inner product
      d.base.normalize_rows("glove50 base");
      d.queries.normalize_rows("glove50 queries");
    } else if (name == "mnist10k") fvecs("mnist10k", "mnist");
    else if (name == "fmnist10k") fvecs("fmnist10k", "fmnist");
    else if (name == "fmnist") {
      qtune::read_options ro;
      if (opt.quick) ro.max_rows = 20000;
      d.base = qtune::read_vectors(opt.fmnist / "train-images-idx3-ubyte.gz", ro);
      qtune::read_options rq;
      if (opt.quick) rq.max_rows = 1000;
      d.queries = qtune::read_vectors(opt.fmnist / "t10k-images-idx3-ubyte.gz", rq);
      d.name = "fmnist" + std::to_string(d.base.rows() / 1000) + "k";
    } else {
      std::fprintf(stderr, "unknown dataset %s (sift10k, glove50, mnist10k, fmnist10k, fmnist)\n", name.c_str());
      return 2;
    }
    const auto t0 = clock_type::now();
    d.truth = qtune::cached_exact_knn(d.base.view(), d.queries.view(), d.distance, 10, opt.cache);
    std::printf("ground truth for %s: %.1f s (cache %s)\n", d.name.c_str(), seconds_since(t0), opt.cache.c_str());
    if (opt.graph_compare) graph_compare(d, opt);
    if (opt.table) all[d.name] = run_dataset(d, opt);
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_hnsw: %s\n", e.what());
  return 1;
}
