// Fuzz target: model files as given. Most mutations break the checksum, which is checked after the
// header and the parameters have been read, so this target searches the header's checks;
// fuzz_model_crc.cpp reaches past the checksum. See model_target.cpp.

#include "targets.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    nabla_fuzz::fuzz_model_bytes(data, size);
    return 0;
}
