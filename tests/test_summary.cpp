// The network summary (summary.hpp): one row per layer with its type, sizes, activation or own
// attributes and parameter count, then the totals; the counts are worked out by hand from the
// layer sizes (n·m weights and n biases per Dense layer of m inputs and n outputs).

#include "catch.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/layers/dropout.hpp>
#include <nabla/network.hpp>
#include <nabla/summary.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace test_summary {  // named for the unity build of nabla_tests

namespace {

using Lines = std::vector<std::string>;

Lines lines_of(const std::string& text) {
    Lines lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace

TEST_CASE("summary lists every layer of a run-time network with its counts and the total",
          "[summary]") {
    using Net = nabla::DynamicNetwork<float, nabla::CrossEntropy>;
    Net net(std::vector<nabla::AnyLayer<float>>{Net::Layer(784, 256, nabla::ReLU{}),
                                                nabla::Dropout<float>(256, 0.25),
                                                Net::Layer(256, 10, nabla::Softmax{})});
    std::ostringstream printed;
    printed << net;
    const Lines lines = lines_of(printed.str());
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "Network: 3 layers, CrossEntropy, float");
    CHECK(lines[1] == " #  layer    inputs  outputs  activation  parameters");
    // 784·256 + 256 = 200,960; 256·10 + 10 = 2,570.
    CHECK(lines[2] == " 1  Dense       784      256  relu           200,960");
    CHECK(lines[3] == " 2  Dropout     256      256  rate=0.25            0");
    CHECK(lines[4] == " 3  Dense       256       10  softmax          2,570");
    // 203,530 floats are 814,120 bytes, 795.04 KiB.
    CHECK(lines[5] == "Total: 203,530 parameters (795.0 KiB)");
    CHECK(printed.str() == nabla::summary(net));
}

TEST_CASE("summary of a fixed-size network names its activations' attributes and its scalar",
          "[summary]") {
    nabla::Network<nabla::SquaredError, nabla::Dense<double, 2, 3, nabla::LeakyReLU>,
                   nabla::Dense<double, 3, 1, nabla::Identity>>
        net(1);
    const Lines lines = lines_of(nabla::summary(net));
    REQUIRE(lines.size() == 5);
    CHECK(lines[0] == "Network: 2 layers, SquaredError, double");
    CHECK(lines[2] == " 1  Dense       2        3  leaky_relu slope=0.01           9");
    CHECK(lines[3] == " 2  Dense       3        1  identity                        4");
    // 13 doubles are 104 bytes.
    CHECK(lines[4] == "Total: 13 parameters (104.0 B)");
}

}  // namespace test_summary
