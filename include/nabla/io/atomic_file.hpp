#pragma once

// Writing a file so that a reader, or the next run after a crash or a full disk, finds either the
// whole previous file or the whole new one, never a mix: the new bytes go to a temporary file in
// the same directory (so the rename below never crosses file systems), which is flushed, synced to
// the disk, closed, and only then renamed over the target. rename() replaces a file in one step on
// POSIX systems. Any failure removes the temporary file and leaves the target as it was.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <streambuf>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

/// \file
/// write_file_atomically(): a file is replaced whole or not at all.

/// 1 where the POSIX calls (open with O_EXCL, fsync) are there; define it as 0 before including
/// nabla to use the portable fallback, which cannot sync the file to the disk.
#ifndef NABLA_IO_POSIX
#if __has_include(<unistd.h>) && __has_include(<fcntl.h>) && __has_include(<sys/stat.h>)
#define NABLA_IO_POSIX 1
#else
#define NABLA_IO_POSIX 0
#endif
#endif

#if NABLA_IO_POSIX
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace nabla {

/// Internals of write_file_atomically.
namespace detail::atomic {

/// The text of an errno value ("No space left on device"), in the C locale's words.
inline std::string error_text(int error) {
    return error ? std::generic_category().message(error) : std::string("unknown error");
}

/// The what() of the exception being handled, for wrapping it into a message.
inline std::string current_exception_text() {
    try {
        throw;
    } catch (const std::exception& e) {
        // nabla's own errors: one "nabla: " prefix is enough in the wrapping message.
        const std::string text = e.what();
        return text.rfind("nabla: ", 0) == 0 ? text.substr(7) : text;
    } catch (...) {
        return "an exception not derived from std::exception";
    }
}

/// The name of the next temporary file for `target` in its directory: hidden (leading dot), and
/// unique within the process by a counter and across processes by the process id where known.
inline std::filesystem::path temporary_name(const std::filesystem::path& directory,
                                            const std::filesystem::path& target_name) {
    static std::atomic<unsigned long> counter{0};
    std::string base = target_name.string();
    if (base.size() > 160) base.resize(160);  // stay under NAME_MAX with the suffix
#if NABLA_IO_POSIX
    const long process = static_cast<long>(::getpid());
#else
    const long process = 0;
#endif
    return directory / cat(".", base, ".tmp-", process, "-", counter.fetch_add(1));
}

#if NABLA_IO_POSIX

/// An output stream buffer over a file descriptor it does not own. It remembers the errno of the
/// first failed write (a full disk, a file size limit), after which every write fails, so the
/// caller learns why once the writer is done.
class DescriptorBuffer : public std::streambuf {
public:
    /// Buffers writes to `fd` in 64 KiB pieces.
    explicit DescriptorBuffer(int fd) : m_fd(fd), m_buffer(std::size_t(1) << 16) { reset(); }

    /// The errno of the first failed write, 0 while all went well.
    int error() const { return m_error; }

protected:
    int_type overflow(int_type ch) override {
        if (!drain()) return traits_type::eof();
        if (!traits_type::eq_int_type(ch, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(ch);
            pbump(1);
        }
        return traits_type::not_eof(ch);
    }

    std::streamsize xsputn(const char* data, std::streamsize count) override {
        if (count > epptr() - pptr()) {
            if (!drain()) return 0;
            // A piece larger than the buffer goes straight to the file, uncopied.
            if (count > epptr() - pptr()) return write_all(data, std::size_t(count)) ? count : 0;
        }
        traits_type::copy(pptr(), data, std::size_t(count));
        pbump(int(count));
        return count;
    }

    int sync() override { return drain() ? 0 : -1; }

private:
    void reset() { setp(m_buffer.data(), m_buffer.data() + m_buffer.size()); }

    bool drain() {
        const std::size_t pending = std::size_t(pptr() - pbase());
        reset();
        return pending == 0 || write_all(m_buffer.data(), pending);
    }

    bool write_all(const char* data, std::size_t count) {
        while (m_error == 0 && count > 0) {
            const std::size_t piece = count < (std::size_t(1) << 30) ? count : std::size_t(1) << 30;
            const ::ssize_t written = ::write(m_fd, data, piece);
            if (written < 0) {
                if (errno != EINTR) m_error = errno ? errno : EIO;
            } else if (written == 0) {
                m_error = EIO;  // write() makes no progress: treat it as a device error
            } else {
                data += written;
                count -= std::size_t(written);
            }
        }
        return m_error == 0;
    }

    int m_fd;
    std::vector<char> m_buffer;
    int m_error = 0;
};

/// A temporary file created exclusively (O_EXCL, so never someone else's file) next to the
/// target. Unless released after the rename, the destructor closes and removes it: every way out
/// of a failed write cleans up.
class TemporaryFile {
public:
    /// Creates the file in `directory`; throws FileError naming `target` on failure.
    TemporaryFile(const std::filesystem::path& directory, const std::filesystem::path& target) {
        for (int attempt = 0; attempt < 100; ++attempt) {
            m_path = temporary_name(directory, target.filename());
            m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (m_fd >= 0) break;
            if (errno != EEXIST) {
                const int error = errno;
                throw FileError(cat(target.string(), ": cannot create a temporary file in ",
                                    directory.string(), ": ", error_text(error),
                                    "; the previous file, if any, is unchanged"));
            }
        }
        if (m_fd < 0) {
            throw FileError(cat(target.string(), ": cannot find a free temporary file name in ",
                                directory.string()));
        }
        // A replaced file keeps its permissions; a new one gets 0666 less the umask.
        struct ::stat old {};
        if (::stat(target.c_str(), &old) == 0 && S_ISREG(old.st_mode)) {
            (void)::fchmod(m_fd, old.st_mode & 07777);
        }
    }

    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    ~TemporaryFile() {
        if (m_fd >= 0) ::close(m_fd);
        if (!m_released) ::unlink(m_path.c_str());
    }

    /// The open descriptor, valid until close().
    int fd() const { return m_fd; }
    /// Where the file is.
    const std::filesystem::path& path() const { return m_path; }

    /// fsync(): the bytes are on the disk before the rename makes them visible. Returns errno or 0.
    int sync() const { return ::fsync(m_fd) == 0 ? 0 : (errno ? errno : EIO); }

    /// close(), which may report a delayed write error (NFS does). Returns errno or 0.
    int close() {
        const int result = ::close(m_fd);
        m_fd = -1;
        return result == 0 ? 0 : (errno ? errno : EIO);
    }

    /// The file now lives under another name: do not remove it.
    void release() { m_released = true; }

private:
    std::filesystem::path m_path;
    int m_fd = -1;
    bool m_released = false;
};

/// The process id in the name of one of nabla's temporary files (".NAME.tmp-PID-N", see
/// temporary_name()), or -1 when `name` is not one.
inline long temporary_owner(const std::string& name) {
    const auto digits = [](const std::string& text) {
        return !text.empty() && text.size() < 19 &&
               text.find_first_not_of("0123456789") == std::string::npos;
    };
    const std::size_t dash = name.rfind('-');
    const std::size_t tag = name.rfind(".tmp-", dash);
    if (name.empty() || name[0] != '.' || dash == std::string::npos || tag == std::string::npos ||
        tag == 0 || tag + 5 > dash) {
        return -1;
    }
    const std::string process = name.substr(tag + 5, dash - tag - 5);
    if (!digits(process) || !digits(name.substr(dash + 1))) return -1;
    return std::stol(process);
}

/// Removes the temporary files that a save() into `directory` killed before it could finish
/// (SIGKILL, power loss) has left: only regular files named as nabla names them, owned by this
/// user, whose process is gone. A live process's file, this process's, or one whose owner
/// cannot be told is left alone. Best effort: nothing here fails a save.
inline void remove_stale_temporaries(const std::filesystem::path& directory) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator entries(directory, ec);
    if (ec) return;
    const long self = static_cast<long>(::getpid());
    for (fs::directory_iterator end; entries != end; entries.increment(ec)) {
        if (ec) return;
        const fs::path& path = entries->path();
        const long process = temporary_owner(path.filename().string());
        if (process <= 0 || process == self) continue;
        struct ::stat info {};
        if (::lstat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
            info.st_uid != ::geteuid()) {
            continue;
        }
        // kill(pid, 0) sends nothing: ESRCH says no such process. EPERM (someone else's
        // process) or success means it may still be writing.
        if (::kill(pid_t(process), 0) == 0 || errno != ESRCH) continue;
        (void)::unlink(path.c_str());
    }
}

/// Makes the rename itself durable by syncing the directory. Best effort: the new file is in
/// place whatever this returns, so a failure here is not reported as a failed write.
inline void sync_directory(const std::filesystem::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

#endif  // NABLA_IO_POSIX

/// Throws FileError about `path`, which could not be written for `reason`; the temporary file is
/// already gone or about to go.
[[noreturn]] inline void throw_write_failure(const std::string& path, const std::string& reason) {
    throw FileError(cat(path, ": not written, ", reason,
                        "; the previous file, if any, is unchanged"));
}

}  // namespace detail::atomic

/// Writes the file at `path` through `write`, all or nothing: `write` gets a binary stream into a
/// new temporary file in the same directory, which is flushed, synced (fsync) and closed, then
/// renamed over `path`. If anything fails on the way — `write` throws or leaves its stream failed,
/// the disk fills, the directory is missing or not writable, the rename is refused — the
/// temporary file is removed, whatever was at `path` is left as it was, and FileError names the
/// path and the cause. An exception from `write` is kept inside it (std::throw_with_nested), so
/// `std::rethrow_if_nested` recovers it.
///
///     nabla::write_file_atomically("run/model.nbl", [&](std::ostream& out) {
///         nabla::save(net, out);
///     });
///
/// A symbolic link at `path` is replaced by the file, not followed. Temporary files that an
/// earlier write into the same directory left when its process was killed are removed first
/// (only nabla's, only of processes that are gone). Without POSIX calls (NABLA_IO_POSIX 0) the
/// file is not synced to the disk before the rename, and no temporary file is cleaned up.
inline void write_file_atomically(const std::string& path,
                                  const std::function<void(std::ostream&)>& write) {
    namespace fs = std::filesystem;
    namespace atomic = detail::atomic;
    using detail::cat;
    const fs::path target(path);
    if (!target.has_filename()) {
        throw FileError(cat(path, ": cannot write: the path names a directory, not a file"));
    }
    const fs::path directory = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::error_code ec;
    if (!fs::is_directory(directory, ec)) {
        const bool exists = fs::exists(directory, ec);
        throw FileError(cat(path, ": cannot write: the directory ", directory.string(),
                            exists ? " is not a directory" : " does not exist"));
    }
    const auto writer_failed = [&] {
        return FileError(cat(path, ": not written, the writer failed: ",
                             atomic::current_exception_text(),
                             "; the previous file, if any, is unchanged"));
    };

#if NABLA_IO_POSIX
    atomic::remove_stale_temporaries(directory);
    atomic::TemporaryFile temporary(directory, target);
    const std::string temporary_name = temporary.path().string();
    atomic::DescriptorBuffer buffer(temporary.fd());
    std::ostream out(&buffer);
    try {
        write(out);
    } catch (...) {
        std::throw_with_nested(writer_failed());
    }
    out.flush();
    if (buffer.error() != 0) {
        atomic::throw_write_failure(path, cat("writing ", temporary_name, " failed: ",
                                              atomic::error_text(buffer.error())));
    }
    if (!out) atomic::throw_write_failure(path, "the writer left its stream in a failed state");
    if (const int error = temporary.sync()) {
        atomic::throw_write_failure(path, cat("fsync of ", temporary_name, " failed: ",
                                              atomic::error_text(error)));
    }
    if (const int error = temporary.close()) {
        atomic::throw_write_failure(path, cat("closing ", temporary_name, " failed: ",
                                              atomic::error_text(error)));
    }
    fs::rename(temporary.path(), target, ec);
    if (ec) {
        atomic::throw_write_failure(path, cat("renaming ", temporary_name, " over it failed: ",
                                              ec.message()));
    }
    temporary.release();
    atomic::sync_directory(directory);
#else
    // Portable fallback: the same steps without exclusive creation or fsync.
    fs::path temporary = atomic::temporary_name(directory, target.filename());
    for (int attempt = 0; attempt < 100 && fs::exists(temporary, ec); ++attempt) {
        temporary = atomic::temporary_name(directory, target.filename());
    }
    struct Remove {
        const fs::path& file;
        bool released = false;
        ~Remove() {
            std::error_code ignored;
            if (!released) fs::remove(file, ignored);
        }
    } cleanup{temporary};
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        if (!out) {
            atomic::throw_write_failure(path, cat("cannot create the temporary file ",
                                                  temporary.string()));
        }
        try {
            write(out);
        } catch (...) {
            std::throw_with_nested(writer_failed());
        }
        out.flush();
        if (!out) atomic::throw_write_failure(path, "writing the temporary file failed");
        out.close();
        if (!out) atomic::throw_write_failure(path, "closing the temporary file failed");
    }
    const fs::file_status old = fs::status(target, ec);
    if (!ec && fs::is_regular_file(old)) fs::permissions(temporary, old.permissions(), ec);
    fs::rename(temporary, target, ec);
    if (ec) {
        atomic::throw_write_failure(path, cat("renaming ", temporary.string(),
                                              " over it failed: ", ec.message()));
    }
    cleanup.released = true;
#endif
}

}  // namespace nabla
