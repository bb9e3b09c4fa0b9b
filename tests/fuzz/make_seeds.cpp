// Writes the fuzz targets' seed corpora with qtune's own writers: minimal valid inputs, a few
// hundred bytes each (a few KB for index files). Usage: qtune_fuzz_seeds <corpus dir>
// The output is committed under tests/fuzz/corpus/; rerun when a format changes.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "qtune/param_file.hpp"
#include "qtune/qtune.hpp"
#include "qtune/sweep.hpp"
#include "qtune/sweep_spec.hpp"
#include "qtune/weights.hpp"
#include "weights/imatrix.hpp"

namespace fs = std::filesystem;
using bytes = std::vector<std::uint8_t>;

namespace {

bytes read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const fs::path& dir, const std::string& name, const bytes& b, int prefix = -1) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  if (prefix >= 0) out.put(char(prefix));
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

void put_text(const fs::path& dir, const std::string& name, const std::string& s) {
  put(dir, name, bytes(s.begin(), s.end()));
}

bytes gzip(const bytes& in) {
  bytes out(compressBound(uLong(in.size())) + 32);
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<float> values(std::size_t n, float scale = 1.f) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::round(std::sin(float(i) * 1.3f) * 8.f) * scale;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path tmp = fs::temp_directory_path() / ("qtune-seeds-" + std::to_string(::getpid()));
  fs::create_directories(tmp);

  // --- TEXMEX (first byte: 0 fvecs, 1 ivecs, 2 bvecs) ---
  const auto v34 = values(12);
  qtune::write_fvecs(tmp / "a.fvecs", {v34.data(), 3, 4, 4});
  put(out / "texmex", "small.fvecs", read_all(tmp / "a.fvecs"), 0);
  qtune::int_matrix ids{{0, 1, 2, 2, 1, 0}, 2, 3};
  qtune::write_ivecs(tmp / "a.ivecs", ids);
  put(out / "texmex", "small.ivecs", read_all(tmp / "a.ivecs"), 1);
  const std::uint8_t b[8] = {1, 2, 3, 4, 250, 251, 252, 253};
  qtune::write_bvecs(tmp / "a.bvecs", {b, 2, 4, 4});
  put(out / "texmex", "small.bvecs", read_all(tmp / "a.bvecs"), 2);

  // --- .npy ---
  qtune::write_npy(tmp / "f4.npy", {v34.data(), 3, 4, 4}, qtune::npy_dtype::f32);
  put(out / "npy", "f4.npy", read_all(tmp / "f4.npy"));
  qtune::write_npy(tmp / "f2.npy", {v34.data(), 3, 4, 4}, qtune::npy_dtype::f16);
  put(out / "npy", "f2.npy", read_all(tmp / "f2.npy"));
  std::vector<float> u(12);
  for (std::size_t i = 0; i < u.size(); ++i) u[i] = float(i * 20);
  qtune::write_npy(tmp / "u1.npy", {u.data(), 3, 4, 4}, qtune::npy_dtype::u8);
  put(out / "npy", "u1.npy", read_all(tmp / "u1.npy"));
  qtune::write_npy(tmp / "i4.npy", {u.data(), 3, 4, 4}, qtune::npy_dtype::i32);
  put(out / "npy", "i4.npy", read_all(tmp / "i4.npy"));

  // --- IDX (first byte: 0 = file as is, 1 = gzip the rest) ---
  bytes idx3 = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 12; ++i) idx3.push_back(std::uint8_t(i * 21));
  put(out / "idx", "images.idx3", idx3, 0);
  put(out / "idx", "images-gz-here.idx3", idx3, 1);
  put(out / "idx", "images.idx3.gz", gzip(idx3), 0);
  const bytes idx1 = {0, 0, 8, 1, 0, 0, 0, 3, 7, 1, 9};
  put(out / "idx", "labels.idx1", idx1, 0);

  // --- HDF5: a description (see fuzz_hdf5.cpp): present bits, then per dataset
  //     rank, huge, dims, chunks, type, chunked, [deflate], values; then the attribute.
  {
    bytes d = {0x1f};
    auto dataset = [&](std::uint8_t rows, std::uint8_t dim, std::uint8_t type, std::uint8_t value_bytes) {
      const bytes head = {1, 1, rows, 2, dim, 2, type, 0};
      d.insert(d.end(), head.begin(), head.end());
      for (int i = 0; i < rows * dim * value_bytes; ++i) d.push_back(std::uint8_t(i % 5 == 0 ? 0x3f : 0));
    };
    dataset(3, 4, 0, 4);  // train: 3 x 4 float
    dataset(2, 4, 0, 4);  // test: 2 x 4 float
    d.insert(d.end(), {1, 1, 2, 2, 2, 2, 2, 0});  // neighbors: 2 x 2 int32, ids 0..2
    d.insert(d.end(), {0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0});
    dataset(2, 2, 0, 4);  // distances
    d.push_back(0);       // "euclidean"
    put(out / "hdf5", "ann.desc", d);
    bytes chunked = d;
    chunked[7] = 1;  // train chunked
    put(out / "hdf5", "ann-chunked.desc", chunked);
  }

  // --- sweep spec, parameter file ---
  put_text(out / "sweep_spec", "example.yaml", qtune::example_spec_text());
  put_text(out / "sweep_spec", "small.yaml",
           "name: s\ndataset:\n  base: b.fvecs\n  queries: q.fvecs\n  metric: l2\nk: 10\ntarget_recall: 0.9\n"
           "grid:\n  codecs: [fp32, sq8]\n  m: [8]\n  ef_construction: [50]\n  ef_search: [16, 32]\n"
           "  rerank: [0, 2]\n  faiss: [\"HNSW16,SQ8\"]\nobjective:\n  optimize: memory\n  memory_budget: 1MB\n");
  qtune::recommended_params p;
  p.dim = 4;
  p.config.codec = "sq8";
  p.config.rerank = 2;
  p.provenance.spec_path = "spec.yaml";
  p.provenance.date = "2026-01-01T00:00:00Z";
  put_text(out / "param_file", "recommended.yaml", qtune::render_param_file(p));

  // --- results.jsonl: two points, a multi-fidelity level record and ef_scaling records (one
  // with an interval open above, written as null) ---
  {
    qtune::measured_point a;
    a.config.kind = "hnsw", a.config.codec = "sq8", a.config.m = 16, a.config.ef_construction = 100;
    a.config.ef_search = 24, a.n_base = 10000, a.auto_found = true;
    qtune::measured_point b = a;
    b.config.codec = "pq8x8", b.config.rerank = 4, b.config.ef_search = 40, b.auto_found = false;
    qtune::ef_scaling s;
    s.arm = "hnsw|sq8|M16|efc100|rr0";
    s.needed = {{2000, 11.5}, {5000, 15.25}};
    s.n_full = 10000, s.predicted = 19, s.lo = 17, s.hi = 22, s.exponent = 0.31, s.measured = 24;
    qtune::ef_scaling open = s;
    open.arm = "hnsw|pq8x8|M16|efc100|rr4";
    open.hi = std::numeric_limits<double>::infinity(), open.measured.reset();
    put_text(out / "results_jsonl", "results.jsonl",
             qtune::to_json_line(a) + "\n" + qtune::to_json_line(b) + "\n" +
                 R"({"record":"fidelity_level","level":0,"arm":"x","decision":"drop","reason":"dominated"})" +
                 "\n" + qtune::to_json_line(s) + "\n" + qtune::to_json_line(open) + "\n");
  }

  // --- index files: small hnsw indexes over several codecs, and a FAISS one ---
  const auto base = values(24 * 8, 0.5f);
  for (const char* codec : {"fp32", "fp16", "sq8", "sq4", "bin", "pq4x4"}) {
    qtune::recommended_params ip;
    ip.dim = 8;
    ip.config.codec = codec;
    ip.config.m = 16;
    ip.config.ef_construction = 16;
    ip.config.rerank = std::string(codec) == "fp32" ? 0 : 2;
    ip.config.threads = 1;
    try {
      auto idx = qtune::build_index(ip, {base.data(), 24, 8, 8}, 1);
      idx->save(tmp / "i.qidx");
      put(out / "index_file", std::string("hnsw-") + codec + ".qidx", read_all(tmp / "i.qidx"));
    } catch (const qtune::error& e) {
      std::fprintf(stderr, "skipping index seed %s: %s\n", codec, e.what());
    }
  }
  {
    qtune::recommended_params fp;
    fp.dim = 8;
    fp.config.kind = "faiss:HNSW8,Flat";
    fp.config.threads = 1;
    auto idx = qtune::build_index(fp, {base.data(), 24, 8, 8}, 1);
    idx->save(tmp / "f.qidx");
    put(out / "index_file", "faiss-hnsw8-flat.qidx", read_all(tmp / "f.qidx"));
  }

  // --- GGUF and safetensors: two small tensors (f32 and q8_0) ---
  {
    namespace w = qtune::weights;
    w::model m;
    const auto x = values(64, 0.1f);
    w::tensor t;
    t.name = "a.weight";
    t.ne = {32, 2};
    t.format = w::parse_format("f32");
    t.offset = 0;
    t.nbytes = 64 * 4;
    m.data.resize(t.nbytes);
    std::memcpy(m.data.data(), x.data(), t.nbytes);
    m.tensors.push_back(t);
    w::tensor q = t;
    q.name = "b.weight";
    q.format = w::parse_format("q8_0");
    q.offset = m.data.size();
    q.nbytes = w::row_size(q.format, 32) * 2;
    m.data.resize(q.offset + q.nbytes);
    w::quantize(q.format, x.data(), 2, 32, m.data.data() + q.offset);
    m.tensors.push_back(q);
    w::kv name{"general.name", {}};
    name.value.type = w::gguf_value::str;
    name.value.s = "seed";
    w::write_gguf(tmp / "m.gguf", {name}, m.tensors, m.data);
    put(out / "gguf", "small.gguf", read_all(tmp / "m.gguf"));
    w::model f;
    f.tensors = {t};
    f.data.assign(m.data.begin(), m.data.begin() + std::ptrdiff_t(t.nbytes));
    w::write_safetensors_f32(tmp / "m.safetensors", f);
    put(out / "safetensors", "small.safetensors", read_all(tmp / "m.safetensors"));
  }

  // --- a tiny llama GGUF (one layer, width 4, two heads sharing one KV head, 8 tokens with an
  //     SPM vocabulary) for fuzz_llama_model, and an importance matrix for fuzz_imatrix ---
  {
    namespace w = qtune::weights;
    std::vector<w::kv> meta;
    auto add = [&](const std::string& key, w::gguf_value v) { meta.push_back({key, std::move(v)}); };
    auto u32 = [](std::uint64_t x) {
      w::gguf_value v;
      v.type = w::gguf_value::u32, v.u = x;
      return v;
    };
    auto str = [](const std::string& x) {
      w::gguf_value v;
      v.type = w::gguf_value::str, v.s = x;
      return v;
    };
    add("general.architecture", str("llama"));
    add("llama.embedding_length", u32(4));
    add("llama.block_count", u32(1));
    add("llama.attention.head_count", u32(2));
    add("llama.attention.head_count_kv", u32(1));
    add("llama.feed_forward_length", u32(8));
    add("llama.context_length", u32(16));
    w::gguf_value eps;
    eps.type = w::gguf_value::f32, eps.f = 1e-5;
    add("llama.attention.layer_norm_rms_epsilon", eps);
    add("tokenizer.ggml.model", str("llama"));
    const char* pieces[] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "\xe2\x96\x81" "a", "<0x41>"};
    const std::int64_t types[] = {2, 3, 3, 1, 1, 1, 1, 6};
    w::gguf_value tokens, scores, token_type;
    tokens.type = scores.type = token_type.type = w::gguf_value::array;
    tokens.elem_type = w::gguf_value::str, scores.elem_type = w::gguf_value::f32;
    token_type.elem_type = w::gguf_value::i32;
    for (int i = 0; i < 8; ++i) {
      tokens.items.push_back(str(pieces[i]));
      w::gguf_value sc, ty;
      sc.type = w::gguf_value::f32, sc.f = -double(i);
      ty.type = w::gguf_value::i32, ty.i = types[i];
      scores.items.push_back(sc), token_type.items.push_back(ty);
    }
    add("tokenizer.ggml.tokens", tokens);
    add("tokenizer.ggml.scores", scores);
    add("tokenizer.ggml.token_type", token_type);
    add("tokenizer.ggml.bos_token_id", u32(1));
    add("tokenizer.ggml.eos_token_id", u32(2));

    w::model m;
    auto tensor = [&](const std::string& name, std::vector<std::uint64_t> ne) {
      w::tensor t;
      t.name = name, t.ne = std::move(ne), t.format = w::parse_format("f32");
      const std::size_t n = t.n_values();
      t.offset = m.data.size(), t.nbytes = 4 * n;
      const auto x = values(n, 0.05f);
      m.data.resize(t.offset + t.nbytes);
      std::memcpy(m.data.data() + t.offset, x.data(), t.nbytes);
      m.tensors.push_back(t);
    };
    tensor("token_embd.weight", {4, 8});
    tensor("blk.0.attn_norm.weight", {4});
    tensor("blk.0.ffn_norm.weight", {4});
    tensor("blk.0.attn_q.weight", {4, 4});
    tensor("blk.0.attn_k.weight", {4, 2});
    tensor("blk.0.attn_v.weight", {4, 2});
    tensor("blk.0.attn_output.weight", {4, 4});
    tensor("blk.0.ffn_gate.weight", {4, 8});
    tensor("blk.0.ffn_up.weight", {4, 8});
    tensor("blk.0.ffn_down.weight", {8, 4});
    tensor("output_norm.weight", {4});
    w::write_gguf(tmp / "llama.gguf", meta, m.tensors, m.data);
    put(out / "llama_model", "tiny-llama.gguf", read_all(tmp / "llama.gguf"));

    w::imatrix im;
    im.entries["blk.0.attn_q.weight"] = {2, {0.5f, 1.f, 0.25f, 2.f}};
    im.entries["blk.0.ffn_down.weight"] = {2, {0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f}};
    im.last_call = 2;
    im.dataset = "tinystories.txt";
    w::write_imatrix(tmp / "im.dat", im);
    put(out / "imatrix", "small.imatrix", read_all(tmp / "im.dat"));
  }

  // --- evaluation text for fuzz_spm_text ---
  put_text(out / "spm_text", "story.txt", "Once upon a time, the cat sat on abc.\nThe end.\n");
  put_text(out / "spm_text", "unicode.txt", "\xe6\x97\xa5\xe6\x9c\xac \xc3\xa9t\xc3\xa9  abcabc\tthe\xe2\x98\x83\n");
  put_text(out / "spm_text", "user-defined.txt", "<|im|>ab\xc2\xa1u!c <0x41> \xe2\x96\x81the");

  // --- service request bodies (index dim 4) ---
  put_text(out / "service_json", "plain.json", R"({"vector": [0.5, 1, -2, 3.25], "k": 3})");
  put_text(out / "service_json", "ef.json", R"({"vector": [1e-3, 0, 0, 7], "k": 10, "ef": 40})");
  put_text(out / "service_json", "default-k.json", R"({"vector": [1, 2, 3, 4]})");
  put_text(out / "service_json", "escaped.json", "{\"vector\": [1, 2, 3, 4], \"k\\u0000\": \"\\u00e9\"}");

  fs::remove_all(tmp);
  std::printf("seeds written under %s\n", out.c_str());
  return 0;
}
