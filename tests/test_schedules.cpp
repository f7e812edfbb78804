// Learning-rate schedules: each against its closed form computed here (by repeated
// multiplication and a direct cosine, not by the schedule's own expression), the settings that
// throw ConfigError, and a training loop that sets an optimizer's rate from a schedule every
// epoch, down to a rate of 0.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/loss.hpp>
#include <nabla/optim/schedule.hpp>
#include <nabla/optim/sgd.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>

namespace test_schedules {  // named for the unity build of nabla_tests

namespace {

using nabla_test::message_of;

bool close(double a, double b) { return std::abs(a - b) <= 1e-14 * std::abs(b); }

}  // namespace

TEST_CASE("schedules: StepDecay multiplies by gamma every step_size epochs", "[schedules]") {
    const nabla::StepDecay schedule(0.1, 3, 0.5);
    CHECK(schedule.base_learning_rate() == 0.1);
    CHECK(schedule.step_size() == 3);
    CHECK(schedule.gamma() == 0.5);
    // 0.1 for epochs 0–2, 0.05 for 3–5, 0.025 for 6–8, ...
    double expected = 0.1;
    for (int epoch = 0; epoch < 30; ++epoch) {
        CAPTURE(epoch);
        if (epoch > 0 && epoch % 3 == 0) expected *= 0.5;
        CHECK(close(schedule(epoch), expected));
    }
    CHECK(schedule(0) == 0.1);
    CHECK(schedule(2) == 0.1);
    CHECK(schedule(3) == 0.05);
    CHECK(nabla::StepDecay(0.2, 1)(2) == 0.2 * 0.1 * 0.1);  // γ = 0.1 by default
    CHECK(nabla::StepDecay(0.2, 5, 1.0)(100) == 0.2);      // γ = 1: constant
}

TEST_CASE("schedules: ExponentialDecay multiplies by gamma every epoch", "[schedules]") {
    const nabla::ExponentialDecay schedule(0.02, 0.9);
    CHECK(schedule.base_learning_rate() == 0.02);
    CHECK(schedule.gamma() == 0.9);
    double expected = 0.02;
    for (int epoch = 0; epoch < 50; ++epoch) {
        CAPTURE(epoch);
        CHECK(close(schedule(epoch), expected));
        expected *= 0.9;
    }
    CHECK(schedule(0) == 0.02);
}

TEST_CASE("schedules: CosineAnnealing goes from the base rate to the minimum over T epochs",
          "[schedules]") {
    const double pi = std::acos(-1.0);
    const nabla::CosineAnnealing schedule(0.1, 10, 0.001);
    CHECK(schedule.base_learning_rate() == 0.1);
    CHECK(schedule.epochs() == 10);
    CHECK(schedule.min_learning_rate() == 0.001);
    for (int epoch = 0; epoch <= 10; ++epoch) {
        CAPTURE(epoch);
        const double expected = 0.001 + 0.5 * (0.1 - 0.001) * (1 + std::cos(pi * epoch / 10));
        CHECK(close(schedule(epoch), expected));
    }
    CHECK(schedule(0) == 0.1);
    CHECK(close(schedule(5), 0.001 + 0.5 * (0.1 - 0.001)));  // half way: the middle
    CHECK(schedule(10) == 0.001);
    // Past T the rate stays at the minimum.
    CHECK(schedule(11) == 0.001);
    CHECK(schedule(1000) == 0.001);
    // It falls monotonically on the way.
    for (int epoch = 1; epoch <= 10; ++epoch) CHECK(schedule(epoch) < schedule(epoch - 1));
    // By default the minimum is 0.
    CHECK(nabla::CosineAnnealing(0.5, 4)(4) == 0.0);
    CHECK(close(nabla::CosineAnnealing(0.5, 4)(1), 0.25 * (1 + std::cos(pi / 4))));
}

TEST_CASE("schedules: bad settings and negative epochs throw ConfigError", "[schedules][errors]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const auto config_error = [](auto make) { return message_of<nabla::ConfigError>(make); };
    CHECK(config_error([] { nabla::StepDecay(0, 3); }) ==
          "nabla: StepDecay: base_learning_rate must be positive and finite, got 0");
    CHECK(config_error([] { nabla::StepDecay(0.1, 0); }) ==
          "nabla: StepDecay: step_size must be at least 1, got 0");
    CHECK(config_error([] { nabla::StepDecay(0.1, 3, 1.5); }) ==
          "nabla: StepDecay: gamma must be in (0, 1], got 1.5");
    CHECK(config_error([] { nabla::StepDecay(0.1, 3, 0); }) ==
          "nabla: StepDecay: gamma must be in (0, 1], got 0");
    CHECK(config_error([&] { nabla::ExponentialDecay(nan, 0.9); }) ==
          "nabla: ExponentialDecay: base_learning_rate must be positive and finite, got nan");
    CHECK(config_error([&] { nabla::ExponentialDecay(0.1, nan); }) ==
          "nabla: ExponentialDecay: gamma must be in (0, 1], got nan");
    CHECK(config_error([] { nabla::CosineAnnealing(-1, 10); }) ==
          "nabla: CosineAnnealing: base_learning_rate must be positive and finite, got -1");
    CHECK(config_error([] { nabla::CosineAnnealing(0.1, 0); }) ==
          "nabla: CosineAnnealing: epochs must be at least 1, got 0");
    CHECK(config_error([] { nabla::CosineAnnealing(0.1, 10, -0.01); }) ==
          "nabla: CosineAnnealing: min_learning_rate must be finite and 0 or more, got -0.01");
    CHECK(config_error([] { nabla::CosineAnnealing(0.1, 10, 0.2); }) ==
          "nabla: CosineAnnealing: min_learning_rate 0.2 is above base_learning_rate 0.1");

    CHECK(config_error([] { nabla::StepDecay(0.1, 3)(-1); }) ==
          "nabla: StepDecay: epoch must be 0 or more, got -1");
    CHECK(config_error([] { nabla::ExponentialDecay(0.1, 0.5)(-2); }) ==
          "nabla: ExponentialDecay: epoch must be 0 or more, got -2");
    CHECK(config_error([] { nabla::CosineAnnealing(0.1, 5)(-3); }) ==
          "nabla: CosineAnnealing: epoch must be 0 or more, got -3");
}

TEST_CASE("schedules: a training loop sets the optimizer's rate each epoch, down to 0",
          "[schedules]") {
    using Net = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
    Net net({2, 4, 1}, {nabla::Tanh{}, nabla::Identity{}}, 3);
    const Eigen::MatrixXd x = nabla_test::random_matrix<Eigen::MatrixXd>(2, 8, 1, -1, 1);
    const Eigen::MatrixXd y = nabla_test::random_matrix<Eigen::MatrixXd>(1, 8, 2, -1, 1);
    Net::Workspace<> ws;
    nabla::Sgd sgd(1.0, {0.9});
    const nabla::CosineAnnealing schedule(0.05, 20);
    const double initial = net.loss(x, y);
    for (int epoch = 0; epoch < 20; ++epoch) {
        sgd.set_learning_rate(schedule(epoch));
        CHECK(sgd.learning_rate() == schedule(epoch));
        net.backward(x, y, ws);
        sgd.step(net, ws);
    }
    CHECK(net.loss(x, y) < initial);
    // Epoch T: the rate is 0, which an optimizer accepts and which freezes the weights.
    sgd.set_learning_rate(schedule(20));
    CHECK(sgd.learning_rate() == 0);
    const Eigen::MatrixXd frozen = net.layer(0).weights();
    net.backward(x, y, ws);
    sgd.step(net, ws);
    CHECK(net.layer(0).weights() == frozen);
}

}  // namespace test_schedules
