// nabla's runner for the side-by-side comparison (README.md): trains one workload of
// workloads.hpp with nabla's public API, or with a plain hand-written Eigen step (the reference
// nabla's speed and accuracy are held to), and prints one RESULT line.
//
//     compare_nabla --workload W1|W2|W3 [--threads N] [--seconds S] [--max-steps N]
//                   [--data DIR] [--variant V]
//
// V: W1 and W2 "nabla" (default), "nabla-double" (the same network in double) or "plain"; W3
// "dynamic" (default), "fixed", "plain-dynamic" or "plain-fixed". Both W1 systems start from the
// same weights (nabla's seed 1), so their test accuracies after one epoch must agree.

#include "compare_common.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace nabla;
using namespace nabla::bench;
using namespace nabla::compare;

/// Where the thread count goes in: nabla's steps split each batch across this many threads
/// (DataParallel); Eigen's own products stay on one thread (they split only when Eigen is built
/// with OpenMP, and nabla's threads already use the cores), and so do a GEMM back end's (oneDNN's
/// OpenMP). Returns the threads nabla runs.
int apply_threads(int threads) {
    Eigen::setNbThreads(1);
    nabla::detail::set_backend_threads(1);
    return threads;
}

float g_sink = 0;  // costs land here so that no step is optimised away

// ---------------------------------------------------------------------------------------------
// The plain step: a dense network written out in Eigen, batch-wise, no library in between.

enum class Act { relu, softmax, identity };

/// A dense network of any sizes, trained by plain SGD with the update folded into the
/// gradient product (W −= η/n δ aᵀ, no dW buffer). Buffers are sized once for one batch size.
class PlainMlp {
public:
    /// Copies the weights of `net` (so both start alike) and takes one activation per layer.
    template <class Net>
    PlainMlp(const Net& net, std::vector<Act> acts, Eigen::Index batch) : m_acts(std::move(acts)) {
        net.for_each_layer([&](const auto& layer, auto) {
            m_w.emplace_back(layer.weights());
            m_b.emplace_back(layer.bias());
            m_z.emplace_back(layer.outputs(), batch);
            m_a.emplace_back(layer.outputs(), batch);
            m_d.emplace_back(layer.outputs(), batch);
        });
    }

    /// The output of the last forward pass.
    const Eigen::MatrixXf& output() const { return m_a.back(); }

    /// z = W a + b, a = σ(z), layer by layer.
    template <class X>
    void forward(const Eigen::MatrixBase<X>& x) {
        for (std::size_t l = 0; l < m_w.size(); ++l) {
            if (l == 0)
                m_z[l].noalias() = m_w[l] * x;
            else
                m_z[l].noalias() = m_w[l] * m_a[l - 1];
            m_z[l].colwise() += m_b[l];
            switch (m_acts[l]) {
            case Act::relu: m_a[l] = m_z[l].cwiseMax(0.0f); break;
            case Act::identity: m_a[l] = m_z[l]; break;
            case Act::softmax:
                m_a[l].resize(m_z[l].rows(), m_z[l].cols());  // a no-op but for the test set
                for (Eigen::Index j = 0; j < m_z[l].cols(); ++j) {
                    const float top = m_z[l].col(j).maxCoeff();
                    m_a[l].col(j) = (m_z[l].col(j).array() - top).exp().matrix();
                    m_a[l].col(j) /= m_a[l].col(j).sum();
                }
                break;
            }
        }
    }

    /// Forward, backward and update on one batch: softmax + cross-entropy (δᴸ = a − y) or
    /// identity + squared error (δᴸ = 2(a − y)), ReLU below.
    template <class X, class Y>
    void step(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y, float eta) {
        forward(x);
        const std::size_t last = m_w.size() - 1;
        const float scale = m_acts[last] == Act::softmax ? 1.0f : 2.0f;
        m_d[last] = scale * (m_a[last] - y);
        g_sink += m_d[last](0, 0);
        const float rate = eta / float(x.cols());
        for (std::size_t l = last + 1; l-- > 0;) {
            if (l > 0) {  // δˡ⁻¹ from Wˡ before Wˡ changes
                m_d[l - 1].noalias() = m_w[l].transpose() * m_d[l];
                m_d[l - 1] = (m_z[l - 1].array() > 0.0f).select(m_d[l - 1], 0.0f);
                m_w[l].noalias() -= rate * m_d[l] * m_a[l - 1].transpose();
            } else {
                m_w[l].noalias() -= rate * m_d[l] * x.transpose();
            }
            m_b[l] -= rate * m_d[l].rowwise().sum();
        }
    }

private:
    std::vector<Act> m_acts;
    std::vector<Eigen::MatrixXf> m_w, m_z, m_a, m_d;
    std::vector<Eigen::VectorXf> m_b;
};

/// The W3 step written out for sizes I-H-O (fixed or Eigen::Dynamic): sigmoid layers, squared
/// error, one sample.
template <int I, int H, int O>
class PlainW3 {
public:
    /// Copies the weights of `net`.
    template <class Net>
    explicit PlainW3(const Net& net)
        : m_w1(net.template layer<0>().weights()), m_b1(net.template layer<0>().bias()),
          m_w2(net.template layer<1>().weights()), m_b2(net.template layer<1>().bias()),
          m_a1(3), m_d1(3), m_a2(2), m_d2(2) {}

    /// Forward, backward and the SGD update on one sample.
    template <class X, class Y>
    void step(const X& x, const Y& y, float eta) {
        m_a1 = ((-(m_w1 * x + m_b1)).array().exp() + 1).inverse().matrix();
        m_a2 = ((-(m_w2 * m_a1 + m_b2)).array().exp() + 1).inverse().matrix();
        m_d2 = (2 * (m_a2 - y).array() * m_a2.array() * (1 - m_a2.array())).matrix();
        m_d1 = ((m_w2.transpose() * m_d2).array() * m_a1.array() * (1 - m_a1.array())).matrix();
        m_w2.noalias() -= eta * m_d2 * m_a1.transpose();
        m_b2 -= eta * m_d2;
        m_w1.noalias() -= eta * m_d1 * x.transpose();
        m_b1 -= eta * m_d1;
        g_sink += m_d2(0);
    }

private:
    Eigen::Matrix<float, H, I> m_w1;
    Eigen::Matrix<float, H, 1> m_b1;
    Eigen::Matrix<float, O, H> m_w2;
    Eigen::Matrix<float, O, 1> m_b2;
    Eigen::Matrix<float, H, 1> m_a1, m_d1;
    Eigen::Matrix<float, O, 1> m_a2, m_d2;
};

// ---------------------------------------------------------------------------------------------
// The workloads

/// nabla's plain SGD step as a user writes it: net.train_step on one thread, a DataParallel's
/// train_step on more.
template <class Net>
class TrainStep {
public:
    using Scalar = typename Net::Scalar;  ///< float, or double for "nabla-double".

    /// Steps on `threads` threads.
    explicit TrainStep(int threads) : m_parallel(threads) {}

    /// One step on the batch x, y; returns its cost.
    template <class X, class Y>
    Scalar operator()(Net& net, const X& x, const Y& y, Scalar learning_rate) {
        if (m_parallel.threads() == 1) return net.train_step(x, y, m_ws, learning_rate);
        return m_parallel.train_step(net, x, y, learning_rate);
    }

private:
    typename Net::template Workspace<> m_ws;
    DataParallel<Net> m_parallel;
};

/// nabla's W1 step in `Net`'s scalar type, on data cast to it once, before the clock runs.
template <class Net>
void train_w1(const Options& options, const W1Data& data, long long steps, Result& result) {
    using Scalar = typename Net::Scalar;
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
    const Matrix train_x = data.train_x.cast<Scalar>();
    const Matrix train_y = data.train_y.cast<Scalar>();
    Net net(w1_sizes, 1);
    TrainStep<Net> step(options.threads);
    long long done = 0;
    const Stopwatch clock;
    while (done < steps) {
        g_sink += float(step(net, train_x.middleCols(done * w1_batch, w1_batch),
                             train_y.middleCols(done * w1_batch, w1_batch),
                             Scalar(w1_learning_rate)));
        ++done;
        if (clock.seconds() > options.seconds) break;
    }
    result.seconds = clock.seconds();
    typename Net::template Workspace<> test;
    result.accuracy =
        accuracy(net.forward(data.test_x.cast<Scalar>(), test), data.test_labels);
    result.steps = done;
}

/// W1: one epoch (or what the budget allows) of batches of 64 in order, then test accuracy.
Result run_w1(const Options& options, Result result) {
    const W1Data data = load_w1(options.data);
    const long long steps = w1_steps(options, data);
    W1Net net(w1_sizes, 1);
    const auto x = [&](long long k) { return data.train_x.middleCols(k * w1_batch, w1_batch); };
    const auto y = [&](long long k) { return data.train_y.middleCols(k * w1_batch, w1_batch); };
    long long done = 0;
    if (result.variant == "nabla-double") {
        train_w1<W1DoubleNet>(options, data, steps, result);
        done = result.steps;
    } else if (result.system == "plain") {
        PlainMlp plain(net, {Act::relu, Act::relu, Act::softmax}, w1_batch);
        const Stopwatch clock;
        while (done < steps) {
            plain.step(x(done), y(done), w1_learning_rate);
            ++done;
            if (clock.seconds() > options.seconds) break;
        }
        result.seconds = clock.seconds();
        PlainMlp test = plain;
        test.forward(data.test_x);  // the buffers take the test set's size
        result.accuracy = accuracy(test.output(), data.test_labels);
    } else {
        TrainStep<W1Net> step(options.threads);
        const Stopwatch clock;
        while (done < steps) {
            g_sink += step(net, x(done), y(done), w1_learning_rate);
            ++done;
            if (clock.seconds() > options.seconds) break;
        }
        result.seconds = clock.seconds();
        W1Net::Workspace<> test;
        result.accuracy = accuracy(net.forward(data.test_x, test), data.test_labels);
    }
    result.steps = done;
    result.samples = done * w1_batch;
    result.epoch_fraction = double(done) / double(data.batches());
    result.data = data.source;
    return result;
}

/// Runs `step(k)` (k = the step's index) a few times untimed, then until the budget or the step
/// limit, checking the clock every `chunk` steps; fills the timing fields.
template <class Step>
void time_steps(const Options& options, long long warmup, long long chunk, long long batch,
                Step step, Result& result) {
    for (long long k = 0; k < warmup; ++k) step(k);
    const long long limit = options.max_steps > 0 ? options.max_steps : -1;
    long long done = 0;
    const Stopwatch clock;
    for (;;) {
        for (long long k = 0; k < chunk && done != limit; ++k) step(done++);
        if (done == limit || clock.seconds() > options.seconds) break;
    }
    result.seconds = clock.seconds();
    result.steps = done;
    result.samples = done * batch;
}

/// W2: three 1024-wide layers, batch 256, random data (four batches in turn).
Result run_w2(const Options& options, Result result) {
    constexpr long long batches = 4;
    const RandomClassification in = random_classification(1024, 1024, w2_batch * batches, 2);
    const Eigen::MatrixXf targets = random_matrix(1024, w2_batch * batches, 3);
    const auto x = [&](long long k) { return in.x.middleCols((k % batches) * w2_batch, w2_batch); };
    const auto y = [&](long long k) {
        return targets.middleCols((k % batches) * w2_batch, w2_batch);
    };
    W2Net net(w2_sizes, 2);
    if (result.variant == "nabla-double") {
        const Eigen::MatrixXd in_x = in.x.cast<double>();
        const Eigen::MatrixXd in_y = targets.cast<double>();
        W2DoubleNet wide(w2_sizes, 2);
        TrainStep<W2DoubleNet> step(options.threads);
        time_steps(options, 2, 1, w2_batch, [&](long long k) {
            const Eigen::Index first = (k % batches) * w2_batch;
            g_sink += float(step(wide, in_x.middleCols(first, w2_batch),
                                 in_y.middleCols(first, w2_batch), double(w2_learning_rate)));
        }, result);
    } else if (result.system == "plain") {
        PlainMlp plain(net, {Act::relu, Act::relu, Act::identity}, w2_batch);
        time_steps(options, 2, 1, w2_batch,
                   [&](long long k) { plain.step(x(k), y(k), w2_learning_rate); }, result);
    } else {
        TrainStep<W2Net> step(options.threads);
        time_steps(options, 2, 1, w2_batch, [&](long long k) {
            g_sink += step(net, x(k), y(k), w2_learning_rate);
        }, result);
    }
    result.data = "random";
    return result;
}

/// W3 on 16 random samples in turn, with the sizes fixed (`Rows` 2) or run-time (Dynamic).
template <int Rows, class Train>
void run_w3_on(const Options& options, Train train, Result& result) {
    const Eigen::Matrix<float, Rows, Eigen::Dynamic> x = random_matrix(2, 16, 4).cwiseAbs();
    const Eigen::Matrix<float, Rows, Eigen::Dynamic> y = random_matrix(2, 16, 5).cwiseAbs();
    time_steps(options, 4096, 4096, 1,
               [&](long long k) { train(x.col(k & 15), y.col(k & 15)); }, result);
    result.data = "random";
}

/// W3: the [2,3,2] sigmoid network, one sample per step.
Result run_w3(const Options& options, Result result) {
    const std::string& v = result.variant;
    if (v == "fixed" || v == "plain-fixed") {
        W3FixedNet net(w3_sizes, 3);
        if (v == "fixed") {
            W3FixedNet::Workspace<1> ws;
            run_w3_on<2>(options, [&](const auto& x, const auto& y) {
                g_sink += net.train_step(x, y, ws, w3_learning_rate);
            }, result);
        } else {
            PlainW3<2, 3, 2> plain(net);
            run_w3_on<2>(options, [&](const auto& x, const auto& y) {
                plain.step(x, y, w3_learning_rate);
            }, result);
        }
    } else {
        W3DynamicNet net(w3_sizes, 3);
        if (v == "dynamic") {
            W3DynamicNet::Workspace<> ws;
            run_w3_on<Eigen::Dynamic>(options, [&](const auto& x, const auto& y) {
                g_sink += net.train_step(x, y, ws, w3_learning_rate);
            }, result);
        } else {
            constexpr int D = Eigen::Dynamic;
            PlainW3<D, D, D> plain(net);
            run_w3_on<D>(options, [&](const auto& x, const auto& y) {
                plain.step(x, y, w3_learning_rate);
            }, result);
        }
    }
    return result;
}

}  // namespace

/// Runs the workload the command line names and prints its RESULT line.
int main(int argc, char** argv) {
    Options options = parse_options(argc, argv);
    const bool w3 = options.workload == "W3";
    if (options.variant.empty()) options.variant = w3 ? "dynamic" : "nabla";
    const std::vector<std::string> allowed =
        w3 ? std::vector<std::string>{"fixed", "dynamic", "plain-fixed", "plain-dynamic"}
           : std::vector<std::string>{"nabla", "nabla-double", "plain"};
    bool known = false;
    for (const std::string& name : allowed) known = known || name == options.variant;
    if (!known) usage(argv[0], "--variant '" + options.variant + "' does not fit " +
                                   options.workload);

    Result result;
    result.system = options.variant.compare(0, 5, "plain") == 0 ? "plain" : "nabla";
    result.variant = options.variant;
    result.workload = options.workload;
    result.threads = options.threads;
    try {
        result.threads_used = apply_threads(options.threads);
        // As fit() does: subnormal numbers cost 10-100 times as much and no result needs them.
        const FlushDenormals flush;
        if (options.workload == "W1") result = run_w1(options, result);
        if (options.workload == "W2") result = run_w2(options, result);
        if (w3) result = run_w3(options, result);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_nabla: %s\n", e.what());
        return 1;
    }
    if (result.steps == 0) {
        std::fprintf(stderr, "compare_nabla: no step ran\n");
        return 1;
    }
    std::fprintf(stderr, "(sink %g)\n", double(g_sink));
    result.print();
    return 0;
}
