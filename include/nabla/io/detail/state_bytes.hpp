#pragma once

// The bytes of a training run's state, for checkpoints (io/checkpoint.hpp): numbers and arrays
// written one after another, little-endian byte by byte (as the model format is), and read back
// with every read checked against the end, so a damaged checkpoint is a FileError, never a read
// past the buffer.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla::detail {

/// Appends numbers and arrays to a byte buffer.
class StateWriter {
public:
    /// An unsigned integer, 8 bytes.
    void u64(std::uint64_t value) {
        for (int k = 0; k < 8; ++k) m_bytes.push_back(static_cast<unsigned char>(value >> (8 * k)));
    }
    /// A signed integer, 8 bytes.
    void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
    /// A double, its bit pattern: NaN and ∞ survive, and so does every last bit.
    void f64(double value) {
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, sizeof bits);
        u64(bits);
    }
    /// A float or double array: its length, then each entry's bit pattern.
    template <class Derived>
    void array(const Eigen::DenseBase<Derived>& values) {
        using Scalar = typename Derived::Scalar;
        static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                      "NABLA_CHECKPOINTS_HOLD_FLOAT_OR_DOUBLE_ARRAYS");
        u64(std::uint64_t(values.size()));
        for (Eigen::Index k = 0; k < values.size(); ++k) f64(double(values.derived().coeff(k)));
    }
    /// A string: its length, then its bytes.
    void text(const std::string& value) {
        u64(value.size());
        m_bytes.insert(m_bytes.end(), value.begin(), value.end());
    }
    /// Everything written so far.
    const std::vector<unsigned char>& bytes() const { return m_bytes; }

private:
    std::vector<unsigned char> m_bytes;
};

/// Reads back what a StateWriter wrote; every read past the end, or an array of another length
/// than expected, throws FileError naming `source` and the byte offset.
class StateReader {
public:
    /// Reads `size` bytes at `data`, which start at byte `offset` of the file `source`.
    StateReader(const unsigned char* data, std::size_t size, std::string source,
                std::uint64_t offset)
        : m_data(data), m_size(size), m_source(std::move(source)), m_offset(offset) {}

    /// An unsigned integer.
    std::uint64_t u64() {
        need(8, "a number");
        std::uint64_t value = 0;
        for (int k = 0; k < 8; ++k) value |= std::uint64_t(m_data[m_at + std::size_t(k)]) << (8 * k);
        m_at += 8;
        return value;
    }
    /// A signed integer.
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    /// A double.
    double f64() {
        const std::uint64_t bits = u64();
        double value = 0;
        std::memcpy(&value, &bits, sizeof value);
        return value;
    }
    /// An array into `values`, which must already have the length stored.
    template <class Derived>
    void array(Eigen::DenseBase<Derived>& values, const std::string& what) {
        using Scalar = typename Derived::Scalar;
        const std::uint64_t at = m_at;
        const std::uint64_t size = u64();
        if (size != std::uint64_t(values.size())) {
            fail(at, cat(what, " holds ", size, " values, expected ", values.size()));
        }
        need(8 * size, what.c_str());
        for (Eigen::Index k = 0; k < values.size(); ++k) values.derived().coeffRef(k) = Scalar(f64());
    }
    /// An array of any length (at most what is left), resized to fit.
    template <class Scalar>
    void any_array(Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& values, const std::string& what) {
        const std::uint64_t size = u64();
        if (size > (m_size - m_at) / 8) fail(cat("the checkpoint ends inside ", what));
        values.resize(Eigen::Index(size));  // no larger than the bytes that hold it
        m_at -= 8;
        array(values, what);
    }
    /// A string.
    std::string text(const char* what) {
        const std::uint64_t size = u64();
        need(size, what);
        std::string value(reinterpret_cast<const char*>(m_data + m_at), std::size_t(size));
        m_at += std::size_t(size);
        return value;
    }
    /// True when every byte was read.
    bool done() const { return m_at == m_size; }
    /// Throws FileError at the current offset.
    [[noreturn]] void fail(const std::string& what) const { fail(m_at, what); }

private:
    void need(std::uint64_t count, const char* what) const {
        if (count > m_size - m_at) fail(m_at, cat("the checkpoint ends inside ", what));
    }
    [[noreturn]] void fail(std::uint64_t at, const std::string& what) const {
        throw FileError(cat(m_source, ": byte ", m_offset + at, ": ", what));
    }

    const unsigned char* m_data;
    std::size_t m_size;
    std::string m_source;
    std::uint64_t m_offset;
    std::size_t m_at = 0;
};

}  // namespace nabla::detail

namespace nabla {

/// What an optimizer's save_state() writes its state to, for a checkpoint (io/checkpoint.hpp).
using StateWriter = detail::StateWriter;
/// What an optimizer's load_state() reads its state back from.
using StateReader = detail::StateReader;

}  // namespace nabla
