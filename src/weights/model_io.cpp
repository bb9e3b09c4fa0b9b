// safetensors and .npy readers, the safetensors writer, and the model's accessors.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "codec/scalar_quant.hpp"
#include "qtune/error.hpp"
#include "qtune/weights.hpp"
#include "util/npy_header.hpp"
#include "weights/file_bytes.hpp"

namespace qtune::weights {

std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  QTUNE_CHECK(in, path.string(), ": cannot open for reading");
  const auto size = static_cast<std::size_t>(in.tellg());
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  if (size) in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  QTUNE_CHECK(in || size == 0, path.string(), ": read error");
  return bytes;
}

void write_file_bytes(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  QTUNE_CHECK(out, path.string(), ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  QTUNE_CHECK(out, path.string(), ": write error");
}

std::string hex_bytes(const std::uint8_t* p, std::size_t n) {
  std::string s;
  char buf[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    if (i) s += ' ';
    s += buf;
  }
  return s;
}

// ---- model ------------------------------------------------------------------------------------

std::uint64_t tensor::n_values() const noexcept {
  std::uint64_t n = 1;
  for (auto d : ne) n *= d;
  return ne.empty() ? 0 : n;
}

const tensor& model::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return t;
  fail(path.string(), ": no tensor named '", name, "'");
}

const kv* model::find_kv(const std::string& key) const noexcept {
  for (const auto& e : metadata)
    if (e.key == key) return &e;
  return nullptr;
}

std::vector<float> model::to_float(const tensor& t) const {
  std::vector<float> x(t.n_values());
  dequantize(t.format, data.data() + t.offset, x.size(), x.data());
  return x;
}

std::uint64_t model::total_values() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tensors) n += t.n_values();
  return n;
}

std::uint64_t model::total_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& t : tensors) n += t.nbytes;
  return n;
}

// ---- safetensors ------------------------------------------------------------------------------

model read_safetensors(const std::filesystem::path& path) {
  const std::string f = path.string();
  std::vector<std::uint8_t> bytes = read_file_bytes(path);
  QTUNE_CHECK(bytes.size() >= 8, f, ": ", bytes.size(), " bytes, too short for a safetensors header length");
  std::uint64_t header_len;
  std::memcpy(&header_len, bytes.data(), 8);
  constexpr std::uint64_t max_header = 100'000'000;
  QTUNE_CHECK(header_len <= max_header, f, ": header length ", header_len, " exceeds the 100 MB limit");
  QTUNE_CHECK(header_len <= bytes.size() - 8, f, ": header length ", header_len, " runs past the end of the file (",
              bytes.size() - 8, " bytes after the length)");
  const char* hb = reinterpret_cast<const char*>(bytes.data() + 8);

  // Duplicate names: nlohmann keeps the last value silently, so watch the top-level keys.
  std::set<std::string> seen;
  std::string duplicate;
  nlohmann::json::parser_callback_t cb = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
    if (ev == nlohmann::json::parse_event_t::key && depth == 1) {
      const std::string k = parsed.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(hb, hb + header_len, cb);
  } catch (const nlohmann::json::exception& e) {
    fail(f, ": header is not valid JSON: ", e.what());
  }
  QTUNE_CHECK(h.is_object(), f, ": header must be a JSON object, got ", h.type_name());
  QTUNE_CHECK(duplicate.empty(), f, ": duplicate tensor name '", duplicate, "' in the header");

  model m;
  m.path = path;
  m.container = "safetensors";
  struct entry {
    tensor t;
    std::uint64_t begin, end;
  };
  std::vector<entry> entries;
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      QTUNE_CHECK(v.is_object(), f, ": __metadata__ must be an object of strings");
      for (auto mi = v.begin(); mi != v.end(); ++mi) {
        QTUNE_CHECK(mi.value().is_string(), f, ": __metadata__ value '", mi.key(), "' is not a string");
        kv e;
        e.key = mi.key();
        e.value.type = gguf_value::str;
        e.value.s = mi.value().get<std::string>();
        m.metadata.push_back(std::move(e));
      }
      continue;
    }
    QTUNE_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), f,
                ": tensor '", name, "' needs dtype, shape and data_offsets");
    QTUNE_CHECK(v["dtype"].is_string(), f, ": tensor '", name, "' dtype is not a string");
    const std::string dtype = v["dtype"].get<std::string>();
    entry e;
    e.t.name = name;
    std::size_t elem = 0;
    if (dtype == "F32") { e.t.format = {wtype::f32, 0}; elem = 4; }
    else if (dtype == "F16") { e.t.format = {wtype::f16, 0}; elem = 2; }
    else if (dtype == "BF16") { e.t.format = {wtype::bf16, 0}; elem = 2; }
    else fail(f, ": tensor '", name, "' has dtype ", dtype, ", not supported (expected F32, F16 or BF16)");
    const auto& shape = v["shape"];
    QTUNE_CHECK(shape.is_array() && shape.size() <= 8, f, ": tensor '", name, "' shape must be an array of <= 8 ints");
    std::uint64_t count = 1;
    for (const auto& d : shape) {
      QTUNE_CHECK(d.is_number_unsigned(), f, ": tensor '", name, "' shape entry ", d.dump(),
                  " is not a non-negative integer");
      const std::uint64_t dv = d.get<std::uint64_t>();
      QTUNE_CHECK(dv == 0 || count <= (std::uint64_t{1} << 62) / dv, f, ": tensor '", name, "' shape overflows");
      count *= dv;
    }
    // count * elem must not wrap: a shape of [2^62] F32 would otherwise "need" 0 bytes.
    QTUNE_CHECK(count <= std::numeric_limits<std::uint64_t>::max() / elem, f, ": tensor '", name, "' shape ",
                shape.dump(), " of ", dtype, ": its byte size overflows 64 bits");
    for (auto d = shape.rbegin(); d != shape.rend(); ++d) e.t.ne.push_back(d->get<std::uint64_t>());
    if (e.t.ne.empty()) e.t.ne.push_back(1);  // a scalar
    const auto& off = v["data_offsets"];
    QTUNE_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), f,
                ": tensor '", name, "' data_offsets must be [begin, end]");
    e.begin = off[0].get<std::uint64_t>();
    e.end = off[1].get<std::uint64_t>();
    QTUNE_CHECK(e.begin <= e.end, f, ": tensor '", name, "' data_offsets [", e.begin, ", ", e.end, "] are reversed");
    QTUNE_CHECK(e.end - e.begin == count * elem, f, ": tensor '", name, "' has ", e.end - e.begin,
                " bytes, but dtype ", dtype, " x shape ", shape.dump(), " needs ", count * elem);
    e.t.offset = e.begin;
    e.t.nbytes = e.end - e.begin;
    entries.push_back(std::move(e));
  }
  // Offsets start at 0 and run back to back in offset order (the file order of the data).
  std::vector<std::size_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) {
    return entries[a].begin != entries[b].begin ? entries[a].begin < entries[b].begin : entries[a].end < entries[b].end;
  });
  std::uint64_t expected = 0;
  for (std::size_t i : order) {
    QTUNE_CHECK(entries[i].begin == expected, f, ": tensor '", entries[i].t.name, "' data starts at ",
                entries[i].begin, ", expected ", expected,
                expected == 0 ? " (offsets must start at 0)" : " (data must be back to back, no gaps or overlaps)");
    expected = entries[i].end;
  }
  const std::uint64_t data_size = bytes.size() - 8 - header_len;
  QTUNE_CHECK(expected <= data_size, f, ": tensor data end at ", expected, ", past the end of the file (", data_size,
              " data bytes)");
  QTUNE_CHECK(expected == data_size, f, ": ", data_size - expected, " trailing bytes after the last tensor");
  for (std::size_t i : order) m.tensors.push_back(std::move(entries[i].t));
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(8 + header_len));  // no second copy
  m.data = std::move(bytes);
  return m;
}

void write_safetensors_f32(const std::filesystem::path& path, const model& m) {
  nlohmann::ordered_json h;
  std::uint64_t off = 0;
  for (const auto& t : m.tensors) {
    nlohmann::json shape = nlohmann::json::array();
    for (auto d = t.ne.rbegin(); d != t.ne.rend(); ++d) shape.push_back(*d);
    const std::uint64_t nb = t.n_values() * 4;
    h[t.name] = {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& e : m.metadata)
    if (e.value.type == gguf_value::str && e.value.s.size() < 4096) meta[e.key] = e.value.s;
  meta["qtune.source"] = m.path.filename().string();
  h["__metadata__"] = meta;
  std::string hs = h.dump();
  hs.append((8 - hs.size() % 8) % 8, ' ');
  const std::uint64_t hl = hs.size();
  std::vector<std::uint8_t> out(8 + hs.size());
  std::memcpy(out.data(), &hl, 8);
  std::memcpy(out.data() + 8, hs.data(), hs.size());
  for (const auto& t : m.tensors) {
    const std::vector<float> x = m.to_float(t);
    const auto* p = reinterpret_cast<const std::uint8_t*>(x.data());
    out.insert(out.end(), p, p + x.size() * 4);
  }
  write_file_bytes(path, out);
}

model read_model(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".gguf") return read_gguf(path);
  if (ext == ".safetensors") return read_safetensors(path);
  fail(path.string(), ": unknown model format '", ext, "' (expected .gguf or .safetensors)");
}

// ---- .npy ---------------------------------------------------------------------------------------

std::vector<float> read_npy(const std::filesystem::path& path, std::vector<std::uint64_t>* shape_out) {
  const std::string f = path.string();
  const std::vector<std::uint8_t> b = read_file_bytes(path);
  const npy_header h = parse_npy_header(path, b.data(), b.size());
  std::string sh;  // the shape as the file wrote it, for messages
  std::uint64_t count = 1;
  for (const std::uint64_t d : h.shape) {
    sh += (sh.empty() ? "" : ", ") + std::to_string(d);
    QTUNE_CHECK(d == 0 || count <= std::numeric_limits<std::uint64_t>::max() / 8 / d, f, ": .npy shape (", sh,
                ") is too large");
    count *= d;
  }
  std::size_t elem = 0;
  if (h.descr == "<f4") elem = 4;
  else if (h.descr == "<f2") elem = 2;
  else if (h.descr == "<f8") elem = 8;
  else fail(f, ": .npy dtype '", h.descr, "' not supported (expected <f4, <f2 or <f8)");
  const std::size_t data_start = h.data_offset;
  QTUNE_CHECK(b.size() - data_start == count * elem, f, ": .npy data is ", b.size() - data_start,
              " bytes, expected ", count * elem, " for shape (", sh, ")");
  std::vector<float> x(count);
  const std::uint8_t* p = b.data() + data_start;
  for (std::uint64_t i = 0; i < count; ++i) {
    if (elem == 4) {
      std::memcpy(&x[i], p + 4 * i, 4);
    } else if (elem == 2) {
      std::uint16_t v;
      std::memcpy(&v, p + 2 * i, 2);
      x[i] = sq::fp16_to_fp32(v);
    } else {
      double v;
      std::memcpy(&v, p + 8 * i, 8);
      x[i] = static_cast<float>(v);
    }
  }
  if (shape_out) *shape_out = h.shape;
  return x;
}

}  // namespace qtune::weights
