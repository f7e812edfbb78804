// Graphviz export: one node per drawn neuron and one edge per drawn weight, labels with the
// weights, biases, and (given a workspace after backward()) the activations and errors δ of one
// sample, computed here by hand for a small linear network; wide layers cut to a "… n more"
// node; a well-formed graph (and, where Graphviz is installed, one that `dot` accepts); write_dot
// writes the same text atomically.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/io/dot.hpp>
#include <nabla/loss.hpp>
#include <nabla/network.hpp>

#include <Eigen/Core>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace test_dot {  // named for the unity build of nabla_tests

namespace {

namespace fs = std::filesystem;
using nabla_test::message_of;

// [2, 3, 2] with identity activations, so that a, δ follow by hand from the weights.
using LinearNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Identity>,
                   nabla::Dense<double, 3, 2, nabla::Identity>>;

/// W¹ = [[1, 0], [0, 1], [1, 1]], b¹ = 0; W² = [[1, 0, 0], [0, 0, 1]], b² = (0.5, −0.25),
/// except W¹(1,0), set to 0.123456 when `marked` (to check a label's precision).
LinearNet linear_net(bool marked) {
    LinearNet net;
    Eigen::Matrix<double, 3, 2> w1;
    w1 << 1, 0, marked ? 0.123456 : 0.0, 1, 1, 1;
    Eigen::Matrix<double, 2, 3> w2;
    w2 << 1, 0, 0, 0, 0, -1;
    net.layer<0>().set_weights(w1);
    net.layer<0>().set_bias(Eigen::Vector3d::Zero());
    net.layer<1>().set_weights(w2);
    net.layer<1>().set_bias(Eigen::Vector2d(0.5, -0.25));
    return net;
}

/// The lines of `text` that declare a neuron node ("n1_2 [..."), an elision node ("n0_more
/// [...") or an edge ("n0_1 -> n1_2 [...").
struct Graph {
    std::vector<std::string> nodes;      // names of neuron nodes
    std::vector<std::string> elisions;   // whole lines of "… n more" nodes
    std::vector<std::string> edges;      // whole edge lines
    std::vector<std::string> endpoints;  // every name an edge uses
};

Graph parse(const std::string& text) {
    static const std::regex node(R"(^\s*(n\d+_\d+) \[.*\];$)");
    static const std::regex more(R"(^\s*n\d+_more \[.*\];$)");
    static const std::regex edge(R"(^\s*(n\d+_\d+) -> (n\d+_\d+) \[.*\];$)");
    Graph graph;
    std::istringstream in(text);
    std::string line;
    std::smatch match;
    while (std::getline(in, line)) {
        if (std::regex_match(line, match, edge)) {
            graph.edges.push_back(line);
            graph.endpoints.push_back(match[1]);
            graph.endpoints.push_back(match[2]);
        } else if (std::regex_match(line, match, node)) {
            graph.nodes.push_back(match[1]);
        } else if (std::regex_match(line, more)) {
            graph.elisions.push_back(line);
        }
    }
    return graph;
}

/// The line of `text` that starts (after indentation) with `start`, or "" when none does.
std::string line_of(const std::string& text, const std::string& start) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t first = line.find_first_not_of(' ');
        if (first != std::string::npos && line.compare(first, start.size(), start) == 0) {
            return line;
        }
    }
    return "";
}

/// Braces balance and every edge joins two declared nodes.
void check_well_formed(const std::string& text) {
    CHECK(text.rfind("digraph nabla {\n", 0) == 0);
    CHECK(text.size() >= 2);
    CHECK(text.substr(text.size() - 2) == "}\n");
    long depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}') {
            --depth;
            CHECK(depth >= 0);
        }
    }
    CHECK(depth == 0);
    CHECK_FALSE(in_string);
    const Graph graph = parse(text);
    const std::set<std::string> declared(graph.nodes.begin(), graph.nodes.end());
    for (const std::string& name : graph.endpoints) {
        INFO("edge endpoint " << name);
        CHECK(declared.count(name) == 1);
    }
}

/// True when Graphviz's `dot` is on the PATH.
bool have_graphviz() { return std::system("command -v dot >/dev/null 2>&1") == 0; }

/// A fresh directory under the system's temporary directory, removed with its content.
class TempDir {
public:
    TempDir() {
        std::random_device device;
        for (int attempt = 0; attempt < 100; ++attempt) {
            m_path = fs::temp_directory_path() / ("nabla_dot_test_" + std::to_string(device()));
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
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    fs::path m_path;
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("dot: a [2,3,2] net has 7 neurons and 12 weighted edges", "[io][dot]") {
    const LinearNet net = linear_net(true);
    const std::string text = nabla::to_dot(net);
    INFO(text);
    check_well_formed(text);
    const Graph graph = parse(text);
    CHECK(graph.nodes.size() == 2 + 3 + 2);
    CHECK(graph.edges.size() == 2 * 3 + 3 * 2);
    CHECK(graph.elisions.empty());

    // w_10 of layer 1 joins input 0 to neuron 1: label 0.123 at 3 digits, blue (positive).
    const std::string marked = line_of(text, "n0_0 -> n1_1 ");
    CHECK(marked.find("label=\"0.123\"") != std::string::npos);
    CHECK(marked.find("#2166ac") != std::string::npos);
    // w_22 of layer 2 is −1: red, and the widest of its layer (|w| = 1 is the largest there).
    const std::string negative = line_of(text, "n1_2 -> n2_1 ");
    CHECK(negative.find("label=\"-1\"") != std::string::npos);
    CHECK(negative.find("#b2182b") != std::string::npos);
    CHECK(negative.find("penwidth=4,") != std::string::npos);  // 0.5 + 3.5·1/1
    // A zero weight is grey and as thin as an edge gets.
    const std::string zero = line_of(text, "n1_1 -> n2_0 ");
    CHECK(zero.find("#999999") != std::string::npos);
    CHECK(zero.find("penwidth=0.5,") != std::string::npos);
    // 0.123456 against the largest |w| of layer 1 (1): 0.5 + 3.5·0.123456 = 0.932 (3 digits).
    CHECK(marked.find("penwidth=0.932,") != std::string::npos);

    // Biases on the neurons, inputs as boxes.
    CHECK(line_of(text, "n2_0 [").find("b=0.5") != std::string::npos);
    CHECK(line_of(text, "n2_1 [").find("b=-0.25") != std::string::npos);
    CHECK(line_of(text, "n0_1 [").find("label=\"x1\"") != std::string::npos);
    CHECK(text.find("output: 2 neurons, identity") != std::string::npos);
    CHECK(text.find("layer 1: 3 neurons, identity") != std::string::npos);
    CHECK(text.find("input: 2 neurons") != std::string::npos);

    nabla::DotOptions options;
    options.precision = 5;
    options.weight_labels = true;
    CHECK(line_of(nabla::to_dot(net, options), "n0_0 -> n1_1 ").find("label=\"0.12346\"") !=
          std::string::npos);
    options.weight_labels = false;
    const std::string unlabelled = nabla::to_dot(net, options);
    CHECK(parse(unlabelled).edges.size() == 12);
    CHECK(line_of(unlabelled, "n0_0 -> n1_1 ").find("label=") == std::string::npos);
}

TEST_CASE("dot: with a workspace after backward(), each neuron shows a and δ of the sample",
          "[io][dot]") {
    const LinearNet net = linear_net(false);
    // Sample 1 is x = (1, 2), y = (0, 1). By hand, with identity activations:
    //   a¹ = W¹x = (1, 2, 3);  a² = W²a¹ + b² = (1 + 0.5, −3 − 0.25) = (1.5, −3.25)
    //   δ² = a² − y = (1.5, −4.25)            (HalfSquaredError, σ' = 1: equation (1))
    //   δ¹ = (W²)ᵀδ² = (1.5, 0, 4.25)         (equation (4))
    Eigen::Matrix<double, 2, 2> x;
    x << 9, 1, 9, 2;
    Eigen::Matrix<double, 2, 2> y;
    y << 9, 0, 9, 1;
    LinearNet::Workspace<> ws;
    net.backward(x, y, ws);
    nabla::DotOptions options;
    options.sample = 1;
    const std::string text = nabla::to_dot(net, ws, options);
    INFO(text);
    check_well_formed(text);
    CHECK(parse(text).nodes.size() == 7);
    CHECK(line_of(text, "n0_1 [").find("x1\\n=2") != std::string::npos);
    CHECK(line_of(text, "n1_0 [").find("a=1\\nδ=1.5\"") != std::string::npos);
    CHECK(line_of(text, "n1_1 [").find("a=2\\nδ=0\"") != std::string::npos);
    CHECK(line_of(text, "n1_2 [").find("a=3\\nδ=4.25\"") != std::string::npos);
    CHECK(line_of(text, "n2_0 [").find("a=1.5\\nδ=1.5\"") != std::string::npos);
    CHECK(line_of(text, "n2_1 [").find("a=-3.25\\nδ=-4.25\"") != std::string::npos);
    CHECK(text.find("sample 1") != std::string::npos);

    SECTION("a workspace without a backward pass, or too few samples, is refused") {
        LinearNet::Workspace<> forward_only;
        net.forward(x, forward_only);
        const std::string message = message_of<nabla::ShapeError>(
            [&] { nabla::to_dot(net, forward_only); });
        CHECK(message.find("run backward()") != std::string::npos);
        options.sample = 2;
        const std::string range = message_of<nabla::ShapeError>(
            [&] { nabla::to_dot(net, ws, options); });
        CHECK(range.find("sample is 2, the workspace holds 2 samples") != std::string::npos);
    }
    SECTION("options outside their domain are ConfigErrors") {
        nabla::DotOptions bad;
        bad.precision = 0;
        CHECK(message_of<nabla::ConfigError>([&] { nabla::to_dot(net, bad); })
                  .find("precision is 0") != std::string::npos);
        bad.precision = 3;
        bad.max_neurons_per_layer = 0;
        CHECK(message_of<nabla::ConfigError>([&] { nabla::to_dot(net, bad); })
                  .find("max_neurons_per_layer is 0") != std::string::npos);
    }
}

TEST_CASE("dot: wide layers are cut to a few neurons and one '… n more' node", "[io][dot]") {
    const nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
        {784, 30, 10}, {nabla::ReLU{}, nabla::Softmax{}}, 1);
    nabla::DotOptions options;
    options.max_neurons_per_layer = 8;
    const std::string text = nabla::to_dot(net, options);
    check_well_formed(text);
    const Graph graph = parse(text);
    CHECK(graph.nodes.size() == 8 + 8 + 8);
    CHECK(graph.edges.size() == 8 * 8 + 8 * 8);
    REQUIRE(graph.elisions.size() == 3);
    CHECK(graph.elisions[0].find("… 776 more") != std::string::npos);
    CHECK(graph.elisions[1].find("… 22 more") != std::string::npos);
    CHECK(graph.elisions[2].find("… 2 more") != std::string::npos);
    CHECK(text.find("input: 784 neurons") != std::string::npos);
    CHECK(text.size() < 20000);

    options.max_neurons_per_layer = 10;  // the output layer fits exactly: no elision there
    const Graph ten = parse(nabla::to_dot(net, options));
    CHECK(ten.nodes.size() == 10 + 10 + 10);
    CHECK(ten.elisions.size() == 2);
}

TEST_CASE("dot: write_dot writes the same text, and Graphviz accepts it where installed",
          "[io][dot]") {
    TempDir dir;
    const LinearNet net = linear_net(true);
    const std::string path = dir.file("net.dot");
    nabla::write_dot(net, path);
    CHECK(read_text(path) == nabla::to_dot(net));

    Eigen::Matrix<double, 2, 1> x(1, 2);
    Eigen::Matrix<double, 2, 1> y(0, 1);
    LinearNet::Workspace<1> ws;
    net.backward(x, y, ws);
    const std::string with_deltas = dir.file("backprop.dot");
    nabla::write_dot(net, ws, with_deltas);
    CHECK(read_text(with_deltas) == nabla::to_dot(net, ws));

    const std::string missing = dir.file("no/such/dir/net.dot");
    const std::string message = message_of<nabla::FileError>(
        [&] { nabla::write_dot(net, missing); });
    CHECK(message.find(missing) != std::string::npos);
    CHECK(message.find("does not exist") != std::string::npos);

    if (have_graphviz()) {
        for (const std::string& file : {path, with_deltas}) {
            const std::string command = "dot -Tsvg '" + file + "' -o /dev/null";
            INFO(command);
            CHECK(std::system(command.c_str()) == 0);
        }
    } else {
        // No Graphviz here: the structure checks above stand in for it.
        check_well_formed(read_text(path));
        check_well_formed(read_text(with_deltas));
    }
}

}  // namespace test_dot
