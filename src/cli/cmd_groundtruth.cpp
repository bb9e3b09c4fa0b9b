// `tune groundtruth`: exact k-NN of queries against a base, written as .ivecs + .fvecs.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/command.hpp"
#include "cli/progress_bar.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/progress.hpp"
#include "qtune/sweep_shard.hpp"
#include "qtune/sweep_steps.hpp"

namespace {

struct groundtruth_options {
  std::string base;
  std::string queries;
  std::string metric = "l2";
  std::size_t k = 100;
  std::string output;
  std::string cache_dir;
  bool no_cache = false;
  bool quiet = false;
  std::string shard;          ///< "I/N": compute query block I of N into a part file
  bool merge = false;         ///< join the N part files into the output
  std::size_t shards = 0;
  std::string spec;           ///< the sweep's own ground truth: data, k, metric and cache of a spec
};

/// The part file of shard I/N beside `output`: gt.ivecs -> gt.shard-0-of-3.ivecs (+ .fvecs).
std::filesystem::path part_path(const std::string& output, qtune::shard_id s) {
  std::filesystem::path p(output);
  return p.parent_path() / (p.stem().string() + ".shard-" + std::to_string(s.index) + "-of-" +
                            std::to_string(s.count) + ".ivecs");
}

/// Queries [n * I / N, n * (I + 1) / N): contiguous blocks, so the parts concatenate in order.
std::pair<std::size_t, std::size_t> block_of(std::size_t n, qtune::shard_id s) {
  return {n * s.index / s.count, n * (s.index + 1) / s.count};
}

void run_groundtruth_shard(const groundtruth_options& o, const qtune::vectors& base, const qtune::vectors& queries,
                           qtune::metric m) {
  const qtune::shard_id s = qtune::parse_shard(o.shard);
  const auto [lo, hi] = block_of(queries.rows(), s);
  std::vector<std::size_t> rows;
  for (std::size_t i = lo; i < hi; ++i) rows.push_back(i);
  const qtune::vectors block = queries.select(rows);
  // Every query's neighbours are exact and independent of the others (ground_truth.hpp), so a
  // block computed alone equals the same rows of the whole: the merged file is byte-identical.
  const qtune::knn_result r = qtune::exact_knn(base.view(), block.view(), m, o.k);
  const std::filesystem::path out = part_path(o.output, s);
  qtune::write_knn(r, out);
  std::printf("groundtruth shard %s: queries %zu..%zu of %zu -> %s\n", s.to_string().c_str(), lo, hi, queries.rows(),
              out.string().c_str());
}

/// Joins the N part files into o.output; returns what it wrote.
qtune::knn_result run_groundtruth_merge(const groundtruth_options& o) {
  QTUNE_CHECK(o.shards >= 1, "--merge needs --shards N (the N of the shards' --shard I/N)");
  qtune::knn_result all;
  for (std::size_t i = 0; i < o.shards; ++i) {
    const std::filesystem::path p = part_path(o.output, {i, o.shards});
    QTUNE_CHECK(std::filesystem::exists(p), p.string(), ": missing (shard ", i, "/", o.shards, " has not run)");
    auto dist = p;
    dist.replace_extension(".fvecs");
    const qtune::knn_result r = qtune::read_knn(p, dist);
    QTUNE_CHECK(i == 0 || r.k == all.k, p.string(), ": has k = ", r.k, ", the other parts ", all.k);
    all.k = r.k;
    all.nq += r.nq;
    all.ids.insert(all.ids.end(), r.ids.begin(), r.ids.end());
    all.distances.insert(all.distances.end(), r.distances.begin(), r.distances.end());
  }
  qtune::write_knn(all, o.output);
  std::printf("groundtruth: merged %zu shards, %zu queries x k=%zu -> %s\n", o.shards, all.nq, all.k, o.output.c_str());
  return all;
}

/// `--spec SPEC`: the sweep's ground-truth step in shards. Each shard computes its query block of
/// the spec's data (as the sweep loads it); --merge joins them and stores the result in the spec's
/// cache under the key a one-process sweep uses, so the sweep (and `tune plan`) then hit the cache.
void run_spec_groundtruth(const groundtruth_options& o) {
  const qtune::sweep_spec spec = qtune::parse_sweep_spec(o.spec);
  qtune::sweep_context_options co;
  co.with_truth = false;
  const qtune::sweep_context ctx(spec, co);
  groundtruth_options g = o;
  g.k = spec.k;
  if (!o.merge) return run_groundtruth_shard(g, ctx.base(), ctx.queries(), spec.dataset.distance);
  const qtune::knn_result merged = run_groundtruth_merge(g);
  const std::filesystem::path cache = spec.cache_dir.empty() ? qtune::default_ground_truth_cache_dir() : spec.cache_dir;
  qtune::store_cached_knn(ctx.base().view(), ctx.queries().view(), spec.dataset.distance, merged, cache);
  std::printf("groundtruth: stored in the sweep's cache %s\n", cache.string().c_str());
}

void run_groundtruth(const groundtruth_options& o) {
  if (!o.spec.empty()) return run_spec_groundtruth(o);
  if (o.merge) {
    run_groundtruth_merge(o);
    return;
  }
  const qtune::metric m = qtune::parse_metric(o.metric);
  const auto t0 = std::chrono::steady_clock::now();
  qtune::vectors base = qtune::read_vectors(o.base);
  qtune::vectors queries = qtune::read_vectors(o.queries);
  QTUNE_CHECK(base.dim() == queries.dim(), o.queries, ": queries have dimension ", queries.dim(), ", but ", o.base,
              " has ", base.dim());
  QTUNE_CHECK(o.k <= base.rows(), o.base, ": k = ", o.k, " is larger than the base (", base.rows(),
              " vectors); the ground truth would be padded with id -1");
  if (m == qtune::metric::cosine) {
    base.normalize_rows(o.base);
    queries.normalize_rows(o.queries);
  }
  if (!o.shard.empty()) return run_groundtruth_shard(o, base, queries, m);
  const auto t1 = std::chrono::steady_clock::now();
  const std::uint64_t computed_before = qtune::exact_knn_call_count();
  const std::uint64_t byte_passes_before = qtune::exact_knn_byte_pass_count();
  std::filesystem::path cache_dir;
  qtune::knn_result r;
  qtune::cli::progress_bar bar(o.quiet);
  qtune::progress_scope scope(bar.callback());
  if (o.no_cache) {
    r = qtune::exact_knn(base.view(), queries.view(), m, o.k);
  } else {
    cache_dir = o.cache_dir.empty() ? qtune::default_ground_truth_cache_dir() : std::filesystem::path(o.cache_dir);
    r = qtune::cached_exact_knn(base.view(), queries.view(), m, o.k, cache_dir);
  }
  const auto t2 = std::chrono::steady_clock::now();
  bar.finish();
  qtune::write_knn(r, o.output);
  auto dist_path = std::filesystem::path(o.output);
  dist_path.replace_extension(".fvecs");
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double knn_s = std::chrono::duration<double>(t2 - t1).count();
  const bool hit = !o.no_cache && qtune::exact_knn_call_count() == computed_before;
  // Which first pass ranked the candidates (README "Exact ground truth"): exact int8 products
  // for byte-valued data, else float32 products re-scored in float64.
  const char* pass = hit                                                            ? ""
                     : qtune::exact_knn_byte_pass_count() != byte_passes_before ? " pass=bytes"
                                                                              : " pass=float32";
  std::printf("groundtruth: nq=%zu n=%zu dim=%zu k=%zu metric=%s seconds=%.3f (load %.3f)%s%s -> %s, %s\n", r.nq,
              base.rows(), base.dim(), r.k, qtune::to_string(m).c_str(), knn_s, load_s,
              o.no_cache ? "" : (hit ? " [cache hit]" : " [computed, cached]"), pass, o.output.c_str(),
              dist_path.string().c_str());
}

}  // namespace

QTUNE_CLI_COMMAND(groundtruth) {
  auto* sub = app.add_subcommand("groundtruth", "Exact k-NN ground truth (ids .ivecs + distances .fvecs)");
  auto opts = std::make_shared<groundtruth_options>();
  sub->add_option("--base", opts->base, "Base vectors (.fvecs, .bvecs, .npy, .hdf5, IDX)");
  sub->add_option("--queries", opts->queries, "Query vectors (same formats)");
  sub->add_option("--shard", opts->shard, "I/N: compute query block I of N into OUTPUT's part file (no cache)");
  sub->add_flag("--merge", opts->merge, "Join the part files of --shards N into OUTPUT (byte-identical to one process)");
  sub->add_option("--shards", opts->shards, "With --merge: the number of shards");
  sub->add_option("--spec", opts->spec, "Instead of --base/--queries/-k: the sweep's data, k and metric; with "
                                        "--merge the result goes into the spec's ground-truth cache");
  sub->add_option("--metric", opts->metric, "l2 | ip | cosine (cosine normalises base and queries at load)")
      ->capture_default_str();
  sub->add_option("-k,--k", opts->k, "Neighbours per query")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_option("-o,--output", opts->output,
                  "Ids output (.ivecs); distances are written beside it with extension .fvecs")
      ->required();
  sub->add_option("--cache-dir", opts->cache_dir,
                  "Ground-truth cache folder (default: $QTUNE_CACHE_DIR, $XDG_CACHE_HOME/qtune/ground_truth "
                  "or ~/.cache/qtune/ground_truth)");
  sub->add_flag("--no-cache", opts->no_cache, "Compute without reading or writing the cache");
  sub->add_flag("--quiet,-q", opts->quiet, "No progress bar or progress lines on stderr");
  sub->callback([opts] {
    const std::filesystem::path out(opts->output);
    QTUNE_CHECK(out.extension() == ".ivecs", opts->output, ": the output must end in .ivecs (distances go beside it "
                                                            "as .fvecs)");
    QTUNE_CHECK(opts->merge || !opts->spec.empty() || (!opts->base.empty() && !opts->queries.empty()),
                "tune groundtruth: --base and --queries are required (except with --merge)");
    run_groundtruth(*opts);
  });
}
