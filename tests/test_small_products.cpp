// The products of a Dense layer (z = W a + b, ∂C/∂W and ∂C/∂b from δ, Wᵀδ) take one of two paths:
// entry-by-entry loops when rows + columns + inner size of the product stay below
// detail::small_product_limit (20), detail::gemm from there on (see nabla/detail/small.hpp).
// Both are checked against sums written out in the test, in long double, across layer sizes
// 1…33 and batches 1…5 that put each of the three products on each side of the limit, in float
// and in double. Then what the loops must keep: a layer with compile-time sizes and one with the
// same sizes at run time give the same numbers bit for bit; strided blocks and expressions
// without direct access are read correctly; a strided block as destination is written in place
// and nowhere else; a workspace keeps its buffers from one step to the next. Last, whole
// training steps of the [2,3,2] sigmoid network of the notes: compile-time and run-time sizes
// equal bit for bit step after step, both within float rounding of the step written out in
// double from equations (1)–(6); and the entry-by-entry finiteness check of small gradients
// still stops a step on NaN or infinity.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace test_small_products {  // named for the unity build of nabla_tests

namespace {

using nabla_test::random_matrix;
constexpr int dynamic = Eigen::Dynamic;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, dynamic, dynamic>;
template <class Scalar>
using Vector = Eigen::Matrix<Scalar, dynamic, 1>;
template <class Scalar>
using DynamicDense = nabla::Dense<Scalar, dynamic, dynamic, nabla::Identity>;

/// A backward pass from a δ the test has set: the layer's gradients (2), (3), (5), (6).
const nabla::BackwardPass delta_given{true, true};

/// The sizes of the brief: around the SIMD packet widths (4, 8, 16 floats) and the limit of 20.
const std::vector<Eigen::Index> sizes = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33};
const std::vector<Eigen::Index> batches = {1, 2, 3, 5};

/// A sum of `terms` products, each rounded once, is within (terms + 2)·ε·Σ|products| of the
/// exact sum (the +2 covers the bias and the final scaling); `scale` is Σ|products| (+ |b|).
template <class Scalar>
long double sum_tolerance(Eigen::Index terms, long double scale) {
    return (long double)(terms + 2) * (long double)std::numeric_limits<Scalar>::epsilon() * scale;
}

/// Checks forward (z = W a + b), gradients (∂C/∂W = δaᵀ/n, ∂C/∂b = Σⱼδ(:, j)/n) and propagate
/// (Wᵀδ) of one layer of `inputs` → `outputs` on a batch of `batch` columns against the sums
/// written out here.
template <class Scalar>
void check_products(Eigen::Index inputs, Eigen::Index outputs, Eigen::Index batch) {
    CAPTURE(inputs, outputs, batch);
    const std::uint64_t seed = std::uint64_t(inputs * 10007 + outputs * 101 + batch);
    DynamicDense<Scalar> layer(inputs, outputs);
    layer.set_weights(random_matrix<Matrix<Scalar>>(outputs, inputs, seed));
    layer.set_bias(random_matrix<Vector<Scalar>>(outputs, 1, seed + 1));
    const Matrix<Scalar> a = random_matrix<Matrix<Scalar>>(inputs, batch, seed + 2);
    const Matrix<Scalar>& w = layer.weights();
    const Vector<Scalar>& b = layer.bias();

    typename DynamicDense<Scalar>::template State<dynamic> state;
    layer.prepare(state, batch, nullptr);  // on its own: the state holds its gradients
    layer.forward(a, state, nabla::Pass{});
    REQUIRE(state.z.rows() == outputs);
    REQUIRE(state.z.cols() == batch);
    for (Eigen::Index j = 0; j < batch; ++j) {
        for (Eigen::Index i = 0; i < outputs; ++i) {
            long double exact = b(i), scale = std::abs((long double)b(i));
            for (Eigen::Index k = 0; k < inputs; ++k) {
                const long double term = (long double)w(i, k) * (long double)a(k, j);
                exact += term;
                scale += std::abs(term);
            }
            CAPTURE(i, j, state.z(i, j), exact);
            CHECK(std::abs((long double)state.z(i, j) - exact) <=
                  sum_tolerance<Scalar>(inputs, scale));
            CHECK(state.a(i, j) == state.z(i, j));  // identity activation
        }
    }

    state.delta = random_matrix<Matrix<Scalar>>(outputs, batch, seed + 3);
    layer.backward(a, state, delta_given);
    REQUIRE(state.dW.rows() == outputs);
    REQUIRE(state.dW.cols() == inputs);
    REQUIRE(state.db.rows() == outputs);
    for (Eigen::Index i = 0; i < outputs; ++i) {
        for (Eigen::Index k = 0; k < inputs; ++k) {
            long double exact = 0, scale = 0;
            for (Eigen::Index j = 0; j < batch; ++j) {
                const long double term = (long double)state.delta(i, j) * (long double)a(k, j);
                exact += term;
                scale += std::abs(term);
            }
            exact /= batch;
            scale /= batch;
            CAPTURE(i, k, state.dW(i, k), exact);
            CHECK(std::abs((long double)state.dW(i, k) - exact) <=
                  sum_tolerance<Scalar>(batch, scale));
        }
        long double exact = 0, scale = 0;
        for (Eigen::Index j = 0; j < batch; ++j) {
            exact += state.delta(i, j);
            scale += std::abs((long double)state.delta(i, j));
        }
        CAPTURE(i, state.db(i), exact / batch);
        CHECK(std::abs((long double)state.db(i) - exact / batch) <=
              sum_tolerance<Scalar>(batch, scale / batch));
    }

    Matrix<Scalar> below;  // unsized: propagate sizes it
    layer.propagate(state, below);
    REQUIRE(below.rows() == inputs);
    REQUIRE(below.cols() == batch);
    for (Eigen::Index j = 0; j < batch; ++j) {
        for (Eigen::Index k = 0; k < inputs; ++k) {
            long double exact = 0, scale = 0;
            for (Eigen::Index i = 0; i < outputs; ++i) {
                const long double term = (long double)w(i, k) * (long double)state.delta(i, j);
                exact += term;
                scale += std::abs(term);
            }
            CAPTURE(k, j, below(k, j), exact);
            CHECK(std::abs((long double)below(k, j) - exact) <=
                  sum_tolerance<Scalar>(outputs, scale));
        }
    }
}

template <class Scalar>
void check_all_sizes() {
    for (Eigen::Index inputs : sizes)
        for (Eigen::Index outputs : sizes)
            for (Eigen::Index batch : batches) check_products<Scalar>(inputs, outputs, batch);
}

/// Layer<In, Out> with compile-time sizes against the same layer with run-time sizes, on a
/// batch of `batch` columns: z, ∂C/∂W, ∂C/∂b and Wᵀδ equal entry for entry.
template <class Scalar, int In, int Out, int Batch>
void check_fixed_equals_dynamic() {
    CAPTURE(In, Out, Batch);
    const std::uint64_t seed = std::uint64_t(In * 31 + Out * 7 + Batch);
    nabla::Dense<Scalar, In, Out, nabla::Sigmoid> fixed;
    nabla::Dense<Scalar, dynamic, dynamic, nabla::Sigmoid> run_time(In, Out);
    const Matrix<Scalar> w = random_matrix<Matrix<Scalar>>(Out, In, seed);
    const Vector<Scalar> b = random_matrix<Vector<Scalar>>(Out, 1, seed + 1);
    fixed.set_weights(w);
    fixed.set_bias(b);
    run_time.set_weights(w);
    run_time.set_bias(b);
    const Eigen::Matrix<Scalar, In, Batch> x = random_matrix<Matrix<Scalar>>(In, Batch, seed + 2);
    const Matrix<Scalar> x_dynamic = x;
    const Matrix<Scalar> delta = random_matrix<Matrix<Scalar>>(Out, Batch, seed + 3);

    typename nabla::Dense<Scalar, In, Out, nabla::Sigmoid>::template State<Batch> s1;
    typename nabla::Dense<Scalar, dynamic, dynamic, nabla::Sigmoid>::template State<dynamic> s2;
    fixed.prepare(s1, Batch, nullptr);
    run_time.prepare(s2, Batch, nullptr);
    fixed.forward(x, s1, nabla::Pass{});
    run_time.forward(x_dynamic, s2, nabla::Pass{});
    CHECK(Matrix<Scalar>(s1.z) == s2.z);
    s1.delta = delta;
    s2.delta = delta;
    fixed.backward(x, s1, delta_given);
    run_time.backward(x_dynamic, s2, delta_given);
    CHECK(Matrix<Scalar>(s1.dW) == s2.dW);
    CHECK(Vector<Scalar>(s1.db) == s2.db);
    Eigen::Matrix<Scalar, In, Batch> below1;
    Matrix<Scalar> below2;
    fixed.propagate(s1, below1);
    run_time.propagate(s2, below2);
    CHECK(Matrix<Scalar>(below1) == below2);
}

template <class Scalar>
void check_fixed_sizes() {
    // Every one of these is below the limit in all three products.
    check_fixed_equals_dynamic<Scalar, 1, 1, 1>();
    check_fixed_equals_dynamic<Scalar, 2, 3, 1>();
    check_fixed_equals_dynamic<Scalar, 3, 2, 1>();
    check_fixed_equals_dynamic<Scalar, 2, 3, 4>();
    check_fixed_equals_dynamic<Scalar, 4, 5, 3>();
    check_fixed_equals_dynamic<Scalar, 8, 7, 2>();
    check_fixed_equals_dynamic<Scalar, 9, 9, 1>();
}

}  // namespace

TEST_CASE("small products: forward, gradients and propagate match the written-out sums, float",
          "[layer][small]") {
    check_all_sizes<float>();
}

TEST_CASE("small products: forward, gradients and propagate match the written-out sums, double",
          "[layer][small]") {
    check_all_sizes<double>();
}

TEST_CASE("small products: compile-time and run-time sizes agree bit for bit", "[layer][small]") {
    check_fixed_sizes<float>();
    check_fixed_sizes<double>();
}

TEST_CASE("small products: strided blocks and expressions as input, a block as destination",
          "[layer][small]") {
    DynamicDense<double> layer(3, 2);
    Matrix<double> w(2, 3);
    w << 0.5, -1, 2,  //
        1.5, 0.25, -0.75;
    layer.set_weights(w);
    Vector<double> b(2);
    b << 0.125, -0.5;
    layer.set_bias(b);

    // Columns 2 and 3 of rows 1..3 of a 5 x 6 matrix: an outer stride of 5, not 3.
    Matrix<double> big = random_matrix<Matrix<double>>(5, 6, 7);
    const auto block = big.block(1, 2, 3, 2);
    DynamicDense<double>::State<dynamic> from_block, from_expression;
    layer.prepare(from_block, 2, nullptr);
    layer.prepare(from_expression, 2, nullptr);
    layer.forward(block, from_block, nabla::Pass{});
    layer.forward(block * 2.0 - block, from_expression, nabla::Pass{});  // no direct access
    for (Eigen::Index j = 0; j < 2; ++j) {
        for (Eigen::Index i = 0; i < 2; ++i) {
            const double expected = w(i, 0) * big(1, 2 + j) + w(i, 1) * big(2, 2 + j) +
                                    w(i, 2) * big(3, 2 + j) + b(i);
            CAPTURE(i, j);
            CHECK(std::abs(from_block.z(i, j) - expected) <= 1e-14);
            CHECK(std::abs(from_expression.z(i, j) - expected) <= 1e-14);
        }
    }

    from_block.delta = random_matrix<Matrix<double>>(2, 2, 8);
    layer.backward(block, from_block, delta_given);
    for (Eigen::Index i = 0; i < 2; ++i) {
        for (Eigen::Index k = 0; k < 3; ++k) {
            const double expected = (from_block.delta(i, 0) * big(1 + k, 2) +
                                     from_block.delta(i, 1) * big(1 + k, 3)) / 2;
            CAPTURE(i, k);
            CHECK(std::abs(from_block.dW(i, k) - expected) <= 1e-14);
        }
    }

    // Wᵀδ into rows 1..3, columns 1..2 of a 5 x 4 matrix of sevens: only that block changes.
    Matrix<double> target = Matrix<double>::Constant(5, 4, 7);
    auto destination = target.block(1, 1, 3, 2);
    layer.propagate(from_block, destination);
    for (Eigen::Index j = 0; j < 4; ++j) {
        for (Eigen::Index r = 0; r < 5; ++r) {
            CAPTURE(r, j);
            if (r >= 1 && r <= 3 && j >= 1 && j <= 2) {
                const Eigen::Index k = r - 1, c = j - 1;
                const double expected = w(0, k) * from_block.delta(0, c) +
                                        w(1, k) * from_block.delta(1, c);
                CHECK(std::abs(target(r, j) - expected) <= 1e-14);
            } else {
                CHECK(target(r, j) == 7);
            }
        }
    }
}

TEST_CASE("small products: a workspace keeps its buffers while the batch size stays",
          "[layer][small][workspace]") {
    using Layer = nabla::Dense<float, dynamic, dynamic, nabla::Sigmoid>;
    using Net = nabla::Network<nabla::SquaredError, Layer, Layer>;
    Net net({2, 3, 2}, 5);
    Net::Workspace<> ws;
    const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(2, 3, 1, 0, 1);
    const Eigen::MatrixXf y = random_matrix<Eigen::MatrixXf>(2, 3, 2, 0, 1);
    net.train_step(x.leftCols(1), y.leftCols(1), ws, 0.5f);
    const float* z = ws.layer<0>().z.data();
    const float* dW = ws.layer<1>().dW.data();
    const float* input = ws.input().data();
    net.train_step(x.col(1), y.col(1), ws, 0.5f);
    CHECK(ws.layer<0>().z.data() == z);
    CHECK(ws.layer<1>().dW.data() == dW);
    CHECK(ws.input().data() == input);

    // A batch of three: every buffer takes the new shape.
    net.train_step(x, y, ws, 0.5f);
    CHECK(ws.input().cols() == 3);
    net.for_each_layer([&](const auto& layer, auto i) {
        const auto& s = ws.layer(i);
        CAPTURE(std::size_t(i));
        CHECK(s.z.rows() == layer.outputs());
        CHECK(s.z.cols() == 3);
        CHECK(s.a.cols() == 3);
        CHECK(s.da.cols() == 3);
        CHECK(s.delta.cols() == 3);
        CHECK(s.dW.rows() == layer.outputs());
        CHECK(s.dW.cols() == layer.inputs());
        CHECK(s.db.rows() == layer.outputs());
    });
}

namespace {

/// One SGD step of the [2,3,2] sigmoid network with squared error on one sample, written out in
/// double from equations (1)–(6): W1 is 3 × 2, W2 is 2 × 3 (row-major here, w[j][k]). Returns C.
struct HandW3 {
    double w1[3][2], b1[3], w2[2][3], b2[2];

    double step(const double x[2], const double y[2], double eta) {
        double a1[3], a2[2], d1[3], d2[2];
        for (int j = 0; j < 3; ++j) {
            double z = b1[j];
            for (int k = 0; k < 2; ++k) z += w1[j][k] * x[k];
            a1[j] = 1 / (1 + std::exp(-z));
        }
        double cost = 0;
        for (int j = 0; j < 2; ++j) {
            double z = b2[j];
            for (int k = 0; k < 3; ++k) z += w2[j][k] * a1[k];
            a2[j] = 1 / (1 + std::exp(-z));
            cost += (a2[j] - y[j]) * (a2[j] - y[j]);
            d2[j] = 2 * (a2[j] - y[j]) * a2[j] * (1 - a2[j]);  // (1)
        }
        for (int k = 0; k < 3; ++k) {
            double back = 0;
            for (int j = 0; j < 2; ++j) back += w2[j][k] * d2[j];
            d1[k] = back * a1[k] * (1 - a1[k]);  // (4)
        }
        for (int j = 0; j < 2; ++j) {
            for (int k = 0; k < 3; ++k) w2[j][k] -= eta * d2[j] * a1[k];  // (3)
            b2[j] -= eta * d2[j];                                         // (2)
        }
        for (int j = 0; j < 3; ++j) {
            for (int k = 0; k < 2; ++k) w1[j][k] -= eta * d1[j] * x[k];
            b1[j] -= eta * d1[j];
        }
        return cost;
    }
};

}  // namespace

TEST_CASE("small products: the [2,3,2] train step, compile-time and run-time sizes, by hand",
          "[layer][small][network]") {
    using Fixed = nabla::Network<nabla::SquaredError, nabla::Dense<float, 2, 3, nabla::Sigmoid>,
                                 nabla::Dense<float, 3, 2, nabla::Sigmoid>>;
    using Layer = nabla::Dense<float, dynamic, dynamic, nabla::Sigmoid>;
    using Run = nabla::Network<nabla::SquaredError, Layer, Layer>;
    Fixed fixed({2, 3, 2}, 11);
    Run run_time({2, 3, 2}, 11);
    // Biases away from zero so that every term of every formula is exercised.
    const Eigen::MatrixXf b1 = random_matrix<Eigen::MatrixXf>(3, 1, 12);
    const Eigen::MatrixXf b2 = random_matrix<Eigen::MatrixXf>(2, 1, 13);
    fixed.layer<0>().set_bias(b1);
    fixed.layer<1>().set_bias(b2);
    run_time.layer<0>().set_weights(fixed.layer<0>().weights());
    run_time.layer<1>().set_weights(fixed.layer<1>().weights());
    run_time.layer<0>().set_bias(b1);
    run_time.layer<1>().set_bias(b2);

    HandW3 hand{};
    for (int j = 0; j < 3; ++j) {
        for (int k = 0; k < 2; ++k) hand.w1[j][k] = fixed.layer<0>().weights()(j, k);
        hand.b1[j] = b1(j);
    }
    for (int j = 0; j < 2; ++j) {
        for (int k = 0; k < 3; ++k) hand.w2[j][k] = fixed.layer<1>().weights()(j, k);
        hand.b2[j] = b2(j);
    }

    const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(2, 8, 14, 0, 1);
    const Eigen::MatrixXf y = random_matrix<Eigen::MatrixXf>(2, 8, 15, 0, 1);
    const Eigen::Matrix<float, 2, 8> x_fixed = x;
    const Eigen::Matrix<float, 2, 8> y_fixed = y;
    Fixed::Workspace<1> ws_fixed;
    Run::Workspace<> ws_run;
    const float eta = 0.5f;
    for (int step = 0; step < 40; ++step) {
        const Eigen::Index k = step % 8;
        CAPTURE(step);
        const float c_fixed = fixed.train_step(x_fixed.col(k), y_fixed.col(k), ws_fixed, eta);
        const float c_run = run_time.train_step(x.col(k), y.col(k), ws_run, eta);
        const double xs[2] = {x(0, k), x(1, k)};
        const double ys[2] = {y(0, k), y(1, k)};
        const double c_hand = hand.step(xs, ys, eta);

        // Same sizes, same loops: equal bit for bit.
        CHECK(c_fixed == c_run);
        CHECK(Eigen::MatrixXf(ws_fixed.layer<0>().z) == ws_run.layer<0>().z);
        CHECK(Eigen::MatrixXf(ws_fixed.layer<1>().delta) == ws_run.layer<1>().delta);
        CHECK(Eigen::MatrixXf(ws_fixed.layer<0>().dW) == ws_run.layer<0>().dW);
        CHECK(Eigen::MatrixXf(fixed.layer<0>().weights()) == run_time.layer<0>().weights());
        CHECK(Eigen::MatrixXf(fixed.layer<1>().weights()) == run_time.layer<1>().weights());
        CHECK(Eigen::MatrixXf(fixed.layer<0>().bias()) == run_time.layer<0>().bias());
        CHECK(Eigen::MatrixXf(fixed.layer<1>().bias()) == run_time.layer<1>().bias());

        // Against double: float rounding of a few dozen operations per step, compounded over
        // the steps taken so far.
        const double tolerance = 1e-5 * (step + 1);
        CHECK(std::abs(double(c_fixed) - c_hand) <= tolerance);
        for (int j = 0; j < 3; ++j) {
            for (int i = 0; i < 2; ++i)
                CHECK(std::abs(double(fixed.layer<0>().weights()(j, i)) - hand.w1[j][i]) <=
                      tolerance);
            CHECK(std::abs(double(fixed.layer<0>().bias()(j)) - hand.b1[j]) <= tolerance);
        }
        for (int j = 0; j < 2; ++j) {
            for (int i = 0; i < 3; ++i)
                CHECK(std::abs(double(fixed.layer<1>().weights()(j, i)) - hand.w2[j][i]) <=
                      tolerance);
            CHECK(std::abs(double(fixed.layer<1>().bias()(j)) - hand.b2[j]) <= tolerance);
        }
    }
}

TEST_CASE("small products: a non-finite gradient of a small layer stops the step",
          "[layer][small][errors]") {
    using Layer = nabla::Dense<double, dynamic, dynamic, nabla::Sigmoid>;
    using Net = nabla::Network<nabla::SquaredError, Layer, Layer>;
    Net net({2, 3, 2}, 3);
    Net::Workspace<> ws;
    const Eigen::MatrixXd w1 = net.layer<0>().weights();
    Eigen::MatrixXd x(2, 1);
    x << std::numeric_limits<double>::quiet_NaN(), 0.5;
    Eigen::MatrixXd y(2, 1);
    y << 0.25, 0.75;
    CHECK_THROWS_AS(net.train_step(x, y, ws, 0.1), nabla::NumericalError);
    CHECK(net.layer<0>().weights() == w1);

    // The entry-by-entry check on its own: one NaN, one infinity, among finite entries.
    nabla::LayerState<double, 2, 3, 1> state;
    state.resize(2, 3, 1);  // on its own: the state holds its gradients
    state.dW.setConstant(0.5);
    state.db.setConstant(-2);
    CHECK(state.gradients_finite());
    state.dW(2, 1) = std::numeric_limits<double>::infinity();
    CHECK_FALSE(state.gradients_finite());
    state.dW(2, 1) = 0.5;
    state.db(2) = std::numeric_limits<double>::quiet_NaN();
    CHECK_FALSE(state.gradients_finite());
}

}  // namespace test_small_products
