#pragma once

// What the fuzz targets share: the outcomes that count as a finding, and a temporary file for the
// readers that take a path.
//
// A reader given hostile bytes may refuse them with one of nabla's exceptions, the documented way
// to fail; each target says which ones it expects. Anything else is a finding, reported by
// abort() so that libFuzzer (or replay_main.cpp under ctest) records the input: another exception
// type, a nabla exception the reader does not document, a crash, a sanitizer report, or a result
// that breaks what the reader promises (a check in the target).

#include <nabla/error.hpp>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>
#include <unistd.h>

namespace nabla_fuzz {

/// Reports a finding and aborts.
[[noreturn]] inline void fail(const std::string& what) {
    std::fprintf(stderr, "nabla fuzz finding: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

/// Aborts with `what` unless `condition` holds.
inline void require(bool condition, const char* what) {
    if (!condition) fail(what);
}

/// Which of nabla's exceptions a reader may throw for bad input.
struct Expected {
    bool file_error = true;      ///< FileError: what every reader throws for bad bytes.
    bool config_error = false;   ///< ConfigError: only for options that cannot work.
    std::string prefix;          ///< Every expected message starts with this.
};

/// FileError only, its message starting with "nabla: " and `name`.
inline Expected file_errors(const std::string& name) { return Expected{true, false, "nabla: " + name}; }

/// No exception at all.
inline Expected no_errors() { return Expected{false, false, ""}; }

namespace detail {

[[noreturn]] inline void unexpected(const char* call, const char* kind, const std::exception& e) {
    fail(std::string(call) + " threw an unexpected " + kind + " (" + typeid(e).name() +
         "): " + e.what());
}

inline void check_message(const char* call, const std::exception& e, const Expected& expected) {
    const std::string what = e.what();
    if (what.compare(0, expected.prefix.size(), expected.prefix) != 0) {
        fail(std::string(call) + ": the message does not start with \"" + expected.prefix +
             "\": " + what);
    }
}

}  // namespace detail

/// Runs f, which calls `call` (named in a finding). Returns true when it returned, false when it
/// threw an expected exception; aborts on any other.
template <class F>
bool run(const Expected& expected, const char* call, F&& f) {
    try {
        f();
        return true;
    } catch (const nabla::FileError& e) {
        if (!expected.file_error) detail::unexpected(call, "FileError", e);
        detail::check_message(call, e, expected);
    } catch (const nabla::ConfigError& e) {
        if (!expected.config_error) detail::unexpected(call, "ConfigError", e);
        detail::check_message(call, e, expected);
    } catch (const nabla::ShapeError& e) {
        detail::unexpected(call, "ShapeError", e);
    } catch (const nabla::NumericalError& e) {
        detail::unexpected(call, "NumericalError", e);
    } catch (const nabla::ResourceError& e) {
        detail::unexpected(call, "ResourceError", e);
    } catch (const std::exception& e) {
        detail::unexpected(call, "exception", e);
    } catch (...) {
        fail(std::string(call) + " threw an exception not derived from std::exception");
    }
    return false;
}

/// A file of this process for the readers that take a path, rewritten for every input and removed
/// at exit: $NABLA_FUZZ_TMPDIR/nabla-fuzz-PID-TAG, with /dev/shm (memory) or /tmp as the
/// default directory.
class TempFile {
public:
    /// A path for `tag` (one per target and use), nothing written yet.
    explicit TempFile(const char* tag) {
        const char* dir = std::getenv("NABLA_FUZZ_TMPDIR");
        if (dir == nullptr || *dir == '\0') dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        m_path = std::string(dir) + "/nabla-fuzz-" + std::to_string(getpid()) + "-" + tag;
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    ~TempFile() { std::remove(m_path.c_str()); }

    /// Replaces the file's content with the `size` bytes at `data`; returns the path.
    const std::string& write(const void* data, std::size_t size) {
        std::FILE* file = std::fopen(m_path.c_str(), "wb");
        if (file == nullptr) fail("cannot create the temporary file " + m_path);
        const bool written = std::fwrite(data, 1, size, file) == size;
        if (std::fclose(file) != 0 || !written) fail("cannot write the temporary file " + m_path);
        return m_path;
    }

    /// The file's path.
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

}  // namespace nabla_fuzz
