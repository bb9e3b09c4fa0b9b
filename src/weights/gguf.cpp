// GGUF reader (v1, v2, v3) and writer (v3). The reader validates every length against the
// bytes that remain before trusting it, so a crafted file can only ever produce an error.
#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include "qtune/error.hpp"
#include "qtune/weights.hpp"
#include "weights/file_bytes.hpp"

namespace qtune::weights {
namespace {

constexpr std::uint32_t gguf_magic = 0x46554747;  // "GGUF" little-endian

class reader {
 public:
  reader(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes, std::uint32_t version)
      : path_(path), b_(bytes), version_(version) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t remaining() const noexcept { return b_.size() - pos_; }

  template <class T>
  T get(const char* what) {
    QTUNE_CHECK(remaining() >= sizeof(T), path_.string(), ": truncated at byte ", pos_, " reading ", what, " (",
                sizeof(T), " bytes needed, ", remaining(), " left)");
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  // Counts and lengths are uint32 in v1, uint64 later.
  std::uint64_t count(const char* what) {
    return version_ == 1 ? get<std::uint32_t>(what) : get<std::uint64_t>(what);
  }
  std::string str(const char* what) {
    const std::size_t at = pos_;
    const std::uint64_t n = count(what);
    QTUNE_CHECK(n <= remaining(), path_.string(), ": ", what, " at byte ", at, " has length ", n,
                ", beyond the end of the file (", remaining(), " bytes left)");
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const std::filesystem::path& path_;
  const std::vector<std::uint8_t>& b_;
  std::uint32_t version_;
  std::size_t pos_ = 0;
};

// Smallest encoded size of a value of each type (bounds array counts before allocating).
std::size_t min_value_size(std::uint32_t t, std::uint32_t version) {
  switch (t) {
    case gguf_value::u8: case gguf_value::i8: case gguf_value::boolean: return 1;
    case gguf_value::u16: case gguf_value::i16: return 2;
    case gguf_value::u32: case gguf_value::i32: case gguf_value::f32: return 4;
    case gguf_value::u64: case gguf_value::i64: case gguf_value::f64: return 8;
    case gguf_value::str: return version == 1 ? 4 : 8;
    case gguf_value::array: return 4 + (version == 1 ? 4 : 8);
    default: return 0;
  }
}

gguf_value read_value(reader& r, std::uint32_t type, const std::filesystem::path& path, const std::string& key,
                      std::uint32_t version, int depth) {
  gguf_value v;
  QTUNE_CHECK(type <= 12, path.string(), ": key '", key, "' has unknown value type ", type, " (expected 0..12)");
  v.type = static_cast<gguf_value::kind>(type);
  switch (v.type) {
    case gguf_value::u8: v.u = r.get<std::uint8_t>("a u8 value"); break;
    case gguf_value::i8: v.i = r.get<std::int8_t>("an i8 value"); break;
    case gguf_value::u16: v.u = r.get<std::uint16_t>("a u16 value"); break;
    case gguf_value::i16: v.i = r.get<std::int16_t>("an i16 value"); break;
    case gguf_value::u32: v.u = r.get<std::uint32_t>("a u32 value"); break;
    case gguf_value::i32: v.i = r.get<std::int32_t>("an i32 value"); break;
    case gguf_value::f32: v.f = r.get<float>("an f32 value"); break;
    case gguf_value::u64: v.u = r.get<std::uint64_t>("a u64 value"); break;
    case gguf_value::i64: v.i = r.get<std::int64_t>("an i64 value"); break;
    case gguf_value::f64: v.f = r.get<double>("an f64 value"); break;
    case gguf_value::boolean: {
      const auto b = r.get<std::uint8_t>("a bool value");
      QTUNE_CHECK(b <= 1, path.string(), ": key '", key, "' has bool value ", int(b), ", expected 0 or 1");
      v.u = b;
      break;
    }
    case gguf_value::str: v.s = r.str("a string value"); break;
    case gguf_value::array: {
      QTUNE_CHECK(depth == 0, path.string(), ": key '", key, "' holds a nested array (not supported)");
      const auto et = r.get<std::uint32_t>("an array element type");
      QTUNE_CHECK(et <= 12, path.string(), ": key '", key, "' has unknown array element type ", et);
      v.elem_type = static_cast<gguf_value::kind>(et);
      const std::size_t at = r.pos();
      const std::uint64_t n = r.count("an array length");
      const std::size_t min_size = min_value_size(et, version);
      QTUNE_CHECK(n <= r.remaining() / min_size, path.string(), ": array '", key, "' at byte ", at, " declares ",
                  n, " elements, more than the ", r.remaining(), " bytes left can hold");
      v.items.reserve(n);
      for (std::uint64_t i = 0; i < n; ++i) v.items.push_back(read_value(r, et, path, key, version, depth + 1));
      break;
    }
  }
  return v;
}

// ---- writing ----------------------------------------------------------------------------------

struct writer {
  std::vector<std::uint8_t> out;
  template <class T>
  void put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void str(const std::string& s) {
    put<std::uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  void value(const gguf_value& v) {
    switch (v.type) {
      case gguf_value::u8: put<std::uint8_t>(static_cast<std::uint8_t>(v.u)); break;
      case gguf_value::i8: put<std::int8_t>(static_cast<std::int8_t>(v.i)); break;
      case gguf_value::u16: put<std::uint16_t>(static_cast<std::uint16_t>(v.u)); break;
      case gguf_value::i16: put<std::int16_t>(static_cast<std::int16_t>(v.i)); break;
      case gguf_value::u32: put<std::uint32_t>(static_cast<std::uint32_t>(v.u)); break;
      case gguf_value::i32: put<std::int32_t>(static_cast<std::int32_t>(v.i)); break;
      case gguf_value::f32: put<float>(static_cast<float>(v.f)); break;
      case gguf_value::u64: put<std::uint64_t>(v.u); break;
      case gguf_value::i64: put<std::int64_t>(v.i); break;
      case gguf_value::f64: put<double>(v.f); break;
      case gguf_value::boolean: put<std::uint8_t>(v.u ? 1 : 0); break;
      case gguf_value::str: str(v.s); break;
      case gguf_value::array:
        put<std::uint32_t>(v.elem_type);
        put<std::uint64_t>(v.items.size());
        for (const auto& it : v.items) value(it);
        break;
    }
  }
  void pad(std::size_t alignment) {
    while (out.size() % alignment) out.push_back(0);
  }
};

}  // namespace

model read_gguf(const std::filesystem::path& path) {
  model m;
  m.path = path;
  m.container = "gguf";
  std::vector<std::uint8_t> bytes = read_file_bytes(path);
  const std::string f = path.string();

  std::uint32_t version = 3;
  reader r0(path, bytes, version);
  const auto magic = r0.get<std::uint32_t>("the magic");
  QTUNE_CHECK(magic == gguf_magic, f, ": not a GGUF file (magic ", hex_bytes(bytes.data(), 4),
              ", expected 47 47 55 46 \"GGUF\")");
  version = r0.get<std::uint32_t>("the version");
  QTUNE_CHECK(version >= 1 && version <= 3, f, ": GGUF version ", version, " is not supported (expected 1, 2 or 3)");
  m.gguf_version = version;
  reader r(path, bytes, version);
  r.get<std::uint64_t>("magic and version");

  const std::uint64_t n_tensors = r.count("the tensor count");
  const std::uint64_t n_kv = r.count("the KV count");
  // Every KV needs at least a key length and a type; every tensor info a name length, n_dims,
  // one dim, a type and an offset. Counts larger than the file can hold are rejected before use.
  const std::size_t len = version == 1 ? 4 : 8;
  QTUNE_CHECK(n_kv <= r.remaining() / (len + 4), f, ": KV count ", n_kv, " cannot fit in the ", r.remaining(),
              " bytes left");
  QTUNE_CHECK(n_tensors <= r.remaining() / (len + 4 + len + 4 + 8), f, ": tensor count ", n_tensors,
              " cannot fit in the ", r.remaining(), " bytes left");

  std::set<std::string> keys;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    kv e;
    e.key = r.str("a key");
    QTUNE_CHECK(keys.insert(e.key).second, f, ": duplicate key '", e.key, "'");
    const auto type = r.get<std::uint32_t>("a value type");
    e.value = read_value(r, type, path, e.key, version, 0);
    if (e.key == "general.alignment") {
      QTUNE_CHECK(e.value.type == gguf_value::u32, f, ": general.alignment must be a u32, got value type ",
                  int(e.value.type));
      const std::uint64_t a = e.value.u;
      QTUNE_CHECK(a != 0 && std::has_single_bit(a), f, ": general.alignment is ", a,
                  ", expected a non-zero power of two");
      m.alignment = static_cast<std::uint32_t>(a);
    }
    m.metadata.push_back(std::move(e));
  }

  std::set<std::string> names;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    tensor t;
    t.name = r.str("a tensor name");
    QTUNE_CHECK(names.insert(t.name).second, f, ": duplicate tensor name '", t.name, "'");
    const auto n_dims = r.get<std::uint32_t>("n_dims");
    QTUNE_CHECK(n_dims >= 1 && n_dims <= 4, f, ": tensor '", t.name, "' has ", n_dims, " dimensions, expected 1..4");
    std::uint64_t total = 1;
    for (std::uint32_t d = 0; d < n_dims; ++d) {
      const std::uint64_t ne = r.count("a dimension");
      QTUNE_CHECK(ne != 0, f, ": tensor '", t.name, "' has dimension ", d, " equal to 0");
      QTUNE_CHECK(ne <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()), f, ": tensor '",
                  t.name, "' has negative dimension ", d, " (", static_cast<std::int64_t>(ne), ")");
      QTUNE_CHECK(total <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / ne, f,
                  ": tensor '", t.name, "' has an element count that overflows 63 bits");
      total *= ne;
      t.ne.push_back(ne);
    }
    const auto type_id = r.get<std::uint32_t>("a tensor type");
    try {
      t.format = format_from_gguf_id(type_id);
    } catch (const error& e) {
      fail(f, ": tensor '", t.name, "': ", e.what());
    }
    t.offset = r.get<std::uint64_t>("a tensor offset");
    const type_traits tr = traits(t.format);
    if (t.ne[0] % tr.blck_size != 0) {
      // v1/v2 quantizers (2023) wrote such tensors as one flat block stream; accept that
      // deliberately for old files, refuse it in v3 as llama.cpp does.
      QTUNE_CHECK(version < 3 && total % tr.blck_size == 0, f, ": tensor '", t.name, "' of type ", tr.name,
                  " has rows of ", t.ne[0], " values, not a multiple of the block size ", tr.blck_size);
      t.flat_blocks = true;
    }
    const std::uint64_t nblocks = total / tr.blck_size;
    QTUNE_CHECK(nblocks <= std::numeric_limits<std::uint64_t>::max() / tr.type_size, f, ": tensor '", t.name,
                "' byte size overflows");
    t.nbytes = nblocks * tr.type_size;
    m.tensors.push_back(std::move(t));
  }

  const std::uint64_t data_start = (r.pos() + m.alignment - 1) / m.alignment * m.alignment;
  if (m.tensors.empty()) return m;  // a vocab-only file may end without padding
  QTUNE_CHECK(data_start <= bytes.size(), f, ": tensor data would start at byte ", data_start,
              ", past the end of the file (", bytes.size(), " bytes)");
  const std::uint64_t data_size = bytes.size() - data_start;
  std::uint64_t prev_end = 0;
  for (const tensor& t : m.tensors) {
    QTUNE_CHECK(t.offset % m.alignment == 0, f, ": tensor '", t.name, "' offset ", t.offset,
                " is not a multiple of the alignment ", m.alignment);
    QTUNE_CHECK(t.offset >= prev_end, f, ": tensor '", t.name, "' offset ", t.offset,
                " overlaps or precedes the previous tensor (which ends at ", prev_end, ")");
    QTUNE_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset, f, ": tensor '", t.name, "' data [",
                t.offset, ", ", t.offset + t.nbytes, ") runs past the end of the data section (", data_size,
                " bytes)");
    prev_end = t.offset + t.nbytes;
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(data_start));  // no second copy
  m.data = std::move(bytes);
  return m;
}

void write_gguf(const std::filesystem::path& path, const std::vector<kv>& metadata, const std::vector<tensor>& tensors,
                const std::vector<std::uint8_t>& data) {
  constexpr std::size_t alignment = 32;
  writer w;
  w.put<std::uint32_t>(gguf_magic);
  w.put<std::uint32_t>(3);
  w.put<std::uint64_t>(tensors.size());
  bool has_alignment = false;
  for (const kv& e : metadata) has_alignment |= e.key == "general.alignment";
  w.put<std::uint64_t>(metadata.size() + (has_alignment ? 0 : 1));
  for (const kv& e : metadata) {
    w.str(e.key);
    if (e.key == "general.alignment") {
      w.put<std::uint32_t>(gguf_value::u32);
      w.put<std::uint32_t>(alignment);
      continue;
    }
    w.put<std::uint32_t>(e.value.type);
    w.value(e.value);
  }
  if (!has_alignment) {
    w.str("general.alignment");
    w.put<std::uint32_t>(gguf_value::u32);
    w.put<std::uint32_t>(alignment);
  }
  std::uint64_t offset = 0;
  for (const tensor& t : tensors) {
    const type_traits tr = traits(t.format);
    QTUNE_CHECK(tr.in_gguf, path.string(), ": tensor '", t.name, "' has format ", to_string(t.format),
                ", which has no GGUF type (use a q*/f16/f32 type)");
    QTUNE_CHECK(t.ne.size() >= 1 && t.ne.size() <= 4 && t.ne[0] % tr.blck_size == 0, path.string(), ": tensor '",
                t.name, "' cannot be written: rows of ", t.ne[0], " values for block size ", tr.blck_size);
    QTUNE_CHECK(t.offset + t.nbytes <= data.size(), path.string(), ": tensor '", t.name, "' data out of range");
    w.str(t.name);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(t.ne.size()));
    for (auto ne : t.ne) w.put<std::uint64_t>(ne);
    w.put<std::uint32_t>(static_cast<std::uint32_t>(t.format.type));
    w.put<std::uint64_t>(offset);
    offset += (t.nbytes + alignment - 1) / alignment * alignment;
  }
  w.pad(alignment);
  for (const tensor& t : tensors) {
    w.out.insert(w.out.end(), data.begin() + static_cast<std::ptrdiff_t>(t.offset),
                 data.begin() + static_cast<std::ptrdiff_t>(t.offset + t.nbytes));
    w.pad(alignment);
  }
  write_file_bytes(path, w.out);
}

}  // namespace qtune::weights
