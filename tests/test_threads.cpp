// One const network, several threads, one workspace each: the network holds parameters only and
// every pass writes into the caller's workspace, so concurrent predictions (and even concurrent
// backward passes, which are const too) must give exactly the single-threaded results. Batches of
// different sizes make each thread's workspace resize as it goes.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace test_threads {  // named for the unity build of nabla_tests

namespace {

using nabla_test::random_matrix;

constexpr int thread_count = 4;
constexpr int rounds = 25;  // each thread goes over every batch this many times

/// What one thread computes for one batch.
template <class Net>
struct Result {
    typename Net::OutputBatch forward;  // forward() into the thread's workspace
    typename Net::OutputBatch predict;  // predict(), a workspace per call
    double cost = 0;                    // backward() on the const network
    typename Net::InputBatch input_gradient;
};

template <class Net, class X, class Y>
Result<Net> compute(const Net& net, const X& x, const Y& y,
                    typename Net::template Workspace<>& ws) {
    Result<Net> result;
    result.forward = net.forward(x, ws);
    result.predict = net.predict(x);
    result.cost = double(net.backward(x, y, ws));
    result.input_gradient = net.input_gradient(ws);
    return result;
}

template <class Net>
bool same(const Result<Net>& a, const Result<Net>& b) {
    return a.forward == b.forward && a.predict == b.predict && a.cost == b.cost &&
           a.input_gradient == b.input_gradient;
}

/// Runs `thread_count` threads over all batches `rounds` times each, every thread starting at a
/// different batch, and checks every result against the single-threaded one.
template <class Net, class Matrix>
void check_threads_agree(const Net& net, const std::vector<Matrix>& xs,
                         const std::vector<Matrix>& ys) {
    std::vector<Result<Net>> expected;
    {
        typename Net::template Workspace<> ws;
        for (std::size_t b = 0; b < xs.size(); ++b)
            expected.push_back(compute(net, xs[b], ys[b], ws));
    }

    // mismatches[t] counts the results of thread t that differ from the single-threaded ones;
    // each thread writes its own slot only, and the main thread reads after join().
    std::vector<int> mismatches(thread_count, 0);
    std::vector<int> done(thread_count, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < thread_count; ++t) {
        threads.emplace_back([&, t] {
            typename Net::template Workspace<> ws;  // one per thread
            for (int round = 0; round < rounds; ++round) {
                for (std::size_t k = 0; k < xs.size(); ++k) {
                    const std::size_t b = (k + std::size_t(t) * 3) % xs.size();
                    if (!same(compute(net, xs[b], ys[b], ws), expected[b])) ++mismatches[t];
                    ++done[t];
                }
            }
        });
    }
    for (std::thread& thread : threads) thread.join();

    for (int t = 0; t < thread_count; ++t) {
        INFO("thread " << t);
        CHECK(done[t] == rounds * int(xs.size()));
        CHECK(mismatches[t] == 0);
    }
}

/// Batches of 1 to 17 samples, so workspaces resize between batches.
template <class Matrix>
void make_batches(Eigen::Index inputs, Eigen::Index outputs, std::vector<Matrix>& xs,
                  std::vector<Matrix>& ys) {
    for (int b = 0; b < 12; ++b) {
        const Eigen::Index batch = 1 + (b * 5) % 17;
        xs.push_back(random_matrix<Matrix>(inputs, batch, std::uint64_t(100 + b), -2, 2));
        ys.push_back(nabla_test::one_hot_targets<Matrix>(outputs, batch));
    }
}

}  // namespace

TEST_CASE("threads: a const DynamicNetwork 10-32-16-4 serves four threads", "[threads]") {
    const nabla::DynamicNetwork<double, nabla::CrossEntropy> net(
        {10, 32, 16, 4}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Softmax{}}, 17);
    std::vector<Eigen::MatrixXd> xs;
    std::vector<Eigen::MatrixXd> ys;
    make_batches(10, 4, xs, ys);
    check_threads_agree(net, xs, ys);
}

TEST_CASE("threads: a const DynamicNetwork in float serves four threads", "[threads]") {
    const nabla::DynamicNetwork<float, nabla::HalfSquaredError> net(
        {10, 32, 16, 4}, {nabla::LeakyReLU{0.2}, nabla::Sigmoid{}, nabla::Identity{}}, 18);
    std::vector<Eigen::MatrixXf> xs;
    std::vector<Eigen::MatrixXf> ys;
    make_batches(10, 4, xs, ys);
    check_threads_agree(net, xs, ys);
}

TEST_CASE("threads: a const static Network with fixed sizes serves four threads", "[threads]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 10, 32, nabla::Tanh>,
                               nabla::Dense<double, 32, 16, nabla::ReLU>,
                               nabla::Dense<double, 16, 4, nabla::Sigmoid>>;
    const Net net(19);
    std::vector<Eigen::MatrixXd> xs;
    std::vector<Eigen::MatrixXd> ys;
    make_batches(10, 4, xs, ys);
    check_threads_agree(net, xs, ys);
}

TEST_CASE("threads: a const static Network with Eigen::Dynamic sizes serves four threads",
          "[threads]") {
    constexpr int dynamic = Eigen::Dynamic;
    using Net = nabla::Network<nabla::CrossEntropy,
                               nabla::Dense<double, dynamic, dynamic, nabla::ReLU>,
                               nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                               nabla::Dense<double, dynamic, dynamic, nabla::Softmax>>;
    const Net net({10, 32, 16, 4}, 20);
    std::vector<Eigen::MatrixXd> xs;
    std::vector<Eigen::MatrixXd> ys;
    make_batches(10, 4, xs, ys);
    check_threads_agree(net, xs, ys);
}

}  // namespace test_threads
