// Activation policies: forward values against hand formulas (including z = ±1e4, where a naive
// softmax overflows), derivative() against central differences of forward(), the softmax
// Jacobian-vector product against an explicitly built Jacobian, and AnyActivation's dispatch,
// parsing and leaky-ReLU slope.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>

namespace test_activations {  // named for the unity build of nabla_tests

namespace {

using nabla::ActivationKind;
using nabla::AnyActivation;
using nabla::Identity;
using nabla::LeakyReLU;
using nabla::ReLU;
using nabla::Sigmoid;
using nabla::Softmax;
using nabla::Tanh;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// Points to evaluate element-wise activations at: 0, ±1, ±1e4 and a few ordinary values.
Matrix<double> probe_points() {
    Matrix<double> z(3, 4);
    z << 0, 1, -1, 0.5,      //
        1e4, -1e4, -2.5, 3,  //
        -0.25, 7, -7, 1e-3;
    return z;
}

/// Relative tolerance for values computed in Scalar from formulas accurate to a few ulps (Eigen's
/// vectorised exp and tanh are within a few ulps; 8 leaves room for one rounding more).
template <class Scalar>
double value_tolerance(double expected) {
    return 8 * double(std::numeric_limits<Scalar>::epsilon()) * std::max(1.0, std::abs(expected));
}

/// σ(z) written the other way round for z < 0, so the expected values do not share the
/// library's formula.
double sigmoid_by_hand(double z) {
    if (z >= 0)
        return 1 / (1 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1 + e);
}

double leaky_by_hand(double z, double slope) {
    return z > 0 ? z : slope * z;
}

/// forward() of `policy` on z in Scalar, returned in double.
template <class Scalar, class Policy>
Matrix<double> forward_in(const Policy& policy, const Matrix<double>& z) {
    const Matrix<Scalar> zs = z.cast<Scalar>();
    Matrix<Scalar> a(zs.rows(), zs.cols());
    policy.forward(zs, a);
    return a.template cast<double>();
}

/// Checks forward() of an element-wise `policy` against `by_hand` at every probe point.
template <class Scalar, class Policy, class F>
void check_forward(const Policy& policy, F&& by_hand) {
    const Matrix<double> z = probe_points().cast<Scalar>().template cast<double>();
    const Matrix<double> a = forward_in<Scalar>(policy, z);
    CHECK(a.allFinite());
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            const double expected = by_hand(z(j, k));
            CAPTURE(z(j, k), a(j, k), expected);
            CHECK(std::abs(a(j, k) - expected) <= value_tolerance<Scalar>(expected));
        }
    }
}

template <class Scalar>
void check_element_wise_forward() {
    check_forward<Scalar>(Identity{}, [](double z) { return z; });
    check_forward<Scalar>(Sigmoid{}, sigmoid_by_hand);
    check_forward<Scalar>(Tanh{}, [](double z) { return std::tanh(z); });
    check_forward<Scalar>(ReLU{}, [](double z) { return std::max(z, 0.0); });
    check_forward<Scalar>(LeakyReLU{}, [](double z) { return leaky_by_hand(z, 0.01); });
    check_forward<Scalar>(LeakyReLU{0.2}, [](double z) { return leaky_by_hand(z, 0.2); });

    // The saturated ends, exactly: e^−z overflows to inf for z = −1e4 and σ must give 0, not NaN.
    Matrix<Scalar> z(1, 5);
    z << Scalar(-1e4), Scalar(1e4), Scalar(0), Scalar(1), Scalar(-1);
    Matrix<Scalar> a(1, 5);
    Sigmoid{}.forward(z, a);
    CHECK(a(0, 0) == Scalar(0));
    CHECK(a(0, 1) == Scalar(1));
    CHECK(a(0, 2) == Scalar(0.5));
    CHECK(std::abs(double(a(0, 3)) + double(a(0, 4)) - 1) <= value_tolerance<Scalar>(1));
    Tanh{}.forward(z, a);
    CHECK(a(0, 0) == Scalar(-1));
    CHECK(a(0, 1) == Scalar(1));
    CHECK(a(0, 2) == Scalar(0));
    ReLU{}.forward(z, a);
    CHECK(a(0, 0) == Scalar(0));
    CHECK(a(0, 1) == Scalar(1e4));
}

/// Central difference of forward() at z, in double, with a step that balances truncation
/// against rounding.
template <class Policy>
double central_difference(const Policy& policy, double z) {
    const double h = std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, std::abs(z));
    Matrix<double> points(1, 2);
    points << z + h, z - h;
    const Matrix<double> a = forward_in<double>(policy, points);
    return (a(0, 0) - a(0, 1)) / ((z + h) - (z - h));
}

/// derivative(z, a) of `policy` in Scalar against central differences of forward() in double,
/// at points at least 0.25 away from the kinks of ReLU and leaky ReLU. The central difference
/// is good to ~1e-10 in double; the derivative in float is good to a few float ulps.
template <class Scalar, class Policy>
void check_derivative(const Policy& policy) {
    Matrix<double> z(2, 5);
    z << -3, -1, -0.25, 0.25, 0.5,  //
        1, 2.5, 4, 1e4, -1e4;
    const Matrix<Scalar> zs = z.cast<Scalar>();
    Matrix<Scalar> a(zs.rows(), zs.cols());
    policy.forward(zs, a);
    const Matrix<Scalar> derivative = policy.derivative(zs, a).matrix();
    const double tolerance = std::max(1e-8, 32 * double(std::numeric_limits<Scalar>::epsilon()));
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        for (Eigen::Index j = 0; j < z.rows(); ++j) {
            const double expected = central_difference(policy, z(j, k));
            CAPTURE(nabla::to_string(Policy::kind()), z(j, k), derivative(j, k), expected);
            CHECK(std::abs(double(derivative(j, k)) - expected) <= tolerance);
        }
    }
}

template <class Scalar>
void check_every_derivative() {
    check_derivative<Scalar>(Identity{});
    check_derivative<Scalar>(Sigmoid{});
    check_derivative<Scalar>(Tanh{});
    check_derivative<Scalar>(ReLU{});
    check_derivative<Scalar>(LeakyReLU{});
    check_derivative<Scalar>(LeakyReLU{0.3});
}

/// Softmax of the columns of z by hand, with the columns' maxima subtracted in double.
Matrix<double> softmax_by_hand(const Matrix<double>& z) {
    Matrix<double> a(z.rows(), z.cols());
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        double top = z(0, k);
        for (Eigen::Index j = 0; j < z.rows(); ++j)
            top = std::max(top, z(j, k));
        double sum = 0;
        for (Eigen::Index j = 0; j < z.rows(); ++j)
            sum += std::exp(z(j, k) - top);
        for (Eigen::Index j = 0; j < z.rows(); ++j)
            a(j, k) = std::exp(z(j, k) - top) / sum;
    }
    return a;
}

template <class Scalar>
void check_softmax_forward() {
    Matrix<double> z(3, 6);
    z << 1, 1e4, 1e4, -1e4, 0, -2,   //
        2, -1e4, 1e4, -1e4, 0, 0.5,  //
        3, 0, -1e4, -1e4, 0, 4;
    const Matrix<double> a = forward_in<Scalar>(Softmax{}, z);
    REQUIRE(a.allFinite());

    // Column 0 from the textbook formula e^zᵢ / Σ e^zⱼ, which is safe for small logits.
    const double sum = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    CHECK(std::abs(a(0, 0) - std::exp(1.0) / sum) <= value_tolerance<Scalar>(1));
    CHECK(std::abs(a(1, 0) - std::exp(2.0) / sum) <= value_tolerance<Scalar>(1));
    CHECK(std::abs(a(2, 0) - std::exp(3.0) / sum) <= value_tolerance<Scalar>(1));
    // Logits of ±1e4, where e^z overflows: the exact values are 1, 0, 0 / ½, ½, 0 / ⅓, ⅓, ⅓.
    // "0" means below the smallest normal number: Eigen's vectorised exp flushes e^−1e4 to a
    // subnormal (5.6e-309 in double, 2.9e-39 in float), not to 0.
    const double underflow = std::numeric_limits<Scalar>::min();
    CHECK(a(0, 1) == 1);
    CHECK(a(1, 1) <= underflow);
    CHECK(a(2, 1) <= underflow);
    CHECK(a(0, 2) == 0.5);
    CHECK(a(1, 2) == 0.5);
    CHECK(a(2, 2) <= underflow);
    for (Eigen::Index j = 0; j < 3; ++j) {
        CHECK(std::abs(a(j, 3) - 1.0 / 3) <= value_tolerance<Scalar>(1));
        CHECK(std::abs(a(j, 4) - 1.0 / 3) <= value_tolerance<Scalar>(1));
    }
    const Matrix<double> expected = softmax_by_hand(z);
    CHECK((a - expected).cwiseAbs().maxCoeff() <= value_tolerance<Scalar>(1));
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        CAPTURE(k);
        CHECK(std::abs(a.col(k).sum() - 1) <= value_tolerance<Scalar>(1));
    }
}

/// Every policy an AnyActivation can hold, for the dispatch tests.
const auto every_policy =
    std::make_tuple(Identity{}, Sigmoid{}, Tanh{}, ReLU{}, LeakyReLU{0.2}, Softmax{});

}  // namespace

TEST_CASE("activations: element-wise forward against hand formulas, double", "[activation]") {
    check_element_wise_forward<double>();
}

TEST_CASE("activations: element-wise forward against hand formulas, float", "[activation]") {
    check_element_wise_forward<float>();
}

TEST_CASE("activations: softmax forward, finite and normalised for logits of 1e4, double",
          "[activation]") {
    check_softmax_forward<double>();
}

TEST_CASE("activations: softmax forward, finite and normalised for logits of 1e4, float",
          "[activation]") {
    check_softmax_forward<float>();
}

TEST_CASE("activations: derivative matches central differences of forward, double",
          "[activation]") {
    check_every_derivative<double>();
}

TEST_CASE("activations: derivative matches central differences of forward, float", "[activation]") {
    check_every_derivative<float>();
}

TEST_CASE("activations: derivative at the kink is the documented subgradient", "[activation]") {
    const Matrix<double> z = Matrix<double>::Zero(1, 1);
    Matrix<double> a(1, 1);
    ReLU{}.forward(z, a);
    CHECK(ReLU{}.derivative(z, a)(0, 0) == 0);
    LeakyReLU{0.2}.forward(z, a);
    CHECK(LeakyReLU{0.2}.derivative(z, a)(0, 0) == 0.2);
}

TEST_CASE("activations: sigmoid derivative from the stored a is sigma(z)(1 - sigma(z))",
          "[activation]") {
    Matrix<double> z(1, 6);
    z << -4, -1, 0, 0.3, 2, 6;
    Matrix<double> a(1, 6);
    Sigmoid{}.forward(z, a);
    // The derivative is documented to come from a alone (as the notes derive it): a z of zeros
    // must not change it.
    const Matrix<double> zeros = Matrix<double>::Zero(1, 6);
    const Matrix<double> derivative = Sigmoid{}.derivative(zeros, a).matrix();
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const double s = sigmoid_by_hand(z(0, k));
        CAPTURE(z(0, k));
        CHECK(std::abs(derivative(0, k) - s * (1 - s)) <= 1e-15);
    }
    CHECK(std::abs(derivative(0, 2) - 0.25) <= 1e-15);

    // Likewise tanh: 1 − a².
    Tanh{}.forward(z, a);
    const Matrix<double> tanh_derivative = Tanh{}.derivative(zeros, a).matrix();
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const double t = std::tanh(z(0, k));
        CHECK(std::abs(tanh_derivative(0, k) - (1 - t * t)) <= 1e-15);
    }
}

TEST_CASE("activations: element-wise backward is da times the derivative", "[activation]") {
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 21, -2, 2);
    const Matrix<double> da = nabla_test::random_matrix<Matrix<double>>(4, 3, 22, -1, 1);
    Matrix<double> a(4, 3);
    Matrix<double> delta(4, 3);
    const auto check = [&](const auto& policy, auto&& derivative_by_hand) {
        policy.forward(z, a);
        policy.backward(z, a, da, delta);
        for (Eigen::Index k = 0; k < z.cols(); ++k) {
            for (Eigen::Index j = 0; j < z.rows(); ++j) {
                CAPTURE(nabla::to_string(policy.kind()), z(j, k));
                CHECK(std::abs(delta(j, k) - da(j, k) * derivative_by_hand(z(j, k))) <= 1e-15);
            }
        }
    };
    check(Identity{}, [](double) { return 1.0; });
    check(Sigmoid{}, [](double x) { return sigmoid_by_hand(x) * (1 - sigmoid_by_hand(x)); });
    check(Tanh{}, [](double x) { return 1 - std::tanh(x) * std::tanh(x); });
    check(ReLU{}, [](double x) { return x > 0 ? 1.0 : 0.0; });
    check(LeakyReLU{0.2}, [](double x) { return x > 0 ? 1.0 : 0.2; });
}

TEST_CASE("activations: softmax backward is the explicit Jacobian diag(a) - a a^T times da",
          "[activation]") {
    Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 5, 31, -3, 3);
    z.col(4) << 1e4, -1e4, 0, 1;  // saturated: J is 0, and so must δ be
    const Matrix<double> da = nabla_test::random_matrix<Matrix<double>>(4, 5, 32, -2, 2);
    Matrix<double> a(4, 5);
    Matrix<double> delta(4, 5);
    Softmax{}.forward(z, a);
    Softmax{}.backward(z, a, da, delta);
    REQUIRE(delta.allFinite());

    const Matrix<double> expected_a = softmax_by_hand(z);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Eigen::VectorXd p = expected_a.col(k);
        Eigen::MatrixXd jacobian(4, 4);
        for (Eigen::Index i = 0; i < 4; ++i)
            for (Eigen::Index j = 0; j < 4; ++j)
                jacobian(i, j) = (i == j ? p(i) : 0) - p(i) * p(j);
        // J is symmetric, so Jᵀ da = J da.
        const Eigen::VectorXd expected = jacobian * da.col(k);
        CAPTURE(k);
        CHECK((delta.col(k) - expected).cwiseAbs().maxCoeff() <= 1e-14);
    }
    // a = (1, 0, 0, 0) up to subnormals (see the forward test), so δ = a ⊙ (da − aᵀda) is too.
    CHECK(delta.col(4).cwiseAbs().maxCoeff() <= 4 * std::numeric_limits<double>::min());

    // The same product in float.
    const Matrix<float> zf = z.leftCols(4).cast<float>();
    const Matrix<float> daf = da.leftCols(4).cast<float>();
    Matrix<float> af(4, 4);
    Matrix<float> deltaf(4, 4);
    Softmax{}.forward(zf, af);
    Softmax{}.backward(zf, af, daf, deltaf);
    for (Eigen::Index k = 0; k < 4; ++k) {
        const Eigen::VectorXd p = expected_a.col(k);
        const Eigen::MatrixXd jacobian = Eigen::MatrixXd(p.asDiagonal()) - p * p.transpose();
        const Eigen::VectorXd expected = jacobian * da.col(k);
        CHECK((deltaf.col(k).cast<double>() - expected).cwiseAbs().maxCoeff() <= 1e-6);
    }
}

TEST_CASE("activations: AnyActivation dispatches to the same values as each policy",
          "[activation]") {
    const Matrix<double> z = nabla_test::random_matrix<Matrix<double>>(4, 3, 41, -3, 3);
    const Matrix<double> da = nabla_test::random_matrix<Matrix<double>>(4, 3, 42, -1, 1);
    std::apply(
        [&](const auto&... policies) {
            const auto check = [&](const auto& policy) {
                const AnyActivation any = policy;
                CAPTURE(nabla::to_string(policy.kind()));
                CHECK(any.kind() == policy.kind());
                CHECK(any.name() == nabla::to_string(policy.kind()));
                Matrix<double> a(4, 3), a_any(4, 3), delta(4, 3), delta_any(4, 3);
                policy.forward(z, a);
                any.forward(z, a_any);
                CHECK(a_any.cwiseEqual(a).all());
                policy.backward(z, a, da, delta);
                any.backward(z, a_any, da, delta_any);
                CHECK(delta_any.cwiseEqual(delta).all());
            };
            (check(policies), ...);
        },
        every_policy);

    CHECK(AnyActivation().kind() == ActivationKind::identity);
    CHECK(AnyActivation(LeakyReLU{0.2}).slope() == 0.2);
    CHECK(AnyActivation(LeakyReLU{0.2}) == AnyActivation(ActivationKind::leaky_relu, 0.2));
    CHECK(AnyActivation(LeakyReLU{0.2}) != AnyActivation(LeakyReLU{0.3}));
    CHECK(AnyActivation(ReLU{}) != AnyActivation(Tanh{}));
    // The slope only matters to leaky ReLU.
    CHECK(AnyActivation(ActivationKind::relu, 0.5) == AnyActivation(ReLU{}));
}

TEST_CASE("activations: parse round-trips every name and names the bad text", "[activation]") {
    for (ActivationKind kind :
         {ActivationKind::identity, ActivationKind::sigmoid, ActivationKind::tanh,
          ActivationKind::relu, ActivationKind::leaky_relu, ActivationKind::softmax}) {
        const std::string name(nabla::to_string(kind));
        CAPTURE(name);
        const AnyActivation parsed = AnyActivation::parse(name);
        CHECK(parsed.kind() == kind);
        CHECK(parsed.name() == name);
        CHECK(AnyActivation::parse(parsed.name()) == parsed);
    }
    CHECK(AnyActivation::parse("leaky_relu", 0.3).slope() == 0.3);

    REQUIRE_THROWS_AS(AnyActivation::parse("relux"), nabla::ConfigError);
    const std::string message =
        nabla_test::message_of<nabla::ConfigError>([] { AnyActivation::parse("relux"); });
    CAPTURE(message);
    CHECK(message.rfind("nabla: ", 0) == 0);
    CHECK(message.find("\"relux\"") != std::string::npos);
    CHECK(message.find("leaky_relu") != std::string::npos);  // lists what is accepted
    const std::string empty_message =
        nabla_test::message_of<nabla::ConfigError>([] { AnyActivation::parse(""); });
    CAPTURE(empty_message);
    CHECK(empty_message.find("\"\"") != std::string::npos);
}

TEST_CASE("activations: the leaky ReLU slope is honoured by the policy, AnyActivation and nets",
          "[activation]") {
    Matrix<double> z(1, 3);
    z << -3, 0, 2;
    Matrix<double> a(1, 3);
    LeakyReLU{}.forward(z, a);
    CHECK(std::abs(a(0, 0) - -0.03) <= 1e-15);
    LeakyReLU{0.2}.forward(z, a);
    CHECK(std::abs(a(0, 0) - -0.6) <= 1e-15);
    CHECK(a(0, 1) == 0);
    CHECK(a(0, 2) == 2);
    const Matrix<double> derivative = LeakyReLU{0.2}.derivative(z, a).matrix();
    CHECK(std::abs(derivative(0, 0) - 0.2) <= 1e-15);
    CHECK(derivative(0, 2) == 1);

    AnyActivation::parse("leaky_relu", 0.2).forward(z, a);
    CHECK(std::abs(a(0, 0) - -0.6) <= 1e-15);

    // Through the network machinery: one neuron with w = 1, b = 0 passes σ(z) = σ(x) straight out.
    const Matrix<double> one = Matrix<double>::Ones(1, 1);
    const Matrix<double> zero = Matrix<double>::Zero(1, 1);

    using Layer = nabla::Dense<double, 1, 1, LeakyReLU>;
    nabla::Network<nabla::HalfSquaredError, Layer> net(
        std::make_tuple(Layer(1, 1, LeakyReLU{0.2})));
    net.initialize(3);  // draws W again; must keep the slope
    net.layer<0>().set_weights(one);
    net.layer<0>().set_bias(zero);
    CHECK(net.layer<0>().activation().slope == 0.2);
    const Matrix<double> out = net.predict(z);
    CHECK(std::abs(out(0, 0) - -0.6) <= 1e-15);
    CHECK(out(0, 2) == 2);

    nabla::DynamicNetwork<double, nabla::HalfSquaredError> dynamic({1, 1}, {LeakyReLU{0.2}}, 3);
    dynamic.layer(0).set_weights(one);
    dynamic.layer(0).set_bias(zero);
    CHECK(dynamic.layer(0).activation().slope() == 0.2);
    const Matrix<double> dynamic_out = dynamic.predict(z);
    CHECK(std::abs(dynamic_out(0, 0) - -0.6) <= 1e-15);
}

}  // namespace test_activations
