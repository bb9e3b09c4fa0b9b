// llama.cpp's SPM tokenizer (llm_tokenizer_spm): a score-ordered merge of adjacent symbols.
#include "weights/tokenizer_spm.hpp"

#include <algorithm>
#include <charconv>
#include <queue>

#include "qtune/error.hpp"

namespace qtune::weights {

namespace {

const std::string k_space = "\xe2\x96\x81";  // U+2581, SentencePiece's visible space

const gguf_value* array_kv(const model& m, const std::string& key) {
  const kv* e = m.find_kv(key);
  QTUNE_CHECK(e, m.path.string(), ": GGUF key '", key, "' is missing (needed by the tokenizer)");
  QTUNE_CHECK(e->value.type == gguf_value::array, m.path.string(), ": GGUF key '", key, "' is not an array");
  return &e->value;
}

std::int64_t int_kv(const model& m, const std::string& key, std::int64_t def) {
  const kv* e = m.find_kv(key);
  if (!e) return def;
  const gguf_value& v = e->value;
  if (v.type == gguf_value::i8 || v.type == gguf_value::i16 || v.type == gguf_value::i32 || v.type == gguf_value::i64)
    return v.i;
  if (v.type == gguf_value::str || v.type == gguf_value::array || v.type == gguf_value::f32 || v.type == gguf_value::f64)
    fail(m.path.string(), ": GGUF key '", key, "' is not an integer");
  return static_cast<std::int64_t>(v.u);
}

bool bool_kv(const model& m, const std::string& key, bool def) {
  const kv* e = m.find_kv(key);
  return e && e->value.type == gguf_value::boolean ? e->value.u != 0 : def;
}

std::size_t utf8_len(std::uint8_t c) noexcept {
  static constexpr std::size_t lookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return lookup[c >> 4];
}

struct symbol {
  int prev, next;
  const char* text;
  std::size_t n;
};

struct bigram {
  int left, right;
  float score;
  std::size_t size;
};
struct bigram_order {  // the priority queue's top: highest score, then the leftmost pair
  bool operator()(const bigram& l, const bigram& r) const noexcept {
    return l.score < r.score || (l.score == r.score && l.left > r.left);
  }
};

}  // namespace

void check_utf8(std::string_view s, const std::string& what) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<std::uint8_t>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else fail(what, ": not valid UTF-8 at byte ", i, " (byte 0x", std::hex, static_cast<int>(c), ")");
    QTUNE_CHECK(i + len <= s.size(), what, ": not valid UTF-8 at byte ", i, " (truncated sequence at the end)");
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<std::uint8_t>(s[i + k]);
      QTUNE_CHECK((b & 0xc0) == 0x80, what, ": not valid UTF-8 at byte ", i + k, " (expected a continuation byte)");
      cp = (cp << 6) | (b & 0x3f);
    }
    const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    QTUNE_CHECK(!overlong && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff), what, ": not valid UTF-8 at byte ", i,
                " (overlong form, surrogate or code point above U+10FFFF)");
    i += len;
  }
}

spm_tokenizer spm_tokenizer::from_gguf(const model& m) {
  const std::string f = m.path.string();
  const kv* tm = m.find_kv("tokenizer.ggml.model");
  QTUNE_CHECK(tm && tm->value.type == gguf_value::str, f, ": tokenizer.ggml.model is missing");
  QTUNE_CHECK(tm->value.s == "llama", f, ": tokenizer '", tm->value.s,
              "' is not supported (only the SPM tokenizer, tokenizer.ggml.model = llama)");
  const gguf_value* toks = array_kv(m, "tokenizer.ggml.tokens");
  spm_tokenizer t;
  const std::size_t n = toks->items.size();
  QTUNE_CHECK(n > 0 && n < (1u << 31), f, ": tokenizer.ggml.tokens has ", n, " entries");
  for (const auto& v : toks->items) {
    QTUNE_CHECK(v.type == gguf_value::str, f, ": tokenizer.ggml.tokens holds a non-string");
    t.tokens_.push_back(v.s);
  }
  t.scores_.assign(n, 0.0f);
  if (m.find_kv("tokenizer.ggml.scores")) {
    const gguf_value* sc = array_kv(m, "tokenizer.ggml.scores");
    QTUNE_CHECK(sc->items.size() == n, f, ": ", sc->items.size(), " token scores for ", n, " tokens");
    for (std::size_t i = 0; i < n; ++i) t.scores_[i] = static_cast<float>(sc->items[i].f);
  }
  t.types_.assign(n, normal);
  if (m.find_kv("tokenizer.ggml.token_type")) {
    const gguf_value* ty = array_kv(m, "tokenizer.ggml.token_type");
    QTUNE_CHECK(ty->items.size() == n, f, ": ", ty->items.size(), " token types for ", n, " tokens");
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t v = ty->items[i].type == gguf_value::i32 ? ty->items[i].i
                                                                   : static_cast<std::int64_t>(ty->items[i].u);
      t.types_[i] = v >= 1 && v <= 6 ? static_cast<token_type>(v) : normal;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    t.to_id_[t.tokens_[i]] = static_cast<std::int32_t>(i);  // the last one wins, as in llama.cpp
    if (t.types_[i] == user_defined && !t.tokens_[i].empty()) t.user_defined_.push_back(static_cast<std::int32_t>(i));
  }
  std::stable_sort(t.user_defined_.begin(), t.user_defined_.end(),
                   [&](auto a, auto b) { return t.tokens_[a].size() > t.tokens_[b].size(); });
  auto id = [&](const char* key, std::int64_t def) {
    const std::int64_t v = int_kv(m, key, def);
    QTUNE_CHECK(v >= 0 && static_cast<std::size_t>(v) < n, f, ": ", key, " = ", v, " is not a token id");
    return static_cast<std::int32_t>(v);
  };
  t.bos_ = id("tokenizer.ggml.bos_token_id", 1);
  t.eos_ = id("tokenizer.ggml.eos_token_id", 2);
  t.unk_ = id("tokenizer.ggml.unknown_token_id", 0);
  t.add_bos_ = bool_kv(m, "tokenizer.ggml.add_bos_token", true);
  t.add_space_prefix_ = bool_kv(m, "tokenizer.ggml.add_space_prefix", true);
  return t;
}

std::int32_t spm_tokenizer::byte_token(std::uint8_t c) const {
  static const char* hex = "0123456789ABCDEF";
  const char buf[7] = {'<', '0', 'x', hex[c >> 4], hex[c & 15], '>', 0};
  if (auto it = to_id_.find(buf); it != to_id_.end()) return it->second;
  if (auto it = to_id_.find(std::string(1, static_cast<char>(c))); it != to_id_.end()) return it->second;
  return unk_;
}

void spm_tokenizer::encode_fragment(std::string_view raw, std::vector<std::int32_t>& out) const {
  std::string text;
  for (const char c : raw) {
    if (c == ' ') text += k_space;
    else text += c;
  }
  std::vector<symbol> syms;
  for (std::size_t offs = 0; offs < text.size();) {
    const std::size_t len = std::min(utf8_len(static_cast<std::uint8_t>(text[offs])), text.size() - offs);
    const int index = static_cast<int>(syms.size());
    offs += len;
    syms.push_back({index - 1, offs == text.size() ? -1 : index + 1, text.data() + offs - len, len});
  }
  std::priority_queue<bigram, std::vector<bigram>, bigram_order> queue;
  auto try_add = [&](int left, int right) {
    if (left == -1 || right == -1) return;
    const std::string s(syms[left].text, syms[left].n + syms[right].n);
    const auto it = to_id_.find(s);
    if (it == to_id_.end()) return;
    queue.push({left, right, scores_[static_cast<std::size_t>(it->second)], s.size()});
  };
  for (int i = 1; i < static_cast<int>(syms.size()); ++i) try_add(i - 1, i);
  while (!queue.empty()) {
    const bigram b = queue.top();
    queue.pop();
    symbol& l = syms[b.left];
    symbol& r = syms[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // outdated
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  // A symbol is a token, or an unmerged character: its bytes (merges only make tokens, so
  // llama.cpp's re-segmentation of merged symbols never applies here).
  for (int i = syms.empty() ? -1 : 0; i != -1; i = syms[i].next) {
    const std::string s(syms[i].text, syms[i].n);
    if (auto it = to_id_.find(s); it != to_id_.end()) {
      out.push_back(it->second);
    } else {
      for (const char c : s) out.push_back(byte_token(static_cast<std::uint8_t>(c)));
    }
  }
}

std::vector<std::int32_t> spm_tokenizer::encode(std::string_view text, bool add_bos) const {
  std::vector<std::int32_t> out;
  if (add_bos && add_bos_) out.push_back(bos_);
  bool prev_special = true;  // the first fragment gets the space prefix
  std::size_t start = 0;
  auto raw = [&](std::string_view frag) {
    if (frag.empty()) return;
    std::string s;
    if (add_space_prefix_ && prev_special) s = " ";
    s += frag;
    encode_fragment(s, out);
    prev_special = false;
  };
  if (!user_defined_.empty()) {
    for (std::size_t i = 0; i < text.size();) {
      std::int32_t hit = -1;
      for (const std::int32_t id : user_defined_)
        if (text.substr(i, tokens_[id].size()) == tokens_[id]) {
          hit = id;
          break;
        }
      if (hit < 0) {
        ++i;
        continue;
      }
      raw(text.substr(start, i - start));
      out.push_back(hit);
      prev_special = true;
      i += tokens_[hit].size();
      start = i;
    }
  }
  raw(text.substr(start));
  return out;
}

std::string spm_tokenizer::piece(std::int32_t id) const {
  QTUNE_CHECK(id >= 0 && static_cast<std::size_t>(id) < tokens_.size(), "token id ", id, " out of range");
  const std::string& t = tokens_[static_cast<std::size_t>(id)];
  switch (types_[static_cast<std::size_t>(id)]) {
    case normal: {
      std::string s;
      for (std::size_t p = 0; p < t.size();) {
        if (t.compare(p, k_space.size(), k_space) == 0) {
          s += ' ';
          p += k_space.size();
        } else {
          s += t[p++];
        }
      }
      return s;
    }
    case user_defined: return t;
    case unknown: return "\xe2\x96\x85";  // U+2585, as llama.cpp prints an unknown token
    case byte: {  // "<0xXX>" is its byte; any other text of a byte token prints as itself
      unsigned v = 0;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' &&
          std::from_chars(t.data() + 3, t.data() + 5, v, 16).ptr == t.data() + 5)
        return std::string(1, static_cast<char>(v));
      return t;
    }
    default: return "";  // control, unused
  }
}

std::string spm_tokenizer::decode(const std::vector<std::int32_t>& tokens) const {
  std::string out;
  bool first = true;
  for (const std::int32_t id : tokens) {
    std::string p = piece(id);
    if (first && add_space_prefix_ && types_[static_cast<std::size_t>(id)] != control && !p.empty() && p[0] == ' ')
      p.erase(0, 1);
    if (types_[static_cast<std::size_t>(id)] != control) first = false;
    out += p;
  }
  return out;
}

}  // namespace qtune::weights
