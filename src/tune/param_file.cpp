// recommended.yaml: written for a reviewer (comments say what each number means and how it was
// measured), read back by load_param_file() so the library can open an index from it.
#include "qtune/param_file.hpp"
#include "qtune/sweep_spec.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <optional>
#include <sstream>

#include "qtune/codec.hpp"
#include "qtune/error.hpp"
#include "util/atomic_file.hpp"

namespace qtune {

namespace {

/// A YAML double-quoted scalar.
std::string q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string ci(const recall_ci& r) {
  return "{value: " + num(r.value) + ", ci95: [" + num(r.lo) + ", " + num(r.hi) + "]}";
}

/// The parsed codec of a configuration; empty for a name no codec parser knows (the deploy
/// section then says there is no equivalent rather than failing to render a loaded file).
using parsed_codec = std::optional<codec_spec>;

parsed_codec parse_codec_or_none(const std::string& name) {
  try {
    return parse_codec_spec(name);
  } catch (const error&) {
    return std::nullopt;
  }
}

/// Whether c is of family f (and, when bits != 0, of that width): "sq8" is (sq, 8).
bool is(const parsed_codec& c, codec_family f, int bits = 0) { return c && c->kind == f && (bits == 0 || c->bits == bits); }

std::string metric_word(metric m, const char* l2, const char* ip, const char* cosine) {
  switch (m) {
    case metric::l2: return l2;
    case metric::ip: return ip;
    case metric::cosine: return cosine;
  }
  return l2;
}

}  // namespace

namespace {

/// What every deploy spelling reads: the configuration, spelled and parsed once.
struct deploy_inputs {
  const index_config& cfg;
  std::size_t dim, k, r, ef_eff;
  std::string M, efc, ef;
  parsed_codec c;
};

void deploy_faiss(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  std::string storage, faiss_note;
  if (is(c, codec_family::fp32)) storage = "Flat";
  else if (is(c, codec_family::fp16)) storage = "SQfp16";
  else if (is(c, codec_family::bf16)) storage = "SQbf16", faiss_note = "SQbf16 needs FAISS >= 1.8; 1.7.3 has no bf16";
  else if (is(c, codec_family::sq, 8)) storage = "SQ8";
  else if (is(c, codec_family::sq, 4)) storage = "SQ4";
  std::string factory;
  if (is(c, codec_family::pq)) {
    factory = "HNSW" + M + "_PQ" + std::to_string(c->m) + (c->bits == 8 ? "" : "x" + std::to_string(c->bits));
    faiss_note = "IndexHNSWPQ builds its graph on PQ codes; qtune builds it as recorded in index.kind";
  } else if (!storage.empty()) {
    factory = "HNSW" + M + "," + storage;
  }
  if (!factory.empty() && c->rotate) {
    factory = "RR" + std::to_string(dim) + "," + factory;
    faiss_note += std::string(faiss_note.empty() ? "" : "; ") + "rotation: RR is a random rotation, not qtune's";
  }
  if (!factory.empty() && r > 0) factory += ",RFlat";
  o << "  faiss:\n";
  if (factory.empty()) {
    o << "    note: "
      << q(is(c, codec_family::bin) ? "no FAISS float-index equivalent of bin: IndexBinaryHNSW (\"BHNSW" + M +
                                   "\") searches sign bits you make yourself, by Hamming distance, without rerank"
                             : "no FAISS equivalent of codec " + cfg.codec)
      << "\n";
  } else {
    o << "    factory: " << q(factory) << "\n"
      << "    efConstruction: " << efc << "    # index.hnsw.efConstruction (set before add)\n"
      << "    efSearch: " << ef << "    # ParameterSpace: \"efSearch=" << ef << "\"\n";
    if (r > 0) o << "    k_factor: " << r << "    # IndexRefineFlat.k_factor (rerank)\n";
    if (!faiss_note.empty()) o << "    note: " << q(faiss_note) << "\n";
  }
}

void deploy_hnswlib(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  o << "  hnswlib:\n"
    << "    space: " << q(metric_word(cfg.distance, "l2", "ip", "cosine")) << "\n"
    << "    M: " << M << "\n"
    << "    ef_construction: " << efc << "\n"
    << "    ef: " << ef << "    # index.set_ef(" << ef << ")\n";
  if (!is(c, codec_family::fp32) || r > 0)
    o << "    note: " << q("hnswlib stores float32 only: no equivalent of codec " + cfg.codec +
                         (r > 0 ? " or of rerank" : "") + "; this is the fp32 graph with the same M/ef")
      << "\n";
}

void deploy_qdrant(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  o << "  qdrant:\n"
    << "    hnsw_config: {m: " << M << ", ef_construct: " << efc << "}\n";
  std::string qnote;
  if (is(c, codec_family::sq, 8)) {
    o << "    quantization_config: {scalar: {type: int8, always_ram: true}}\n";
  } else if (is(c, codec_family::pq) && c->m > 0) {
    const double ratio = static_cast<double>(dim) * 4.0 / (static_cast<double>(c->m) * c->bits / 8.0);
    const char* allowed[] = {"x4", "x8", "x16", "x32", "x64"};
    const double values[] = {4, 8, 16, 32, 64};
    int best = 0;
    for (int i = 1; i < 5; ++i)
      if (std::fabs(std::log(values[i] / ratio)) < std::fabs(std::log(values[best] / ratio))) best = i;
    o << "    quantization_config: {product: {compression: " << allowed[best] << ", always_ram: true}}\n";
    qnote = "qtune's PQ compresses " + num(ratio) + "x; Qdrant offers x4..x64, nearest chosen";
  } else if (is(c, codec_family::bin)) {
    o << "    quantization_config: {binary: {always_ram: true}}\n";
  } else if (is(c, codec_family::fp16)) {
    o << "    vectors: {datatype: float16}\n";
  } else if (is(c, codec_family::fp32)) {
    o << "    quantization_config: null\n";
  } else {
    qnote = "no Qdrant equivalent of codec " + cfg.codec + " (scalar quantization is int8 only)";
  }
  o << "    search_params: {hnsw_ef: " << ef;
  if (r > 0) o << ", quantization: {rescore: true, oversampling: " << r << "}";
  else if (is(c, codec_family::sq, 8) || is(c, codec_family::pq) || is(c, codec_family::bin)) o << ", quantization: {rescore: false}";
  o << "}\n";
  if (!qnote.empty()) o << "    note: " << q(qnote) << "\n";
}

void deploy_weaviate(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  o << "  weaviate:\n"
    << "    vectorIndexType: hnsw\n"
    << "    vectorIndexConfig:\n"
    << "      maxConnections: " << M << "\n"
    << "      efConstruction: " << efc << "\n"
    << "      ef: " << ef << "\n";
  if (is(c, codec_family::sq, 8)) o << "      sq: {enabled: true" << (r > 0 ? ", rescoreLimit: " + std::to_string(k * r) : "") << "}\n";
  else if (is(c, codec_family::pq) && c->m > 0)
    o << "      pq: {enabled: true, segments: " << c->m << ", centroids: " << (1u << c->bits) << "}\n";
  else if (is(c, codec_family::bin)) o << "      bq: {enabled: true}\n";
  if (!is(c, codec_family::fp32) && !is(c, codec_family::sq, 8) && !is(c, codec_family::pq) && !is(c, codec_family::bin))
    o << "    note: " << q("no Weaviate equivalent of codec " + cfg.codec + " (it offers pq, sq (8-bit), bq)") << "\n";
  else
    o << "    note: " << q("Weaviate's layer 0 keeps 2 x maxConnections links, as hnswlib's M") << "\n";
}

void deploy_milvus(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  o << "  milvus:\n";
  if (is(c, codec_family::fp32)) {
    o << "    index_type: HNSW\n    params: {M: " << M << ", efConstruction: " << efc << "}\n"
      << "    search_params: {ef: " << ef << "}\n";
  } else if (is(c, codec_family::pq) && c->m > 0) {
    o << "    index_type: HNSW_PQ\n    params: {M: " << M << ", efConstruction: " << efc << ", m: " << c->m
      << ", nbits: " << c->bits << (r > 0 ? ", refine: true, refine_type: FP32" : "") << "}\n"
      << "    search_params: {ef: " << ef << (r > 0 ? ", refine_k: " + std::to_string(r) : "") << "}\n";
  } else if (is(c, codec_family::sq, 8) || is(c, codec_family::sq, 4) || is(c, codec_family::fp16) || is(c, codec_family::bf16)) {
    const std::string sq = is(c, codec_family::sq, 8) ? "SQ8" : is(c, codec_family::sq, 4) ? "SQ4U" : is(c, codec_family::fp16) ? "FP16" : "BF16";
    o << "    index_type: HNSW_SQ\n    params: {M: " << M << ", efConstruction: " << efc << ", sq_type: " << sq
      << (r > 0 ? ", refine: true, refine_type: FP32" : "") << "}\n"
      << "    search_params: {ef: " << ef << (r > 0 ? ", refine_k: " + std::to_string(r) : "") << "}\n";
    if (is(c, codec_family::sq, 4))
      o << "    note: " << q("SQ4U (Milvus >= 2.6.8) uses one global range, qtune's sq4 one range per dimension") << "\n";
  } else {
    o << "    note: " << q("no Milvus equivalent of codec " + cfg.codec) << "\n";
  }
}

void deploy_pgvector(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  const std::string ops = metric_word(cfg.distance, "l2_ops", "ip_ops", "cosine_ops");
  o << "  pgvector:\n";
  if (is(c, codec_family::fp32) || is(c, codec_family::fp16)) {
    const std::string type = is(c, codec_family::fp32) ? "vector" : "halfvec";
    o << "    create_index: " << q("CREATE INDEX ON items USING hnsw (embedding " + type + "_" + ops +
                                 ") WITH (m = " + M + ", ef_construction = " + efc + ")")
      << "\n"
      << "    m: " << M << "\n    ef_construction: " << efc << "\n"
      << "    hnsw.ef_search: " << ef << "    # SET hnsw.ef_search = " << ef << " (at most 1000)\n";
  } else if (is(c, codec_family::bin)) {
    const std::string bits = "(binary_quantize(embedding)::bit(" + std::to_string(dim) + "))";
    o << "    create_index: " << q("CREATE INDEX ON items USING hnsw (" + bits + " bit_hamming_ops) WITH (m = " + M +
                                 ", ef_construction = " + efc + ")")
      << "\n"
      << "    m: " << M << "\n    ef_construction: " << efc << "\n"
      << "    hnsw.ef_search: " << ef << "\n"
      << "    note: " << q("pgvector's bit type is the sign of each value (threshold 0, not the training mean) searched by Hamming distance; " +
                         (r > 0 ? "rerank: ORDER BY " + bits + " <~> binary_quantize($1) LIMIT " + std::to_string(k * r) +
                                      " in a subquery, then by the full vector LIMIT " + std::to_string(k)
                                : std::string("qtune measured it without rerank")))
      << "\n";
  } else {
    o << "    m: " << M << "\n    ef_construction: " << efc << "\n    hnsw.ef_search: " << ef << "\n"
      << "    note: " << q("pgvector has no " + cfg.codec + " storage (vector, halfvec, bit only); these are the fp32 graph settings") << "\n";
  }
}

void deploy_elasticsearch(std::ostringstream& o, const deploy_inputs& d) {
  const auto& [cfg, dim, k, r, ef_eff, M, efc, ef, c] = d;
  (void)cfg, (void)dim, (void)k, (void)r, (void)ef_eff, (void)M, (void)efc, (void)ef, (void)c;
  o << "  elasticsearch:\n";
  std::string es_type;
  if (is(c, codec_family::fp32)) es_type = "hnsw";
  else if (is(c, codec_family::sq, 8)) es_type = "int8_hnsw";
  else if (is(c, codec_family::sq, 4)) es_type = "int4_hnsw";
  else if (is(c, codec_family::bin)) es_type = "bbq_hnsw";
  if (es_type.empty()) {
    o << "    note: " << q("no Elasticsearch equivalent of codec " + cfg.codec +
                         " (dense_vector offers hnsw, int8_hnsw, int4_hnsw, bbq_hnsw)")
      << "\n";
  } else {
    o << "    index_options: {type: " << es_type << ", m: " << M << ", ef_construction: " << efc;
    if (r > 0 && es_type != "hnsw") o << ", rescore_vector: {oversample: " << r << "}";
    o << "}\n"
      << "    knn: {k: " << k << ", num_candidates: " << ef_eff << "}\n"
      << "    note: " << q("num_candidates plays efSearch's role (it must be >= k)") << "\n";
  }
}

}  // namespace

std::string deploy_spellings(const index_config& cfg, std::size_t dim, std::size_t k) {
  std::ostringstream o;
  const std::size_t r = cfg.rerank;
  const std::string M = std::to_string(cfg.m), efc = std::to_string(cfg.ef_construction),
                    ef = std::to_string(cfg.ef_search);
  if (const index_kind kind = cfg.parsed_kind(); kind.family == index_family::faiss) {
    const std::string& factory = kind.factory;
    o << "  faiss:\n"
      << "    factory: " << q(factory) << "        # faiss.index_factory(d, factory, metric)\n"
      << "    efSearch: " << ef << "        # faiss.ParameterSpace().set_index_parameter(index, \"efSearch\", "
      << ef << ")\n"
      << "    efConstruction: " << efc << "   # index.hnsw.efConstruction, set before add()\n"
      << "  note: " << q("measured as a FAISS index; other systems: translate the factory string by hand") << "\n";
    return o.str();
  }
  const parsed_codec c = parse_codec_or_none(cfg.codec);
  const std::size_t ef_eff = std::max(cfg.ef_search, k * std::max<std::size_t>(r, 1));
  const deploy_inputs d{cfg, dim, k, r, ef_eff, M, efc, ef, c};
  deploy_faiss(o, d);
  deploy_hnswlib(o, d);
  deploy_qdrant(o, d);
  deploy_weaviate(o, d);
  deploy_milvus(o, d);
  deploy_pgvector(o, d);
  deploy_elasticsearch(o, d);
  return o.str();
}

namespace {

/// measured.at_full_size (only when false, or beside a search_cost block) and the search_cost
/// block of a multi-fidelity sweep; empty for a plain sweep, whose files stay as they were.
std::string full_size_and_cost(const recommended_params& p) {
  std::ostringstream o;
  if (!p.at_full_size || p.search_cost)
    o << "  at_full_size: " << (p.at_full_size ? "true" : "false")
      << (p.at_full_size ? "    # measured on the full base and the held-out validation queries\n"
                         : "    # EXTRAPOLATED from samples (tune --no-confirm): NOT measured at full size\n");
  if (const auto& c = p.search_cost)
    o << "search_cost:                 # what this multi-fidelity sweep spent\n"
      << "  seconds: " << num(c->seconds) << "\n"
      << "  exhaustive_seconds_estimate: " << num(c->exhaustive_seconds_estimate)
      << "    # the full grid at full size, from the measured build and search rates\n"
      << "  builds_total: " << c->builds_total << "\n"
      << "  builds_full_size: " << c->builds_full_size << "\n";
  return o.str();
}

// Appends verified_recall / verified_ef_search (tune review --engine) at the end of the
// deploy.<engine> block (the block ends at the next line indented by two spaces only).
std::string with_verified(std::string deploy, const std::vector<deploy_verified>& verified) {
  for (const auto& v : verified) {
    const std::string head = "  " + v.engine + ":\n";
    std::size_t at = deploy.find(head);
    std::string lines = "    verified_recall: " + num(v.recall) + "    # tune review --engine " + v.engine +
                        ": validation recall@k measured in " + v.engine + "\n" +
                        "    verified_ef_search: " + std::to_string(v.ef_search) + "    # " + v.engine +
                        "'s own efSearch that reached the target on the tuning queries\n" +
                        "    verified_date: " + q(v.date) + "\n";
    if (at == std::string::npos) {
      deploy += head + lines;
      continue;
    }
    std::size_t end = at + head.size();
    while (end < deploy.size() && deploy.compare(end, 4, "    ") == 0) end = deploy.find('\n', end) + 1;
    deploy.insert(end, lines);
  }
  return deploy;
}

}  // namespace

std::string render_param_file(const recommended_params& p) {
  const auto& m = p.measured;
  const auto& v = p.provenance;
  std::ostringstream o;
  o << "# qtune recommended index parameters.\n"
    << "# Chosen by `tune` among the measured configurations whose recall on the tuning queries met the\n"
    << "# target, by the objective below, then confirmed on held-out validation queries that never\n"
    << "# steered the search. Review the numbers and provenance before deploying.\n"
    << "qtune_param_file: 1\n"
    << "index:\n"
    << "  kind: " << q(p.config.kind) << "\n"
    << "  codec: " << q(p.config.codec) << "\n"
    << "  m: " << p.config.m << "                 # HNSW M (links per node; layer 0 keeps 2M)\n"
    << "  ef_construction: " << p.config.ef_construction << "\n"
    << "  ef_search: " << p.config.ef_search << "\n"
    << "  rerank: " << p.config.rerank << "            # 0 = off; r = re-score the top k*r on full vectors\n"
    << "  metric: " << to_string(p.config.distance) << "\n"
    << "  seed: " << p.config.seed << "\n"
    << "dim: " << p.dim << "\n"
    << "k: " << p.k << "\n"
    << "target_recall: " << num(p.target_recall) << "\n"
    << "recall: " << (p.steer_by == recall_measure::ids ? "ids" : "distance")
    << "          # which recall steered: ids (id intersection) | distance (ann-benchmarks)\n"
    << "objective: " << to_string(p.objective) << "\n"
    << "measured:\n"
    << "  base_vectors: " << m.n_base << "\n"
    << "  tuning_queries: " << m.n_tuning << "\n"
    << "  validation_queries: " << m.n_validation << "\n"
    << "  # recall@k with 95% bootstrap intervals over queries\n"
    << "  tuning_recall_ids: " << ci(m.tuning_recall_ids) << "\n"
    << "  validation_recall_ids: " << ci(m.validation_recall_ids) << "\n"
    << "  tuning_recall_distance: " << ci(m.tuning_recall_distance) << "\n"
    << "  validation_recall_distance: " << ci(m.validation_recall_distance) << "\n"
    << "  # one query at a time on one thread, after warm-up; medians over repetitions\n"
    << "  latency_p50_us: " << num(m.latency_p50_us.median) << "\n"
    << "  latency_p95_us: " << num(m.latency_p95_us.median) << "\n"
    << "  latency_p99_us: " << num(m.latency_p99_us.median) << "\n"
    << "  qps_single_thread: " << num(m.qps_single.median) << "\n"
    << "  qps_batch: " << num(m.qps_batch.median) << "\n"
    << "  batch_threads: " << m.threads << "\n"
    << "  # analytic memory: resident = graph + codes + codec tables; rerank = full vectors read by rerank\n"
    << "  resident_bytes: " << m.resident_bytes << "\n"
    << "  rerank_bytes: " << m.rerank_bytes << "\n"
    << "  total_bytes: " << m.total_bytes() << "\n"
    << "  bytes_per_vector: " << num(m.n_base ? static_cast<double>(m.total_bytes()) / m.n_base : 0) << "\n"
    << "  resident_bytes_per_vector: "
    << num(m.n_base ? static_cast<double>(m.resident_bytes) / m.n_base : 0) << "\n"
    << "  build_seconds: " << num(m.build_seconds) << "\n"
    << full_size_and_cost(p)
    << "provenance:\n"
    << "  dataset_base: " << q(v.base_path) << "\n"
    << "  dataset_base_hash: " << q(v.base_hash) << "      # content_hash of the rows used\n"
    << "  dataset_queries: " << q(v.queries_path) << "\n"
    << "  dataset_queries_hash: " << q(v.queries_hash) << "\n"
    << "  ground_truth: " << q(v.ground_truth) << "\n"
    << "  spec: " << q(v.spec_path) << "\n"
    << "  spec_file_hash: " << q(v.spec_file_hash) << "\n"
    << "  spec_hash: " << q(v.spec_hash) << "      # of the effective spec (after command-line overrides)\n"
    << "  qtune_version: " << q(v.qtune_version) << "\n"
    << "  git_commit: " << q(v.git_commit) << "\n"
    << "  cpu: " << q(v.cpu) << "\n"
    << "  simd_level: " << q(v.simd_level) << "\n"
    << "  threads: " << v.threads << "\n"
    << "  date: " << q(v.date) << "\n"
    << "# The same choice spelled for other systems (exact key names; a note where there is no\n"
    << "# equivalent). Their recall will differ somewhat: re-measure there before relying on it.\n"
    << "deploy:\n"
    << with_verified(deploy_spellings(p.config, p.dim, p.k), p.verified);
  return o.str();
}

void write_param_file(const std::filesystem::path& path, const recommended_params& p) {
  write_file_atomic(path, render_param_file(p));
}

namespace {

struct reader {
  std::filesystem::path file;
  std::string where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return file.string();
    return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }
  YAML::Node need(const YAML::Node& parent, const char* key, const std::string& path) const {
    if (!parent.IsMap()) fail(where(parent), ": '", path.empty() ? "the file" : path, "' must be a mapping");
    YAML::Node n = parent[key];
    if (!n) fail(where(parent), ": missing key '", path.empty() ? key : path + "." + key, "'");
    return n;
  }
  template <class T>
  T get(const YAML::Node& parent, const char* key, const std::string& path = "") const {
    YAML::Node n = need(parent, key, path);
    try {
      return n.as<T>();
    } catch (const YAML::Exception&) {
      fail(where(n), ": '", path.empty() ? key : path + "." + key, "' has a value of the wrong type");
    }
  }
  /// An unsigned integer in [lo, hi] (a value out of range is refused, not wrapped or clamped).
  std::uint64_t get_uint(const YAML::Node& parent, const char* key, const std::string& path, std::uint64_t lo,
                         std::uint64_t hi) const {
    const auto v = get<std::uint64_t>(parent, key, path);
    if (v < lo || v > hi)
      fail(where(parent[key]), ": '", path.empty() ? key : path + "." + key, "' must be in [", lo, ", ", hi,
           "], got ", v);
    return v;
  }
  /// A finite number in [lo, hi].
  double get_real(const YAML::Node& parent, const char* key, const std::string& path, double lo, double hi) const {
    const auto v = get<double>(parent, key, path);
    if (!std::isfinite(v) || v < lo || v > hi)
      fail(where(parent[key]), ": '", path.empty() ? key : path + "." + key, "' must be a number in [", lo, ", ", hi,
           "], got ", v);
    return v;
  }
  recall_ci get_ci(const YAML::Node& parent, const char* key) const {
    YAML::Node n = need(parent, key, "measured");
    const std::string path = std::string("measured.") + key;
    if (!n.IsMap()) fail(where(n), ": '", path, "' must be a mapping {value, ci95}");
    recall_ci r;
    r.value = get_real(n, "value", path, 0, 1);
    YAML::Node c = need(n, "ci95", path);
    if (!c.IsSequence() || c.size() != 2) fail(where(c), ": ci95 must be [lo, hi]");
    for (int i = 0; i < 2; ++i) {
      double v = 0;
      try {
        v = c[i].as<double>();
      } catch (const YAML::Exception&) {
        fail(where(c[i]), ": '", path, ".ci95' must hold two numbers in [0, 1]");
      }
      if (!std::isfinite(v) || v < 0 || v > 1) fail(where(c[i]), ": '", path, ".ci95' must hold two numbers in [0, 1]");
      (i == 0 ? r.lo : r.hi) = v;
    }
    return r;
  }
};

// Limits: what a sweep can produce (sweep_spec.cpp), with room; anything else is a corrupt or
// hand-edited file and is refused by name rather than deployed.
constexpr std::uint64_t max_dim = 1u << 20, max_k = 1000, max_m = 4096, max_ef = 1000000, max_rerank = 1000,
                        max_threads = 4096, max_count = std::uint64_t(1) << 40;

recommended_params parse_root(const reader& rd, const YAML::Node& root);

void read_provenance(const reader& rd, const YAML::Node& root, param_provenance& v) {
  const YAML::Node pv = rd.need(root, "provenance", "");
  v.base_path = rd.get<std::string>(pv, "dataset_base", "provenance");
  v.base_hash = rd.get<std::string>(pv, "dataset_base_hash", "provenance");
  v.queries_path = rd.get<std::string>(pv, "dataset_queries", "provenance");
  v.queries_hash = rd.get<std::string>(pv, "dataset_queries_hash", "provenance");
  v.ground_truth = rd.get<std::string>(pv, "ground_truth", "provenance");
  v.spec_path = rd.get<std::string>(pv, "spec", "provenance");
  v.spec_file_hash = rd.get<std::string>(pv, "spec_file_hash", "provenance");
  v.spec_hash = rd.get<std::string>(pv, "spec_hash", "provenance");
  v.qtune_version = rd.get<std::string>(pv, "qtune_version", "provenance");
  v.git_commit = rd.get<std::string>(pv, "git_commit", "provenance");
  v.cpu = rd.get<std::string>(pv, "cpu", "provenance");
  v.simd_level = rd.get<std::string>(pv, "simd_level", "provenance");
  v.threads = rd.get_uint(pv, "threads", "provenance", 0, max_threads);
  v.date = rd.get<std::string>(pv, "date", "provenance");
}

void read_verified(const reader& rd, const YAML::Node& root, std::vector<deploy_verified>& out) {
  if (const YAML::Node dep = root["deploy"]; dep && dep.IsMap())
    for (const char* engine : {"faiss", "hnswlib"}) {
      const YAML::Node e = dep[engine];
      if (!e || !e.IsMap() || !e["verified_recall"]) continue;
      deploy_verified dv;
      dv.engine = engine;
      dv.recall = rd.get_real(e, "verified_recall", std::string("deploy.") + engine, 0, 1);
      dv.ef_search = rd.get_uint(e, "verified_ef_search", std::string("deploy.") + engine, 1, max_ef);
      if (e["verified_date"]) dv.date = rd.get<std::string>(e, "verified_date", std::string("deploy.") + engine);
      out.push_back(dv);
    }
}

}  // namespace

recommended_params parse_param_file_text(const std::string& yaml, const std::filesystem::path& file) {
  const reader rd{file};
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    fail(file.string(), ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
  if (!root.IsMap()) fail(file.string(), ": not a qtune parameter file (expected a mapping)");
  try {
    return parse_root(rd, root);
  } catch (const YAML::Exception& e) {  // e.g. a key under a scalar, a bad conversion not caught above
    if (e.mark.is_null()) fail(file.string(), ": ", e.msg);
    fail(file.string(), ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg);
  }
}

namespace {

recommended_params parse_root(const reader& rd, const YAML::Node& root) {
  const int version = rd.get<int>(root, "qtune_param_file");
  if (version != 1) fail(rd.where(root["qtune_param_file"]), ": unsupported parameter file version ", version);
  recommended_params p;
  const YAML::Node ix = rd.need(root, "index", "");
  p.config.kind = rd.get<std::string>(ix, "kind", "index");
  p.config.codec = rd.get<std::string>(ix, "codec", "index");
  p.config.m = rd.get_uint(ix, "m", "index", 1, max_m);
  p.config.ef_construction = rd.get_uint(ix, "ef_construction", "index", 1, max_ef);
  p.config.ef_search = rd.get_uint(ix, "ef_search", "index", 1, max_ef);
  p.config.rerank = rd.get_uint(ix, "rerank", "index", 0, max_rerank);
  if (p.config.rerank == 1) fail(rd.where(ix["rerank"]), ": 'index.rerank' must be 0 (off) or 2..", max_rerank, ", got 1");
  try {
    p.config.distance = parse_metric(rd.get<std::string>(ix, "metric", "index"));
  } catch (const error& e) {
    fail(rd.where(ix["metric"]), ": ", e.what());
  }
  p.config.seed = rd.get<std::uint64_t>(ix, "seed", "index");
  p.dim = rd.get_uint(root, "dim", "", 1, max_dim);
  p.k = rd.get_uint(root, "k", "", 1, max_k);
  p.target_recall = rd.get<double>(root, "target_recall");
  if (!(p.target_recall > 0 && p.target_recall <= 1))
    fail(rd.where(root["target_recall"]), ": 'target_recall' must be in (0, 1], got ", p.target_recall);
  const std::string rec = rd.get<std::string>(root, "recall");
  if (rec != "ids" && rec != "distance") fail(rd.where(root["recall"]), ": recall must be ids or distance");
  p.steer_by = rec == "ids" ? recall_measure::ids : recall_measure::distance;
  try {
    p.objective = parse_objective(rd.get<std::string>(root, "objective"));
  } catch (const error& e) {
    fail(rd.where(root["objective"]), ": ", e.what());
  }
  const YAML::Node ms = rd.need(root, "measured", "");
  auto& m = p.measured;
  m.n_base = rd.get_uint(ms, "base_vectors", "measured", 0, max_count);
  m.n_tuning = rd.get_uint(ms, "tuning_queries", "measured", 0, max_count);
  m.n_validation = rd.get_uint(ms, "validation_queries", "measured", 0, max_count);
  m.tuning_recall_ids = rd.get_ci(ms, "tuning_recall_ids");
  m.validation_recall_ids = rd.get_ci(ms, "validation_recall_ids");
  m.tuning_recall_distance = rd.get_ci(ms, "tuning_recall_distance");
  m.validation_recall_distance = rd.get_ci(ms, "validation_recall_distance");
  auto med = [&](const char* key) {
    const double x = rd.get_real(ms, key, "measured", 0, 1e300);
    return stat3{x, x, x};
  };
  m.latency_p50_us = med("latency_p50_us");
  m.latency_p95_us = med("latency_p95_us");
  m.latency_p99_us = med("latency_p99_us");
  m.qps_single = med("qps_single_thread");
  m.qps_batch = med("qps_batch");
  m.threads = rd.get_uint(ms, "batch_threads", "measured", 0, max_threads);
  m.resident_bytes = rd.get<std::size_t>(ms, "resident_bytes", "measured");
  m.rerank_bytes = rd.get<std::size_t>(ms, "rerank_bytes", "measured");
  m.build_seconds = rd.get_real(ms, "build_seconds", "measured", 0, 1e300);
  if (ms["at_full_size"]) p.at_full_size = rd.get<bool>(ms, "at_full_size", "measured");
  if (const YAML::Node sc = root["search_cost"]) {
    search_cost_info c;
    c.seconds = rd.get_real(sc, "seconds", "search_cost", 0, 1e300);
    c.exhaustive_seconds_estimate = rd.get_real(sc, "exhaustive_seconds_estimate", "search_cost", 0, 1e300);
    c.builds_total = rd.get_uint(sc, "builds_total", "search_cost", 0, max_count);
    c.builds_full_size = rd.get_uint(sc, "builds_full_size", "search_cost", 0, c.builds_total);
    p.search_cost = c;
  }
  read_provenance(rd, root, p.provenance);
  const auto& v = p.provenance;
  m.spec_hash = v.spec_hash;
  p.config.threads = v.threads;
  m.config = p.config;
  read_verified(rd, root, p.verified);
  return p;
}

}  // namespace

recommended_params load_param_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  QTUNE_CHECK(in, path.string(), ": cannot open the parameter file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_param_file_text(text.str(), path);
}

}  // namespace qtune
