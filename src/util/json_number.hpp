#pragma once
// Integers read from JSON files that qtune writes and a person or a killed writer may have
// changed (results.jsonl, unit files, plan.json). nlohmann's get<std::size_t>() is an unchecked
// cast: on 1e95 (a float) it is undefined behaviour, on -1 it wraps to 2^64 - 1. These readers
// take only an integer literal that fits, and otherwise throw nlohmann's own type_error (302,
// as its get<> does for a string), naming the key and the value found, so that the readers'
// existing handlers add the file and line.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <type_traits>

namespace qtune {

/// `v` (the value of `key`) as T, when it is an integer literal within T's range.
template <class T, class Json>
T json_integer(const Json& v, std::string_view key) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using limits = std::numeric_limits<T>;
  if (v.is_number_unsigned()) {  // nlohmann keeps every non-negative integer literal here
    const auto u = v.template get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(limits::max())) return static_cast<T>(u);
  } else if (v.is_number_integer()) {  // negative
    const auto s = v.template get<std::int64_t>();
    if constexpr (std::is_signed_v<T>)
      if (s >= static_cast<std::int64_t>(limits::min())) return static_cast<T>(s);
  }
  const std::string found = v.is_primitive() ? v.dump() : std::string("an ") + v.type_name();  // no deep dump
  throw nlohmann::json::type_error::create(302,
                                           "'" + std::string(key) + "' must be an integer in [" +
                                               std::to_string(+limits::min()) + ", " +
                                               std::to_string(+limits::max()) + "], got " + found,
                                           &v);
}

/// The member `key` of the object `parent` as T (json_integer); a missing key throws nlohmann's
/// out_of_range, as `at` does.
template <class T, class Json>
T json_integer_at(const Json& parent, const char* key) {
  return json_integer<T>(parent.at(key), key);
}

}  // namespace qtune
