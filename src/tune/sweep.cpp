// The sweep runner. Build-time parameters are the outer loop (each needs a build), search-time
// parameters the inner loop on the same build. Validation queries are searched for every point
// but only read by the recommendation, after candidates are ordered from tuning figures alone.
#include "qtune/sweep.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "ground_truth/exact_detail.hpp"
#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"
#include "qtune/index.hpp"
#include "qtune/param_file.hpp"
#include "qtune/progress.hpp"
#include "qtune/recommend.hpp"
#include "qtune/simd.hpp"
#include "qtune/version.hpp"
#include "tune/review.hpp"
#include "util/atomic_file.hpp"
#include "util/byte_size.hpp"

namespace qtune {

std::filesystem::path output_dir_of(const sweep_spec& spec) {
  if (!spec.output.empty()) return spec.output;
  return std::filesystem::path("results") / (spec.name.empty() ? std::string("sweep") : spec.name);
}

namespace {

using clock_type = std::chrono::steady_clock;

/// Thrown from inside an auto-ef search when the user asked to stop.
struct stop_request {};

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Exact distance (qtune/metric.hpp conventions) between a base row and a query, in double,
/// with the ground truth's own float64 kernels.
float exact_distance(const float* x, const float* q, std::size_t dim, metric m) {
  const detail::f64_kernels f64 = detail::f64_kernels_active();
  return static_cast<float>(compute_metric(m) == metric::l2 ? f64.l2(x, q, dim) : 1.0 - f64.ip(x, q, dim));
}

knn_result select_rows(const knn_result& r, const std::vector<std::size_t>& rows) {
  knn_result out;
  out.nq = rows.size();
  out.k = r.k;
  out.ids.reserve(rows.size() * r.k);
  for (std::size_t q : rows) out.ids.insert(out.ids.end(), r.ids_of(q), r.ids_of(q) + r.k);
  if (!r.distances.empty()) {
    out.distances.reserve(rows.size() * r.k);
    for (std::size_t q : rows) out.distances.insert(out.distances.end(), r.distances_of(q), r.distances_of(q) + r.k);
  }
  return out;
}

using data_facts = std::vector<std::pair<std::string, std::string>>;

struct sweep_data {
  // optional: vectors has no usable default constructor outside dataset.cpp
  std::optional<vectors> base, tuning, validation;
  knn_result truth_tuning, truth_validation;
  std::string base_hash, queries_hash, ground_truth_desc;
  std::size_t n_queries = 0;
  std::vector<std::size_t> validation_rows;  ///< rows of the query file held out
};

/// Fisher-Yates with our own index draw, so the split is the same with every standard library.
std::vector<std::size_t> permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % i]);
  return p;
}

sweep_data load_data(const sweep_spec& spec, bool with_truth) {
  sweep_data d;
  const auto& ds = spec.dataset;
  read_options ro;
  ro.max_rows = ds.max_base;  // an HDF5 file's base is its "train" dataset (the default)
  QTUNE_CHECK(std::filesystem::exists(ds.base), spec.place("dataset.base"), ": base file ", ds.base.string(),
              " does not exist", ds.base.string().find("fashion-mnist") != std::string::npos
                                     ? " (install Debian's dataset-fashion-mnist: bash .ci/install-deps)"
                                     : "");
  QTUNE_CHECK(std::filesystem::exists(ds.queries), spec.place("dataset.queries"), ": query file ",
              ds.queries.string(), " does not exist");
  d.base = read_vectors(ds.base, ro);
  read_options rq;
  rq.max_rows = ds.max_queries;
  rq.hdf5_dataset = "test";  // read only from HDF5 files
  vectors queries = read_vectors(ds.queries, rq);
  QTUNE_CHECK(d.base->dim() == queries.dim(), spec.place("dataset.queries"), ": queries have dimension ",
              queries.dim(), ", the base has ", d.base->dim());
  QTUNE_CHECK(d.base->rows() > spec.k, spec.place("dataset.base"), ": the base has ", d.base->rows(),
              " vectors, need more than k = ", spec.k);
  QTUNE_CHECK(queries.rows() >= 2, spec.place("dataset.queries"), ": need at least 2 queries, got ", queries.rows());
  if (ds.distance == metric::cosine) {
    d.base->normalize_rows(ds.base.string());
    queries.normalize_rows(ds.queries.string());
  }
  d.n_queries = queries.rows();
  d.base_hash = content_hash(d.base->view());
  d.queries_hash = content_hash(queries.view());

  knn_result truth;
  if (with_truth) {
    if (!ds.ground_truth.empty()) {
      truth = read_knn(ds.ground_truth, ds.ground_truth_distances);
      QTUNE_CHECK(truth.nq >= queries.rows(), spec.place("dataset.ground_truth"), ": ground truth has ", truth.nq,
                  " rows, the queries ", queries.rows());
      QTUNE_CHECK(truth.k >= spec.k, spec.place("dataset.ground_truth"), ": ground truth has ", truth.k,
                  " neighbours per query, k is ", spec.k);
      // Keep the first k columns of the first nq rows; a subset base is fine only when every
      // true neighbour lies inside it (then they are also the subset's true neighbours).
      knn_result t;
      t.nq = queries.rows();
      t.k = spec.k;
      for (std::size_t q = 0; q < t.nq; ++q)
        for (std::size_t j = 0; j < spec.k; ++j) {
          const std::int32_t id = truth.ids_of(q)[j];
          QTUNE_CHECK(id >= 0 && static_cast<std::size_t>(id) < d.base->rows(), spec.place("dataset.ground_truth"),
                      ": query ", q, " has true neighbour ", id, " outside the ", d.base->rows(),
                      " base rows loaded (max_base?); drop ground_truth to compute it");
          t.ids.push_back(id);
          t.distances.push_back(exact_distance(d.base->row(id), queries.row(q), d.base->dim(), ds.distance));
        }
      truth = std::move(t);
      d.ground_truth_desc = ds.ground_truth.string();
    } else {
      const std::filesystem::path cache = spec.cache_dir.empty() ? default_ground_truth_cache_dir() : spec.cache_dir;
      truth = cached_exact_knn(d.base->view(), queries.view(), ds.distance, spec.k, cache);
      d.ground_truth_desc = "computed (exact, cached in " + cache.string() + ")";
    }
  }

  const std::size_t nq = queries.rows();
  std::size_t nv = static_cast<std::size_t>(std::llround(spec.validation_fraction * static_cast<double>(nq)));
  nv = std::clamp<std::size_t>(nv, 1, nq - 1);
  std::vector<std::size_t> perm = permutation(nq, spec.seed);
  std::vector<std::size_t> val(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(nv));
  std::vector<std::size_t> tun(perm.begin() + static_cast<std::ptrdiff_t>(nv), perm.end());
  std::sort(val.begin(), val.end());
  std::sort(tun.begin(), tun.end());
  d.validation_rows = val;
  d.tuning = queries.select(tun);
  d.validation = queries.select(val);
  if (with_truth) {
    d.truth_tuning = select_rows(truth, tun);
    d.truth_validation = select_rows(truth, val);
  }
  return d;
}

struct build_plan {
  std::string kind;     // "hnsw" | "faiss:<factory>"
  std::string codec;
  std::size_t m = 0, ef_construction = 0;
  std::vector<std::size_t> reranks;
  std::string describe() const {
    if (kind == "hnsw") return "hnsw " + codec + " M=" + std::to_string(m) + " efC=" + std::to_string(ef_construction);
    return kind + " efC=" + std::to_string(ef_construction);
  }
};

std::vector<build_plan> plan_builds(const sweep_spec& spec) {
  std::vector<build_plan> out;
  for (const auto& c : spec.grid.codecs)
    for (std::size_t m : spec.grid.m)
      for (std::size_t efc : spec.grid.ef_construction) {
        build_plan b{"hnsw", c, m, efc, {}};
        for (std::size_t r : spec.grid.rerank)
          if (r == 0 || c != "fp32") b.reranks.push_back(r);
        if (b.reranks.empty()) b.reranks.push_back(0);
        out.push_back(b);
      }
  for (const auto& f : spec.grid.faiss)
    for (std::size_t efc : spec.grid.ef_construction) out.push_back({"faiss:" + f, "", 0, efc, {0}});
  return out;
}

std::vector<std::size_t> extra_efs(const sweep_spec& spec, std::size_t ef0) {
  std::vector<std::size_t> out;
  for (double f : spec.grid.ef_search_extra) {
    const std::size_t e = std::min(spec.grid.ef_search_max, static_cast<std::size_t>(std::ceil(ef0 * f)));
    if (e > ef0 && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

class runner {
 public:
  runner(const sweep_spec& spec, const sweep_options& opt) : spec_(spec), opt_(opt) {}

  sweep_outcome run();
  /// Re-measures one configuration (tune review): no output folder is written.
  review_outcome review(const recommended_params& p);

 private:
  const sweep_spec& spec_;
  const sweep_options& opt_;
  sweep_data data_;
  std::string hash_;
  std::size_t threads_ = 1;
  std::size_t done_ = 0, total_ = 0;
  std::FILE* jsonl_ = nullptr;
  bool write_neighbors_ = true;      ///< false in review: nothing is written
  knn_result last_validation_;       ///< validation neighbours of the last measure()
  std::vector<measured_point> points_;
  std::map<std::string, std::size_t> by_key_;

  bool stopped() const { return opt_.stop && opt_.stop->load(); }
  data_facts facts() const {
    data_facts f;
    f.emplace_back("base", std::filesystem::absolute(spec_.dataset.base).string());
    f.emplace_back("queries", std::filesystem::absolute(spec_.dataset.queries).string());
    f.emplace_back("ground truth", data_.ground_truth_desc);
    if (!spec_.file.empty()) f.emplace_back("spec", std::filesystem::absolute(spec_.file).string());
    f.emplace_back("metric", to_string(spec_.dataset.distance));
    if (data_.base) f.emplace_back("data", std::to_string(data_.base->rows()) + " base x " +
                                               std::to_string(data_.base->dim()) + " dims, " +
                                               std::to_string(data_.tuning->rows()) + " tuning + " +
                                               std::to_string(data_.validation->rows()) + " validation queries");
    f.emplace_back("objective", to_string(spec_.objective));
    f.emplace_back("qtune", std::string(version_string) + " (" + git_commit + ")");
    f.emplace_back("cpu", cpu_description() + ", " + to_string(active_simd_level()) + ", " + std::to_string(threads_) +
                              (threads_ == 1 ? " thread" : " threads"));
    f.emplace_back("date", utc_now());
    return f;
  }
  /// To the caller's on_progress when given, else to the process's progress callback.
  void progress(const std::string& msg, bool is_result = false, bool transient = false) {
    if (opt_.on_progress) opt_.on_progress({done_, total_, msg, is_result});
    else if (progress_enabled()) report_progress(progress_event{"sweep", done_, total_, msg, is_result, transient});
  }
  std::string plan_text(const std::vector<build_plan>& builds) const;
  void append(const measured_point& p);

  /// Searches `queries` (batch, all threads).
  knn_result search_all(const index& ix, const vectors& queries) const {
    knn_result r;
    r.nq = queries.rows();
    r.k = spec_.k;
    r.ids.assign(r.nq * r.k, -1);
    r.distances.assign(r.nq * r.k, 0.f);
    ix.search_batch(queries.view(), spec_.k, r.ids.data(), r.distances.data(), threads_);
    return r;
  }
  /// Replaces found distances by exact ones (recall_distance needs them).
  void exact_distances(knn_result& found, const vectors& queries) const {
    for (std::size_t q = 0; q < found.nq; ++q)
      for (std::size_t j = 0; j < found.k; ++j) {
        const std::int32_t id = found.ids[q * found.k + j];
        found.distances[q * found.k + j] =
            id < 0 ? std::numeric_limits<float>::infinity()
                   : exact_distance(data_.base->row(static_cast<std::size_t>(id)), queries.row(q), data_.base->dim(),
                                    spec_.dataset.distance);
      }
  }
  void score(knn_result found, const vectors& queries, const knn_result& truth, recall_ci& by_ids,
             recall_ci& by_distance, std::uint64_t seed) const {
    exact_distances(found, queries);
    std::vector<double> pq_ids, pq_dist;
    by_ids.value = recall_ids(found, truth, spec_.k, &pq_ids);
    by_distance.value = recall_distance(found, truth, spec_.k, 1e-3f, &pq_dist);
    const interval a = bootstrap_mean_interval(pq_ids, 0.95, 2000, seed);
    const interval b = bootstrap_mean_interval(pq_dist, 0.95, 2000, seed + 1);
    by_ids.lo = a.lo, by_ids.hi = a.hi;
    by_distance.lo = b.lo, by_distance.hi = b.hi;
  }
  double probe_recall(index& ix, std::size_t ef) const {
    ix.set_ef_search(ef);
    knn_result found = search_all(ix, *data_.tuning);
    if (spec_.steer_by == recall_measure::ids) return recall_ids(found, data_.truth_tuning, spec_.k);
    exact_distances(found, *data_.tuning);
    return recall_distance(found, data_.truth_tuning, spec_.k);
  }
  measured_point measure(index& ix, const build_plan& b, std::size_t ef, std::size_t rr, double build_s);
  std::filesystem::path neighbors_path(const measured_point& p) const {
    std::string name = p.key();
    for (char& c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) c = '_';
    return output_dir_of(spec_) / "neighbors" / (name + ".ivecs");
  }
};

measured_point runner::measure(index& ix, const build_plan& b, std::size_t ef, std::size_t rr, double build_s) {
  ix.set_ef_search(ef);
  ix.set_rerank(rr);
  measured_point p;
  p.kind = b.kind, p.codec = b.codec, p.m = b.m, p.ef_construction = b.ef_construction;
  p.ef_search = ef, p.rerank = rr;
  const std::size_t k = spec_.k, nq = data_.tuning->rows();
  knn_result single;
  single.nq = nq, single.k = k;
  single.ids.assign(nq * k, -1);
  single.distances.assign(nq * k, 0.f);
  // Warm-up: caches, page faults, branch predictors.
  for (std::size_t i = 0; i < std::min(nq, spec_.warmup_queries); ++i)
    ix.search(data_.tuning->row(i), k, single.ids.data(), single.distances.data());
  std::vector<double> p50, p95, p99, qps1, qpsb;
  std::vector<double> lat(nq);
  for (std::size_t rep = 0; rep < spec_.repetitions; ++rep) {
    double total = 0;
    for (std::size_t i = 0; i < nq; ++i) {
      const auto t0 = clock_type::now();
      ix.search(data_.tuning->row(i), k, single.ids.data() + i * k, single.distances.data() + i * k);
      lat[i] = std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
      total += lat[i];
    }
    std::vector<double> sorted = lat;
    std::sort(sorted.begin(), sorted.end());
    p50.push_back(percentile(sorted, 0.50));
    p95.push_back(percentile(sorted, 0.95));
    p99.push_back(percentile(sorted, 0.99));
    qps1.push_back(total > 0 ? static_cast<double>(nq) * 1e6 / total : 0);
    const auto t0 = clock_type::now();
    search_all(ix, *data_.tuning);
    const double s = seconds_since(t0);
    qpsb.push_back(s > 0 ? static_cast<double>(nq) / s : 0);
  }
  p.latency_p50_us = summarize(p50);
  p.latency_p95_us = summarize(p95);
  p.latency_p99_us = summarize(p99);
  p.qps_single = summarize(qps1);
  p.qps_batch = summarize(qpsb);
  p.threads = threads_;
  score(single, *data_.tuning, data_.truth_tuning, p.tuning_recall_ids, p.tuning_recall_distance, spec_.seed);
  knn_result val = search_all(ix, *data_.validation);
  {
    // The validation neighbours of every point, so a result can be re-checked independently
    // (tests/tune/check_recall.py); written before the point's results line.
    int_matrix ids;
    ids.rows = val.nq, ids.dim = val.k, ids.values = val.ids;
    if (write_neighbors_) write_ivecs(neighbors_path(p), ids);
    last_validation_ = val;
  }
  score(std::move(val), *data_.validation, data_.truth_validation, p.validation_recall_ids,
        p.validation_recall_distance, spec_.seed + 7);
  const index_memory mem = ix.memory();
  p.resident_bytes = mem.resident_bytes;
  // Without rerank a deployment does not keep the full vectors, even if this build holds them
  // for the rerank settings measured on it.
  p.rerank_bytes = rr > 0 ? mem.rerank_bytes : 0;
  p.n_base = data_.base->rows();
  p.n_tuning = nq;
  p.n_validation = data_.validation->rows();
  p.build_seconds = build_s;
  p.spec_hash = hash_;
  return p;
}

void runner::append(const measured_point& p) {
  const std::string line = to_json_line(p) + "\n";
  QTUNE_CHECK(std::fwrite(line.data(), 1, line.size(), jsonl_) == line.size() && std::fflush(jsonl_) == 0,
              output_dir_of(spec_).string(), "/results.jsonl: write failed");
  auto it = by_key_.find(p.key());
  if (it != by_key_.end()) points_[it->second] = p;
  else by_key_.emplace(p.key(), points_.size()), points_.push_back(p);
}

std::string runner::plan_text(const std::vector<build_plan>& builds) const {
  std::ostringstream o;
  const std::size_t n = data_.base->rows(), dim = data_.base->dim(), nt = data_.tuning->rows();
  const bool autoef = spec_.grid.ef_search_auto;
  o << "plan for " << spec_.name << " (" << spec_.file.string() << ")\n"
    << "  data: " << n << " base x " << dim << " dims, " << data_.n_queries << " queries -> " << nt << " tuning + "
    << data_.validation->rows() << " validation, metric " << to_string(spec_.dataset.distance) << ", k = " << spec_.k
    << ", target recall " << spec_.target_recall << "\n"
    << "  ef_search: "
    << (autoef ? "auto (gallop + bisect up to " + std::to_string(spec_.grid.ef_search_max) + ")" : std::string("list"))
    << ", objective " << to_string(spec_.objective)
    << (spec_.memory_budget ? ", memory budget " + human_bytes(static_cast<double>(spec_.memory_budget)) : "") << "\n"
    << "  threads " << threads_ << ", repetitions " << spec_.repetitions << "\n"
    << "  builds (" << builds.size() << "):\n";
  double total_s = 0;
  std::size_t searches = 0;
  for (const auto& b : builds) {
    double bytes_per_vec = 0, dist_ns = 0;
    std::string mem = "?";
    if (b.kind == "hnsw") {
      const std::size_t cs = codec_code_size(b.codec, dim);
      bytes_per_vec = static_cast<double>(cs) + 2.0 * b.m * 4 + 4 + 8 + 1.0 * b.m * 4 / std::log(b.m) ;
      const bool any_rr = std::any_of(b.reranks.begin(), b.reranks.end(), [](std::size_t r) { return r > 0; });
      double total = bytes_per_vec * n + (any_rr ? 4.0 * dim * n : 0.0);
      mem = human_bytes(total) + (any_rr ? " (incl. " + human_bytes(4.0 * dim * n) + " rerank vectors)" : "");
      dist_ns = 2.0 + 0.05 * static_cast<double>(cs);
    } else {
      dist_ns = 2.0 + 0.05 * 4.0 * dim;
    }
    // Rough model (guessed constants, not fitted: orders of magnitude only): a build evaluates
    // ~2.5 efC * M distances per insertion, a search ~2 ef * M; plus ~20 ms per point for
    // recall scoring and bootstrap intervals. Codec training (PQ k-means) is not included.
    const double m_eff = b.m ? static_cast<double>(b.m) : 32.0;
    const double build_s = 2.5 * static_cast<double>(n) * b.ef_construction * m_eff * dist_ns * 1e-9 / threads_;
    const double ef_typ = autoef ? 64.0 : spec_.grid.ef_search.back() * 1.0;
    const std::size_t per_setting = autoef ? 8 + 1 + spec_.grid.ef_search_extra.size() : spec_.grid.ef_search.size();
    const std::size_t measured = autoef ? 1 + spec_.grid.ef_search_extra.size() : spec_.grid.ef_search.size();
    const double search_s = static_cast<double>(b.reranks.size()) *
                            (static_cast<double>(per_setting) * nt + static_cast<double>(measured) * nt * spec_.repetitions *
                                                                        (1.0 + 1.0 / threads_)) *
                            2.0 * ef_typ * m_eff * dist_ns * 1e-9 +
                            0.02 * static_cast<double>(b.reranks.size() * measured);
    searches += b.reranks.size() * measured;
    total_s += build_s + search_s;
    o << "    " << b.describe() << "  rerank {";
    for (std::size_t i = 0; i < b.reranks.size(); ++i) o << (i ? "," : "") << b.reranks[i];
    o << "}  memory ~" << mem << "  time ~" << std::fixed << std::setprecision(1) << build_s + search_s << " s\n";
    o.unsetf(std::ios::floatfield);
  }
  o << "  measured points: " << searches << (autoef ? " (auto: each setting's ef plus extras)" : "") << "\n"
    << "  estimated time: ~" << std::fixed << std::setprecision(0) << total_s
    << " s (rough model; ground truth and codec training not included)\n"
    << "  output: " << output_dir_of(spec_).string() << "/\n";
  return o.str();
}

/// report.html of the output folder: never fails the sweep (its results are already on disk).
void write_sweep_report(const sweep_spec& spec, const sweep_options& options, const sweep_outcome& out,
                        const std::string& outcome, const data_facts& facts) {
  if (!options.write_report) return;
  try {
    sweep_report_input in;
    in.name = spec.name.empty() ? std::string("sweep") : spec.name;
    in.points = out.points;
    in.target_recall = spec.target_recall;
    in.steer_by = spec.steer_by;
    in.k = spec.k;
    in.outcome = outcome;
    if (out.recommended)
      for (std::size_t i = 0; i < in.points.size(); ++i)
        if (in.points[i].key() == out.recommended->key()) in.recommended = i;
    in.facts = facts;
    if (!in.points.empty()) options.write_report(out.output_dir / "report.html", in);
  } catch (const std::exception&) {
    // A report that cannot be written leaves the measured results intact; `tune report` retries.
  }
}

sweep_outcome runner::run() {
  const auto t_start = clock_type::now();
  sweep_outcome out;
  out.output_dir = output_dir_of(spec_);
  hash_ = spec_hash(spec_);
  threads_ = spec_.threads ? spec_.threads : static_cast<std::size_t>(tbb::info::default_concurrency());
  std::unique_ptr<tbb::global_control> limit;
  if (spec_.threads)
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, spec_.threads);

  // Codec names must fit the data's dimension (pq16x8 needs dim % 16 == 0): check before any work.
  progress("loading data");
  data_ = load_data(spec_, !opt_.dry_run);
  const std::size_t dim = data_.base->dim();
  for (std::size_t i = 0; i < spec_.grid.codecs.size(); ++i) {
    try {
      (void)codec_code_size(spec_.grid.codecs[i], dim);
    } catch (const error& e) {
      fail(spec_.place("grid.codecs[" + std::to_string(i) + "]"), ": codec '", spec_.grid.codecs[i],
           "' does not fit dimension ", dim, ": ", e.what());
    }
  }
  const std::vector<build_plan> builds = plan_builds(spec_);
  out.plan_text = plan_text(builds);
  if (opt_.dry_run) {
    out.status = sweep_status::planned;
    out.seconds = seconds_since(t_start);
    return out;
  }

  // Results file: fresh, or (resume) the valid points of an earlier run of the same spec.
  std::filesystem::create_directories(out.output_dir);
  const std::filesystem::path jsonl_path = out.output_dir / "results.jsonl";
  if (opt_.resume) {
    std::size_t dropped = 0;
    for (auto& p : read_results_jsonl(jsonl_path, &dropped)) {
      QTUNE_CHECK(p.spec_hash == hash_, jsonl_path.string(), ": was written by a different spec (hash ", p.spec_hash,
                  ", now ", hash_, "); rerun without --resume or choose another --output");
      by_key_.emplace(p.key(), points_.size());
      points_.push_back(std::move(p));
    }
    out.points_resumed = points_.size();
  }
  {
    std::string text;
    for (const auto& p : points_) text += to_json_line(p) + "\n";
    write_file_atomic(jsonl_path, text);  // drops a half-written last line
  }
  {
    std::string rows = "# rows (0-based) of " + std::filesystem::absolute(spec_.dataset.queries).string() +
                       " held out as validation queries, in the order of neighbors/*.ivecs\n";
    for (std::size_t r : data_.validation_rows) rows += std::to_string(r) + "\n";
    write_file_atomic(out.output_dir / "validation_queries.txt", rows);
  }
  std::filesystem::create_directories(out.output_dir / "neighbors");
  jsonl_ = std::fopen(jsonl_path.c_str(), "ab");
  QTUNE_CHECK(jsonl_, jsonl_path.string(), ": cannot open for appending");
  struct closer {
    std::FILE*& f;
    ~closer() {
      if (f) std::fclose(f), f = nullptr;
    }
  } close_jsonl{jsonl_};

  // Work units for the progress bar: a build counts as 4 points.
  const bool autoef = spec_.grid.ef_search_auto;
  const std::size_t per_setting = autoef ? 1 + spec_.grid.ef_search_extra.size() : spec_.grid.ef_search.size();
  for (const auto& b : builds) total_ += 4 + b.reranks.size() * per_setting;
  if (out.points_resumed) progress("resuming: " + std::to_string(out.points_resumed) + " points already measured");

  bool interrupted = false;
  for (std::size_t bi = 0; bi < builds.size() && !interrupted; ++bi) {
    const build_plan& b = builds[bi];
    // Which points of this build are still missing?
    auto known = [&](std::size_t ef, std::size_t rr) {
      measured_point p;
      p.kind = b.kind, p.codec = b.codec, p.m = b.m, p.ef_construction = b.ef_construction, p.ef_search = ef,
      p.rerank = rr;
      return by_key_.count(p.key()) > 0;
    };
    auto auto_point = [&](std::size_t rr) -> const measured_point* {
      for (const auto& p : points_)
        if (p.auto_found && p.rerank == rr && p.kind == b.kind && p.codec == b.codec && p.m == b.m &&
            p.ef_construction == b.ef_construction)
          return &p;
      return nullptr;
    };
    bool missing = false;
    for (std::size_t rr : b.reranks) {
      if (autoef) {
        const measured_point* a = auto_point(rr);
        if (!a) {
          missing = true;
          continue;
        }
        if (tuning_recall(*a, spec_.steer_by) >= spec_.target_recall)
          for (std::size_t e : extra_efs(spec_, a->ef_search)) missing |= !known(e, rr);
      } else {
        for (std::size_t e : spec_.grid.ef_search) missing |= !known(e, rr);
      }
    }
    if (!missing) {
      done_ += 4 + b.reranks.size() * per_setting;
      progress("build " + std::to_string(bi + 1) + "/" + std::to_string(builds.size()) + " " + b.describe() +
               ": already measured (resume)");
      continue;
    }
    if (stopped()) {
      interrupted = true;
      break;
    }
    progress("build " + std::to_string(bi + 1) + "/" + std::to_string(builds.size()) + " " + b.describe() + " ...");
    index_config cfg;
    cfg.kind = b.kind;
    cfg.codec = b.kind == "hnsw" ? b.codec : std::string();
    if (b.m) cfg.m = b.m;
    cfg.ef_construction = b.ef_construction;
    cfg.distance = spec_.dataset.distance;
    cfg.seed = spec_.seed;
    cfg.threads = spec_.threads;
    cfg.rerank = b.reranks.empty() ? 0 : *std::max_element(b.reranks.begin(), b.reranks.end());  // keeps full rows
    std::unique_ptr<index> ix = make_index(cfg, dim);
    const auto t0 = clock_type::now();
    ix->build(data_.base->view());
    const double build_s = seconds_since(t0);
    done_ += 4;
    {
      std::ostringstream msg;
      msg << "build " << bi + 1 << "/" << builds.size() << " " << b.describe() << ": " << std::fixed
          << std::setprecision(2) << build_s << " s, " << human_bytes(static_cast<double>(ix->memory().total()));
      progress(msg.str());
    }
    for (std::size_t rr : b.reranks) {
      if (interrupted) break;
      ix->set_rerank(rr);
      std::vector<std::pair<std::size_t, bool>> todo;  // (ef, is the auto answer)
      std::size_t probes = 0;
      if (autoef) {
        const measured_point* a = auto_point(rr);
        std::size_t ef0 = 0;
        bool reached = false;
        if (a) {
          ef0 = a->ef_search;
          reached = tuning_recall(*a, spec_.steer_by) >= spec_.target_recall;
        } else {
          ef_search_result r;
          try {
            r = find_min_ef(
              [&](std::size_t ef) {
                if (stopped()) throw stop_request{};  // unwinds the probe loop
                progress("build " + std::to_string(bi + 1) + "/" + std::to_string(builds.size()) + " " +
                         b.describe() + (rr ? " rerank " + std::to_string(rr) : std::string()) +
                         ": searching, efSearch " + std::to_string(ef),
                         false, true);
                return probe_recall(*ix, ef);
              },
              // with rerank r the graph search keeps max(ef, k * r) candidates, so a smaller ef
              // is the same search: start there, and record the efSearch actually used
              spec_.target_recall, spec_.k * std::max<std::size_t>(rr, 1), spec_.grid.ef_search_max);
          } catch (const stop_request&) {  // Ctrl-C between probes: end like any interruption
            interrupted = true;
            break;
          }
          ef0 = r.ef, reached = r.reached, probes = r.probes.size();
          todo.push_back({ef0, true});
        }
        if (reached)
          for (std::size_t e : extra_efs(spec_, ef0))
            if (!known(e, rr)) todo.push_back({e, false});
      } else {
        for (std::size_t e : spec_.grid.ef_search)
          if (!known(e, rr)) todo.push_back({e, false});
      }
      for (auto [ef, is_auto] : todo) {
        if (stopped()) {
          interrupted = true;
          break;
        }
        measured_point p = measure(*ix, b, ef, rr, build_s);
        p.auto_found = is_auto;
        p.auto_probes = is_auto ? probes : 0;
        append(p);
        ++done_;
        std::ostringstream msg;
        msg << std::fixed << std::setprecision(4) << p.describe() << (is_auto ? " (auto)" : "") << ": recall "
            << tuning_recall(p, spec_.steer_by) << " [" << p.tuning_recall_ids.lo << ", " << p.tuning_recall_ids.hi
            << "]" << std::setprecision(1) << ", p50 " << p.latency_p50_us.median << " us, p99 "
            << p.latency_p99_us.median << " us, " << std::setprecision(0) << p.qps_single.median << " QPS, "
            << human_bytes(static_cast<double>(p.total_bytes()));
        progress(msg.str(), true);
      }
      done_ += per_setting - std::min(per_setting, todo.size());
    }
  }
  if (stopped()) interrupted = true;

  // Everything measured (this run and resumed), in file order.
  out.points = points_;
  write_results_csv(out.output_dir / "results.csv", points_);
  write_pareto_csv(out.output_dir / "pareto.csv", points_, spec_);
  out.seconds = seconds_since(t_start);
  if (interrupted) {
    out.status = sweep_status::interrupted;
    out.summary = "interrupted: " + std::to_string(points_.size()) + " points on disk in " + out.output_dir.string() +
                  "/ (rerun with --resume to continue)";
    write_sweep_report(spec_, opt_, out, "interrupted: partial results", facts());
    return out;
  }

  const recommendation rec = recommend(points_, policy_of(spec_));
  const std::filesystem::path param_path = out.output_dir / "recommended.yaml";
  std::ostringstream summary;
  for (std::size_t i : rec.rejected_by_validation)
    summary << "candidate " << points_[i].describe() << " met the target on tuning queries but not on validation ("
            << std::fixed << std::setprecision(4) << validation_recall(points_[i], spec_.steer_by)
            << "); trying the next\n";
  if (!rec.chosen) {
    out.status = sweep_status::target_missed;
    std::error_code ec;
    std::filesystem::remove(param_path, ec);  // a stale file must not pass for this run's answer
    summary << rec.message;
    out.summary = summary.str();
    write_sweep_report(spec_, opt_, out, rec.message, facts());
    return out;
  }
  const measured_point& best = points_[*rec.chosen];
  out.recommended = best;
  recommended_params rp;
  rp.config.kind = best.kind;
  rp.config.codec = best.codec;
  rp.config.m = best.m;
  rp.config.ef_construction = best.ef_construction;
  rp.config.ef_search = best.ef_search;
  rp.config.rerank = best.rerank;
  rp.config.distance = spec_.dataset.distance;
  rp.config.seed = spec_.seed;
  rp.config.threads = spec_.threads;
  rp.dim = dim;
  rp.k = spec_.k;
  rp.target_recall = spec_.target_recall;
  rp.steer_by = spec_.steer_by;
  rp.objective = spec_.objective;
  rp.measured = best;
  auto& pv = rp.provenance;
  pv.base_path = std::filesystem::absolute(spec_.dataset.base).string();
  pv.base_hash = data_.base_hash;
  pv.queries_path = std::filesystem::absolute(spec_.dataset.queries).string();
  pv.queries_hash = data_.queries_hash;
  pv.ground_truth = data_.ground_truth_desc;
  pv.spec_path = spec_.file.empty() ? std::string() : std::filesystem::absolute(spec_.file).string();
  pv.spec_file_hash = !spec_.file.empty() && std::filesystem::exists(spec_.file) ? file_hash(spec_.file) : "";
  pv.spec_hash = hash_;
  pv.qtune_version = version_string;
  pv.git_commit = git_commit;
  pv.cpu = cpu_description();
  pv.simd_level = to_string(active_simd_level());
  pv.threads = threads_;
  pv.date = utc_now();
  write_param_file(param_path, rp);
  if (std::filesystem::exists(neighbors_path(best))) {
    std::ifstream in(neighbors_path(best), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    write_file_atomic(out.output_dir / "recommended_neighbors.ivecs", bytes.str());
  }
  out.status = sweep_status::recommended;
  write_sweep_report(spec_, opt_, out, "recommended: " + best.describe(), facts());
  summary << rec.message << "\n"
          << "wrote " << param_path.string()
          << " (and results.jsonl, results.csv, pareto.csv, recommended_neighbors.ivecs, report.html)";
  out.summary = summary.str();
  return out;
}

review_outcome runner::review(const recommended_params& rp) {
  write_neighbors_ = false;
  hash_ = spec_hash(spec_);
  threads_ = spec_.threads ? spec_.threads : static_cast<std::size_t>(tbb::info::default_concurrency());
  std::unique_ptr<tbb::global_control> limit;
  if (spec_.threads)
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, spec_.threads);
  progress("loading data");
  data_ = load_data(spec_, true);
  const std::size_t dim = data_.base->dim();
  QTUNE_CHECK(dim == rp.dim, spec_.place("dataset.base"), ": the data has dimension ", dim,
              ", the parameter file says ", rp.dim);
  review_outcome out;
  out.base_hash = data_.base_hash;
  out.queries_hash = data_.queries_hash;
  out.validation_rows = data_.validation_rows;
  out.spec_hash = hash_;
  build_plan b;
  b.kind = rp.config.kind;
  b.codec = rp.config.kind == "hnsw" ? rp.config.codec : std::string();
  b.m = rp.config.kind == "hnsw" ? rp.config.m : 0;
  b.ef_construction = rp.config.ef_construction;
  b.reranks = {rp.config.rerank};
  index_config cfg = rp.config;
  cfg.distance = spec_.dataset.distance;
  cfg.threads = spec_.threads;
  total_ = 6;
  progress("build " + b.describe() + " ...");
  std::unique_ptr<index> ix = make_index(cfg, dim);
  const auto t0 = clock_type::now();
  ix->build(data_.base->view());
  const double build_s = seconds_since(t0);
  done_ = 4;
  progress("measuring " + b.describe() + " ef=" + std::to_string(rp.config.ef_search));
  out.measured = measure(*ix, b, rp.config.ef_search, rp.config.rerank, build_s);
  done_ = 6;
  progress("measured");
  out.validation_found = last_validation_;
  return out;
}

}  // namespace

sweep_spec review_spec(const recommended_params& p, const std::filesystem::path& spec_path) {
  sweep_spec spec;
  const auto& pv = p.provenance;
  if (!spec_path.empty()) {
    spec = parse_sweep_spec(spec_path);
  } else if (!pv.spec_path.empty() && std::filesystem::exists(pv.spec_path)) {
    spec = parse_sweep_spec(pv.spec_path);
  } else {
    QTUNE_CHECK(!pv.base_path.empty() && !pv.queries_path.empty(),
                "the parameter file names no spec and no dataset in its provenance; give --spec");
    spec.name = "review";
    spec.dataset.base = pv.base_path;
    spec.dataset.queries = pv.queries_path;
    spec.threads = 0;
  }
  // What the parameter file says wins over the spec file: the sweep may have overridden them.
  spec.k = p.k;
  spec.target_recall = p.target_recall;
  spec.steer_by = p.steer_by;
  spec.objective = p.objective;
  spec.seed = p.config.seed;
  spec.dataset.distance = p.config.distance;
  if (spec.threads == 0 && p.config.threads) spec.threads = p.config.threads;
  return spec;
}

review_outcome review_measure(const recommended_params& p, const sweep_spec& spec) {
  sweep_options opt;
  runner r(spec, opt);
  return r.review(p);
}

sweep_outcome run_sweep(const sweep_spec& spec, const sweep_options& options) {
  runner r(spec, options);
  return r.run();
}

}  // namespace qtune
