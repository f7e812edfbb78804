// Loss policies: batch costs against hand formulas (the mean over the samples of the per-sample
// cost, §1.6 of the notes), cross-entropy costs that stay finite for logits of ±1e4, the fused
// output errors δᴸ against the unfused chain ∂C/∂a times the activation's Jacobian (equation (1)),
// and which output activation each loss accepts, at compile time and at run time.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace test_losses {  // named for the unity build of nabla_tests

namespace {

using nabla::ActivationKind;
using nabla::AnyActivation;
using nabla::BinaryCrossEntropy;
using nabla::CrossEntropy;
using nabla::HalfSquaredError;
using nabla::Identity;
using nabla::ReLU;
using nabla::Sigmoid;
using nabla::Softmax;
using nabla::SquaredError;
using nabla::Tanh;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

using State = nabla::LayerState<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic>;

const std::vector<ActivationKind> every_kind = {
    ActivationKind::identity, ActivationKind::sigmoid,    ActivationKind::tanh,
    ActivationKind::relu,     ActivationKind::leaky_relu, ActivationKind::softmax};

double sigmoid_by_hand(double z) {
    return 1 / (1 + std::exp(-z));
}

/// Softmax of one column by the textbook formula e^zᵢ / Σ e^zⱼ: fine for moderate logits.
Eigen::VectorXd softmax_by_hand(const Eigen::VectorXd& z) {
    const Eigen::VectorXd e = z.array().exp();
    return e / e.sum();
}

/// −Σⱼ yⱼ log aⱼ per column with a = softmax(z), averaged over the columns: the naive formula.
double cross_entropy_by_hand(const Matrix<double>& z, const Matrix<double>& y) {
    double total = 0;
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Eigen::VectorXd a = softmax_by_hand(z.col(k));
        for (Eigen::Index j = 0; j < z.rows(); ++j)
            total -= y(j, k) * std::log(a(j));
    }
    return total / double(z.cols());
}

/// −Σⱼ [yⱼ log aⱼ + (1 − yⱼ) log(1 − aⱼ)] per column with a = σ(z), averaged over the columns.
double binary_cross_entropy_by_hand(const Matrix<double>& z, const Matrix<double>& y) {
    double total = 0;
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            const double a = sigmoid_by_hand(z(j, k));
            total -= y(j, k) * std::log(a) + (1 - y(j, k)) * std::log(1 - a);
        }
    }
    return total / double(z.cols());
}

/// J = diag(a) − a aᵀ, the softmax Jacobian ∂aᵢ/∂zⱼ of one column.
Eigen::MatrixXd softmax_jacobian(const Eigen::VectorXd& a) {
    const Eigen::Index n = a.size();
    Eigen::MatrixXd jacobian(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < n; ++j)
            jacobian(i, j) = (i == j ? a(i) : 0) - a(i) * a(j);
    return jacobian;
}

/// A state of `rows` × `cols` with z given and a = σ(z) computed by hand.
State state_for(const Matrix<double>& z, ActivationKind kind) {
    State state;
    state.resize(1, z.rows(), z.cols());
    state.z = z;
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        if (kind == ActivationKind::softmax) {
            state.a.col(k) = softmax_by_hand(z.col(k));
        } else {
            for (Eigen::Index j = 0; j < z.rows(); ++j)
                state.a(j, k) = sigmoid_by_hand(z(j, k));
        }
    }
    return state;
}

/// Equation (1) through ∂C/∂a, as a network forms it for a loss that is not fused: state.da =
/// ∂C/∂a from the loss, then δ = J_σᵀ ∂C/∂a from the activation.
template <class Loss, class Activation>
void output_delta(const Activation& activation, State& state, const Matrix<double>& y) {
    Loss::gradient(state.a, y, state.da);
    activation.backward(state.z, state.a, state.da, state.delta);
}

/// Targets for the cross-entropy losses: a one-hot column, a soft probability column, and a
/// column whose sum is not 1 (the fused δ = (Σy) a − y must still be the exact gradient).
Matrix<double> cross_entropy_targets() {
    Matrix<double> y(4, 3);
    y << 0, 0.1, 0.5,  //
        1, 0.2, 1,     //
        0, 0.3, 0,     //
        0, 0.4, 0.25;
    return y;
}

/// A one-layer net 1 → n whose single input 1 gives the logits z = w: z is chosen exactly.
template <class Loss, class Scalar, int Outputs, class Activation>
auto net_with_logits(const Matrix<double>& w) {
    using Layer = nabla::Dense<Scalar, 1, Outputs, Activation>;
    nabla::Network<Loss, Layer> net;
    net.template layer<0>().set_weights(w.cast<Scalar>());
    net.template layer<0>().set_bias(Matrix<Scalar>::Zero(Outputs, 1));
    return net;
}

template <class Scalar>
void check_extreme_cross_entropy() {
    Matrix<double> w(2, 1);
    w << 1e4, -1e4;
    auto net = net_with_logits<CrossEntropy, Scalar, 2, Softmax>(w);
    const Matrix<Scalar> x = Matrix<Scalar>::Ones(1, 1);

    // One-hot on the class with logit −1e4: C = logsumexp(z) − z₂ = 1e4 − (−1e4) = 2e4, where
    // the naive −log a₂ = −log 0 is inf.
    Matrix<Scalar> wrong(2, 1);
    wrong << 0, 1;
    typename decltype(net)::template Workspace<> ws;
    const Scalar c = net.backward(x, wrong, ws);
    CHECK(std::isfinite(double(c)));
    CHECK(std::abs(double(c) - 2e4) <= 2e4 * 8 * std::numeric_limits<Scalar>::epsilon());
    // δ = a − y = (1, 0) − (0, 1): finite, and so are the gradients.
    const Matrix<Scalar> delta = ws.template layer<0>().delta;
    CHECK(std::abs(double(delta(0, 0)) - 1) <= 1e-6);
    CHECK(std::abs(double(delta(1, 0)) + 1) <= 1e-6);
    CHECK(ws.gradients_finite());
    CHECK_NOTHROW(net.train_step(x, wrong, ws, Scalar(1e-3)));

    // One-hot on the right class: C = 0 (up to e^−2e4, which is 0 in any precision).
    Matrix<Scalar> right(2, 1);
    right << 1, 0;
    CHECK(std::abs(double(net_with_logits<CrossEntropy, Scalar, 2, Softmax>(w).loss(x, right))) <=
          1e-6);

    // The policy alone, on a batch of both columns: mean of 2e4 and 0.
    Matrix<Scalar> z(2, 2);
    z << Scalar(1e4), Scalar(1e4), Scalar(-1e4), Scalar(-1e4);
    Matrix<Scalar> a(2, 2);
    Softmax{}.forward(z, a);
    Matrix<Scalar> y(2, 2);
    y << 0, 1, 1, 0;
    const Scalar batch_cost = CrossEntropy::fused_cost(z, y);
    CHECK(std::abs(double(batch_cost) - 1e4) <= 1e4 * 8 * std::numeric_limits<Scalar>::epsilon());
}

template <class Scalar>
void check_extreme_binary_cross_entropy() {
    Matrix<double> w(4, 1);
    w << 1e4, -1e4, 1e4, -1e4;
    auto net = net_with_logits<BinaryCrossEntropy, Scalar, 4, Sigmoid>(w);
    const Matrix<Scalar> x = Matrix<Scalar>::Ones(1, 1);
    // Wrong, wrong, right, right: each wrong one costs |z| = 1e4 (the naive formula takes log 0),
    // each right one costs log(1 + e^−1e4) = 0.
    Matrix<Scalar> y(4, 1);
    y << 0, 1, 1, 0;
    typename decltype(net)::template Workspace<> ws;
    const Scalar c = net.backward(x, y, ws);
    CHECK(std::isfinite(double(c)));
    CHECK(std::abs(double(c) - 2e4) <= 2e4 * 8 * std::numeric_limits<Scalar>::epsilon());
    const Matrix<Scalar> delta = ws.template layer<0>().delta;
    CHECK(delta.allFinite());
    CHECK(std::abs(double(delta(0, 0)) - 1) <= 1e-6);
    CHECK(std::abs(double(delta(1, 0)) + 1) <= 1e-6);
    CHECK(std::abs(double(delta(2, 0))) <= 1e-6);
    CHECK(std::abs(double(delta(3, 0))) <= 1e-6);
    CHECK_NOTHROW(net.train_step(x, y, ws, Scalar(1e-3)));
}

}  // namespace

TEST_CASE("losses: quadratic costs are batch means of hand-computed sums", "[loss]") {
    Matrix<double> a(2, 3);
    a << 0.5, -1, 2,  //
        0.25, 0, 1;
    Matrix<double> y(2, 3);
    y << 1, -1, 0,  //
        0, 0.5, 1;
    // Per sample Σ(a − y)²: 0.25 + 0.0625, 0 + 0.25, 4 + 0.
    const double sum_of_squares = (0.3125 + 0.25 + 4) / 3;
    CHECK(std::abs(SquaredError::cost(a, y) - sum_of_squares) <= 1e-15);
    CHECK(std::abs(HalfSquaredError::cost(a, y) - sum_of_squares / 2) <= 1e-15);

    // One sample is a batch of one: no division by anything else.
    CHECK(SquaredError::cost(a.col(2), y.col(2)) == 4);
    CHECK(HalfSquaredError::cost(a.col(2), y.col(2)) == 2);

    // Float, same numbers (all exact in binary).
    const Matrix<float> af = a.cast<float>();
    const Matrix<float> yf = y.cast<float>();
    CHECK(std::abs(double(SquaredError::cost(af, yf)) - sum_of_squares) <= 1e-6);
}

TEST_CASE("losses: quadratic costs match a naive loop on a random batch", "[loss]") {
    const Matrix<double> a = nabla_test::random_matrix<Matrix<double>>(5, 7, 51, -2, 2);
    const Matrix<double> y = nabla_test::random_matrix<Matrix<double>>(5, 7, 52, -2, 2);
    double total = 0;
    for (Eigen::Index k = 0; k < a.cols(); ++k)
        for (Eigen::Index j = 0; j < a.rows(); ++j)
            total += (a(j, k) - y(j, k)) * (a(j, k) - y(j, k));
    const double mean = total / 7;
    CHECK(std::abs(SquaredError::cost(a, y) - mean) <= 1e-13);
    CHECK(std::abs(HalfSquaredError::cost(a, y) - mean / 2) <= 1e-13);
}

TEST_CASE("losses: cross-entropy costs match the naive formulas for moderate logits", "[loss]") {
    // Uniform logits: a = ⅓ each, so C = log 3 for any target column that sums to 1.
    const Matrix<double> flat = Matrix<double>::Constant(3, 1, 0.7);
    Matrix<double> soft(3, 1);
    soft << 0.2, 0.3, 0.5;
    CHECK(std::abs(CrossEntropy::fused_cost(flat, soft) - std::log(3.0)) <= 1e-15);

    // z = 0: σ = ½, so C = log 2 per output for any target in [0, 1].
    const Matrix<double> zeros = Matrix<double>::Zero(3, 1);
    CHECK(std::abs(BinaryCrossEntropy::fused_cost(zeros, soft) - 3 * std::log(2.0)) <=
          1e-15);

    // Random logits, targets of every kind (one-hot, soft, sum ≠ 1), batch of 3.
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 61, -3, 3);
    const Matrix<double> y = cross_entropy_targets();
    CHECK(std::abs(CrossEntropy::fused_cost(z, y) -
                   cross_entropy_by_hand(z, y)) <= 1e-13);
    const Matrix<double> zf = z.cast<float>().cast<double>();
    CHECK(std::abs(double(CrossEntropy::fused_cost(zf.cast<float>(), y.cast<float>())) -
                   cross_entropy_by_hand(zf, y)) <= 1e-5);

    Matrix<double> binary_y = nabla_test::random_matrix<Matrix<double>>(4, 3, 62, 0, 1);
    binary_y(0, 0) = 0;
    binary_y(1, 1) = 1;
    CHECK(std::abs(BinaryCrossEntropy::fused_cost(z, binary_y) -
                   binary_cross_entropy_by_hand(z, binary_y)) <= 1e-13);
    CHECK(std::abs(double(BinaryCrossEntropy::fused_cost(zf.cast<float>(),
                                                         binary_y.cast<float>())) -
                   binary_cross_entropy_by_hand(zf, binary_y.cast<float>().cast<double>())) <=
          1e-5);
}

TEST_CASE("losses: a network's loss is the hand formula on its own output", "[loss]") {
    const Matrix<double> x = nabla_test::random_matrix<Matrix<double>>(3, 4, 71, -1, 1);
    nabla::DynamicNetwork<double, CrossEntropy> classifier({3, 5, 4}, {Tanh{}, Softmax{}}, 7);
    const Matrix<double> y = cross_entropy_targets().leftCols(3).replicate(1, 2).leftCols(4);
    // Recompute the logits by hand from the weights, then the naive cross-entropy.
    const auto& l1 = classifier.layer(0);
    const auto& l2 = classifier.layer(1);
    const Matrix<double> hidden =
        ((l1.weights() * x).colwise() + l1.bias()).array().tanh().matrix();
    const Matrix<double> logits = (l2.weights() * hidden).colwise() + l2.bias();
    CHECK(std::abs(classifier.loss(x, y) - cross_entropy_by_hand(logits, y)) <= 1e-13);

    nabla::DynamicNetwork<double, HalfSquaredError> regression({3, 2}, {Identity{}}, 8);
    const Matrix<double> targets = nabla_test::random_matrix<Matrix<double>>(2, 4, 72, -1, 1);
    const Matrix<double> out =
        (regression.layer(0).weights() * x).colwise() + regression.layer(0).bias();
    CHECK(std::abs(regression.loss(x, targets) - (out - targets).squaredNorm() / 8) <= 1e-14);
}

TEST_CASE("losses: cross-entropy stays finite and exact for logits of 1e4, double", "[loss]") {
    check_extreme_cross_entropy<double>();
}

TEST_CASE("losses: cross-entropy stays finite and exact for logits of 1e4, float", "[loss]") {
    check_extreme_cross_entropy<float>();
}

TEST_CASE("losses: binary cross-entropy stays finite and exact for logits of 1e4, double",
          "[loss]") {
    check_extreme_binary_cross_entropy<double>();
}

TEST_CASE("losses: binary cross-entropy stays finite and exact for logits of 1e4, float",
          "[loss]") {
    check_extreme_binary_cross_entropy<float>();
}

TEST_CASE("losses: fused cross-entropy delta equals dC/da times the softmax Jacobian", "[loss]") {
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 81, -3, 3);
    const Matrix<double> y = cross_entropy_targets();
    State state = state_for(z, ActivationKind::softmax);
    CrossEntropy::fused_delta(state.a, y, state.delta);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Eigen::VectorXd a = state.a.col(k);
        // Unfused chain: ∂C/∂aⱼ = −yⱼ / aⱼ, then δ = Jᵀ ∂C/∂a with J = diag(a) − a aᵀ.
        const Eigen::VectorXd dc_da = -y.col(k).array() / a.array();
        const Eigen::VectorXd expected = softmax_jacobian(a).transpose() * dc_da;
        CAPTURE(k);
        CHECK((state.delta.col(k) - expected).cwiseAbs().maxCoeff() <= 1e-13);
    }

    // Also δ = ∂C/∂z per sample: central differences of the batch cost, times the batch size
    // (the cost is a mean, δ is per sample).
    const double h = 1e-6;
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            Matrix<double> up = z;
            Matrix<double> down = z;
            up(j, k) += h;
            down(j, k) -= h;
            const double numeric = (cross_entropy_by_hand(up, y) - cross_entropy_by_hand(down, y)) /
                                   (2 * h) * double(z.cols());
            CHECK(std::abs(state.delta(j, k) - numeric) <= 1e-8);
        }
    }
}

TEST_CASE("losses: fused binary cross-entropy delta equals dC/da times sigma'(z)", "[loss]") {
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 91, -3, 3);
    Matrix<double> y = nabla_test::random_matrix<Matrix<double>>(4, 3, 92, 0, 1);
    y(0, 0) = 0;
    y(3, 2) = 1;
    State state = state_for(z, ActivationKind::sigmoid);
    BinaryCrossEntropy::fused_delta(state.a, y, state.delta);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            const double a = state.a(j, k);
            const double dc_da = -y(j, k) / a + (1 - y(j, k)) / (1 - a);
            CHECK(std::abs(state.delta(j, k) - dc_da * a * (1 - a)) <= 1e-13);
        }
    }
}

TEST_CASE("losses: quadratic deltas are dC/da through the activation (Hadamard or Jacobian)",
          "[loss]") {
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 101, -3, 3);
    const Matrix<double> y = nabla_test::random_matrix<Matrix<double>>(4, 3, 102, -1, 1);

    State sig = state_for(z, ActivationKind::sigmoid);
    output_delta<SquaredError>(Sigmoid{}, sig, y);
    State half_sig = state_for(z, ActivationKind::sigmoid);
    output_delta<HalfSquaredError>(Sigmoid{}, half_sig, y);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            const double a = sig.a(j, k);
            CHECK(std::abs(sig.da(j, k) - 2 * (a - y(j, k))) <= 1e-15);
            CHECK(std::abs(sig.delta(j, k) - 2 * (a - y(j, k)) * a * (1 - a)) <= 1e-15);
            CHECK(std::abs(half_sig.da(j, k) - (a - y(j, k))) <= 1e-15);
            CHECK(std::abs(half_sig.delta(j, k) - (a - y(j, k)) * a * (1 - a)) <= 1e-15);
        }
    }

    State soft = state_for(z, ActivationKind::softmax);
    output_delta<HalfSquaredError>(Softmax{}, soft, y);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Eigen::VectorXd a = soft.a.col(k);
        const Eigen::VectorXd dc_da = a - y.col(k);
        const Eigen::VectorXd expected = softmax_jacobian(a).transpose() * dc_da;
        CHECK((soft.delta.col(k) - expected).cwiseAbs().maxCoeff() <= 1e-15);
    }
}

TEST_CASE("losses: accepts() lets cross-entropy pair with softmax and sigmoid only", "[loss]") {
    // Checked at compile time too: a static Network of a mismatched pair fails in a
    // static_assert, which a test cannot compile; these are the predicates it uses.
    using nabla::LossTraits;
    static_assert(LossTraits<CrossEntropy>::accepts("softmax"));
    static_assert(!LossTraits<CrossEntropy>::accepts("sigmoid"));
    static_assert(LossTraits<BinaryCrossEntropy>::accepts("sigmoid"));
    for (ActivationKind kind : every_kind) {
        const std::string name(nabla::to_string(kind));
        CAPTURE(name);
        CHECK(LossTraits<CrossEntropy>::accepts(name) == (kind == ActivationKind::softmax));
        CHECK(LossTraits<BinaryCrossEntropy>::accepts(name) == (kind == ActivationKind::sigmoid));
        CHECK(LossTraits<SquaredError>::accepts(name));
        CHECK(LossTraits<HalfSquaredError>::accepts(name));
    }
}

TEST_CASE("losses: a run-time output activation that does not fit throws ConfigError", "[loss]") {
    using nabla::ConfigError;
    using nabla_test::message_of;
    using CrossEntropyNet = nabla::DynamicNetwork<double, CrossEntropy>;
    using BinaryNet = nabla::DynamicNetwork<double, BinaryCrossEntropy>;
    using BinaryNetF = nabla::DynamicNetwork<float, BinaryCrossEntropy>;
    using Sizes = std::vector<Eigen::Index>;

    const std::string sigmoid_ce = message_of<ConfigError>([] {
        CrossEntropyNet(Sizes{2, 3}, {Sigmoid{}});
    });
    CAPTURE(sigmoid_ce);
    CHECK(sigmoid_ce.rfind("nabla: ", 0) == 0);
    CHECK(sigmoid_ce.find("output activation sigmoid") != std::string::npos);
    CHECK(sigmoid_ce.find("CrossEntropy needs softmax") != std::string::npos);

    const std::string softmax_bce = message_of<ConfigError>([] {
        BinaryNetF(Sizes{2, 3, 2}, {Tanh{}, Softmax{}});
    });
    CAPTURE(softmax_bce);
    CHECK(softmax_bce.find("output activation softmax") != std::string::npos);
    CHECK(softmax_bce.find("BinaryCrossEntropy needs sigmoid") != std::string::npos);

    // Softmax in a hidden layer does not make a softmax output.
    const std::string hidden_softmax = message_of<ConfigError>([] {
        CrossEntropyNet(Sizes{2, 3, 2}, {Softmax{}, ReLU{}});
    });
    CAPTURE(hidden_softmax);
    CHECK(hidden_softmax.find("output activation relu") != std::string::npos);

    // DynamicNetwork from ready-made layers.
    using Layer = BinaryNet::Layer;
    const std::string from_layers = message_of<ConfigError>([] {
        BinaryNet(std::vector<Layer>{Layer(2, 3, Sigmoid{}), Layer(3, 1, Tanh{})});
    });
    CAPTURE(from_layers);
    CHECK(from_layers.find("output activation tanh") != std::string::npos);

    // A static Network whose output activation is an AnyActivation is checked at run time.
    using AnyLayer = nabla::Dense<double, Eigen::Dynamic, Eigen::Dynamic, AnyActivation>;
    using AnyNet = nabla::Network<CrossEntropy, AnyLayer>;
    const std::string any_relu =
        message_of<ConfigError>([] { AnyNet(std::make_tuple(AnyLayer(2, 3, ReLU{}))); });
    CAPTURE(any_relu);
    CHECK(any_relu.find("output activation relu") != std::string::npos);
    // A default AnyActivation is the identity.
    const std::string any_default = message_of<ConfigError>([] { AnyNet(Sizes{2, 3}); });
    CAPTURE(any_default);
    CHECK(any_default.find("output activation identity") != std::string::npos);

    // The pairs that fit construct.
    CHECK_NOTHROW(CrossEntropyNet(Sizes{2, 3}, {Softmax{}}));
    CHECK_NOTHROW(BinaryNet(Sizes{2, 3}, {Sigmoid{}}));
    CHECK_NOTHROW(AnyNet(std::make_tuple(AnyLayer(2, 3, Softmax{}))));
    CHECK_NOTHROW(nabla::DynamicNetwork<double, SquaredError>(Sizes{2, 3}, {Softmax{}}));
    CHECK_NOTHROW(nabla::DynamicNetwork<double, HalfSquaredError>(Sizes{2, 3}, {ReLU{}}));
}

}  // namespace test_losses
