// Hot paths allocate nothing (STYLE.md point 5): training steps, forward passes and train()
// epochs, for fixed and dynamic networks. allocation_counter.hpp explains how it is counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "allocation_checks.hpp"
#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <vector>

namespace {

using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::random_matrix;
constexpr int dynamic = Eigen::Dynamic;

using nabla_test::same_parameters;

/// After one backward + update of a batch (which sizes the workspace), every later pass on a
/// batch of the same size must allocate nothing: run_backward + update, train_step (which reads
/// x in place and adds large layers' steps straight into W), forward, loss with a workspace,
/// input_gradient.
template <class Net, class X, class Y>
void check_steady_state_allocates_nothing(Net& net, const X& x, const Y& y) {
    using Scalar = typename Net::Scalar;
    const Scalar eta = Scalar(0.05);
    typename Net::template Workspace<> ws;
    net.backward(x, y, ws);
    net.update(ws, eta);
    net.input_gradient(ws);  // its buffer is sized on first use
    const Net before = net;

    Scalar first_cost = 0;
    Scalar last_cost = 0;
    const Counts steps = count_allocations([&] {
        first_cost = net.run_backward(ws, y);
        net.update(ws, eta);
        for (int step = 0; step < 200; ++step) {
            last_cost = net.run_backward(ws, y);
            net.update(ws, eta);
        }
    });
    CHECK(steps.new_calls == 0);
    CHECK(steps.eigen_mallocs == 0);
    // The steps really trained: the measured region did the work it claims.
    CHECK(last_cost < first_cost);
    CHECK_FALSE(same_parameters(net, before));

    const Counts others = count_allocations([&] {
        net.backward(x, y, ws);
        net.input_gradient(ws);
        net.update(ws, eta);
        net.train_step(x, y, ws, eta);
        net.loss(x, y, ws);
        net.run_forward(ws);
    });
    CHECK(others.new_calls == 0);
    CHECK(others.eigen_mallocs == 0);

    // forward on a fresh workspace: the first call sizes it, later ones allocate nothing.
    typename Net::template Workspace<> predict_ws;
    const typename Net::OutputBatch first = net.forward(x, predict_ws);
    Scalar sum = 0;
    const Counts forwards = count_allocations([&] {
        for (int pass = 0; pass < 100; ++pass) sum += net.forward(x, predict_ws).sum();
    });
    CHECK(forwards.total() == 0);
    CHECK(sum == sum);  // keeps the passes observable
    CHECK(net.forward(x, predict_ws) == first);

    // Positive control: a batch of another size must resize, and the count must see it.
    const X wider = X::Zero(x.rows(), x.cols() + 1);
    const Counts resized = count_allocations([&] { net.forward(wider, predict_ws); });
    CHECK(resized.eigen_mallocs > 0);
}

}  // namespace

TEST_CASE("allocations: the counters see operator new and Eigen's heap", "[allocations]") {
    const Counts raw = count_allocations([] {
        // Called as functions, not as new-expressions, so the compiler may not elide them.
        void* p = ::operator new(24);
        ::operator delete(p);
    });
    CHECK(raw.new_calls == 1);
    CHECK(raw.eigen_mallocs == 0);

    Eigen::MatrixXd m;
    const Counts eigen = count_allocations([&] { m.resize(7, 5); });
    CHECK(eigen.eigen_mallocs == 1);
    CHECK(eigen.new_calls == 0);
    const Counts same_size = count_allocations([&] { m.resize(5, 7); });  // same element count
    CHECK(same_size.total() == 0);

    nabla::DynamicNetwork<double, nabla::HalfSquaredError> net({3, 4, 2},
                                                              {nabla::Tanh{}, nabla::Identity{}});
    const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 2);
    const Counts predict = count_allocations([&] { net.predict(x); });  // a workspace per call
    CHECK(predict.new_calls > 0);
    CHECK(predict.eigen_mallocs > 0);
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: a fixed [2,3,2] net with Workspace<1> never touches the heap",
          "[allocations]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                               nabla::Dense<double, 3, 2, nabla::Sigmoid>>;
    Eigen::Matrix<double, 2, 4> xs;
    xs << 0, 0, 1, 1,
          0, 1, 0, 1;
    Eigen::Matrix<double, 2, 4> ys;
    ys << 0, 1, 1, 0,
          1, 0, 0, 1;

    double first_epoch = 0;
    double last_epoch = 0;
    Eigen::Matrix<double, 3, 2> w1;
    Eigen::Matrix<double, 2, 3> w2;
    const Counts counts = count_allocations([&] {
        Net net(3);
        Net::Workspace<1> ws;
        for (int step = 0; step < 1000; ++step) {
            const Eigen::Index k = step % 4;
            const double cost = net.train_step(xs.col(k), ys.col(k), ws, 0.5);
            if (step < 4) first_epoch += cost;
            if (step >= 996) last_epoch += cost;
        }
        w1 = net.layer<0>().weights();
        w2 = net.layer<1>().weights();
    });
    CHECK(counts.new_calls == 0);
    CHECK(counts.eigen_mallocs == 0);
    CHECK(last_epoch < first_epoch);  // 1000 real steps were taken
    CHECK(w1.allFinite());
    CHECK(w2.allFinite());
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: repeated batches of one size allocate nothing", "[allocations]") {
    SECTION("fixed sizes, batch size chosen at run time") {
        using Net = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                                   nabla::Dense<double, 3, 2, nabla::Sigmoid>>;
        Net net(1);
        using X = Eigen::Matrix<double, 2, dynamic>;
        using Y = Eigen::Matrix<double, 2, dynamic>;
        const X x = random_matrix<X>(2, 8, 1);
        const Y y = random_matrix<Y>(2, 8, 2, 0.1, 0.9);
        check_steady_state_allocates_nothing(net, x, y);
    }
    SECTION("DynamicNetwork<float, CrossEntropy> 20-16-12-5, ReLU, Tanh, Softmax") {
        nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {20, 16, 12, 5}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Softmax{}}, 7);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 8, 3);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(5, 8);
        check_steady_state_allocates_nothing(net, x, y);
    }
    SECTION("static Network with Eigen::Dynamic sizes, float, CrossEntropy") {
        using Net = nabla::Network<nabla::CrossEntropy,
                                   nabla::Dense<float, dynamic, dynamic, nabla::ReLU>,
                                   nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                                   nabla::Dense<float, dynamic, dynamic, nabla::Softmax>>;
        Net net({20, 16, 12, 5}, 7);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 8, 3);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(5, 8);
        check_steady_state_allocates_nothing(net, x, y);
    }
    SECTION("DynamicNetwork<double, HalfSquaredError>, LeakyReLU, Sigmoid, Identity") {
        nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(
            {6, 9, 7, 3}, {nabla::LeakyReLU{0.1}, nabla::Sigmoid{}, nabla::Identity{}}, 4);
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(6, 8, 5);
        const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(3, 8, 6);
        check_steady_state_allocates_nothing(net, x, y);
    }
    SECTION("static Network with Eigen::Dynamic sizes, BinaryCrossEntropy") {
        using Net = nabla::Network<nabla::BinaryCrossEntropy,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Sigmoid>>;
        Net net({6, 10, 2}, 8);
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(6, 8, 9);
        const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 8, 10, 0, 1);
        check_steady_state_allocates_nothing(net, x, y);
    }
    SECTION("W1 of the benchmarks: 784-256-128-10 float, batch 64 (GEMM blocks beyond the stack)") {
        // Eigen's own product takes 2 packing buffers per step from the heap at these sizes
        // (test_allocations_gemm.cpp); the layers' products go through detail::gemm instead.
        nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {784, 256, 128, 10}, {nabla::ReLU{}, nabla::ReLU{}, nabla::Softmax{}}, 11);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(784, 64, 12);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(10, 64);
        check_steady_state_allocates_nothing(net, x, y);
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}

namespace {

/// Allocations of one train() call (setup included) on a fresh copy of `net`.
template <class Net, class X, class Y>
Counts train_allocations(const Net& net, const X& x, const Y& y, int epochs) {
    Net copy = net;
    nabla::TrainOptions options;
    options.epochs = epochs;
    options.batch_size = 8;  // 50 samples: six batches of 8 and a last one of 2
    options.learning_rate = 0.05;
    options.seed = 3;
    std::vector<double> losses;
    losses.reserve(64);  // so the returned vector's move is not what is measured
    const Counts counts = count_allocations([&] { losses = nabla::train(copy, x, y, options); });
    CHECK(losses.size() == static_cast<std::size_t>(epochs));
    return counts;
}

/// train() sizes its buffers before the first epoch: its allocations must not depend on the
/// number of epochs.
template <class Net, class X, class Y>
void check_train_allocations_flat(const Net& net, const X& x, const Y& y) {
    nabla_alloc_test::check_allocations_flat_in_epochs(
        [&](int epochs) { return train_allocations(net, x, y, epochs); });
}

}  // namespace

TEST_CASE("allocations: train() allocates as much for 20 epochs as for 1 or 2", "[allocations]") {
    SECTION("DynamicNetwork<float, CrossEntropy> 20-16-12-5") {
        nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {20, 16, 12, 5}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Softmax{}}, 7);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 50, 11);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(5, 50);
        check_train_allocations_flat(net, x, y);
    }
    SECTION("static Network with Eigen::Dynamic sizes") {
        using Net = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
        Net net({4, 6, 2}, 2);
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(4, 50, 12);
        const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 50, 13);
        check_train_allocations_flat(net, x, y);
    }
    SECTION("fixed sizes") {
        using Net = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                                   nabla::Dense<double, 3, 2, nabla::Sigmoid>>;
        Net net(5);
        using X = Eigen::Matrix<double, 2, dynamic>;
        const X x = random_matrix<X>(2, 50, 14);
        const X y = random_matrix<X>(2, 50, 15, 0, 1);
        check_train_allocations_flat(net, x, y);
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}
