// Sharded sweeps: plan files, shard assignment, running a shard's units, completeness and merge.
#include "qtune/sweep_shard.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "qtune/error.hpp"
#include "util/atomic_file.hpp"
#include "util/json_number.hpp"

namespace qtune {

using json = nlohmann::json;

namespace {

/// Units are independent only in a plain sweep: a multi-fidelity one decides each level from the
/// one below, in one process.
void refuse_multi_fidelity(const sweep_spec& spec) {
  QTUNE_CHECK(!spec.fidelity.enabled, spec.place("fidelity"),
              ": a multi-fidelity spec runs in one process (tune SPEC); plan / shard / merge need a spec without "
              "fidelity: (every build at full size)");
}

std::size_t parse_count(std::string_view s, std::string_view what, std::string_view text) {
  std::size_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  QTUNE_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size(), what, " '", text,
              "': expected I/N with non-negative integers, e.g. 0/3");
  return v;
}

std::optional<std::size_t> env_number(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return parse_count(v, name, v);
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

shard_id parse_shard(std::string_view text) {
  const auto slash = text.find('/');
  QTUNE_CHECK(slash != std::string_view::npos, "--shard '", text, "': expected I/N, e.g. 0/3");
  shard_id s{parse_count(text.substr(0, slash), "--shard", text), parse_count(text.substr(slash + 1), "--shard", text)};
  QTUNE_CHECK(s.count > 0, "--shard ", text, ": the shard count must be at least 1");
  QTUNE_CHECK(s.index < s.count, "--shard ", text, ": the index must be below the count ", s.count,
              " (shards are numbered 0..", s.count - 1, ")");
  return s;
}

std::optional<shard_id> shard_from_environment(std::size_t shards) {
  if (const auto id = env_number("SLURM_ARRAY_TASK_ID")) {
    // With --shards the task id is the shard index, so `sbatch --array=2 run.sbatch` reruns shard 2
    // alone; without it the array is the shards (ids min..min+count-1).
    if (shards) return parse_shard(std::to_string(*id) + "/" + std::to_string(shards));
    const auto count = env_number("SLURM_ARRAY_TASK_COUNT");
    const std::size_t min = env_number("SLURM_ARRAY_TASK_MIN").value_or(0);
    QTUNE_CHECK(count.has_value(), "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; give --shards N");
    QTUNE_CHECK(*id >= min, "SLURM_ARRAY_TASK_ID ", *id, " is below SLURM_ARRAY_TASK_MIN ", min);
    return parse_shard(std::to_string(*id - min) + "/" + std::to_string(*count));
  }
  if (const auto idx = env_number("JOB_COMPLETION_INDEX")) {
    QTUNE_CHECK(shards > 0, "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job): give --shards N, the Job's "
                            "completions");
    return parse_shard(std::to_string(*idx) + "/" + std::to_string(shards));
  }
  return std::nullopt;
}

void write_plan_file(const std::filesystem::path& dir, const sweep_plan& plan, const sweep_spec& spec,
                     const spec_overrides& o) {
  refuse_multi_fidelity(spec);
  json j{{"qtune_plan", 1},
         {"spec_file", spec.file.empty() ? std::string() : std::filesystem::absolute(spec.file).string()},
         {"spec_hash", plan.spec_hash},
         {"data_hash", plan.data_hash}};
  json ov = json::object();
  if (o.target_recall) ov["target_recall"] = *o.target_recall;
  if (o.k) ov["k"] = *o.k;
  if (o.threads) ov["threads"] = *o.threads;
  j["overrides"] = ov;
  json units = json::array();
  for (const auto& u : plan.units)
    units.push_back({{"index", u.index}, {"id", u.id}, {"build", u.build.build_key()}, {"reranks", u.reranks}});
  j["units"] = units;
  const std::filesystem::path path = dir / "plan.json";
  if (std::filesystem::exists(path)) {
    const plan_record old = read_plan_file(dir);
    QTUNE_CHECK(old.spec_hash == plan.spec_hash && old.data_hash == plan.data_hash, path.string(),
                ": holds the plan of another spec or data (spec hash ", old.spec_hash, ", data hash ", old.data_hash,
                "; now ", plan.spec_hash, ", ", plan.data_hash, "); use another output folder");
  }
  write_file_atomic(path, j.dump(1) + "\n");
}

plan_record read_plan_file(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "plan.json";
  QTUNE_CHECK(std::filesystem::exists(path), path.string(),
              ": does not exist (is ", dir.string(), " the output folder of `tune plan` or `tune run --shard`?)");
  plan_record r;
  try {
    const json j = json::parse(slurp(path));
    QTUNE_CHECK(json_integer_at<int>(j, "qtune_plan") == 1, path.string(), ": unsupported plan version");
    r.spec_file = j.at("spec_file").get<std::string>();
    r.spec_hash = j.at("spec_hash").get<std::string>();
    r.data_hash = j.at("data_hash").get<std::string>();
    const json& ov = j.at("overrides");
    if (ov.contains("target_recall")) r.overrides.target_recall = ov["target_recall"].get<double>();
    if (ov.contains("k")) r.overrides.k = json_integer_at<long>(ov, "k");
    if (ov.contains("threads")) r.overrides.threads = json_integer_at<long>(ov, "threads");
    for (const auto& u : j.at("units")) {
      r.unit_ids.push_back(u.at("id").get<std::string>());
      r.unit_builds.push_back(u.at("build").get<std::string>());
    }
  } catch (const json::exception& e) {
    fail(path.string(), ": corrupt plan file: ", e.what());
  }
  return r;
}

sweep_spec spec_of_plan(const plan_record& rec, const std::filesystem::path& dir) {
  QTUNE_CHECK(!rec.spec_file.empty() && std::filesystem::exists(rec.spec_file), (dir / "plan.json").string(),
              ": its spec file '", rec.spec_file.string(), "' does not exist any more");
  sweep_spec spec = parse_sweep_spec(rec.spec_file);
  spec_overrides o = rec.overrides;
  o.output = dir;
  apply_overrides(spec, o);
  QTUNE_CHECK(spec_hash(spec) == rec.spec_hash, (dir / "plan.json").string(), ": the spec ", rec.spec_file.string(),
              " changed since the plan was made (spec hash ", spec_hash(spec), ", the plan's ", rec.spec_hash,
              "); plan and run again");
  return spec;
}

shard_run_result run_shard(const sweep_context& ctx, const sweep_plan& plan, const std::filesystem::path& dir,
                           shard_id shard, const shard_run_options& options) {
  refuse_multi_fidelity(ctx.spec());
  shard_run_result out;
  auto say = [&](const std::string& m) {
    if (options.on_message) options.on_message(m);
  };
  std::filesystem::create_directories(dir / "units");
  std::filesystem::create_directories(dir / "neighbors");
  for (const work_unit& u : plan.units) {
    if (!shard.contains(u)) continue;
    ++out.units;
    try {
      if (read_unit_file(dir, plan, u)) {
        ++out.skipped;
        say("unit " + u.id + " (" + u.describe() + "): already done");
        continue;
      }
    } catch (const error& e) {
      say(std::string("unit ") + u.id + ": " + e.what() + "; measuring it again");
    }
    if (options.stop && options.stop->load()) return out.interrupted = true, out;
    say("unit " + u.id + " (" + u.describe() + ") ...");
    try {
      measure_options mo;
      mo.stop = options.stop;
      mo.neighbors_dir = dir / "neighbors";
      mo.remeasure_noisy = options.remeasure_noisy;
      const unit_result r = measure_unit(ctx, u, mo);
      if (r.interrupted) return out.interrupted = true, out;
      store_unit_file(dir, plan, u, r.points, shard.to_string());
      ++out.measured;
      say("unit " + u.id + ": " + std::to_string(r.points.size()) + " points");
    } catch (const std::exception& e) {
      const std::string msg = "unit " + u.id + " (" + u.describe() + "): " + e.what();
      out.failures.push_back(msg);
      write_file_atomic(unit_failure_path(dir, u), json{{"unit", u.id}, {"shard", shard.to_string()},
                                                        {"host", host_name()}, {"error", e.what()}}
                                                       .dump() +
                                                       "\n");
      say(msg);
    }
  }
  return out;
}

std::vector<unit_state> check_units(const std::filesystem::path& dir, const sweep_plan& plan, std::size_t shards) {
  std::vector<unit_state> out;
  for (const work_unit& u : plan.units) {
    unit_state s;
    s.index = u.index, s.id = u.id, s.build = u.describe();
    try {
      if (read_unit_file(dir, plan, u)) {
        s.state = unit_state::done;
        const std::string header = slurp(unit_file_path(dir, u)).substr(0, 4096);
        const json h = json::parse(header.substr(0, header.find('\n')));
        const std::string sh = h.value("shard", std::string());
        if (!shards && sh.find('/') != std::string::npos) shards = parse_shard(sh).count;
      } else if (std::filesystem::exists(unit_failure_path(dir, u))) {
        s.state = unit_state::failed;
        s.error = json::parse(slurp(unit_failure_path(dir, u))).value("error", std::string("(no message)"));
      }
    } catch (const std::exception& e) {
      s.state = unit_state::corrupt;
      s.error = e.what();
    }
    out.push_back(s);
  }
  for (auto& s : out) {
    s.shards = shards;
    s.shard = shards ? s.index % shards : 0;
  }
  return out;
}

sweep_outcome merge_units(const sweep_context& ctx, const sweep_plan& plan, const std::filesystem::path& dir,
                          const report_writer& writer, std::size_t shards) {
  // Unit files of another plan in the folder: a merge of folders from different specs.
  std::set<std::string> ids;
  for (const auto& u : plan.units) ids.insert(u.id + ".jsonl");
  if (std::filesystem::is_directory(dir / "units"))
    for (const auto& e : std::filesystem::directory_iterator(dir / "units"))
      if (e.path().extension() == ".jsonl" && !ids.count(e.path().filename().string())) {
        std::string hash = "?";
        try {
          const std::string text = slurp(e.path());
          hash = json::parse(text.substr(0, text.find('\n'))).value("spec_hash", std::string("?"));
        } catch (const std::exception&) {
        }
        fail(e.path().string(), ": is not a unit of this plan (spec hash ", hash, ", the plan's ", plan.spec_hash,
             "): the folder mixes runs of different specs or data");
      }
  std::ostringstream problems;
  std::size_t bad = 0;
  for (const auto& s : check_units(dir, plan, shards)) {
    if (s.state == unit_state::done) continue;
    ++bad;
    problems << "\n  unit " << s.index << " " << s.id << " (" << s.build << "), shard "
             << (s.shards ? std::to_string(s.shard) + "/" + std::to_string(s.shards) : std::string("?")) << ": "
             << (s.state == unit_state::missing ? "missing" : s.state == unit_state::failed ? "FAILED: " + s.error
                                                                                              : "CORRUPT: " + s.error);
  }
  QTUNE_CHECK(bad == 0, dir.string(), ": ", bad, " of ", plan.units.size(), " units are not complete:", problems.str());
  std::vector<measured_point> points;
  for (const auto& u : plan.units) {
    auto p = read_unit_file(dir, plan, u);
    points.insert(points.end(), p->begin(), p->end());
  }
  std::string text;
  for (const auto& p : points) text += to_json_line(p) + "\n";
  write_file_atomic(dir / "results.jsonl", text);
  return finalize_sweep(ctx, std::move(points), false, dir, writer);
}

}  // namespace qtune
