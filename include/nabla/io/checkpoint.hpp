#pragma once

// Checkpoints of a training run: every few epochs fit() writes the whole state of the run — the
// weights, the optimizer's state, the generators (shuffle, dropout masks), the epoch, early
// stopping and the divergence guard, the History so far — to a file of its own, atomically, and
// keeps the newest few. fit() with FitOptions::resume_from continues such a run where it stopped,
// bit for bit: the weights after epoch 10 are the same whether the run was stopped after epoch 4
// and resumed or not.
//
// The file: the magic "NABLACKP", the format version (a little-endian u32, 1), the size of the
// payload (u64), the payload, and the CRC-32 of the payload (u32). The payload starts with the
// model file of the network (io/model_file.hpp) and goes on with the state of fit()'s loop.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/checksum.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace nabla {

/// Where and how often fit() writes checkpoints (FitOptions::checkpoints).
///
///     options.checkpoints = nabla::Checkpoints{"run/checkpoints", 5, 3};  // every 5 epochs, keep 3
///     ...                                       // the process dies in epoch 23
///     options.resume_from = nabla::latest_checkpoint("run/checkpoints");  // checkpoint-000020.nbc
///     nabla::fit(net, adam, x, y, options);     // epochs 21 … on, as if never stopped
struct Checkpoints {
    /// An existing directory; each checkpoint is a file checkpoint-NNNNNN.nbc, NNNNNN its epoch.
    std::string directory;
    int every = 1;  ///< Epochs between checkpoints, ≥ 1.
    int keep = 3;   ///< How many of the newest checkpoints to keep, ≥ 1; older ones are removed.
};

namespace detail::checkpoint {

/// The first bytes of every checkpoint file.
inline constexpr unsigned char magic[8] = {'N', 'A', 'B', 'L', 'A', 'C', 'K', 'P'};
/// The format version written.
inline constexpr std::uint32_t version = 1;

/// checkpoint-000012.nbc for epoch 12.
inline std::string file_name(int epoch) {
    std::string digits = std::to_string(epoch);
    if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
    return "checkpoint-" + digits + ".nbc";
}

/// The epoch of a checkpoint's file name, or -1 when `name` is not one.
inline long epoch_of(const std::string& name) {
    const std::string head = "checkpoint-";
    const std::string tail = ".nbc";
    if (name.size() <= head.size() + tail.size() || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - tail.size(), tail.size(), tail) != 0) {
        return -1;
    }
    const std::string digits = name.substr(head.size(), name.size() - head.size() - tail.size());
    if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stol(digits);
}

/// The checkpoints in `directory`, oldest first.
inline std::vector<std::filesystem::path> list(const std::string& directory) {
    std::vector<std::pair<long, std::filesystem::path>> found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(directory, ec), end; !ec && it != end;
         it.increment(ec)) {
        const long epoch = epoch_of(it->path().filename().string());
        if (epoch >= 0) found.emplace_back(epoch, it->path());
    }
    std::sort(found.begin(), found.end());
    std::vector<std::filesystem::path> paths;
    for (auto& [epoch, path] : found) paths.push_back(std::move(path));
    return paths;
}

/// Writes `payload` as the checkpoint of `epoch` in `settings.directory`, atomically, then
/// removes all but the newest settings.keep checkpoints there. Throws FileError as
/// write_file_atomically() does; the older checkpoints are then all still there.
inline void write(const Checkpoints& settings, int epoch,
                  const std::vector<unsigned char>& payload) {
    const std::string path =
        (std::filesystem::path(settings.directory) / file_name(epoch)).string();
    write_file_atomically(path, [&](std::ostream& out) {
        unsigned char head[20];
        std::copy(std::begin(magic), std::end(magic), head);
        for (int k = 0; k < 4; ++k) head[8 + k] = static_cast<unsigned char>(version >> (8 * k));
        const std::uint64_t size = payload.size();
        for (int k = 0; k < 8; ++k) head[12 + k] = static_cast<unsigned char>(size >> (8 * k));
        const std::uint32_t crc = crc32(payload.data(), payload.size());
        unsigned char tail[4];
        for (int k = 0; k < 4; ++k) tail[k] = static_cast<unsigned char>(crc >> (8 * k));
        out.write(reinterpret_cast<const char*>(head), sizeof head);
        out.write(reinterpret_cast<const char*>(payload.data()), std::streamsize(payload.size()));
        out.write(reinterpret_cast<const char*>(tail), sizeof tail);
    });
    const std::vector<std::filesystem::path> all = list(settings.directory);
    for (std::size_t k = 0; k + std::size_t(settings.keep) < all.size(); ++k) {
        std::error_code ignored;
        std::filesystem::remove(all[k], ignored);
    }
}

/// The payload of the checkpoint file at `path`, after checking its magic, version, size and
/// checksum; throws FileError naming the path and the byte offset otherwise. Only a regular
/// file is read, and only as many bytes as it holds.
inline std::vector<unsigned char> read(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw FileError(cat(path, ": ", std::filesystem::exists(path, ec)
                                            ? "is not a regular file, so not a checkpoint"
                                            : "cannot open the checkpoint: no such file"));
    }
    std::ifstream in(path, std::ios::binary);
    const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                           std::istreambuf_iterator<char>());
    if (!in.eof() && in.fail()) throw FileError(cat(path, ": read error"));
    if (bytes.size() < 24 || !std::equal(std::begin(magic), std::end(magic), bytes.begin())) {
        throw FileError(cat(path, ": byte 0: not a nabla checkpoint (it starts with "
                                  "\"NABLACKP\")"));
    }
    std::uint32_t stored_version = 0;
    for (int k = 0; k < 4; ++k) stored_version |= std::uint32_t(bytes[std::size_t(8 + k)]) << (8 * k);
    if (stored_version != version) {
        throw FileError(cat(path, ": byte 8: checkpoint format version ", stored_version,
                            " is not supported; this nabla reads version ", version));
    }
    std::uint64_t size = 0;
    for (int k = 0; k < 8; ++k) size |= std::uint64_t(bytes[std::size_t(12 + k)]) << (8 * k);
    if (size != bytes.size() - 24) {
        throw FileError(cat(path, ": byte 12: the payload is said to be ", size,
                            " bytes, but the file holds ", bytes.size() - 24,
                            " (the file is cut short or has data appended)"));
    }
    std::uint32_t stored_crc = 0;
    for (int k = 0; k < 4; ++k)
        stored_crc |= std::uint32_t(bytes[bytes.size() - 4 + std::size_t(k)]) << (8 * k);
    const std::uint32_t crc = crc32(bytes.data() + 20, std::size_t(size));
    if (crc != stored_crc) {
        throw FileError(cat(path, ": byte ", bytes.size() - 4, ": the checksum does not match "
                                  "the contents: the checkpoint is damaged"));
    }
    return std::vector<unsigned char>(bytes.begin() + 20, bytes.end() - 4);
}

}  // namespace detail::checkpoint

/// The newest checkpoint (the highest epoch) in `directory`, or "" when it holds none.
inline std::string latest_checkpoint(const std::string& directory) {
    const auto all = detail::checkpoint::list(directory);
    return all.empty() ? std::string() : all.back().string();
}

}  // namespace nabla
