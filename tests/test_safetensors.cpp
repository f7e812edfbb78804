// safetensors (io/safetensors.hpp): the layout of the bytes written (header length, JSON names,
// shapes and offsets, row-major data), a round trip between float and double networks, and a
// clear FileError, with the network left unchanged, for every kind of bad file.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/io/safetensors.hpp>
#include <nabla/layers/dropout.hpp>
#include <nabla/network.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace test_safetensors {  // named for the unity build of nabla_tests

namespace {

using nabla::FileError;
using nabla_test::contains;
using nabla_test::message_of;

using Net = nabla::Network<nabla::SquaredError, nabla::Dense<float, 3, 2, nabla::Tanh>,
                           nabla::Dense<float, 2, 1, nabla::Identity>>;

std::uint64_t header_length(const std::string& bytes) {
    std::uint64_t n = 0;
    for (int k = 7; k >= 0; --k) n = n << 8 | std::uint8_t(bytes[std::size_t(k)]);
    return n;
}

// Replaces the header of `bytes` by `json` (padded to 8 bytes), keeping the data.
std::string with_header(const std::string& bytes, std::string json) {
    const std::string data = bytes.substr(8 + header_length(bytes));
    json.append((8 - json.size() % 8) % 8, ' ');
    std::string out(8, '\0');
    const std::uint64_t n = json.size();
    for (int k = 0; k < 8; ++k) out[std::size_t(k)] = char(n >> (8 * k) & 0xff);
    return out + json + data;
}

}  // namespace

TEST_CASE("to_safetensors writes nn.Sequential names, nn.Linear shapes and row-major data",
          "[safetensors]") {
    Net net(1);
    Eigen::Matrix<float, 2, 3> w;
    w << 1, 2, 3, 4, 5, 6;  // row 0 is 1 2 3
    net.layer<0>().set_weights(w);
    const std::string bytes = nabla::to_safetensors(net);
    const std::uint64_t n = header_length(bytes);
    CHECK(n % 8 == 0);
    const std::string json = bytes.substr(8, n);
    // Layer 0 is module 0, layer 1 module 2; W is outputs × inputs.
    CHECK(contains(json, "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}"));
    CHECK(contains(json, "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}"));
    CHECK(contains(json, "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[32,40]}"));
    CHECK(contains(json, "\"2.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[40,44]}"));
    REQUIRE(bytes.size() == 8 + n + 44);
    float first[3];
    std::memcpy(first, bytes.data() + 8 + n, sizeof first);
    CHECK(first[0] == 1);  // row 0 of W, as PyTorch reads it
    CHECK(first[1] == 2);
    CHECK(first[2] == 3);
}

TEST_CASE("safetensors round trip: a double network loads a float file exactly", "[safetensors]") {
    using Dynamic = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
    nabla::DynamicNetwork<float, nabla::CrossEntropy> saved(
        std::vector<nabla::AnyLayer<float>>{
            nabla::DynamicNetwork<float, nabla::CrossEntropy>::Layer(4, 5, nabla::ReLU{}),
            nabla::Dropout<float>(5, 0.5),
            nabla::DynamicNetwork<float, nabla::CrossEntropy>::Layer(5, 3, nabla::Softmax{})});
    saved.initialize(3);
    nabla_test::TempDir dir;
    const std::string path = dir.path() + "/net.safetensors";
    nabla::save_safetensors(saved, path);
    Dynamic loaded(std::vector<nabla::AnyLayer<double>>{
        Dynamic::Layer(4, 5, nabla::ReLU{}), nabla::Dropout<double>(5, 0.5),
        Dynamic::Layer(5, 3, nabla::Softmax{})});
    nabla::load_safetensors(loaded, path);
    // Dropout is module 2 and stores nothing; the output layer is module 4.
    CHECK(contains(nabla::to_safetensors(saved), "\"4.weight\""));
    for (int l : {0, 2}) {
        CHECK(loaded.layer(std::size_t(l)).weights() ==
              saved.layer(std::size_t(l)).weights().cast<double>());
        CHECK(loaded.layer(std::size_t(l)).bias() ==
              saved.layer(std::size_t(l)).bias().cast<double>());
    }
}

TEST_CASE("a bad safetensors file is a FileError that says what and where, and changes nothing",
          "[safetensors]") {
    Net source(2);
    const std::string good = nabla::to_safetensors(source);
    Net net(5);
    const Net before = net;
    auto refused = [&](const std::string& bytes) {
        return message_of<FileError>([&] { nabla::load_safetensors_from_bytes(net, bytes, "w.st"); });
    };
    const std::string json = good.substr(8, header_length(good));

    CHECK(contains(refused(good.substr(0, 5)), "too short"));
    std::string long_header = good;
    long_header[0] = char(0xff);
    long_header[1] = char(0xff);
    CHECK(contains(refused(long_header), "past the end"));
    CHECK(contains(refused(with_header(good, "{\"0.weight\":")), "byte "));
    // The message for the good file with `from`, its first occurrence in the header, made `to`.
    auto refused_edit = [&](const std::string& from, const std::string& to) {
        std::string edited = json;
        edited.replace(edited.find(from), from.size(), to);
        return refused(with_header(good, edited));
    };
    CHECK(contains(refused_edit("2.bias", "9.bias"), "no tensor \"2.bias\" for Dense layer 2"));
    CHECK(contains(refused_edit("F32", "F16"), "dtype F16"));
    CHECK(contains(refused_edit("[2,3]", "[3,2]"),
                   "\"0.weight\" has shape [3, 2], Dense layer 1 needs [2, 3]"));
    CHECK(contains(refused_edit("[40,44]", "[40,48]"), "outside the 44 bytes of data"));
    CHECK(contains(refused_edit("[24,32]", "[20,28]"), "overlap"));
    CHECK(net.layer<0>().weights() == before.layer<0>().weights());
    CHECK(net.layer<1>().bias() == before.layer<1>().bias());

    nabla::load_safetensors_from_bytes(net, good, "w.st");
    CHECK(net.layer<0>().weights() == source.layer<0>().weights());
}

}  // namespace test_safetensors
