// Dropout (layers/dropout.hpp): the identity when predicting; while training each unit kept with
// probability 1 − p and scaled by exactly 1/(1 − p) (counted on ~10⁵ draws); a replay pass
// reuses the last mask and propagate() masks ∂C/∂a; gradients through a fixed mask against
// central differences; one seed, one training run, on 1 and 2 threads; the rate saved in a
// version 2 model file and checked on load; rates outside [0, 1) refused.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

namespace test_dropout {  // named for the unity build of nabla_tests

namespace {

using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::same_parameters;

constexpr int dynamic = Eigen::Dynamic;

template <class Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
using MatrixD = Matrix<double>;

using Hidden = nabla::Dense<double, dynamic, dynamic, nabla::Tanh>;
using Output = nabla::Dense<double, dynamic, dynamic, nabla::Identity>;
using Drop = nabla::Dropout<double>;
using DropNet = nabla::Network<nabla::HalfSquaredError, Hidden, Drop, Output>;
using PlainNet = nabla::Network<nabla::HalfSquaredError, Hidden, Output>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;
using DynDense = DynNet::Layer;
using DynDropState = nabla::DropoutState<double, dynamic, dynamic>;

constexpr Eigen::Index inputs = 4;
constexpr Eigen::Index hidden = 6;
constexpr Eigen::Index outputs = 2;

/// 4 → tanh 6 → dropout(rate) → identity 2, initialised from `seed`.
DropNet make_drop_net(double rate, std::uint64_t seed) {
    DropNet net(std::make_tuple(Hidden(inputs, hidden), Drop(hidden, rate),
                                Output(hidden, outputs)));
    net.initialize(seed);
    return net;
}

/// The same stack as a DynamicNetwork.
DynNet make_dyn_drop_net(double rate, std::uint64_t seed) {
    DynNet net(std::vector<nabla::AnyLayer<double>>{DynDense(inputs, hidden, nabla::Tanh{}),
                                                    Drop(hidden, rate),
                                                    DynDense(hidden, outputs, nabla::Identity{})});
    net.initialize(seed);
    return net;
}

/// The number of entries of `m` that are exactly 0.
template <class M>
Eigen::Index zeros_of(const M& m) {
    return Eigen::Index((m.array() == typename M::Scalar(0)).count());
}

/// The batch cost of the drop net on x against y through `mask`, by hand in long double:
/// mean over the samples of ½‖W²(tanh(W¹x + b¹) ⊙ mask) + b² − y‖².
long double cost_by_hand(const DropNet& net, const MatrixD& x, const MatrixD& y,
                         const MatrixD& mask) {
    const auto& w1 = net.layer<0>().weights();
    const auto& b1 = net.layer<0>().bias();
    const auto& w2 = net.layer<2>().weights();
    const auto& b2 = net.layer<2>().bias();
    long double total = 0;
    for (Eigen::Index s = 0; s < x.cols(); ++s) {
        std::vector<long double> a1(std::size_t(hidden), 0.0L);
        for (Eigen::Index j = 0; j < hidden; ++j) {
            long double z = b1(j);
            for (Eigen::Index k = 0; k < inputs; ++k) z += (long double)w1(j, k) * x(k, s);
            a1[std::size_t(j)] = std::tanh(z) * (long double)mask(j, s);
        }
        for (Eigen::Index j = 0; j < outputs; ++j) {
            long double a = b2(j);
            for (Eigen::Index k = 0; k < hidden; ++k) a += (long double)w2(j, k) * a1[std::size_t(k)];
            const long double r = a - (long double)y(j, s);
            total += 0.5L * r * r;
        }
    }
    return total / (long double)x.cols();
}

}  // namespace

TEST_CASE("dropout: predicting is the identity", "[dropout]") {
    const MatrixD x = random_matrix<MatrixD>(inputs, 9, 1);
    const MatrixD y = random_matrix<MatrixD>(outputs, 9, 2);

    SECTION("Network with run-time sizes") {
        const DropNet net = make_drop_net(0.5, 3);
        const PlainNet plain(std::make_tuple(net.layer<0>(), net.layer<2>()));
        const MatrixD expected = plain.predict(x);
        CHECK(net.predict(x) == expected);
        CHECK(net.loss(x, y) == plain.loss(x, y));

        // A training pass on the workspace does not leave dropout on for the next prediction.
        DropNet::Workspace<> ws;
        net.backward(x, y, ws);
        const MatrixD trained = ws.output();
        CHECK(trained != expected);  // the training pass did drop units
        CHECK(MatrixD(net.forward(x, ws)) == expected);
        CHECK(net.loss(x, y, ws) == plain.loss(x, y));
    }
    SECTION("Network with sizes fixed at compile time") {
        using FixedHidden = nabla::Dense<double, 4, 6, nabla::Tanh>;
        using FixedOutput = nabla::Dense<double, 6, 2, nabla::Identity>;
        using FixedDropNet = nabla::Network<nabla::HalfSquaredError, FixedHidden,
                                            nabla::Dropout<double, 6>, FixedOutput>;
        using FixedPlainNet = nabla::Network<nabla::HalfSquaredError, FixedHidden, FixedOutput>;
        FixedDropNet net(std::make_tuple(FixedHidden(4, 6), nabla::Dropout<double, 6>(6, 0.4),
                                         FixedOutput(6, 2)));
        net.initialize(4);
        const FixedPlainNet plain(std::make_tuple(net.layer<0>(), net.layer<2>()));
        CHECK(MatrixD(net.predict(x)) == MatrixD(plain.predict(x)));
    }
    SECTION("fit()'s validation loss is the loss with dropout off") {
        DropNet net = make_drop_net(0.5, 6);
        nabla::Sgd sgd(0.05);
        nabla::FitOptions options;
        options.epochs = 2;
        options.batch_size = 3;
        options.validation_batch_size = 9;  // one batch: the mean is the batch's cost
        options.progress.mode = nabla::ProgressMode::silent;
        const MatrixD x_val = random_matrix<MatrixD>(inputs, 9, 7);
        const MatrixD y_val = random_matrix<MatrixD>(outputs, 9, 8);
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        REQUIRE(history.epochs.back().val_loss.has_value());
        const double val_loss = *history.epochs.back().val_loss;
        const PlainNet plain(std::make_tuple(net.layer<0>(), net.layer<2>()));
        CHECK(std::abs(val_loss - plain.loss(x_val, y_val)) <= 1e-15 * val_loss);
    }
    SECTION("DynamicNetwork") {
        const DynNet net = make_dyn_drop_net(0.5, 5);
        DynNet plain({inputs, hidden, outputs}, {nabla::Tanh{}, nabla::Identity{}}, 0);
        plain.layer(0).set_weights(net.layer(0).weights());
        plain.layer(0).set_bias(net.layer(0).bias());
        plain.layer(1).set_weights(net.layer(2).weights());
        plain.layer(1).set_bias(net.layer(2).bias());
        REQUIRE_FALSE(same_parameters(plain, DynNet({inputs, hidden, outputs},
                                                    {nabla::Tanh{}, nabla::Identity{}}, 0)));
        CHECK(net.predict(x) == plain.predict(x));
        CHECK(net.loss(x, y) == plain.loss(x, y));
    }
}

namespace {

/// One training pass of a Dropout layer of `units` units on a batch of `batch` columns: every
/// mask entry 0 or the one scale 1/(1 − p), the kept fraction (overall, per unit, and for pairs
/// of neighbouring entries) within 5 standard deviations of its expectation, a = x ⊙ mask.
template <class Scalar>
void check_training_pass(double rate, std::uint64_t seed) {
    using M = Matrix<Scalar>;
    constexpr Eigen::Index units = 51;
    constexpr Eigen::Index batch = 1999;  // 101949 entries: odd, so the last draw stands alone
    const nabla::Dropout<Scalar> layer(units, rate);
    nabla::DropoutState<Scalar, dynamic, dynamic> state;
    layer.prepare(state, batch, nullptr);
    const M x = random_matrix<M>(units, batch, seed, 0.5, 2.0);  // no zero inputs
    nabla::Rng rng(seed);
    layer.forward(x, state, nabla::Pass{nabla::PassKind::train, &rng});
    REQUIRE(state.mask.rows() == units);
    REQUIRE(state.mask.cols() == batch);
    REQUIRE(state.a.rows() == units);
    REQUIRE(state.a.cols() == batch);

    const long double scale = 1.0L / (1.0L - (long double)rate);
    const Scalar ulp = std::numeric_limits<Scalar>::epsilon() * Scalar(scale);
    Eigen::Index kept = 0;
    Eigen::Index bad_entries = 0;  // neither 0 nor within an ulp of 1/(1 − p)
    Eigen::Index off_product = 0;  // a ≠ x ⊙ mask
    Scalar first_kept = 0;
    Eigen::Index other_kept_values = 0;  // kept entries that differ from the first
    for (Eigen::Index k = 0; k < batch; ++k) {
        for (Eigen::Index j = 0; j < units; ++j) {
            const Scalar m = state.mask(j, k);
            if (m != Scalar(0)) {
                if (kept++ == 0) first_kept = m;
                if (m != first_kept) ++other_kept_values;
                if (std::abs((long double)m - scale) > (long double)ulp) ++bad_entries;
            }
            if (state.a(j, k) != x(j, k) * m) ++off_product;
        }
    }
    CAPTURE(rate, double(first_kept), double(scale));
    CHECK(bad_entries == 0);
    CHECK(other_kept_values == 0);
    CHECK(off_product == 0);

    const double n = double(units * batch);
    const double keep = 1 - rate;
    const double fraction = double(kept) / n;
    CAPTURE(fraction, keep);
    CHECK(std::abs(fraction - keep) <= 5 * std::sqrt(rate * keep / n));

    // Each unit on its own keeps about 1 − p of its samples.
    Eigen::Index units_off = 0;
    for (Eigen::Index j = 0; j < units; ++j) {
        const double unit_fraction =
            double((state.mask.row(j).array() != Scalar(0)).count()) / double(batch);
        if (std::abs(unit_fraction - keep) > 5 * std::sqrt(rate * keep / double(batch)))
            ++units_off;
    }
    CHECK(units_off == 0);

    // Neighbouring entries (in memory order) are kept together with probability (1 − p)²: the
    // two halves of one random word are independent draws.
    const Scalar* m = state.mask.data();
    Eigen::Index both = 0;
    const Eigen::Index pairs = (units * batch) / 2;
    for (Eigen::Index i = 0; i < pairs; ++i)
        if (m[2 * i] != Scalar(0) && m[2 * i + 1] != Scalar(0)) ++both;
    const double pair_keep = keep * keep;
    const double pair_fraction = double(both) / double(pairs);
    CAPTURE(pair_fraction, pair_keep);
    CHECK(std::abs(pair_fraction - pair_keep) <=
          5 * std::sqrt(pair_keep * (1 - pair_keep) / double(pairs)));
}

}  // namespace

TEST_CASE("dropout: a training pass keeps each unit with probability 1 - p, scaled by 1/(1 - p)",
          "[dropout]") {
    SECTION("scales that are exact: p = 0.5 (×2) and p = 0.75 (×4)") {
        check_training_pass<double>(0.5, 11);
        check_training_pass<double>(0.75, 12);
        check_training_pass<float>(0.5, 13);
        check_training_pass<float>(0.75, 14);
    }
    SECTION("scales that round: p = 0.1, 0.25, 0.3") {
        check_training_pass<double>(0.1, 15);
        check_training_pass<double>(0.25, 16);
        check_training_pass<double>(0.3, 17);
        check_training_pass<float>(0.3, 18);
    }
    SECTION("p = 0.5: the kept entries are exactly 2 (x2 is exact, so a is exactly 2x)") {
        const nabla::Dropout<double> layer(7, 0.5);
        DynDropState state;
        layer.prepare(state, 300, nullptr);
        const MatrixD x = random_matrix<MatrixD>(7, 300, 19, 0.5, 2.0);
        nabla::Rng rng(20);
        layer.forward(x, state, nabla::Pass{nabla::PassKind::train, &rng});
        CHECK((state.mask.array() == 0.0 || state.mask.array() == 2.0).all());
        CHECK(((state.a.array() == 0.0) || (state.a.array() == 2.0 * x.array())).all());
        CHECK(zeros_of(state.mask) > 0);
        CHECK(zeros_of(state.mask) < state.mask.size());
    }
    SECTION("p = 0 keeps every unit unscaled") {
        const nabla::Dropout<float> layer(9, 0.0);
        nabla::DropoutState<float, dynamic, dynamic> state;
        layer.prepare(state, 1001, nullptr);
        const Matrix<float> x = random_matrix<Matrix<float>>(9, 1001, 21);
        nabla::Rng rng(22);
        layer.forward(x, state, nabla::Pass{nabla::PassKind::train, &rng});
        CHECK((state.mask.array() == 1.0f).all());
        CHECK(state.a == x);
    }
    SECTION("a prediction pass is the identity and leaves the mask alone") {
        const nabla::Dropout<double> layer(5, 0.6);
        DynDropState state;
        layer.prepare(state, 40, nullptr);
        const MatrixD x = random_matrix<MatrixD>(5, 40, 23);
        nabla::Rng rng(24);
        layer.forward(x, state, nabla::Pass{nabla::PassKind::train, &rng});
        const MatrixD mask = state.mask;
        layer.forward(x, state, nabla::Pass{nabla::PassKind::predict, &rng});
        CHECK(state.a == x);
        CHECK(state.mask == mask);
    }
}

TEST_CASE("dropout: a replay pass reuses the mask, and propagate gives dC/da masked", "[dropout]") {
    SECTION("the layer on its own") {
        const nabla::Dropout<double> layer(8, 0.5);
        DynDropState state;
        layer.prepare(state, 50, nullptr);
        const MatrixD x1 = random_matrix<MatrixD>(8, 50, 31);
        const MatrixD x2 = random_matrix<MatrixD>(8, 50, 32);
        nabla::Rng rng(33);
        layer.forward(x1, state, nabla::Pass{nabla::PassKind::train, &rng});
        const MatrixD first_mask = state.mask;
        REQUIRE(zeros_of(first_mask) > 0);

        // Replay on other inputs: the same mask, and no draw from the generator.
        nabla::Rng untouched = rng;
        layer.forward(x2, state, nabla::Pass{nabla::PassKind::replay, &rng});
        CHECK(state.mask == first_mask);
        CHECK(state.a == MatrixD(x2.cwiseProduct(first_mask)));
        CHECK(rng.next() == untouched.next());

        // propagate: ∂C/∂x = ∂C/∂a ⊙ mask, so a dropped unit passes nothing back.
        state.da = random_matrix<MatrixD>(8, 50, 34);
        MatrixD below(8, 50);
        layer.propagate(state, below);
        Eigen::Index wrong = 0;
        for (Eigen::Index k = 0; k < 50; ++k)
            for (Eigen::Index j = 0; j < 8; ++j)
                if (below(j, k) != state.da(j, k) * first_mask(j, k)) ++wrong;
        CHECK(wrong == 0);
        CHECK(zeros_of(below) == zeros_of(first_mask));

        // The next training pass draws a new mask.
        layer.forward(x1, state, nabla::Pass{nabla::PassKind::train, &rng});
        CHECK(state.mask != first_mask);
    }

    const MatrixD x = random_matrix<MatrixD>(inputs, 12, 35);
    const MatrixD y = random_matrix<MatrixD>(outputs, 12, 36);

    SECTION("in a Network: backward's cost is replay_loss's, and the hand-computed one") {
        const DropNet net = make_drop_net(0.5, 37);
        DropNet::Workspace<> ws;
        const double cost = net.backward(x, y, ws);
        const MatrixD mask = ws.layer<1>().mask;
        REQUIRE(zeros_of(mask) > 0);
        REQUIRE(zeros_of(mask) < mask.size());

        const long double by_hand = cost_by_hand(net, x, y, mask);
        CHECK(std::abs((long double)cost - by_hand) <= 1e-13L * by_hand);

        // The layer below the dropout got ∂C/∂a ⊙ mask.
        CHECK(ws.layer<0>().da == MatrixD(ws.layer<1>().da.cwiseProduct(mask)));

        CHECK(net.replay_loss(x, y, ws) == cost);
        CHECK(ws.layer<1>().mask == mask);
        // A prediction pass on the workspace between leaves the mask for the next replay.
        const double predicted = net.loss(x, y, ws);
        CHECK(predicted != cost);
        CHECK(net.replay_loss(x, y, ws) == cost);
    }
    SECTION("input_gradient through a Dropout first layer: masked, and the derivative of the "
            "replayed cost") {
        DynNet net(std::vector<nabla::AnyLayer<double>>{Drop(inputs, 0.5),
                                                        DynDense(inputs, hidden, nabla::Tanh{}),
                                                        DynDense(hidden, outputs, nabla::Identity{})});
        net.initialize(39);
        DynNet::Workspace<> ws;
        net.backward(x, y, ws);
        const MatrixD mask = ws.layer(0).as<DynDropState>().mask;
        REQUIRE(zeros_of(mask) > 0);
        const MatrixD gradient = net.input_gradient(ws);
        CHECK(gradient == MatrixD(MatrixD(ws.layer(0).da).cwiseProduct(mask)));
        CHECK(zeros_of(gradient) >= zeros_of(mask));
        // Column k is the gradient of sample k's own cost: n times that of the batch mean.
        DynNet::Workspace<> probe_ws = ws;
        MatrixD moved = x;
        double worst = 0;
        const double largest = gradient.cwiseAbs().maxCoeff();
        const double h = std::cbrt(std::numeric_limits<double>::epsilon());
        for (Eigen::Index k = 0; k < x.cols(); ++k) {
            for (Eigen::Index j = 0; j < x.rows(); ++j) {
                const double original = x(j, k);
                moved(j, k) = original + h;
                const double up = net.replay_loss(moved, y, probe_ws);
                moved(j, k) = original - h;
                const double down = net.replay_loss(moved, y, probe_ws);
                moved(j, k) = original;
                const double numeric = double(x.cols()) * (up - down) / ((original + h) - (original - h));
                worst = std::max(worst, std::abs(numeric - gradient(j, k)));
            }
        }
        CAPTURE(worst, largest);
        CHECK(worst <= 1e-7 * largest);
    }
    SECTION("in a DynamicNetwork") {
        const DynNet net = make_dyn_drop_net(0.5, 38);
        DynNet::Workspace<> ws;
        const double cost = net.backward(x, y, ws);
        const MatrixD mask = ws.layer(1).as<DynDropState>().mask;
        REQUIRE(zeros_of(mask) > 0);
        CHECK(MatrixD(ws.layer(0).da) == MatrixD(MatrixD(ws.layer(1).da).cwiseProduct(mask)));
        CHECK(net.replay_loss(x, y, ws) == cost);
        CHECK(ws.layer(1).as<DynDropState>().mask == mask);
        CHECK(net.loss(x, y, ws) != cost);
    }
}

namespace {

/// The largest relative error (gradient_block_error) over the blocks of `net`, the gradients
/// those of one backward pass on a fresh workspace, the costs from `cost(probe, probe_ws)` with
/// probe a copy of net whose parameters are perturbed and probe_ws a copy of the workspace.
template <class Net, class Cost>
double worst_block_error(const Net& net, const MatrixD& x, const MatrixD& y, Cost&& cost) {
    typename Net::template Workspace<> ws;
    net.backward(x, y, ws);
    Net probe = net;
    typename Net::template Workspace<> probe_ws = ws;
    double worst = 0;
    nabla::for_each_parameter(probe, ws, [&](auto& block, const auto& gradient,
                                             const nabla::ParameterInfo&) {
        worst = std::max(worst, nabla::detail::gradient_block_error(
                                    block, gradient, [&] { return cost(probe, probe_ws); }));
    });
    return worst;
}

template <class Net>
void check_gradients_through_a_fixed_mask(const Net& net) {
    const MatrixD x = random_matrix<MatrixD>(inputs, 10, 41);
    const MatrixD y = random_matrix<MatrixD>(outputs, 10, 42);

    const double worst = nabla::gradient_check(net, x, y).worst();
    CAPTURE(worst);
    CHECK(worst < 1e-7);

    // The same check by hand, through the workspace's own masks: they must drop some units...
    const double replayed = worst_block_error(
        net, x, y, [&](const Net& probe, auto& ws) { return probe.replay_loss(x, y, ws); });
    CAPTURE(replayed);
    CHECK(replayed < 1e-7);
    // ...and matter: against the cost with dropout off, the same gradients are far off.
    const double unmasked = worst_block_error(
        net, x, y, [&](const Net& probe, auto& ws) { return probe.loss(x, y, ws); });
    CAPTURE(unmasked);
    CHECK(unmasked > 1e-2);
}

}  // namespace

TEST_CASE("dropout: gradients through a fixed mask match central differences", "[dropout]") {
    const MatrixD x = random_matrix<MatrixD>(inputs, 10, 41);
    const MatrixD y = random_matrix<MatrixD>(outputs, 10, 42);
    SECTION("Dropout as the output layer, under a loss that needs no output activation") {
        using OutputDropNet = nabla::Network<nabla::HalfSquaredError, Hidden, Output, Drop>;
        OutputDropNet net(std::make_tuple(Hidden(inputs, hidden), Output(hidden, outputs),
                                          Drop(outputs, 0.5)));
        net.initialize(45);
        const double worst = nabla::gradient_check(net, x, y).worst();
        CAPTURE(worst);
        CHECK(worst < 1e-7);
        OutputDropNet::Workspace<> ws;
        net.backward(x, y, ws);
        CHECK(zeros_of(ws.layer<2>().mask) > 0);
        // A fused loss writes δ of the output layer, which a Dropout layer does not keep.
        using Classifier = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
        const std::string message = message_of<nabla::ConfigError>([] {
            Classifier(std::vector<nabla::AnyLayer<double>>{
                Classifier::Layer(inputs, outputs, nabla::Softmax{}), Drop(outputs, 0.5)});
        });
        CHECK(contains(message, "CrossEntropy"));
        CHECK(contains(message, "Dropout layer 2"));
    }
    SECTION("Network") {
        const DropNet net = make_drop_net(0.5, 43);
        check_gradients_through_a_fixed_mask(net);
        DropNet::Workspace<> ws;  // a fresh workspace, as gradient_check's: its masks drop units
        net.backward(x, y, ws);
        CHECK(zeros_of(ws.layer<1>().mask) > 0);
        CHECK(zeros_of(ws.layer<1>().mask) < ws.layer<1>().mask.size());
    }
    SECTION("DynamicNetwork") {
        const DynNet net = make_dyn_drop_net(0.5, 44);
        check_gradients_through_a_fixed_mask(net);
        DynNet::Workspace<> ws;
        net.backward(x, y, ws);
        const MatrixD mask = ws.layer(1).as<DynDropState>().mask;
        CHECK(zeros_of(mask) > 0);
        CHECK(zeros_of(mask) < mask.size());
    }
}

namespace {

/// `start` trained by fit() for 3 epochs of batches of 8 on 40 samples.
template <class Net, class Optimizer>
Net fitted(const Net& start, Optimizer optimizer, std::uint64_t seed, int threads, bool shuffle) {
    const MatrixD x = random_matrix<MatrixD>(inputs, 40, 51);
    const MatrixD y = random_matrix<MatrixD>(outputs, 40, 52);
    Net net = start;
    nabla::FitOptions options;
    options.epochs = 3;
    options.batch_size = 8;
    options.seed = seed;
    options.shuffle = shuffle;
    options.threads = threads;
    options.progress.mode = nabla::ProgressMode::silent;
    nabla::fit(net, optimizer, x, y, options);
    return net;
}

template <class Net, class Optimizer>
void check_seeds(const Net& start, const Net& no_dropout, const Optimizer& optimizer,
                 int threads) {
    CAPTURE(threads);
    // Without shuffling the seed chooses the masks only.
    const Net a = fitted(start, optimizer, 7, threads, false);
    const Net b = fitted(start, optimizer, 7, threads, false);
    const Net c = fitted(start, optimizer, 8, threads, false);
    CHECK_FALSE(same_parameters(a, start));  // it trained
    CHECK(same_parameters(a, b));
    CHECK_FALSE(same_parameters(a, c));
    // Control: with p = 0 there is nothing for the seed to choose.
    CHECK(same_parameters(fitted(no_dropout, optimizer, 7, threads, false),
                          fitted(no_dropout, optimizer, 8, threads, false)));
    // With shuffling too.
    CHECK(same_parameters(fitted(start, optimizer, 9, threads, true),
                          fitted(start, optimizer, 9, threads, true)));
}

}  // namespace

TEST_CASE("dropout: one seed gives one training run, another seed another", "[dropout]") {
    SECTION("Workspace::seed fixes the masks") {
        const DropNet net = make_drop_net(0.5, 61);
        const MatrixD x = random_matrix<MatrixD>(inputs, 16, 62);
        const MatrixD y = random_matrix<MatrixD>(outputs, 16, 63);
        DropNet::Workspace<> ws1, ws2, ws3;
        ws1.seed(11);
        ws2.seed(11);
        ws3.seed(12);
        net.backward(x, y, ws1);
        net.backward(x, y, ws2);
        net.backward(x, y, ws3);
        const MatrixD first = ws1.layer<1>().mask;
        CHECK(ws2.layer<1>().mask == first);
        CHECK(ws2.gradient_vector() == ws1.gradient_vector());
        CHECK(ws3.layer<1>().mask != first);
        net.backward(x, y, ws1);  // the generator moved on: a new mask
        CHECK(ws1.layer<1>().mask != first);
        ws1.seed(11);  // and back
        net.backward(x, y, ws1);
        CHECK(ws1.layer<1>().mask == first);

        DynNet dyn = make_dyn_drop_net(0.5, 61);
        DynNet::Workspace<> dws1, dws2;
        dws1.seed(11);
        dws2.seed(12);
        dyn.backward(x, y, dws1);
        dyn.backward(x, y, dws2);
        CHECK(dws1.layer(1).as<DynDropState>().mask == first);  // the same draws as Network's
        CHECK(dws2.layer(1).as<DynDropState>().mask != first);
    }
    SECTION("a Workspace with a fixed batch on a net of fixed sizes, on the stack") {
        using FixedHidden = nabla::Dense<double, 4, 6, nabla::Tanh>;
        using FixedOutput = nabla::Dense<double, 6, 2, nabla::Identity>;
        using FixedNet = nabla::Network<nabla::HalfSquaredError, FixedHidden,
                                        nabla::Dropout<double, 6>, FixedOutput>;
        FixedNet net(std::make_tuple(FixedHidden(4, 6), nabla::Dropout<double, 6>(6, 0.5),
                                     FixedOutput(6, 2)));
        net.initialize(66);
        const Eigen::Matrix<double, 4, 4> x = random_matrix<Eigen::Matrix<double, 4, 4>>(4, 4, 67);
        const Eigen::Matrix<double, 2, 4> y = random_matrix<Eigen::Matrix<double, 2, 4>>(2, 4, 68);
        FixedNet::Workspace<4> a, b;
        a.seed(13);
        b.seed(13);
        const double cost = net.backward(x, y, a);
        CHECK(net.backward(x, y, b) == cost);
        CHECK(a.layer<1>().mask == b.layer<1>().mask);
        CHECK(zeros_of(a.layer<1>().mask) > 0);
        CHECK(net.replay_loss(x, y, a) == cost);
        FixedNet trained = net;
        trained.train_step(x, y, a, 0.1);
        CHECK_FALSE(same_parameters(trained, net));
    }
    SECTION("fit, Network, 1 and 2 threads") {
        const DropNet start = make_drop_net(0.5, 64);
        const DropNet no_dropout = make_drop_net(0.0, 64);
        for (int threads : {1, 2}) {
            check_seeds(start, no_dropout, nabla::Sgd(0.1), threads);
            check_seeds(start, no_dropout, nabla::Adam(0.01), threads);
        }
    }
    SECTION("fit, DynamicNetwork, 1 and 2 threads") {
        const DynNet start = make_dyn_drop_net(0.5, 65);
        const DynNet no_dropout = make_dyn_drop_net(0.0, 65);
        for (int threads : {1, 2}) {
            check_seeds(start, no_dropout, nabla::Sgd(0.1), threads);
            check_seeds(start, no_dropout, nabla::Adam(0.01), threads);
        }
    }
}

TEST_CASE("dropout: the rate is saved with the model and checked on load", "[dropout]") {
    nabla_test::TempDir dir;
    const std::string path = dir.file("dropout.nbl");
    const MatrixD x = random_matrix<MatrixD>(inputs, 7, 71);

    SECTION("AnyLayer gives the rate of the Dropout it holds") {
        const nabla::AnyLayer<double> layer = Drop(hidden, 0.3);
        CHECK(nabla::layer_attributes(layer) == nabla::Attributes{{"rate", 0.3}});
        CHECK(nabla::layer_attributes(Drop(hidden, 0.3)) == nabla::Attributes{{"rate", 0.3}});
    }
    SECTION("DynamicNetwork: version 2, rebuilt by load_network") {
        const DynNet net = make_dyn_drop_net(0.3, 72);
        nabla::save(net, path);
        const nabla::ModelInfo info = nabla::read_model_info(path);
        CHECK(info.version == 2);
        REQUIRE(info.layers.size() == 3);
        CHECK(info.layers[1].type == "Dropout");
        CHECK(info.layers[1].inputs == hidden);
        CHECK(info.layers[1].outputs == hidden);
        CHECK(info.layers[1].attributes.get_or("rate", -1) == 0.3);
        CHECK(info.layers[1].blocks.empty());
        CHECK(info.layers[1].activation.name.empty());

        const DynNet loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        REQUIRE(loaded.layer_count() == 3);
        CHECK(std::string(loaded.any_layer(1).type_name()) == "Dropout");
        CHECK(loaded.layer_as<nabla::Dropout<double>>(1).rate() == 0.3);
        CHECK(same_parameters(loaded, net));
        CHECK(loaded.predict(x) == net.predict(x));

        // Into a network of the same layers: fine; of another rate: FileError naming the rate,
        // and the network is left as it was.
        DynNet same = make_dyn_drop_net(0.3, 73);
        REQUIRE_FALSE(same_parameters(same, net));
        nabla::load(same, path);
        CHECK(same.predict(x) == net.predict(x));
        DynNet other = make_dyn_drop_net(0.4, 74);
        const DynNet before = other;
        const std::string message = message_of<nabla::FileError>([&] { nabla::load(other, path); });
        CAPTURE(message);
        CHECK(contains(message, path));
        CHECK(contains(message, "layer 2"));
        CHECK(contains(message, "rate 0.3"));
        CHECK(contains(message, "rate 0.4"));
        CHECK(same_parameters(other, before));
    }
    SECTION("a file whose rate is out of range is refused with FileError") {
        const DynNet net = make_dyn_drop_net(0.3, 78);
        nabla::save(net, path);
        nabla_test::Bytes bytes = nabla_test::read_bytes(path);
        const auto le = [](double value) {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &value, 8);
            nabla_test::Bytes out;
            for (int i = 0; i < 8; ++i) out.push_back((unsigned char)(bits >> (8 * i)));
            return out;
        };
        const nabla_test::Bytes rate = le(0.3);
        std::vector<std::size_t> found;
        for (std::size_t i = 0; i + 8 <= bytes.size(); ++i)
            if (std::equal(rate.begin(), rate.end(), bytes.begin() + std::ptrdiff_t(i))) found.push_back(i);
        REQUIRE(found.size() == 1);
        const nabla_test::Bytes bad = le(1.5);
        std::copy(bad.begin(), bad.end(), bytes.begin() + std::ptrdiff_t(found[0]));
        const std::uint32_t crc = nabla::crc32(bytes.data(), bytes.size() - 4);
        for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + std::size_t(i)] = (unsigned char)(crc >> (8 * i));
        const std::string bad_path = dir.file("bad_rate.nbl");
        nabla_test::write_bytes(bad_path, bytes);
        CHECK(nabla::read_model_info(bad_path).layers[1].attributes.get_or("rate", 0) == 1.5);
        const std::string message = message_of<nabla::FileError>(
            [&] { nabla::load_network<double, nabla::HalfSquaredError>(bad_path); });
        CAPTURE(message);
        CHECK(contains(message, bad_path));
        CHECK(contains(message, "layer 2"));
        CHECK(contains(message, "rate"));
    }
    SECTION("Network: saved with its rate, loaded by load() and load_network") {
        const DropNet net = make_drop_net(0.25, 75);
        nabla::save(net, path);
        CHECK(nabla::read_model_info(path).version == 2);
        DropNet same = make_drop_net(0.25, 76);
        nabla::load(same, path);
        CHECK(same_parameters(same, net));
        CHECK(same.predict(x) == net.predict(x));
        DropNet other = make_drop_net(0.5, 77);
        const DropNet before = other;
        CHECK_THROWS_AS(nabla::load(other, path), nabla::FileError);
        CHECK(same_parameters(other, before));
        const DynNet loaded = nabla::load_network<double, nabla::HalfSquaredError>(path);
        CHECK(loaded.layer_as<nabla::Dropout<double>>(1).rate() == 0.25);
        CHECK(same_parameters(loaded, net));
    }
}

TEST_CASE("dropout: a rate that is negative or at least 1 is refused", "[dropout]") {
    for (double rate : {-0.1, -1e-300, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::infinity(),
                        -std::numeric_limits<double>::infinity()}) {
        CAPTURE(rate);
        const std::string message =
            message_of<nabla::ConfigError>([&] { nabla::Dropout<double>(4, rate); });
        CHECK(contains(message, "rate"));
        CHECK(contains(message, "[0, 1)"));
        CHECK_THROWS_AS(nabla::Dropout<float>(4, rate), nabla::ConfigError);
    }
    CHECK_NOTHROW(nabla::Dropout<double>(4, 0.0));
    CHECK_NOTHROW(nabla::Dropout<double>(4, 0.999));
    CHECK(nabla::Dropout<double>(4, 0.999).rate() == 0.999);
    // Sizes: at least 1, and the one a fixed Size names.
    CHECK_THROWS_AS(nabla::Dropout<double>(0, 0.5), nabla::ShapeError);
    CHECK_THROWS_AS((nabla::Dropout<double, 6>(5, 0.5)), nabla::ShapeError);
    // A Dropout layer that does not chain with its neighbours.
    CHECK_THROWS_AS(DynNet(std::vector<nabla::AnyLayer<double>>{
                        DynDense(inputs, hidden, nabla::Tanh{}), Drop(hidden + 1, 0.5),
                        DynDense(hidden, outputs, nabla::Identity{})}),
                    nabla::ShapeError);
}

}  // namespace test_dropout
