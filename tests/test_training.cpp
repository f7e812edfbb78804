// Training end to end: XOR is learned, a small regression's loss falls, train() is exactly the
// sequence of train_step() calls it documents (full batches, the partial last batch, no epochs),
// one seed gives one result bit for bit, and networks are values (deep copies, usable after a
// move).

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace test_training {  // named for the unity build of nabla_tests

namespace {

using nabla_test::random_matrix;
using nabla_test::relatively_close;
using Matrix = Eigen::MatrixXd;
constexpr int dynamic = Eigen::Dynamic;

using XorNet = nabla::Network<nabla::BinaryCrossEntropy, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                              nabla::Dense<double, 3, 1, nabla::Sigmoid>>;
using RegressionNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                   nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
using DynNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

DynNet make_dyn_net(std::uint64_t seed) {
    return DynNet({3, 5, 4, 1}, {nabla::Tanh{}, nabla::Sigmoid{}, nabla::Identity{}}, seed);
}

using nabla_test::same_parameters;

/// Every W and b of a network, copied out as plain matrices: a snapshot that shares nothing
/// with the network.
template <class Net>
std::vector<Matrix> parameters_of(const Net& net) {
    std::vector<Matrix> result;
    net.for_each_layer([&](const auto& layer, auto) {
        result.push_back(layer.weights().template cast<double>());
        result.push_back(layer.bias().template cast<double>());
    });
    return result;
}

/// The four XOR samples, one per column, and their labels.
Matrix xor_inputs() {
    Matrix x(2, 4);
    x << 0, 0, 1, 1,
         0, 1, 0, 1;
    return x;
}
Matrix xor_labels() {
    Matrix y(1, 4);
    y << 0, 1, 1, 0;
    return y;
}

/// 3 inputs in [−1, 1), target sin(2x₀) + ½x₁x₂: smooth, nonlinear, learnable by 16 tanh units.
void regression_data(Eigen::Index samples, Matrix& x, Matrix& y) {
    x = random_matrix<Matrix>(3, samples, 1, -1, 1);
    y.resize(1, samples);
    for (Eigen::Index k = 0; k < samples; ++k)
        y(0, k) = std::sin(2 * x(0, k)) + 0.5 * x(1, k) * x(2, k);
}

}  // namespace

TEST_CASE("training: a [2,3,1] sigmoid net learns XOR", "[training]") {
    const Matrix x = xor_inputs();
    const Matrix y = xor_labels();
    // Full batch, η = 2, 5000 epochs: what a user would try first with binary cross-entropy. Over
    // seeds 0–19 every run ends with a loss below 0.0014, so the bound of 0.01 is not luck.
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        CAPTURE(seed);
        XorNet net(seed);
        nabla::TrainOptions options;
        options.epochs = 5000;
        options.batch_size = 4;
        options.learning_rate = 2.0;
        options.seed = 1;
        const std::vector<double> losses = nabla::train(net, x, y, options);
        REQUIRE(losses.size() == 5000);
        CHECK(losses.front() > 0.5);  // an untrained net is near chance: ln 2 ≈ 0.69
        CHECK(losses.back() < 0.01);
        CHECK(net.loss(x, y) < 0.01);

        const Matrix prediction = net.predict(x);
        for (Eigen::Index k = 0; k < 4; ++k) {
            INFO("sample " << k << ": " << x(0, k) << " xor " << x(1, k) << ", predicted "
                           << prediction(0, k));
            CHECK((prediction(0, k) > 0.5) == (y(0, k) > 0.5));
        }
    }
}

TEST_CASE("training: XOR with the half squared error of the notes", "[training]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 2, 3, nabla::Sigmoid>,
                               nabla::Dense<double, 3, 1, nabla::Sigmoid>>;
    const Matrix x = xor_inputs();
    const Matrix y = xor_labels();
    Net net(3);
    nabla::TrainOptions options;
    options.epochs = 10000;
    options.batch_size = 4;
    options.learning_rate = 2.0;
    const std::vector<double> losses = nabla::train(net, x, y, options);
    // Seeds 0–19 end between 1e-4 and 2.2e-4.
    CHECK(losses.back() < 1e-3);
    const Matrix prediction = net.predict(x);
    for (Eigen::Index k = 0; k < 4; ++k) {
        INFO("sample " << k << ", predicted " << prediction(0, k));
        CHECK((prediction(0, k) > 0.5) == (y(0, k) > 0.5));
    }
}

TEST_CASE("training: mini-batches with a partial last batch fit a small regression",
          "[training]") {
    Matrix x;
    Matrix y;
    regression_data(50, x, y);  // batches of 8: six full ones and one of 2
    RegressionNet net({3, 16, 1}, 2);
    nabla::TrainOptions options;
    options.epochs = 300;
    options.batch_size = 8;
    options.learning_rate = 0.1;
    options.seed = 5;
    const std::vector<double> losses = nabla::train(net, x, y, options);
    REQUIRE(losses.size() == 300);
    CAPTURE(losses.front(), losses[49], losses.back());
    // Over seeds 0–9 the last epoch's loss is 17 to 155 times below the first's.
    CHECK(losses.back() < losses.front() / 5);
    CHECK(net.loss(x, y) < losses.front() / 5);
    for (double loss : losses) CHECK(std::isfinite(loss));
}

TEST_CASE("training: one seed gives bit-identical weights, another seed other weights",
          "[training]") {
    Matrix x;
    Matrix y;
    regression_data(50, x, y);
    nabla::TrainOptions options;
    options.epochs = 20;
    options.batch_size = 8;
    options.learning_rate = 0.1;
    options.seed = 42;

    SECTION("Network") {
        RegressionNet a({3, 16, 1}, 7);
        RegressionNet b({3, 16, 1}, 7);
        REQUIRE(same_parameters(a, b));  // one seed, one initialisation
        RegressionNet c = a;
        const std::vector<double> losses_a = nabla::train(a, x, y, options);
        const std::vector<double> losses_b = nabla::train(b, x, y, options);
        CHECK(same_parameters(a, b));
        CHECK(losses_a == losses_b);
        options.seed = 43;
        nabla::train(c, x, y, options);
        CHECK_FALSE(same_parameters(a, c));
        CHECK_FALSE(same_parameters(RegressionNet({3, 16, 1}, 7), RegressionNet({3, 16, 1}, 8)));
    }
    SECTION("DynamicNetwork") {
        DynNet a = make_dyn_net(7);
        DynNet b = make_dyn_net(7);
        REQUIRE(same_parameters(a, b));
        DynNet c = a;
        nabla::train(a, x, y, options);
        nabla::train(b, x, y, options);
        CHECK(same_parameters(a, b));
        options.seed = 43;
        nabla::train(c, x, y, options);
        CHECK_FALSE(same_parameters(a, c));
    }
}

TEST_CASE("training: a step of gradient descent is W - eta dW and b - eta db in every layer",
          "[training]") {
    // The notes' last two equations, checked on each layer against the gradients backward()
    // left in the workspace: W_new = W_initial − η∇W, b_new = b_initial − η∇b.
    RegressionNet net({3, 6, 1}, 5);
    const Matrix x = random_matrix<Matrix>(3, 5, 6, -1, 1);
    const Matrix y = random_matrix<Matrix>(1, 5, 7, -1, 1);
    const double eta = 0.3;
    RegressionNet::Workspace<> ws;
    net.backward(x, y, ws);
    const std::vector<Matrix> before = parameters_of(net);
    std::vector<Matrix> gradients;
    net.for_each_layer([&](const auto&, auto i) {
        gradients.push_back(ws.layer(i).dW);
        gradients.push_back(ws.layer(i).db);
    });
    net.update(ws, eta);
    const std::vector<Matrix> after = parameters_of(net);
    REQUIRE(after.size() == 4);
    for (std::size_t p = 0; p < after.size(); ++p) {
        CHECK(gradients[p].cwiseAbs().maxCoeff() > 0);  // so that the step moves something
        CHECK((after[p] - (before[p] - eta * gradients[p])).cwiseAbs().maxCoeff() <= 1e-15);
    }
}

TEST_CASE("training: one full batch per epoch equals train_step on the whole batch",
          "[training]") {
    Matrix x;
    Matrix y;
    regression_data(8, x, y);  // 8 samples: loss·8/8 is exact, so losses compare with ==
    nabla::TrainOptions options;
    options.epochs = 30;
    options.batch_size = 8;
    options.learning_rate = 0.2;
    options.shuffle = false;

    SECTION("Network") {
        RegressionNet trained({3, 6, 1}, 1);
        RegressionNet manual = trained;
        const std::vector<double> losses = nabla::train(trained, x, y, options);
        RegressionNet::Workspace<> ws;
        std::vector<double> costs;
        for (int epoch = 0; epoch < 30; ++epoch) costs.push_back(manual.train_step(x, y, ws, 0.2));
        CHECK(same_parameters(trained, manual));
        CHECK(losses == costs);

        // A batch larger than the data set is the whole data set.
        RegressionNet oversized({3, 6, 1}, 1);
        options.batch_size = 1000;
        CHECK(nabla::train(oversized, x, y, options) == costs);
        CHECK(same_parameters(oversized, manual));

        // Shuffling one full batch only reorders the sum behind the mean gradient.
        RegressionNet shuffled({3, 6, 1}, 1);
        options.batch_size = 8;
        options.shuffle = true;
        nabla::train(shuffled, x, y, options);
        const std::vector<Matrix> expected = parameters_of(manual);
        const std::vector<Matrix> actual = parameters_of(shuffled);
        for (std::size_t p = 0; p < expected.size(); ++p)
            CHECK((actual[p] - expected[p]).cwiseAbs().maxCoeff() <= 1e-12);
    }
    SECTION("DynamicNetwork") {
        DynNet trained = make_dyn_net(1);
        DynNet manual = trained;
        const std::vector<double> losses = nabla::train(trained, x, y, options);
        DynNet::Workspace<> ws;
        std::vector<double> costs;
        for (int epoch = 0; epoch < 30; ++epoch) costs.push_back(manual.train_step(x, y, ws, 0.2));
        CHECK(same_parameters(trained, manual));
        CHECK(losses == costs);
    }
}

TEST_CASE("training: the partial last batch is trained on", "[training]") {
    // 5 samples in batches of 4: each epoch is a step on samples 1–4, then one on sample 5.
    const Matrix x = random_matrix<Matrix>(3, 5, 31, -1, 1);
    const Matrix y = random_matrix<Matrix>(1, 5, 32, -1, 1);
    nabla::TrainOptions options;
    options.epochs = 3;
    options.batch_size = 4;
    options.learning_rate = 0.5;
    options.shuffle = false;

    RegressionNet trained({3, 4, 1}, 9);
    RegressionNet manual = trained;
    RegressionNet without_tail = trained;
    const std::vector<double> losses = nabla::train(trained, x, y, options);
    REQUIRE(losses.size() == 3);

    RegressionNet::Workspace<> ws;
    for (int epoch = 0; epoch < 3; ++epoch) {
        const double head = manual.train_step(x.leftCols(4), y.leftCols(4), ws, 0.5);
        const double tail = manual.train_step(x.col(4), y.col(4), ws, 0.5);
        without_tail.train_step(x.leftCols(4), y.leftCols(4), ws, 0.5);
        // The epoch's loss is the mean over its 5 samples: each batch weighs by its size.
        const double expected = (4 * head + tail) / 5;
        INFO("epoch " << epoch + 1 << ": " << losses[std::size_t(epoch)] << " vs " << expected);
        CHECK(relatively_close(losses[std::size_t(epoch)], expected, 1e-14));
    }
    CHECK(same_parameters(trained, manual));
    CHECK_FALSE(same_parameters(trained, without_tail));  // sample 5 moved the weights
}

TEST_CASE("training: zero epochs return no losses and leave the weights", "[training]") {
    Matrix x;
    Matrix y;
    regression_data(10, x, y);
    nabla::TrainOptions options;
    options.epochs = 0;
    options.batch_size = 3;

    RegressionNet net({3, 4, 1}, 1);
    const std::vector<Matrix> before = parameters_of(net);
    CHECK(nabla::train(net, x, y, options).empty());
    CHECK(parameters_of(net) == before);

    DynNet dyn = make_dyn_net(1);
    const std::vector<Matrix> dyn_before = parameters_of(dyn);
    CHECK(nabla::train(dyn, x, y, options).empty());
    CHECK(parameters_of(dyn) == dyn_before);
}

namespace {

/// Copies are deep, copy-assignment copies, moves leave the source assignable and usable.
/// `make(seed)` builds a network; `x`, `y` fit it.
template <class Net, class Make>
void check_value_semantics(Make make, const Matrix& x, const Matrix& y) {
    nabla::TrainOptions options;
    options.epochs = 5;
    options.batch_size = 4;
    options.learning_rate = 0.3;

    const Net original = make(1);
    const std::vector<Matrix> snapshot = parameters_of(original);

    SECTION("a copy is deep: training it leaves the original") {
        Net copy = original;
        REQUIRE(same_parameters(copy, original));
        nabla::train(copy, x, y, options);
        CHECK(parameters_of(original) == snapshot);
        CHECK(parameters_of(copy) != snapshot);
        // The copy keeps its layer numbers for messages.
        CHECK(copy.layer(copy.last_index()).name() == "Dense layer " +
                                                          std::to_string(copy.layer_count()));
    }
    SECTION("copy-assignment") {
        Net other = make(2);
        REQUIRE(!same_parameters(other, original));
        other = original;
        CHECK(same_parameters(other, original));
        CHECK(other.predict(x) == original.predict(x));
        nabla::train(other, x, y, options);
        CHECK(parameters_of(original) == snapshot);
    }
    SECTION("move construction and move-assignment") {
        Net source = original;
        Net moved = std::move(source);
        CHECK(parameters_of(moved) == snapshot);
        source = make(3);  // a moved-from network can be assigned to, then used
        CHECK(same_parameters(source, make(3)));
        CHECK(source.predict(x) == make(3).predict(x));
        nabla::train(source, x, y, options);

        Net target = make(4);
        target = std::move(moved);
        CHECK(parameters_of(target) == snapshot);
        moved = original;  // moved-from again, assigned again
        CHECK(same_parameters(moved, original));
        CHECK(moved.loss(x, y) == original.loss(x, y));
    }
    SECTION("self-assignment keeps the network") {
        Net self = original;
        Net& alias = self;
        self = alias;
        CHECK(parameters_of(self) == snapshot);
    }
}

}  // namespace

TEST_CASE("training: Network is a value type", "[training]") {
    Matrix x;
    Matrix y;
    regression_data(12, x, y);
    static_assert(std::is_nothrow_move_constructible_v<RegressionNet>);
    static_assert(std::is_nothrow_move_assignable_v<RegressionNet>);
    check_value_semantics<RegressionNet>([](std::uint64_t seed) {
        return RegressionNet({3, 5, 1}, seed);
    }, x, y);
}

TEST_CASE("training: a fixed-size Network is a value type", "[training]") {
    using Net = nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, 3, 4, nabla::Tanh>,
                               nabla::Dense<double, 4, 1, nabla::Identity>>;
    Matrix x;
    Matrix y;
    regression_data(12, x, y);
    check_value_semantics<Net>([](std::uint64_t seed) { return Net(seed); }, x, y);
}

TEST_CASE("training: DynamicNetwork is a value type", "[training]") {
    Matrix x;
    Matrix y;
    regression_data(12, x, y);
    static_assert(std::is_nothrow_move_constructible_v<DynNet>);
    static_assert(std::is_nothrow_move_assignable_v<DynNet>);
    check_value_semantics<DynNet>(make_dyn_net, x, y);

    // The layers of a copy are its own, also through layer(i).
    DynNet a = make_dyn_net(1);
    DynNet b = a;
    b.layer(0).set_bias(Eigen::VectorXd::Ones(5));
    CHECK(a.layer(0).bias() == Eigen::VectorXd::Zero(5));
}

}  // namespace test_training
