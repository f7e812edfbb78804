#pragma once

// Saving and loading trained networks in nabla's binary model format. The byte layout, the
// checksum and what loading checks are specified in docs/model-format.md; in short:
//
//     "NABLAMLP" | version u32 | scalar u32 | loss name | layer count u32 |
//     per layer: its description (version 1: inputs, outputs, activation code, slope;
//                version 2 and 3: type, inputs, outputs, activation and attributes by name,
//                parameter block shapes) |
//     version 3 only: the input transform (a Standardizer's μ and s) |
//     per layer: each parameter block column by column (Dense: W, then b) | CRC-32
//
// save() writes version 1 when it can hold the network (Dense layers of the six activations it
// has codes for), so that files stay readable by every release, version 2 otherwise (other
// layer types such as Dropout, other activations, the program's own), and version 3 only when
// it is given the Standardizer the network's inputs go through. All three are read.
//
// Every number is little-endian, written and read byte by byte whatever the host, so a file moves
// between machines unchanged; no text is formatted, so the locale plays no part. Saving goes
// through write_file_atomically: a crash or a full disk never leaves half a model behind.
//
//     nabla::save(net, "xor.nbl");
//     nabla::save(net, scaler, "iris.nbl");   // with the inputs' Standardizer (version 3)
//     nabla::load(net, "xor.nbl");     // into a network built with the same layers and loss
//     auto copy = nabla::load_network<double, nabla::BinaryCrossEntropy>("xor.nbl");
//
// Loading reads and checks the whole file before it touches the network: a file that is corrupt,
// truncated, or does not fit throws FileError and leaves the network exactly as it was.

#include <nabla/activation.hpp>
#include <nabla/any_activation.hpp>
#include <nabla/attributes.hpp>
#include <nabla/data/standardizer.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/dynamic_network.hpp>
#include <nabla/error.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/checksum.hpp>
#include <nabla/io/detail/byte_source.hpp>
#include <nabla/layer.hpp>
#include <nabla/layer_registry.hpp>
#include <nabla/layers/dense.hpp>
#include <nabla/loss.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <locale>
#include <memory>
#include <new>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

/// The newest model format version this library writes; it reads versions 1, 2 and 3.
inline constexpr std::uint32_t model_format_version = 3;

/// How a model file stores its weights: IEEE 754 binary32 or binary64, little-endian.
enum class StoredScalar : std::uint32_t {
    float32 = 1,  ///< IEEE 754 binary32: a float network's.
    float64 = 2,  ///< IEEE 754 binary64: a double network's.
};

/// "float32" or "float64".
constexpr const char* to_string(StoredScalar scalar) {
    return scalar == StoredScalar::float32 ? "float32" : "float64";
}

/// One layer as a model file describes it.
struct ModelLayerInfo {
    std::string type = "Dense";  ///< The layer type's type_name().
    Eigen::Index inputs = 0;     ///< m, the neurons of the layer below.
    Eigen::Index outputs = 0;    ///< n, the neurons of this layer; Dense's W is n × m.
    ActivationSpec activation;   ///< σ of the layer (no name for a layer without one).
    Attributes attributes;       ///< The layer's own attributes, e.g. Dropout's rate.
    /// The shape (rows, columns) of each parameter block, in order: W, then b for Dense.
    std::vector<std::array<Eigen::Index, 2>> blocks;

    /// Same type, sizes, activation, attributes and blocks.
    friend bool operator==(const ModelLayerInfo& x, const ModelLayerInfo& y) {
        return x.type == y.type && x.inputs == y.inputs && x.outputs == y.outputs &&
               x.activation == y.activation && x.attributes == y.attributes &&
               x.blocks == y.blocks;
    }
    /// Not operator==.
    friend bool operator!=(const ModelLayerInfo& x, const ModelLayerInfo& y) { return !(x == y); }
};

/// The Standardizer a model file keeps for its inputs (version 3): x' = (x − μ) / s per input
/// feature, as stored, in double whatever the network's scalar type.
struct StoredStandardizer {
    Eigen::VectorXd mean;   ///< μ, one per input of the first layer.
    Eigen::VectorXd scale;  ///< s, one per input, positive.
};

/// Everything a model file says besides the parameters: enough to build the network it fits.
struct ModelInfo {
    std::uint32_t version = model_format_version;  ///< The format version of the file.
    StoredScalar scalar = StoredScalar::float64;    ///< How the weights are stored.
    std::string loss;                               ///< The loss's name(), e.g. "CrossEntropy".
    std::vector<ModelLayerInfo> layers;             ///< Input side first.
    /// The standardization the inputs go through before the first layer; only a version 3 file
    /// has one.
    std::optional<StoredStandardizer> standardizer;

    /// {inputs, hidden..., outputs}, as networks take them.
    std::vector<Eigen::Index> sizes() const {
        std::vector<Eigen::Index> result;
        if (!layers.empty()) result.push_back(layers.front().inputs);
        for (const ModelLayerInfo& layer : layers) result.push_back(layer.outputs);
        return result;
    }
};

/// The details of the format, shared by the writer and the reader.
namespace detail::model {

inline constexpr unsigned char magic[8] = {'N', 'A', 'B', 'L', 'A', 'M', 'L', 'P'};
inline constexpr std::size_t max_name = 255;          // bytes; names are printable ASCII
inline constexpr std::size_t layer_record_size = 20;  // version 1: inputs, outputs, code, slope
/// The fewest bytes a version 2 layer description takes: an empty type (impossible, but a
/// bound), inputs, outputs, an empty activation, two attribute counts and a block count.
inline constexpr std::size_t min_layer_description = 4 + 4 + 4 + 4 + 4 + 4 + 4;
/// The fewest bytes an attribute takes: a one-byte name and its value.
inline constexpr std::size_t min_attribute = 4 + 1 + 8;
/// The name version 3 gives the Standardizer in its input transform section: the section names
/// its transform so that others can be added without another version.
inline constexpr const char* standardizer_name = "Standardizer";

/// The activations of version 1, by code: fixed by the format, not by ActivationKind's order.
inline constexpr const char* version_1_activations[] = {"identity", "sigmoid", "tanh",
                                                        "relu",     "leaky_relu", "softmax"};

/// The version 1 code of an activation name, or −1 when version 1 has none.
inline int version_1_code(std::string_view name) {
    for (int code = 0; code < 6; ++code)
        if (name == version_1_activations[code]) return code;
    return -1;
}

/// What a model file says of `layer`.
template <class Layer>
ModelLayerInfo describe(const Layer& layer) {
    ModelLayerInfo info;
    info.type = layer.type_name();
    info.inputs = layer.inputs();
    info.outputs = layer.outputs();
    info.activation = activation_spec(layer);
    info.attributes = layer_attributes(layer);
    layer.for_each_parameter([&](const auto& block, const char*) {
        info.blocks.push_back({Eigen::Index(block.rows()), Eigen::Index(block.cols())});
    });
    return info;
}

/// True when version 1 can hold the layer: a Dense layer of one of its six activations, with
/// a slope for leaky ReLU and nothing else.
inline bool fits_version_1(const ModelLayerInfo& layer) {
    if (layer.type != "Dense" || version_1_code(layer.activation.name) < 0 ||
        !layer.attributes.empty())
        return false;
    const bool leaky = layer.activation.name == "leaky_relu";
    const Attributes& attributes = layer.activation.attributes;
    if (leaky ? !(attributes.size() == 1 && attributes.has("slope")) : !attributes.empty())
        return false;
    using Shape = std::array<Eigen::Index, 2>;
    return layer.blocks ==
           std::vector<Shape>{Shape{layer.outputs, layer.inputs}, Shape{layer.outputs, 1}};
}

/// The shortest decimal text that reads back as exactly `value`, so that two slopes that differ
/// never print the same in a message.
inline std::string exact_text(double value) {
    std::string text;
    for (int digits = 6; digits <= 17; ++digits) {
        std::ostringstream out;
        out.imbue(std::locale::classic());
        out.precision(digits);
        out << value;
        text = out.str();
        std::istringstream in(text);
        in.imbue(std::locale::classic());
        double back = 0;
        if (in >> back && back == value) break;
    }
    return text;
}

/// "" for no attributes, " (slope 0.2)" or " (rate 0.5, alpha 1)" otherwise.
inline std::string attributes_text(const Attributes& attributes) {
    if (attributes.empty()) return "";
    std::string text = " (";
    for (std::size_t i = 0; i < attributes.size(); ++i) {
        const Attributes::Entry& entry = attributes.entries()[i];
        text += cat(i ? ", " : "", entry.first, " ", exact_text(entry.second));
    }
    return text + ")";
}

/// "relu", or "leaky_relu (slope 0.2)"; "no activation" for a layer without one.
inline std::string activation_text(const ActivationSpec& activation) {
    if (activation.name.empty()) return "no activation";
    return activation.name + attributes_text(activation.attributes);
}

/// "128x256 relu" for a Dense layer (W's shape, outputs x inputs, and σ); "Dropout 128x128
/// (rate 0.5)" for another type, with its activation when it has one.
inline std::string layer_text(const ModelLayerInfo& layer) {
    std::string text = shape(layer.outputs, layer.inputs);
    if (layer.type != "Dense") text = layer.type + " " + text;
    if (layer.type == "Dense" || !layer.activation.name.empty())
        text += " " + activation_text(layer.activation);
    return text + attributes_text(layer.attributes);
}

/// "[784, 256, 10]".
inline std::string sizes_text(const std::vector<Eigen::Index>& sizes) {
    std::string text = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i) text += cat(i ? ", " : "", sizes[i]);
    return text + "]";
}

/// True for a name a file can hold: 1 to 255 bytes of printable ASCII (0 bytes too when
/// `may_be_empty`).
inline bool valid_name(const std::string& name, bool may_be_empty = false) {
    if (name.size() > max_name || (name.empty() && !may_be_empty)) return false;
    for (char c : name)
        if (c < 0x20 || c > 0x7E) return false;
    return true;
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Throws ConfigError when `net` cannot be written in the format: a name that is not 1–255
/// bytes of printable ASCII, a layer or block wider than 2³² − 1, an attribute that is not
/// finite. Checked before the first byte is written.
template <class Net>
void check_savable(const Net& net) {
    using Scalar = typename Net::Scalar;
    static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                  "NABLA_MODEL_FILES_HOLD_FLOAT_OR_DOUBLE_NETWORKS");
    const std::string loss = Net::Loss::name();
    if (!valid_name(loss)) {
        throw ConfigError(cat("cannot save the model: the loss name \"", loss,
                              "\" is not 1 to 255 characters of printable ASCII"));
    }
    constexpr Eigen::Index limit = Eigen::Index(0xFFFFFFFFU);
    net.for_each_layer([&](const auto& layer, auto i) {
        const std::string name = layer_name(layer, static_cast<std::size_t>(i) + 1);
        const ModelLayerInfo info = describe(layer);
        if (!valid_name(info.type) || !valid_name(info.activation.name, true)) {
            throw ConfigError(cat("cannot save the model: ", name, " has a type or activation "
                                  "name that is not 1 to 255 characters of printable ASCII"));
        }
        bool too_wide = info.inputs > limit || info.outputs > limit;
        for (const auto& block : info.blocks) too_wide = too_wide || block[0] > limit || block[1] > limit;
        if (too_wide) {
            throw ConfigError(cat("cannot save the model: ", name, " is ",
                                  shape(info.outputs, info.inputs),
                                  ", the format allows at most 4294967295 per side"));
        }
        const auto check = [&](const Attributes& attributes, const std::string& owner) {
            for (const Attributes::Entry& entry : attributes.entries()) {
                if (!valid_name(entry.first)) {
                    throw ConfigError(cat("cannot save the model: ", name, " has an attribute "
                                          "name that is not 1 to 255 characters of printable "
                                          "ASCII"));
                }
                if (!std::isfinite(entry.second)) {
                    throw ConfigError(cat("cannot save the model: ", name, " has a ", owner,
                                          entry.first, " of ", entry.second,
                                          ", which is not finite"));
                }
            }
        };
        check(info.activation.attributes, info.activation.name + " ");
        check(info.attributes, "");
    });
}

/// Encodes little-endian numbers into a buffer, hands full buffers to the stream, and keeps the
/// CRC-32 of every byte passed on.
class Writer {
public:
    /// Writes to `out`.
    explicit Writer(std::ostream& out) : m_out(out) { m_buffer.reserve(capacity); }

    /// The low `bytes` bytes of `value`, least significant first.
    void integer(std::uint64_t value, int bytes) {
        for (int i = 0; i < bytes; ++i) m_buffer.push_back((unsigned char)(value >> (8 * i)));
        if (m_buffer.size() >= capacity) flush();
    }
    /// A u32 field.
    void u32(std::uint32_t value) { integer(value, 4); }
    /// An IEEE 754 binary64 field.
    void f64(double value) { integer(bits_of(value), 8); }
    /// A value in the stored scalar type: binary32 for float, binary64 for double.
    template <class Scalar>
    void scalar(Scalar value) {
        if constexpr (std::is_same_v<Scalar, float>)
            integer(bits_of(value), 4);
        else
            integer(bits_of(value), 8);
    }
    /// Raw bytes (the magic, the loss name).
    void bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const unsigned char*>(data);
        m_buffer.insert(m_buffer.end(), p, p + size);
        if (m_buffer.size() >= capacity) flush();
    }

    /// Writes out the buffer, then the CRC-32 of everything written, which it does not cover.
    void finish() {
        flush();
        const std::uint32_t crc = m_crc.value();
        integer(crc, 4);
        m_out.write(reinterpret_cast<const char*>(m_buffer.data()),
                    std::streamsize(m_buffer.size()));
        m_buffer.clear();
    }

private:
    static constexpr std::size_t capacity = std::size_t(1) << 16;

    static std::uint32_t bits_of(float value) {
        static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559,
                      "NABLA_MODEL_FILES_NEED_IEEE_754_FLOAT");
        std::uint32_t bits = 0;
        std::memcpy(&bits, &value, 4);
        return bits;
    }
    static std::uint64_t bits_of(double value) {
        static_assert(sizeof(double) == 8 && std::numeric_limits<double>::is_iec559,
                      "NABLA_MODEL_FILES_NEED_IEEE_754_DOUBLE");
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, 8);
        return bits;
    }

    void flush() {
        m_crc.update(m_buffer.data(), m_buffer.size());
        m_out.write(reinterpret_cast<const char*>(m_buffer.data()),
                    std::streamsize(m_buffer.size()));
        m_buffer.clear();
    }

    std::ostream& m_out;
    std::vector<unsigned char> m_buffer;
    Crc32 m_crc;
};

/// Writes a name: its length as a u32, then its bytes.
inline void write_name(Writer& writer, const std::string& name) {
    writer.u32(std::uint32_t(name.size()));
    writer.bytes(name.data(), name.size());
}

/// Writes attributes: their count, then each name and f64 value.
inline void write_attributes(Writer& writer, const Attributes& attributes) {
    writer.u32(std::uint32_t(attributes.size()));
    for (const Attributes::Entry& entry : attributes.entries()) {
        write_name(writer, entry.first);
        writer.f64(entry.second);
    }
}

/// Throws ConfigError unless `inputs` can be saved as the Standardizer of `net`'s inputs: fitted,
/// one feature per input of the first layer.
template <class Net>
void check_standardizer(const Net& net, const Standardizer<typename Net::Scalar>& inputs) {
    if (!inputs.fitted()) {
        throw ConfigError("cannot save the model: its Standardizer is not fitted; call fit() on "
                          "the training inputs first");
    }
    if (inputs.features() != net.inputs()) {
        throw ConfigError(cat("cannot save the model: its Standardizer was fitted on ",
                              inputs.features(), " features, the network takes ", net.inputs(),
                              " inputs"));
    }
}

/// Writes `net` (check_savable first): in version 3 when `inputs` is given, else in version 1
/// when every layer fits it and version 2 otherwise. Stream failures are left in the stream's
/// state for the caller to report.
template <class Net>
void write_model(const Net& net, std::ostream& out,
                 const Standardizer<typename Net::Scalar>* inputs = nullptr) {
    using Scalar = typename Net::Scalar;
    check_savable(net);
    if (inputs) check_standardizer(net, *inputs);
    std::vector<ModelLayerInfo> layers;
    net.for_each_layer([&](const auto& layer, auto) { layers.push_back(describe(layer)); });
    bool version_1 = !inputs;
    for (const ModelLayerInfo& layer : layers) version_1 = version_1 && fits_version_1(layer);

    Writer writer(out);
    writer.bytes(magic, sizeof magic);
    writer.u32(version_1 ? 1 : inputs ? 3 : 2);
    writer.u32(std::uint32_t(std::is_same_v<Scalar, float> ? StoredScalar::float32
                                                            : StoredScalar::float64));
    write_name(writer, Net::Loss::name());
    writer.u32(std::uint32_t(layers.size()));
    for (const ModelLayerInfo& layer : layers) {
        if (version_1) {
            writer.u32(std::uint32_t(layer.inputs));
            writer.u32(std::uint32_t(layer.outputs));
            writer.u32(std::uint32_t(version_1_code(layer.activation.name)));
            writer.f64(layer.activation.attributes.get_or("slope", 0.0));  // +0 but leaky ReLU
        } else {
            write_name(writer, layer.type);
            writer.u32(std::uint32_t(layer.inputs));
            writer.u32(std::uint32_t(layer.outputs));
            write_name(writer, layer.activation.name);
            write_attributes(writer, layer.activation.attributes);
            write_attributes(writer, layer.attributes);
            writer.u32(std::uint32_t(layer.blocks.size()));
            for (const auto& block : layer.blocks) {
                writer.u32(std::uint32_t(block[0]));
                writer.u32(std::uint32_t(block[1]));
            }
        }
    }
    if (inputs) {
        writer.u32(1);  // one input transform
        write_name(writer, standardizer_name);
        writer.u32(std::uint32_t(inputs->features()));
        for (Eigen::Index j = 0; j < inputs->features(); ++j) writer.f64(double(inputs->mean()(j)));
        for (Eigen::Index j = 0; j < inputs->features(); ++j) writer.f64(double(inputs->scale()(j)));
    }
    // Each block column by column: w_jk with j (the neuron of this layer) running fastest.
    for_each_parameter(net, [&](const auto& block, const ParameterInfo&) {
        for (Eigen::Index k = 0; k < block.cols(); ++k)
            for (Eigen::Index j = 0; j < block.rows(); ++j) writer.scalar(block(j, k));
    });
    writer.finish();
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Model bytes already in memory.
class MemoryInput {
public:
    /// The `size` bytes at `data`, which must outlive the input.
    MemoryInput(const unsigned char* data, std::size_t size) : m_data(data), m_size(size) {}
    /// How many bytes there are.
    std::uint64_t size() const { return m_size; }
    /// Copies up to `count` bytes; fewer only at the end.
    std::size_t read(unsigned char* out, std::size_t count) {
        const std::size_t got = count < m_size - m_next ? count : m_size - m_next;
        if (got > 0) std::memcpy(out, m_data + m_next, got);
        m_next += got;
        return got;
    }
    /// Never: memory does not fail.
    bool failed() const { return false; }

private:
    const unsigned char* m_data;
    std::size_t m_size;
    std::size_t m_next = 0;
};

/// A regular file read front to back, its size known from the file system before reading, so
/// that every count in the header can be checked against it before anything is allocated.
class FileInput {
public:
    /// Reads `file` (open, at its start) of `size` bytes.
    FileInput(std::FILE* file, std::uint64_t size) : m_file(file), m_size(size) {}
    /// The size the file had when it was opened.
    std::uint64_t size() const { return m_size; }
    /// Reads up to `count` bytes; fewer at the end of the file or on a read error.
    std::size_t read(unsigned char* out, std::size_t count) {
        return std::fread(out, 1, count, m_file);
    }
    /// True after a read error.
    bool failed() const { return std::ferror(m_file) != 0; }

private:
    std::FILE* m_file;
    std::uint64_t m_size;
};

/// Reads the fields of a model front to back from an input (MemoryInput or FileInput), keeping
/// the offset for messages and the CRC-32 of everything read.
template <class Input>
class Reader {
public:
    /// `name` is what messages call the source: the path, or the name given for bytes.
    Reader(Input& input, const std::string& name) : m_input(input), m_name(name) {}

    /// The offset of the next byte.
    std::uint64_t position() const { return m_position; }
    /// The bytes left after position().
    std::uint64_t remaining() const {
        return m_input.size() > m_position ? m_input.size() - m_position : 0;
    }
    /// The CRC-32 of every byte read so far.
    std::uint32_t checksum() const { return m_crc.value(); }

    /// Throws FileError "name: byte offset: what".
    [[noreturn]] void fail(std::uint64_t offset, const std::string& what) const {
        throw FileError(cat(m_name, ": byte ", offset, ": ", what));
    }

    /// Reads up to `count` bytes and returns how many there were; a read error throws.
    std::size_t read_some(unsigned char* out, std::size_t count) {
        const std::size_t got = m_input.read(out, count);
        if (m_input.failed()) fail(m_position + got, "read error");
        m_crc.update(out, got);
        m_position += got;
        return got;
    }

    /// Reads exactly `count` bytes of `what`; a file that ends first is truncated.
    void read(unsigned char* out, std::size_t count, const std::string& what) {
        const std::uint64_t start = m_position;
        const std::size_t got = read_some(out, count);
        if (got == count) return;
        if (got == 0) fail(start, cat("the file ends before ", what, ": it is truncated"));
        fail(start + got, cat("the file ends ", got, " of ", count, " bytes into ", what,
                              " (which starts at byte ", start, "): it is truncated"));
    }

    /// A little-endian u32 field.
    std::uint32_t u32(const std::string& what) {
        unsigned char bytes[4];
        read(bytes, 4, what);
        return std::uint32_t(little_endian(bytes, 4));
    }

    /// A little-endian u64 field.
    std::uint64_t u64(const std::string& what) {
        unsigned char bytes[8];
        read(bytes, 8, what);
        return little_endian(bytes, 8);
    }

    /// The number in `count` bytes, least significant first.
    static std::uint64_t little_endian(const unsigned char* bytes, int count) {
        std::uint64_t value = 0;
        for (int i = count - 1; i >= 0; --i) value = (value << 8) | bytes[i];
        return value;
    }

private:
    Input& m_input;
    const std::string& m_name;
    std::uint64_t m_position = 0;
    Crc32 m_crc;
};

/// "xx xx xx" for the first `count` bytes, as a message quotes a wrong magic.
inline std::string hex_text(const unsigned char* bytes, std::size_t count) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    for (std::size_t i = 0; i < count; ++i) {
        if (i) text += ' ';
        text += digits[bytes[i] >> 4];
        text += digits[bytes[i] & 15];
    }
    return text;
}

/// "0x1234abcd".
inline std::string hex32(std::uint32_t value) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text = "0x";
    for (int shift = 28; shift >= 0; shift -= 4) text += digits[(value >> shift) & 15];
    return text;
}

/// Reads a name: a u32 length, then that many bytes of printable ASCII (1 to 255, or 0 when
/// `may_be_empty`).
template <class Input>
std::string read_name(Reader<Input>& in, const std::string& what, bool may_be_empty) {
    const std::uint64_t length_at = in.position();
    const std::uint32_t length = in.u32(cat("the length of ", what));
    if (length > max_name || (length == 0 && !may_be_empty)) {
        in.fail(length_at, cat(what, " is said to be ", length, " bytes long; it must be ",
                               may_be_empty ? 0 : 1, " to ", max_name));
    }
    unsigned char text[max_name];
    const std::uint64_t text_at = in.position();
    in.read(text, length, what);
    for (std::uint32_t i = 0; i < length; ++i) {
        if (text[i] < 0x20 || text[i] > 0x7E) {
            in.fail(text_at + i, cat(what, " holds the byte ", hex_text(text + i, 1),
                                     ", which is not printable ASCII"));
        }
    }
    return std::string(reinterpret_cast<const char*>(text), length);
}

/// Reads a count of items of at least `item_bytes` bytes each, refusing one the bytes left
/// cannot hold.
template <class Input>
std::uint32_t read_count(Reader<Input>& in, const std::string& what, std::size_t item_bytes) {
    const std::uint64_t at = in.position();
    const std::uint32_t count = in.u32(what);
    if (std::uint64_t(count) * item_bytes > in.remaining()) {
        in.fail(at, cat("the file says it holds ", count, " ", what, ", which need at least ",
                        std::uint64_t(count) * item_bytes, " bytes, but only ", in.remaining(),
                        " follow: the file is truncated or the count is corrupt"));
    }
    return count;
}

/// Reads a list of attributes (count, then name and f64 value each); every value finite.
template <class Input>
Attributes read_attributes(Reader<Input>& in, const std::string& owner) {
    Attributes attributes;
    const std::uint32_t count = read_count(in, cat("attributes of ", owner), min_attribute);
    for (std::uint32_t k = 0; k < count; ++k) {
        const std::uint64_t name_at = in.position();
        const std::string name = read_name(in, cat("an attribute name of ", owner), false);
        if (attributes.has(name)) {
            in.fail(name_at, cat("the attribute \"", name, "\" of ", owner, " is given twice"));
        }
        const std::uint64_t value_at = in.position();
        const std::uint64_t bits = in.u64(cat("the attribute \"", name, "\" of ", owner));
        double value = 0;
        std::memcpy(&value, &bits, 8);
        if (!std::isfinite(value)) {
            in.fail(value_at, cat("the attribute \"", name, "\" of ", owner, " is ", value,
                                  ", which is not finite"));
        }
        attributes.set(name, value);
    }
    return attributes;
}

/// Reads the 20-byte layer record l of a version 1 file.
template <class Input>
ModelLayerInfo read_version_1_layer(Reader<Input>& in, std::uint32_t l, std::uint64_t& inputs_at) {
    ModelLayerInfo layer;
    inputs_at = in.position();
    layer.inputs = Eigen::Index(in.u32(cat("the input count of layer ", l)));
    const std::uint64_t outputs_at = in.position();
    layer.outputs = Eigen::Index(in.u32(cat("the output count of layer ", l)));
    const std::uint64_t code_at = in.position();
    const std::uint32_t code = in.u32(cat("the activation of layer ", l));
    const std::uint64_t slope_at = in.position();
    const std::uint64_t slope_bits = in.u64(cat("the slope of layer ", l));

    if (layer.inputs == 0) in.fail(inputs_at, cat("layer ", l, " has 0 inputs"));
    if (layer.outputs == 0) in.fail(outputs_at, cat("layer ", l, " has 0 outputs"));
    layer.blocks = {{layer.outputs, layer.inputs}, {layer.outputs, 1}};
    if (code >= 6) {
        in.fail(code_at, cat("unknown activation code ", code, " for layer ", l,
                             " (0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leaky_relu, "
                             "5 softmax)"));
    }
    layer.activation.name = version_1_activations[code];
    double slope = 0;
    std::memcpy(&slope, &slope_bits, 8);
    if (layer.activation.name == "leaky_relu") {
        if (!std::isfinite(slope)) {
            in.fail(slope_at, cat("the leaky_relu slope of layer ", l, " is ", slope,
                                  ", which is not finite"));
        }
        layer.activation.attributes.set("slope", slope);
    } else if (slope_bits != 0) {
        in.fail(slope_at, cat("the slope field of layer ", l, " (", layer.activation.name,
                              ") is not zero; only leaky_relu has a slope"));
    }
    return layer;
}

/// Reads the description of layer l of a version 2 file.
template <class Input>
ModelLayerInfo read_version_2_layer(Reader<Input>& in, std::uint32_t l, std::uint64_t& inputs_at) {
    ModelLayerInfo layer;
    layer.type = read_name(in, cat("the type of layer ", l), false);
    inputs_at = in.position();
    layer.inputs = Eigen::Index(in.u32(cat("the input count of layer ", l)));
    const std::uint64_t outputs_at = in.position();
    layer.outputs = Eigen::Index(in.u32(cat("the output count of layer ", l)));
    if (layer.inputs == 0) in.fail(inputs_at, cat("layer ", l, " has 0 inputs"));
    if (layer.outputs == 0) in.fail(outputs_at, cat("layer ", l, " has 0 outputs"));
    layer.activation.name = read_name(in, cat("the activation of layer ", l), true);
    layer.activation.attributes = read_attributes(in, cat("the activation of layer ", l));
    layer.attributes = read_attributes(in, cat("layer ", l));
    const std::uint32_t blocks = read_count(in, cat("parameter blocks of layer ", l), 8);
    for (std::uint32_t k = 1; k <= blocks; ++k) {
        const std::uint64_t at = in.position();
        const Eigen::Index rows = Eigen::Index(in.u32(cat("the rows of block ", k, " of layer ", l)));
        const Eigen::Index cols = Eigen::Index(in.u32(cat("the columns of block ", k, " of layer ", l)));
        if (rows == 0 || cols == 0) {
            in.fail(at, cat("parameter block ", k, " of layer ", l, " is ", shape(rows, cols),
                            "; a block has at least one entry"));
        }
        layer.blocks.push_back({rows, cols});
    }
    return layer;
}

/// Reads `count` stored values, calling store(index, value, offset) with each as a double (a
/// float32 value converts to double exactly).
template <class Input, class Store>
void read_values(Reader<Input>& in, StoredScalar scalar, std::uint64_t count,
                 const std::string& what, Store&& store) {
    const std::size_t width = scalar == StoredScalar::float32 ? 4 : 8;
    unsigned char chunk[8192];
    const std::size_t per_chunk = sizeof chunk / width;
    for (std::uint64_t done = 0; done < count;) {
        const std::size_t n = count - done < per_chunk ? std::size_t(count - done) : per_chunk;
        const std::uint64_t start = in.position();
        in.read(chunk, n * width, what);
        for (std::size_t i = 0; i < n; ++i) {
            const std::uint64_t bits = Reader<Input>::little_endian(chunk + i * width, int(width));
            double value = 0;
            if (width == 4) {
                const std::uint32_t bits32 = std::uint32_t(bits);
                float f = 0;
                std::memcpy(&f, &bits32, 4);
                value = f;
            } else {
                std::memcpy(&value, &bits, 8);
            }
            store(done + i, value, start + i * width);
        }
        done += n;
    }
}

/// Reads version 3's input transform section: a count (0 or 1), then the Standardizer: its
/// name, its feature count (the first layer's inputs), and μ and s as f64, each μ finite and
/// each s positive and finite.
template <class Input>
std::optional<StoredStandardizer> read_input_transform(Reader<Input>& in, Eigen::Index inputs) {
    const std::uint64_t count_at = in.position();
    const std::uint32_t count = in.u32("the input transform count");
    if (count > 1) {
        in.fail(count_at, cat("the file holds ", count, " input transforms; this library reads "
                              "at most 1 (a Standardizer)"));
    }
    if (count == 0) return std::nullopt;
    const std::uint64_t name_at = in.position();
    const std::string name = read_name(in, "the input transform's name", false);
    if (name != standardizer_name) {
        in.fail(name_at, cat("the input transform is \"", name, "\"; this library knows only \"",
                             standardizer_name, "\""));
    }
    const std::uint64_t features_at = in.position();
    const std::uint32_t features = in.u32("the Standardizer's feature count");
    if (Eigen::Index(features) != inputs) {
        in.fail(features_at, cat("the Standardizer has ", features, " features, but layer 1 "
                                 "takes ", inputs, " inputs"));
    }
    if (std::uint64_t(features) * 16 > in.remaining()) {
        in.fail(features_at, cat("the Standardizer's ", features, " means and scales need ",
                                 std::uint64_t(features) * 16, " bytes, but only ",
                                 in.remaining(), " follow: the file is truncated"));
    }
    StoredStandardizer result;
    result.mean.resize(features);
    result.scale.resize(features);
    read_values(in, StoredScalar::float64, features, "the Standardizer's means",
                [&](std::uint64_t j, double value, std::uint64_t offset) {
                    if (!std::isfinite(value)) {
                        in.fail(offset, cat("the Standardizer's mean of feature ", j, " is ",
                                            value, ", which is not finite"));
                    }
                    result.mean(Eigen::Index(j)) = value;
                });
    read_values(in, StoredScalar::float64, features, "the Standardizer's scales",
                [&](std::uint64_t j, double value, std::uint64_t offset) {
                    if (!(std::isfinite(value) && value > 0)) {
                        in.fail(offset, cat("the Standardizer's scale of feature ", j, " is ",
                                            value, "; a scale is positive and finite"));
                    }
                    result.scale(Eigen::Index(j)) = value;
                });
    return result;
}

/// Reads and checks everything before the parameters: magic, version, scalar type, loss name,
/// layer descriptions. On return every count has been checked against the bytes left, so the
/// parameters can be allocated without trusting the file.
template <class Input>
ModelInfo read_header(Reader<Input>& in) {
    ModelInfo info;

    unsigned char head[sizeof magic];
    const std::size_t got = in.read_some(head, sizeof magic);
    if (got == 0) in.fail(0, "the file is empty; a model file starts with \"NABLAMLP\"");
    if (std::memcmp(head, magic, got) != 0) {
        in.fail(0, cat("not a nabla model file: it starts with bytes ", hex_text(head, got),
                       ", a model file starts with \"NABLAMLP\" (", hex_text(magic, 8), ")"));
    }
    if (got < sizeof magic) {
        in.fail(got, cat("the file ends ", got, " bytes into the magic \"NABLAMLP\": it is "
                                                "truncated"));
    }

    const std::uint64_t version_at = in.position();
    info.version = in.u32("the format version");
    if (info.version < 1 || info.version > 3) {
        in.fail(version_at, cat("model format version ", info.version, " is not supported; "
                                "this library reads versions 1, 2 and 3"));
    }

    const std::uint64_t scalar_at = in.position();
    const std::uint32_t scalar = in.u32("the scalar type");
    if (scalar != std::uint32_t(StoredScalar::float32) &&
        scalar != std::uint32_t(StoredScalar::float64)) {
        in.fail(scalar_at, cat("unknown scalar type code ", scalar,
                               " (1 is float32, 2 is float64)"));
    }
    info.scalar = StoredScalar(scalar);
    info.loss = read_name(in, "the loss name", false);

    const std::uint64_t count_at = in.position();
    const std::uint32_t count = in.u32("the layer count");
    if (count == 0) in.fail(count_at, "the layer count is 0; a model has at least 1 layer");
    const std::size_t least = info.version == 1 ? layer_record_size : min_layer_description;
    if (std::uint64_t(count) * least > in.remaining()) {
        in.fail(count_at, cat("the file says it holds ", count, " layers, whose descriptions "
                              "alone need ", std::uint64_t(count) * least,
                              " bytes, but only ", in.remaining(), " follow: the file is "
                              "truncated or the count is corrupt"));
    }

    info.layers.reserve(count);  // at most remaining() / 20 entries: checked just above
    for (std::uint32_t l = 1; l <= count; ++l) {
        std::uint64_t inputs_at = 0;
        ModelLayerInfo layer = info.version == 1 ? read_version_1_layer(in, l, inputs_at)
                                                 : read_version_2_layer(in, l, inputs_at);
        if (l > 1 && layer.inputs != info.layers.back().outputs) {
            in.fail(inputs_at,
                    cat("layer ", l, " takes ", layer.inputs, " inputs but layer ", l - 1,
                        " has ", info.layers.back().outputs, " outputs"));
        }
        info.layers.push_back(std::move(layer));
    }
    if (info.version == 3) info.standardizer = read_input_transform(in, info.layers.front().inputs);

    // Each block count is below 2³² and each side too, so rows·cols fits in 64 bits; the running
    // total is compared with the bytes left at each step, so it never grows past the file size.
    const std::uint64_t width = info.scalar == StoredScalar::float32 ? 4 : 8;
    const std::uint64_t available = in.remaining();
    std::uint64_t needed = 4;  // the checksum
    bool fits = needed <= available;
    for (const ModelLayerInfo& layer : info.layers) {
        for (const auto& block : layer.blocks) {
            if (!fits) break;
            const std::uint64_t values = std::uint64_t(block[0]) * std::uint64_t(block[1]);
            fits = values <= (available - needed) / width;
            if (fits) needed += values * width;
        }
    }
    if (!fits) {
        in.fail(in.position() + available,
                cat("the file ends here, but the ", plural(Eigen::Index(count), "layer"),
                    " it describes (sizes ", sizes_text(info.sizes()), ", ", to_string(info.scalar),
                    ") need more bytes of weights, biases and checksum than the ", available,
                    " after byte ", in.position(), ": the file is truncated or its header is "
                    "corrupt"));
    }
    return info;
}

/// A whole model file, read and checked, its parameters in the network's scalar type: per layer,
/// its blocks in order.
template <class Scalar>
struct StagedModel {
    /// One parameter block as read.
    using Block = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    ModelInfo info;                         ///< The header.
    std::vector<std::vector<Block>> layers;  ///< Empty when the parameters were not kept.
};

/// Reads a whole model: header, parameters (converted to `Scalar` when `keep` is true, skipped
/// otherwise), checksum, and the end of the file. Every way a file can be wrong throws FileError
/// with the offset; nothing outside the returned value is changed.
template <class Scalar, class Input>
StagedModel<Scalar> read_model(Input& input, const std::string& name, bool keep = true) {
    Reader<Input> in(input, name);
    StagedModel<Scalar> model;
    model.info = read_header(in);
    const ModelInfo& info = model.info;

    // A float64 value beyond float's range would become infinite in a float network. Reported
    // after the checksum, since a corrupt file is the likelier cause.
    std::optional<std::string> out_of_range;
    std::uint64_t out_of_range_at = 0;
    const auto convert = [&](double value, std::uint64_t offset, const auto& where) {
        const Scalar converted = static_cast<Scalar>(value);
        if (!out_of_range && std::isfinite(value) && !std::isfinite(converted)) {
            out_of_range = cat(where(), " = ", exact_text(value),
                               " is beyond the range of float, the network's scalar type");
            out_of_range_at = offset;
        }
        return converted;
    };

    if (keep) model.layers.resize(info.layers.size());
    for (std::size_t l = 0; l < info.layers.size(); ++l) {
        const ModelLayerInfo& layer = info.layers[l];
        if (keep) model.layers[l].resize(layer.blocks.size());
        for (std::size_t k = 0; k < layer.blocks.size(); ++k) {
            const Eigen::Index rows = layer.blocks[k][0];
            const Eigen::Index cols = layer.blocks[k][1];
            // Dense's blocks keep the names messages always gave them.
            const bool dense = layer.type == "Dense" && layer.blocks.size() == 2;
            const std::string block_name = dense ? (k == 0 ? "W" : "b") : cat("block ", k + 1);
            typename StagedModel<Scalar>::Block* staged = keep ? &model.layers[l][k] : nullptr;
            if (staged) staged->resize(rows, cols);  // checked against the file size
            const std::string what = dense ? cat(k == 0 ? "the weights" : "the bias", " of layer ",
                                                 l + 1)
                                           : cat(block_name, " of layer ", l + 1);
            read_values(in, info.scalar, std::uint64_t(rows) * std::uint64_t(cols), what,
                        [&](std::uint64_t i, double value, std::uint64_t offset) {
                            const Eigen::Index j = Eigen::Index(i % std::uint64_t(rows));
                            const Eigen::Index c = Eigen::Index(i / std::uint64_t(rows));
                            const Scalar v = convert(value, offset, [&] {
                                return cols == 1 && dense
                                           ? cat("layer ", l + 1, " b(", j, ")")
                                           : cat("layer ", l + 1, " ", block_name, "(", j, ",", c,
                                                 ")");
                            });
                            if (staged) (*staged)(j, c) = v;
                        });
        }
    }

    const std::uint64_t crc_at = in.position();
    const std::uint32_t computed = in.checksum();
    const std::uint32_t stored = in.u32("the checksum");
    if (stored != computed) {
        in.fail(crc_at, cat("checksum mismatch: the file stores CRC-32 ", hex32(stored),
                            ", its bytes give ", hex32(computed), ": the file is corrupt"));
    }
    unsigned char extra[1];
    if (in.read_some(extra, 1) != 0) {
        const std::uint64_t end = in.position() - 1;
        const std::uint64_t trailing = in.remaining() + 1;
        in.fail(end, cat(plural(Eigen::Index(trailing), "byte"), " follow the checksum, which "
                         "ends a model file"));
    }
    if (out_of_range) in.fail(out_of_range_at, *out_of_range);
    return model;
}

/// Opens the model file at `path` and calls f(input) with a FileInput, or, for a file whose size
/// the file system does not tell (a pipe), with a MemoryInput over all its bytes.
template <class F>
decltype(auto) with_model_file(const std::string& path, F&& f) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw FileError(cat(path, ": is a directory, not a model file"));
    }
    struct Close {
        void operator()(std::FILE* file) const { std::fclose(file); }
    };
    errno = 0;
    std::unique_ptr<std::FILE, Close> file(std::fopen(path.c_str(), "rb"));
    if (!file) {
        const int error = errno;
        throw FileError(cat(path, ": cannot open the model file: ",
                            error ? std::generic_category().message(error)
                                  : std::string("unknown error")));
    }
    if (std::filesystem::is_regular_file(path, ec)) {
        const std::uintmax_t size = std::filesystem::file_size(path, ec);
        if (!ec) {
            FileInput input(file.get(), std::uint64_t(size));
            return f(input);
        }
    }
    // Grown as data arrives, up to a bound, so a source that never ends (/dev/zero, a FIFO fed
    // forever) costs what it delivers and never more than stream_limit; a source that does not
    // start as a model file does is not read past its first chunk.
    std::vector<unsigned char> bytes;
    for (std::size_t chunk = std::size_t(1) << 16;;) {
        const std::size_t used = bytes.size();
        bytes.resize(used + chunk);
        const std::size_t got = std::fread(bytes.data() + used, 1, chunk, file.get());
        bytes.resize(used + got);
        if (std::ferror(file.get())) {
            throw FileError(cat(path, ": byte ", used + got, ": read error"));
        }
        if (got < chunk) break;
        if (used == 0 && std::memcmp(bytes.data(), magic, sizeof magic) != 0) break;  // refused
        if (bytes.size() > detail::stream_limit) {
            throw FileError(cat(path, ": byte ", detail::stream_limit, ": the data go on past ",
                                detail::stream_limit, " bytes (1 GiB), the most nabla reads "
                                "from a pipe or device whose size it cannot know first; save the "
                                "model to a regular file"));
        }
    }
    MemoryInput input(bytes.data(), bytes.size());
    return f(input);
}

/// Throws FileError naming `name` unless the model in `info` has the loss, the layer count and,
/// layer by layer, the type, sizes, activation, attributes and blocks of `net`.
template <class Net>
void check_fits(const Net& net, const ModelInfo& info, const std::string& name) {
    const std::string loss = Net::Loss::name();
    if (info.loss != loss) {
        throw FileError(cat(name, ": the model was saved with the loss ", info.loss,
                            ", the network uses ", loss));
    }
    if (info.layers.size() != std::size_t(net.layer_count())) {
        throw FileError(cat(name, ": the model has ", plural(Eigen::Index(info.layers.size()),
                                                              "layer"),
                            " (sizes ", sizes_text(info.sizes()), "), the network has ",
                            net.layer_count(), " (sizes ", sizes_text(net.sizes()), ")"));
    }
    net.for_each_layer([&](const auto& layer, auto i) {
        const std::size_t l = static_cast<std::size_t>(i);
        const ModelLayerInfo& stored = info.layers[l];
        const ModelLayerInfo own = describe(layer);
        if (stored != own) {
            throw FileError(cat(name, ": layer ", l + 1, " is ", layer_text(stored),
                                ", the network's layer ", l + 1, " is ", layer_text(own),
                                " (W is outputs x inputs)"));
        }
    });
}

/// Throws FileError naming `name` unless `Loss` is the loss of the model and fits its output.
template <class Loss>
void check_loss(const ModelInfo& info, const std::string& name) {
    if (info.loss != Loss::name()) {
        throw FileError(cat(name, ": the model was saved with the loss ", info.loss,
                            ", the network type uses ", Loss::name()));
    }
    const ActivationSpec& output = info.layers.back().activation;
    if (!LossTraits<Loss>::accepts(output.name) ||
        (LossTraits<Loss>::fused && output.name.empty())) {
        throw FileError(cat(name, ": the loss ", info.loss, " does not fit the output "
                            "activation ", output.name.empty() ? "(none)" : output.name,
                            " of layer ", info.layers.size()));
    }
}

/// Moves checked parameters into `net`. Nothing here can fail: shapes were checked, and
/// assigning a matrix of the same size does not allocate.
template <class Net, class Scalar>
void commit(Net& net, StagedModel<Scalar>& model) {
    std::size_t block = 0;
    std::size_t layer = 0;
    for_each_parameter(net, [&](auto& parameters, const ParameterInfo& info) {
        if (info.layer != layer) {
            layer = info.layer;
            block = 0;
        }
        parameters = model.layers[info.layer][block++];
    });
}

/// The activation a model file names, from the registry; throws FileError naming the file, the
/// layer and the activation when the program has not registered it. A template for the reason
/// ActivationRegistry is one.
template <class Registry = ActivationRegistry>
AnyActivation activation_of(const ActivationSpec& spec, const std::string& name,
                            std::size_t layer) {
    const Registry& registry = Registry::instance();
    if (!registry.contains(spec.name)) {
        throw FileError(cat(name, ": layer ", layer, " uses the activation \"", spec.name,
                            "\", which this program has not registered (", registry.names_text(),
                            " are); register its type with nabla::register_activation "
                            "before loading"));
    }
    try {
        return registry.make(spec.name, spec.attributes);
    } catch (const std::exception& e) {
        throw FileError(cat(name, ": layer ", layer, ": the activation \"", spec.name,
                            "\" cannot be built from its attributes", attributes_text(spec.attributes),
                            ": ", e.what()));
    }
}

/// Builds the DynamicNetwork a checked model describes, each layer by its type's name from the
/// layer registry and each activation from the activation registry.
template <class Scalar, class Loss>
DynamicNetwork<Scalar, Loss> build_network(StagedModel<Scalar>& model, const std::string& name) {
    check_loss<Loss>(model.info, name);
    std::vector<AnyLayer<Scalar>> layers;
    layers.reserve(model.layers.size());
    for (std::size_t l = 0; l < model.layers.size(); ++l) {
        const ModelLayerInfo& stored = model.info.layers[l];
        LayerSpec spec;
        spec.inputs = stored.inputs;
        spec.outputs = stored.outputs;
        if (!stored.activation.name.empty())
            spec.activation = activation_of(stored.activation, name, l + 1);
        spec.attributes = stored.attributes;
        // A layer is built at its declared sizes before it is compared with its blocks, and a
        // Dense layer allocates W at those sizes: they must be the blocks' shapes first, or a
        // damaged file declaring sizes far beyond the data it holds would allocate them.
        const std::vector<std::array<Eigen::Index, 2>> dense_blocks{
            {stored.outputs, stored.inputs}, {stored.outputs, 1}};
        if (stored.type == "Dense" && stored.blocks != dense_blocks) {
            throw FileError(cat(name, ": layer ", l + 1, " is ", layer_text(stored),
                                ", but a Dense layer of those sizes holds W (", stored.outputs,
                                "x", stored.inputs, ") and b (", stored.outputs, "x1)"));
        }
        try {
            layers.push_back(LayerRegistry<Scalar>::instance().make(stored.type, spec));
        } catch (const std::invalid_argument& e) {
            throw FileError(cat(name, ": layer ", l + 1, " (", stored.type, ") cannot be built: ",
                                e.what()));
        } catch (const std::bad_alloc&) {
            throw FileError(cat(name, ": layer ", l + 1, " is ", layer_text(stored),
                                ": building it at those sizes needs more memory than there is"));
        } catch (const std::length_error&) {
            throw FileError(cat(name, ": layer ", l + 1, " is ", layer_text(stored),
                                ": those sizes are more than a layer can hold"));
        }
        const ModelLayerInfo built = describe(layers.back());
        if (built != stored) {
            throw FileError(cat(name, ": layer ", l + 1, " is ", layer_text(stored),
                                ", but the layer its type builds from that is ",
                                layer_text(built)));
        }
        std::size_t block = 0;
        layers.back().for_each_parameter([&](auto& parameters, const char*) {
            parameters = model.layers[l][block++];
        });
    }
    try {
        return DynamicNetwork<Scalar, Loss>(std::move(layers));
    } catch (const std::invalid_argument& e) {
        throw FileError(cat(name, ": the layers do not make a network for the loss ", Loss::name(),
                            ": ", e.what()));
    }
}

/// The Standardizer a checked model keeps for its inputs, in `Scalar`; throws FileError naming
/// `name` when the file keeps none or its μ or s leave the range of `Scalar`.
template <class Scalar>
Standardizer<Scalar> standardizer_of(const ModelInfo& info, const std::string& name) {
    if (!info.standardizer) {
        throw FileError(cat(name, ": the model keeps no Standardizer for its inputs (it is format "
                            "version ", info.version, "; nabla::save(net, scaler, path) writes "
                            "one, in version 3)"));
    }
    try {
        return Standardizer<Scalar>(info.standardizer->mean.template cast<Scalar>(),
                                    info.standardizer->scale.template cast<Scalar>());
    } catch (const std::invalid_argument& e) {
        throw FileError(cat(name, ": the model's Standardizer does not fit the network's scalar "
                            "type: ", e.what()));
    }
}

}  // namespace detail::model

/// Writes `net` to `out` in the model format (version 1 when it can hold the network, version 2
/// otherwise): the layers (types, sizes, activations with their attributes, the layers' own
/// attributes), the loss's name, and every parameter, float32 for a float network and float64
/// for a double one. Throws ConfigError when the network cannot be stored (see
/// docs/model-format.md) and FileError when the stream fails.
template <class Net, class = typename Net::Loss>
void save(const Net& net, std::ostream& out) {
    detail::model::write_model(net, out);
    if (!out) throw FileError("the output stream failed while the model was written to it");
}

/// Saves `net` to the file `path` atomically (write_file_atomically): the file holds either its
/// previous content or the whole model, never part of it. Throws FileError naming the path when
/// the file cannot be written, ConfigError when the network cannot be stored.
template <class Net, class = typename Net::Loss>
void save(const Net& net, const std::string& path) {
    detail::model::check_savable(net);  // before a temporary file exists
    write_file_atomically(path,
                          [&](std::ostream& out) { detail::model::write_model(net, out); });
}

/// Writes `net` and `inputs`, the Standardizer its inputs go through, to `out` (format version 3),
/// so that a program that loads the model can predict on raw inputs. Throws ConfigError when
/// `inputs` is not fitted or was fitted on another number of features than `net` takes, and as
/// save(net, out) otherwise.
template <class Net, class = typename Net::Loss>
void save(const Net& net, const Standardizer<typename Net::Scalar>& inputs, std::ostream& out) {
    detail::model::write_model(net, out, &inputs);
    if (!out) throw FileError("the output stream failed while the model was written to it");
}

/// Saves `net` with `inputs`, the Standardizer its inputs go through, to the file `path`
/// atomically (format version 3). Errors as save(net, inputs, out) and save(net, path).
///
///     nabla::save(net, scaler, "iris.nbl");   // load_model("iris.nbl").predict(raw inputs)
template <class Net, class = typename Net::Loss>
void save(const Net& net, const Standardizer<typename Net::Scalar>& inputs,
          const std::string& path) {
    detail::model::check_savable(net);
    detail::model::check_standardizer(net, inputs);
    write_file_atomically(
        path, [&](std::ostream& out) { detail::model::write_model(net, out, &inputs); });
}

/// Loads the parameters of the model file `path` into `net`, which must have been built with the
/// same layers (types, sizes, activations and attributes such as leaky ReLU slopes) and the same
/// loss. A float32 file loads into a double network exactly; a float64 file loads into a float
/// network rounded to nearest. Throws FileError naming the file: with a byte offset when it is
/// missing, corrupt, truncated or of another format or version; naming the layer and both
/// descriptions when it does not fit `net`. On any error `net` is left exactly as it was. A
/// version 3 file's Standardizer is not read: load(net, inputs, path) and load_model() read it.
template <class Net, class = typename Net::Loss>
void load(Net& net, const std::string& path) {
    detail::model::with_model_file(path, [&](auto& input) {
        auto model = detail::model::read_model<typename Net::Scalar>(input, path);
        detail::model::check_fits(net, model.info, path);
        detail::model::commit(net, model);
    });
}

/// Loads the parameters of the model file `path` into `net` and its inputs' Standardizer into
/// `inputs`. Throws FileError as load(net, path) does, and when the file keeps no Standardizer
/// (versions 1 and 2). On any error `net` and `inputs` are left exactly as they were.
template <class Net, class = typename Net::Loss>
void load(Net& net, Standardizer<typename Net::Scalar>& inputs, const std::string& path) {
    detail::model::with_model_file(path, [&](auto& input) {
        auto model = detail::model::read_model<typename Net::Scalar>(input, path);
        detail::model::check_fits(net, model.info, path);
        Standardizer<typename Net::Scalar> staged =
            detail::model::standardizer_of<typename Net::Scalar>(model.info, path);
        detail::model::commit(net, model);
        inputs = std::move(staged);
    });
}

/// load() from the `size` bytes at `data`, which messages call `name`.
template <class Net, class = typename Net::Loss>
void load_from_bytes(Net& net, const void* data, std::size_t size,
                     const std::string& name = "model bytes") {
    detail::model::MemoryInput input(static_cast<const unsigned char*>(data), size);
    auto model = detail::model::read_model<typename Net::Scalar>(input, name);
    detail::model::check_fits(net, model.info, name);
    detail::model::commit(net, model);
}

/// The network stored in the model file `path`, built with the layers the file gives; its
/// activations and layer types must be registered in the program (the built-ins are). Throws
/// FileError as load() does, when the file's loss is not `Loss`, and when it names an activation
/// or layer type the program has not registered (the message names it).
///
///     auto net = nabla::load_network<float, nabla::CrossEntropy>("mnist.nbl");
template <class Scalar, class Loss>
DynamicNetwork<Scalar, Loss> load_network(const std::string& path) {
    return detail::model::with_model_file(path, [&](auto& input) {
        auto model = detail::model::read_model<Scalar>(input, path);
        return detail::model::build_network<Scalar, Loss>(model, path);
    });
}

/// load_network() from the `size` bytes at `data`, which messages call `name`.
template <class Scalar, class Loss>
DynamicNetwork<Scalar, Loss> load_network_from_bytes(const void* data, std::size_t size,
                                                     const std::string& name = "model bytes") {
    detail::model::MemoryInput input(static_cast<const unsigned char*>(data), size);
    auto model = detail::model::read_model<Scalar>(input, name);
    return detail::model::build_network<Scalar, Loss>(model, name);
}

/// What the model file `path` holds (format, scalar type, loss, layers), after checking the whole
/// file as load() does; the parameters are read for the checksum but not kept. Lets a program
/// choose the network type before loading. Needs no registration: names are read as text.
inline ModelInfo read_model_info(const std::string& path) {
    return detail::model::with_model_file(path, [&](auto& input) {
        return detail::model::read_model<double>(input, path, false).info;
    });
}

}  // namespace nabla
