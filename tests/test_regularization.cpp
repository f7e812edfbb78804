// Gradient clipping by global norm (optim/clipping.hpp) and the L1 penalty (optim/l1.hpp), alone
// and through fit(): the norm against one summed in long double; a gradient below the bound left
// bit for bit, one above scaled to the bound along the same direction, and the clipped gradient
// checked as the gradient of s·C; λ‖W‖₁ against a sum by hand, λ·sign(w) added to the weight
// gradients only, the penalised gradient checked against C + λ‖W‖₁; one fit() step against the
// step written out by hand; a smaller ‖W‖₁ after fitting with l1; options out of range refused.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace test_regularization {  // named for the unity build of nabla_tests

namespace {

using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::same_parameters;

constexpr int dynamic = Eigen::Dynamic;
using MatrixD = Eigen::MatrixXd;
using VectorD = Eigen::VectorXd;
using Long = long double;

using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
using Hidden = nabla::Dense<double, dynamic, dynamic, nabla::Tanh>;
using Output = nabla::Dense<double, dynamic, dynamic, nabla::Identity>;
using StaticNet = nabla::Network<nabla::HalfSquaredError, Hidden, Output>;

constexpr Eigen::Index inputs = 4;
constexpr Eigen::Index hidden = 6;
constexpr Eigen::Index outputs = 3;
constexpr Eigen::Index samples = 10;

/// 4 → tanh 6 → identity 3 with nonzero biases (so that "biases untouched" can be seen).
DynNet make_net(std::uint64_t seed) {
    DynNet net({inputs, hidden, outputs}, {nabla::Tanh{}, nabla::Identity{}}, seed);
    net.layer(0).set_bias(random_matrix<VectorD>(hidden, 1, seed + 100, -0.5, 0.5));
    net.layer(1).set_bias(random_matrix<VectorD>(outputs, 1, seed + 200, -0.5, 0.5));
    return net;
}

/// The same network as a compile-time Network.
StaticNet make_static_net(std::uint64_t seed) {
    const DynNet source = make_net(seed);
    StaticNet net(std::make_tuple(Hidden(inputs, hidden), Output(hidden, outputs)));
    nabla::set_parameters(net, nabla::copy_parameters(source));
    return net;
}

/// The weight matrices of a two-layer net, whatever its type.
template <class Net>
std::vector<MatrixD> weights_of(const Net& net) {
    if constexpr (std::is_same_v<Net, DynNet>)
        return {net.layer(0).weights(), net.layer(1).weights()};
    else
        return {net.template layer<0>().weights(), net.template layer<1>().weights()};
}

/// Where each block lies in the gradient array of a two-layer Dense net, as documented: W¹
/// column by column, b¹, W², b².
struct Layout {
    Eigen::Index w1 = 0, b1 = 0, w2 = 0, b2 = 0, end = 0;
};
Layout layout() {
    Layout l;
    l.w1 = 0;
    l.b1 = l.w1 + hidden * inputs;
    l.w2 = l.b1 + hidden;
    l.b2 = l.w2 + outputs * hidden;
    l.end = l.b2 + outputs;
    return l;
}

/// ‖W‖₁ over every weight matrix, by hand in long double (biases left out).
template <class Net>
Long l1_by_hand(const Net& net) {
    Long sum = 0;
    for (const MatrixD& w : weights_of(net))
        for (Eigen::Index k = 0; k < w.cols(); ++k)
            for (Eigen::Index j = 0; j < w.rows(); ++j) sum += std::abs(Long(w(j, k)));
    return sum;
}

/// ‖g‖ by hand in long double.
Long norm_by_hand(const VectorD& g) {
    Long sum = 0;
    for (Eigen::Index i = 0; i < g.size(); ++i) sum += Long(g(i)) * Long(g(i));
    return std::sqrt(sum);
}

double sign_of(double w) { return w > 0 ? 1.0 : (w < 0 ? -1.0 : 0.0); }

const MatrixD& data_x() {
    static const MatrixD x = random_matrix<MatrixD>(inputs, samples, 1, -1.5, 1.5);
    return x;
}
const MatrixD& data_y() {
    static const MatrixD y = random_matrix<MatrixD>(outputs, samples, 2, -2, 2);
    return y;
}

/// The largest gradient_block_error over the blocks of `net`, its gradients those in `ws`, the
/// costs `cost(probe, probe_ws)` on perturbed copies.
template <class Net, class Workspace, class Cost>
double worst_block_error(const Net& net, const Workspace& ws, Cost&& cost) {
    Net probe = net;
    Workspace probe_ws = ws;
    double worst = 0;
    nabla::for_each_parameter(probe, ws, [&](auto& block, const auto& gradient,
                                             const nabla::ParameterInfo&) {
        worst = std::max(worst, nabla::detail::gradient_block_error(
                                    block, gradient, [&] { return cost(probe, probe_ws); }));
    });
    return worst;
}

}  // namespace

TEST_CASE("regularization: clip_gradient_norm returns the norm and clips to the bound",
          "[regularization][clipping]") {
    const MatrixD& x = data_x();
    const MatrixD& y = data_y();
    const DynNet net = make_net(3);
    DynNet::Workspace<> ws;
    net.backward(x, y, ws);
    const VectorD g = ws.gradient_vector();
    REQUIRE(g.size() == layout().end);
    const Long norm = norm_by_hand(g);
    REQUIRE(norm > 0);

    SECTION("below the bound: the norm is returned and the gradient left bit for bit") {
        for (double bound : {double(norm) * 2, double(norm) * (1 + 1e-9), 1e300}) {
            DynNet::Workspace<> copy = ws;
            const double returned = nabla::clip_gradient_norm(copy, bound);
            CAPTURE(bound, returned, double(norm));
            CHECK(std::abs(Long(returned) - norm) <= 4 * std::numeric_limits<double>::epsilon() * norm);
            CHECK(copy.gradient_vector() == g);
        }
    }
    SECTION("above the bound: scaled to the bound, the direction kept") {
        const double bound = double(norm) / 4;
        const double returned = nabla::clip_gradient_norm(ws, bound);
        CHECK(std::abs(Long(returned) - norm) <= 4 * std::numeric_limits<double>::epsilon() * norm);
        const VectorD clipped = ws.gradient_vector();
        const Long clipped_norm = norm_by_hand(clipped);
        CAPTURE(bound, double(clipped_norm));
        CHECK(std::abs(clipped_norm - Long(bound)) <= 8 * std::numeric_limits<double>::epsilon() * bound);
        const Long scale = Long(bound) / norm;
        Eigen::Index off_direction = 0;
        for (Eigen::Index i = 0; i < g.size(); ++i) {
            const Long expected = Long(g(i)) * scale;
            if (std::abs(Long(clipped(i)) - expected) >
                4 * std::numeric_limits<double>::epsilon() * std::abs(expected))
                ++off_direction;
        }
        CHECK(off_direction == 0);
        // The layers' views of their gradients see the clipped values.
        const Layout l = layout();
        CHECK(VectorD(ws.layer(0).dW.reshaped()) == clipped.segment(l.w1, hidden * inputs));
        CHECK(VectorD(ws.layer(1).db) == clipped.segment(l.b2, outputs));
    }
    SECTION("the clipped gradient is the gradient of s*C, s = bound / norm") {
        const double bound = double(norm) / 3;
        nabla::clip_gradient_norm(ws, bound);
        const double s = bound / double(norm);
        const double scaled = worst_block_error(net, ws, [&](const DynNet& probe, auto& probe_ws) {
            return s * probe.loss(x, y, probe_ws);
        });
        CAPTURE(scaled);
        CHECK(scaled < 1e-7);
        // Control: against C itself it is off by 1 − s.
        const double unscaled = worst_block_error(
            net, ws, [&](const DynNet& probe, auto& probe_ws) { return probe.loss(x, y, probe_ws); });
        CAPTURE(unscaled);
        CHECK(unscaled > 0.5);
    }
    SECTION("a compile-time Network's workspace") {
        const StaticNet fixed = make_static_net(3);
        StaticNet::Workspace<> fixed_ws;
        fixed.backward(x, y, fixed_ws);
        CHECK(fixed_ws.gradient_vector() == g);  // the same network
        const double bound = double(norm) / 2;
        const double returned = nabla::clip_gradient_norm(fixed_ws, bound);
        CHECK(std::abs(Long(returned) - norm) <= 4 * std::numeric_limits<double>::epsilon() * norm);
        CHECK(std::abs(norm_by_hand(fixed_ws.gradient_vector()) - Long(bound)) <=
              8 * std::numeric_limits<double>::epsilon() * bound);
        CHECK(MatrixD(fixed_ws.layer<0>().dW) ==
              MatrixD(fixed_ws.gradient_vector().segment(0, hidden * inputs).reshaped(hidden, inputs)));
    }
    SECTION("float gradients whose squares overflow float: the norm is taken in double") {
        using FloatNet = nabla::DynamicNetwork<float, nabla::HalfSquaredError>;
        const FloatNet float_net({inputs, hidden, outputs}, {nabla::Tanh{}, nabla::Identity{}}, 3);
        FloatNet::Workspace<> float_ws;
        float_net.backward(x.cast<float>(), y.cast<float>(), float_ws);
        float_ws.gradient_vector().setConstant(1e30f);
        const Eigen::Index n = float_ws.gradient_vector().size();
        const double expected = double(1e30f) * std::sqrt(double(n));
        const double returned = nabla::clip_gradient_norm(float_ws, 1.0);
        CAPTURE(returned, expected);
        CHECK(std::isfinite(returned));
        CHECK(std::abs(returned - expected) <= 1e-12 * expected);
        const float each = float(1 / std::sqrt(double(n)));
        CHECK(((float_ws.gradient_vector().array() - each).abs() <=
               4 * std::numeric_limits<float>::epsilon() * each)
                  .all());
    }
    SECTION("a gradient that is not finite is left for the finiteness check") {
        for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
            DynNet::Workspace<> copy = ws;
            copy.gradient_vector()(3) = bad;
            const VectorD before = copy.gradient_vector();
            const double returned = nabla::clip_gradient_norm(copy, 1e-6);
            CAPTURE(bad, returned);
            CHECK_FALSE(std::isfinite(returned));
            CHECK(copy.gradient_vector().head(3) == before.head(3));
            CHECK(copy.gradient_vector().tail(g.size() - 4) == before.tail(g.size() - 4));
            CHECK_FALSE(std::isfinite(copy.gradient_vector()(3)));
        }
    }
    SECTION("a bound that is not positive and finite is refused") {
        for (double bound : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity()}) {
            CAPTURE(bound);
            const std::string message =
                message_of<nabla::ConfigError>([&] { nabla::clip_gradient_norm(ws, bound); });
            CHECK(contains(message, "max_norm"));
        }
        CHECK(ws.gradient_vector() == g);
    }
}

namespace {

/// add_l1_penalty on `net`: returns λ‖W‖₁, adds λ·sign(w) to every weight gradient (0 for a
/// zero weight) and nothing to the biases.
template <class Net>
void check_l1_gradient(const Net& net, double lambda) {
    CAPTURE(lambda);
    typename Net::template Workspace<> ws;
    net.backward(data_x(), data_y(), ws);
    const VectorD before = ws.gradient_vector();
    const double penalty = nabla::add_l1_penalty(net, ws, lambda);
    const Long expected = Long(lambda) * l1_by_hand(net);
    CAPTURE(penalty, double(expected));
    CHECK(std::abs(Long(penalty) - expected) <= 1e-14L * expected);
    CHECK(penalty == nabla::l1_penalty(net, lambda));

    const VectorD after = ws.gradient_vector();
    const Layout l = layout();
    const std::vector<MatrixD> w = weights_of(net);
    Eigen::Index wrong_weights = 0;
    for (Eigen::Index k = 0; k < inputs; ++k)
        for (Eigen::Index j = 0; j < hidden; ++j)
            if (after(l.w1 + k * hidden + j) != before(l.w1 + k * hidden + j) + lambda * sign_of(w[0](j, k)))
                ++wrong_weights;
    for (Eigen::Index k = 0; k < hidden; ++k)
        for (Eigen::Index j = 0; j < outputs; ++j)
            if (after(l.w2 + k * outputs + j) != before(l.w2 + k * outputs + j) + lambda * sign_of(w[1](j, k)))
                ++wrong_weights;
    CHECK(wrong_weights == 0);
    CHECK(after.segment(l.b1, hidden) == before.segment(l.b1, hidden));
    CHECK(after.segment(l.b2, outputs) == before.segment(l.b2, outputs));
    CHECK((after != before) == (lambda > 0));
}

}  // namespace

TEST_CASE("regularization: add_l1_penalty returns lambda |W|_1 and adds lambda sign(w)",
          "[regularization][l1]") {
    SECTION("DynamicNetwork") {
        DynNet net = make_net(5);
        check_l1_gradient(net, 0.03);
        check_l1_gradient(net, 0.0);
        // A zero weight gets sign 0: its gradient is left alone.
        MatrixD w = net.layer(0).weights();
        w(2, 1) = 0;
        net.layer(0).set_weights(w);
        check_l1_gradient(net, 0.5);
    }
    SECTION("Network") {
        const StaticNet net = make_static_net(6);
        check_l1_gradient(net, 0.03);
    }
    SECTION("lambda must be finite and 0 or more; the workspace must hold gradients") {
        const DynNet net = make_net(7);
        DynNet::Workspace<> ws;
        net.backward(data_x(), data_y(), ws);
        for (double lambda : {-1e-3, std::numeric_limits<double>::quiet_NaN(),
                              std::numeric_limits<double>::infinity()}) {
            CAPTURE(lambda);
            const std::string message =
                message_of<nabla::ConfigError>([&] { nabla::add_l1_penalty(net, ws, lambda); });
            CHECK(contains(message, "lambda"));
        }
        DynNet::Workspace<> empty;
        CHECK_THROWS_AS(nabla::add_l1_penalty(net, empty, 0.1), nabla::ShapeError);
        net.forward(data_x(), ws);  // a forward pass leaves no gradients
        CHECK_THROWS_AS(nabla::add_l1_penalty(net, ws, 0.1), nabla::ShapeError);
    }
}

TEST_CASE("regularization: the penalised gradient is the gradient of C + lambda |W|_1",
          "[regularization][l1][gradient]") {
    const MatrixD& x = data_x();
    const MatrixD& y = data_y();
    const double lambda = 0.05;
    // Weights at least 0.05 from 0, where |w| has its kink: the check's steps of ~6e-6 stay on
    // one side.
    const auto away_from_zero = [](MatrixD w) {
        for (Eigen::Index i = 0; i < w.size(); ++i)
            w(i) = (w(i) < 0 ? -1 : 1) * std::max(std::abs(w(i)), 0.05);
        return w;
    };
    DynNet net = make_net(8);
    net.layer(0).set_weights(away_from_zero(net.layer(0).weights()));
    net.layer(1).set_weights(away_from_zero(net.layer(1).weights()));

    DynNet::Workspace<> plain_ws;
    net.backward(x, y, plain_ws);
    DynNet::Workspace<> ws = plain_ws;
    nabla::add_l1_penalty(net, ws, lambda);
    const auto penalised_cost = [&](const DynNet& probe, auto& probe_ws) {
        return double(Long(probe.loss(x, y, probe_ws)) + Long(lambda) * l1_by_hand(probe));
    };
    const double penalised = worst_block_error(net, ws, penalised_cost);
    CAPTURE(penalised);
    CHECK(penalised < 1e-7);
    // Control: the gradient without the penalty is far from the penalised cost's.
    const double without = worst_block_error(net, plain_ws, penalised_cost);
    CAPTURE(without);
    CHECK(without > 1e-3);
}

namespace {

nabla::FitOptions one_step_options() {
    nabla::FitOptions options;
    options.epochs = 1;
    options.batch_size = samples;  // one batch: the whole data, in order
    options.shuffle = false;
    options.progress.mode = nabla::ProgressMode::silent;
    return options;
}

/// θ after one plain gradient-descent step η·clip(g + λ·sign(W)) from `net` on the data, by
/// hand from the gradient of one backward pass.
VectorD one_step_by_hand(const DynNet& net, double eta, double lambda, double bound,
                         double* cost) {
    DynNet::Workspace<> ws;
    *cost = net.backward(data_x(), data_y(), ws);
    VectorD g = ws.gradient_vector();
    const Layout l = layout();
    const std::vector<MatrixD> w = weights_of(net);
    for (Eigen::Index i = 0; i < hidden * inputs; ++i) g(l.w1 + i) += lambda * sign_of(w[0](i));
    for (Eigen::Index i = 0; i < outputs * hidden; ++i) g(l.w2 + i) += lambda * sign_of(w[1](i));
    *cost += double(Long(lambda) * l1_by_hand(net));
    const double norm = double(norm_by_hand(g));
    if (bound > 0 && norm > bound) g *= bound / norm;
    return nabla::copy_parameters(net) - eta * g;
}

}  // namespace

TEST_CASE("regularization: one fit() step with l1 and clip_gradient_norm is the step by hand",
          "[regularization][fit]") {
    const DynNet start = make_net(9);
    const double eta = 0.5;
    DynNet::Workspace<> ws;
    start.backward(data_x(), data_y(), ws);
    const double norm = double(norm_by_hand(ws.gradient_vector()));

    struct Setting {
        double l1;
        double clip;
    };
    for (const Setting setting : {Setting{0.02, 0}, Setting{0, norm / 5}, Setting{0.02, norm / 5},
                                  Setting{0, norm * 5}}) {
        for (int threads : {1, 2}) {
            CAPTURE(setting.l1, setting.clip, threads);
            double cost = 0;
            const VectorD expected = one_step_by_hand(start, eta, setting.l1, setting.clip, &cost);
            DynNet net = start;
            nabla::Sgd sgd(eta);
            nabla::FitOptions options = one_step_options();
            options.l1 = setting.l1;
            options.clip_gradient_norm = setting.clip;
            options.threads = threads;
            const nabla::History history = nabla::fit(net, sgd, data_x(), data_y(), options);
            const VectorD got = nabla::copy_parameters(net);
            const double error = (got - expected).cwiseAbs().maxCoeff();
            CAPTURE(error);
            CHECK(error <= 1e-13);
            // The recorded loss includes the penalty.
            REQUIRE(history.epochs.size() == 1);
            CHECK(std::abs(history.epochs[0].loss - cost) <= 1e-13 * cost);
        }
    }
    // The clipped step has the length η·bound exactly, up to rounding.
    DynNet net = start;
    nabla::Sgd sgd(eta);
    nabla::FitOptions options = one_step_options();
    options.clip_gradient_norm = norm / 7;
    nabla::fit(net, sgd, data_x(), data_y(), options);
    const Long step = norm_by_hand(nabla::copy_parameters(net) - nabla::copy_parameters(start));
    CHECK(std::abs(step - Long(eta * norm / 7)) <= 1e-12L * step);
}

TEST_CASE("regularization: fitting with l1 ends with a smaller |W|_1", "[regularization][fit]") {
    const MatrixD x = random_matrix<MatrixD>(inputs, 64, 21, -1.5, 1.5);
    const MatrixD y = random_matrix<MatrixD>(outputs, 64, 22, -1, 1);
    const auto fitted = [&](double l1, bool adam) {
        DynNet net = make_net(23);
        nabla::FitOptions options;
        options.epochs = 40;
        options.batch_size = 16;
        options.seed = 24;
        options.l1 = l1;
        options.progress.mode = nabla::ProgressMode::silent;
        if (adam) {
            nabla::Adam optimizer(0.01);
            nabla::fit(net, optimizer, x, y, options);
        } else {
            nabla::Sgd optimizer(0.1);
            nabla::fit(net, optimizer, x, y, options);
        }
        return net;
    };
    const Long initial = l1_by_hand(make_net(23));
    for (bool adam : {false, true}) {
        CAPTURE(adam);
        const DynNet plain = fitted(0, adam);
        const DynNet penalised = fitted(0.01, adam);
        const Long plain_l1 = l1_by_hand(plain);
        const Long penalised_l1 = l1_by_hand(penalised);
        CAPTURE(double(initial), double(plain_l1), double(penalised_l1));
        CHECK_FALSE(same_parameters(plain, make_net(23)));
        CHECK(penalised_l1 < plain_l1);
        CHECK(penalised_l1 < initial);
    }
}

TEST_CASE("regularization: FitOptions l1 and clip_gradient_norm out of range are refused",
          "[regularization][fit]") {
    const MatrixD& x = data_x();
    const MatrixD& y = data_y();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    for (double bad : {-0.1, -1e-300, nan, inf, -inf}) {
        CAPTURE(bad);
        DynNet net = make_net(31);
        const DynNet before = net;
        nabla::Sgd sgd(0.1);
        nabla::FitOptions options = one_step_options();
        options.l1 = bad;
        std::string message =
            message_of<nabla::ConfigError>([&] { nabla::fit(net, sgd, x, y, options); });
        CHECK(contains(message, "fit: l1"));
        // With validation data too.
        message = message_of<nabla::ConfigError>([&] { nabla::fit(net, sgd, x, y, x, y, options); });
        CHECK(contains(message, "l1"));

        options.l1 = 0;
        options.clip_gradient_norm = bad;
        message = message_of<nabla::ConfigError>([&] { nabla::fit(net, sgd, x, y, options); });
        CHECK(contains(message, "fit: clip_gradient_norm"));
        CHECK(same_parameters(net, before));
    }
    // 0 switches each off, and is accepted.
    DynNet net = make_net(31);
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options = one_step_options();
    options.l1 = 0;
    options.clip_gradient_norm = 0;
    CHECK_NOTHROW(nabla::fit(net, sgd, x, y, options));
}

}  // namespace test_regularization
