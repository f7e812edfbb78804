#pragma once

// The parts that two fuzz targets share, each compiled once: the model file readers
// (model_target.cpp) for fuzz_model and fuzz_model_crc, the IDX readers (idx_target.cpp) for
// fuzz_idx and fuzz_idx_gzip.

#include <cstddef>
#include <cstdint>
#include <string>

namespace nabla_fuzz {

/// Every reader of model files on the `size` bytes at `data`.
void fuzz_model_bytes(const std::uint8_t* data, std::size_t size);

/// Every IDX reader on the file at `path`.
void fuzz_idx_file(const std::string& path);

}  // namespace nabla_fuzz
