// Fuzz target: IDX image and label files as given (a file that starts with 1f 8b is read as gzip,
// as the readers decide by the first bytes). The readers take a path: the input is written to a
// file of this process first. See idx_target.cpp.

#include "fuzz_support.hpp"
#include "targets.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static nabla_fuzz::TempFile file("idx");
    nabla_fuzz::fuzz_idx_file(file.write(data, size));
    return 0;
}
