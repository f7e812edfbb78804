// FANN's runner for the side-by-side comparison (README.md): trains one workload of
// workloads.hpp with FANN 2.2 (float build) and prints one RESULT line. Flags as every runner
// (compare_common.hpp); FANN has no threads, so --threads above 1 is refused.
//
// What FANN offers decides the details: mini-batches are FANN_TRAIN_BATCH epochs over a data
// set of one batch each (FANN then updates once with the mean gradient); FANN 2.2 has no ReLU
// nor softmax, so hidden layers use FANN_LINEAR_PIECE (z clamped to [0, 1], the same cost per
// neuron as ReLU) and W1's output a sigmoid, all trained against squared error (FANN's linear
// error function). W3 uses fann_train, one sample per update. The speed compares; W1's
// accuracy is FANN's, from a different loss.

#include "compare_common.hpp"

#include <floatfann.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace nabla::compare;
namespace bench = nabla::bench;

/// Frees a FANN network.
struct AnnDeleter {
    void operator()(fann* ann) const { fann_destroy(ann); }
};
/// Frees a FANN data set.
struct DataDeleter {
    void operator()(fann_train_data* data) const { fann_destroy_train(data); }
};
using AnnPtr = std::unique_ptr<fann, AnnDeleter>;
using DataPtr = std::unique_ptr<fann_train_data, DataDeleter>;

/// A network of `sizes` trained by plain batch backpropagation at `rate`, squared error.
AnnPtr make_ann(const std::vector<unsigned>& sizes, fann_activationfunc_enum hidden,
                fann_activationfunc_enum output, float rate, fann_train_enum algorithm) {
    std::srand(1);  // FANN draws its initial weights with rand()
    AnnPtr ann(fann_create_standard_array(unsigned(sizes.size()), sizes.data()));
    if (!ann) throw std::runtime_error("fann_create_standard_array failed");
    fann_set_activation_function_hidden(ann.get(), hidden);
    fann_set_activation_function_output(ann.get(), output);
    fann_set_training_algorithm(ann.get(), algorithm);
    fann_set_train_error_function(ann.get(), FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann.get(), rate);
    return ann;
}

/// Columns [first, first + count) of x and y as a FANN data set.
DataPtr make_data(const Eigen::MatrixXf& x, const Eigen::MatrixXf& y, Eigen::Index first,
                  Eigen::Index count) {
    DataPtr data(fann_create_train(unsigned(count), unsigned(x.rows()), unsigned(y.rows())));
    if (!data) throw std::runtime_error("fann_create_train failed");
    for (Eigen::Index k = 0; k < count; ++k) {
        Eigen::Map<Eigen::VectorXf>(data->input[k], x.rows()) = x.col(first + k);
        Eigen::Map<Eigen::VectorXf>(data->output[k], y.rows()) = y.col(first + k);
    }
    return data;
}

/// One FANN_TRAIN_BATCH epoch per batch, batch after batch (wrapping), until the budget or
/// `limit` batches (-1: none); fills the timing fields.
void train_batches(fann* ann, const std::vector<DataPtr>& batches, long long batch,
                   long long limit, double budget, long long warmup, Result& result) {
    for (long long k = 0; k < warmup; ++k)
        fann_train_epoch(ann, batches[std::size_t(k) % batches.size()].get());
    long long done = 0;
    const Stopwatch clock;
    while (done != limit) {
        fann_train_epoch(ann, batches[std::size_t(done++) % batches.size()].get());
        if (clock.seconds() > budget) break;
    }
    result.seconds = clock.seconds();
    result.steps = done;
    result.samples = done * batch;
}

/// W1: 784-256-128-10 in batches of 64 in order, one epoch or what the budget allows.
void run_w1(const Options& options, Result& result) {
    const W1Data data = load_w1(options.data);
    const long long steps = w1_steps(options, data);
    std::vector<DataPtr> batches;
    for (long long k = 0; k < steps; ++k)
        batches.push_back(make_data(data.train_x, data.train_y, k * bench::w1_batch,
                                    bench::w1_batch));
    AnnPtr ann = make_ann({784, 256, 128, 10}, FANN_LINEAR_PIECE, FANN_SIGMOID,
                          bench::w1_learning_rate, FANN_TRAIN_BATCH);
    train_batches(ann.get(), batches, bench::w1_batch, steps, options.seconds, 0, result);
    result.epoch_fraction = double(result.steps) / double(data.batches());
    long long hits = 0;
    Eigen::VectorXf input(784);
    for (Eigen::Index k = 0; k < data.test_x.cols(); ++k) {
        input = data.test_x.col(k);
        const fann_type* out = fann_run(ann.get(), input.data());
        Eigen::Index best = 0;
        Eigen::Map<const Eigen::VectorXf>(out, 10).maxCoeff(&best);
        hits += best == data.test_labels[std::size_t(k)];
    }
    result.accuracy = double(hits) / double(data.test_x.cols());
    result.data = data.source;
}

/// W2: three 1024-wide layers, identity output, batch 256, random data.
void run_w2(const Options& options, Result& result) {
    const Eigen::Index batch = bench::w2_batch;
    const Eigen::MatrixXf x = bench::random_classification(1024, 1024, 4 * batch, 2).x;
    const Eigen::MatrixXf y = bench::random_matrix(1024, 4 * batch, 3);
    std::vector<DataPtr> batches;
    for (Eigen::Index k = 0; k < 4; ++k) batches.push_back(make_data(x, y, k * batch, batch));
    AnnPtr ann = make_ann({1024, 1024, 1024, 1024}, FANN_LINEAR_PIECE, FANN_LINEAR,
                          bench::w2_learning_rate, FANN_TRAIN_BATCH);
    train_batches(ann.get(), batches, batch, options.max_steps, options.seconds, 1, result);
    result.data = "random";
}

/// W3: [2,3,2] sigmoid, one sample per update (fann_train), chunks of 4096 steps.
void run_w3(const Options& options, Result& result) {
    const Eigen::MatrixXf x = bench::random_matrix(2, 16, 4).cwiseAbs();
    const Eigen::MatrixXf y = bench::random_matrix(2, 16, 5).cwiseAbs();
    AnnPtr ann = make_ann({2, 3, 2}, FANN_SIGMOID, FANN_SIGMOID, bench::w3_learning_rate,
                          FANN_TRAIN_INCREMENTAL);
    // fann_train takes non-const pointers; it reads them only.
    Eigen::MatrixXf xs = x, ys = y;
    const auto step = [&](long long k) {
        fann_train(ann.get(), xs.col(k & 15).data(), ys.col(k & 15).data());
    };
    for (long long k = 0; k < 4096; ++k) step(k);
    const long long limit = options.max_steps > 0 ? options.max_steps : -1;
    long long done = 0;
    const Stopwatch clock;
    for (;;) {
        for (int k = 0; k < 4096 && done != limit; ++k) step(done++);
        if (done == limit || clock.seconds() > options.seconds) break;
    }
    result.seconds = clock.seconds();
    result.steps = done;
    result.samples = done;
    result.data = "random";
}

}  // namespace

/// Runs the workload the command line names and prints its RESULT line.
int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);
    if (options.threads != 1) usage(argv[0], "FANN runs on one thread only");
    Result result;
    result.system = "fann";
    result.variant = "float";
    result.workload = options.workload;
    try {
        if (options.workload == "W1") run_w1(options, result);
        if (options.workload == "W2") run_w2(options, result);
        if (options.workload == "W3") run_w3(options, result);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "compare_fann: %s\n", e.what());
        return 1;
    }
    if (result.steps == 0) {
        std::fprintf(stderr, "compare_fann: no step ran\n");
        return 1;
    }
    result.note = "hidden FANN_LINEAR_PIECE, squared error";
    result.print();
    return 0;
}
