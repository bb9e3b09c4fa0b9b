// `tune codecs`: the codec families with their size per vector.
// `tune codec-eval`: train a codec on a base, encode it, and measure reconstruction error and
// the recall@k of exhaustive search over the codes against exact ground truth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "qtune/codec.hpp"
#include "qtune/dataset.hpp"
#include "qtune/error.hpp"
#include "qtune/ground_truth.hpp"

namespace {

struct codecs_options {
  std::size_t dim = 128;
};

void run_codecs(const codecs_options& o) {
  std::printf("%-14s %12s  %s\n", "codec", "bytes/vector", "description");
  for (const auto& info : qtune::list_codecs()) {
    std::string bytes;
    try {
      bytes = std::to_string(qtune::codec_code_size(info.name, o.dim));
    } catch (const qtune::error&) {
      bytes = "n/a";  // e.g. pq16x8 when dim % 16 != 0
    }
    std::printf("%-14s %12s  %s\n", info.name.c_str(), bytes.c_str(), info.description.c_str());
  }
  std::printf("(bytes for dim %zu; fp32 is %zu bytes)\n", o.dim, 4 * o.dim);
}

struct codec_eval_options {
  std::string codec = "sq8";
  std::string base;
  std::string queries;
  std::string gt;
  std::string metric = "l2";
  std::size_t k = 10;
  bool json = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_codec_eval(const codec_eval_options& o) {
  const qtune::metric m = qtune::parse_metric(o.metric);
  qtune::vectors base = qtune::read_vectors(o.base);
  qtune::vectors queries = qtune::read_vectors(o.queries);
  QTUNE_CHECK(base.dim() == queries.dim(), o.queries, ": queries have dimension ", queries.dim(), ", but ", o.base,
              " has ", base.dim());
  QTUNE_CHECK(base.rows() > 0 && queries.rows() > 0, o.base, ": base and queries must not be empty");
  // More neighbours than the base holds made every query "find" all of them: recall 1.0 (and
  // k = 10^8 tried to allocate queries * k results).
  QTUNE_CHECK(o.k <= base.rows(), o.base, ": k = ", o.k, " is larger than the base (", base.rows(), " vectors)");
  if (m == qtune::metric::cosine) {
    base.normalize_rows(o.base);
    queries.normalize_rows(o.queries);
  }
  auto c = qtune::make_codec(o.codec, base.dim(), m);

  auto t0 = std::chrono::steady_clock::now();
  {
    // train() wants contiguous rows; a mapped .fvecs has a row stride.
    const qtune::matrix_view<float> v = base.view();
    std::vector<float> rows;
    if (!v.contiguous()) {
      rows.resize(v.rows * v.dim);
      for (std::size_t i = 0; i < v.rows; ++i) std::copy(v.row(i), v.row(i) + v.dim, rows.data() + i * v.dim);
    }
    c->train(v.rows, v.contiguous() ? v.data : rows.data());
  }
  const double train_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  std::vector<std::uint8_t> codes(base.rows() * c->code_size());
  qtune::encode_parallel(*c, base.view(), codes.data());
  const double encode_s = seconds_since(t0);
  const double rel_err = qtune::relative_error(*c, base.view(), codes.data());

  qtune::knn_result truth;
  if (!o.gt.empty()) {
    const qtune::int_matrix ids = qtune::read_ids(o.gt);
    QTUNE_CHECK(ids.rows == queries.rows(), o.gt, ": ground truth has ", ids.rows, " rows, expected ", queries.rows(),
                " (one per query)");
    QTUNE_CHECK(ids.dim >= o.k, o.gt, ": ground truth has ", ids.dim, " neighbours per query, need k = ", o.k);
    truth.nq = ids.rows;
    truth.k = ids.dim;
    truth.ids = ids.values;
  } else {
    truth = qtune::cached_exact_knn(base.view(), queries.view(), m, o.k, qtune::default_ground_truth_cache_dir());
  }
  t0 = std::chrono::steady_clock::now();
  const qtune::knn_result found = qtune::search_codes(*c, codes.data(), base.rows(), queries.view(), o.k);
  const double search_s = seconds_since(t0);
  const double recall = qtune::recall_ids(found, truth, o.k);

  if (o.json) {
    nlohmann::json j = {
        {"codec", c->name()},
        {"dim", c->dim()},
        {"metric", qtune::to_string(m)},
        {"bytes_per_vector", c->code_size()},
        {"relative_error", rel_err},
        {"recall_at_k", recall},
        {"k", o.k},
        {"n_base", base.rows()},
        {"n_queries", queries.rows()},
        {"table_bytes", c->table_bytes()},
        {"train_seconds", train_s},
        {"encode_seconds", encode_s},
        {"search_seconds", search_s},
    };
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("codec            %s\n", c->name().c_str());
    std::printf("dim              %zu (metric %s)\n", c->dim(), qtune::to_string(m).c_str());
    std::printf("bytes/vector     %zu (fp32: %zu, ratio %.1fx)\n", c->code_size(), 4 * c->dim(),
                4.0 * static_cast<double>(c->dim()) / static_cast<double>(c->code_size()));
    std::printf("relative error   %.4g (mean ||x - dec(enc(x))||^2 / ||x||^2 over %zu base vectors)\n", rel_err,
                base.rows());
    std::printf("recall@%zu        %.4f (exhaustive search over codes, %zu queries)\n", o.k, recall,
                queries.rows());
    std::printf("seconds          train %.3f, encode %.3f, search %.3f\n", train_s, encode_s, search_s);
  }
}

}  // namespace

QTUNE_CLI_COMMAND(codecs) {
  auto* sub = app.add_subcommand("codecs", "List the codec families with bytes per vector");
  auto opts = std::make_shared<codecs_options>();
  sub->add_option("--dim", opts->dim, "Vector dimension for the byte counts")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->callback([opts] { run_codecs(*opts); });
}

QTUNE_CLI_COMMAND(codec_eval) {
  auto* sub = app.add_subcommand("codec-eval",
                                 "Train a codec on a base; report bytes/vector, relative error and recall@k of "
                                 "exhaustive search over the codes");
  auto opts = std::make_shared<codec_eval_options>();
  sub->add_option("--codec", opts->codec, "Codec name (see `tune codecs`), e.g. sq8, sq4:q0.001, pq16x8, rot,sq4")
      ->capture_default_str();
  sub->add_option("--base", opts->base, "Base vectors (.fvecs, .bvecs, .npy, .hdf5, IDX); also the training set")
      ->required();
  sub->add_option("--queries", opts->queries, "Query vectors (same formats)")->required();
  sub->add_option("--gt", opts->gt, "Ground-truth ids (.ivecs); computed exactly (and cached) when absent");
  sub->add_option("--metric", opts->metric, "l2 | ip | cosine (cosine normalises base and queries)")
      ->capture_default_str();
  sub->add_option("-k,--k", opts->k, "Neighbours per query")->capture_default_str()->check(CLI::PositiveNumber);
  sub->add_flag("--json", opts->json, "Print one JSON object");
  sub->callback([opts] { run_codec_eval(*opts); });
}
