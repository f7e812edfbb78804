// The workload benchmarks (forward, backward, updates, train step, GEMM ceilings) for a network
// of the user's own sizes, built at run time as a DynamicNetwork:
//
//     bench_sizes --sizes 784,512,10 --batch 128 [--activation relu] [--loss ce|mse] [--double]
//                 [--threads N] [Google Benchmark flags]
//
// --sizes      inputs, hidden sizes, outputs (default 784,256,128,10, W1's)
// --batch      samples per step (default 64)
// --activation of the hidden layers: relu (default), leaky_relu, tanh, sigmoid or identity
// --loss       ce: softmax output, cross-entropy, one-hot targets (default);
//              mse: identity output, squared error, random targets
// --double     double instead of float
//
// Benchmarks are named user/<sizes>/B:<batch>/<scalar>/<activation>/<loss>/<pass>. A malformed
// flag ends the program with status 2 and a message naming it.

#include "bench_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using namespace nabla;
using namespace nabla::bench;

/// The network the command line asks for.
struct UserNetwork {
    std::vector<Eigen::Index> sizes = w1_sizes;      ///< --sizes
    Eigen::Index batch = w1_batch;                   ///< --batch
    AnyActivation hidden = AnyActivation(ReLU{});    ///< --activation
    bool cross_entropy = true;                       ///< --loss ce (else mse)
    bool use_double = false;                         ///< --double
};

/// Reads "784,512,10": at least two whole numbers ≥ 1, separated by single commas.
std::vector<Eigen::Index> parse_sizes(const char* program, const std::string& text) {
    const std::string expected = "; expected at least two whole numbers from 1 separated by "
                                 "commas, e.g. --sizes 784,512,10";
    std::vector<Eigen::Index> sizes;
    std::size_t begin = 0;
    while (true) {
        const std::size_t end = text.find(',', begin);
        const std::string entry = text.substr(begin, end == std::string::npos ? end : end - begin);
        const std::optional<long long> size = parse_count(entry, 1);
        if (!size || *size > 1000000) {
            usage_error(program, "--sizes '" + text + "': entry " +
                                     std::to_string(sizes.size() + 1) + " is '" + entry + "'" +
                                     expected);
        }
        sizes.push_back(Eigen::Index(*size));
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    if (sizes.size() < 2)
        usage_error(program, "--sizes '" + text + "': only one size" + expected);
    return sizes;
}

/// Takes every flag of ours out of argv; exits with status 2 on a malformed one.
UserNetwork take_user_network(int& argc, char** argv) {
    UserNetwork user;
    if (std::optional<std::string> text = take_flag(argc, argv, "--sizes"))
        user.sizes = parse_sizes(argv[0], *text);
    if (std::optional<std::string> text = take_flag(argc, argv, "--batch")) {
        const std::optional<long long> batch = parse_count(*text, 1);
        if (!batch || *batch > 1000000)
            usage_error(argv[0], "--batch '" + *text + "': expected a whole number from 1");
        user.batch = Eigen::Index(*batch);
    }
    if (std::optional<std::string> text = take_flag(argc, argv, "--activation")) {
        try {
            user.hidden = AnyActivation::parse(*text);
        } catch (const ConfigError& e) {
            usage_error(argv[0], "--activation '" + *text + "': " + e.what());
        }
        if (user.hidden.kind() == ActivationKind::softmax)
            usage_error(argv[0], "--activation softmax: softmax is for the output layer; "
                                 "choose it with --loss ce");
    }
    if (std::optional<std::string> text = take_flag(argc, argv, "--loss")) {
        if (*text != "ce" && *text != "mse")
            usage_error(argv[0], "--loss '" + *text + "': expected ce or mse");
        user.cross_entropy = *text == "ce";
    }
    user.use_double = take_switch(argc, argv, "--double");
    return user;
}

/// Registers the benchmarks of `user` in `Scalar` with loss `Loss` (its output activation
/// `output`).
template <class Scalar, class Loss>
void register_user(const UserNetwork& user, AnyActivation output) {
    using Net = DynamicNetwork<Scalar, Loss>;
    using Data = Batches<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>,
                         Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>;
    std::vector<AnyActivation> activations(user.sizes.size() - 1, user.hidden);
    activations.back() = output;
    NetworkBench bench;
    bench.prefix = "user/" + sizes_text(user.sizes) + "/B:" + std::to_string(user.batch) + "/" +
                   scalar_name<Scalar>() + "/" + std::string(user.hidden.name()) + "/" +
                   (user.cross_entropy ? "ce" : "mse");
    bench.sizes = user.sizes;
    bench.batch = user.batch;
    bench.learning_rate = user.cross_entropy ? 0.05 : 1e-4;
    const auto sizes = user.sizes;
    const Eigen::Index batch = user.batch;
    const bool one_hot = user.cross_entropy;
    register_network<Net>(bench, [=] { return Net(sizes, activations, 11); },
                          [=]() -> const Data& {
                              // Two batches, so that steps alternate as they would in an epoch.
                              static const Data data =
                                  random_batches<Scalar>(sizes, batch, 2, one_hot, 11);
                              return data;
                          });
}

}  // namespace

/// Parses the network from the command line, registers its benchmarks and runs them.
int main(int argc, char** argv) {
    const int threads = take_threads(argc, argv);
    const UserNetwork user = take_user_network(argc, argv);
    const AnyActivation output =
        user.cross_entropy ? AnyActivation(Softmax{}) : AnyActivation(Identity{});
    if (user.use_double && user.cross_entropy)
        register_user<double, CrossEntropy>(user, output);
    else if (user.use_double)
        register_user<double, SquaredError>(user, output);
    else if (user.cross_entropy)
        register_user<float, CrossEntropy>(user, output);
    else
        register_user<float, SquaredError>(user, output);
    return run_benchmarks(argc, argv, threads);
}
