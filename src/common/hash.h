#pragma once
// Content hashes. XXH3-128 of the bytes, as 32 lowercase hex digits: fast
// enough to hash a whole dataset on every scan, wide enough that a collision
// between two different images is not a practical concern.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace inferbench {

std::string content_hash(std::span<const std::uint8_t> bytes);
std::string content_hash(std::string_view text);

// A well-mixed 64-bit value derived from a hex content hash and a seed. Used
// to place an image in a split: it depends only on the image's own bytes and
// the seed, so adding other images never moves it.
std::uint64_t seeded_key(std::string_view hex_hash, std::uint64_t seed);

}  // namespace inferbench
