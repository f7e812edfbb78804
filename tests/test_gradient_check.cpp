// Backprop against finite differences: the ∂C/∂W and ∂C/∂b of equations (1)–(6) of the notes
// must match central differences of the batch cost for every hidden × output activation and every
// loss that fits it, in double and float: all 60 combinations on DynamicNetwork, a covering 12 on
// each static Network form (fixed sizes, Eigen::Dynamic sizes). Negative controls show that the
// check fails loudly on a gradient that is wrong.
//
// Worst errors measured (g++ 12.2, Release, -march=native on an AVX-512 x86-64), over every net:
//   double: 1.7e-8  Network with dynamic sizes, identity → sigmoid → softmax, HalfSquaredError,
//                   seed 13400; every other double net ≤ 1.1e-8.
//   float:  1.2e-2  the same net, in the layer-1 bias block, whose largest gradient is 2.4e-3
//                   at C ≈ 1.5: float_bound() is 6.4e-2 there. Every other float net ≤ 8.4e-3.
//   No float block came above 0.3 of its bound.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace test_gradient_check {  // named for the unity build of nabla_tests

namespace {

using nabla::BinaryCrossEntropy;
using nabla::CrossEntropy;
using nabla::HalfSquaredError;
using nabla::Identity;
using nabla::LeakyReLU;
using nabla::ReLU;
using nabla::Sigmoid;
using nabla::Softmax;
using nabla::SquaredError;
using nabla::Tanh;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

constexpr int dynamic = Eigen::Dynamic;

/// The base step of gradient_check: h = ε^(1/3), times max(1, |parameter|).
template <class Scalar>
double fd_step() {
    return std::cbrt(double(std::numeric_limits<Scalar>::epsilon()));
}

/// The bound on one block's error in float, for a batch cost C and a block whose largest
/// gradient is G. With ε = 2^−23 ≈ 1.2e-7 the check steps by h ≈ 4.9e-3. Each float cost is a
/// sum of a few dozen rounded terms and is off by up to a few ε·|C|, so the central difference
/// (C⁺ − C⁻)/2h is off by up to ≈ 4ε·|C|/h ≈ 1e-4·|C|: relative to the block, 4ε·|C|/(h·G). The
/// truncation error h²/6·|C‴| ≈ 4e-6·|C‴| is smaller. With C ~ 1 and G ~ 0.1 that is ~1e-3;
/// 1e-2 leaves a factor of ten. A block whose gradients are far below the cost (G ≈ 2e-3 with
/// C ≈ 1.5 occurs here: sigmoid → softmax under a quadratic loss) sits on that rounding floor,
/// and there the floor is the bound. A wrong derivative gives ~0.5 to 1 (negative controls).
double float_bound(double cost, double largest_gradient) {
    const double rounding_floor = 4 * double(std::numeric_limits<float>::epsilon()) *
                                  std::abs(cost) / (fd_step<float>() * largest_gradient);
    return std::max(1e-2, rounding_floor);
}

/// How close to a kink (z = 0 of ReLU and leaky ReLU) a seed may put any z. The check moves a
/// parameter by h·max(1, |w|) with |w| ≲ 1.3 here, which moves any z by a few h at most; a z
/// closer than that to 0 may cross the kink, where central differences average two slopes and
/// fail spuriously. 8h keeps every perturbed z on its side of the kink.
template <class Scalar>
double kink_margin() {
    return 8 * fd_step<Scalar>();
}

template <class Loss>
const char* loss_name() {
    if constexpr (std::is_same_v<Loss, SquaredError>)
        return "SquaredError";
    if constexpr (std::is_same_v<Loss, HalfSquaredError>)
        return "HalfSquaredError";
    if constexpr (std::is_same_v<Loss, CrossEntropy>)
        return "CrossEntropy";
    if constexpr (std::is_same_v<Loss, BinaryCrossEntropy>)
        return "BinaryCrossEntropy";
}

/// Targets that fit the loss, outputs × batch: any reals for the quadratic losses, one-hot and
/// soft probability columns for cross-entropy, values in [0, 1] (some exactly 0 or 1) for binary
/// cross-entropy.
template <class Scalar, class Loss>
std::vector<Matrix<Scalar>> targets_for(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed) {
    if constexpr (std::is_same_v<Loss, CrossEntropy>) {
        Matrix<Scalar> soft = nabla_test::random_matrix<Matrix<Scalar>>(rows, cols, seed, 0.05, 1);
        for (Eigen::Index k = 0; k < cols; ++k)
            soft.col(k) /= soft.col(k).sum();
        return {nabla_test::one_hot_targets<Matrix<Scalar>>(rows, cols), soft};
    } else if constexpr (std::is_same_v<Loss, BinaryCrossEntropy>) {
        Matrix<Scalar> y = nabla_test::random_matrix<Matrix<Scalar>>(rows, cols, seed, 0, 1);
        y(0, 0) = 0;
        y(rows - 1, cols - 1) = 1;
        return {y};
    } else {
        return {nabla_test::random_matrix<Matrix<Scalar>>(rows, cols, seed, -1.5, 1.5)};
    }
}

/// Smallest |z| over the layers whose σ has a kink at 0; +inf when no layer has one.
template <class Net, class Scalar>
double distance_to_kinks(const Net& net, const Matrix<Scalar>& x) {
    typename Net::template Workspace<> ws;
    net.forward(x, ws);
    double nearest = std::numeric_limits<double>::infinity();
    net.for_each_layer([&](const auto& layer, auto i) {
        const nabla::ActivationKind kind = nabla::AnyActivation(layer.activation()).kind();
        if (kind == nabla::ActivationKind::relu || kind == nabla::ActivationKind::leaky_relu)
            nearest = std::min(nearest, double(ws.layer(i).z.cwiseAbs().minCoeff()));
    });
    return nearest;
}

/// Initialisation leaves b = 0; random biases make the check cover the + b of z = W a + b and
/// move the ReLU kinks away from the origin of the inputs.
template <class Net>
void randomize_biases(Net& net, std::uint64_t seed) {
    net.for_each_layer([&](auto& layer, auto i) {
        using Scalar = typename std::decay_t<decltype(layer)>::Scalar;
        layer.set_bias(nabla_test::random_matrix<Matrix<Scalar>>(
            layer.outputs(), 1, seed * 1000 + std::size_t(i), -0.5, 0.5));
    });
}

// The three network forms, each built by a constructor a user would call.
struct FixedSizes {};    // Network<Loss, Dense<S, 4, 6, A>, Dense<S, 6, 5, B>, Dense<S, 5, 3, C>>
struct DynamicSizes {};  // Network<Loss, Dense<S, Dynamic, Dynamic, A>, ...> from {4, 6, 5, 3}
struct RunTime {};       // DynamicNetwork<S, Loss> from {3, 5, 4, 2} and {A, B, C}

template <class Form>
std::vector<Eigen::Index> sizes_of() {
    if constexpr (std::is_same_v<Form, RunTime>)
        return {3, 5, 4, 2};
    else
        return {4, 6, 5, 3};
}

template <class Form>
Eigen::Index batch_of() {
    if constexpr (std::is_same_v<Form, FixedSizes>)
        return 5;
    if constexpr (std::is_same_v<Form, DynamicSizes>)
        return 6;
    if constexpr (std::is_same_v<Form, RunTime>)
        return 7;
}

template <class Form>
const char* form_name() {
    if constexpr (std::is_same_v<Form, FixedSizes>)
        return "Network, fixed sizes";
    if constexpr (std::is_same_v<Form, DynamicSizes>)
        return "Network, dynamic sizes";
    if constexpr (std::is_same_v<Form, RunTime>)
        return "DynamicNetwork";
}

template <class A, class B, class C>
constexpr bool has_leaky_relu() {
    return std::is_same_v<A, LeakyReLU> || std::is_same_v<B, LeakyReLU> ||
           std::is_same_v<C, LeakyReLU>;
}

/// A static Network of three Dense layers of sizes N0 → N1 → N2 → N3 (or Dynamic).
template <class Scalar, class Loss, int N0, int N1, int N2, int N3, class A, class B, class C>
auto make_static_net(const std::vector<Eigen::Index>& sizes, A a, B b, C c, std::uint64_t seed) {
    using L1 = nabla::Dense<Scalar, N0, N1, A>;
    using L2 = nabla::Dense<Scalar, N1, N2, B>;
    using L3 = nabla::Dense<Scalar, N2, N3, C>;
    using Net = nabla::Network<Loss, L1, L2, L3>;
    if constexpr (has_leaky_relu<A, B, C>()) {
        // Only the tuple constructor carries a slope other than the default.
        Net net(std::make_tuple(L1(sizes[0], sizes[1], a), L2(sizes[1], sizes[2], b),
                                L3(sizes[2], sizes[3], c)));
        net.initialize(seed);
        return net;
    } else if constexpr (N0 != dynamic) {
        return Net(seed);
    } else {
        return Net(sizes, seed);
    }
}

template <class Scalar, class Loss, class Form, class A, class B, class C>
auto make_net(A a, B b, C c, std::uint64_t seed) {
    const std::vector<Eigen::Index> sizes = sizes_of<Form>();
    if constexpr (std::is_same_v<Form, FixedSizes>) {
        return make_static_net<Scalar, Loss, 4, 6, 5, 3>(sizes, a, b, c, seed);
    } else if constexpr (std::is_same_v<Form, DynamicSizes>) {
        return make_static_net<Scalar, Loss, dynamic, dynamic, dynamic, dynamic>(sizes, a, b, c,
                                                                                 seed);
    } else {
        return nabla::DynamicNetwork<Scalar, Loss>(sizes, {a, b, c}, seed);
    }
}

/// Checks each block of a float report against float_bound() at that block's gradient scale.
template <class Net, class Scalar>
void check_float_blocks(const Net& net, const Matrix<Scalar>& x, const Matrix<Scalar>& y,
                        const nabla::GradientCheckReport& report) {
    typename Net::template Workspace<> ws;
    const double cost = double(net.backward(x, y, ws));
    net.for_each_layer([&](const auto&, auto i) {
        const std::size_t layer = i;
        const double weights_scale = double(ws.layer(i).dW.cwiseAbs().maxCoeff());
        const double bias_scale = double(ws.layer(i).db.cwiseAbs().maxCoeff());
        const double weights_bound = float_bound(cost, weights_scale);
        const double bias_bound = float_bound(cost, bias_scale);
        CAPTURE(layer, cost, weights_scale, bias_scale);
        // A bound this loose could not tell a right gradient from a wrong one: then the net,
        // not the library, is unfit for a float check.
        REQUIRE(weights_bound < 0.1);
        REQUIRE(bias_bound < 0.1);
        CHECK(report.layers[layer].weights <= weights_bound);
        CHECK(report.layers[layer].bias <= bias_bound);
    });
}

/// Builds the net for (A, B, C, Loss, Form) from the first seed at or after `first_seed` that
/// keeps every z kink_margin() away from a kink, and checks its gradients against every target
/// set that fits the loss. Returns the worst error seen.
template <class Scalar, class Loss, class Form, class A, class B, class C>
double check_pair(A a, B b, C c, std::uint64_t first_seed) {
    const std::vector<Eigen::Index> sizes = sizes_of<Form>();
    const Eigen::Index batch = batch_of<Form>();
    const Matrix<Scalar> x =
        nabla_test::random_matrix<Matrix<Scalar>>(sizes.front(), batch, first_seed + 7, -1, 1);

    std::ostringstream what;
    what << form_name<Form>() << ", " << (std::is_same_v<Scalar, double> ? "double" : "float")
         << ": " << nabla::to_string(A::kind()) << " -> " << nabla::to_string(B::kind()) << " -> "
         << nabla::to_string(C::kind()) << " with " << loss_name<Loss>();
    INFO(what.str());

    std::uint64_t seed = first_seed;
    auto net = make_net<Scalar, Loss, Form>(a, b, c, seed);
    randomize_biases(net, seed);
    while (distance_to_kinks(net, x) <= kink_margin<Scalar>() && seed < first_seed + 2000) {
        ++seed;
        net = make_net<Scalar, Loss, Form>(a, b, c, seed);
        randomize_biases(net, seed);
    }
    CAPTURE(seed);
    REQUIRE(distance_to_kinks(net, x) > kink_margin<Scalar>());

    double worst = 0;
    for (const Matrix<Scalar>& y : targets_for<Scalar, Loss>(sizes.back(), batch, seed + 11)) {
        const nabla::GradientCheckReport report = nabla::gradient_check(net, x, y);
        REQUIRE(report.layers.size() == 3);
        const double error = report.worst();
        CAPTURE(error);
        if constexpr (std::is_same_v<Scalar, double>)
            CHECK(error <= 1e-7);
        else
            check_float_blocks(net, x, y, report);
        worst = std::max(worst, error);
    }
    return worst;
}

/// The hidden pairs: every activation appears once as the first and once as the second hidden
/// layer, so each meets the weights of a layer above and a layer below.
template <class Scalar, class Loss, class Form, class C>
double check_every_hidden_pair(C output, std::uint64_t seed) {
    const LeakyReLU leaky(0.1);
    return std::max({check_pair<Scalar, Loss, Form>(Sigmoid{}, Tanh{}, output, seed),
                     check_pair<Scalar, Loss, Form>(Tanh{}, ReLU{}, output, seed + 100),
                     check_pair<Scalar, Loss, Form>(ReLU{}, leaky, output, seed + 200),
                     check_pair<Scalar, Loss, Form>(leaky, Identity{}, output, seed + 300),
                     check_pair<Scalar, Loss, Form>(Identity{}, Sigmoid{}, output, seed + 400)});
}

/// A quadratic loss fits every output activation: softmax goes through its Jacobian-vector
/// product, ReLU through its kink.
template <class Scalar, class Loss, class Form>
double check_quadratic(std::uint64_t seed) {
    return std::max({check_every_hidden_pair<Scalar, Loss, Form>(Identity{}, seed),
                     check_every_hidden_pair<Scalar, Loss, Form>(Sigmoid{}, seed + 1000),
                     check_every_hidden_pair<Scalar, Loss, Form>(Tanh{}, seed + 2000),
                     check_every_hidden_pair<Scalar, Loss, Form>(Softmax{}, seed + 3000),
                     check_every_hidden_pair<Scalar, Loss, Form>(ReLU{}, seed + 4000)});
}

/// Every hidden pair × every output activation × every loss that fits it: 60 nets.
template <class Scalar, class Form>
double check_every_pair() {
    return std::max({check_quadratic<Scalar, SquaredError, Form>(1),
                     check_quadratic<Scalar, HalfSquaredError, Form>(10000),
                     check_every_hidden_pair<Scalar, CrossEntropy, Form>(Softmax{}, 20000),
                     check_every_hidden_pair<Scalar, BinaryCrossEntropy, Form>(Sigmoid{}, 30000)});
}

/// A covering subset of the 60 for the static Networks, where every combination is a type of
/// its own and costs compile time (the full product in both static forms took over four minutes
/// to compile; 20 of them per form, 130 s): each output activation with two hidden pairs under
/// the quadratic losses, which puts every activation in every place, and one net for each of
/// the two losses with a fixed output. A hidden layer's backward pass sees only the δ handed down
/// to it, never the loss, so a hidden pair under a further loss tests no further code in a static
/// Network. DynamicNetwork runs the full product.
template <class Scalar, class Form>
double check_covering_pairs() {
    const LeakyReLU leaky(0.1);
    return std::max({
        check_pair<Scalar, SquaredError, Form>(Sigmoid{}, Tanh{}, Identity{}, 1),
        check_pair<Scalar, SquaredError, Form>(Tanh{}, ReLU{}, Sigmoid{}, 1100),
        check_pair<Scalar, SquaredError, Form>(ReLU{}, leaky, Tanh{}, 2200),
        check_pair<Scalar, SquaredError, Form>(leaky, Identity{}, Softmax{}, 3300),
        check_pair<Scalar, SquaredError, Form>(Identity{}, Sigmoid{}, ReLU{}, 4400),
        check_pair<Scalar, HalfSquaredError, Form>(ReLU{}, leaky, Identity{}, 10200),
        check_pair<Scalar, HalfSquaredError, Form>(leaky, Identity{}, Sigmoid{}, 11300),
        check_pair<Scalar, HalfSquaredError, Form>(Sigmoid{}, Tanh{}, Tanh{}, 12000),
        // At seed 13400 the dynamic-size float net has C ≈ 1.5 and a block whose largest
        // gradient is 2.4e-3: its error (1.2e-2) is on the rounding floor of float_bound().
        check_pair<Scalar, HalfSquaredError, Form>(Identity{}, Sigmoid{}, Softmax{}, 13400),
        check_pair<Scalar, HalfSquaredError, Form>(Tanh{}, ReLU{}, ReLU{}, 14100),
        check_pair<Scalar, CrossEntropy, Form>(Tanh{}, ReLU{}, Softmax{}, 20100),
        check_pair<Scalar, BinaryCrossEntropy, Form>(leaky, Identity{}, Sigmoid{}, 30300),
    });
}

/// tanh with a plausible slip in its derivative: a(1 − a), the sigmoid's, instead of 1 − a².
struct WrongTanh {
    static constexpr nabla::ActivationKind kind() { return nabla::ActivationKind::tanh; }
    static constexpr const char* name() { return "wrong_tanh"; }

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        a.derived().array() = z.array().tanh();
    }

    template <class Z, class A, class G, class D>
    void backward(const Eigen::MatrixBase<Z>&, const Eigen::MatrixBase<A>& a,
                  const Eigen::MatrixBase<G>& da, Eigen::MatrixBase<D>& delta) const {
        using Scalar = typename A::Scalar;
        delta.derived().array() = da.array() * a.array() * (Scalar(1) - a.array());
    }
};

template <class Scalar>
void check_wrong_derivative_is_caught() {
    using Net =
        nabla::Network<HalfSquaredError, nabla::Dense<Scalar, 4, 6, WrongTanh>,
                       nabla::Dense<Scalar, 6, 5, Tanh>, nabla::Dense<Scalar, 5, 3, Identity>>;
    Net net(29);
    randomize_biases(net, 29);
    const Matrix<Scalar> x = nabla_test::random_matrix<Matrix<Scalar>>(4, 6, 30, -1, 1);
    const Matrix<Scalar> y = nabla_test::random_matrix<Matrix<Scalar>>(3, 6, 31, -1, 1);
    const nabla::GradientCheckReport report = nabla::gradient_check(net, x, y);
    REQUIRE(report.layers.size() == 3);
    const double first_weights = report.layers[0].weights;
    const double first_bias = report.layers[0].bias;
    CAPTURE(first_weights, first_bias);
    // The wrong σ' only enters δ¹, so layer 1 fails and the layers above still pass.
    CHECK(first_weights > 0.1);
    CHECK(first_bias > 0.1);
    const double tolerance = std::is_same_v<Scalar, double> ? 1e-7 : 1e-2;
    CHECK(std::max(report.layers[1].weights, report.layers[1].bias) <= tolerance);
    CHECK(std::max(report.layers[2].weights, report.layers[2].bias) <= tolerance);
}

}  // namespace

TEST_CASE("gradient check: every activation in every place and every loss, fixed sizes, double",
          "[gradient_check]") {
    check_covering_pairs<double, FixedSizes>();
}

TEST_CASE("gradient check: every activation in every place and every loss, fixed sizes, float",
          "[gradient_check]") {
    check_covering_pairs<float, FixedSizes>();
}

TEST_CASE("gradient check: every activation in every place and every loss, dynamic sizes, double",
          "[gradient_check]") {
    check_covering_pairs<double, DynamicSizes>();
}

TEST_CASE("gradient check: every activation in every place and every loss, dynamic sizes, float",
          "[gradient_check]") {
    check_covering_pairs<float, DynamicSizes>();
}

TEST_CASE("gradient check: every hidden pair x output x loss, DynamicNetwork, double",
          "[gradient_check]") {
    check_every_pair<double, RunTime>();
}

TEST_CASE("gradient check: every hidden pair x output x loss, DynamicNetwork, float",
          "[gradient_check]") {
    check_every_pair<float, RunTime>();
}

TEST_CASE("gradient check: doubled gradients fail the comparison, right ones pass",
          "[gradient_check]") {
    using Net =
        nabla::Network<HalfSquaredError, nabla::Dense<double, 4, 6, Tanh>,
                       nabla::Dense<double, 6, 5, Sigmoid>, nabla::Dense<double, 5, 3, Identity>>;
    Net net(17);
    randomize_biases(net, 17);
    const Matrix<double> x = nabla_test::random_matrix<Matrix<double>>(4, 6, 18, -1, 1);
    const Matrix<double> y = nabla_test::random_matrix<Matrix<double>>(3, 6, 19, -1, 1);
    Net::Workspace<> ws;
    net.backward(x, y, ws);

    Net probe = net;
    Net::Workspace<> probe_ws;
    const auto cost = [&] { return probe.loss(x, y, probe_ws); };
    using nabla::detail::gradient_block_error;
    nabla::for_each_parameter(probe, ws, [&](auto& block, const auto& gradient,
                                             const nabla::ParameterInfo& info) {
        CAPTURE(info.layer, info.name);
        const Matrix<double> g = gradient;
        CHECK(gradient_block_error(block, g, cost) <= 1e-7);
        // max |2g − g| / max |2g| = ½: the check sees a factor of two as a 50% error.
        const Matrix<double> doubled = 2 * g;
        const double error = gradient_block_error(block, doubled, cost);
        CHECK(error > 0.1);
        CHECK(std::abs(error - 0.5) <= 1e-6);
    });
    // Every parameter is put back after its two perturbed costs.
    CHECK(probe.layer<0>().weights() == net.layer<0>().weights());
    CHECK(probe.layer<2>().bias() == net.layer<2>().bias());
}

TEST_CASE("gradient check: gradients of one loss fail against differences of another",
          "[gradient_check]") {
    using L1 = nabla::Dense<double, 4, 6, LeakyReLU>;
    using L2 = nabla::Dense<double, 6, 5, Tanh>;
    using L3 = nabla::Dense<double, 5, 3, Sigmoid>;
    using SquaredNet = nabla::Network<SquaredError, L1, L2, L3>;
    using HalfNet = nabla::Network<HalfSquaredError, L1, L2, L3>;
    SquaredNet squared(23);
    randomize_biases(squared, 23);
    HalfNet half(std::make_tuple(squared.layer<0>(), squared.layer<1>(), squared.layer<2>()));
    const Matrix<double> x = nabla_test::random_matrix<Matrix<double>>(4, 5, 24, -1, 1);
    const Matrix<double> y = nabla_test::random_matrix<Matrix<double>>(3, 5, 25, -1, 1);
    REQUIRE(distance_to_kinks(squared, x) > kink_margin<double>());

    SquaredNet::Workspace<> ws;
    squared.backward(x, y, ws);
    HalfNet::Workspace<> half_ws;
    const auto half_cost = [&] { return half.loss(x, y, half_ws); };
    nabla::for_each_parameter(half, ws, [&](auto& block, const auto& gradient,
                                            const nabla::ParameterInfo& info) {
        CAPTURE(info.layer, info.name);
        // ∂(Σ(a − y)²) is twice ∂(½‖a − y‖²): max |g − g/2| / max |g| = ½.
        const double error = nabla::detail::gradient_block_error(block, gradient, half_cost);
        CHECK(error > 0.1);
        CHECK(std::abs(error - 0.5) <= 1e-6);
    });
}

TEST_CASE("gradient check: a wrong activation derivative is caught in its layer, double",
          "[gradient_check]") {
    check_wrong_derivative_is_caught<double>();
}

TEST_CASE("gradient check: a wrong activation derivative is caught in its layer, float",
          "[gradient_check]") {
    check_wrong_derivative_is_caught<float>();
}

}  // namespace test_gradient_check
