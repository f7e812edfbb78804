#pragma once

// Files for the reader tests: a fresh temporary directory removed at the end, and writers for
// plain and gzip files (gzip through zlib's own gzopen/gzwrite). Nothing here is under test.

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#ifdef NABLA_HAS_ZLIB
#include <zlib.h>
#endif

namespace nabla_test {

using Bytes = std::vector<unsigned char>;

/// A new, empty directory under the system's temporary directory, removed with its contents
/// when the object goes.
class TempDir {
public:
    TempDir() {
        std::random_device entropy;
        const std::filesystem::path base = std::filesystem::temp_directory_path();
        for (int attempt = 0; attempt < 100; ++attempt) {
            const std::filesystem::path candidate =
                base / ("nabla-test-" + std::to_string(entropy()) + "-" + std::to_string(attempt));
            if (std::filesystem::create_directory(candidate)) {
                m_path = candidate;
                return;
            }
        }
        throw std::runtime_error("cannot create a temporary directory");
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }

    /// The path of `name` in the directory, as a string.
    std::string file(const std::string& name) const { return (m_path / name).string(); }
    /// The directory itself.
    std::string path() const { return m_path.string(); }

private:
    std::filesystem::path m_path;
};

/// Writes `bytes` to `path` as they are.
inline void write_bytes(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

/// Writes `text` to `path` byte for byte (no line-end translation).
inline void write_text(const std::string& path, const std::string& text) {
    write_bytes(path, Bytes(text.begin(), text.end()));
}

/// The bytes of the file at `path`.
inline Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

#ifdef NABLA_HAS_ZLIB
/// Writes `bytes` gzip-compressed to `path`, with zlib.
inline void write_gzip(const std::string& path, const Bytes& bytes) {
    gzFile out = gzopen(path.c_str(), "wb");
    if (!out) throw std::runtime_error("cannot open " + path);
    const int written = bytes.empty() ? 0 : gzwrite(out, bytes.data(), unsigned(bytes.size()));
    if (gzclose(out) != Z_OK || written != int(bytes.size())) {
        throw std::runtime_error("cannot write " + path);
    }
}
#endif

/// The bytes of an IDX file: 00 00, the type byte, the number of dimensions, each dimension as
/// a big-endian uint32, then `data`.
inline Bytes idx_file(unsigned char type, const std::vector<std::uint32_t>& dims,
                      const Bytes& data) {
    Bytes bytes = {0, 0, type, static_cast<unsigned char>(dims.size())};
    for (std::uint32_t d : dims) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            bytes.push_back(static_cast<unsigned char>((d >> shift) & 0xff));
        }
    }
    bytes.insert(bytes.end(), data.begin(), data.end());
    return bytes;
}

}  // namespace nabla_test
