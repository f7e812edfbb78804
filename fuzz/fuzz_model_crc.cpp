// Fuzz target: model files with the checksum made right. The last 4 bytes are replaced by the
// CRC-32 of all before them, so that a mutated file passes the checksum and reaches what is
// checked after it: the bytes after the checksum, float ranges, and whether the model fits the
// network (loss, layers, registry, attributes). See model_target.cpp.

#include "targets.hpp"

#include <nabla/io/checksum.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static std::vector<std::uint8_t> bytes;
    bytes.assign(data, data + size);
    if (size >= 4) {
        const std::uint32_t crc = nabla::crc32(bytes.data(), size - 4);
        for (int i = 0; i < 4; ++i) bytes[size - 4 + i] = std::uint8_t(crc >> (8 * i));
    }
    nabla_fuzz::fuzz_model_bytes(bytes.data(), bytes.size());
    return 0;
}
