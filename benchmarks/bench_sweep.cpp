// Sweeps of the train step over layer width and batch size, in float and double, each point with
// the plain-Eigen GEMMs of the same step beside it (…/train_step/gemm): where the library's step
// falls short of the GEMM ceiling, and where the ceiling itself falls as shapes shrink.
//
//     width/<scalar>/n:<n>/train_step    n-n-n-n (three n × n layers, ReLU, ReLU, identity,
//                                        squared error), batch 256, n = 64 … 1024
//     width_large/<scalar>/n:<n>/…       the same for n = 2048 and 4096: seconds per step and
//                                        up to a gigabyte, so left out unless a filter asks for
//                                        them, e.g. --benchmark_filter=width_large/float
//     batch/<scalar>/B:<B>/train_step    W1's 784-256-128-10 (softmax, cross-entropy), batch
//                                        B = 1, 4, 16, 64, 256, 1024
//
//     bench_sweep [--threads N] [Google Benchmark flags]

#include "bench_support.hpp"
#include "workloads.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

using namespace nabla;
using namespace nabla::bench;

/// The width sweep's network: ReLU hidden layers, identity output, squared error (as W2).
template <class Scalar>
using WidthNet = Network<SquaredError,                                 //
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, Identity>>;

/// The batch sweep's network: W1's layer types in either scalar.
template <class Scalar>
using BatchNet = Network<CrossEntropy,                                 //
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, ReLU>,
                         Dense<Scalar, Eigen::Dynamic, Eigen::Dynamic, Softmax>>;

/// The batch size of the width sweep: W2's.
constexpr Eigen::Index width_batch = 256;

/// Registers `name`/train_step (net.train_step, plain SGD, on one random batch),
/// `name`/train_step/threads:N with --threads N > 1 (the step split across N threads) and
/// `name`/train_step/gemm (the same step's GEMMs in plain Eigen) for `Net` with `sizes`.
template <class Net>
void register_point(const std::string& name, const std::vector<Eigen::Index>& sizes,
                    Eigen::Index batch, bool one_hot, double learning_rate) {
    using Scalar = typename Net::Scalar;
    const double flops = train_step_flops(sizes, batch);
    add(name + "/train_step", [=](benchmark::State& state) {
        const auto data = random_batches<Scalar>(sizes, batch, 1, one_hot, 7);
        Net net(sizes, 7);
        bm_train_step(state, net, data, Scalar(learning_rate), flops);
        state.SetLabel(sizes_text(sizes) + ", batch " + std::to_string(batch));
    });
    if (g_threads > 1) {
        const int threads = g_threads;
        add(name + "/train_step/threads:" + std::to_string(threads), [=](benchmark::State& state) {
            const auto data = random_batches<Scalar>(sizes, batch, 1, one_hot, 7);
            Net net(sizes, 7);
            bm_parallel_train_step(state, net, data, Scalar(learning_rate), flops, threads);
            state.SetLabel(sizes_text(sizes) + ", batch " + std::to_string(batch) + ", " +
                           std::to_string(threads) + " threads");
        });
    }
    add(name + "/train_step/gemm", [=](benchmark::State& state) {
        bm_gemm<Scalar>(state, sizes, batch, true);
        state.SetLabel("plain Eigen, the step's GEMMs");
    });
}

/// The width and batch sweeps in one scalar type.
template <class Scalar>
void register_sweeps() {
    const std::string scalar = scalar_name<Scalar>();
    for (Eigen::Index n = 64; n <= 4096; n *= 2) {
        const std::string family = n <= 1024 ? "width/" : "width_large/";
        register_point<WidthNet<Scalar>>(family + scalar + "/n:" + std::to_string(n),
                                         {n, n, n, n}, width_batch, false, w2_learning_rate);
    }
    for (Eigen::Index batch = 1; batch <= 1024; batch *= 4) {
        register_point<BatchNet<Scalar>>("batch/" + scalar + "/B:" + std::to_string(batch),
                                         w1_sizes, batch, true, w1_learning_rate);
    }
}

}  // namespace

/// Registers both sweeps in float and double and runs what the command line selects; without a
/// --benchmark_filter, the large widths stay out.
int main(int argc, char** argv) {
    const int threads = take_threads(argc, argv);
    std::vector<char*> args(argv, argv + argc);
    static char skip_large[] = "--benchmark_filter=-large";
    if (!has_filter(argc, argv)) args.push_back(skip_large);
    args.push_back(nullptr);
    register_sweeps<float>();
    register_sweeps<double>();
    return run_benchmarks(int(args.size()) - 1, args.data(), threads);
}
