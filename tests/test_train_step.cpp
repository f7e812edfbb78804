// train_step folds the update of each large layer into W (W ← W − (η/n) δ aᵀ in one product,
// ∂C/∂W never stored) and reads x in place. These tests hold it to backward() + update(): the
// same step up to the rounding of the fold, the same refusals of non-finite steps with the
// weights untouched, and the bound that lets it skip the check of ∂C/∂W (detail/finite_step.hpp).

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace test_train_step {  // named for the unity build of nabla_tests

namespace {

using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::same_parameters;
constexpr int dynamic = Eigen::Dynamic;

template <class Scalar>
using Hidden = nabla::Dense<Scalar, dynamic, dynamic, nabla::Tanh>;
template <class Scalar>
using Output = nabla::Dense<Scalar, dynamic, dynamic, nabla::Identity>;
template <class Scalar>
using MixedNet = nabla::Network<nabla::SquaredError, Hidden<Scalar>, Output<Scalar>>;
template <class Scalar>
using LinearNet = nabla::Network<nabla::SquaredError, Output<Scalar>>;

// 30 inputs, 6 hidden, 2 outputs, batch 4: layer 1 (6 + 30 + 4 ≥ 20) goes through detail::gemm
// and is folded, layer 2 (2 + 6 + 4 < 20) is summed entry by entry and keeps its ∂C/∂W.
constexpr Eigen::Index inputs = 30;
constexpr Eigen::Index hidden = 6;
constexpr Eigen::Index outputs = 2;
constexpr Eigen::Index batch = 4;

/// One step of train_step on `folded` against backward() + update() on `stored` (the same
/// network): every parameter within the rounding the fold may change. Entry by entry the two
/// steps compute the same δaᵀ (the same product kernel); the fold scales it by fl(−η/n) and adds
/// it to W with one rounding, the stored step rounds (1/n)δaᵀ, then η∇W, then the difference. So
/// they differ by at most 2ε|W'| + 4ε|η∇W| (ε the machine epsilon, W' the new value).
template <class Net, class Scalar = typename Net::Scalar>
void check_same_step(Net& folded, Net& stored, const Eigen::Matrix<Scalar, -1, -1>& x,
                     const Eigen::Matrix<Scalar, -1, -1>& y, Scalar eta) {
    typename Net::template Workspace<> folded_ws;
    typename Net::template Workspace<> stored_ws;
    const Scalar folded_cost = folded.train_step(x, y, folded_ws, eta);
    const Scalar stored_cost = stored.backward(x, y, stored_ws);
    CHECK(folded_cost == stored_cost);  // the same forward pass
    CHECK_FALSE(folded_ws.has_gradients());

    std::vector<Eigen::Matrix<Scalar, -1, -1>> steps;
    stored.for_each_layer([&](const auto&, auto i) {
        steps.push_back(eta * stored_ws.layer(i).dW);
        steps.push_back(eta * stored_ws.layer(i).db);
    });
    const Net before = stored;
    stored.update(stored_ws, eta);
    const Scalar eps = std::numeric_limits<Scalar>::epsilon();
    std::size_t p = 0;
    stored.for_each_layer([&](const auto& layer, auto i) {
        const auto& f = folded.layer(i);
        CAPTURE(std::size_t(i));
        const Eigen::Matrix<Scalar, -1, -1> weights_bound =
            2 * eps * layer.weights().cwiseAbs() + 4 * eps * steps[p].cwiseAbs();
        const Eigen::Matrix<Scalar, -1, -1> bias_bound =
            2 * eps * layer.bias().cwiseAbs() + 4 * eps * steps[p + 1].cwiseAbs();
        CHECK(((f.weights() - layer.weights()).cwiseAbs().array() <= weights_bound.array()).all());
        CHECK(((f.bias() - layer.bias()).cwiseAbs().array() <= bias_bound.array()).all());
        // The step moved every layer, so that the comparison means something.
        CHECK(steps[p].cwiseAbs().maxCoeff() > 0);
        CHECK(layer.weights() != before.layer(i).weights());
        p += 2;
    });
}

template <class Scalar>
void check_mixed_net_step() {
    using Matrix = Eigen::Matrix<Scalar, -1, -1>;
    MixedNet<Scalar> folded({inputs, hidden, outputs}, 3);
    MixedNet<Scalar> stored = folded;
    const Matrix x = random_matrix<Matrix>(inputs, batch, 11);
    const Matrix y = random_matrix<Matrix>(outputs, batch, 12);
    REQUIRE(folded.template layer<0>().template folds_step<Matrix>(batch));
    REQUIRE_FALSE(folded.template layer<1>().template folds_step<Matrix>(batch));
    check_same_step(folded, stored, x, y, Scalar(0.3));
}

/// Runs `step` (a train_step on `net`) and checks that it is refused as a gradient that is not
/// finite, with every parameter of `net` as it was before.
template <class Net, class Step>
void check_refused_untouched(Net& net, Step&& step) {
    const Net before = net;
    const std::string message = message_of<nabla::NumericalError>(step);
    INFO(message);
    CHECK(contains(message, "a gradient is not finite"));
    CHECK(same_parameters(net, before));
}

}  // namespace

TEST_CASE("train_step: a folded step is backward() then update() up to its rounding",
          "[train_step]") {
    SECTION("double") { check_mixed_net_step<double>(); }
    SECTION("float") { check_mixed_net_step<float>(); }
    SECTION("DynamicNetwork, three folded layers") {
        using Net = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
        Net folded({40, 24, 16, 10}, {nabla::ReLU{}, nabla::ReLU{}, nabla::Softmax{}}, 5);
        Net stored = folded;
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(40, 9, 13, 0, 1);
        const Eigen::MatrixXd y = nabla_test::one_hot_targets<Eigen::MatrixXd>(10, 9);
        for (std::size_t l = 0; l < 3; ++l)
            REQUIRE(folded.layer(l).folds_step<Eigen::MatrixXd>(9));
        check_same_step(folded, stored, x, y, 0.1);
    }
}

TEST_CASE("train_step: a folded layer's gradient is never stored, a small layer's is",
          "[train_step]") {
    using Matrix = Eigen::MatrixXf;
    MixedNet<float> net({inputs, hidden, outputs}, 3);
    MixedNet<float>::Workspace<> ws;
    const Matrix x = random_matrix<Matrix>(inputs, batch, 21);
    const Matrix y = random_matrix<Matrix>(outputs, batch, 22);
    net.train_step(x, y, ws, 0.1f);
    ws.layer<0>().dW.setConstant(7);
    ws.layer<1>().dW.setConstant(7);
    net.train_step(x, y, ws, 0.1f);
    CHECK((ws.layer<0>().dW.array() == 7).all());
    CHECK((ws.layer<1>().dW.array() != 7).all());
    // update() on what train_step left would apply nothing meaningful: it is refused.
    CHECK(contains(message_of<nabla::ShapeError>([&] { net.update(ws, 0.1f); }),
                   "holds no gradients"));
}

TEST_CASE("train_step: x in memory, as a block or as an expression, gives the same step",
          "[train_step]") {
    using Matrix = Eigen::MatrixXd;
    const MixedNet<double> start({inputs, hidden, outputs}, 4);
    const Matrix wide = random_matrix<Matrix>(inputs, 3 * batch, 31);
    const Matrix y = random_matrix<Matrix>(outputs, batch, 32);
    const Matrix x = wide.middleCols(batch, batch);

    MixedNet<double> from_matrix = start;
    MixedNet<double> from_block = start;
    MixedNet<double> from_expression = start;
    MixedNet<double>::Workspace<> ws;
    for (int step = 0; step < 3; ++step) {
        const double a = from_matrix.train_step(x, y, ws, 0.2);
        const double b = from_block.train_step(wide.middleCols(batch, batch), y, ws, 0.2);
        const double c = from_expression.train_step(x * 1.0, y, ws, 0.2);
        CHECK(a == b);
        CHECK(a == c);
    }
    CHECK(same_parameters(from_matrix, from_block));
    CHECK(same_parameters(from_matrix, from_expression));
    CHECK_FALSE(same_parameters(from_matrix, start));
}

TEST_CASE("train_step: a non-finite step of a folded layer is refused, the weights untouched",
          "[train_step][errors]") {
    using Matrix = Eigen::MatrixXf;
    const Matrix clean_x = random_matrix<Matrix>(inputs, batch, 41);
    const Matrix y = random_matrix<Matrix>(outputs, batch, 42);

    SECTION("a NaN input") {
        MixedNet<float> net({inputs, hidden, outputs}, 3);
        const MixedNet<float> before = net;
        MixedNet<float>::Workspace<> ws;
        Matrix x = clean_x;
        x(17, 2) = std::numeric_limits<float>::quiet_NaN();
        const std::string message =
            message_of<nabla::NumericalError>([&] { net.train_step(x, y, ws, 0.1f); });
        CHECK(contains(message, "train_step"));
        CHECK(contains(message, "nan"));
        CHECK(contains(message, "the weights are left as they were"));
        CHECK(same_parameters(net, before));
        net.train_step(clean_x, y, ws, 0.1f);  // and it still trains
        CHECK_FALSE(same_parameters(net, before));
    }
    SECTION("an infinite target, DynamicNetwork") {
        using Net = nabla::DynamicNetwork<float, nabla::SquaredError>;
        Net net({inputs, 24, outputs}, {nabla::Tanh{}, nabla::Identity{}}, 6);
        const Net before = net;
        Net::Workspace<> ws;
        Matrix bad_y = y;
        bad_y(1, 3) = std::numeric_limits<float>::infinity();
        const std::string message =
            message_of<nabla::NumericalError>([&] { net.train_step(clean_x, bad_y, ws, 0.1f); });
        CHECK(contains(message, "train_step"));
        CHECK(contains(message, "inf"));
        CHECK(same_parameters(net, before));
    }
}

TEST_CASE("train_step: a learning rate that is not positive and finite is refused",
          "[train_step][errors]") {
    using Matrix = Eigen::MatrixXd;
    MixedNet<double> net({inputs, hidden, outputs}, 3);
    const MixedNet<double> before = net;
    MixedNet<double>::Workspace<> ws;
    const Matrix x = random_matrix<Matrix>(inputs, batch, 51);
    const Matrix y = random_matrix<Matrix>(outputs, batch, 52);
    for (const double eta : {0.0, -0.1, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity()}) {
        CAPTURE(eta);
        const std::string message =
            message_of<nabla::ConfigError>([&] { net.train_step(x, y, ws, eta); });
        CHECK(contains(message, "train_step: the learning rate must be positive and finite"));
        CHECK(same_parameters(net, before));
    }
}

// One linear layer with W = 0 and b = 0: a = 0, so δ = 2(a − y) = −2y exactly (SquaredError),
// and each entry of δxᵀ summed over n identical samples is −2n·y·x. That puts the size of the
// gradient, and so the bound of the fold, in the test's hands.
TEST_CASE("train_step: a step near overflow is decided by the stored gradient", "[train_step]") {
    using Matrix = Eigen::MatrixXf;
    constexpr Eigen::Index in = 24;
    constexpr Eigen::Index out = 10;
    constexpr Eigen::Index n = 8;  // 10 + 24 + 8: a folded layer
    const float huge = 1e36f;      // |x|; the largest finite float is about 3.4e38
    LinearNet<float> net({in, out}, 1);
    net.layer<0>().set_weights(Matrix::Zero(out, in));
    net.layer<0>().set_bias(Eigen::VectorXf::Zero(out));
    REQUIRE(net.layer<0>().folds_step<Matrix>(n));
    const Matrix x = Matrix::Constant(in, n, huge);
    LinearNet<float>::Workspace<> ws;

    SECTION("too near to fold, finite: the stored step, exactly backward() then update()") {
        // n·|δ|·|x| = 8 · 40 · 1e36 = 3.2e38: past a quarter of the largest float, yet finite.
        const Matrix y = Matrix::Constant(out, n, -20);
        LinearNet<float> reference = net;
        LinearNet<float>::Workspace<> reference_ws;
        const float cost = net.train_step(x, y, ws, 0.1f);
        CHECK(cost == reference.backward(x, y, reference_ws));
        CHECK(std::isfinite(reference_ws.layer<0>().dW(0, 0)));
        reference.update(reference_ws, 0.1f);
        CHECK(same_parameters(net, reference));
        CHECK(net.layer<0>().weights()(0, 0) < 0);
    }
    SECTION("a gradient that overflows: refused, the weights untouched") {
        // Each term δ·x = 2000 · 1e36 = 2e39 overflows, in whatever order the product sums them
        // (with δ = 100 the mean, 1e38, is finite, and only a partial sum before the 1/n could
        // overflow); the cost, 1000² per output, does not.
        const Matrix y = Matrix::Constant(out, n, -1000);
        check_refused_untouched(net, [&] { net.train_step(x, y, ws, 0.1f); });
    }
}

// The check of a folded step reads the layer's δ, which the backward pass writes: it must read
// this batch's. Each case first takes a step whose δ is exactly 0 in the same workspace, so a
// check that read the δ of the step before would let the overflowing step through.
TEST_CASE("train_step: each step is judged by its own batch's error terms and not the last one's",
          "[train_step]") {
    using Matrix = Eigen::MatrixXf;
    constexpr Eigen::Index in = 24;
    constexpr Eigen::Index n = 8;
    const Matrix x = Matrix::Constant(in, n, 1e36f);

    SECTION("the output layer, whose δ its backward() computes from ∂C/∂a") {
        constexpr Eigen::Index out = 10;  // 10 + 24 + 8: a folded layer
        LinearNet<float> net({in, out}, 1);
        net.layer<0>().set_weights(Matrix::Zero(out, in));
        net.layer<0>().set_bias(Eigen::VectorXf::Zero(out));
        REQUIRE(net.layer<0>().folds_step<Matrix>(n));
        LinearNet<float>::Workspace<> ws;
        // a = 0 and y = 0: δ = 0, and the step changes nothing.
        CHECK(net.train_step(x, Matrix::Zero(out, n), ws, 0.1f) == 0.0f);
        // δ = 2(a − y) = 2000; each term δ·x = 2e39 overflows.
        check_refused_untouched(
            net, [&] { net.train_step(x, Matrix::Constant(out, n, -1000), ws, 0.1f); });
    }
    SECTION("a hidden layer, below an output layer whose δ the loss gives") {
        constexpr Eigen::Index hidden_size = 10;  // 10 + 24 + 8: folded
        constexpr Eigen::Index classes = 4;       // 4 + 10 + 8: folded
        using SoftmaxNet = nabla::Network<nabla::CrossEntropy, Hidden<float>,
                                          nabla::Dense<float, dynamic, dynamic, nabla::Softmax>>;
        SoftmaxNet net({in, hidden_size, classes}, 1);
        // W¹ = 0 and b = 0: a¹ = tanh(0) = 0, zᴸ = 0 and every class has a = 1/4. Row 0 of Wᴸ
        // is 1000, so δ¹ = (Wᴸ)ᵀδᴸ ⊙ tanh'(0) = 1000·δᴸ₀.
        net.layer<0>().set_weights(Matrix::Zero(hidden_size, in));
        net.layer<0>().set_bias(Eigen::VectorXf::Zero(hidden_size));
        Matrix top = Matrix::Zero(classes, hidden_size);
        top.row(0).setConstant(1000);
        net.layer<1>().set_weights(top);
        net.layer<1>().set_bias(Eigen::VectorXf::Zero(classes));
        REQUIRE(net.layer<0>().folds_step<Matrix>(n));
        SoftmaxNet::Workspace<> ws;
        // y = a = 1/4 everywhere: δᴸ = (Σy)a − y = 0 exactly, so δ¹ = 0 and nothing changes.
        net.train_step(x, Matrix::Constant(classes, n, 0.25f), ws, 0.1f);
        CHECK(net.layer<0>().weights().isZero(0));
        // Class 0: δᴸ₀ = 1/4 − 1, δ¹ = −750 in every entry, and each term δ¹·x = −7.5e38
        // overflows; the cost, log 4, does not.
        Matrix y = Matrix::Zero(classes, n);
        y.row(0).setOnes();
        check_refused_untouched(net, [&] { net.train_step(x, y, ws, 0.1f); });
    }
}

TEST_CASE("train_step: the bound that lets a step skip the check of the stored gradient",
          "[train_step]") {
    using Matrix = Eigen::MatrixXf;
    using nabla::detail::step_is_finite;
    const float largest = std::numeric_limits<float>::max();
    const float quarter = largest / 4;

    SECTION("NaN and infinity anywhere are never known to be finite") {
        const Matrix delta = Matrix::Constant(3, 5, 0.5f);
        const Matrix input = Matrix::Constant(4, 5, 0.5f);
        CHECK(step_is_finite(delta, input, 0.1f));
        for (const float bad : {std::numeric_limits<float>::quiet_NaN(),
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()}) {
            CAPTURE(bad);
            Matrix d = delta;
            d(2, 4) = bad;
            Matrix a = input;
            a(0, 0) = bad;
            CHECK_FALSE(step_is_finite(d, input, 0.1f));
            CHECK_FALSE(step_is_finite(delta, a, 0.1f));
            CHECK_FALSE(step_is_finite(delta, input, bad));
        }
    }
    SECTION("the worst case just inside the bound computes a finite step; just outside fails") {
        // Every product δ·a equal and of one sign: each sum is exactly n·D·A.
        const Eigen::Index n = 16;
        const float a = 3e18f;
        const float d = quarter / a / float(n);  // n·D·A = a quarter of the largest float
        const Matrix delta = Matrix::Constant(5, n, d);
        const Matrix input = Matrix::Constant(7, n, a);
        REQUIRE(step_is_finite(delta, input, 1.0f));
        const Matrix sum = delta * input.transpose();
        CHECK(sum.allFinite());
        CHECK(sum(0, 0) >= 0.99f * quarter);
        // Twice over: still finite here, but past the margin the bound keeps.
        CHECK_FALSE(step_is_finite(Matrix(2 * delta), input, 1.0f));
        // A learning rate larger than n counts instead of n: η·D·A is bounded too.
        CHECK_FALSE(step_is_finite(delta, input, 2.0f * float(n)));
        CHECK(step_is_finite(delta, input, float(n)));
    }
    SECTION("inputs below 1 count as 1, so that the bias step Σδ stays bounded too") {
        const Eigen::Index n = 4;
        const Matrix input = Matrix::Zero(3, n);
        CHECK(step_is_finite(Matrix::Constant(2, n, quarter / float(n)), input, 1.0f));
        CHECK_FALSE(step_is_finite(Matrix::Constant(2, n, quarter / float(n) * 2), input, 1.0f));
    }
    SECTION("a batch too large for the rounding argument is not folded") {
        // n·ε > 1 for float from n = 2²³ + 1 on: (1 + u)ⁿ may then exceed the margin.
        const Eigen::Index n = (Eigen::Index(1) << 23) + 1;
        const Matrix delta = Matrix::Constant(1, n, 1e-3f);
        const Matrix input = Matrix::Constant(1, n, 1e-3f);
        CHECK_FALSE(step_is_finite(delta, input, 0.1f));
        CHECK(step_is_finite(delta.leftCols(n - 1), input.leftCols(n - 1), 0.1f));
    }
}

}  // namespace test_train_step
