// The store step: results.jsonl of a one-process sweep, and one atomically written file per
// unit for sharded runs (a file exists only complete, so a killed task loses at most its unit).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "qtune/error.hpp"
#include "qtune/sweep_steps.hpp"
#include "util/atomic_file.hpp"
#include "util/json_number.hpp"

namespace qtune {

using json = nlohmann::json;

results_log::results_log(const std::filesystem::path& path, std::vector<measured_point> initial) : path_(path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::string text;
  for (auto& p : initial) {
    text += to_json_line(p) + "\n";
    points_.push_back(std::move(p));
  }
  for (std::size_t i = 0; i < points_.size(); ++i) index_.emplace_back(points_[i].key(), i);
  std::sort(index_.begin(), index_.end());
  write_file_atomic(path_, text);  // drops a half-written last line
  file_ = std::fopen(path_.c_str(), "ab");
  QTUNE_CHECK(file_, path_.string(), ": cannot open for appending");
}

results_log::~results_log() {
  if (file_) std::fclose(file_);
}

void results_log::write_line(const std::string& json) {
  const std::string line = json + "\n";
  QTUNE_CHECK(std::fwrite(line.data(), 1, line.size(), file_) == line.size() && std::fflush(file_) == 0,
              path_.string(), ": write failed");
}

void results_log::append_record(const std::string& json_object) { write_line(json_object); }

void results_log::append(const measured_point& p) {
  write_line(to_json_line(p));
  const std::string key = p.key();
  auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(key, std::size_t{0}));
  if (it != index_.end() && it->first == key) {
    points_[it->second] = p;
  } else {
    index_.insert(it, {key, points_.size()});
    points_.push_back(p);
  }
}

std::filesystem::path unit_file_path(const std::filesystem::path& dir, const work_unit& unit) {
  return dir / "units" / (unit.id + ".jsonl");
}

std::filesystem::path unit_failure_path(const std::filesystem::path& dir, const work_unit& unit) {
  return dir / "units" / (unit.id + ".failed");
}

void store_unit_file(const std::filesystem::path& dir, const sweep_plan& plan, const work_unit& unit,
                     const std::vector<measured_point>& points, const std::string& shard) {
  json header{{"unit", unit.id},           {"index", unit.index},   {"build", unit.build.build_key()},
              {"spec_hash", plan.spec_hash}, {"data_hash", plan.data_hash}, {"points", points.size()},
              {"host", host_name()},         {"shard", shard}};
  std::string text = header.dump() + "\n";
  for (const auto& p : points) text += to_json_line(p) + "\n";
  write_file_atomic(unit_file_path(dir, unit), text);
  std::error_code ec;
  std::filesystem::remove(unit_failure_path(dir, unit), ec);
}

std::optional<std::vector<measured_point>> read_unit_file(const std::filesystem::path& dir, const sweep_plan& plan,
                                                          const work_unit& unit) {
  const std::filesystem::path path = unit_file_path(dir, unit);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string line;
  QTUNE_CHECK(std::getline(in, line) && !line.empty(), path.string(), ": empty or truncated unit file");
  std::size_t n = 0;  // the points the header announces
  try {
    const json h = json::parse(line);
    QTUNE_CHECK(h.at("spec_hash").get<std::string>() == plan.spec_hash, path.string(),
                ": was written for another spec (spec hash ", h.at("spec_hash").get<std::string>(), ", this plan ",
                plan.spec_hash, "); a folder holds the units of one spec only");
    QTUNE_CHECK(h.at("data_hash").get<std::string>() == plan.data_hash, path.string(),
                ": was measured on other data (data hash ", h.at("data_hash").get<std::string>(), ", this plan ",
                plan.data_hash, ")");
    QTUNE_CHECK(h.at("unit").get<std::string>() == unit.id, path.string(), ": holds unit ",
                h.at("unit").get<std::string>(), ", expected ", unit.id);
    n = json_integer_at<std::size_t>(h, "points");
  } catch (const json::exception& e) {
    fail(path.string(), ":1: corrupt unit file header: ", e.what());
  }
  std::vector<measured_point> points;
  std::size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    try {
      points.push_back(from_json_line(line));
    } catch (const error& e) {
      fail(path.string(), ":", line_no, ": corrupt unit file: ", e.what());
    }
  }
  QTUNE_CHECK(points.size() == n, path.string(), ": truncated unit file: the header announces ", n,
              " points, the file holds ", points.size());
  return points;
}

}  // namespace qtune
