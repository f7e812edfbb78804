#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#ifdef NABLA_HAS_ZLIB
#include <zlib.h>
#endif

namespace nabla::detail {

/// The most bytes read from a source whose size the file system does not tell (a pipe, a FIFO,
/// a device such as /dev/stdin) or that is decompressed (gzip) when nothing else bounds it:
/// 1 GiB. Past it a reader stops with a FileError instead of growing its memory without end.
inline constexpr std::uint64_t stream_limit = std::uint64_t(1) << 30;

/// The bytes of a file, plain or gzip-compressed, read front to back. Whether the file is gzip
/// is decided by its first two bytes (1f 8b), never by its name, so `data.idx` holding gzip and
/// `data.gz` holding plain bytes both read correctly. Offsets are those of the bytes delivered:
/// for gzip, offsets into the decompressed data.
///
/// Gzip needs zlib, compiled in when NABLA_HAS_ZLIB is defined (the CMake target defines it when
/// it finds zlib); without it a gzip file throws a FileError that says so.
class ByteSource {
public:
    /// Opens `path`; throws FileError when it is missing, a directory, or unreadable.
    explicit ByteSource(std::string path) : m_path(std::move(path)) {
        std::error_code ec;
        if (std::filesystem::is_directory(m_path, ec)) {
            throw FileError(cat(m_path, ": is a directory, not a file"));
        }
        errno = 0;
        m_file.reset(std::fopen(m_path.c_str(), "rb"));
        if (!m_file) {
            const int error = errno;
            throw FileError(cat(m_path, ": cannot open the file: ",
                                error ? std::generic_category().message(error)
                                      : std::string("unknown error")));
        }
        m_pending_count = read_plain(m_pending, 2);
        m_compressed = m_pending_count == 2 && m_pending[0] == 0x1f && m_pending[1] == 0x8b;
        if (m_compressed) {
            open_gzip();
            return;
        }
        if (std::filesystem::is_regular_file(m_path, ec)) {
            const std::uintmax_t size = std::filesystem::file_size(m_path, ec);
            if (!ec && size <= std::uintmax_t(INT64_MAX)) m_size = std::int64_t(size);
        }
    }

    ByteSource(const ByteSource&) = delete;
    ByteSource& operator=(const ByteSource&) = delete;

    /// The path as given.
    const std::string& path() const { return m_path; }
    /// True for a gzip file: offsets and sizes are then those of the decompressed data.
    bool compressed() const { return m_compressed; }
    /// The size of the data in bytes when known before reading (a plain regular file), else -1.
    std::int64_t size() const { return m_size; }
    /// Bytes delivered so far: the offset of the next byte.
    std::uint64_t position() const { return m_position; }
    /// True once a gzip stream has ended before its end marker: the file is cut short.
    bool cut_short() const { return m_cut_short; }
    /// True when the size of the data is not known before reading it: gzip, a pipe, a device.
    bool unbounded() const { return m_size < 0; }

    /// Caps the bytes delivered at `bytes`, checked as they arrive: reading past the cap throws
    /// FileError naming `promise` ("the header promises 1000 bytes"). Bounds a gzip file or a
    /// pipe, whose size is not known before reading, by what its header promises.
    void set_cap(std::uint64_t bytes, std::string promise) {
        m_cap = bytes;
        m_promise = std::move(promise);
    }

    /// "byte 12" (plain) or "byte 12 of the decompressed data" (gzip).
    std::string byte(std::uint64_t offset) const {
        return cat("byte ", offset, m_compressed ? " of the decompressed data" : "");
    }

    /// "path: byte 12": the place of an error, as a reader's message starts.
    std::string at(std::uint64_t offset) const { return cat(m_path, ": ", byte(offset)); }

    /// Reads up to `count` bytes into `out`; returns fewer only at the end of the data. Throws
    /// FileError on a read error or corrupt gzip data.
    std::size_t read(unsigned char* out, std::size_t count) {
        if (count > m_cap - std::min(m_cap, m_position)) {
            // Room for one byte past the cap, so that data past it is seen, and refused.
            count = std::size_t(m_cap - std::min(m_cap, m_position)) + 1;
        }
        std::size_t got = 0;
        while (m_pending_used < m_pending_count && got < count) {
            out[got++] = m_pending[m_pending_used++];
        }
        if (got < count) got += m_compressed ? read_gzip(out + got, count - got)
                                             : read_plain(out + got, count - got);
        m_position += got;
        if (m_position > m_cap) {
            throw FileError(cat(at(m_cap), ": ", m_compressed ? "the decompressed data go" : "the data go",
                                " on past ", m_cap, " bytes, but ", m_promise,
                                "; nothing past it is read"));
        }
        return got;
    }

    /// Reads everything that is left, growing the buffer as data arrives, so a corrupt or
    /// hostile file cannot make it allocate more than the data really holds; from a source of
    /// unknown size (gzip, a pipe, a device), at most stream_limit bytes. With `text`, a NUL
    /// byte is refused where it arrives, so that a binary file or a device such as /dev/zero is
    /// not read to the end. Throws FileError when a gzip stream is cut short.
    std::vector<unsigned char> read_rest(bool text = false) {
        if (unbounded() && m_cap > stream_limit) {
            set_cap(stream_limit, cat("nabla reads at most ", stream_limit, " bytes (1 GiB) from ",
                                      m_compressed ? "a gzip file" : "a pipe or device",
                                      " whose size it cannot know first"));
        }
        const std::uint64_t start = m_position;
        std::vector<unsigned char> data;
        std::size_t chunk = std::size_t(1) << 16;
        for (;;) {
            const std::size_t used = data.size();
            data.resize(used + chunk);
            const std::size_t got = read(data.data() + used, chunk);
            data.resize(used + got);
            if (text) {
                const void* nul = std::memchr(data.data() + used, 0, got);
                if (nul) {
                    const std::uint64_t at_byte =
                        std::uint64_t(static_cast<const unsigned char*>(nul) - data.data());
                    throw FileError(cat(at(start + at_byte), ": a NUL byte, which no text file holds: "
                                                     "this is not a text (CSV) file"));
                }
            }
            if (got < chunk) break;
            chunk = std::min<std::size_t>(chunk * 2, std::size_t(1) << 26);
        }
        if (m_cut_short) {
            throw FileError(cat(at(m_position), ": the gzip stream is cut short (the file is "
                                                "incomplete)"));
        }
        return data;
    }

private:
    struct CloseFile {
        void operator()(std::FILE* file) const { std::fclose(file); }
    };

    std::size_t read_plain(unsigned char* out, std::size_t count) {
        const std::size_t got = std::fread(out, 1, count, m_file.get());
        if (got < count && std::ferror(m_file.get())) {
            throw FileError(cat(at(m_position + got), ": read error"));
        }
        return got;
    }

#ifdef NABLA_HAS_ZLIB
    struct CloseGzip {
        void operator()(gzFile file) const { gzclose(file); }
    };

    void open_gzip() {
        m_file.reset();
        m_gzip.reset(gzopen(m_path.c_str(), "rb"));
        if (!m_gzip) throw FileError(cat(m_path, ": cannot open the gzip file"));
        gzbuffer(m_gzip.get(), 1U << 17);  // fewer, larger reads of the compressed file
        m_pending_count = 0;
    }

    std::size_t read_gzip(unsigned char* out, std::size_t count) {
        std::size_t got = 0;
        while (got < count) {
            // gzread counts in unsigned int and returns int: read in pieces that fit both.
            const unsigned piece = unsigned(std::min<std::size_t>(count - got, INT_MAX / 2));
            const int n = gzread(m_gzip.get(), out + got, piece);
            if (n < 0) {
                int code = 0;
                const char* message = gzerror(m_gzip.get(), &code);
                throw FileError(cat(at(m_position + got), ": corrupt gzip data (",
                                    message ? message : "unknown zlib error", ")"));
            }
            got += std::size_t(n);
            if (unsigned(n) < piece) {
                // zlib reports a stream without its end marker as Z_BUF_ERROR, not as a failure.
                int code = 0;
                gzerror(m_gzip.get(), &code);
                m_cut_short = code == Z_BUF_ERROR;
                break;
            }
        }
        return got;
    }

    std::unique_ptr<gzFile_s, CloseGzip> m_gzip;
#else
    void open_gzip() {
        throw FileError(cat(m_path, ": the file is gzip-compressed (it starts with bytes 1f 8b) "
                                    "and reading gzip needs zlib: install zlib and build with "
                                    "NABLA_HAS_ZLIB defined (the nabla CMake target does this "
                                    "when it finds zlib), or decompress the file first"));
    }

    std::size_t read_gzip(unsigned char*, std::size_t) { return 0; }
#endif

    std::string m_path;
    std::unique_ptr<std::FILE, CloseFile> m_file;
    unsigned char m_pending[2] = {0, 0};  // the magic bytes, read before the format was known
    std::size_t m_pending_count = 0;
    std::size_t m_pending_used = 0;
    bool m_compressed = false;
    bool m_cut_short = false;
    std::int64_t m_size = -1;
    std::uint64_t m_position = 0;
    std::uint64_t m_cap = UINT64_MAX;  // set_cap()
    std::string m_promise;             // what the cap is, for the message
};

}  // namespace nabla::detail
