#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/detail/byte_source.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

/// \file
/// Readers for the IDX format of MNIST and Fashion-MNIST: two zero bytes, a data-type byte
/// (0x08: unsigned byte), a byte with the number of dimensions d, d big-endian uint32 sizes,
/// then the items in row-major order. Plain and gzip files are both read (decided by the first
/// two bytes, not the name); gzip needs zlib (NABLA_HAS_ZLIB).

namespace nabla {

namespace detail {

/// The sizes an IDX header declares and where its data starts.
struct IdxHeader {
    std::vector<std::uint64_t> dims;
    std::uint64_t data_offset = 0;  // 4 + 4 d
};

/// "0d": one byte as two hex digits.
inline std::string hex_byte(unsigned value) {
    const char digits[] = "0123456789abcdef";
    return std::string{digits[(value >> 4) & 0xf], digits[value & 0xf]};
}

/// The name of an IDX data-type code, for messages.
inline const char* idx_type_name(unsigned type) {
    switch (type) {
        case 0x08: return "unsigned byte";
        case 0x09: return "signed byte";
        case 0x0B: return "16-bit integer";
        case 0x0C: return "32-bit integer";
        case 0x0D: return "32-bit float";
        case 0x0E: return "64-bit float";
        default: return nullptr;
    }
}

/// Reads and checks the header: magic, type 0x08, `dimensions` sizes. `layout` names what the
/// dimensions mean ("images, rows, columns") for the message when their number is wrong.
inline IdxHeader read_idx_header(ByteSource& in, unsigned dimensions, const char* kind,
                                 const char* layout) {
    unsigned char magic[4];
    const std::size_t got = in.read(magic, 4);
    if (got < 4) {
        throw FileError(cat(in.path(), ": truncated header: the file ends at ", in.byte(got),
                            ", before the 4-byte IDX magic number"));
    }
    if (magic[0] != 0 || magic[1] != 0) {
        throw FileError(cat(in.at(magic[0] != 0 ? 0 : 1), ": not an IDX file: it starts with ",
                            hex_byte(magic[0]), " ", hex_byte(magic[1]),
                            ", an IDX file starts with 00 00"));
    }
    if (magic[2] != 0x08) {
        const char* name = idx_type_name(magic[2]);
        throw FileError(
            name ? cat(in.at(2), ": IDX data type 0x", hex_byte(magic[2]), " (", name,
                       ") is not supported: nabla reads unsigned bytes (type 0x08)")
                 : cat(in.at(2), ": 0x", hex_byte(magic[2]),
                       " is not an IDX data type (expected 0x08, unsigned byte)"));
    }
    if (magic[3] != dimensions) {
        throw FileError(cat(in.at(3), ": the header has ", plural(magic[3], "dimension"),
                            ", an IDX ", kind, " file has ", dimensions, " (", layout, ")"));
    }

    IdxHeader header;
    header.data_offset = 4 + 4 * std::uint64_t(dimensions);
    std::vector<unsigned char> sizes(4 * std::size_t(dimensions));
    const std::size_t got_sizes = in.read(sizes.data(), sizes.size());
    if (got_sizes < sizes.size()) {
        throw FileError(cat(in.path(), ": truncated header: the file ends at ",
                            in.byte(4 + got_sizes), ", the header of an IDX ", kind, " file is ",
                            header.data_offset, " bytes"));
    }
    for (std::size_t d = 0; d < dimensions; ++d) {
        const unsigned char* b = &sizes[4 * d];
        // Big-endian by definition of the format, whatever the machine's byte order.
        header.dims.push_back(std::uint64_t(b[0]) << 24 | std::uint64_t(b[1]) << 16 |
                              std::uint64_t(b[2]) << 8 | std::uint64_t(b[3]));
    }
    return header;
}

/// Reads `take` of the `count` items of `item_bytes` bytes each that follow the header, after
/// passing over the first `skip` of them. The header is checked against the file size before
/// anything is allocated; where the size is not known (gzip) the buffer grows only as data
/// really arrives. When all items are read, data after them is an error. `declared` says what
/// the header declares, for messages.
inline std::vector<unsigned char> read_idx_items(ByteSource& in, const IdxHeader& header,
                                                 std::uint64_t count, std::uint64_t item_bytes,
                                                 std::uint64_t take,
                                                 const std::string& declared,
                                                 std::uint64_t skip = 0) {
    const std::uint64_t limit = std::uint64_t(std::numeric_limits<std::ptrdiff_t>::max() / 2);
    if (item_bytes != 0 && count > (limit - header.data_offset) / item_bytes) {
        throw FileError(cat(in.at(4), ": the header says ", declared,
                            ": more data than nabla can hold"));
    }
    const std::uint64_t total = header.data_offset + count * item_bytes;
    const std::uint64_t wanted = take * item_bytes;

    if (in.size() >= 0) {
        const std::uint64_t size = std::uint64_t(in.size());
        if (size < total) {
            throw FileError(cat(in.path(), ": truncated data: the file ends at ", in.byte(size),
                                ", expected ", total, " bytes: the header says ", declared));
        }
        if (size > total) {
            throw FileError(cat(in.at(total), ": trailing data: the file has ", size,
                                " bytes, but the header says ", declared, ", which end here"));
        }
    }

    if (in.unbounded()) {
        // gzip or a pipe: what the header promises is the cap, checked as bytes arrive (one more
        // byte is let through, so that data past the end reads as trailing data).
        in.set_cap(total + 1, cat("the header says ", declared, ", which end at byte ", total));
    }
    // The items before `skip`, read through a small buffer and dropped: a rank that reads its
    // own rows holds only them.
    std::uint64_t passed = 0;
    std::vector<unsigned char> discard(skip > 0 ? std::size_t(1) << 16 : 0);
    while (passed < skip * item_bytes) {
        const std::size_t step =
            std::size_t(std::min<std::uint64_t>(discard.size(), skip * item_bytes - passed));
        const std::size_t got = in.read(discard.data(), step);
        passed += got;
        if (got < step) {
            throw FileError(cat(in.path(), ": truncated data: the file ends at ",
                                in.byte(header.data_offset + passed), ", expected ", total,
                                " bytes: the header says ", declared,
                                in.cut_short() ? " (and the gzip stream is cut short)" : ""));
        }
    }
    std::vector<unsigned char> data;
    if (in.size() >= 0) {
        data.resize(std::size_t(wanted));
        data.resize(in.read(data.data(), data.size()));
    } else {
        // Trust the header up to a bound: past it, memory grows only as data really arrives.
        data.reserve(std::size_t(std::min<std::uint64_t>(wanted, std::uint64_t(1) << 27)));
        std::size_t chunk = std::size_t(1) << 16;
        while (data.size() < wanted) {
            const std::size_t used = data.size();
            const std::size_t step = std::size_t(std::min<std::uint64_t>(chunk, wanted - used));
            data.resize(used + step);
            const std::size_t got = in.read(data.data() + used, step);
            data.resize(used + got);
            if (got < step) break;
            chunk = std::min<std::size_t>(chunk * 2, std::size_t(1) << 26);
        }
    }
    if (data.size() < wanted) {
        throw FileError(cat(in.path(), ": truncated data: the file ends at ",
                            in.byte(header.data_offset + passed + data.size()), ", expected ", total,
                            " bytes: the header says ", declared,
                            in.cut_short() ? " (and the gzip stream is cut short)" : ""));
    }
    if (skip + take == count && in.size() < 0) {
        unsigned char extra;
        if (in.read(&extra, 1) == 1) {
            throw FileError(cat(in.at(total), ": trailing data: the header says ", declared,
                                ", which end here, but the file goes on"));
        }
        if (in.cut_short()) {
            throw FileError(cat(in.at(total), ": the gzip stream is cut short after the data"));
        }
    }
    return data;
}

/// ConfigError unless `limit` is -1 (all) or at least 0.
inline void idx_check_limit(const char* function, Eigen::Index limit) {
    if (limit < -1) {
        throw ConfigError(cat(function, ": limit must be -1 (all) or at least 0, got ", limit));
    }
}

/// How many of `count` items to read for `limit` (-1: all) from item `first` on.
inline std::uint64_t idx_take(std::uint64_t count, Eigen::Index limit, std::uint64_t first = 0) {
    const std::uint64_t left = count - std::min(count, first);
    return limit == -1 ? left : std::min(left, std::uint64_t(limit));
}

/// ConfigError unless `first` is at least 0; FileError (the items the header at `where`
/// declares) when it is past them.
inline void idx_check_first(const char* function, Eigen::Index first, std::uint64_t count,
                            const std::string& where, const char* items) {
    if (first < 0) {
        throw ConfigError(cat(function, ": first must be at least 0, got ", first));
    }
    if (std::uint64_t(first) > count) {
        throw FileError(cat(where, ": the file holds ", count, " ", items, ", fewer than first = ",
                            first));
    }
}

/// Images and their size, as read from an IDX image file.
template <class Scalar>
struct IdxImages {
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> pixels;  ///< rows·cols × images read
    Eigen::Index rows = 0;            ///< Pixel rows of one image.
    Eigen::Index cols = 0;            ///< Pixel columns of one image.
    Eigen::Index count_in_file = 0;   ///< Images the file holds (more than read with a limit).
};

/// read_idx_images, keeping the image size and the count the header declares.
template <class Scalar>
IdxImages<Scalar> read_idx_images_with_shape(const std::string& path, Eigen::Index limit,
                                             Eigen::Index first = 0) {
    idx_check_limit("read_idx_images", limit);
    ByteSource in(path);
    const IdxHeader header = read_idx_header(in, 3, "image", "images, rows, columns");
    const std::uint64_t count = header.dims[0];
    const std::uint64_t rows = header.dims[1];
    const std::uint64_t cols = header.dims[2];
    if (rows == 0) throw FileError(cat(in.at(8), ": the images have 0 rows"));
    if (cols == 0) throw FileError(cat(in.at(12), ": the images have 0 columns"));
    if (rows * cols > std::uint64_t(std::numeric_limits<std::ptrdiff_t>::max() / 2)) {
        throw FileError(cat(in.at(8), ": images of ", rows, "x", cols,
                            " pixels are more than nabla can hold"));
    }
    idx_check_first("read_idx_images", first, count, in.at(4), "images");
    const std::uint64_t take = idx_take(count, limit, std::uint64_t(first));
    const std::vector<unsigned char> bytes = read_idx_items(
        in, header, count, rows * cols, take,
        cat(count, count == 1 ? " image" : " images", " of ", rows, "x", cols,
            " pixels (bytes 4-15)"),
        std::uint64_t(first));

    using Bytes = Eigen::Matrix<unsigned char, Eigen::Dynamic, Eigen::Dynamic>;
    IdxImages<Scalar> images;
    images.rows = Eigen::Index(rows);
    images.cols = Eigen::Index(cols);
    images.count_in_file = Eigen::Index(count);
    // Each image's bytes, row after row as stored, become one column; 255 maps to exactly 1.
    images.pixels = Eigen::Map<const Bytes>(bytes.data(), Eigen::Index(rows * cols),
                                            Eigen::Index(take))
                        .template cast<Scalar>() /
                    Scalar(255);
    return images;
}

/// read_idx_labels, keeping the count the header declares.
inline std::vector<int> read_idx_labels_counted(const std::string& path, int classes,
                                                Eigen::Index limit,
                                                Eigen::Index* count_in_file,
                                                Eigen::Index first = 0) {
    if (classes < 1 || classes > 256) {
        throw ConfigError(cat("read_idx_labels: classes must be 1 to 256 (labels are bytes), got ",
                              classes));
    }
    idx_check_limit("read_idx_labels", limit);
    ByteSource in(path);
    const IdxHeader header = read_idx_header(in, 1, "label", "labels");
    const std::uint64_t count = header.dims[0];
    idx_check_first("read_idx_labels", first, count, in.at(4), "labels");
    const std::uint64_t take = idx_take(count, limit, std::uint64_t(first));
    const std::vector<unsigned char> bytes = read_idx_items(
        in, header, count, 1, take, cat(count, count == 1 ? " label" : " labels", " (bytes 4-7)"),
        std::uint64_t(first));
    std::vector<int> labels(bytes.begin(), bytes.end());
    for (std::size_t k = 0; k < labels.size(); ++k) {
        if (labels[k] >= classes) {
            const std::uint64_t sample = std::uint64_t(first) + k;
            throw FileError(cat(in.at(header.data_offset + sample), ": label ", labels[k],
                                " of sample ", sample, " is out of range for ", classes,
                                " classes (0 to ",
                                classes - 1, ")"));
        }
    }
    if (count_in_file) *count_in_file = Eigen::Index(count);
    return labels;
}

}  // namespace detail

/// Reads an IDX image file (MNIST, Fashion-MNIST; plain or gzip) into a matrix with one image
/// per column: rows·cols × images, each column the image's pixels row after row as stored, each
/// value byte/255 in [0, 1]. At most `limit` images are read (-1: all), from image `first` on
/// (0: the front), so that each process of a distributed run can read only its own rows.
///
///     Eigen::MatrixXf x = nabla::read_idx_images("train-images-idx3-ubyte.gz");  // 784 x 60000
///     const nabla::Shard mine = nabla::rows_of(nabla::read_idx_count(path), *communicator);
///     Eigen::MatrixXf part = nabla::read_idx_images(path, mine.size(), mine.begin);
///
/// Throws FileError naming the file and the byte offset (of the decompressed data for gzip) for
/// a missing or unreadable file, a wrong magic number, a type other than unsigned byte (0x08),
/// a dimension count other than 3, a truncated header, data shorter or longer than the header
/// declares. A plain file's size is checked against its header before anything is allocated,
/// even with a limit; a gzip file with a limit is read only as far as needed; and for a `first`
/// past the images the file holds. ConfigError for a limit below -1 or a negative first.
template <class Scalar = float>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> read_idx_images(const std::string& path,
                                                                      Eigen::Index limit = -1,
                                                                      Eigen::Index first = 0) {
    return detail::read_idx_images_with_shape<Scalar>(path, limit, first).pixels;
}

/// Reads an IDX label file (plain or gzip): one int per sample, each checked to lie in
/// [0, classes). At most `limit` labels are read (-1: all), from label `first` on.
///
/// Throws FileError naming the file and byte offset for the faults read_idx_images reports
/// (with 1 dimension instead of 3) and for a label ≥ classes (its offset, sample and value);
/// ConfigError for classes outside 1..256 or a limit below -1.
inline std::vector<int> read_idx_labels(const std::string& path, int classes,
                                        Eigen::Index limit = -1, Eigen::Index first = 0) {
    return detail::read_idx_labels_counted(path, classes, limit, nullptr, first);
}

/// The number of items (images or labels) an IDX file's header declares, reading only the
/// header: how a process finds its rows (nabla::rows_of) before reading them. Throws FileError
/// for a file that is missing or whose header is not an IDX header of unsigned bytes.
inline Eigen::Index read_idx_count(const std::string& path) {
    detail::ByteSource in(path);
    unsigned char head[4];
    if (in.read(head, 4) < 4 || head[0] != 0 || head[1] != 0 || head[3] < 1) {
        throw FileError(detail::cat(path, ": not an IDX file with at least one dimension"));
    }
    unsigned char size[4];
    if (in.read(size, 4) < 4) {
        throw FileError(detail::cat(path, ": truncated header: the file ends before the item "
                                          "count at byte 4"));
    }
    return Eigen::Index(std::uint64_t(size[0]) << 24 | std::uint64_t(size[1]) << 16 |
                        std::uint64_t(size[2]) << 8 | std::uint64_t(size[3]));
}

}  // namespace nabla
