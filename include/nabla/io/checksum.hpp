#pragma once

#include <nabla/detail/requires_cxx17.hpp>

// CRC-32 as model files use it: the IEEE 802.3 polynomial in its reflected form (0xEDB88320),
// register preset to all ones, result complemented. It is the CRC of zip, gzip and PNG, so any of
// their tools can check a model file by hand; the check value of "123456789" is 0xCBF43926.
// Written here, table-driven, so that model files never need zlib.

#include <array>
#include <cstddef>
#include <cstdint>

namespace nabla {

namespace detail {

/// Entry n is the CRC register after shifting the byte n through it alone: the 256 cases of
/// eight bit-at-a-time steps, computed once at compile time.
constexpr std::array<std::uint32_t, 256> make_crc32_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t n = 0; n < 256; ++n) {
        std::uint32_t c = n;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        table[n] = c;
    }
    return table;
}

/// The byte-at-a-time table of the reflected polynomial 0xEDB88320.
inline constexpr std::array<std::uint32_t, 256> crc32_table = make_crc32_table();

}  // namespace detail

/// A CRC-32 computed piece by piece: update() with consecutive chunks gives the same value() as
/// one update() with all of them.
///
///     nabla::Crc32 crc;
///     crc.update(header, 20);
///     crc.update(payload, n);
///     std::uint32_t stored = crc.value();
class Crc32 {
public:
    /// Feeds `size` bytes starting at `data`.
    void update(const void* data, std::size_t size) {
        const auto* bytes = static_cast<const unsigned char*>(data);
        std::uint32_t c = m_register;
        for (std::size_t i = 0; i < size; ++i) {
            c = detail::crc32_table[(c ^ bytes[i]) & 0xFFU] ^ (c >> 8);
        }
        m_register = c;
    }

    /// The CRC-32 of every byte fed so far (0 for none).
    std::uint32_t value() const { return m_register ^ 0xFFFFFFFFU; }

private:
    std::uint32_t m_register = 0xFFFFFFFFU;
};

/// The CRC-32 of `size` bytes at `data`; crc32("123456789", 9) is 0xCBF43926.
inline std::uint32_t crc32(const void* data, std::size_t size) {
    Crc32 crc;
    crc.update(data, size);
    return crc.value();
}

}  // namespace nabla
