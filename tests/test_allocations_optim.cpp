// Optimizer steps allocate nothing once their state is sized (STYLE.md point 5): every optimizer
// and setting, on a fixed-size network and on DynamicNetworks, one with blocks that the fused
// step loops walk in several segments. allocation_counter.hpp explains how it is counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/loss.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/rmsprop.hpp>
#include <nabla/optim/schedule.hpp>
#include <nabla/optim/sgd.hpp>

#include <Eigen/Core>

namespace {

using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::random_matrix;

/// The first step sizes the optimizer's state (and allocates, unless it keeps none); the 200
/// steps after it, each with a backward pass and a learning rate set from a schedule, allocate
/// nothing and lower the loss.
template <class Net, class Optimizer, class X, class Y>
void check_steps_allocate_nothing(const Net& start, Optimizer optimizer, const X& x, const Y& y,
                                  bool keeps_state) {
    Net net = start;
    typename Net::template Workspace<> ws;
    net.backward(x, y, ws);
    const Counts first = count_allocations([&] { optimizer.step(net, ws); });
    if (keeps_state) {
        CHECK(first.total() > 0);  // the counter sees the state being sized
    } else {
        CHECK(first.total() == 0);
    }

    const nabla::CosineAnnealing schedule(optimizer.learning_rate(), 400);
    using Scalar = typename Net::Scalar;
    Scalar first_cost = 0;
    Scalar last_cost = 0;
    const Counts steps = count_allocations([&] {
        for (int step = 0; step < 200; ++step) {
            optimizer.set_learning_rate(schedule(step));
            const Scalar cost = net.backward(x, y, ws);
            optimizer.step(net, ws);
            if (step == 0) first_cost = cost;
            last_cost = cost;
        }
    });
    CHECK(steps.new_calls == 0);
    CHECK(steps.eigen_mallocs == 0);
    CHECK(last_cost < first_cost);  // the measured steps did train
}

template <class Net, class X, class Y>
void check_every_optimizer(const Net& net, const X& x, const Y& y) {
    SECTION("Sgd") { check_steps_allocate_nothing(net, nabla::Sgd(0.1), x, y, false); }
    SECTION("Sgd, weight decay") {
        check_steps_allocate_nothing(net, nabla::Sgd(0.1, {0, false, 1e-3}), x, y, false);
    }
    SECTION("Sgd, momentum") {
        check_steps_allocate_nothing(net, nabla::Sgd(0.05, {0.9}), x, y, true);
    }
    SECTION("Sgd, momentum and weight decay") {
        check_steps_allocate_nothing(net, nabla::Sgd(0.05, {0.9, false, 1e-3}), x, y, true);
    }
    SECTION("Sgd, Nesterov and weight decay") {
        check_steps_allocate_nothing(net, nabla::Sgd(0.05, {0.9, true, 1e-3}), x, y, true);
    }
    SECTION("Adam") { check_steps_allocate_nothing(net, nabla::Adam(0.01), x, y, true); }
    SECTION("Adam, L2") {
        check_steps_allocate_nothing(net, nabla::Adam(0.01, {0.9, 0.999, 1e-8, 1e-3}), x, y,
                                     true);
    }
    SECTION("AdamW") { check_steps_allocate_nothing(net, nabla::AdamW(0.01), x, y, true); }
    SECTION("RmsProp") { check_steps_allocate_nothing(net, nabla::RmsProp(0.003), x, y, true); }
    SECTION("RmsProp, momentum") {
        check_steps_allocate_nothing(net, nabla::RmsProp(0.003, {0.99, 1e-8, 0.5}), x, y, true);
    }
    SECTION("RmsProp, centered") {
        check_steps_allocate_nothing(net, nabla::RmsProp(0.003, {0.99, 1e-8, 0, true}), x, y,
                                     true);
    }
    SECTION("RmsProp, centered, momentum and weight decay") {
        check_steps_allocate_nothing(net, nabla::RmsProp(0.003, {0.99, 1e-8, 0.5, true, 1e-3}),
                                     x, y, true);
    }
}

}  // namespace

TEST_CASE("allocations: optimizer steps on a fixed-size network allocate nothing",
          "[allocations][optimizers]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 3, 8, nabla::Tanh>,
                               nabla::Dense<double, 8, 2, nabla::Identity>>;
    using Batch = Eigen::Matrix<double, 3, 16>;
    using Targets = Eigen::Matrix<double, 2, 16>;
    const Net net(1);
    const Batch x = random_matrix<Batch>(3, 16, 2, -1, 1);
    const Targets y = random_matrix<Targets>(2, 16, 3, -1, 1);
    check_every_optimizer(net, x, y);
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: optimizer steps on a DynamicNetwork allocate nothing",
          "[allocations][optimizers]") {
    SECTION("double") {
        const nabla::DynamicNetwork<double, nabla::HalfSquaredError> net(
            {6, 10, 7, 3}, {nabla::ReLU{}, nabla::Sigmoid{}, nabla::Identity{}}, 4);
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(6, 16, 5, -1, 1);
        const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(3, 16, 6, -1, 1);
        check_every_optimizer(net, x, y);
    }
    SECTION("float, CrossEntropy") {
        const nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {8, 12, 4}, {nabla::Tanh{}, nabla::Softmax{}}, 7);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(8, 16, 8, -1, 1);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(4, 16);
        check_every_optimizer(net, x, y);
    }
    SECTION("float and double, blocks of several segments with SIMD tails") {
        // W of 45x37 = 1665 entries: three segments of the fused step loops and a tail in
        // float (512 each), six and a tail in double (256 each).
        const nabla::DynamicNetwork<float, nabla::HalfSquaredError> net_f(
            {37, 45, 3}, {nabla::Tanh{}, nabla::Identity{}}, 9);
        const Eigen::MatrixXf x_f = random_matrix<Eigen::MatrixXf>(37, 16, 10, -1, 1);
        const Eigen::MatrixXf y_f = random_matrix<Eigen::MatrixXf>(3, 16, 11, -1, 1);
        const nabla::DynamicNetwork<double, nabla::HalfSquaredError> net_d(
            {37, 45, 3}, {nabla::Tanh{}, nabla::Identity{}}, 9);
        const Eigen::MatrixXd x_d = x_f.cast<double>();
        const Eigen::MatrixXd y_d = y_f.cast<double>();
        SECTION("float") { check_every_optimizer(net_f, x_f, y_f); }
        SECTION("double") { check_every_optimizer(net_d, x_d, y_d); }
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}
