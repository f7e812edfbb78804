// Optimizers: each one's first three steps match the update formulas of torch.optim, computed
// here entry by entry in scalar double arithmetic from the gradients backward() left in the
// workspace; on Network (fixed and Eigen::Dynamic sizes) and DynamicNetwork, float and double.
// The same for six steps on blocks that cross the segment boundaries of the fused step loops and
// end in SIMD tails. Then the properties users rely on: momentum and Nesterov differ, AdamW's
// decay is not Adam's L2 (and both vanish at λ = 0), reset() forgets, state follows parameter
// slots (not addresses) and starts afresh when the network changes shape, and bad settings throw
// ConfigError.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/loss.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/rmsprop.hpp>
#include <nabla/optim/sgd.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace test_optimizers {  // named for the unity build of nabla_tests

namespace {

using nabla_test::message_of;
using nabla_test::random_matrix;
using Matrix = Eigen::MatrixXd;
constexpr int dynamic = Eigen::Dynamic;

using FixedNet = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 2, nabla::Tanh>,
                                nabla::Dense<double, 2, 1, nabla::Identity>>;
using FloatDynamicSizesNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                   nabla::Dense<float, dynamic, dynamic, nabla::Identity>>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
using FloatDynNet = nabla::DynamicNetwork<float, nabla::HalfSquaredError>;

/// Every parameter of a network as one list: per layer, W column by column, then b.
template <class Net>
std::vector<double> flat_parameters(const Net& net) {
    std::vector<double> result;
    net.for_each_layer([&](const auto& layer, auto) {
        for (Eigen::Index k = 0; k < layer.weights().cols(); ++k)
            for (Eigen::Index j = 0; j < layer.weights().rows(); ++j)
                result.push_back(double(layer.weights()(j, k)));
        for (Eigen::Index j = 0; j < layer.bias().rows(); ++j)
            result.push_back(double(layer.bias()(j)));
    });
    return result;
}

/// The gradients in `ws`, in the order of flat_parameters().
template <class Net, class Workspace>
std::vector<double> flat_gradients(const Net& net, const Workspace& ws) {
    std::vector<double> result;
    net.for_each_layer([&](const auto&, auto i) {
        const auto& state = ws.layer(i);
        for (Eigen::Index k = 0; k < state.dW.cols(); ++k)
            for (Eigen::Index j = 0; j < state.dW.rows(); ++j)
                result.push_back(double(state.dW(j, k)));
        for (Eigen::Index j = 0; j < state.db.rows(); ++j) result.push_back(double(state.db(j)));
    });
    return result;
}

/// The state a reference rule keeps for one scalar parameter.
struct EntryState {
    double m = 0;       // Adam's first moment, or SGD's / RMSProp's momentum buffer
    double v = 0;       // Adam's second moment, or RMSProp's square average
    double g_mean = 0;  // centered RMSProp's mean gradient
};

// The reference rules: torch.optim's algorithms written out for one scalar, step t from 1.

struct SgdRule {
    double lr, momentum, weight_decay;
    bool nesterov;
    double operator()(double p, double grad, EntryState& s, int t) const {
        double g = grad + weight_decay * p;
        if (momentum != 0) {
            s.m = t == 1 ? g : momentum * s.m + g;  // torch clones g into the buffer at first
            g = nesterov ? g + momentum * s.m : s.m;
        }
        return p - lr * g;
    }
};

struct AdamRule {
    double lr, beta1, beta2, eps, l2, decoupled;
    double operator()(double p, double grad, EntryState& s, int t) const {
        const double g = grad + l2 * p;
        p = p * (1 - lr * decoupled);
        s.m = beta1 * s.m + (1 - beta1) * g;
        s.v = beta2 * s.v + (1 - beta2) * g * g;
        const double correction1 = 1 - std::pow(beta1, t);
        const double correction2 = 1 - std::pow(beta2, t);
        return p - lr / correction1 * s.m / (std::sqrt(s.v) / std::sqrt(correction2) + eps);
    }
};

struct RmsPropRule {
    double lr, alpha, eps, momentum, weight_decay;
    bool centered;
    double operator()(double p, double grad, EntryState& s, int) const {
        const double g = grad + weight_decay * p;
        s.v = alpha * s.v + (1 - alpha) * g * g;
        double denominator = std::sqrt(s.v) + eps;
        if (centered) {
            s.g_mean = alpha * s.g_mean + (1 - alpha) * g;
            denominator = std::sqrt(s.v - s.g_mean * s.g_mean) + eps;
        }
        if (momentum != 0) {
            s.m = momentum * s.m + g / denominator;
            return p - lr * s.m;
        }
        return p - lr * g / denominator;
    }
};

/// Three steps of `optimizer` on `net`, each checked entry by entry against `rule` applied to
/// the parameters and gradients of that step. Tolerances: a few ulps of the work done, relative
/// to the parameter's size (1e-12 in double; 2e-6 in float, where the optimizer also keeps its
/// state in float while the rule keeps it in double).
template <class Net, class Optimizer, class Rule>
void check_three_steps(Net net, Optimizer optimizer, const Rule& rule, std::uint64_t data_seed) {
    using Scalar = typename Net::Scalar;
    using Batch = Eigen::Matrix<Scalar, dynamic, dynamic>;
    const double tolerance = std::is_same_v<Scalar, float> ? 2e-6 : 1e-12;
    const Batch x = random_matrix<Batch>(net.inputs(), 3, data_seed, -1, 1);
    const Batch y = random_matrix<Batch>(net.outputs(), 3, data_seed + 1, -1, 1);
    typename Net::template Workspace<> ws;
    std::vector<EntryState> states;
    for (int t = 1; t <= 3; ++t) {
        CAPTURE(t);
        net.backward(x, y, ws);
        const std::vector<double> p = flat_parameters(net);
        const std::vector<double> g = flat_gradients(net, ws);
        REQUIRE(p.size() == g.size());
        states.resize(p.size());
        optimizer.step(net, ws);
        const std::vector<double> after = flat_parameters(net);
        std::size_t moved = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
            CAPTURE(i, p[i], g[i]);
            const double expected = rule(p[i], g[i], states[i], t);
            CAPTURE(expected, after[i]);
            CHECK(std::abs(after[i] - expected) <= tolerance * (1 + std::abs(expected)));
            moved += after[i] != p[i];
        }
        CHECK(moved == p.size());  // every parameter took a step: the check saw real updates
    }
}

/// Sizes whose parameter blocks cross segment boundaries of the fused step loops
/// (optim/detail/segments.hpp: 512 floats, 256 doubles) and are no multiple of any SIMD width:
/// W 37x19 (703 entries: one float segment and a tail, two double segments and a tail), 16x37
/// (592), 32x16 (512: exactly one float segment, two double ones), 5x32, 3x5, and biases of 37,
/// 16, 32, 5 and 3 entries.
const std::vector<Eigen::Index> ragged_sizes = {19, 37, 16, 32, 5, 3};

/// `steps` steps of `optimizer` on `net`, on one batch of 7 samples, each checked entry by entry
/// against `rule` applied in a plain scalar loop to the parameters and gradients of that step,
/// with check_three_steps's tolerances.
template <class Net, class Optimizer, class Rule>
void check_ragged_steps(Net net, Optimizer optimizer, const Rule& rule, int steps) {
    using Scalar = typename Net::Scalar;
    using Batch = Eigen::Matrix<Scalar, dynamic, dynamic>;
    const double tolerance = std::is_same_v<Scalar, float> ? 2e-6 : 1e-12;
    const Batch x = random_matrix<Batch>(net.inputs(), 7, 80, -1, 1);
    const Batch y = random_matrix<Batch>(net.outputs(), 7, 81, -1, 1);
    typename Net::template Workspace<> ws;
    std::vector<EntryState> states;
    for (int t = 1; t <= steps; ++t) {
        CAPTURE(t);
        net.backward(x, y, ws);
        const std::vector<double> p = flat_parameters(net);
        const std::vector<double> g = flat_gradients(net, ws);
        REQUIRE(p.size() == 2075);  // 703 + 37 + 592 + 16 + 512 + 32 + 160 + 5 + 15 + 3
        REQUIRE(g.size() == p.size());
        states.resize(p.size());
        optimizer.step(net, ws);
        const std::vector<double> after = flat_parameters(net);
        std::size_t wrong = 0;
        std::size_t first_wrong = p.size();
        std::size_t moved = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
            const double expected = rule(p[i], g[i], states[i], t);
            if (!(std::abs(after[i] - expected) <= tolerance * (1 + std::abs(expected)))) {
                if (wrong++ == 0) first_wrong = i;
            }
            moved += after[i] != p[i];
        }
        CAPTURE(first_wrong);
        CHECK(wrong == 0);
        CHECK(moved == p.size());
    }
}

/// check_ragged_steps for six steps on a float Network with Eigen::Dynamic sizes and on a
/// double DynamicNetwork, both of ragged_sizes.
template <class MakeOptimizer, class Rule>
void check_ragged_networks(const MakeOptimizer& make, const Rule& rule) {
    using RaggedFloatNet =
        nabla::Network<nabla::HalfSquaredError, nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                       nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                       nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                       nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                       nabla::Dense<float, dynamic, dynamic, nabla::Identity>>;
    {
        INFO("Network<float>, Eigen::Dynamic sizes");
        check_ragged_steps(RaggedFloatNet(ragged_sizes, 12), make(), rule, 6);
    }
    {
        INFO("DynamicNetwork<double>");
        const DynNet net(ragged_sizes,
                         {nabla::Tanh{}, nabla::Tanh{}, nabla::Tanh{}, nabla::Tanh{},
                          nabla::Identity{}},
                         13);
        check_ragged_steps(net, make(), rule, 6);
    }
}

/// check_three_steps on four networks: fixed sizes (double), Eigen::Dynamic sizes (float),
/// DynamicNetwork (double, two layers) and DynamicNetwork (float, one Dense 2 → 1 layer); then
/// check_ragged_networks, whose blocks cross the segments and SIMD tails of the step loops.
template <class MakeOptimizer, class Rule>
void check_on_every_network(const MakeOptimizer& make, const Rule& rule) {
    SECTION("Network<Dense<double, 2, 2>, Dense<double, 2, 1>>") {
        check_three_steps(FixedNet(3), make(), rule, 10);
    }
    SECTION("Network with Eigen::Dynamic sizes, float, [2, 3, 1]") {
        check_three_steps(FloatDynamicSizesNet({2, 3, 1}, 4), make(), rule, 20);
    }
    SECTION("DynamicNetwork<double>, [3, 4, 2]") {
        check_three_steps(DynNet({3, 4, 2}, {nabla::Sigmoid{}, nabla::Identity{}}, 5), make(),
                          rule, 30);
    }
    SECTION("DynamicNetwork<float>, one layer 2 -> 1") {
        check_three_steps(FloatDynNet({2, 1}, {nabla::Identity{}}, 6), make(), rule, 40);
    }
    SECTION("blocks of ragged lengths, six steps") { check_ragged_networks(make, rule); }
}

/// Parameters of `net` after `steps` steps of `optimizer` on a fixed batch.
template <class Net, class Optimizer>
std::vector<double> after_steps(Net net, Optimizer& optimizer, int steps) {
    using Batch = Eigen::Matrix<typename Net::Scalar, dynamic, dynamic>;
    const Batch x = random_matrix<Batch>(net.inputs(), 4, 50, -1, 1);
    const Batch y = random_matrix<Batch>(net.outputs(), 4, 51, -1, 1);
    typename Net::template Workspace<> ws;
    for (int s = 0; s < steps; ++s) {
        net.backward(x, y, ws);
        optimizer.step(net, ws);
    }
    return flat_parameters(net);
}

}  // namespace

TEST_CASE("optimizers: Sgd matches torch.optim.SGD step by step", "[optimizers]") {
    SECTION("plain") {
        check_on_every_network([] { return nabla::Sgd(0.3); }, SgdRule{0.3, 0, 0, false});
    }
    SECTION("momentum") {
        check_on_every_network([] { return nabla::Sgd(0.3, {0.9}); }, SgdRule{0.3, 0.9, 0, false});
    }
    SECTION("Nesterov") {
        check_on_every_network([] { return nabla::Sgd(0.3, {0.9, true}); },
                               SgdRule{0.3, 0.9, 0, true});
    }
    SECTION("weight decay, no momentum") {
        check_on_every_network([] { return nabla::Sgd(0.3, {0, false, 0.1}); },
                               SgdRule{0.3, 0, 0.1, false});
    }
    SECTION("momentum and weight decay") {
        check_on_every_network([] { return nabla::Sgd(0.3, {0.9, false, 0.1}); },
                               SgdRule{0.3, 0.9, 0.1, false});
    }
    SECTION("weight decay with Nesterov") {
        check_on_every_network([] { return nabla::Sgd(0.3, {0.8, true, 0.1}); },
                               SgdRule{0.3, 0.8, 0.1, true});
    }
}

TEST_CASE("optimizers: Adam matches torch.optim.Adam step by step", "[optimizers]") {
    SECTION("defaults") {
        check_on_every_network([] { return nabla::Adam(0.01); },
                               AdamRule{0.01, 0.9, 0.999, 1e-8, 0, 0});
    }
    SECTION("other betas and epsilon") {
        check_on_every_network([] { return nabla::Adam(0.05, {0.8, 0.95, 1e-3}); },
                               AdamRule{0.05, 0.8, 0.95, 1e-3, 0, 0});
    }
    SECTION("L2 weight decay, coupled") {
        check_on_every_network([] { return nabla::Adam(0.01, {0.9, 0.999, 1e-8, 0.5}); },
                               AdamRule{0.01, 0.9, 0.999, 1e-8, 0.5, 0});
    }
}

TEST_CASE("optimizers: AdamW matches torch.optim.AdamW step by step", "[optimizers]") {
    SECTION("default decay 0.01") {
        check_on_every_network([] { return nabla::AdamW(0.01); },
                               AdamRule{0.01, 0.9, 0.999, 1e-8, 0, 0.01});
    }
    SECTION("decay 0.5") {
        check_on_every_network([] { return nabla::AdamW(0.02, {0.85, 0.99, 1e-6, 0.5}); },
                               AdamRule{0.02, 0.85, 0.99, 1e-6, 0, 0.5});
    }
}

TEST_CASE("optimizers: RmsProp matches torch.optim.RMSprop step by step", "[optimizers]") {
    SECTION("defaults") {
        check_on_every_network([] { return nabla::RmsProp(0.01); },
                               RmsPropRule{0.01, 0.99, 1e-8, 0, 0, false});
    }
    SECTION("momentum") {
        check_on_every_network([] { return nabla::RmsProp(0.01, {0.9, 1e-8, 0.9}); },
                               RmsPropRule{0.01, 0.9, 1e-8, 0.9, 0, false});
    }
    SECTION("centered") {
        check_on_every_network([] { return nabla::RmsProp(0.01, {0.9, 1e-8, 0, true}); },
                               RmsPropRule{0.01, 0.9, 1e-8, 0, 0, true});
    }
    SECTION("centered, momentum and weight decay") {
        check_on_every_network([] { return nabla::RmsProp(0.01, {0.8, 1e-6, 0.7, true, 0.2}); },
                               RmsPropRule{0.01, 0.8, 1e-6, 0.7, 0.2, true});
    }
}

TEST_CASE("optimizers: plain Sgd is the network's own update, bit for bit", "[optimizers]") {
    DynNet a({3, 4, 2}, {nabla::Tanh{}, nabla::Identity{}}, 2);
    DynNet b = a;
    const Matrix x = random_matrix<Matrix>(3, 5, 1, -1, 1);
    const Matrix y = random_matrix<Matrix>(2, 5, 2, -1, 1);
    DynNet::Workspace<> ws_a;
    DynNet::Workspace<> ws_b;
    nabla::Sgd sgd(0.2);
    for (int s = 0; s < 5; ++s) {
        a.backward(x, y, ws_a);
        sgd.step(a, ws_a);
        b.train_step(x, y, ws_b, 0.2);
    }
    CHECK(flat_parameters(a) == flat_parameters(b));
}

TEST_CASE("optimizers: momentum and Nesterov give different steps", "[optimizers]") {
    const FixedNet net(7);
    nabla::Sgd classical(0.1, {0.9});
    nabla::Sgd nesterov(0.1, {0.9, true});
    nabla::Sgd plain(0.1);
    const std::vector<double> c = after_steps(net, classical, 3);
    const std::vector<double> n = after_steps(net, nesterov, 3);
    const std::vector<double> p = after_steps(net, plain, 3);
    for (std::size_t i = 0; i < c.size(); ++i) {
        CAPTURE(i);
        CHECK(c[i] != n[i]);
        CHECK(c[i] != p[i]);
    }
}

TEST_CASE("optimizers: AdamW's decoupled decay is not Adam's L2, and at 0 they are equal",
          "[optimizers]") {
    const DynNet net({3, 4, 2}, {nabla::Tanh{}, nabla::Identity{}}, 8);
    SECTION("weight decay 0.1") {
        nabla::Adam adam(0.01, {0.9, 0.999, 1e-8, 0.1});
        nabla::AdamW adamw(0.01, {0.9, 0.999, 1e-8, 0.1});
        nabla::Adam no_decay(0.01);
        const std::vector<double> a = after_steps(net, adam, 3);
        const std::vector<double> w = after_steps(net, adamw, 3);
        const std::vector<double> n = after_steps(net, no_decay, 3);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < a.size(); ++i) differ += a[i] != w[i];
        CHECK(differ == a.size());
        // and each decay does change the result.
        CHECK(a != n);
        CHECK(w != n);
    }
    SECTION("weight decay 0") {
        nabla::Adam adam(0.01, {0.9, 0.999, 1e-8, 0});
        nabla::AdamW adamw(0.01, {0.9, 0.999, 1e-8, 0});
        CHECK(after_steps(net, adam, 4) == after_steps(net, adamw, 4));
    }
}

TEST_CASE("optimizers: reset() forgets the state", "[optimizers]") {
    // After reset() an optimizer that has stepped behaves like a new one.
    const auto check = [](auto used, auto fresh) {
        const FixedNet net(9);
        after_steps(net, used, 3);
        used.reset();
        CHECK(after_steps(net, used, 2) == after_steps(net, fresh, 2));
        // and without reset() it would not have: the state matters.
        auto kept = fresh;
        after_steps(net, kept, 3);
        auto new_one = fresh;
        new_one.reset();
        CHECK(after_steps(net, kept, 2) != after_steps(net, new_one, 2));
    };
    SECTION("Sgd with momentum") { check(nabla::Sgd(0.1, {0.9}), nabla::Sgd(0.1, {0.9})); }
    SECTION("Adam") { check(nabla::Adam(0.01), nabla::Adam(0.01)); }
    SECTION("AdamW") { check(nabla::AdamW(0.01), nabla::AdamW(0.01)); }
    SECTION("RmsProp, centered with momentum") {
        check(nabla::RmsProp(0.01, {0.9, 1e-8, 0.5, true}),
              nabla::RmsProp(0.01, {0.9, 1e-8, 0.5, true}));
    }
    SECTION("Adam counts its steps") {
        nabla::Adam adam(0.01);
        CHECK(adam.step_count() == 0);
        after_steps(FixedNet(1), adam, 3);
        CHECK(adam.step_count() == 3);
        adam.reset();
        CHECK(adam.step_count() == 0);
    }
}

TEST_CASE("optimizers: state follows parameter slots, not addresses", "[optimizers]") {
    // A fixed-size network lives in place: moving it moves its parameters to new addresses.
    const Matrix x = random_matrix<Matrix>(2, 4, 60, -1, 1);
    const Matrix y = random_matrix<Matrix>(1, 4, 61, -1, 1);
    FixedNet a(4);
    FixedNet b(4);
    FixedNet::Workspace<> ws;
    nabla::Adam adam_a(0.01);
    nabla::Adam adam_b(0.01);
    for (int s = 0; s < 2; ++s) {
        a.backward(x, y, ws);
        adam_a.step(a, ws);
        b.backward(x, y, ws);
        adam_b.step(b, ws);
    }
    FixedNet moved = std::move(b);
    nabla::Adam copied = adam_b;  // a copied optimizer carries its state along
    for (int s = 0; s < 2; ++s) {
        a.backward(x, y, ws);
        adam_a.step(a, ws);
        moved.backward(x, y, ws);
        copied.step(moved, ws);
    }
    CHECK(flat_parameters(a) == flat_parameters(moved));
    CHECK(copied.step_count() == 4);
}

TEST_CASE("optimizers: a network of other shapes starts the state afresh", "[optimizers]") {
    const DynNet small({2, 3, 1}, {nabla::Tanh{}, nabla::Identity{}}, 1);
    const DynNet wider({2, 4, 1}, {nabla::Tanh{}, nabla::Identity{}}, 2);
    const DynNet deeper({2, 3, 3, 1}, {nabla::Tanh{}, nabla::Tanh{}, nabla::Identity{}}, 3);
    const FloatDynNet in_float({2, 3, 1}, {nabla::Tanh{}, nabla::Identity{}}, 1);
    const auto check = [&](auto optimizer) {
        const auto fresh = optimizer;
        after_steps(small, optimizer, 2);
        auto fresh_copy = fresh;
        CHECK(after_steps(wider, optimizer, 2) == after_steps(wider, fresh_copy, 2));
        fresh_copy = fresh;
        CHECK(after_steps(deeper, optimizer, 2) == after_steps(deeper, fresh_copy, 2));
        fresh_copy = fresh;
        CHECK(after_steps(in_float, optimizer, 2) == after_steps(in_float, fresh_copy, 2));
        fresh_copy = fresh;
        CHECK(after_steps(small, optimizer, 2) == after_steps(small, fresh_copy, 2));
    };
    SECTION("Sgd with momentum") { check(nabla::Sgd(0.1, {0.9})); }
    SECTION("Adam") { check(nabla::Adam(0.01)); }
    SECTION("AdamW") { check(nabla::AdamW(0.01)); }
    SECTION("RmsProp") { check(nabla::RmsProp(0.01, {0.9, 1e-8, 0.5, true})); }
}

TEST_CASE("optimizers: each one lowers the loss of a small regression", "[optimizers]") {
    const Matrix x = random_matrix<Matrix>(3, 40, 70, -1, 1);
    Matrix y(1, 40);
    for (Eigen::Index k = 0; k < 40; ++k) y(0, k) = std::sin(2 * x(0, k)) + 0.5 * x(1, k) * x(2, k);
    const DynNet start({3, 12, 1}, {nabla::Tanh{}, nabla::Identity{}}, 11);
    const double initial = start.loss(x, y);
    const auto train = [&](auto optimizer) {
        DynNet net = start;
        DynNet::Workspace<> ws;
        for (int s = 0; s < 300; ++s) {
            net.backward(x, y, ws);
            optimizer.step(net, ws);
        }
        return net.loss(x, y);
    };
    // Each ends at least 5 times below the start (measured: 34 to 250 times).
    CHECK(train(nabla::Sgd(0.1)) < initial / 5);
    CHECK(train(nabla::Sgd(0.05, {0.9, true})) < initial / 5);
    CHECK(train(nabla::Adam(0.01)) < initial / 5);
    CHECK(train(nabla::AdamW(0.01)) < initial / 5);
    CHECK(train(nabla::RmsProp(0.003)) < initial / 5);
    CHECK(train(nabla::RmsProp(0.003, {0.99, 1e-8, 0.5, true})) < initial / 5);
}

TEST_CASE("optimizers: the learning rate can be read, changed, and set to 0", "[optimizers]") {
    const FixedNet net(5);
    const std::vector<double> start = flat_parameters(net);
    nabla::Sgd sgd(0.1, {0.9});
    nabla::Adam adam;
    nabla::AdamW adamw;
    nabla::RmsProp rmsprop;
    CHECK(sgd.learning_rate() == 0.1);
    CHECK(adam.learning_rate() == 1e-3);
    CHECK(adamw.learning_rate() == 1e-3);
    CHECK(adamw.options().weight_decay == 0.01);
    CHECK(rmsprop.learning_rate() == 0.01);
    CHECK(nabla::Sgd().learning_rate() == 0.01);
    sgd.set_learning_rate(0);
    adam.set_learning_rate(0);
    adamw.set_learning_rate(0);
    rmsprop.set_learning_rate(0);
    CHECK(after_steps(net, sgd, 2) == start);
    CHECK(after_steps(net, adam, 2) == start);
    CHECK(after_steps(net, adamw, 2) == start);
    CHECK(after_steps(net, rmsprop, 2) == start);
    adam.set_learning_rate(0.5);
    CHECK(adam.learning_rate() == 0.5);
    CHECK(after_steps(net, adam, 1) != start);
}

TEST_CASE("optimizers: settings out of range throw ConfigError naming them",
          "[optimizers][errors]") {
    const double nan = std::nan("");
    const auto config_error = [](auto make) { return message_of<nabla::ConfigError>(make); };
    CHECK(config_error([] { nabla::Sgd(-0.1); }) ==
          "nabla: Sgd: learning_rate must be finite and 0 or more, got -0.1");
    CHECK(config_error([] { nabla::Sgd(0.1, {1.0}); }) ==
          "nabla: Sgd: momentum must be in [0, 1), got 1");
    CHECK(config_error([] { nabla::Sgd(0.1, {-0.5}); }) ==
          "nabla: Sgd: momentum must be in [0, 1), got -0.5");
    CHECK(config_error([] { nabla::Sgd(0.1, {0, true}); }) ==
          "nabla: Sgd: nesterov needs a momentum above 0, got momentum 0");
    CHECK(config_error([] { nabla::Sgd(0.1, {0.9, false, -1}); }) ==
          "nabla: Sgd: weight_decay must be finite and 0 or more, got -1");
    CHECK(config_error([&] { nabla::Adam{nan}; }) ==
          "nabla: Adam: learning_rate must be finite and 0 or more, got nan");
    CHECK(config_error([] { nabla::Adam(0.1, {1.0}); }) ==
          "nabla: Adam: beta1 must be in [0, 1), got 1");
    CHECK(config_error([] { nabla::Adam(0.1, {0.9, 1.5}); }) ==
          "nabla: Adam: beta2 must be in [0, 1), got 1.5");
    CHECK(config_error([] { nabla::Adam(0.1, {0.9, 0.999, 0}); }) ==
          "nabla: Adam: epsilon must be positive and finite, got 0");
    CHECK(config_error([] { nabla::Adam(0.1, {0.9, 0.999, 1e-8, -0.01}); }) ==
          "nabla: Adam: weight_decay must be finite and 0 or more, got -0.01");
    CHECK(config_error([] { nabla::AdamW(0.1, {-0.1}); }) ==
          "nabla: AdamW: beta1 must be in [0, 1), got -0.1");
    CHECK(config_error([] { nabla::AdamW(0.1, {0.9, 0.999, 1e-8, -2}); }) ==
          "nabla: AdamW: weight_decay must be finite and 0 or more, got -2");
    CHECK(config_error([] { nabla::RmsProp(0.1, {1.0}); }) ==
          "nabla: RmsProp: alpha must be in [0, 1), got 1");
    CHECK(config_error([] { nabla::RmsProp(0.1, {0.99, -1e-8}); }) ==
          "nabla: RmsProp: epsilon must be positive and finite, got -1e-08");
    CHECK(config_error([] { nabla::RmsProp(0.1, {0.99, 1e-8, 1.0}); }) ==
          "nabla: RmsProp: momentum must be in [0, 1), got 1");
    CHECK(config_error([] { nabla::RmsProp(0.1, {0.99, 1e-8, 0, false, -3}); }) ==
          "nabla: RmsProp: weight_decay must be finite and 0 or more, got -3");

    nabla::Adam adam(0.1);
    CHECK(config_error([&] { adam.set_learning_rate(-1); }) ==
          "nabla: Adam: learning_rate must be finite and 0 or more, got -1");
    CHECK(adam.learning_rate() == 0.1);  // unchanged by the refused value
}

TEST_CASE("optimizers: a step without gradients throws ShapeError", "[optimizers][errors]") {
    DynNet net({2, 3, 1}, {nabla::Tanh{}, nabla::Identity{}}, 1);
    DynNet::Workspace<> ws;
    const Matrix x = random_matrix<Matrix>(2, 4, 1, -1, 1);
    const Matrix y = random_matrix<Matrix>(1, 4, 2, -1, 1);
    nabla::Adam adam;
    CHECK(message_of<nabla::ShapeError>([&] { adam.step(net, ws); }) ==
          "nabla: Adam::step: the workspace holds no gradients; run backward() on it first");
    net.backward(x, y, ws);
    net.forward(x, ws);  // a forward pass leaves activations, not gradients
    nabla::RmsProp rmsprop;
    CHECK(message_of<nabla::ShapeError>([&] { rmsprop.step(net, ws); }) ==
          "nabla: RmsProp::step: the workspace holds no gradients; run backward() on it first");

    SECTION("gradients of another network's shapes") {
        DynNet other({2, 5, 1}, {nabla::Tanh{}, nabla::Identity{}}, 1);
        other.backward(x, y, ws);
        const std::vector<double> before = flat_parameters(net);
        nabla::Sgd sgd(0.1, {0.9});
        CHECK(message_of<nabla::ShapeError>([&] { sgd.step(net, ws); }) ==
              "nabla: Sgd::step: the workspace holds gradients of shape 5x2 for Dense layer 1, "
              "whose W is 3x2");
        CHECK(flat_parameters(net) == before);
    }
}

}  // namespace test_optimizers
