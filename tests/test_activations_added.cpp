// GELU, ELU (α = 1 and 0.5) and Softplus: forward against the hand formulas in long double over
// [−20, 20] (0 and tiny |z| included) and at large |z| (finite, the right asymptote), the
// derivative against central differences of forward and against the hand formulas, backward and
// AnyActivation's dispatch, gradient checks through 3-layer double networks (Network and
// DynamicNetwork, chosen by name), ELU's α through a version 2 model file, and DefaultInit
// drawing He weights for all three (AnyActivation::rectifier()).

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace test_activations_added {  // named for the unity build of nabla_tests

namespace {

using nabla::AnyActivation;
using nabla::ELU;
using nabla::GELU;
using nabla::Softplus;
using nabla_test::random_matrix;
using nabla_test::same_parameters;

constexpr int dynamic = Eigen::Dynamic;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using MatrixD = Matrix<double>;
using Long = long double;

const Long sqrt2 = std::sqrt(Long(2));
const Long sqrt2pi = std::sqrt(2 * std::acos(Long(-1)));

// The hand formulas, in long double. GELU through erfc, which keeps its relative accuracy for
// z ≪ 0 where 1 + erf(z/√2) cancels.
Long gelu_by_hand(Long z) { return Long(0.5) * z * std::erfc(-z / sqrt2); }
Long gelu_derivative_by_hand(Long z) {
    return Long(0.5) * std::erfc(-z / sqrt2) + z * std::exp(-z * z / 2) / sqrt2pi;
}
Long elu_by_hand(Long z, Long alpha) { return z > 0 ? z : alpha * std::expm1(z); }
Long elu_derivative_by_hand(Long z, Long alpha) { return z > 0 ? Long(1) : alpha * std::exp(z); }
Long softplus_by_hand(Long z) {
    return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}
Long softplus_derivative_by_hand(Long z) { return 1 / (1 + std::exp(-z)); }

/// z over [−20, 20] in steps of 1/8 (exact in float), with 0, ±1e-3, ±1e-6 and ±1e-30.
template <class Scalar>
Matrix<Scalar> grid() {
    std::vector<Scalar> values;
    for (int i = -160; i <= 160; ++i) values.push_back(Scalar(i) / Scalar(8));
    for (double tiny : {1e-3, 1e-6, 1e-30}) {
        values.push_back(Scalar(tiny));
        values.push_back(Scalar(-tiny));
    }
    Matrix<Scalar> z(1, Eigen::Index(values.size()));
    for (std::size_t i = 0; i < values.size(); ++i) z(0, Eigen::Index(i)) = values[i];
    return z;
}

/// ±1e4, ±1e30 and ±max/4: far past where e^z or z² overflow.
template <class Scalar>
Matrix<Scalar> large() {
    const Scalar top = std::numeric_limits<Scalar>::max() / 4;
    Matrix<Scalar> z(1, 6);
    z << Scalar(1e4), Scalar(-1e4), Scalar(1e30), Scalar(-1e30), top, -top;
    return z;
}

/// How an activation is checked: its policy, the hand formulas, and whether its errors are
/// bounded relative to max(1, |value|) (GELU, whose 1 + erf cancels for z ≪ 0, and ELU's
/// derivative a + α) or to |value| itself (down to the underflow threshold).
template <class Policy>
struct Case {
    Policy policy;
    const char* name;
    Long (*value)(Long, Long);
    Long (*derivative)(Long, Long);
    Long alpha;
    bool value_absolute;
    bool derivative_absolute;
};

Long gelu_value(Long z, Long) { return gelu_by_hand(z); }
Long gelu_slope(Long z, Long) { return gelu_derivative_by_hand(z); }
Long softplus_value(Long z, Long) { return softplus_by_hand(z); }
Long softplus_slope(Long z, Long) { return softplus_derivative_by_hand(z); }

auto every_case() {
    return std::make_tuple(
        Case<GELU>{GELU{}, "gelu", gelu_value, gelu_slope, 0, true, true},
        Case<ELU>{ELU{}, "elu 1", elu_by_hand, elu_derivative_by_hand, 1, false, true},
        Case<ELU>{ELU{0.5}, "elu 0.5", elu_by_hand, elu_derivative_by_hand, 0.5, false, true},
        Case<Softplus>{Softplus{}, "softplus", softplus_value, softplus_slope, 0, false, false});
}

template <class F>
void for_each_case(F&& f) {
    std::apply([&](const auto&... c) { (f(c), ...); }, every_case());
}

/// The allowed error of a value `expected` computed in Scalar: 8 ulps relative to max(1, |v|)
/// or to |v| (plus the smallest normal number, below which results underflow).
template <class Scalar>
Long tolerance(Long expected, bool absolute) {
    const Long eps = Long(std::numeric_limits<Scalar>::epsilon());
    if (absolute) return 8 * eps * std::max(Long(1), std::abs(expected));
    return 8 * eps * std::abs(expected) + Long(std::numeric_limits<Scalar>::min());
}

template <class Scalar, class Policy>
void check_forward(const Case<Policy>& c, const Matrix<Scalar>& z) {
    Matrix<Scalar> a(z.rows(), z.cols());
    c.policy.forward(z, a);
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Long expected = c.value(Long(z(0, k)), c.alpha);
        CAPTURE(c.name, double(z(0, k)), double(a(0, k)), double(expected));
        REQUIRE(std::isfinite(a(0, k)));
        CHECK(std::abs(Long(a(0, k)) - expected) <= tolerance<Scalar>(expected, c.value_absolute));
    }
}

template <class Scalar, class Policy>
void check_derivative_by_hand(const Case<Policy>& c, const Matrix<Scalar>& z) {
    Matrix<Scalar> a(z.rows(), z.cols());
    c.policy.forward(z, a);
    const Matrix<Scalar> derivative = c.policy.derivative(z, a).matrix();
    for (Eigen::Index k = 0; k < z.cols(); ++k) {
        const Long expected = c.derivative(Long(z(0, k)), c.alpha);
        CAPTURE(c.name, double(z(0, k)), double(derivative(0, k)), double(expected));
        REQUIRE(std::isfinite(derivative(0, k)));
        // Twice the value's allowance: σ' is a sum of two rounded terms.
        CHECK(std::abs(Long(derivative(0, k)) - expected) <=
              2 * tolerance<Scalar>(expected, c.derivative_absolute));
    }
}

template <class Scalar>
void check_forward_and_derivative() {
    const Matrix<Scalar> z = grid<Scalar>();
    const Matrix<Scalar> far = large<Scalar>();
    for_each_case([&](const auto& c) {
        check_forward<Scalar>(c, z);
        check_forward<Scalar>(c, far);
        check_derivative_by_hand<Scalar>(c, z);
        check_derivative_by_hand<Scalar>(c, far);
    });
}

/// Central difference of forward() in double at z, with h = ε^(1/3)·max(1, |z|).
template <class Policy>
double central_difference(const Policy& policy, double z, double h) {
    MatrixD points(1, 2);
    points << z + h, z - h;
    MatrixD a(1, 2);
    policy.forward(points, a);
    return (a(0, 0) - a(0, 1)) / ((z + h) - (z - h));
}

}  // namespace

TEST_CASE("activations added: forward and derivative against the hand formulas, double",
          "[activation]") {
    check_forward_and_derivative<double>();
}

TEST_CASE("activations added: forward and derivative against the hand formulas, float",
          "[activation]") {
    check_forward_and_derivative<float>();
}

TEST_CASE("activations added: the limits at large |z| are exact", "[activation]") {
    const MatrixD z = large<double>();
    MatrixD a(1, 6);
    GELU{}.forward(z, a);  // z·Φ(z): z above, 0 below
    CHECK(a(0, 0) == 1e4);
    CHECK(a(0, 1) == 0);
    CHECK(a(0, 4) == z(0, 4));
    CHECK(a(0, 5) == 0);
    ELU{0.5}.forward(z, a);  // z above, −α below
    CHECK(a(0, 0) == 1e4);
    CHECK(a(0, 1) == -0.5);
    CHECK(a(0, 5) == -0.5);
    Softplus{}.forward(z, a);  // z above, 0 below
    CHECK(a(0, 0) == 1e4);
    CHECK(a(0, 1) == 0);
    CHECK(a(0, 4) == z(0, 4));
    CHECK(a(0, 5) == 0);
}

TEST_CASE("activations added: derivative matches central differences of forward",
          "[activation]") {
    const MatrixD z = grid<double>();
    for_each_case([&](const auto& c) {
        MatrixD a(z.rows(), z.cols());
        c.policy.forward(z, a);
        const MatrixD derivative = c.policy.derivative(z, a).matrix();
        // backward() with ∂C/∂a = 1 is the derivative; with another ∂C/∂a, its product.
        MatrixD delta(z.rows(), z.cols());
        c.policy.backward(z, a, MatrixD::Ones(z.rows(), z.cols()), delta);
        CHECK(delta == derivative);
        const MatrixD da = random_matrix<MatrixD>(z.rows(), z.cols(), 3, -2, 2);
        c.policy.backward(z, a, da, delta);
        CHECK(delta == MatrixD(da.cwiseProduct(derivative)));

        for (Eigen::Index k = 0; k < z.cols(); ++k) {
            const double zk = z(0, k);
            const double h = std::cbrt(std::numeric_limits<double>::epsilon()) *
                             std::max(1.0, std::abs(zk));
            // ELU is not twice differentiable at 0 (nor once for α ≠ 1): no difference across it.
            if (std::string(c.name).rfind("elu", 0) == 0 && std::abs(zk) < 2 * h) continue;
            const double expected = central_difference(c.policy, zk, h);
            CAPTURE(c.name, zk, derivative(0, k), expected);
            CHECK(std::abs(derivative(0, k) - expected) <= 1e-8 * std::max(1.0, std::abs(expected)));
        }
    });
    // At its kink ELU takes the left derivative, a + α = α, as documented.
    const MatrixD zero = MatrixD::Zero(1, 1);
    MatrixD a(1, 1);
    ELU{0.5}.forward(zero, a);
    CHECK(a(0, 0) == 0);
    CHECK(ELU{0.5}.derivative(zero, a)(0, 0) == 0.5);
    ELU{}.forward(zero, a);
    CHECK(ELU{}.derivative(zero, a)(0, 0) == 1);
}

/// True when every entry of `a` is within 4 ulps of the entry of `b` (relative, or below the
/// smallest normal number).
template <class M>
bool within_ulps(const M& a, const M& b) {
    using Scalar = typename M::Scalar;
    const Scalar eps = std::numeric_limits<Scalar>::epsilon();
    return a.rows() == b.rows() && a.cols() == b.cols() &&
           ((a - b).array().abs() <=
            4 * eps * b.array().abs() + std::numeric_limits<Scalar>::min())
               .all();
}

TEST_CASE("activations added: AnyActivation by name computes what the policy computes",
          "[activation]") {
    // To an ulp, not bit for bit: the policy's array expressions (softplus's exp and log1p) are
    // vectorised on a plain matrix, where AnyActivation's Eigen::Ref may take the scalar
    // functions, as DynamicNetwork's comment says of fixed and run-time sizes.
    const MatrixD z = grid<double>();
    const Matrix<float> zf = grid<float>();
    const auto same = [&](const AnyActivation& any, const auto& policy) {
        CAPTURE(std::string(any.name()));
        MatrixD a(z.rows(), z.cols()), expected_a(z.rows(), z.cols());
        any.forward(z, a);
        policy.forward(z, expected_a);
        CHECK(within_ulps(a, expected_a));
        const MatrixD da = random_matrix<MatrixD>(z.rows(), z.cols(), 4, -1, 1);
        MatrixD delta(z.rows(), z.cols()), expected_delta(z.rows(), z.cols());
        any.backward(z, a, da, delta);
        policy.backward(z, expected_a, da, expected_delta);
        CHECK(within_ulps(delta, expected_delta));
        Matrix<float> af(zf.rows(), zf.cols()), expected_af(zf.rows(), zf.cols());
        any.forward(zf, af);
        policy.forward(zf, expected_af);
        CHECK(within_ulps(af, expected_af));
        // Control: a different activation is told apart.
        Matrix<float> relu(zf.rows(), zf.cols());
        nabla::ReLU{}.forward(zf, relu);
        CHECK_FALSE(within_ulps(af, relu));
    };
    same(AnyActivation::parse("gelu"), GELU{});
    same(AnyActivation::parse("elu"), ELU{});
    same(AnyActivation::parse("softplus"), Softplus{});
    same(nabla::ActivationRegistry::instance().make("elu", {{"alpha", 0.5}}), ELU{0.5});
    same(AnyActivation(ELU{0.5}), ELU{0.5});

    CHECK(std::string(AnyActivation::parse("gelu").name()) == "gelu");
    CHECK(std::string(AnyActivation::parse("elu").name()) == "elu");
    CHECK(std::string(AnyActivation::parse("softplus").name()) == "softplus");
    CHECK(AnyActivation::parse("elu").attributes().get_or("alpha", -1) == 1);
    CHECK(AnyActivation(ELU{0.5}).attributes().get_or("alpha", -1) == 0.5);
    CHECK(AnyActivation::parse("gelu").kind() == nabla::ActivationKind::custom);
    CHECK(AnyActivation(ELU{0.5}) != AnyActivation(ELU{}));
    CHECK(AnyActivation(ELU{0.5}) == nabla::ActivationRegistry::instance().make("elu", {{"alpha", 0.5}}));
}

namespace {

constexpr Eigen::Index batch = 6;

/// The largest gradient-check step over a network's parameters: ε^(1/3)·max(1, max |w|).
template <class Net>
double largest_step(const Net& net) {
    const double top = nabla::copy_parameters(net).cwiseAbs().maxCoeff();
    return std::cbrt(std::numeric_limits<double>::epsilon()) * std::max(1.0, top);
}

/// The smallest |z| of the two hidden layers on x, from a backward pass.
template <class Net, class ZOf>
double smallest_hidden_z(const Net& net, const MatrixD& x, const MatrixD& y, ZOf&& z_of) {
    typename Net::template Workspace<> ws;
    net.backward(x, y, ws);
    return std::min(z_of(ws, 0).cwiseAbs().minCoeff(), z_of(ws, 1).cwiseAbs().minCoeff());
}

template <class A>
using HiddenOf = nabla::Dense<double, dynamic, dynamic, A>;
using Output = nabla::Dense<double, dynamic, dynamic, nabla::Identity>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

}  // namespace

TEST_CASE("activations added: gradient checks through 3-layer double networks",
          "[activation][gradient]") {
    const MatrixD x = random_matrix<MatrixD>(4, batch, 11, -1.5, 1.5);
    const MatrixD y = random_matrix<MatrixD>(2, batch, 12);

    const auto check_network = [&](const auto& policy, std::uint64_t seed, bool kink) {
        using A = std::decay_t<decltype(policy)>;
        using Net = nabla::Network<nabla::HalfSquaredError, HiddenOf<A>, HiddenOf<A>, Output>;
        Net net(std::make_tuple(HiddenOf<A>(4, 6, policy), HiddenOf<A>(6, 5, policy),
                                Output(5, 2)));
        net.initialize(seed);
        CAPTURE(A::name(), seed);
        if (kink) {  // keep every z of the check on one side of ELU's kink at 0
            const double margin = smallest_hidden_z(net, x, y, [](auto& ws, int l) {
                return l == 0 ? MatrixD(ws.template layer<0>().z) : MatrixD(ws.template layer<1>().z);
            });
            CAPTURE(margin);
            REQUIRE(margin > 100 * largest_step(net));
        }
        const double worst = nabla::gradient_check(net, x, y).worst();
        CAPTURE(worst);
        CHECK(worst < 1e-7);
    };
    const auto check_dynamic = [&](const AnyActivation& activation, std::uint64_t seed, bool kink) {
        DynNet net({4, 6, 5, 2}, {activation, activation, nabla::Identity{}}, seed);
        CAPTURE(std::string(activation.name()), seed);
        if (kink) {
            const double margin = smallest_hidden_z(
                net, x, y, [](auto& ws, int l) { return MatrixD(ws.layer(std::size_t(l)).z); });
            CAPTURE(margin);
            REQUIRE(margin > 100 * largest_step(net));
        }
        const double worst = nabla::gradient_check(net, x, y).worst();
        CAPTURE(worst);
        CHECK(worst < 1e-7);
    };

    SECTION("GELU") {
        check_network(GELU{}, 13, false);
        check_dynamic(AnyActivation::parse("gelu"), 13, false);
    }
    SECTION("ELU, alpha 1") {
        check_network(ELU{}, 14, true);
        check_dynamic(AnyActivation::parse("elu"), 14, true);
    }
    SECTION("ELU, alpha 0.5") {
        check_network(ELU{0.5}, 14, true);
        check_dynamic(nabla::ActivationRegistry::instance().make("elu", {{"alpha", 0.5}}), 14,
                      true);
    }
    SECTION("Softplus") {
        check_network(Softplus{}, 15, false);
        check_dynamic(AnyActivation::parse("softplus"), 15, false);
    }
}

TEST_CASE("activations added: ELU's alpha is saved in a version 2 file and loaded back",
          "[activation][model_file]") {
    nabla_test::TempDir dir;
    const std::string path = dir.file("elu.nbl");
    const MatrixD x = random_matrix<MatrixD>(4, 5, 21);

    SECTION("DynamicNetwork") {
        const DynNet net({4, 6, 2}, {AnyActivation(ELU{0.5}), nabla::Identity{}}, 22);
        nabla::save(net, path);
        const nabla::ModelInfo info = nabla::read_model_info(path);
        CHECK(info.version == 2);
        REQUIRE(info.layers.size() == 2);
        CHECK(info.layers[0].activation.name == "elu");
        CHECK(info.layers[0].activation.attributes == nabla::Attributes{{"alpha", 0.5}});

        const DynNet loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        CHECK(loaded.layer(0).activation() == AnyActivation(ELU{0.5}));
        CHECK(loaded.layer(0).activation().attributes().get_or("alpha", -1) == 0.5);
        CHECK(same_parameters(loaded, net));
        CHECK(loaded.predict(x) == net.predict(x));

        // Into a network of another α: FileError naming both, the network left as it was.
        DynNet other({4, 6, 2}, {AnyActivation(ELU{}), nabla::Identity{}}, 23);
        const DynNet before = other;
        const std::string message =
            nabla_test::message_of<nabla::FileError>([&] { nabla::load(other, path); });
        CAPTURE(message);
        CHECK(nabla_test::contains(message, "alpha 0.5"));
        CHECK(nabla_test::contains(message, "alpha 1"));
        CHECK(same_parameters(other, before));
    }
    SECTION("Network with ELU{0.5}, GELU and Softplus as policies") {
        using Net = nabla::Network<nabla::HalfSquaredError, HiddenOf<ELU>, HiddenOf<GELU>,
                                   HiddenOf<Softplus>, Output>;
        Net net(std::make_tuple(HiddenOf<ELU>(4, 5, ELU{0.5}), HiddenOf<GELU>(5, 5),
                                HiddenOf<Softplus>(5, 3), Output(3, 2)));
        net.initialize(24);
        nabla::save(net, path);
        const nabla::ModelInfo info = nabla::read_model_info(path);
        CHECK(info.version == 2);
        REQUIRE(info.layers.size() == 4);
        CHECK(info.layers[0].activation.attributes == nabla::Attributes{{"alpha", 0.5}});
        CHECK(info.layers[1].activation.name == "gelu");
        CHECK(info.layers[2].activation.name == "softplus");

        Net same(std::make_tuple(HiddenOf<ELU>(4, 5, ELU{0.5}), HiddenOf<GELU>(5, 5),
                                 HiddenOf<Softplus>(5, 3), Output(3, 2)));
        nabla::load(same, path);
        CHECK(same_parameters(same, net));
        CHECK(same.predict(x) == net.predict(x));

        Net other(std::make_tuple(HiddenOf<ELU>(4, 5, ELU{0.25}), HiddenOf<GELU>(5, 5),
                                  HiddenOf<Softplus>(5, 3), Output(3, 2)));
        CHECK_THROWS_AS(nabla::load(other, path), nabla::FileError);

        const DynNet loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        CHECK(loaded.layer(0).activation() == AnyActivation(ELU{0.5}));
        CHECK(loaded.layer(1).activation() == AnyActivation(GELU{}));
        CHECK(loaded.layer(2).activation() == AnyActivation(Softplus{}));
        CHECK(same_parameters(loaded, net));
        const MatrixD difference = loaded.predict(x) - net.predict(x);
        CHECK(difference.cwiseAbs().maxCoeff() <= 1e-14);
    }
    SECTION("control: a network of version 1 activations is still saved as version 1") {
        const DynNet net({4, 6, 2}, {nabla::Tanh{}, nabla::Identity{}}, 25);
        nabla::save(net, path);
        CHECK(nabla::read_model_info(path).version == 1);
    }
}

TEST_CASE("activations added: DefaultInit draws He weights for GELU, ELU and Softplus",
          "[activation][init]") {
    CHECK(AnyActivation::parse("gelu").rectifier());
    CHECK(AnyActivation::parse("elu").rectifier());
    CHECK(AnyActivation(ELU{0.5}).rectifier());
    CHECK(AnyActivation::parse("softplus").rectifier());
    CHECK_FALSE(AnyActivation::parse("tanh").rectifier());
    CHECK_FALSE(AnyActivation::parse("identity").rectifier());

    const nabla::PerLayer he_hidden(nabla::HeUniform{}, nabla::HeUniform{},
                                    nabla::GlorotUniform{});
    const nabla::PerLayer glorot(nabla::GlorotUniform{}, nabla::GlorotUniform{},
                                 nabla::GlorotUniform{});
    for (const char* name : {"gelu", "elu", "softplus"}) {
        CAPTURE(name);
        const AnyActivation hidden = AnyActivation::parse(name);
        DynNet by_default({8, 6, 5, 2}, {hidden, hidden, nabla::Identity{}}, 31);
        DynNet by_he = by_default;
        by_he.initialize(31, he_hidden);
        CHECK(same_parameters(by_default, by_he));
        DynNet by_glorot = by_default;
        by_glorot.initialize(31, glorot);
        CHECK_FALSE(same_parameters(by_default, by_glorot));  // the two are told apart
    }
    // Control: tanh hidden layers get Glorot.
    DynNet tanh_net({8, 6, 5, 2}, {nabla::Tanh{}, nabla::Tanh{}, nabla::Identity{}}, 31);
    DynNet tanh_glorot = tanh_net;
    tanh_glorot.initialize(31, glorot);
    CHECK(same_parameters(tanh_net, tanh_glorot));

    // The policy types in a Network, the same.
    using Net = nabla::Network<nabla::HalfSquaredError, HiddenOf<GELU>, HiddenOf<ELU>,
                               HiddenOf<Softplus>, Output>;
    Net net(std::make_tuple(HiddenOf<GELU>(8, 6), HiddenOf<ELU>(6, 5, ELU{0.5}),
                            HiddenOf<Softplus>(5, 4), Output(4, 2)));
    net.initialize(32);
    Net by_he = net;
    by_he.initialize(32, nabla::PerLayer(nabla::HeUniform{}, nabla::HeUniform{},
                                         nabla::HeUniform{}, nabla::GlorotUniform{}));
    CHECK(same_parameters(net, by_he));
}

}  // namespace test_activations_added
