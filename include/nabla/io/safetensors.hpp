#pragma once

// A network's weights in the safetensors format, the one the PyTorch ecosystem shares weights
// in: 8 bytes holding N (unsigned, little-endian), N bytes of JSON naming each tensor's dtype,
// shape and byte range, then the tensors' raw little-endian bytes, row-major.
//
// Names follow torch.nn.Sequential: layer i of the network (counted from 0, every layer
// included) is module 2i, and module 2i + 1 is its activation (nn.Identity for none), so a
// Dense layer's W and b are "2i.weight" (outputs × inputs, as nn.Linear keeps it) and
// "2i.bias". A 784-256-10 ReLU/softmax network is thus the state_dict of
//
//     nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.Softmax(dim=1))
//
// (docs/interop.md). A float network writes F32 tensors, a double one F64; either loads either.
// Only layers whose parameters are a W and a b can be stored (Dense); others without parameters
// (Dropout) take an index and store nothing.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/detail/state_bytes.hpp>
#include <nabla/layer.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

namespace detail::safetensors {

/// One tensor of the header: its dtype, shape and byte range within the data section.
struct TensorEntry {
    std::string dtype;
    std::vector<std::uint64_t> shape;
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
};

/// The header's JSON, read as far as safetensors uses JSON: an object of tensor entries, and
/// "__metadata__", an object of strings, which is skipped. Errors name the byte of the file.
class HeaderParser {
public:
    /// Parses `text`, which starts at byte `offset` of the file `name`.
    HeaderParser(std::string_view text, std::uint64_t offset, const std::string& name)
        : m_text(text), m_offset(offset), m_name(name) {}

    /// The tensors by name; throws FileError at the first byte that does not fit.
    std::map<std::string, TensorEntry> parse() {
        std::map<std::string, TensorEntry> tensors;
        expect('{');
        if (peek() == '}') {
            ++m_at;
        } else {
            for (;;) {
                const std::string key = string();
                expect(':');
                if (key == "__metadata__") {
                    skip_metadata();
                } else {
                    if (tensors.count(key) != 0) fail(cat("the tensor \"", key, "\" appears twice"));
                    tensors[key] = entry(key);
                }
                if (peek() == ',') {
                    ++m_at;
                    continue;
                }
                expect('}');
                break;
            }
        }
        skip_space();
        if (m_at != m_text.size()) fail("the header's JSON goes on after its closing brace");
        return tensors;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw FileError(cat(m_name, ": byte ", m_offset + m_at, ": ", what));
    }

    void skip_space() {
        while (m_at < m_text.size() &&
               (m_text[m_at] == ' ' || m_text[m_at] == '\n' || m_text[m_at] == '\r' ||
                m_text[m_at] == '\t'))
            ++m_at;
    }

    char peek() {
        skip_space();
        if (m_at >= m_text.size()) fail("the header's JSON ends early");
        return m_text[m_at];
    }

    void expect(char c) {
        if (peek() != c) fail(cat("expected '", c, "' in the header's JSON"));
        ++m_at;
    }

    // A JSON string; escapes other than \" \\ \/ are refused (tensor names do not need them).
    std::string string() {
        expect('"');
        std::string out;
        while (m_at < m_text.size() && m_text[m_at] != '"') {
            char c = m_text[m_at++];
            if (c == '\\') {
                if (m_at >= m_text.size()) break;
                c = m_text[m_at++];
                if (c != '"' && c != '\\' && c != '/') fail("an escape nabla does not read");
            }
            out += c;
        }
        if (m_at >= m_text.size()) fail("a string of the header's JSON is not closed");
        ++m_at;
        return out;
    }

    std::uint64_t integer() {
        skip_space();
        const std::size_t start = m_at;
        std::uint64_t value = 0;
        while (m_at < m_text.size() && m_text[m_at] >= '0' && m_text[m_at] <= '9') {
            const std::uint64_t digit = std::uint64_t(m_text[m_at] - '0');
            if (value > (UINT64_MAX - digit) / 10) fail("a number of the header is too large");
            value = value * 10 + digit;
            ++m_at;
        }
        if (m_at == start) fail("expected a non-negative integer in the header's JSON");
        return value;
    }

    std::vector<std::uint64_t> integers() {
        std::vector<std::uint64_t> values;
        expect('[');
        if (peek() == ']') {
            ++m_at;
            return values;
        }
        for (;;) {
            values.push_back(integer());
            if (peek() == ',') {
                ++m_at;
                continue;
            }
            expect(']');
            return values;
        }
    }

    TensorEntry entry(const std::string& key) {
        TensorEntry entry;
        bool dtype = false, shape = false, offsets = false;
        expect('{');
        for (;;) {
            const std::string field = string();
            expect(':');
            if (field == "dtype") {
                entry.dtype = string();
                dtype = true;
            } else if (field == "shape") {
                entry.shape = integers();
                shape = true;
            } else if (field == "data_offsets") {
                const std::vector<std::uint64_t> range = integers();
                if (range.size() != 2) fail(cat("\"", key, "\": data_offsets must be [begin, end]"));
                entry.begin = range[0];
                entry.end = range[1];
                offsets = true;
            } else {
                fail(cat("\"", key, "\": unknown field \"", field, "\""));
            }
            if (peek() == ',') {
                ++m_at;
                continue;
            }
            expect('}');
            break;
        }
        if (!dtype || !shape || !offsets)
            fail(cat("\"", key, "\" lacks ", !dtype ? "dtype" : !shape ? "shape" : "data_offsets"));
        return entry;
    }

    void skip_metadata() {
        expect('{');
        if (peek() == '}') {
            ++m_at;
            return;
        }
        for (;;) {
            string();
            expect(':');
            string();
            if (peek() == ',') {
                ++m_at;
                continue;
            }
            expect('}');
            return;
        }
    }

    std::string_view m_text;
    std::size_t m_at = 0;
    std::uint64_t m_offset;
    const std::string& m_name;
};

/// Bytes of one element of `dtype` (F32 4, F64 8), or 0 for a dtype nabla does not read.
inline std::size_t element_bytes(const std::string& dtype) {
    if (dtype == "F32") return 4;
    if (dtype == "F64") return 8;
    return 0;
}

/// Throws ConfigError unless every layer of `net` with parameters has exactly W and b.
template <class Net>
void check_storable(const Net& net, const char* caller) {
    net.for_each_layer([&](const auto& layer, auto i) {
        std::size_t blocks = 0;
        bool w_and_b = true;
        layer.for_each_parameter([&](const auto&, const char* name) {
            w_and_b = w_and_b && std::string_view(name) == (blocks == 0 ? "W" : "b");
            ++blocks;
        });
        if (blocks != 0 && (blocks != 2 || !w_and_b)) {
            throw ConfigError(cat(caller, ": ", layer_name(layer, std::size_t(i) + 1),
                                  " has parameters other than one W and one b, which safetensors "
                                  "names for nn.Linear only"));
        }
    });
}

}  // namespace detail::safetensors

/// The bytes of a safetensors file holding `net`'s weights (see the top of this file for the
/// names). Throws ConfigError when a layer's parameters are not a W and a b.
template <class Net>
std::string to_safetensors(const Net& net) {
    using Scalar = typename Net::Scalar;
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "NABLA_SAFETENSORS_STORES_FLOAT_OR_DOUBLE");
    detail::safetensors::check_storable(net, "to_safetensors");
    const char* dtype = std::is_same_v<Scalar, float> ? "F32" : "F64";
    std::string json = "{";
    std::string data;
    net.for_each_layer([&](const auto& layer, auto i) {
        layer.for_each_parameter([&](const auto& block, const char* name) {
            const bool weight = std::string_view(name) == "W";
            const std::uint64_t begin = data.size();
            // nn.Linear keeps W row-major, outputs × inputs: the transpose's column-major order.
            const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> rows = block.transpose();
            data.append(reinterpret_cast<const char*>(rows.data()),
                        std::size_t(rows.size()) * sizeof(Scalar));
            json += detail::cat(json.size() > 1 ? "," : "", "\"", 2 * std::size_t(i),
                        weight ? ".weight" : ".bias", "\":{\"dtype\":\"", dtype, "\",\"shape\":[",
                        block.rows(), weight ? detail::cat(",", block.cols()) : std::string(),
                        "],\"data_offsets\":[", begin, ",", data.size(), "]}");
        });
    });
    json += detail::cat(json.size() > 1 ? "," : "", "\"__metadata__\":{\"format\":\"pt\"}}");
    json.append((8 - json.size() % 8) % 8, ' ');  // the data start 8-byte aligned
    detail::StateWriter length;  // N as a little-endian u64, byte by byte
    length.u64(json.size());
    return std::string(length.bytes().begin(), length.bytes().end()) + json + data;
}

/// Saves `net`'s weights to `path` as safetensors, atomically (write_file_atomically). Throws
/// ConfigError when a layer cannot be stored, FileError when the file cannot be written.
template <class Net>
void save_safetensors(const Net& net, const std::string& path) {
    const std::string bytes = to_safetensors(net);
    write_file_atomically(path, [&](std::ostream& out) {
        out.write(bytes.data(), std::streamsize(bytes.size()));
    });
}

/// Loads into `net` the weights of the safetensors bytes `bytes` (messages call them `name`):
/// each Dense layer's "2i.weight" and "2i.bias", F32 or F64, with the layer's shapes. Throws
/// FileError naming the byte or the tensor for a header past the end, bad JSON, a missing
/// tensor, a dtype other than F32/F64, a shape that does not fit the layer, or a byte range out
/// of the data or overlapping another; `net` is then unchanged. Tensors the network does not
/// use are ignored.
template <class Net>
void load_safetensors_from_bytes(Net& net, std::string_view bytes, const std::string& name) {
    using Scalar = typename Net::Scalar;
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    detail::safetensors::check_storable(net, "load_safetensors");
    if (bytes.size() < 8) {
        throw FileError(detail::cat(name, ": byte ", bytes.size(), ": ", bytes.size(),
                            " bytes, too short for the 8-byte header length of safetensors"));
    }
    const std::uint64_t header =
        detail::StateReader(reinterpret_cast<const unsigned char*>(bytes.data()), 8, name, 0)
            .u64();
    if (header > bytes.size() - 8) {
        throw FileError(detail::cat(name, ": byte 0: the header is ", header, " bytes long, past the end "
                                  "of the ", bytes.size(), "-byte file"));
    }
    const std::map<std::string, detail::safetensors::TensorEntry> tensors =
        detail::safetensors::HeaderParser(bytes.substr(8, std::size_t(header)), 8, name).parse();
    const std::uint64_t data_size = bytes.size() - 8 - header;
    const char* data = bytes.data() + 8 + header;

    // Every range within the data and no two overlapping.
    std::vector<std::pair<std::uint64_t, std::string>> starts;
    for (const auto& [key, entry] : tensors) {
        if (entry.begin > entry.end || entry.end > data_size) {
            throw FileError(detail::cat(name, ": tensor \"", key, "\": data_offsets [", entry.begin, ", ",
                                entry.end, "] lie outside the ", data_size, " bytes of data"));
        }
        starts.emplace_back(entry.begin, key);
    }
    std::sort(starts.begin(), starts.end());
    for (std::size_t k = 1; k < starts.size(); ++k) {
        const auto& before = tensors.at(starts[k - 1].second);
        if (starts[k].first < before.end && before.end > before.begin) {
            throw FileError(detail::cat(name, ": tensors \"", starts[k - 1].second, "\" and \"",
                                starts[k].second, "\" overlap in the data"));
        }
    }

    // Read everything first, so that a bad tensor leaves `net` as it was.
    std::vector<Matrix> staged;
    net.for_each_layer([&](const auto& layer, auto i) {
        layer.for_each_parameter([&](const auto& block, const char* block_name) {
            const bool weight = std::string_view(block_name) == "W";
            const std::string key = detail::cat(2 * std::size_t(i), weight ? ".weight" : ".bias");
            const auto found = tensors.find(key);
            if (found == tensors.end()) {
                throw FileError(detail::cat(name, ": no tensor \"", key, "\" for ",
                                    layer_name(layer, std::size_t(i) + 1)));
            }
            const detail::safetensors::TensorEntry& entry = found->second;
            const std::vector<std::uint64_t> expected =
                weight ? std::vector<std::uint64_t>{std::uint64_t(block.rows()),
                                                    std::uint64_t(block.cols())}
                       : std::vector<std::uint64_t>{std::uint64_t(block.rows())};
            if (entry.shape != expected) {
                std::string shape;
                for (std::uint64_t n : entry.shape) shape += detail::cat(shape.empty() ? "" : ", ", n);
                throw FileError(detail::cat(name, ": tensor \"", key, "\" has shape [", shape, "], ",
                                    layer_name(layer, std::size_t(i) + 1), " needs [",
                                    block.rows(), weight ? detail::cat(", ", block.cols()) : "", "]"));
            }
            const std::size_t size = detail::safetensors::element_bytes(entry.dtype);
            if (size == 0) {
                throw FileError(detail::cat(name, ": tensor \"", key, "\" has dtype ", entry.dtype,
                                    "; nabla reads F32 and F64"));
            }
            const std::uint64_t count = std::uint64_t(block.size());
            if (entry.end - entry.begin != count * size) {
                throw FileError(detail::cat(name, ": tensor \"", key, "\" holds ", entry.end - entry.begin,
                                    " bytes, its shape and dtype need ", count * size));
            }
            // Row-major outputs × inputs: read as the column-major transpose.
            Matrix rows(block.cols(), block.rows());
            const char* from = data + entry.begin;
            for (Eigen::Index k = 0; k < rows.size(); ++k) {
                if (size == 4) {
                    float value;
                    std::memcpy(&value, from + std::size_t(k) * 4, 4);
                    rows.data()[k] = Scalar(value);
                } else {
                    double value;
                    std::memcpy(&value, from + std::size_t(k) * 8, 8);
                    rows.data()[k] = Scalar(value);
                }
            }
            staged.push_back(rows.transpose());
        });
    });
    std::size_t next = 0;
    net.for_each_layer([&](auto& layer, auto) {
        layer.for_each_parameter([&](auto& block, const char*) { block = staged[next++]; });
    });
}

/// load_safetensors_from_bytes() from the file `path`. Throws FileError naming the path when it
/// cannot be read.
template <class Net>
void load_safetensors(Net& net, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(detail::cat(path, ": cannot open the safetensors file"));
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw FileError(detail::cat(path, ": read error"));
    load_safetensors_from_bytes(net, bytes, path);
}

}  // namespace nabla
