// GGUF: the reader on the real llama.cpp files, the Q8_0 oracle, byte-for-byte Q8_0
// quantization, the writer against the v3 specification, and one crafted file per rejection.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "qtune/weights.hpp"
#include "test_data.hpp"
#include "weights/weights_test_util.hpp"

namespace w = qtune::weights;
using qtune::testing::bytes_builder;

TEST(weights_gguf, reads_every_llama_cpp_file) {
  QTUNE_REQUIRE_DATA_FILE(dir, "gguf");
  const w::model s = w::read_gguf(dir / "stories260K.gguf");
  EXPECT_EQ(s.gguf_version, 3u);
  EXPECT_EQ(s.tensors.size(), 48u);
  EXPECT_EQ(s.metadata.size(), 19u);
  ASSERT_NE(s.find_kv("general.architecture"), nullptr);
  EXPECT_EQ(s.find_kv("general.architecture")->value.s, "llama");
  const w::model q = w::read_gguf(dir / "tinyllamas-stories-260k-q8_0.gguf");
  EXPECT_EQ(q.gguf_version, 2u);
  std::size_t n_q8 = 0, n_flat = 0;
  for (const auto& t : q.tensors) {
    n_q8 += t.format.type == w::wtype::q8_0;
    n_flat += t.flat_blocks;
  }
  EXPECT_EQ(n_q8, 37u);
  EXPECT_EQ(n_flat, 5u);  // blk.*.ffn_down: rows of 172 values, blocks straddle rows
  const w::model v1 = w::read_gguf(dir / "tinyllamas-stories-260k-f32.gguf");
  EXPECT_EQ(v1.gguf_version, 1u);
  ASSERT_EQ(v1.tensors.size(), 48u);
  for (const auto& t : v1.tensors) EXPECT_EQ(v1.to_float(t), s.to_float(s.find(t.name))) << t.name;
  const w::model d = w::read_gguf(dir / "dummy.gguf");
  EXPECT_EQ(d.metadata.size(), 15u);  // the 12 scalar value types + 3 arrays (README: all 13 types)
  for (std::size_t i = 0; i < d.tensors.size(); ++i)
    for (const float v : d.to_float(d.tensors[i])) ASSERT_EQ(v, 100.0f + static_cast<float>(i));
  const w::model r = w::read_gguf(dir / "llama-2-tiny-random.gguf");
  EXPECT_EQ(r.tensors.size(), 12u);
  const w::model vocab = w::read_gguf(dir / "ggml-vocab-llama-spm.gguf");  // no tensors, no end padding
  EXPECT_TRUE(vocab.tensors.empty());
}

TEST(weights_gguf, q8_0_dequantization_matches_reference_npy) {
  QTUNE_REQUIRE_DATA_FILE(dir, "gguf");
  const w::model q = w::read_gguf(dir / "tinyllamas-stories-260k-q8_0.gguf");
  for (const char* name : {"token_embd.weight", "blk.0.ffn_down.weight"}) {
    std::vector<std::uint64_t> shape;
    const std::vector<float> ref =
        w::read_npy(dir / "ref" / (std::string("tinyllamas-stories-260k-q8_0.") + name + ".npy"), &shape);
    const std::vector<float> x = q.to_float(q.find(name));
    ASSERT_EQ(x.size(), ref.size()) << name;
    EXPECT_EQ(std::memcmp(x.data(), ref.data(), 4 * x.size()), 0) << name << ": not bit-identical";
    EXPECT_EQ(shape[1], q.find(name).ne[0]);
  }
}

// The README: quantizing the F32 weights of stories260K.gguf with ggml's reference Q8_0 rule is
// byte-identical to all 37 Q8_0 tensors of the llama.cpp file (ffn_down as a flat stream).
TEST(weights_gguf, q8_0_quantizer_reproduces_llama_cpp_file_byte_for_byte) {
  QTUNE_REQUIRE_DATA_FILE(dir, "gguf");
  const w::model f32 = w::read_gguf(dir / "stories260K.gguf");
  const w::model q = w::read_gguf(dir / "tinyllamas-stories-260k-q8_0.gguf");
  std::size_t checked = 0;
  for (const auto& t : q.tensors) {
    if (t.format.type != w::wtype::q8_0) continue;
    const std::vector<float> x = f32.to_float(f32.find(t.name));
    std::vector<std::uint8_t> codes(w::row_size(t.format, x.size()));
    w::quantize(t.format, x.data(), x.size() / 32, 32, codes.data());
    ASSERT_EQ(codes.size(), t.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(codes.data(), q.data.data() + t.offset, codes.size()), 0) << t.name;
    ++checked;
  }
  EXPECT_EQ(checked, 37u);
}

// Writer: the file follows the GGUF v3 layout (checked by walking the bytes here, not with the
// reader), and reads back with identical tensors and metadata.
TEST(weights_gguf, written_file_follows_v3_spec_and_reads_back) {
  QTUNE_REQUIRE_DATA_FILE(path, "gguf/stories260K.gguf");
  const w::model m = w::read_gguf(path);
  std::vector<w::wformat> choice(m.tensors.size(), w::parse_format("q4_0"));
  choice[0] = w::parse_format("q8_0");
  const w::quantized_model q = w::quantize_model(m, choice);
  std::vector<w::tensor> infos;
  for (const auto& qt : q.tensors) infos.push_back(qt.info);
  const auto out = qtune::testing::weights_tmp("stories_q4_0.gguf");
  w::write_gguf(out, q.metadata, infos, q.data);

  const std::vector<std::uint8_t> b = qtune::testing::file_bytes(out);
  std::size_t p = 0;
  auto u32 = [&] { std::uint32_t v; std::memcpy(&v, b.data() + p, 4); p += 4; return v; };
  auto u64 = [&] { std::uint64_t v; std::memcpy(&v, b.data() + p, 8); p += 8; return v; };
  auto str = [&] { const auto n = u64(); std::string s(reinterpret_cast<const char*>(b.data() + p), n); p += n; return s; };
  ASSERT_EQ(std::string(reinterpret_cast<const char*>(b.data()), 4), "GGUF");
  p = 4;
  EXPECT_EQ(u32(), 3u);
  const std::uint64_t n_tensors = u64(), n_kv = u64();
  EXPECT_EQ(n_tensors, 48u);
  EXPECT_EQ(n_kv, m.metadata.size() + 3);  // + quantization_version, file_type, alignment
  std::map<std::string, std::uint32_t> u32_keys;
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = str();
    const std::uint32_t type = u32();
    // Skip the value: only u32 keys are read; the rest are skipped by type.
    std::function<void(std::uint32_t)> skip = [&](std::uint32_t t) {
      static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
      if (t == 8) { str(); return; }
      if (t == 9) { const auto et = u32(); const auto n = u64(); for (std::uint64_t k = 0; k < n; ++k) skip(et); return; }
      p += size[t];
    };
    if (type == 4) u32_keys[key] = u32(); else skip(type);
  }
  EXPECT_EQ(u32_keys["general.alignment"], 32u);
  EXPECT_EQ(u32_keys["general.quantization_version"], 2u);
  EXPECT_EQ(u32_keys["general.file_type"], 2u);  // MOSTLY_Q4_0
  std::vector<std::pair<std::uint64_t, std::uint64_t>> spans;
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    const std::string name = str();
    EXPECT_EQ(name, m.tensors[i].name);
    const std::uint32_t n_dims = u32();
    EXPECT_EQ(n_dims, m.tensors[i].ne.size());
    for (std::uint32_t d = 0; d < n_dims; ++d) EXPECT_EQ(u64(), m.tensors[i].ne[d]);
    const std::uint32_t type = u32();
    const std::uint64_t offset = u64();
    EXPECT_EQ(offset % 32, 0u) << name;
    EXPECT_EQ(type, static_cast<std::uint32_t>(q.tensors[i].info.format.type));
    spans.emplace_back(offset, q.tensors[i].info.nbytes);
  }
  const std::size_t data_start = (p + 31) / 32 * 32;
  for (std::size_t i = p; i < data_start; ++i) EXPECT_EQ(b[i], 0) << "padding byte " << i;
  for (std::size_t i = 1; i < spans.size(); ++i)
    EXPECT_EQ(spans[i].first, (spans[i - 1].first + spans[i - 1].second + 31) / 32 * 32);
  EXPECT_EQ(b.size(), data_start + (spans.back().first + spans.back().second + 31) / 32 * 32);

  const w::model back = w::read_gguf(out);
  ASSERT_EQ(back.tensors.size(), q.tensors.size());
  for (std::size_t i = 0; i < back.tensors.size(); ++i) {
    const auto& t = back.tensors[i];
    EXPECT_EQ(t.format, q.tensors[i].info.format);
    EXPECT_EQ(t.ne, q.tensors[i].info.ne);
    EXPECT_EQ(std::memcmp(back.data.data() + t.offset, q.data.data() + q.tensors[i].info.offset, t.nbytes), 0) << t.name;
  }
  ASSERT_EQ(back.metadata.size(), n_kv);
  for (std::size_t i = 0; i < m.metadata.size(); ++i) {
    EXPECT_EQ(back.metadata[i].key, m.metadata[i].key);
    EXPECT_EQ(back.metadata[i].value.type, m.metadata[i].value.type);
    EXPECT_EQ(back.metadata[i].value.s, m.metadata[i].value.s);
    EXPECT_EQ(back.metadata[i].value.items.size(), m.metadata[i].value.items.size());
  }
  // Quantized tensors decode within q4_0's error; the f32 norms are exact.
  EXPECT_LT(q.total.rel_rmse(), 0.12);
  EXPECT_EQ(back.to_float(back.find("output_norm.weight")), m.to_float(m.find("output_norm.weight")));
}

TEST(weights_gguf, writer_refuses_non_gguf_formats) {
  w::tensor t;
  t.name = "x";
  t.ne = {64, 2};
  t.format = w::parse_format("int4_g64");
  t.nbytes = w::row_size(t.format, 128);
  std::vector<std::uint8_t> data(t.nbytes);
  QTUNE_EXPECT_ERROR(w::write_gguf(qtune::testing::weights_tmp("bad.gguf"), {}, {t}, data), "int4_g64", "no GGUF type");
}

// ---- crafted files: one per rejection ----------------------------------------------------------

namespace {

struct tinfo {
  std::string name = "w";
  std::vector<std::uint64_t> ne = {32, 2};
  std::uint32_t type = 0;
  std::uint64_t offset = 0;
};

// A v3 file: optional alignment KV, tensor infos, padding, then `data_bytes` zero bytes.
bytes_builder gguf(const std::vector<tinfo>& ts, std::size_t data_bytes, std::uint32_t alignment = 32,
                   std::uint32_t version = 3) {
  bytes_builder b;
  b.raw("GGUF").u32(version).u64(ts.size()).u64(1);
  b.str("general.alignment").u32(4).u32(alignment);
  for (const auto& t : ts) {
    b.str(t.name).u32(static_cast<std::uint32_t>(t.ne.size()));
    for (auto d : t.ne) b.u64(d);
    b.u32(t.type).u64(t.offset);
  }
  if (alignment && (alignment & (alignment - 1)) == 0) b.pad(alignment);
  b.zeros(data_bytes);
  return b;
}

}  // namespace

TEST(weights_gguf, crafted_good_file_reads) {
  const auto p = gguf({tinfo{}}, 256).write("good.gguf");
  const w::model m = w::read_gguf(p);
  ASSERT_EQ(m.tensors.size(), 1u);
  EXPECT_EQ(m.tensors[0].nbytes, 256u);
}

TEST(weights_gguf, rejects_bad_magic) {
  bytes_builder b = gguf({tinfo{}}, 256);
  b.b[0] = 'X';
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("magic.gguf")), "magic.gguf", "not a GGUF file");
}

TEST(weights_gguf, rejects_unknown_version) {
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({tinfo{}}, 256, 32, 4).write("version.gguf")), "version.gguf", "version 4");
}

TEST(weights_gguf, rejects_tensor_count_that_cannot_fit) {
  bytes_builder b = gguf({tinfo{}}, 256);
  std::uint64_t huge = 1ull << 61;
  std::memcpy(b.b.data() + 8, &huge, 8);
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("count.gguf")), "count.gguf", "tensor count");
}

TEST(weights_gguf, rejects_kv_count_that_cannot_fit) {
  bytes_builder b = gguf({tinfo{}}, 256);
  std::uint64_t huge = ~0ull;
  std::memcpy(b.b.data() + 16, &huge, 8);
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("kvcount.gguf")), "kvcount.gguf", "KV count");
}

TEST(weights_gguf, rejects_string_length_past_end) {
  bytes_builder b;
  b.raw("GGUF").u32(3).u64(0).u64(1).u64(1000).raw("general.name");
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("strlen.gguf")), "strlen.gguf", "length 1000", "beyond the end");
}

TEST(weights_gguf, rejects_array_length_past_end) {
  bytes_builder b;
  b.raw("GGUF").u32(3).u64(0).u64(1).str("tokenizer.ggml.scores").u32(9).u32(6).u64(1ull << 40).zeros(64);
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("arrlen.gguf")), "arrlen.gguf", "tokenizer.ggml.scores", "elements");
}

TEST(weights_gguf, rejects_unknown_value_type) {
  bytes_builder b;
  b.raw("GGUF").u32(3).u64(0).u64(1).str("some.key").u32(13).u32(0);
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("vtype.gguf")), "vtype.gguf", "some.key", "unknown value type 13");
}

TEST(weights_gguf, rejects_alignment_not_power_of_two) {
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({tinfo{}}, 256, 48).write("align.gguf")), "align.gguf", "general.alignment is 48");
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({tinfo{}}, 256, 0).write("align0.gguf")), "align0.gguf", "general.alignment is 0");
}

TEST(weights_gguf, rejects_more_than_four_dims) {
  tinfo t;
  t.ne = {32, 1, 1, 1, 2};
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 256).write("dims.gguf")), "dims.gguf", "'w'", "5 dimensions");
}

TEST(weights_gguf, rejects_zero_dimension) {
  tinfo t;
  t.ne = {32, 0};
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 256).write("zero.gguf")), "zero.gguf", "dimension 1 equal to 0");
}

TEST(weights_gguf, rejects_negative_dimension) {
  tinfo t;
  t.ne = {32, ~0ull};
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 256).write("neg.gguf")), "neg.gguf", "negative dimension 1");
}

TEST(weights_gguf, rejects_element_count_overflow) {
  tinfo t;
  t.ne = {1ull << 40, 1ull << 40};
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 256).write("overflow.gguf")), "overflow.gguf", "overflows");
}

TEST(weights_gguf, rejects_unknown_tensor_type) {
  tinfo t;
  t.type = 99;
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 256).write("ttype.gguf")), "ttype.gguf", "'w'", "ggml type id 99");
}

TEST(weights_gguf, rejects_row_not_multiple_of_block_in_v3) {
  tinfo t;
  t.ne = {40, 4};  // 160 values = 5 Q8_0 blocks, but rows of 40
  t.type = 8;
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({t}, 5 * 34).write("rows.gguf")), "rows.gguf", "rows of 40",
                     "multiple of the block size 32");
}

TEST(weights_gguf, rejects_misaligned_offset) {
  tinfo a, b2;
  b2.name = "v";
  b2.offset = 264;
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({a, b2}, 1024).write("misal.gguf")), "misal.gguf", "'v'", "offset 264",
                     "alignment 32");
}

TEST(weights_gguf, rejects_offsets_out_of_order) {
  tinfo a, b2;
  a.offset = 256;
  b2.name = "v";
  b2.offset = 0;
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({a, b2}, 1024).write("order.gguf")), "order.gguf", "'v'", "overlaps or precedes");
}

TEST(weights_gguf, rejects_data_past_end_of_file) {
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({tinfo{}}, 100).write("short.gguf")), "short.gguf", "'w'", "past the end");
}

TEST(weights_gguf, rejects_duplicate_tensor_names) {
  tinfo a, b2;
  b2.offset = 256;
  QTUNE_EXPECT_ERROR(w::read_gguf(gguf({a, b2}, 512).write("dup.gguf")), "dup.gguf", "duplicate tensor name 'w'");
}

TEST(weights_gguf, rejects_truncated_header) {
  bytes_builder b = gguf({tinfo{}}, 256);
  b.b.resize(75);  // inside the first dimension of tensor "w"
  QTUNE_EXPECT_ERROR(w::read_gguf(b.write("trunc.gguf")), "trunc.gguf", "truncated at byte 70", "a dimension");
}
