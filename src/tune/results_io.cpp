// Results on disk: results.jsonl (appended and flushed point by point, so a killed sweep
// loses at most the point in flight), results.csv and pareto.csv (rewritten atomically).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/pareto.hpp"
#include "qtune/recommend.hpp"
#include "qtune/sweep.hpp"
#include "util/atomic_file.hpp"
#include "util/json_number.hpp"

namespace qtune {

using json = nlohmann::json;

stat3 summarize(std::vector<double> values) {
  QTUNE_CHECK(!values.empty(), "summarize: no values");
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  const double med = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  return {med, values.front(), values.back()};
}

bool noisy_measurement(const measured_point& p, double qps_ratio, double spread) {
  const double p50 = p.latency_p50_us.median, qps = p.qps_single.median;
  if (p50 > 0 && qps > 0) {
    const double r = qps * p50 / 1e6;  // 1 when every query takes p50; busy: mean >> p50
    if (r > qps_ratio || r < 1.0 / qps_ratio) return true;
  }
  return p.latency_p50_us.min > 0 && p.latency_p50_us.max / p.latency_p50_us.min - 1.0 > spread;
}

namespace {

json to_j(const stat3& s) { return json{{"median", s.median}, {"min", s.min}, {"max", s.max}}; }
json to_j(const recall_ci& r) { return json{{"value", r.value}, {"lo", r.lo}, {"hi", r.hi}}; }
stat3 stat_of(const json& j) { return {j.at("median").get<double>(), j.at("min").get<double>(), j.at("max").get<double>()}; }
recall_ci ci_of(const json& j) { return {j.at("value").get<double>(), j.at("lo").get<double>(), j.at("hi").get<double>()}; }

}  // namespace

std::string to_json_line(const measured_point& p) {
  json j{
      {"key", p.key()},
      {"kind", p.config.kind},
      {"codec", p.config.codec},
      {"m", p.config.m},
      {"ef_construction", p.config.ef_construction},
      {"ef_search", p.config.ef_search},
      {"rerank", p.config.rerank},
      {"auto_found", p.auto_found},
      {"auto_probes", p.auto_probes},
      {"tuning_recall_ids", to_j(p.tuning_recall_ids)},
      {"tuning_recall_distance", to_j(p.tuning_recall_distance)},
      {"validation_recall_ids", to_j(p.validation_recall_ids)},
      {"validation_recall_distance", to_j(p.validation_recall_distance)},
      {"latency_p50_us", to_j(p.latency_p50_us)},
      {"latency_p95_us", to_j(p.latency_p95_us)},
      {"latency_p99_us", to_j(p.latency_p99_us)},
      {"qps_single", to_j(p.qps_single)},
      {"qps_batch", to_j(p.qps_batch)},
      {"threads", p.threads},
      {"resident_bytes", p.resident_bytes},
      {"rerank_bytes", p.rerank_bytes},
      {"total_bytes", p.total_bytes()},
      {"n_base", p.n_base},
      {"n_tuning", p.n_tuning},
      {"n_validation", p.n_validation},
      {"build_seconds", p.build_seconds},
      {"spec_hash", p.spec_hash},
  };
  // Written only when known, so older result files and their readers stay as they were.
  if (!p.host.empty()) j["host"] = p.host;
  if (!p.cpu.empty()) j["cpu"] = p.cpu;
  if (p.noisy) j["noisy"] = true;
  if (p.load_average >= 0) j["load_average"] = p.load_average;
  return j.dump();
}

measured_point from_json_line(const std::string& line) {
  measured_point p;
  try {
    const json j = json::parse(line);
    p.config.kind = j.at("kind").get<std::string>();
    (void)parse_index_kind(p.config.kind);
    p.config.codec = j.at("codec").get<std::string>();
    p.config.m = json_integer_at<std::size_t>(j, "m");
    p.config.ef_construction = json_integer_at<std::size_t>(j, "ef_construction");
    p.config.ef_search = json_integer_at<std::size_t>(j, "ef_search");
    p.config.rerank = json_integer_at<std::size_t>(j, "rerank");
    p.auto_found = j.at("auto_found").get<bool>();
    p.auto_probes = json_integer_at<std::size_t>(j, "auto_probes");
    p.tuning_recall_ids = ci_of(j.at("tuning_recall_ids"));
    p.tuning_recall_distance = ci_of(j.at("tuning_recall_distance"));
    p.validation_recall_ids = ci_of(j.at("validation_recall_ids"));
    p.validation_recall_distance = ci_of(j.at("validation_recall_distance"));
    p.latency_p50_us = stat_of(j.at("latency_p50_us"));
    p.latency_p95_us = stat_of(j.at("latency_p95_us"));
    p.latency_p99_us = stat_of(j.at("latency_p99_us"));
    p.qps_single = stat_of(j.at("qps_single"));
    p.qps_batch = stat_of(j.at("qps_batch"));
    p.threads = json_integer_at<std::size_t>(j, "threads");
    p.resident_bytes = json_integer_at<std::size_t>(j, "resident_bytes");
    p.rerank_bytes = json_integer_at<std::size_t>(j, "rerank_bytes");
    p.n_base = json_integer_at<std::size_t>(j, "n_base");
    p.n_tuning = json_integer_at<std::size_t>(j, "n_tuning");
    p.n_validation = json_integer_at<std::size_t>(j, "n_validation");
    p.build_seconds = j.at("build_seconds").get<double>();
    p.spec_hash = j.at("spec_hash").get<std::string>();
    p.host = j.value("host", std::string());
    p.cpu = j.value("cpu", std::string());
    p.noisy = j.value("noisy", false);
    p.load_average = j.value("load_average", -1.0);
  } catch (const json::exception& e) {
    fail("bad results line: ", e.what());
  }
  return p;
}

namespace {

/// The object of a {"record": ...} line (a multi-fidelity decision), not a measured point;
/// nothing for any other line. A half-written line is no record (it fails to parse and is
/// handled as a point line).
std::optional<json> record_of(const std::string& line) {
  if (line.find("\"record\"") == std::string::npos) return std::nullopt;
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("record") || !j["record"].is_string()) return std::nullopt;
  return j;
}

// The upper end of a predicted efSearch interval is +inf when some resample reached the target
// at no level; JSON has no infinity (nlohmann would write null and fail to read it back as a
// number), so it is written as null on purpose and read back as +inf.
nlohmann::ordered_json upper_bound_to_j(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}
double upper_bound_of(const json& j) {
  return j.is_null() ? std::numeric_limits<double>::infinity() : j.get<double>();
}

}  // namespace

std::string to_json_line(const ef_scaling& s) {
  nlohmann::ordered_json needed = nlohmann::ordered_json::array();
  for (const auto& [n, ef] : s.needed) needed.push_back({n, ef});
  nlohmann::ordered_json interval = nlohmann::ordered_json::array({s.lo, upper_bound_to_j(s.hi)});
  nlohmann::ordered_json j{{"record", "ef_scaling"}, {"arm", s.arm},
                           {"ef_needed_by_level", needed}, {"n_full", s.n_full},
                           {"ef_predicted", s.predicted},    {"ef_interval", interval},
                           {"ef_exponent", s.exponent}};
  if (s.measured) j["ef_measured"] = *s.measured, j["inside_interval"] = s.inside();
  return j.dump();
}

std::vector<ef_scaling> read_ef_scaling(const std::filesystem::path& path) {
  std::vector<ef_scaling> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string line;
  for (std::size_t no = 1; std::getline(in, line); ++no) {
    const std::optional<json> record = record_of(line);
    if (!record || (*record)["record"] != "ef_scaling") continue;
    try {
      const json& j = *record;
      ef_scaling s;
      s.arm = j.at("arm").get<std::string>();
      for (const auto& e : j.at("ef_needed_by_level"))
        s.needed.emplace_back(json_integer<std::size_t>(e.at(0), "ef_needed_by_level"), e.at(1).get<double>());
      s.n_full = json_integer_at<std::size_t>(j, "n_full");
      s.predicted = j.at("ef_predicted").get<double>();
      s.lo = j.at("ef_interval").at(0).get<double>();
      s.hi = upper_bound_of(j.at("ef_interval").at(1));
      s.exponent = j.at("ef_exponent").get<double>();
      if (j.contains("ef_measured")) s.measured = json_integer_at<std::size_t>(j, "ef_measured");
      std::erase_if(out, [&](const ef_scaling& o) { return o.arm == s.arm; });  // the later record wins
      out.push_back(std::move(s));
    } catch (const json::exception& e) {
      fail(path.string(), ":", no, ": bad ef_scaling record: ", e.what());
    }
  }
  return out;
}

std::vector<measured_point> read_results_jsonl(const std::filesystem::path& path, std::size_t* dropped) {
  if (dropped) *dropped = 0;
  std::vector<measured_point> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::vector<std::pair<std::size_t, std::string>> lines;  // (line number, text)
  std::string line;
  for (std::size_t no = 1; std::getline(in, line); ++no)
    if (!line.empty() && !record_of(line)) lines.emplace_back(no, line);
  std::map<std::string, std::size_t> by_key;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    measured_point p;
    try {
      p = from_json_line(lines[i].second);
    } catch (const error& e) {
      if (i + 1 == lines.size()) {  // the line a killed writer left half-written
        if (dropped) ++*dropped;
        break;
      }
      fail(path.string(), ":", lines[i].first, ": ", e.what());
    }
    auto it = by_key.find(p.key());
    if (it != by_key.end()) out[it->second] = p;
    else by_key.emplace(p.key(), out.size()), out.push_back(p);
  }
  return out;
}

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

const char* csv_header =
    "kind,codec,m,ef_construction,ef_search,rerank,auto_found,tuning_recall_ids,tuning_recall_ids_lo,"
    "tuning_recall_ids_hi,tuning_recall_distance,validation_recall_ids,validation_recall_ids_lo,"
    "validation_recall_ids_hi,validation_recall_distance,latency_p50_us,latency_p50_us_min,latency_p50_us_max,"
    "latency_p95_us,latency_p99_us,qps_single,qps_batch,threads,resident_bytes,rerank_bytes,total_bytes,"
    "bytes_per_vector,build_seconds,n_base,n_tuning,n_validation";

std::string csv_row(const measured_point& p) {
  std::ostringstream o;
  o.precision(8);
  const index_config& c = p.config;
  o << csv_field(c.kind) << "," << csv_field(c.codec) << "," << c.m << "," << c.ef_construction << ","
    << c.ef_search << "," << c.rerank << "," << (p.auto_found ? 1 : 0) << "," << p.tuning_recall_ids.value << ","
    << p.tuning_recall_ids.lo << "," << p.tuning_recall_ids.hi << "," << p.tuning_recall_distance.value << ","
    << p.validation_recall_ids.value << "," << p.validation_recall_ids.lo << "," << p.validation_recall_ids.hi << ","
    << p.validation_recall_distance.value << "," << p.latency_p50_us.median << "," << p.latency_p50_us.min << ","
    << p.latency_p50_us.max << "," << p.latency_p95_us.median << "," << p.latency_p99_us.median << ","
    << p.qps_single.median << "," << p.qps_batch.median << "," << p.threads << "," << p.resident_bytes << ","
    << p.rerank_bytes << "," << p.total_bytes() << ","
    << (p.n_base ? static_cast<double>(p.total_bytes()) / p.n_base : 0.0) << "," << p.build_seconds << ","
    << p.n_base << "," << p.n_tuning << "," << p.n_validation;
  return o.str();
}

}  // namespace

void write_results_csv(const std::filesystem::path& path, const std::vector<measured_point>& points) {
  std::string text = std::string(csv_header) + "\n";
  for (const auto& p : points) text += csv_row(p) + "\n";
  write_file_atomic(path, text);
}

void write_pareto_csv(const std::filesystem::path& path, const std::vector<measured_point>& points,
                      const sweep_spec& spec) {
  const recommend_policy policy = policy_of(spec);
  std::vector<double> recall, latency, memory;
  for (const auto& p : points) {
    recall.push_back(tuning_recall(p, policy.steer_by));
    latency.push_back(p.latency_p50_us.median);
    memory.push_back(static_cast<double>(counted_bytes(p, policy)));
  }
  const pareto_fronts f = compute_fronts(recall, latency, memory);
  auto on = [](const std::vector<std::size_t>& v, std::size_t i) { return std::binary_search(v.begin(), v.end(), i); };
  std::string text = "front_recall_latency,front_recall_memory,front_recall_latency_memory," + std::string(csv_header) + "\n";
  // Sorted by recall so each front reads as a curve.
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return recall[a] < recall[b]; });
  for (std::size_t i : order) {
    const bool a = on(f.recall_latency, i), b = on(f.recall_memory, i), c = on(f.recall_latency_memory, i);
    if (!(a || b || c)) continue;
    text += std::string(a ? "1" : "0") + "," + (b ? "1" : "0") + "," + (c ? "1" : "0") + "," + csv_row(points[i]) + "\n";
  }
  write_file_atomic(path, text);
}

}  // namespace qtune
