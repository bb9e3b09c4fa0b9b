// Codec names: parsing, canonical spelling, the factory, the family list and save_codec /
// load_codec. Every name goes through parse_codec_name, so the CLI, YAML and files agree.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <istream>
#include <ostream>

#include "codec/codec_impl.hpp"

namespace qtune {

namespace detail {

namespace {

// Default range statistics, chosen by measurement (bench_codecs, recall@10 and relative
// error on sift10k, glove50-10k, fmnist10k): at 8 bits clipping buys nothing measurable and
// min-max is what FAISS QT_8bit does; at 4 bits clipping the 0.1% tails lowers the error.
constexpr double default_sq8_quantile = 0.0;
constexpr double default_sq4_quantile = 0.001;

std::string format_number(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

bool parse_size(std::string_view s, std::size_t& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

[[noreturn]] void bad_name(std::string_view name, std::string_view why) {
  fail("unknown codec '", name, "': ", why,
       " (expected fp32, fp16, bf16, sq8, sq4, sq8:minmax, sq4:q0.001, pq{M}x{4|8}, bin, rot,<codec>)");
}

}  // namespace

codec_spec default_sq_range(int bits) {
  codec_spec s;
  s.kind = family::sq;
  s.bits = bits;
  const double q = bits == 8 ? default_sq8_quantile : default_sq4_quantile;
  s.range = q > 0 ? sq_range::quantile : sq_range::minmax;
  s.quantile = q;
  return s;
}

std::string spec_to_string(const codec_spec& s) {
  const auto& [kind, rotate, bits, range, quantile, m] = s;
  std::string out = rotate ? "rot," : "";
  switch (kind) {
    case family::fp32: return out + "fp32";
    case family::fp16: return out + "fp16";
    case family::bf16: return out + "bf16";
    case family::sq: {
      out += "sq" + std::to_string(bits);
      const codec_spec d = default_sq_range(bits);
      if (range == d.range && (range != sq_range::quantile || quantile == d.quantile)) return out;
      if (range == sq_range::minmax) return out + ":minmax";
      if (range == sq_range::mse) return out + ":mse";
      return out + ":q" + format_number(quantile);
    }
    case family::pq: return out + "pq" + std::to_string(m) + "x" + std::to_string(bits);
    case family::bin: return out + "bin";
  }
  return out;
}

codec_spec parse_codec_name(std::string_view name) {
  std::string s;
  for (char ch : name)
    if (!std::isspace(static_cast<unsigned char>(ch))) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  QTUNE_CHECK(!s.empty(), "empty codec name");
  codec_spec spec;
  std::string_view v = s;
  if (v.starts_with("rot,")) {
    spec.rotate = true;
    v.remove_prefix(4);
    if (v.starts_with("rot,") || v == "rot") bad_name(name, "'rot,' may appear only once");
  }
  if (v == "fp32") {
    spec.kind = family::fp32;
  } else if (v == "fp16") {
    spec.kind = family::fp16;
  } else if (v == "bf16") {
    spec.kind = family::bf16;
  } else if (v == "bin") {
    spec.kind = family::bin;
    spec.bits = 1;
  } else if (v.starts_with("sq")) {
    const std::string_view rest = v.substr(2);
    const auto colon = rest.find(':');
    const std::string_view bits = rest.substr(0, colon);
    if (bits == "8") spec.bits = 8;
    else if (bits == "4") spec.bits = 4;
    else bad_name(name, "scalar quantizers have 8 or 4 bits");
    const codec_spec d = default_sq_range(spec.bits);
    spec.kind = family::sq;
    spec.range = d.range;
    spec.quantile = d.quantile;
    if (colon != std::string_view::npos) {
      const std::string_view stat = rest.substr(colon + 1);
      if (stat == "minmax") {
        spec.range = sq_range::minmax;
        spec.quantile = 0;
      } else if (stat == "mse") {
        spec.range = sq_range::mse;
        spec.quantile = 0;
      } else if (stat.starts_with("q") && stat.size() > 1) {
        double q = -1;
        const auto r = std::from_chars(stat.data() + 1, stat.data() + stat.size(), q);
        if (r.ec != std::errc() || r.ptr != stat.data() + stat.size() || !(q >= 0 && q < 0.5))
          bad_name(name, "the quantile in 'q<q>' must be a number in [0, 0.5)");
        spec.range = q > 0 ? sq_range::quantile : sq_range::minmax;
        spec.quantile = q;
      } else {
        bad_name(name, "the range statistic must be 'minmax', 'mse' or 'q<quantile>'");
      }
    }
  } else if (v.starts_with("pq")) {
    const std::string_view rest = v.substr(2);
    const auto x = rest.find('x');
    std::size_t m = 0, nbits = 8;
    if (!parse_size(rest.substr(0, x), m) || m == 0) bad_name(name, "pq needs a positive M, as in pq16x8");
    if (x != std::string_view::npos && !parse_size(rest.substr(x + 1), nbits))
      bad_name(name, "pq needs nbits after 'x', as in pq16x8");
    if (nbits != 4 && nbits != 8) bad_name(name, "pq supports nbits 4 or 8");
    spec.kind = family::pq;
    spec.m = m;
    spec.bits = static_cast<int>(nbits);
  } else {
    bad_name(name, "unrecognised family");
  }
  return spec;
}

namespace {

void check_spec_dim(const codec_spec& s, std::size_t dim, std::string_view name) {
  QTUNE_CHECK(dim > 0, "codec '", name, "': dim must be > 0");
  if (s.kind == family::pq)
    QTUNE_CHECK(dim % s.m == 0, "codec '", name, "': dim ", dim, " is not divisible by M = ", s.m,
                " (choose M among the divisors of ", dim, ")");
}

}  // namespace

}  // namespace detail

using namespace detail;

std::unique_ptr<codec> make_codec(std::string_view name, std::size_t dim, metric m) {
  const codec_spec s = parse_codec_name(name);
  check_spec_dim(s, dim, name);
  std::unique_ptr<codec> c;
  switch (s.kind) {
    case family::fp32:
    case family::fp16:
    case family::bf16: c = make_float_codec(s, dim, m); break;
    case family::sq: c = make_sq_codec(s, dim, m); break;
    case family::pq: c = make_pq_codec(s, dim, m); break;
    case family::bin: c = make_bin_codec(dim, m); break;
  }
  if (s.rotate) c = make_rot_codec(std::move(c), dim, m);
  return c;
}

std::string codec_spec::to_string() const { return spec_to_string(*this); }

codec_spec parse_codec_spec(std::string_view name) { return parse_codec_name(name); }

std::string to_string(codec_family f) {
  switch (f) {
    case codec_family::fp32: return "fp32";
    case codec_family::fp16: return "fp16";
    case codec_family::bf16: return "bf16";
    case codec_family::sq: return "sq";
    case codec_family::pq: return "pq";
    case codec_family::bin: return "bin";
  }
  return "?";
}

std::string canonical_codec_name(std::string_view name) { return parse_codec_name(name).to_string(); }

std::size_t codec_code_size(std::string_view name, std::size_t dim) {
  return make_codec(name, dim, metric::l2)->code_size();  // codecs are cheap to make; training is separate
}

std::vector<codec_info> list_codecs() {
  return {
      {"fp32", "float32, lossless (the reference)"},
      {"fp16", "IEEE half precision, round to nearest even"},
      {"bf16", "bfloat16 (float32 with a 7-bit mantissa), round to nearest even"},
      {"sq8", "8-bit scalar quantizer, per-dimension min/max range (sq8:q<q> clips at quantiles, sq8:mse at the least-error clipping)"},
      {"sq4", "4-bit scalar quantizer, per-dimension range clipped at the 0.1% quantiles (sq4:minmax: no clipping)"},
      {"pq16x8", "product quantizer: M=16 subspaces x 8-bit k-means codebooks (pq{M}x{4|8}, dim % M == 0)"},
      {"pq16x4", "product quantizer with 16-entry codebooks, two codes per byte"},
      {"bin", "1 bit per dimension (sign against the training mean, two learned levels); pair with rerank"},
      {"rot,sq4", "random orthogonal rotation, then any codec (rot,<codec>)"},
  };
}

namespace {
constexpr char stream_magic[8] = {'Q', 'T', 'C', 'O', 'D', 'E', 'C', '1'};
constexpr std::uint32_t stream_version = 1;
}  // namespace

void save_codec(const codec& c, std::ostream& out) {
  QTUNE_CHECK(c.is_trained(), "save_codec: codec '", c.name(), "' is not trained");
  stream_writer w(out);
  w.bytes(stream_magic, sizeof stream_magic);
  w.pod<std::uint32_t>(stream_version);
  w.pod<std::uint32_t>(static_cast<std::uint32_t>(c.created_metric()));  // cosine stays cosine
  w.pod<std::uint64_t>(c.dim());
  const std::string name = c.name();
  w.pod<std::uint32_t>(static_cast<std::uint32_t>(name.size()));
  w.bytes(name.data(), name.size());
  c.save(out);
}

std::unique_ptr<codec> load_codec(std::istream& in) {
  stream_reader r(in, "codec stream");
  char magic[8];
  r.bytes(magic, sizeof magic, "magic");
  QTUNE_CHECK(std::memcmp(magic, stream_magic, sizeof magic) == 0, "codec stream: bad magic '",
              std::string(magic, sizeof magic), "', expected 'QTCODEC1'");
  const auto version = r.pod<std::uint32_t>("version");
  QTUNE_CHECK(version == stream_version, "codec stream: unsupported version ", version, ", expected ",
              stream_version);
  const auto m = r.pod<std::uint32_t>("metric");
  QTUNE_CHECK(m <= static_cast<std::uint32_t>(metric::cosine), "codec stream: bad metric code ", m);
  const auto dim = r.pod<std::uint64_t>("dim");
  QTUNE_CHECK(dim > 0 && dim <= (1u << 24), "codec stream: implausible dim ", dim);
  const auto len = r.pod<std::uint32_t>("name length");
  QTUNE_CHECK(len > 0 && len <= 256, "codec stream: implausible name length ", len);
  std::string name(len, '\0');
  r.bytes(name.data(), len, "name");
  auto c = make_codec(name, dim, static_cast<metric>(m));
  QTUNE_CHECK(c->name() == name, "codec stream: name '", name, "' is not canonical (expected '", c->name(), "')");
  c->load(in);
  return c;
}

}  // namespace qtune
