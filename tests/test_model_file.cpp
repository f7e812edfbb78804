// Model files (docs/model-format.md) and atomic writes. Round trips are bit-exact for fixed,
// sized and dynamic networks of every activation, in float and double and across the two; the
// bytes of small models are checked against a layout written out by hand; every corruption (each
// header field, every truncation, every single-byte flip) throws FileError with the file and the
// byte offset and leaves the network untouched; a model that does not fit the network says which
// layer and both shapes; a write that fails half-way leaves the previous file and no temporary.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/checksum.hpp>
#include <nabla/io/model_file.hpp>
#include <nabla/loss.hpp>
#include <nabla/model.hpp>
#include <nabla/network.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef NABLA_HAS_ZLIB
#include <zlib.h>
#endif

#if __has_include(<sys/resource.h>) && __has_include(<csignal>) && __has_include(<sys/stat.h>)
#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#define NABLA_TEST_POSIX 1
#endif

namespace test_model_file {  // named for the unity build of nabla_tests

namespace {

namespace fs = std::filesystem;
using nabla::FileError;
using nabla_test::message_of;
using Bytes = std::vector<unsigned char>;
constexpr int dynamic = Eigen::Dynamic;

using FixedNet = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                                nabla::Dense<double, 3, 2, nabla::Tanh>>;
using SizedNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, dynamic, dynamic, nabla::ReLU>,
                   nabla::Dense<double, dynamic, dynamic, nabla::LeakyReLU>,
                   nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
template <class Scalar>
using EveryActivationNet = nabla::DynamicNetwork<Scalar, nabla::CrossEntropy>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

/// A network with all six activations (leaky ReLU with slope 0.2) and non-zero biases.
template <class Scalar>
EveryActivationNet<Scalar> every_activation_net(std::uint64_t seed) {
    EveryActivationNet<Scalar> net(
        {4, 5, 6, 5, 4, 3, 3},
        {nabla::Identity{}, nabla::Sigmoid{}, nabla::Tanh{}, nabla::ReLU{},
         nabla::AnyActivation(nabla::ActivationKind::leaky_relu, 0.2), nabla::Softmax{}},
        seed);
    return net;
}

/// Gives every bias values drawn from `seed` (networks start with b = 0, which would hide a
/// bias that is not saved).
template <class Net>
void randomize_biases(Net& net, std::uint64_t seed) {
    net.for_each_layer([&](auto& layer, auto i) {
        using Bias = Eigen::Matrix<typename Net::Scalar, dynamic, dynamic>;
        layer.set_bias(nabla_test::random_matrix<Bias>(layer.outputs(), 1,
                                                       seed + static_cast<std::size_t>(i)));
    });
}

using nabla_test::same_parameters;

/// Checks the "nabla: " prefix and that every part occurs in the message.
void check_message(const std::string& message, std::initializer_list<std::string> parts) {
    INFO("message: " << message);
    CHECK(message.rfind("nabla: ", 0) == 0);
    for (const std::string& part : parts) {
        INFO("expected part: " << part);
        CHECK(message.find(part) != std::string::npos);
    }
}

/// The bytes save() writes to a stream.
template <class Net>
Bytes bytes_of(const Net& net) {
    std::ostringstream out;
    nabla::save(net, out);
    const std::string text = out.str();
    return Bytes(text.begin(), text.end());
}

Bytes read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

/// CRC-32 bit by bit, straight from its definition (reflected polynomial 0xEDB88320, preset and
/// final complement): a second implementation to check the table-driven one against.
std::uint32_t reference_crc32(const unsigned char* data, std::size_t size) {
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::size_t i = 0; i < size; ++i) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
    }
    return ~crc;
}

/// Appends `value` as `count` little-endian bytes.
void append_le(Bytes& bytes, std::uint64_t value, int count) {
    for (int i = 0; i < count; ++i) bytes.push_back((unsigned char)((value >> (8 * i)) & 0xFF));
}

/// Writes `value` as 4 little-endian bytes at `offset`.
void put_u32(Bytes& bytes, std::size_t offset, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes[offset + i] = (unsigned char)((value >> (8 * i)) & 0xFF);
}

/// Recomputes the trailing CRC-32, so that a field changed on purpose reaches its own check.
void reseal(Bytes& bytes) {
    put_u32(bytes, bytes.size() - 4, reference_crc32(bytes.data(), bytes.size() - 4));
}

/// A fresh directory under the system's temporary directory, removed with its content.
class TempDir {
public:
    TempDir() {
        std::random_device device;
        for (int attempt = 0; attempt < 100; ++attempt) {
            m_path = fs::temp_directory_path() / ("nabla_io_test_" + std::to_string(device()));
            if (fs::create_directory(m_path)) return;
        }
        throw std::runtime_error("cannot create a temporary directory");
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }

    /// The path of `name` inside the directory.
    std::string file(const std::string& name) const { return (m_path / name).string(); }
    /// The names of everything in the directory, sorted.
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(m_path))
            names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

private:
    fs::path m_path;
};

using Names = std::vector<std::string>;

// The layout of a float model of HalfSquaredError (16 characters) with 2 layers, from the table
// in docs/model-format.md.
constexpr std::size_t version_at = 8;
constexpr std::size_t scalar_at = 12;
constexpr std::size_t loss_length_at = 16;
constexpr std::size_t loss_name_at = 20;
constexpr std::size_t count_at = 36;
constexpr std::size_t layer1_at = 40;  // inputs, outputs +4, activation +8, slope +12
constexpr std::size_t layer2_at = 60;

/// DynNet [2, 3, 2], sigmoid then tanh, in float: 20 + 16 + 4 + 2·20 + 4·(6+3 + 6+2) + 4 = 152.
nabla::DynamicNetwork<float, nabla::HalfSquaredError> small_float_net() {
    nabla::DynamicNetwork<float, nabla::HalfSquaredError> net({2, 3, 2},
                                                             {nabla::Sigmoid{}, nabla::Tanh{}}, 3);
    randomize_biases(net, 30);
    return net;
}
constexpr std::size_t small_size = 152;

}  // namespace

TEST_CASE("model file: CRC-32 is the standard one, piece by piece or whole", "[io][model]") {
    const char* check = "123456789";
    CHECK(nabla::crc32(check, 9) == 0xCBF43926U);  // the published check value of CRC-32
    CHECK(nabla::crc32(check, 0) == 0U);
    Bytes data(1000);
    std::mt19937 engine(7);
    for (unsigned char& b : data) b = (unsigned char)(engine() & 0xFF);
    const std::uint32_t whole = nabla::crc32(data.data(), data.size());
    CHECK(whole == reference_crc32(data.data(), data.size()));
    nabla::Crc32 pieces;
    pieces.update(data.data(), 1);
    pieces.update(data.data() + 1, 400);
    pieces.update(data.data() + 401, 0);
    pieces.update(data.data() + 401, 599);
    CHECK(pieces.value() == whole);
#ifdef NABLA_HAS_ZLIB
    CHECK(whole == std::uint32_t(::crc32(0L, data.data(), uInt(data.size()))));
#endif
}

TEST_CASE("model file: the bytes of a small float model are the documented layout",
          "[io][model]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<float, 2, 1, nabla::Sigmoid>>;
    Net net;
    Eigen::Matrix<float, 1, 2> w;
    w << 0.5f, -2.0f;
    net.layer<0>().set_weights(w);
    net.layer<0>().set_bias(Eigen::Matrix<float, 1, 1>::Constant(0.25f));

    // clang-format off
    Bytes expected = {'N', 'A', 'B', 'L', 'A', 'M', 'L', 'P',  // magic
                      1, 0, 0, 0,                              // version 1
                      1, 0, 0, 0,                              // float32
                      16, 0, 0, 0};                            // loss name length
    for (char c : std::string("HalfSquaredError")) expected.push_back((unsigned char)c);
    const Bytes rest = {1, 0, 0, 0,                   // 1 layer
                        2, 0, 0, 0,                   // 2 inputs
                        1, 0, 0, 0,                   // 1 output
                        1, 0, 0, 0,                   // sigmoid
                        0, 0, 0, 0, 0, 0, 0, 0,       // slope field: zero
                        0x00, 0x00, 0x00, 0x3F,       // w_00 = 0.5f  = 0x3F000000
                        0x00, 0x00, 0x00, 0xC0,       // w_01 = -2.0f = 0xC0000000
                        0x00, 0x00, 0x80, 0x3E};      // b_0  = 0.25f = 0x3E800000
    // clang-format on
    expected.insert(expected.end(), rest.begin(), rest.end());
    append_le(expected, reference_crc32(expected.data(), expected.size()), 4);

    CHECK(bytes_of(net) == expected);
    TempDir dir;
    nabla::save(net, dir.file("tiny.nbl"));
    CHECK(read_bytes(dir.file("tiny.nbl")) == expected);
}

TEST_CASE("model file: a double model with leaky ReLU stores float64 values and the slope",
          "[io][model]") {
    DynNet net({1, 1}, {nabla::AnyActivation(nabla::ActivationKind::leaky_relu, 0.5)}, 0);
    net.layer(0).set_weights(Eigen::MatrixXd::Constant(1, 1, 1.5));
    net.layer(0).set_bias(Eigen::VectorXd::Constant(1, -1.0));

    // clang-format off
    Bytes expected = {'N', 'A', 'B', 'L', 'A', 'M', 'L', 'P', 1, 0, 0, 0,
                      2, 0, 0, 0,  // float64
                      16, 0, 0, 0};
    for (char c : std::string("HalfSquaredError")) expected.push_back((unsigned char)c);
    const Bytes rest = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                        4, 0, 0, 0,                                      // leaky_relu
                        0, 0, 0, 0, 0, 0, 0xE0, 0x3F,                    // 0.5 = 0x3FE0000000000000
                        0, 0, 0, 0, 0, 0, 0xF8, 0x3F,                    // 1.5 = 0x3FF8000000000000
                        0, 0, 0, 0, 0, 0, 0xF0, 0xBF};                   // -1  = 0xBFF0000000000000
    // clang-format on
    expected.insert(expected.end(), rest.begin(), rest.end());
    append_le(expected, reference_crc32(expected.data(), expected.size()), 4);
    CHECK(bytes_of(net) == expected);
}

TEST_CASE("model file: a fixed-size Network round-trips bit for bit", "[io][model]") {
    TempDir dir;
    FixedNet original(11);
    randomize_biases(original, 12);
    nabla::save(original, dir.file("fixed.nbl"));

    FixedNet loaded(99);
    REQUIRE_FALSE(same_parameters(loaded, original));
    nabla::load(loaded, dir.file("fixed.nbl"));
    CHECK(same_parameters(loaded, original));

    const Eigen::MatrixXd x = nabla_test::random_matrix<Eigen::MatrixXd>(2, 7, 5);
    const Eigen::MatrixXd expected = original.predict(x);
    CHECK(loaded.predict(x) == expected);
    CHECK(dir.entries() == Names{"fixed.nbl"});
}

TEST_CASE("model file: a Network with run-time sizes and a leaky ReLU slope round-trips",
          "[io][model]") {
    TempDir dir;
    using Layer1 = nabla::Dense<double, dynamic, dynamic, nabla::ReLU>;
    using Layer2 = nabla::Dense<double, dynamic, dynamic, nabla::LeakyReLU>;
    using Layer3 = nabla::Dense<double, dynamic, dynamic, nabla::Identity>;
    const auto make = [](std::uint64_t seed) {
        SizedNet net(std::tuple<Layer1, Layer2, Layer3>(
            Layer1(3, 5), Layer2(5, 4, nabla::LeakyReLU{0.3}), Layer3(4, 2)));
        net.initialize(seed);
        randomize_biases(net, seed + 100);
        return net;
    };
    const SizedNet original = make(1);
    nabla::save(original, dir.file("sized.nbl"));
    SizedNet loaded = make(2);
    nabla::load(loaded, dir.file("sized.nbl"));
    CHECK(same_parameters(loaded, original));
    const Eigen::MatrixXd x = nabla_test::random_matrix<Eigen::MatrixXd>(3, 6, 8);
    const Eigen::MatrixXd expected = original.predict(x);
    CHECK(loaded.predict(x) == expected);

    const nabla::ModelInfo info = nabla::read_model_info(dir.file("sized.nbl"));
    CHECK(info.version == 1U);
    CHECK(info.scalar == nabla::StoredScalar::float64);
    CHECK(info.loss == "HalfSquaredError");
    CHECK(info.sizes() == std::vector<Eigen::Index>{3, 5, 4, 2});
    REQUIRE(info.layers.size() == 3);
    CHECK(info.layers[0].activation.kind() == nabla::ActivationKind::relu);
    CHECK(info.layers[1].activation.kind() == nabla::ActivationKind::leaky_relu);
    CHECK(info.layers[1].activation.slope() == 0.3);
    CHECK(info.layers[2].activation.kind() == nabla::ActivationKind::identity);
}

namespace {

template <class Scalar>
void check_every_activation_round_trip() {
    using Net = EveryActivationNet<Scalar>;
    using Matrix = Eigen::Matrix<Scalar, dynamic, dynamic>;
    TempDir dir;
    Net original = every_activation_net<Scalar>(21);
    randomize_biases(original, 22);
    nabla::save(original, dir.file("every.nbl"));
    CHECK(read_bytes(dir.file("every.nbl"))[scalar_at] ==
          (std::is_same_v<Scalar, float> ? 1 : 2));

    const Net built = nabla::load_network<Scalar, nabla::CrossEntropy>(dir.file("every.nbl"));
    CHECK(same_parameters(built, original));
    for (std::size_t l = 0; l < original.layer_count(); ++l) {
        CHECK(built.layer(l).activation() == original.layer(l).activation());
    }
    CHECK(built.layer(4).activation().slope() == 0.2);

    Net loaded = every_activation_net<Scalar>(77);
    nabla::load(loaded, dir.file("every.nbl"));
    CHECK(same_parameters(loaded, original));

    const Matrix x = nabla_test::random_matrix<Matrix>(4, 9, 3);
    const Matrix expected = original.predict(x);
    CHECK(built.predict(x) == expected);
    CHECK(loaded.predict(x) == expected);
}

}  // namespace

TEST_CASE("model file: a DynamicNetwork with every activation round-trips, float and double",
          "[io][model]") {
    SECTION("double") { check_every_activation_round_trip<double>(); }
    SECTION("float") { check_every_activation_round_trip<float>(); }
}

TEST_CASE("model file: float to double is exact and back to float is bit for bit",
          "[io][model]") {
    auto original = every_activation_net<float>(31);
    randomize_biases(original, 32);
    const Bytes float_bytes = bytes_of(original);
    CHECK(float_bytes[scalar_at] == 1);

    auto wide = nabla::load_network_from_bytes<double, nabla::CrossEntropy>(float_bytes.data(),
                                                                           float_bytes.size());
    original.for_each_layer([&](const auto& layer, std::size_t l) {
        CHECK(wide.layer(l).weights() == layer.weights().template cast<double>());
        CHECK(wide.layer(l).bias() == layer.bias().template cast<double>());
    });
    const Bytes double_bytes = bytes_of(wide);
    CHECK(double_bytes[scalar_at] == 2);
    // Every value doubles in width: 4 more bytes for each of the 4·5+5 + 5·6+6 + 6·5+5 + 5·4+4 +
    // 4·3+3 + 3·3+3 = 147 parameters.
    CHECK(double_bytes.size() == float_bytes.size() + 4 * 147);

    auto back = every_activation_net<float>(5);
    nabla::load_from_bytes(back, double_bytes.data(), double_bytes.size());
    CHECK(same_parameters(back, original));
    CHECK(bytes_of(back) == float_bytes);
}

TEST_CASE("model file: a double model loads into a float network rounded to nearest",
          "[io][model]") {
    using Net =
        nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 3, 1, nabla::Identity>>;
    using FloatNet =
        nabla::Network<nabla::HalfSquaredError, nabla::Dense<float, 3, 1, nabla::Identity>>;
    Net net;
    // 1 + 2⁻³⁰ is below half a float ulp at 1 (2⁻²⁴): it rounds to 1. 1 + 3·2⁻²⁵ is 0.75 ulp
    // (2⁻²³) above 1: it rounds up to 1 + 2⁻²³. 0.1 rounds to the float nearest to it.
    Eigen::Matrix<double, 1, 3> w;
    w << 1.0 + std::ldexp(1.0, -30), 1.0 + 3 * std::ldexp(1.0, -25), 0.1;
    net.layer<0>().set_weights(w);
    net.layer<0>().set_bias(Eigen::Matrix<double, 1, 1>::Constant(-0.1));
    const Bytes bytes = bytes_of(net);

    FloatNet rounded;
    nabla::load_from_bytes(rounded, bytes.data(), bytes.size());
    CHECK(rounded.layer<0>().weights()(0, 0) == 1.0f);
    CHECK(rounded.layer<0>().weights()(0, 1) == 1.0f + std::ldexp(1.0f, -23));
    CHECK(rounded.layer<0>().weights()(0, 2) == 0.1f);
    CHECK(rounded.layer<0>().bias()(0) == -0.1f);

    SECTION("a value beyond float's range is refused, not made infinite") {
        w(0, 1) = -1e300;
        net.layer<0>().set_weights(w);
        const Bytes big = bytes_of(net);
        FloatNet target;
        const FloatNet before = target;
        // W(0,1) is the second value of layer 1: after the 60-byte header of a 1-layer model
        // (20 + 16-byte loss name + 4 + 20), at 60 + 8.
        check_message(message_of<FileError>([&] {
                          nabla::load_from_bytes(target, big.data(), big.size(), "big.nbl");
                      }),
                      {"big.nbl: byte 68", "layer 1 W(0,1) = -1e+300",
                       "beyond the range of float"});
        CHECK(same_parameters(target, before));
        Net wide;
        nabla::load_from_bytes(wide, big.data(), big.size());
        CHECK(wide.layer<0>().weights()(0, 1) == -1e300);
    }
}

TEST_CASE("model file: each corrupt header field is named with its byte offset",
          "[io][model]") {
    const auto original = small_float_net();
    const Bytes good = bytes_of(original);
    REQUIRE(good.size() == small_size);
    auto target = small_float_net();
    target.initialize(1234);
    const auto before = target;

    const auto failure = [&](Bytes bytes) {
        return message_of<FileError>(
            [&] { nabla::load_from_bytes(target, bytes.data(), bytes.size(), "m.nbl"); });
    };
    const auto resealed = [&](std::size_t offset, std::uint32_t value) {
        Bytes bytes = good;
        put_u32(bytes, offset, value);
        reseal(bytes);
        return bytes;
    };

    SECTION("wrong magic") {
        Bytes bytes = good;
        bytes[3] = 'X';
        check_message(failure(bytes), {"m.nbl: byte 0", "not a nabla model file",
                                       "4e 41 42 58 41 4d 4c 50", "NABLAMLP"});
    }
    SECTION("an empty file") { check_message(failure(Bytes{}), {"m.nbl: byte 0", "empty"}); }
    SECTION("unknown versions") {
        check_message(failure(resealed(version_at, 4)),
                      {"m.nbl: byte 8", "model format version 4 is not supported",
                       "versions 1, 2 and 3"});
        check_message(failure(resealed(version_at, 0)), {"m.nbl: byte 8", "version 0"});
    }
    SECTION("unknown scalar type") {
        check_message(failure(resealed(scalar_at, 3)),
                      {"m.nbl: byte 12", "unknown scalar type code 3"});
    }
    SECTION("loss name length out of range") {
        check_message(failure(resealed(loss_length_at, 0)), {"m.nbl: byte 16", "0 bytes long"});
        check_message(failure(resealed(loss_length_at, 4000000000U)),
                      {"m.nbl: byte 16", "4000000000 bytes long"});
    }
    SECTION("a loss name that is not printable") {
        Bytes bytes = good;
        bytes[loss_name_at + 5] = 0x07;
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 25", "07", "not printable ASCII"});
    }
    SECTION("layer counts: none, or more than the file could hold") {
        check_message(failure(resealed(count_at, 0)), {"m.nbl: byte 36", "layer count is 0"});
        check_message(failure(resealed(count_at, 0xFFFFFFFFU)),
                      {"m.nbl: byte 36", "4294967295 layers", "truncated or the count is corrupt"});
    }
    SECTION("a layer without inputs or outputs") {
        check_message(failure(resealed(layer1_at, 0)), {"m.nbl: byte 40", "layer 1 has 0 inputs"});
        check_message(failure(resealed(layer2_at + 4, 0)),
                      {"m.nbl: byte 64", "layer 2 has 0 outputs"});
    }
    SECTION("layers that do not chain") {
        check_message(failure(resealed(layer2_at, 4)),
                      {"m.nbl: byte 60", "layer 2 takes 4 inputs but layer 1 has 3 outputs"});
    }
    SECTION("unknown activation code") {
        check_message(failure(resealed(layer1_at + 8, 9)),
                      {"m.nbl: byte 48", "unknown activation code 9 for layer 1"});
    }
    SECTION("a slope on an activation that has none") {
        Bytes bytes = good;
        bytes[layer1_at + 12 + 7] = 0x3F;
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 52", "(sigmoid) is not zero"});
    }
    SECTION("a leaky ReLU slope that is not finite") {
        Bytes bytes = resealed(layer1_at + 8, 4);  // leaky_relu
        const double nan = std::numeric_limits<double>::quiet_NaN();
        std::uint64_t bits = 0;
        std::memcpy(&bits, &nan, 8);
        for (int i = 0; i < 8; ++i) bytes[layer1_at + 12 + i] = (unsigned char)(bits >> (8 * i));
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 52", "slope of layer 1", "not finite"});
    }
    SECTION("sizes far beyond the file: refused before anything is allocated") {
        Bytes bytes = resealed(layer2_at + 4, 0xFFFFFFFFU);
        check_message(failure(bytes), {"m.nbl: byte 152", "[2, 3, 4294967295]",
                                       "truncated or its header is corrupt"});
    }
    SECTION("checksum mismatch") {
        Bytes bytes = good;
        bytes[100] ^= 0x10;
        check_message(failure(bytes), {"m.nbl: byte 148", "checksum mismatch", "corrupt"});
    }
    SECTION("trailing bytes") {
        Bytes bytes = good;
        bytes.insert(bytes.end(), {0, 0, 0});
        check_message(failure(bytes), {"m.nbl: byte 152", "3 bytes follow the checksum"});
    }
    CHECK(same_parameters(target, before));
}

TEST_CASE("model file: truncation at every length throws FileError, in memory and on disk",
          "[io][model]") {
    const Bytes good = bytes_of(small_float_net());
    REQUIRE(good.size() == small_size);
    auto target = small_float_net();
    target.initialize(4321);
    const auto before = target;
    TempDir dir;
    const std::string path = dir.file("cut.nbl");
    for (std::size_t length = 0; length < good.size(); ++length) {
        CAPTURE(length);
        const Bytes cut(good.begin(), good.begin() + std::ptrdiff_t(length));
        const std::string from_memory = message_of<FileError>(
            [&] { nabla::load_from_bytes(target, cut.data(), cut.size(), "cut.nbl"); });
        check_message(from_memory, {"cut.nbl: byte ", length == 0 ? "empty" : "truncated"});
        write_bytes(path, cut);
        const std::string from_file = message_of<FileError>([&] { nabla::load(target, path); });
        check_message(from_file, {path + ": byte ", length == 0 ? "empty" : "truncated"});
        CHECK_THROWS_AS((nabla::load_network<float, nabla::HalfSquaredError>(path)), FileError);
    }
    CHECK(same_parameters(target, before));
}

TEST_CASE("model file: every single-byte flip is detected, never a crash", "[io][model]") {
    // CRC-32 detects every error confined to 32 consecutive bits, so a flip anywhere (the CRC
    // included) must throw; header fields may be refused before the checksum is reached.
    const auto check_flips = [](const Bytes& good, auto& target, auto load_fresh) {
        const auto before = target;
        std::size_t thrown = 0;
        std::size_t tried = 0;
        for (std::size_t offset = 0; offset < good.size(); ++offset) {
            for (unsigned mask : {0xFFU, 0x01U, 0x80U}) {
                Bytes bytes = good;
                bytes[offset] = (unsigned char)(bytes[offset] ^ mask);
                ++tried;
                try {
                    nabla::load_from_bytes(target, bytes.data(), bytes.size(), "flip.nbl");
                } catch (const FileError& e) {
                    ++thrown;
                    if (std::string(e.what()).find("flip.nbl: ") == std::string::npos) {
                        FAIL("message without the file name: " << e.what());
                    }
                }
                CHECK_THROWS_AS(load_fresh(bytes), FileError);
            }
        }
        CHECK(thrown == tried);
        CHECK(same_parameters(target, before));
    };

    SECTION("float model, sigmoid and tanh") {
        const Bytes good = bytes_of(small_float_net());
        auto target = small_float_net();
        check_flips(good, target, [](const Bytes& b) {
            return nabla::load_network_from_bytes<float, nabla::HalfSquaredError>(b.data(),
                                                                                  b.size());
        });
    }
    SECTION("double model with a leaky ReLU slope") {
        DynNet net({2, 2, 1},
                   {nabla::AnyActivation(nabla::ActivationKind::leaky_relu, 0.125),
                    nabla::Sigmoid{}},
                   8);
        randomize_biases(net, 80);
        const Bytes good = bytes_of(net);
        check_flips(good, net, [](const Bytes& b) {
            return nabla::load_network_from_bytes<double, nabla::HalfSquaredError>(b.data(),
                                                                                   b.size());
        });
    }
}

TEST_CASE("model file: a model that does not fit the network names the layer and both shapes",
          "[io][model]") {
    TempDir dir;
    const std::string path = dir.file("model.nbl");
    FixedNet target(5);
    randomize_biases(target, 6);
    const FixedNet before = target;
    const auto failure = [&] { return message_of<FileError>([&] { nabla::load(target, path); }); };

    SECTION("sizes") {
        nabla::save(DynNet({2, 4, 2}, {nabla::Sigmoid{}, nabla::Tanh{}}), path);
        check_message(failure(), {path + ": layer 1 is 4x2 sigmoid, the network's layer 1 is 3x2 "
                                         "sigmoid"});
    }
    SECTION("activations") {
        nabla::save(DynNet({2, 3, 2}, {nabla::Sigmoid{}, nabla::Sigmoid{}}), path);
        check_message(failure(), {path + ": layer 2 is 2x3 sigmoid, the network's layer 2 is 2x3 "
                                         "tanh"});
    }
    SECTION("layer count") {
        nabla::save(DynNet({2, 3, 3, 2}, {nabla::Sigmoid{}, nabla::Sigmoid{}, nabla::Tanh{}}),
                    path);
        check_message(failure(), {path + ": the model has 3 layers (sizes [2, 3, 3, 2]), the "
                                         "network has 2 (sizes [2, 3, 2])"});
    }
    SECTION("loss") {
        nabla::save(nabla::DynamicNetwork<double, nabla::SquaredError>(
                        {2, 3, 2}, {nabla::Sigmoid{}, nabla::Tanh{}}),
                    path);
        check_message(failure(), {path + ": the model was saved with the loss SquaredError, the "
                                         "network uses HalfSquaredError"});
        check_message(message_of<FileError>([&] {
                          nabla::load_network<double, nabla::HalfSquaredError>(path);
                      }),
                      {"saved with the loss SquaredError", "uses HalfSquaredError"});
    }
    CHECK(same_parameters(target, before));
}

TEST_CASE("model file: leaky ReLU slopes must agree, and the loss must fit the output",
          "[io][model]") {
    using Layer1 = nabla::Dense<double, 2, 2, nabla::LeakyReLU>;
    using Layer2 = nabla::Dense<double, 2, 1, nabla::Identity>;
    using LeakyNet = nabla::Network<nabla::HalfSquaredError, Layer1, Layer2>;
    LeakyNet target(std::tuple<Layer1, Layer2>(Layer1(2, 2, nabla::LeakyReLU{0.2}), Layer2()));
    const DynNet other({2, 2, 1},
                       {nabla::AnyActivation(nabla::ActivationKind::leaky_relu, 0.25),
                        nabla::Identity{}});
    const Bytes bytes = bytes_of(other);
    check_message(message_of<FileError>([&] {
                      nabla::load_from_bytes(target, bytes.data(), bytes.size(), "s.nbl");
                  }),
                  {"s.nbl: layer 1 is 2x2 leaky_relu (slope 0.25), the network's layer 1 is 2x2 "
                   "leaky_relu (slope 0.2)"});

    // A CrossEntropy model whose output activation was changed to sigmoid (checksum redone).
    const nabla::DynamicNetwork<double, nabla::CrossEntropy> soft({2, 3},
                                                                 {nabla::Softmax{}});
    Bytes changed = bytes_of(soft);
    const std::size_t activation_at = 20 + 12 + 4 + 8;  // loss name "CrossEntropy": 12 bytes
    REQUIRE(changed[activation_at] == 5);  // softmax
    changed[activation_at] = 1;            // sigmoid
    reseal(changed);
    check_message(message_of<FileError>([&] {
                      nabla::load_network_from_bytes<double, nabla::CrossEntropy>(
                          changed.data(), changed.size(), "c.nbl");
                  }),
                  {"c.nbl: the loss CrossEntropy does not fit the output activation sigmoid"});
}

TEST_CASE("model file: missing files, directories and missing directories are FileErrors",
          "[io][model]") {
    TempDir dir;
    FixedNet net(1);
    check_message(message_of<FileError>([&] { nabla::load(net, dir.file("none.nbl")); }),
                  {dir.file("none.nbl"), "cannot open", "No such file"});
    check_message(message_of<FileError>([&] { nabla::load(net, dir.file("")); }),
                  {"is a directory"});
    const std::string lost = dir.file("missing/sub/model.nbl");
    check_message(message_of<FileError>([&] { nabla::save(net, lost); }),
                  {lost, "the directory " + dir.file("missing/sub"), "does not exist"});
    CHECK(dir.entries().empty());
}

namespace {

/// HalfSquaredError under a name no model file can hold.
struct UnnamedLoss : nabla::HalfSquaredError {
    static constexpr const char* name() { return "half\tsquared"; }
};

}  // namespace

TEST_CASE("model file: a network the format cannot hold is refused before any write",
          "[io][model]") {
    TempDir dir;
    const nabla::DynamicNetwork<double, UnnamedLoss> unnamed({2, 1}, {nabla::Identity{}});
    check_message(message_of<nabla::ConfigError>(
                      [&] { nabla::save(unnamed, dir.file("unnamed.nbl")); }),
                  {"loss name \"half\tsquared\"", "printable ASCII"});
    const DynNet steep({2, 1}, {nabla::AnyActivation(nabla::ActivationKind::leaky_relu,
                                                     std::numeric_limits<double>::infinity())});
    check_message(message_of<nabla::ConfigError>([&] { nabla::save(steep, dir.file("s.nbl")); }),
                  {"Dense layer 1", "leaky_relu slope of inf", "not finite"});
    std::ostringstream out;
    CHECK_THROWS_AS(nabla::save(steep, out), nabla::ConfigError);
    CHECK(out.str().empty());
    CHECK(dir.entries().empty());
}

TEST_CASE("atomic writes: a new file, a replaced file, and no temporary left", "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("out.bin");
    nabla::write_file_atomically(path, [](std::ostream& out) { out << "first"; });
    CHECK(read_bytes(path) == Bytes{'f', 'i', 'r', 's', 't'});
    // Larger than the stream's buffer, so it reaches the file in several writes.
    const std::string big(300000, 'x');
    nabla::write_file_atomically(path, [&](std::ostream& out) { out << big << "!"; });
    const Bytes replaced = read_bytes(path);
    CHECK(replaced.size() == big.size() + 1);
    CHECK(replaced.back() == '!');
    CHECK(dir.entries() == Names{"out.bin"});
#ifdef NABLA_TEST_POSIX
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    nabla::write_file_atomically(path, [](std::ostream& out) { out << "third"; });
    CHECK(fs::status(path).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
#endif
}

TEST_CASE("atomic writes: a failure half-way leaves the old file intact and no temporary",
          "[io][atomic]") {
    TempDir dir;
    const std::string path = dir.file("model.nbl");
    FixedNet saved(1);
    randomize_biases(saved, 2);
    nabla::save(saved, path);
    const Bytes old_bytes = read_bytes(path);

    SECTION("the writer throws after half a model") {
        const FixedNet other(3);
        const std::string message = message_of<FileError>([&] {
            nabla::write_file_atomically(path, [&](std::ostream& out) {
                nabla::save(other, out);
                throw std::runtime_error("power lost");
            });
        });
        check_message(message, {path, "not written", "power lost", "unchanged"});
        // The writer's own exception travels inside the FileError.
        bool nested_found = false;
        try {
            nabla::write_file_atomically(path, [](std::ostream& out) {
                out << std::string(100000, 'y');
                throw std::out_of_range("half-way");
            });
        } catch (const FileError& e) {
            try {
                std::rethrow_if_nested(e);
            } catch (const std::out_of_range& inner) {
                nested_found = std::string(inner.what()) == "half-way";
            }
        }
        CHECK(nested_found);
    }
    SECTION("the writer leaves its stream failed") {
        check_message(message_of<FileError>([&] {
                          nabla::write_file_atomically(path, [](std::ostream& out) {
                              out << "partial";
                              out.setstate(std::ios::badbit);
                          });
                      }),
                      {path, "not written", "failed state"});
    }
#ifdef NABLA_TEST_POSIX
    SECTION("the disk refuses the bytes (a file size limit, as a full disk would)") {
        // Beyond RLIMIT_FSIZE write() fails with EFBIG once SIGXFSZ is ignored.
        struct sigaction ignore {};
        struct sigaction previous_action {};
        ignore.sa_handler = SIG_IGN;
        sigemptyset(&ignore.sa_mask);
        REQUIRE(sigaction(SIGXFSZ, &ignore, &previous_action) == 0);
        rlimit previous{};
        REQUIRE(getrlimit(RLIMIT_FSIZE, &previous) == 0);
        rlimit small = previous;
        small.rlim_cur = 4096;
        REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
        const std::string message = message_of<FileError>([&] {
            nabla::write_file_atomically(path, [](std::ostream& out) {
                out << std::string(200000, 'z');
            });
        });
        setrlimit(RLIMIT_FSIZE, &previous);
        sigaction(SIGXFSZ, &previous_action, nullptr);
        check_message(message, {path, "not written", "File too large", "unchanged"});
    }
#endif
    SECTION("the target is a directory") {
        const std::string target = dir.file("taken");
        fs::create_directory(target);
        check_message(message_of<FileError>([&] { nabla::save(saved, target); }),
                      {target, "not written", "renaming"});
        CHECK(dir.entries() == Names{"model.nbl", "taken"});
    }
    CHECK(read_bytes(path) == old_bytes);
    FixedNet reloaded(9);
    nabla::load(reloaded, path);
    CHECK(same_parameters(reloaded, saved));
    Names expected{"model.nbl"};
    if (fs::exists(dir.file("taken"))) expected.push_back("taken");
    CHECK(dir.entries() == expected);
}

#ifdef NABLA_TEST_POSIX
TEST_CASE("model file: a source without a known size (a pipe) loads the same", "[io][model]") {
    TempDir dir;
    const std::string path = dir.file("pipe");
    REQUIRE(mkfifo(path.c_str(), 0600) == 0);
    auto original = small_float_net();
    const Bytes bytes = bytes_of(original);
    std::thread writer([&] { write_bytes(path, bytes); });
    auto target = small_float_net();
    target.initialize(55);
    nabla::load(target, path);
    writer.join();
    CHECK(same_parameters(target, original));
}
#endif

// --- version 3: the Standardizer of the inputs travels with the model ---

namespace {

using Scaler = nabla::Standardizer<float>;

/// μ and s for the 4 inputs of every_activation_net: far from 0 and 1, so that a scaling that is
/// lost or applied twice changes every prediction.
Scaler four_feature_scaler() {
    Eigen::VectorXf mean(4), scale(4);
    mean << 100.0f, -3.5f, 0.25f, 2048.0f;
    scale << 20.0f, 0.125f, 3.0f, 512.0f;
    return Scaler(mean, scale);
}

/// Raw inputs on the scaler's scale: 4 × 7.
Eigen::MatrixXf raw_inputs() {
    Eigen::MatrixXf x = nabla_test::random_matrix<Eigen::MatrixXf>(4, 7, 77);
    const Scaler scaler = four_feature_scaler();
    for (Eigen::Index k = 0; k < x.cols(); ++k)
        for (Eigen::Index j = 0; j < 4; ++j)
            x(j, k) = scaler.mean()(j) + 2.0f * scaler.scale()(j) * x(j, k);
    return x;
}

/// (x − μ) / s element by element, written out apart from Standardizer.
Eigen::MatrixXf scaled_by_hand(const Eigen::MatrixXf& x, const Scaler& scaler) {
    Eigen::MatrixXf y(x.rows(), x.cols());
    for (Eigen::Index k = 0; k < x.cols(); ++k)
        for (Eigen::Index j = 0; j < x.rows(); ++j)
            y(j, k) = (x(j, k) - scaler.mean()(j)) / scaler.scale()(j);
    return y;
}

/// The bytes save(net, inputs, out) writes.
template <class Net, class Inputs>
Bytes bytes_with_scaler(const Net& net, const Inputs& inputs) {
    std::ostringstream out;
    nabla::save(net, inputs, out);
    const std::string text = out.str();
    return Bytes(text.begin(), text.end());
}

void append_name(Bytes& bytes, const std::string& name) {
    append_le(bytes, name.size(), 4);
    bytes.insert(bytes.end(), name.begin(), name.end());
}

void append_f64(Bytes& bytes, double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, 8);
    append_le(bytes, bits, 8);
}

void append_f32(Bytes& bytes, float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, 4);
    append_le(bytes, bits, 4);
}

}  // namespace

TEST_CASE("model file version 3: the bytes of a model with its Standardizer are the documented "
          "layout",
          "[io][model][deployment]") {
    nabla::DynamicNetwork<float, nabla::HalfSquaredError> net({2, 1}, {nabla::Sigmoid{}}, 0);
    Eigen::MatrixXf w(1, 2);
    w << 0.5f, -2.0f;
    net.layer(0).set_weights(w);
    net.layer(0).set_bias(Eigen::VectorXf::Constant(1, 0.25f));
    Eigen::VectorXf mean(2), scale(2);
    mean << 1.0f, -2.0f;
    scale << 0.5f, 4.0f;

    Bytes expected = {'N', 'A', 'B', 'L', 'A', 'M', 'L', 'P'};
    append_le(expected, 3, 4);  // version 3
    append_le(expected, 1, 4);  // float32
    append_name(expected, "HalfSquaredError");
    append_le(expected, 1, 4);  // 1 layer, described as in version 2:
    append_name(expected, "Dense");
    append_le(expected, 2, 4);  // inputs
    append_le(expected, 1, 4);  // outputs
    append_name(expected, "sigmoid");
    append_le(expected, 0, 4);  // no activation attributes
    append_le(expected, 0, 4);  // no layer attributes
    append_le(expected, 2, 4);  // 2 blocks: W 1x2, b 1x1
    for (std::uint64_t side : {1, 2, 1, 1}) append_le(expected, side, 4);
    append_le(expected, 1, 4);  // 1 input transform
    append_name(expected, "Standardizer");
    append_le(expected, 2, 4);  // 2 features
    for (double value : {1.0, -2.0, 0.5, 4.0}) append_f64(expected, value);  // μ, then s
    for (float value : {0.5f, -2.0f, 0.25f}) append_f32(expected, value);   // W, then b
    append_le(expected, reference_crc32(expected.data(), expected.size()), 4);

    CHECK(bytes_with_scaler(net, Scaler(mean, scale)) == expected);
    // Without a Standardizer the same network is still written in version 1.
    CHECK(bytes_of(net)[version_at] == 1);
}

TEST_CASE("model file version 3: load_model predicts on raw inputs as the network did on scaled "
          "ones",
          "[io][model][deployment]") {
    auto net = every_activation_net<float>(5);
    randomize_biases(net, 50);
    const Scaler scaler = four_feature_scaler();
    const Eigen::MatrixXf x = raw_inputs();
    const Eigen::MatrixXf expected = net.predict(scaled_by_hand(x, scaler));
    TempDir dir;
    const std::string path = dir.file("with_scaler.nbl");
    nabla::save(net, scaler, path);
    CHECK(nabla::read_model_info(path).version == 3);

    SECTION("load_model") {
        const auto model = nabla::load_model<float, nabla::CrossEntropy>(path);
        REQUIRE(model.standardizer().has_value());
        CHECK(model.standardizer()->mean() == scaler.mean());
        CHECK(model.standardizer()->scale() == scaler.scale());
        CHECK(same_parameters(model.network(), net));
        const Eigen::MatrixXf predicted = model.predict(x);
        CHECK(predicted.isApprox(expected, 1e-6f));
        CHECK(model.classify(x) == nabla::predicted_classes(expected));
        // Raw inputs given to the bare network are another thing altogether.
        CHECK_FALSE(model.network().predict(x).isApprox(expected, 1e-3f));
    }
    SECTION("load(net, scaler, path) fills both; load(net, path) the network alone") {
        auto target = every_activation_net<float>(6);
        Scaler loaded;
        nabla::load(target, loaded, path);
        CHECK(same_parameters(target, net));
        CHECK(loaded.mean() == scaler.mean());
        CHECK(loaded.scale() == scaler.scale());
        auto bare = every_activation_net<float>(7);
        nabla::load(bare, path);
        CHECK(same_parameters(bare, net));
    }
    SECTION("a float model with its Standardizer loads into a double model exactly") {
        const auto model = nabla::load_model<double, nabla::CrossEntropy>(path);
        REQUIRE(model.standardizer().has_value());
        CHECK(model.standardizer()->mean() == scaler.mean().cast<double>());
        CHECK(model.standardizer()->scale() == scaler.scale().cast<double>());
    }
    SECTION("Model::save writes the same file again") {
        const auto model = nabla::load_model<float, nabla::CrossEntropy>(path);
        model.save(dir.file("again.nbl"));
        CHECK(read_bytes(dir.file("again.nbl")) == read_bytes(path));
    }
}

TEST_CASE("model file version 3: files of versions 1 and 2 load as models without scaling",
          "[io][model][deployment]") {
    const auto net = every_activation_net<float>(8);
    TempDir dir;
    const std::string path = dir.file("v1.nbl");
    nabla::save(net, path);
    REQUIRE(nabla::read_model_info(path).version == 1);
    const auto model = nabla::load_model<float, nabla::CrossEntropy>(path);
    CHECK_FALSE(model.standardizer().has_value());
    const Eigen::MatrixXf x = raw_inputs();
    CHECK(model.predict(x) == net.predict(x));

    // Asked for a Standardizer the file does not keep: an error, and nothing changes.
    auto target = every_activation_net<float>(9);
    const auto before = target;
    Scaler scaler = four_feature_scaler();
    check_message(message_of<FileError>([&] { nabla::load(target, scaler, path); }),
                  {path, "keeps no Standardizer", "version 1"});
    CHECK(same_parameters(target, before));
    CHECK(scaler.mean() == four_feature_scaler().mean());
}

TEST_CASE("model file version 3: a Standardizer that does not belong to the network is refused "
          "before any write",
          "[io][model][deployment]") {
    const auto net = every_activation_net<float>(10);
    TempDir dir;
    const std::string path = dir.file("never.nbl");
    check_message(message_of<nabla::ConfigError>([&] { nabla::save(net, Scaler(), path); }),
                  {"Standardizer is not fitted"});
    Eigen::VectorXf three = Eigen::VectorXf::Ones(3);
    check_message(
        message_of<nabla::ConfigError>([&] { nabla::save(net, Scaler(three, three), path); }),
        {"fitted on 3 features", "takes 4 inputs"});
    CHECK_FALSE(fs::exists(path));
    CHECK(dir.entries().empty());
    CHECK_THROWS_AS((nabla::Model<float, nabla::CrossEntropy>(net, Scaler(three, three))),
                    nabla::ConfigError);
}

TEST_CASE("model file version 3: a damaged input transform is named with its byte offset",
          "[io][model][deployment]") {
    nabla::DynamicNetwork<float, nabla::HalfSquaredError> net({2, 1}, {nabla::Sigmoid{}}, 0);
    Eigen::VectorXf mean(2), scale(2);
    mean << 1.0f, -2.0f;
    scale << 0.5f, 4.0f;
    const Bytes good = bytes_with_scaler(net, Scaler(mean, scale));
    // Offsets from the layout test above: the layer description ends at byte 96.
    constexpr std::size_t transforms_at = 96;
    constexpr std::size_t name_at = 100;
    constexpr std::size_t features_at = 116;
    constexpr std::size_t means_at = 120;
    constexpr std::size_t scales_at = 136;
    REQUIRE(good.size() == scales_at + 16 + 12 + 4);
    REQUIRE(good[name_at + 4] == 'S');

    const auto failure = [&](Bytes bytes) {
        return message_of<FileError>([&] {
            nabla::load_network_from_bytes<float, nabla::HalfSquaredError>(bytes.data(),
                                                                          bytes.size(), "m.nbl");
        });
    };
    const auto with_f64 = [&](std::size_t offset, double value) {
        Bytes bytes = good;
        std::uint64_t bits = 0;
        std::memcpy(&bits, &value, 8);
        for (int i = 0; i < 8; ++i) bytes[offset + i] = (unsigned char)(bits >> (8 * i));
        reseal(bytes);
        return bytes;
    };
    SECTION("more than one transform") {
        Bytes bytes = good;
        put_u32(bytes, transforms_at, 2);
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 96", "2 input transforms", "at most 1"});
    }
    SECTION("a transform this library does not know") {
        Bytes bytes = good;
        bytes[name_at + 4] = 'Z';
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 100", "\"Ztandardizer\"", "knows only"});
    }
    SECTION("another number of features than layer 1 takes") {
        Bytes bytes = good;
        put_u32(bytes, features_at, 3);
        reseal(bytes);
        check_message(failure(bytes), {"m.nbl: byte 116", "3 features", "layer 1 takes 2"});
    }
    SECTION("a file that ends inside the means") {
        const Bytes bytes(good.begin(), good.begin() + std::ptrdiff_t(means_at + 8));
        check_message(failure(bytes), {"m.nbl: byte 116", "32 bytes", "truncated"});
    }
    SECTION("a mean that is not finite") {
        check_message(failure(with_f64(means_at + 8, std::numeric_limits<double>::infinity())),
                      {"m.nbl: byte 128", "mean of feature 1", "not finite"});
    }
    SECTION("a scale that is zero, negative or not finite") {
        check_message(failure(with_f64(scales_at, 0.0)),
                      {"m.nbl: byte 136", "scale of feature 0", "positive and finite"});
        check_message(failure(with_f64(scales_at + 8, -1.0)),
                      {"m.nbl: byte 144", "scale of feature 1"});
        check_message(failure(with_f64(scales_at, std::numeric_limits<double>::quiet_NaN())),
                      {"m.nbl: byte 136", "scale of feature 0"});
    }
    SECTION("every truncation") {
        for (std::size_t length = 0; length < good.size(); ++length) {
            CAPTURE(length);
            const Bytes cut(good.begin(), good.begin() + std::ptrdiff_t(length));
            check_message(failure(cut), {"m.nbl: byte ", length == 0 ? "empty" : "truncated"});
        }
    }
}

TEST_CASE("model file version 3: a double Standardizer beyond float's range is refused by a "
          "float model",
          "[io][model][deployment]") {
    nabla::DynamicNetwork<double, nabla::HalfSquaredError> net({2, 1}, {nabla::Sigmoid{}}, 0);
    Eigen::VectorXd mean(2), scale(2);
    mean << 0.0, 0.0;
    scale << 1.0, 1e-60;  // positive in double, 0 in float
    TempDir dir;
    const std::string path = dir.file("tiny_scale.nbl");
    nabla::save(net, nabla::Standardizer<double>(mean, scale), path);
    const auto in_double = nabla::load_model<double, nabla::HalfSquaredError>(path);
    CHECK(in_double.standardizer()->scale()(1) == 1e-60);
    check_message(message_of<FileError>([&] {
                      nabla::load_model<float, nabla::HalfSquaredError>(path);
                  }),
                  {path, "Standardizer does not fit the network's scalar type", "feature 1"});
}

}  // namespace test_model_file
