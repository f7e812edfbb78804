// The notes use two quadratic costs: C = Σ(a − y)² with ∂C/∂a = 2(a − y) in §1–§2.4
// (SquaredError) and C = ½‖a − y‖² with ∂C/∂a = a − y from §2.5 on and in the worked examples
// (HalfSquaredError). The forward pass is the same, and the backward pass is linear in ∂C/∂aᴸ,
// so the cost and every gradient (∂C/∂a, δ, ∂C/∂W, ∂C/∂b, ∂C/∂x) differ by exactly a factor 2.
//
// Why the tests can ask for `sq == 2 * half` bit for bit: both networks have the same weights and
// run the same code with the same sizes, so every operation happens in the same order. At the
// output, 2(a − y) is computed as 2 · round(a − y), exactly twice round(a − y). Everything after
// that is a chain of sums, products (with FMA or without) and divisions in which one operand
// carries the factor 2 and the others are the same in both runs. Multiplying a real number by 2
// commutes with rounding to double (it shifts the exponent and keeps the significand), as long as
// nothing overflows or becomes subnormal, which values of order 1e-3 to 1 cannot. The cost is
// s / n against s / (2n) with the same s = ‖a − y‖², and s / (2n) = (s / n) / 2 exactly, for the
// same reason. So no 1e-15 relative fallback is needed: each check below is exact.
//
// Then §1.6: the gradient of a batch is the mean of the gradients of its samples, and so is the
// batch cost. Those are computed in a different order (one product over the batch against
// separate passes), so they are compared to 1e-14.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace test_conventions {  // named for the unity build of nabla_tests

namespace {

using Matrix = Eigen::MatrixXd;
using nabla::AnyActivation;
using nabla::HalfSquaredError;
using nabla::Sigmoid;
using nabla::SquaredError;
using nabla::Tanh;

/// sq == 2 · half for every entry, bit for bit (see the top of the file for why).
void check_twice(const std::string& what, const Matrix& sq, const Matrix& half) {
    INFO(what);
    REQUIRE(sq.rows() == half.rows());
    REQUIRE(sq.cols() == half.cols());
    for (Eigen::Index j = 0; j < sq.rows(); ++j) {
        for (Eigen::Index k = 0; k < sq.cols(); ++k) {
            CAPTURE(j, k, sq(j, k), half(j, k));
            CHECK(sq(j, k) == 2 * half(j, k));
        }
    }
}

/// a == b for every entry, bit for bit.
void check_equal(const std::string& what, const Matrix& a, const Matrix& b) {
    INFO(what);
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    for (Eigen::Index j = 0; j < a.rows(); ++j) {
        for (Eigen::Index k = 0; k < a.cols(); ++k) {
            CAPTURE(j, k, a(j, k), b(j, k));
            CHECK(a(j, k) == b(j, k));
        }
    }
}

/// |a − b| ≤ bound for every entry.
void check_close(const std::string& what, const Matrix& a, const Matrix& b, double bound) {
    INFO(what);
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    for (Eigen::Index j = 0; j < a.rows(); ++j) {
        for (Eigen::Index k = 0; k < a.cols(); ++k) {
            CAPTURE(j, k, a(j, k), b(j, k));
            CHECK(std::abs(a(j, k) - b(j, k)) <= bound);
        }
    }
}

/// Compares two networks of equal weights after backward() with SquaredError (sq) and
/// HalfSquaredError (half): the forward pass must be identical, every gradient exactly twice.
template <class SqNet, class SqWorkspace, class HalfNet, class HalfWorkspace>
void check_factor_two(const SqNet& sq_net, SqWorkspace& sq_ws, const HalfNet& half_net,
                      HalfWorkspace& half_ws) {
    sq_net.for_each_layer([&](const auto& sq_layer, auto i) {
        const auto& half_layer = half_net.layer(i);
        const auto& sq_state = sq_ws.layer(i);
        const auto& half_state = half_ws.layer(i);
        INFO(sq_layer.name());
        REQUIRE((Matrix(sq_layer.weights()) == Matrix(half_layer.weights())));
        REQUIRE((Matrix(sq_layer.bias()) == Matrix(half_layer.bias())));
        check_equal("z", sq_state.z, half_state.z);
        check_equal("a", sq_state.a, half_state.a);
        check_twice("dC/da", sq_state.da, half_state.da);
        check_twice("delta", sq_state.delta, half_state.delta);
        check_twice("dC/dW", sq_state.dW, half_state.dW);
        check_twice("dC/db", sq_state.db, half_state.db);
    });
    check_twice("dC/dx", sq_net.input_gradient(sq_ws), half_net.input_gradient(half_ws));
}

// --- worked example 2 of the notes: [2, 3, 2], sigmoid -------------------------------------------

template <class Loss>
using Example2Net =
    nabla::Network<Loss, nabla::Dense<double, 2, 3, Sigmoid>, nabla::Dense<double, 3, 2, Sigmoid>>;

template <class Net>
Net example2_net() {
    Net net;
    Eigen::Matrix<double, 3, 2> w1;
    w1 << 0.1, 0.4,  //
        0.2, 0.3,    //
        0.5, -0.1;
    Eigen::Matrix<double, 2, 3> w2;
    w2 << 0.3, -0.7, 0.2,  //
        0.6, 0.1, -0.5;
    net.template layer<0>().set_weights(w1);
    net.template layer<0>().set_bias(Eigen::Vector3d(0.1, -0.1, 0.2));
    net.template layer<1>().set_weights(w2);
    net.template layer<1>().set_bias(Eigen::Vector2d(0.05, -0.05));
    return net;
}

// --- a random 3-layer DynamicNetwork -------------------------------------------------------------

template <class Loss>
using Dynamic = nabla::DynamicNetwork<double, Loss>;

/// Sizes of the random net: 4 inputs, hidden 6 and 5, 3 outputs.
const std::vector<Eigen::Index> random_sizes{4, 6, 5, 3};

}  // namespace

TEST_CASE("conventions: SquaredError is exactly twice HalfSquaredError on worked example 2",
          "[conventions][notes]") {
    const auto sq_net = example2_net<Example2Net<SquaredError>>();
    const auto half_net = example2_net<Example2Net<HalfSquaredError>>();
    const Eigen::Vector2d x(0.9, 0.1);
    const Eigen::Vector2d y(1.0, 0.0);
    Example2Net<SquaredError>::Workspace<1> sq_ws;
    Example2Net<HalfSquaredError>::Workspace<1> half_ws;

    const double sq_cost = sq_net.backward(x, y, sq_ws);
    const double half_cost = half_net.backward(x, y, half_ws);
    CAPTURE(sq_cost, half_cost);
    CHECK(sq_cost == 2 * half_cost);

    // Anchors the convention itself, not only the ratio: C = Σ(a − y)², with no ½.
    const Eigen::Vector2d a = sq_ws.output();
    CHECK(std::abs(sq_cost - ((a(0) - 1.0) * (a(0) - 1.0) + a(1) * a(1))) <= 1e-15);

    check_factor_two(sq_net, sq_ws, half_net, half_ws);
}

TEST_CASE("conventions: SquaredError is exactly twice HalfSquaredError on a random 3-layer net",
          "[conventions]") {
    const std::vector<std::vector<AnyActivation>> activation_sets{{Sigmoid{}, Tanh{}, Sigmoid{}},
                                                                  {Tanh{}, Sigmoid{}, Tanh{}}};
    for (std::size_t set = 0; set < activation_sets.size(); ++set) {
        CAPTURE(set);
        const Dynamic<SquaredError> sq_net(random_sizes, activation_sets[set], /*seed=*/29);
        const Dynamic<HalfSquaredError> half_net(random_sizes, activation_sets[set], /*seed=*/29);
        const Matrix x = nabla_test::random_matrix<Matrix>(4, 5, /*seed=*/3, -1, 1);
        const Matrix y = nabla_test::random_matrix<Matrix>(3, 5, /*seed=*/4, 0, 1);
        Dynamic<SquaredError>::Workspace<> sq_ws;
        Dynamic<HalfSquaredError>::Workspace<> half_ws;

        const double sq_cost = sq_net.backward(x, y, sq_ws);
        const double half_cost = half_net.backward(x, y, half_ws);
        CAPTURE(sq_cost, half_cost);
        CHECK(sq_cost > 0);
        CHECK(sq_cost == 2 * half_cost);
        REQUIRE(sq_ws.batch_size() == 5);
        check_factor_two(sq_net, sq_ws, half_net, half_ws);
    }
}

namespace {

/// §1.6: backward() on the batch x (one sample per column) against backward() on each column
/// alone. ∂C/∂W, ∂C/∂b and C of the batch are the means over the columns; δ, ∂C/∂a and ∂C/∂x stay
/// per sample, so each column equals the single-sample value.
template <class Net>
void check_batch_is_mean(const Net& net, const Matrix& x, const Matrix& y) {
    // A batch product sums in another order than four separate passes; values are below 2, so a
    // few ulps of 1 are ~1e-15.
    constexpr double bound = 1e-14;
    const Eigen::Index n = x.cols();
    typename Net::template Workspace<> batch_ws;
    const double batch_cost = net.backward(x, y, batch_ws);
    const Matrix batch_dx = net.input_gradient(batch_ws);

    double cost_sum = 0;
    std::vector<Matrix> dW_sum(net.layer_count()), db_sum(net.layer_count());
    for (Eigen::Index k = 0; k < n; ++k) {
        CAPTURE(k);
        typename Net::template Workspace<1> ws;
        const double cost = net.backward(x.col(k), y.col(k), ws);
        cost_sum += cost;
        net.for_each_layer([&](const auto& layer, auto i) {
            INFO(layer.name());
            const auto& one = ws.layer(i);
            const auto& batch = batch_ws.layer(i);
            const std::size_t l = static_cast<std::size_t>(i);
            if (k == 0) {
                dW_sum[l] = Matrix::Zero(one.dW.rows(), one.dW.cols());
                db_sum[l] = Matrix::Zero(one.db.rows(), 1);
            }
            dW_sum[l] += one.dW;
            db_sum[l] += one.db;
            check_close("delta, column k", batch.delta.col(k), one.delta, bound);
            check_close("dC/da, column k", batch.da.col(k), one.da, bound);
        });
        check_close("dC/dx, column k", batch_dx.col(k), net.input_gradient(ws), bound);
    }

    CAPTURE(batch_cost, cost_sum / double(n));
    CHECK(std::abs(batch_cost - cost_sum / double(n)) <= bound);
    net.for_each_layer([&](const auto& layer, auto i) {
        INFO(layer.name());
        const std::size_t l = static_cast<std::size_t>(i);
        check_close("dC/dW = mean", batch_ws.layer(i).dW, dW_sum[l] / double(n), bound);
        check_close("dC/db = mean", batch_ws.layer(i).db, db_sum[l] / double(n), bound);
    });
}

}  // namespace

TEST_CASE("conventions: batch gradients and cost are the means over the samples (notes 1.6)",
          "[conventions][batch]") {
    const Matrix x = nabla_test::random_matrix<Matrix>(4, 4, /*seed=*/5, -1, 1);
    const Matrix y = nabla_test::random_matrix<Matrix>(3, 4, /*seed=*/6, 0, 1);

    SECTION("DynamicNetwork, SquaredError") {
        check_batch_is_mean(Dynamic<SquaredError>(random_sizes, {Sigmoid{}, Tanh{}, Sigmoid{}}, 8),
                            x, y);
    }
    SECTION("DynamicNetwork, HalfSquaredError") {
        check_batch_is_mean(Dynamic<HalfSquaredError>(random_sizes, {Tanh{}, Sigmoid{}, Tanh{}}, 9),
                            x, y);
    }
    SECTION("fixed-size worked example 2, HalfSquaredError") {
        const Matrix x2 = nabla_test::random_matrix<Matrix>(2, 4, /*seed=*/7, 0, 1);
        const Matrix y2 = nabla_test::random_matrix<Matrix>(2, 4, /*seed=*/10, 0, 1);
        check_batch_is_mean(example2_net<Example2Net<HalfSquaredError>>(), x2, y2);
    }
}

}  // namespace test_conventions
