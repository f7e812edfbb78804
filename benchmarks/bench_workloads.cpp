// The three workloads of the performance table (workloads.hpp): forward, backward, the
// optimizer updates alone and the whole train step of W1, W2 and W3, with the plain-Eigen GEMM
// ceiling beside W1's and W2's passes, a whole W1 epoch on Fashion-MNIST, and the core's
// multiply-add peak (peak/fma) that bounds every GEMM.
//
//     bench_workloads [--data DIR] [--threads N] [Google Benchmark flags]
//
// --data names the Fashion-MNIST directory (default: where dataset-fashion-mnist installs it);
// W1 runs on random data of the same shape when the files are not there, and says so in its
// label and in the run's context.

#include "bench_support.hpp"
#include "workloads.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <utility>  // std::move

namespace {

using namespace nabla;
using namespace nabla::bench;
using FloatBatches = Batches<Eigen::MatrixXf, Eigen::MatrixXf>;
using DoubleBatches = Batches<Eigen::MatrixXd, Eigen::MatrixXd>;

std::string g_data_dir = fashion_mnist_default_dir;  // set from --data before anything runs

/// W1's training data in batches of 64, loaded on first use: the 60000 Fashion-MNIST training
/// images when installed, else as many random images with random one-hot labels.
const FloatBatches& w1_data() {
    static const FloatBatches data = [] {
        if (fashion_mnist_available(g_data_dir)) {
            try {
                FashionMnist<float> set = load_fashion_mnist<float>(g_data_dir, -1, 0);
                Eigen::MatrixXf y = one_hot<float>(set.train_labels, FashionMnist<float>::classes);
                return FloatBatches(std::move(set.train_images), std::move(y), w1_batch,
                                    "Fashion-MNIST");
            } catch (const std::exception& e) {
                // The user has the data and expects it used: stop rather than time other data.
                std::fprintf(stderr, "bench_workloads: %s\n", e.what());
                std::exit(1);
            }
        }
        RandomClassification random = random_classification(w1_sizes.front(), w1_sizes.back(),
                                                             60000, 1);
        return FloatBatches(std::move(random.x), std::move(random.y), w1_batch,
                            "random data (no Fashion-MNIST)");
    }();
    return data;
}

/// One epoch as the performance table defines it: 60000 / 64 = 937 whole batches in order,
/// each a plain SGD step, on one thread (net.train_step) or split across `threads`.
void bm_w1_epoch(benchmark::State& state, int threads) {
    const FloatBatches& data = w1_data();
    W1Net net(w1_sizes, 1);
    W1Net::Workspace<> ws;
    DataParallel<W1Net> parallel(threads);
    const auto step = [&](Eigen::Index k) {
        if (threads == 1)
            net.train_step(data.x(k), data.y(k), ws, w1_learning_rate);
        else
            parallel.train_step(net, data.x(k), data.y(k), w1_learning_rate);
    };
    step(0);
    for (auto _ : state)
        for (Eigen::Index k = 0; k < data.count(); ++k) step(k);
    const double samples = double(data.count() * data.batch());
    set_rates(state, samples, double(data.count()) * train_step_flops(w1_sizes, w1_batch));
    state.SetLabel(data.label() + ", " + std::to_string(data.count()) + " batches, " +
                   std::to_string(threads) + (threads == 1 ? " thread" : " threads"));
}

/// One epoch as a user trains it: fit() with a plain Sgd (or `optimizer`) over the same 937
/// batches of 64, the samples shuffled (so each batch is gathered from the whole set, as fit()
/// does), progress off. What fit() costs beyond the steps themselves is this against W1/epoch.
template <class Optimizer = Sgd>
void bm_w1_fit(benchmark::State& state, int threads, Optimizer optimizer = Sgd(w1_learning_rate)) {
    const FloatBatches& data = w1_data();
    W1Net net(w1_sizes, 1);
    FitOptions options;
    options.epochs = 1;
    options.batch_size = data.batch();
    options.threads = threads;
    options.progress.mode = ProgressMode::silent;
    fit(net, optimizer, data.x(0), data.y(0), options);  // sizes the lazily made scratch, as step(0)
    for (auto _ : state) fit(net, optimizer, data.all_x(), data.all_y(), options);
    const double samples = double(data.count() * data.batch());
    set_rates(state, samples, double(data.count()) * train_step_flops(w1_sizes, w1_batch));
    state.SetLabel(data.label() + ", shuffled, " + std::to_string(threads) +
                   (threads == 1 ? " thread" : " threads"));
}

/// W1: 784-256-128-10 on Fashion-MNIST, and one whole epoch of it.
void register_w1() {
    NetworkBench bench{"W1", w1_sizes, w1_batch, w1_learning_rate};
    register_network<W1Net>(bench, [] { return W1Net(w1_sizes, 1); }, w1_data);
    add("W1/epoch", [](benchmark::State& state) { bm_w1_epoch(state, 1); },
        benchmark::kMillisecond);
    add("W1/fit", [](benchmark::State& state) { bm_w1_fit(state, 1); }, benchmark::kMillisecond);
    // fit() with Adam: the optimizer's own step, taken through fit()'s step guard.
    add("W1/fit/adam", [](benchmark::State& state) { bm_w1_fit(state, 1, Adam(1e-3)); },
        benchmark::kMillisecond);
    if (g_threads > 1) {
        const int threads = g_threads;
        add("W1/epoch/threads:" + std::to_string(threads),
            [threads](benchmark::State& state) { bm_w1_epoch(state, threads); },
            benchmark::kMillisecond);
        add("W1/fit/threads:" + std::to_string(threads),
            [threads](benchmark::State& state) { bm_w1_fit(state, threads); },
            benchmark::kMillisecond);
    }
}

/// W2: three 1024 × 1024 layers, batch 256, random data.
void register_w2() {
    NetworkBench bench{"W2", w2_sizes, w2_batch, w2_learning_rate};
    register_network<W2Net>(bench, [] { return W2Net(w2_sizes, 2); },
                            []() -> const FloatBatches& {
                                static const FloatBatches data =
                                    random_batches<float>(w2_sizes, w2_batch, 4, false, 2);
                                return data;
                            });
}

/// W1 and W2 in double: the same networks (the same initial weights, rounded from the same
/// draws) on the same data, widened.
void register_double() {
    NetworkBench w1{"W1/double", w1_sizes, w1_batch, w1_learning_rate};
    register_double_steps<W1DoubleNet>(
        w1, [] { return W1DoubleNet(w1_sizes, 1); }, []() -> const DoubleBatches& {
            static const DoubleBatches data(w1_data().all_x().cast<double>(),
                                            w1_data().all_y().cast<double>(), w1_batch,
                                            w1_data().label());
            return data;
        });
    NetworkBench w2{"W2/double", w2_sizes, w2_batch, w2_learning_rate};
    register_double_steps<W2DoubleNet>(
        w2, [] { return W2DoubleNet(w2_sizes, 2); }, []() -> const DoubleBatches& {
            static const DoubleBatches data =
                random_batches<double>(w2_sizes, w2_batch, 4, false, 2);
            return data;
        });
}

/// A few single samples of W3, handed out in turn; `Inputs` fixed (2) or Eigen::Dynamic, so
/// that x(k) is a fixed-size column for the fixed-size network.
template <int Inputs, int Outputs>
class W3Samples {
public:
    /// 16 random samples, from `seed`.
    explicit W3Samples(std::uint64_t seed)
        : m_x(random_matrix(2, count(), seed).array().abs().matrix()),
          m_y(random_matrix(2, count(), seed + 1).array().abs().matrix()) {}

    /// One sample per step.
    static constexpr Eigen::Index batch() { return 1; }
    /// The number of samples.
    static constexpr Eigen::Index count() { return 16; }
    /// Sample k's input, 2 × 1.
    auto x(Eigen::Index k) const { return m_x.col(k); }
    /// Sample k's target, 2 × 1.
    auto y(Eigen::Index k) const { return m_y.col(k); }
    /// The index after k, wrapping to 0.
    static Eigen::Index next(Eigen::Index k) { return (k + 1) & (count() - 1); }
    /// Shown as the benchmarks' label.
    std::string label() const { return "random samples"; }

private:
    Eigen::Matrix<float, Inputs, Eigen::Dynamic> m_x;
    Eigen::Matrix<float, Outputs, Eigen::Dynamic> m_y;
};

/// The W3 step written out by hand in plain Eigen (sigmoid layers, squared error, one sample),
/// every product into a buffer of its own so that no size causes a temporary: the reference the
/// library's W3 step is held to, where call overhead, not GEMM, decides.
template <int I, int H, int O>
class PlainW3 {
public:
    /// Random weights, zero biases, for sizes 2-3-2.
    PlainW3() : m_w1(random_matrix(3, 2, 5)), m_w2(random_matrix(2, 3, 6)) {
        m_b1.setZero(3);
        m_b2.setZero(2);
        m_z1.resize(3);
        m_d1.resize(3);
        m_z2.resize(2);
        m_d2.resize(2);
    }

    /// Forward, backward and the SGD update on one sample; returns the cost Σ (a − y)².
    template <class X, class Y>
    float step(const X& x, const Y& y, float eta) {
        m_z1.noalias() = m_w1 * x;
        m_z1 = (1 + (-(m_z1 + m_b1)).array().exp()).inverse().matrix();  // a¹ = σ(z¹)
        m_z2.noalias() = m_w2 * m_z1;
        m_z2 = (1 + (-(m_z2 + m_b2)).array().exp()).inverse().matrix();  // a² = σ(z²)
        const float cost = (m_z2 - y).squaredNorm();
        m_d2 = (2 * (m_z2 - y).array() * m_z2.array() * (1 - m_z2.array())).matrix();
        m_d1.noalias() = m_w2.transpose() * m_d2;
        m_d1.array() *= m_z1.array() * (1 - m_z1.array());
        m_w2.noalias() -= eta * m_d2 * m_z1.transpose();
        m_b2 -= eta * m_d2;
        m_w1.noalias() -= eta * m_d1 * x.transpose();
        m_b1 -= eta * m_d1;
        return cost;
    }

private:
    Eigen::Matrix<float, H, I> m_w1;
    Eigen::Matrix<float, H, 1> m_b1;
    Eigen::Matrix<float, O, H> m_w2;
    Eigen::Matrix<float, O, 1> m_b2;
    Eigen::Matrix<float, H, 1> m_z1, m_d1;  // m_z1 holds a¹ once σ is applied
    Eigen::Matrix<float, O, 1> m_z2, m_d2;  // m_z2 holds a²
};

/// Times PlainW3 on the samples of `Data`.
template <int I, int H, int O, class Data>
void bm_plain_w3(benchmark::State& state) {
    const Data data(3);
    PlainW3<I, H, O> plain;
    Eigen::Index k = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(plain.step(data.x(k), data.y(k), w3_learning_rate));
        k = data.next(k);
    }
    set_rates(state, 1, train_step_flops(w3_sizes, 1));
    state.SetLabel("hand-written Eigen step");
}

/// W3: the [2,3,2] sigmoid network, one sample per step, with sizes fixed at compile time (and
/// a workspace on the stack) and with sizes chosen at run time.
void register_w3() {
    using FixedData = W3Samples<2, 2>;
    using DynamicData = W3Samples<Eigen::Dynamic, Eigen::Dynamic>;
    NetworkBench fixed{"W3/fixed", w3_sizes, 1, w3_learning_rate, false, benchmark::kNanosecond};
    register_network<W3FixedNet, W3FixedNet::Workspace<1>>(
        fixed, [] { return W3FixedNet(w3_sizes, 3); }, []() -> const FixedData& {
            static const FixedData data(3);
            return data;
        });
    add("W3/fixed/train_step/plain", bm_plain_w3<2, 3, 2, FixedData>, benchmark::kNanosecond);

    NetworkBench dynamic = fixed;
    dynamic.prefix = "W3/dynamic";
    register_network<W3DynamicNet>(dynamic, [] { return W3DynamicNet(w3_sizes, 3); },
                                   []() -> const DynamicData& {
                                       static const DynamicData data(3);
                                       return data;
                                   });
    add("W3/dynamic/train_step/plain",
        bm_plain_w3<Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic, DynamicData>,
        benchmark::kNanosecond);
}

}  // namespace

/// Registers W1, W2 and W3 and runs what the command line selects.
int main(int argc, char** argv) {
    const int threads = take_threads(argc, argv);
    if (std::optional<std::string> dir = take_flag(argc, argv, "--data")) g_data_dir = *dir;
    benchmark::AddCustomContext("w1_data", fashion_mnist_available(g_data_dir)
                                               ? "Fashion-MNIST in " + g_data_dir
                                               : "random (no Fashion-MNIST in " + g_data_dir + ")");
    add("peak/fma", bm_fma_peak<float>, benchmark::kMicrosecond);
    add("peak/fma/double", bm_fma_peak<double>, benchmark::kMicrosecond);
    register_w1();
    register_w2();
    register_w3();
    register_double();
    return run_benchmarks(argc, argv, threads);
}
