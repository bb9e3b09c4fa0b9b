#pragma once
// Helpers for the weights tests: temporary files and a little-endian byte builder for crafting
// GGUF / safetensors files by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qtune/error.hpp"

namespace qtune::testing {

inline std::filesystem::path weights_tmp(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("qtune_weights_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

struct bytes_builder {
  std::vector<std::uint8_t> b;
  template <class T>
  bytes_builder& put(T v) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(&v);
    b.insert(b.end(), p, p + sizeof(T));
    return *this;
  }
  bytes_builder& u8(std::uint8_t v) { return put(v); }
  bytes_builder& u32(std::uint32_t v) { return put(v); }
  bytes_builder& u64(std::uint64_t v) { return put(v); }
  bytes_builder& raw(const std::string& s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  bytes_builder& str(const std::string& s) { return u64(s.size()).raw(s); }
  bytes_builder& pad(std::size_t a) {
    while (b.size() % a) b.push_back(0);
    return *this;
  }
  bytes_builder& zeros(std::size_t n) {
    b.insert(b.end(), n, 0);
    return *this;
  }
  std::filesystem::path write(const std::string& name) const {
    const auto p = weights_tmp(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    return p;
  }
};

inline std::vector<std::uint8_t> file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace qtune::testing

/// Expects `stmt` to throw qtune::error whose message contains every one of the given strings.
#define QTUNE_EXPECT_ERROR(stmt, ...)                                                        \
  do {                                                                                       \
    try {                                                                                    \
      stmt;                                                                                  \
      ADD_FAILURE() << "expected qtune::error from: " #stmt;                                 \
    } catch (const ::qtune::error& e) {                                                      \
      const std::string msg = e.what();                                                      \
      for (const std::string& want : {__VA_ARGS__})                                          \
        EXPECT_NE(msg.find(want), std::string::npos) << "message '" << msg << "' lacks '" << want << "'"; \
    }                                                                                        \
  } while (0)
