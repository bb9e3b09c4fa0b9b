#include "util/npy_header.hpp"

#include <charconv>
#include <cstring>
#include <limits>

#include "qtune/error.hpp"

namespace qtune {

namespace {

std::size_t skip_ws(const std::string& s, std::size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
  return i;
}

/// Position just after `'key':` (whitespace skipped) in the dict literal.
std::size_t find_key(const std::filesystem::path& path, const std::string& h, const char* key) {
  const std::string k1 = std::string("'") + key + "'";
  const std::string k2 = std::string("\"") + key + "\"";
  std::size_t p = h.find(k1);
  std::size_t len = k1.size();
  if (p == std::string::npos) p = h.find(k2);
  QTUNE_CHECK(p != std::string::npos, path.string(), ": malformed .npy header: no '", key, "' key in ", h);
  p = skip_ws(h, p + len);
  QTUNE_CHECK(p < h.size() && h[p] == ':', path.string(), ": malformed .npy header: expected ':' after '", key,
              "' in ", h);
  return skip_ws(h, p + 1);
}

}  // namespace

npy_header parse_npy_header(const std::filesystem::path& path, const std::uint8_t* b, std::size_t size) {
  static const std::uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  QTUNE_CHECK(size >= 10 && std::memcmp(b, magic, 6) == 0, path.string(),
              ": bad .npy magic at byte offset 0, expected \\x93NUMPY");
  const int major = b[6], minor = b[7];
  QTUNE_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, path.string(),
              ": unsupported .npy format version ", major, ".", minor, " at byte offset 6, expected 1.0, 2.0 or 3.0");
  std::size_t hlen, hstart;
  if (major == 1) {
    hlen = std::size_t(b[8]) | (std::size_t(b[9]) << 8);
    hstart = 10;
  } else {
    QTUNE_CHECK(size >= 12, path.string(), ": truncated .npy header (", size, " bytes)");
    std::uint32_t l;
    std::memcpy(&l, b + 8, 4);
    hlen = l;
    hstart = 12;
  }
  QTUNE_CHECK(hlen <= size - hstart, path.string(), ": truncated .npy header: header length ", hlen,
              " at byte offset 8 runs past the end of the file (", size, " bytes)");
  const std::string h(reinterpret_cast<const char*>(b + hstart), hlen);
  const std::size_t open = skip_ws(h, 0);
  QTUNE_CHECK(open < h.size() && h[open] == '{' && h.find('}') != std::string::npos, path.string(),
              ": malformed .npy header: expected a dict literal {...}, got ", h);

  npy_header out;
  out.data_offset = hstart + hlen;

  std::size_t p = find_key(path, h, "descr");
  QTUNE_CHECK(p < h.size() && (h[p] == '\'' || h[p] == '"'), path.string(),
              ": malformed .npy header: 'descr' is not a string in ", h);
  const std::size_t q = h.find(h[p], p + 1);
  QTUNE_CHECK(q != std::string::npos, path.string(), ": malformed .npy header: unterminated 'descr' in ", h);
  out.descr = h.substr(p + 1, q - p - 1);

  p = find_key(path, h, "fortran_order");
  if (h.compare(p, 4, "True") == 0)
    fail(path.string(), ": .npy array has fortran_order True; only C-order arrays are supported "
                        "(save with np.ascontiguousarray)");
  QTUNE_CHECK(h.compare(p, 5, "False") == 0, path.string(),
              ": malformed .npy header: 'fortran_order' is neither True nor False in ", h);

  p = find_key(path, h, "shape");
  QTUNE_CHECK(p < h.size() && h[p] == '(', path.string(), ": malformed .npy header: 'shape' is not a tuple in ", h);
  const std::size_t close = h.find(')', p);
  QTUNE_CHECK(close != std::string::npos, path.string(), ": malformed .npy header: unterminated 'shape' in ", h);
  for (std::size_t i = skip_ws(h, p + 1); i < close;) {
    std::uint64_t v = 0;
    const char* first = h.data() + i;
    const auto [end, ec] = std::from_chars(first, h.data() + close, v);
    QTUNE_CHECK(ec == std::errc() && end != first, path.string(), ": malformed .npy header: 'shape' entry '",
                h.substr(i, close - i), "' is not a non-negative integer in ", h);
    QTUNE_CHECK(v <= std::uint64_t(std::numeric_limits<std::int64_t>::max()), path.string(),
                ": .npy 'shape' entry ", v, " is 2^63 or more in ", h);
    out.shape.push_back(v);
    i = skip_ws(h, static_cast<std::size_t>(end - h.data()));
    if (i < close) {
      QTUNE_CHECK(h[i] == ',', path.string(), ": malformed .npy header: bad 'shape' tuple in ", h);
      i = skip_ws(h, i + 1);
    }
  }
  return out;
}

}  // namespace qtune
