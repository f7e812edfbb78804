#pragma once

// What the C++ runners of the side-by-side comparison share: the command line, the clock, the
// W1 data (read with nabla's loader for every system, so all train on the same images in the
// same order) and the one result line each run prints for compare.py.
//
// Every runner takes the same flags:
//   --workload W1|W2|W3   which workload (workloads.hpp)
//   --threads N           threads the system may use (default 1)
//   --seconds S           time budget of the timed part (default 10)
//   --max-steps N         at most N timed steps (default: W1 one epoch, else no limit)
//   --data DIR            Fashion-MNIST directory (W1)
//   --variant NAME        runner-specific (nabla: fixed or dynamic sizes for W3, or "plain")
// and prints, on success, one line "RESULT {json}" on stdout and exits 0.

#include "../workloads.hpp"

#include <nabla/nabla.hpp>

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace nabla::compare {

/// The options every runner accepts.
struct Options {
    std::string workload = "W1";  ///< W1, W2 or W3.
    int threads = 1;              ///< Threads the system may use.
    double seconds = 10;          ///< Time budget of the timed part.
    long long max_steps = -1;     ///< At most this many timed steps; -1: the workload's default.
    std::string data = fashion_mnist_default_dir;  ///< Where Fashion-MNIST lives.
    std::string variant;          ///< Runner-specific.
};

/// Prints "<program>: <message>" and exits with status 2 (a usage error).
[[noreturn]] inline void usage(const char* program, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
    std::exit(2);
}

/// Parses the flags above; exits with status 2 on anything else.
inline Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) usage(argv[0], flag + " needs a value");
        const std::string value = argv[++i];
        char* end = nullptr;
        if (flag == "--workload") {
            options.workload = value;
            if (value != "W1" && value != "W2" && value != "W3")
                usage(argv[0], "--workload '" + value + "': expected W1, W2 or W3");
        } else if (flag == "--threads") {
            options.threads = int(std::strtol(value.c_str(), &end, 10));
            if (*end || options.threads < 1) usage(argv[0], "--threads '" + value + "'");
        } else if (flag == "--seconds") {
            options.seconds = std::strtod(value.c_str(), &end);
            if (*end || !(options.seconds > 0)) usage(argv[0], "--seconds '" + value + "'");
        } else if (flag == "--max-steps") {
            options.max_steps = std::strtoll(value.c_str(), &end, 10);
            if (*end || options.max_steps < 1) usage(argv[0], "--max-steps '" + value + "'");
        } else if (flag == "--data") {
            options.data = value;
        } else if (flag == "--variant") {
            options.variant = value;
        } else {
            usage(argv[0], "unknown flag '" + flag + "'");
        }
    }
    return options;
}

/// Seconds since construction, on the monotonic clock.
class Stopwatch {
public:
    /// Starts the clock.
    Stopwatch() : m_start(std::chrono::steady_clock::now()) {}
    /// Seconds since construction.
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    }

private:
    std::chrono::steady_clock::time_point m_start;
};

/// The peak resident set size of this process so far, in MiB.
inline double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// W1's data: the training images in order and the test set, pixels in [0, 1], one per column.
struct W1Data {
    Eigen::MatrixXf train_x;        ///< 784 × 60000.
    Eigen::MatrixXf train_y;        ///< 10 × 60000, one-hot.
    std::vector<int> train_labels;  ///< 60000 labels.
    Eigen::MatrixXf test_x;         ///< 784 × 10000.
    std::vector<int> test_labels;   ///< 10000 labels.
    std::string source;             ///< "fashion-mnist" or "random".
    /// Whole batches of w1_batch in one epoch: 937 for 60000 images.
    Eigen::Index batches() const { return train_x.cols() / bench::w1_batch; }
};

/// Fashion-MNIST from `dir` when it is there, else random images with random labels of the
/// same shape (the accuracy then means nothing, which the result's "data" field says).
inline W1Data load_w1(const std::string& dir) {
    W1Data data;
    if (fashion_mnist_available(dir)) {
        FashionMnist<float> set = load_fashion_mnist<float>(dir);
        data.train_x = std::move(set.train_images);
        data.train_labels = std::move(set.train_labels);
        data.test_x = std::move(set.test_images);
        data.test_labels = std::move(set.test_labels);
        data.source = "fashion-mnist";
    } else {
        auto labels_of = [](const Eigen::MatrixXf& y) {
            std::vector<int> labels(std::size_t(y.cols()));
            for (Eigen::Index k = 0; k < y.cols(); ++k) {
                Eigen::Index row = 0;
                y.col(k).maxCoeff(&row);
                labels[std::size_t(k)] = int(row);
            }
            return labels;
        };
        bench::RandomClassification train = bench::random_classification(784, 10, 60000, 11);
        bench::RandomClassification test = bench::random_classification(784, 10, 10000, 12);
        data.train_x = std::move(train.x);
        data.train_labels = labels_of(train.y);
        data.test_x = std::move(test.x);
        data.test_labels = labels_of(test.y);
        data.source = "random";
    }
    data.train_y = one_hot<float>(data.train_labels, 10);
    return data;
}

/// The number of timed steps a W1 run may take: one epoch, or fewer when --max-steps says so.
inline long long w1_steps(const Options& options, const W1Data& data) {
    const long long epoch = data.batches();
    return options.max_steps > 0 && options.max_steps < epoch ? options.max_steps : epoch;
}

/// The result line: what ran and how fast, as one JSON object after "RESULT ".
struct Result {
    std::string system;          ///< "nabla", "plain", "tiny-dnn", "fann".
    std::string variant;         ///< e.g. "fixed" or "dynamic" for W3.
    std::string workload;        ///< W1, W2, W3.
    int threads = 1;             ///< Threads asked for.
    int threads_used = 1;        ///< Threads the system reports it uses.
    long long steps = 0;         ///< Timed steps.
    long long samples = 0;       ///< Timed samples.
    double seconds = 0;          ///< Timed wall-clock seconds.
    double epoch_fraction = -1;  ///< W1: the part of the epoch trained.
    double accuracy = -1;        ///< W1: test accuracy after training, in [0, 1].
    std::string data;            ///< W1: where the images came from.
    std::string note;            ///< Anything the table should say about this system.

    /// Prints "RESULT {...}" on stdout.
    void print() const {
        std::printf("RESULT {\"system\": \"%s\", \"variant\": \"%s\", \"workload\": \"%s\", "
                    "\"threads\": %d, \"threads_used\": %d, \"steps\": %lld, \"samples\": %lld, "
                    "\"seconds\": %.6f, \"samples_per_s\": %.3f, \"ns_per_step\": %.3f, "
                    "\"epoch_fraction\": %.6f, \"accuracy\": %.6f, \"data\": \"%s\", "
                    "\"peak_rss_mib\": %.1f, \"note\": \"%s\"}\n",
                    system.c_str(), variant.c_str(), workload.c_str(), threads, threads_used,
                    steps, samples, seconds, double(samples) / seconds,
                    seconds * 1e9 / double(steps), epoch_fraction, accuracy, data.c_str(),
                    peak_rss_mib(), note.c_str());
        std::fflush(stdout);
    }
};

}  // namespace nabla::compare
