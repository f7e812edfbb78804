// tiny-dnn's runner for the side-by-side comparison (README.md): trains one workload of
// workloads.hpp with tiny-dnn's network<sequential> and its own fit(), and prints one RESULT
// line. Flags as every runner (compare_common.hpp). Built twice, both with its AVX kernels
// (CNN_USE_AVX): compare_tinydnn with CNN_SINGLE_THREAD for one thread, and
// compare_tinydnn_mt with tiny-dnn's default std::thread pool, which always starts
// hardware_concurrency() threads (2 here); --threads must say as much. (Its OpenMP build was
// measured too: 5 times slower on one thread, an OpenMP region per sample.)
//
// fit() takes whole data sets, so the samples are cut into chunks of a few batches up front and
// the public fit() is called once per chunk: the budget is checked between chunks. Repeated
// fit() calls keep the weights (reset_weights = false). fit() copies its vec_t samples into
// tensors on each call, as it does for any user: that is part of tiny-dnn's time.

#include "compare_common.hpp"

#include <tiny_dnn/tiny_dnn.h>

#include <thread>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace {

using namespace nabla::compare;
namespace bench = nabla::bench;
using tiny_dnn::float_t;
using tiny_dnn::vec_t;
template <class Act>
using Dense = tiny_dnn::fully_connected_layer<Act>;
namespace act = tiny_dnn::activation;

/// Samples cut into chunks of `chunk` samples: inputs and targets, one tensor per sample.
struct Chunks {
    std::vector<std::vector<vec_t>> x;  ///< x[c][k]: sample k of chunk c.
    std::vector<std::vector<vec_t>> y;  ///< targets alike.
};

/// Column k of `m` as one sample.
vec_t column(const Eigen::MatrixXf& m, Eigen::Index k) {
    return vec_t(m.col(k).data(), m.col(k).data() + m.rows());
}

/// The first `count` columns of x and y, `chunk` to a chunk.
Chunks make_chunks(const Eigen::MatrixXf& x, const Eigen::MatrixXf& y, Eigen::Index count,
                   Eigen::Index chunk) {
    Chunks chunks;
    for (Eigen::Index k = 0; k < count; ++k) {
        if (k % chunk == 0) {
            chunks.x.emplace_back();
            chunks.y.emplace_back();
        }
        chunks.x.back().push_back(column(x, k));
        chunks.y.back().push_back(column(y, k));
    }
    return chunks;
}

/// Trains chunk after chunk (wrapping) with `batch` samples per update until the budget or
/// `limit` chunks (-1: none); fills the timing fields.
template <class Loss, class Net>
void train_chunks(Net& net, Chunks& chunks, std::size_t batch, float rate, long long limit,
                  double budget, long long warmup, Result& result) {
    tiny_dnn::gradient_descent opt;
    opt.alpha = float_t(rate);
    const auto nothing = [] {};
    const auto fit = [&](long long c) {
        const std::size_t i = std::size_t(c) % chunks.x.size();
        net.template fit<Loss>(opt, chunks.x[i], chunks.y[i], batch, 1, nothing, nothing);
    };
    for (long long c = 0; c < warmup; ++c) fit(c);
    long long done = 0;
    long long samples = 0;
    const Stopwatch clock;
    while (done != limit) {
        samples += (long long)chunks.x[std::size_t(done) % chunks.x.size()].size();
        fit(done++);
        if (clock.seconds() > budget) break;
    }
    result.seconds = clock.seconds();
    result.samples = samples;
    result.steps = samples / (long long)batch;
}

/// W1: 784-256-128-10, ReLU, softmax + cross-entropy, batches of 64 in order, one epoch (or
/// what the budget allows), then test accuracy.
void run_w1(const Options& options, Result& result) {
    const W1Data data = load_w1(options.data);
    const long long steps = w1_steps(options, data);
    constexpr Eigen::Index batches_per_chunk = 10;
    Chunks chunks = make_chunks(data.train_x, data.train_y, steps * bench::w1_batch,
                                batches_per_chunk * bench::w1_batch);
    tiny_dnn::network<tiny_dnn::sequential> net;
    net << Dense<act::relu>(784, 256) << Dense<act::relu>(256, 128)
        << Dense<act::softmax>(128, 10);
    train_chunks<tiny_dnn::cross_entropy_multiclass>(
        net, chunks, bench::w1_batch, bench::w1_learning_rate, (long long)chunks.x.size(),
        options.seconds, 0, result);
    result.epoch_fraction = double(result.steps) / double(data.batches());
    std::vector<vec_t> test_x;
    std::vector<tiny_dnn::label_t> test_labels;
    for (Eigen::Index k = 0; k < data.test_x.cols(); ++k) {
        test_x.push_back(column(data.test_x, k));
        test_labels.push_back(tiny_dnn::label_t(data.test_labels[std::size_t(k)]));
    }
    const tiny_dnn::result test = net.test(test_x, test_labels);
    result.accuracy = double(test.num_success) / double(test.num_total);
    result.data = data.source;
}

/// W2: three 1024-wide layers, ReLU, identity output, MSE, batch 256, random data.
void run_w2(const Options& options, Result& result) {
    const Eigen::Index samples = 4 * bench::w2_batch;
    const Eigen::MatrixXf x = bench::random_classification(1024, 1024, samples, 2).x;
    const Eigen::MatrixXf y = bench::random_matrix(1024, samples, 3);
    Chunks chunks = make_chunks(x, y, samples, bench::w2_batch);
    tiny_dnn::network<tiny_dnn::sequential> net;
    net << Dense<act::relu>(1024, 1024) << Dense<act::relu>(1024, 1024)
        << Dense<act::identity>(1024, 1024);
    train_chunks<tiny_dnn::mse>(net, chunks, bench::w2_batch, bench::w2_learning_rate,
                                options.max_steps, options.seconds, 1, result);
    result.data = "random";
}

/// W3: [2,3,2] sigmoid, MSE, one sample per update.
void run_w3(const Options& options, Result& result) {
    const Eigen::MatrixXf x = bench::random_matrix(2, 16, 4).cwiseAbs();
    const Eigen::MatrixXf y = bench::random_matrix(2, 16, 5).cwiseAbs();
    Chunks chunks;
    for (int c = 0; c < 16; ++c) {  // chunks of 256 steps over the 16 samples
        chunks.x.emplace_back();
        chunks.y.emplace_back();
        for (int k = 0; k < 256; ++k) {
            chunks.x.back().push_back(column(x, k & 15));
            chunks.y.back().push_back(column(y, k & 15));
        }
    }
    tiny_dnn::network<tiny_dnn::sequential> net;
    net << Dense<act::sigmoid>(2, 3) << Dense<act::sigmoid>(3, 2);
    const long long limit = options.max_steps > 0 ? (options.max_steps + 255) / 256 : -1;
    train_chunks<tiny_dnn::mse>(net, chunks, 1, bench::w3_learning_rate, limit,
                                options.seconds, 4, result);
    result.data = "random";
}

}  // namespace

/// Runs the workload the command line names and prints its RESULT line.
int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    Result result;
    result.system = "tiny-dnn";
    result.workload = options.workload;
    result.threads = options.threads;
#ifdef CNN_SINGLE_THREAD
    result.variant = "avx";
    result.threads_used = 1;
#else
    result.variant = "avx";
    result.threads_used = int(std::thread::hardware_concurrency());
#endif
    if (options.threads != result.threads_used) {
        usage(argv[0], "this build runs on " + std::to_string(result.threads_used) +
                           " thread(s), not " + std::to_string(options.threads) +
                           (result.threads_used == 1 ? "; use compare_tinydnn_mt"
                                                     : "; use compare_tinydnn"));
    }
    try {
        if (options.workload == "W1") run_w1(options, result);
        if (options.workload == "W2") run_w2(options, result);
        if (options.workload == "W3") run_w3(options, result);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_tinydnn: %s\n", e.what());
        return 1;
    }
    if (result.steps == 0) {
        std::fprintf(stderr, "compare_tinydnn: no step ran\n");
        return 1;
    }
    result.print();
    return 0;
}
