#include "common/hash.h"

#include <xxhash.h>

#include <array>
#include <cstdio>

namespace inferbench {

namespace {
std::string to_hex(XXH128_hash_t h) {
  std::array<char, 33> buf{};
  std::snprintf(buf.data(), buf.size(), "%016llx%016llx", static_cast<unsigned long long>(h.high64),
                static_cast<unsigned long long>(h.low64));
  return {buf.data(), 32};
}
}  // namespace

std::string content_hash(std::span<const std::uint8_t> bytes) {
  return to_hex(XXH3_128bits(bytes.data(), bytes.size()));
}

std::string content_hash(std::string_view text) { return to_hex(XXH3_128bits(text.data(), text.size())); }

std::uint64_t seeded_key(std::string_view hex_hash, std::uint64_t seed) {
  return XXH3_64bits_withSeed(hex_hash.data(), hex_hash.size(), seed);
}

}  // namespace inferbench
