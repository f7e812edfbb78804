// DataParallel: a batch split across threads gives the single-threaded cost, gradients and
// steps, up to the order of the sums, for every way a batch can be cut (fewer columns than
// threads, uneven shards, batch sizes that change) and both network types; it is the same bit
// for bit from run to run; any optimizer can step on its gradients; and bad input is refused as
// the network refuses it.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>
#include <nabla/parallel/data_parallel.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace test_data_parallel {  // named for the unity build of nabla_tests

using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::one_hot_targets;
using nabla_test::random_matrix;
using nabla_test::same_parameters;

namespace {

constexpr int dynamic = Eigen::Dynamic;

using StaticNet = nabla::Network<nabla::CrossEntropy,
                                 nabla::Dense<double, dynamic, dynamic, nabla::ReLU>,
                                 nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                                 nabla::Dense<double, dynamic, dynamic, nabla::Softmax>>;
using DynamicNet = nabla::DynamicNetwork<double, nabla::HalfSquaredError>;

/// The parallel sums add the same terms as the single-threaded product in another order: in
/// double, a few ulps of the largest term.
constexpr double tolerance = 1e-12;

/// max |a − b| over max(1, max |b|).
template <class A, class B>
double relative_difference(const A& a, const B& b) {
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    const double scale = std::max(1.0, double(b.cwiseAbs().maxCoeff()));
    return double((a - b).cwiseAbs().maxCoeff()) / scale;
}

/// Checks DataParallel's cost, gradients and per-shard outputs against net.backward on the
/// whole batch.
template <class Net, class X, class Y>
void check_against_single_thread(const Net& net, nabla::DataParallel<Net>& parallel, const X& x,
                                 const Y& y) {
    typename Net::template Workspace<> ws;
    const double expected = double(net.backward(x, y, ws));
    const double cost = double(parallel.backward(net, x, y));
    CHECK(std::abs(cost - expected) <= tolerance * std::max(1.0, std::abs(expected)));
    CHECK(parallel.gradients().has_gradients());
    CHECK(parallel.gradients_finite());
    net.for_each_layer([&](const auto&, auto i) {
        CAPTURE(static_cast<std::size_t>(i));
        CHECK(relative_difference(parallel.gradients().layer(i).dW, ws.layer(i).dW) <= tolerance);
        CHECK(relative_difference(parallel.gradients().layer(i).db, ws.layer(i).db) <= tolerance);
    });
    const Eigen::Index shards = std::min<Eigen::Index>(parallel.threads(), x.cols());
    REQUIRE(parallel.shards() == shards);
    Eigen::Index covered = 0;
    for (Eigen::Index t = 0; t < shards; ++t) {
        const auto& shard = parallel.shard(t);
        CHECK(parallel.shard_begin(t) == covered);
        // Shard sizes differ by at most one column, the larger ones first.
        const Eigen::Index size = shard.batch_size();
        CHECK((size == x.cols() / shards || size == x.cols() / shards + 1));
        CHECK(relative_difference(shard.output(), ws.output().middleCols(covered, size)) <=
              tolerance);
        covered += size;
    }
    CHECK(covered == x.cols());
}

}  // namespace

TEST_CASE("data parallel: cost and gradients equal the single-threaded ones", "[threads]") {
    StaticNet static_net({7, 9, 6, 4}, 11);
    DynamicNet dynamic_net({5, 8, 3}, {nabla::Sigmoid{}, nabla::Identity{}}, 12);
    for (int threads = 1; threads <= 4; ++threads) {
        nabla::DataParallel<StaticNet> static_parallel(threads);
        nabla::DataParallel<DynamicNet> dynamic_parallel(threads);
        CHECK(static_parallel.threads() == threads);
        // Fewer columns than threads, uneven shards, even shards; the sizes change between
        // calls, so shard sets are built, reused and replaced.
        for (Eigen::Index batch : {1, 2, 3, 5, 17, 64, 5, 17, 3}) {
            CAPTURE(threads, batch);
            const auto x = random_matrix<Eigen::MatrixXd>(7, batch, std::uint64_t(batch));
            const auto y = one_hot_targets<Eigen::MatrixXd>(4, batch);
            check_against_single_thread(static_net, static_parallel, x, y);
            const auto x2 = random_matrix<Eigen::MatrixXd>(5, batch, std::uint64_t(batch) + 99);
            const auto y2 = random_matrix<Eigen::MatrixXd>(3, batch, std::uint64_t(batch) + 7);
            check_against_single_thread(dynamic_net, dynamic_parallel, x2, y2);
        }
    }
}

namespace {

using FixedNet = nabla::Network<nabla::SquaredError, nabla::Dense<float, 2, 3, nabla::Sigmoid>,
                                nabla::Dense<float, 3, 2, nabla::Sigmoid>>;

}  // namespace

TEST_CASE("data parallel: a network of fixed sizes, and float", "[threads]") {
    FixedNet net(3);
    using X = Eigen::Matrix<float, 2, dynamic>;
    const X x = random_matrix<X>(2, 9, 1);
    const X y = random_matrix<X>(2, 9, 2, 0, 1);
    FixedNet::Workspace<> ws;
    const float expected = net.backward(x, y, ws);
    nabla::DataParallel<FixedNet> parallel(2);
    const float cost = parallel.backward(net, x, y);
    // float: each entry is a sum of at most 9 products, so a few float ulps.
    constexpr float float_tolerance = 1e-6f;
    CHECK(std::abs(cost - expected) <= float_tolerance * std::max(1.0f, std::abs(expected)));
    net.for_each_layer([&](const auto&, auto i) {
        CHECK(relative_difference(parallel.gradients().layer(i).dW, ws.layer(i).dW) <=
              float_tolerance);
        CHECK(relative_difference(parallel.gradients().layer(i).db, ws.layer(i).db) <=
              float_tolerance);
    });
}

TEST_CASE("data parallel: train steps follow the single-threaded ones, the same every run",
          "[threads]") {
    const StaticNet start({7, 9, 6, 4}, 5);
    const auto x = random_matrix<Eigen::MatrixXd>(7, 40, 21);
    const auto y = one_hot_targets<Eigen::MatrixXd>(4, 40);
    auto batch = [&](int step, const auto& m) { return m.middleCols((step % 4) * 10, 10); };

    StaticNet single = start;
    StaticNet::Workspace<> ws;
    StaticNet parallel_net = start;
    nabla::DataParallel<StaticNet> parallel(3);  // 10 columns: shards of 4, 3 and 3
    double single_cost = 0;
    double parallel_cost = 0;
    for (int step = 0; step < 20; ++step) {
        single_cost = single.train_step(batch(step, x), batch(step, y), ws, 0.1);
        parallel_cost = parallel.train_step(parallel_net, batch(step, x), batch(step, y), 0.1);
    }
    CHECK(std::abs(parallel_cost - single_cost) <= 1e-10);
    single.for_each_layer([&](const auto& layer, auto i) {
        CHECK(relative_difference(parallel_net.layer(i).weights(), layer.weights()) <= 1e-10);
        CHECK(relative_difference(parallel_net.layer(i).bias(), layer.bias()) <= 1e-10);
    });
    CHECK_FALSE(same_parameters(parallel_net, start));  // it did train

    StaticNet again = start;
    nabla::DataParallel<StaticNet> parallel_again(3);
    for (int step = 0; step < 20; ++step)
        parallel_again.train_step(again, batch(step, x), batch(step, y), 0.1);
    CHECK(same_parameters(again, parallel_net));  // bit for bit
}

TEST_CASE("data parallel: any optimizer steps on its gradients", "[threads]") {
    DynamicNet single({5, 8, 3}, {nabla::Tanh{}, nabla::Identity{}}, 8);
    DynamicNet shared = single;
    const auto x = random_matrix<Eigen::MatrixXd>(5, 12, 1);
    const auto y = random_matrix<Eigen::MatrixXd>(3, 12, 2);
    nabla::Adam adam_single(0.01);
    nabla::Adam adam_parallel(0.01);
    DynamicNet::Workspace<> ws;
    nabla::DataParallel<DynamicNet> parallel(2);
    for (int step = 0; step < 10; ++step) {
        single.backward(x, y, ws);
        adam_single.step(single, ws);
        parallel.backward(shared, x, y);
        adam_parallel.step(shared, parallel.gradients());
    }
    single.for_each_layer([&](const auto& layer, auto i) {
        CHECK(relative_difference(shared.layer(i).weights(), layer.weights()) <= 1e-9);
    });
}

TEST_CASE("data parallel: bad input is refused as the network refuses it", "[threads][errors]") {
    StaticNet net({7, 9, 6, 4}, 5);
    nabla::DataParallel<StaticNet> parallel(2);
    const auto x = random_matrix<Eigen::MatrixXd>(7, 6, 1);
    const auto y = one_hot_targets<Eigen::MatrixXd>(4, 6);

    CHECK(contains(message_of<nabla::ShapeError>([&] { parallel.update(net, 0.1); }),
                   "DataParallel::update: there are no gradients"));
    CHECK(contains(message_of<nabla::ShapeError>([&] { parallel.shard(0); }),
                   "no batch has run yet"));
    const auto wrong_rows = random_matrix<Eigen::MatrixXd>(6, 6, 1);
    CHECK(contains(message_of<nabla::ShapeError>(
                       [&] { parallel.backward(net, wrong_rows, y); }),
                   "input has 6 rows, the layer expects 7"));
    CHECK(contains(message_of<nabla::ShapeError>(
                       [&] { parallel.backward(net, x, y.leftCols(5)); }),
                   "targets have 5"));
    CHECK(contains(message_of<nabla::ShapeError>(
                       [&] { parallel.backward(net, x.leftCols(0), y.leftCols(0)); }),
                   "the batch is empty"));
    CHECK_THROWS_AS(nabla::DataParallel<StaticNet>(0), nabla::ConfigError);

    // A non-finite input: the step throws and no weight moves, whichever shard it is in.
    for (Eigen::Index column : {0, 5}) {
        auto bad = x;
        bad(2, column) = std::numeric_limits<double>::quiet_NaN();
        const StaticNet before = net;
        CHECK(contains(message_of<nabla::NumericalError>(
                           [&] { parallel.train_step(net, bad, y, 0.1); }),
                       "DataParallel::train_step"));
        CHECK(same_parameters(net, before));
    }

    // Gradients of one network do not fit another.
    StaticNet other({7, 5, 6, 4}, 5);
    parallel.backward(net, x, y);
    CHECK(contains(message_of<nabla::ShapeError>([&] { parallel.update(other, 0.1); }),
                   "Dense layer 1"));
    // Used for a network of another shape, it rebuilds its buffers.
    check_against_single_thread(other, parallel, x, y);
}

TEST_CASE("data parallel: train() and fit() with threads follow one thread", "[threads]") {
    const StaticNet start({7, 9, 6, 4}, 5);
    const auto x = random_matrix<Eigen::MatrixXd>(7, 50, 21);
    const auto y = one_hot_targets<Eigen::MatrixXd>(4, 50);

    nabla::TrainOptions train_options;
    train_options.epochs = 3;
    train_options.batch_size = 8;  // six batches of 8 and a last one of 2
    train_options.seed = 4;
    StaticNet one = start;
    const std::vector<double> one_losses = nabla::train(one, x, y, train_options);
    train_options.threads = 3;
    StaticNet three = start;
    const std::vector<double> three_losses = nabla::train(three, x, y, train_options);
    REQUIRE(three_losses.size() == one_losses.size());
    for (std::size_t e = 0; e < one_losses.size(); ++e)
        CHECK(std::abs(three_losses[e] - one_losses[e]) <= 1e-10);
    one.for_each_layer([&](const auto& layer, auto i) {
        CHECK(relative_difference(three.layer(i).weights(), layer.weights()) <= 1e-10);
    });

    const auto x_val = random_matrix<Eigen::MatrixXd>(7, 20, 22);
    const auto y_val = one_hot_targets<Eigen::MatrixXd>(4, 20);
    nabla::FitOptions fit_options;
    fit_options.epochs = 3;
    fit_options.batch_size = 8;
    fit_options.seed = 4;
    fit_options.progress.mode = nabla::ProgressMode::silent;
    fit_options.gradient_norms = true;
    StaticNet fit_one = start;
    nabla::Adam adam_one(0.01);
    const nabla::History h1 = nabla::fit(fit_one, adam_one, x, y, x_val, y_val, fit_options);
    fit_options.threads = 2;
    StaticNet fit_two = start;
    nabla::Adam adam_two(0.01);
    const nabla::History h2 = nabla::fit(fit_two, adam_two, x, y, x_val, y_val, fit_options);
    REQUIRE(h2.size() == h1.size());
    for (std::size_t e = 0; e < h1.size(); ++e) {
        const nabla::EpochRecord& a = h1.epochs[e];
        const nabla::EpochRecord& b = h2.epochs[e];
        CHECK(std::abs(b.loss - a.loss) <= 1e-10);
        CHECK(std::abs(*b.val_loss - *a.val_loss) <= 1e-10);
        // Accuracy counts argmax hits over every shard: the same samples, the same hits.
        CHECK(b.accuracy == a.accuracy);
        CHECK(b.val_accuracy == a.val_accuracy);
        for (std::size_t l = 0; l < start.layer_count(); ++l) {
            CHECK(std::abs(b.gradient_norms[l].delta - a.gradient_norms[l].delta) <=
                  1e-10 * a.gradient_norms[l].delta);
            CHECK(std::abs(b.gradient_norms[l].weight_gradient -
                           a.gradient_norms[l].weight_gradient) <=
                  1e-10 * a.gradient_norms[l].weight_gradient);
        }
    }
    CHECK(*h1.epochs.back().accuracy > 0);

    fit_options.threads = 0;
    CHECK(contains(message_of<nabla::ConfigError>(
                       [&] { nabla::fit(fit_two, adam_two, x, y, fit_options); }),
                   "fit: threads must be at least 1, got 0"));
    train_options.threads = -1;
    CHECK(contains(message_of<nabla::ConfigError>(
                       [&] { nabla::train(three, x, y, train_options); }),
                   "train: threads must be at least 1, got -1"));
}

TEST_CASE("data parallel: train_step folds each slice's step into W, as backward + update",
          "[threads][train_step]") {
    const StaticNet start({30, 20, 12, 5}, 6);
    const auto x = random_matrix<Eigen::MatrixXd>(30, 11, 31);
    const auto y = one_hot_targets<Eigen::MatrixXd>(5, 11);
    for (const int threads : {2, 3}) {
        CAPTURE(threads);
        StaticNet folded = start;
        StaticNet stored = start;
        nabla::DataParallel<StaticNet> parallel(threads);
        for (int step = 0; step < 3; ++step) {
            const double cost = parallel.train_step(folded, x, y, 0.2);
            CHECK_FALSE(parallel.gradients().has_gradients());  // ∂C/∂W was never stored
            CHECK(cost == parallel.backward(stored, x, y));  // the same pass on the same weights
            parallel.update(stored, 0.2);
            // The order of the roundings differs (one product into W against ∂C/∂W, then η∂C/∂W),
            // by a few ulps per step.
            stored.for_each_layer([&](const auto& layer, auto i) {
                CHECK(relative_difference(folded.layer(i).weights(), layer.weights()) <= tolerance);
                CHECK(relative_difference(folded.layer(i).bias(), layer.bias()) <= tolerance);
            });
            stored = folded;  // so that each step starts from the same weights
        }
        CHECK_FALSE(same_parameters(folded, start));
        parallel.train_step(folded, x, y, 0.2);  // leaves no gradients for update() to apply
        CHECK(contains(message_of<nabla::ShapeError>([&] { parallel.update(folded, 0.2); }),
                       "there are no gradients"));
        CHECK(contains(message_of<nabla::ConfigError>(
                           [&] { parallel.train_step(folded, x, y, -0.2); }),
                       "DataParallel::train_step: the learning rate must be positive"));
    }
}

TEST_CASE("data parallel: train_step cuts each layer's columns between the threads",
          "[threads][train_step]") {
    // Layers of 40, 70 and 40 inputs, cut at multiples of 16 columns: with three threads at
    // 0, 16, 16, 40 / 0, 16, 32, 70 / 0, 16, 16, 40 (a part may be empty), with two at 0, 16,
    // 40 / 0, 32, 70 / 0, 16, 40. Every column must take every shard's δ aᵀ exactly once, and
    // the bias every shard's Σδ once.
    const auto x = random_matrix<Eigen::MatrixXd>(40, 13, 33);
    const auto y = one_hot_targets<Eigen::MatrixXd>(3, 13);
    const auto check = [&](const auto& start) {
        using Net = std::decay_t<decltype(start)>;
        for (const int threads : {2, 3}) {
            CAPTURE(threads);
            Net folded = start;
            Net stored = start;
            nabla::DataParallel<Net> parallel(threads);
            const double cost = parallel.train_step(folded, x, y, 0.3);
            CHECK(cost == parallel.backward(stored, x, y));
            parallel.update(stored, 0.3);
            stored.for_each_layer([&](const auto& layer, auto i) {
                CAPTURE(static_cast<std::size_t>(i));
                CHECK(relative_difference(folded.layer(i).weights(), layer.weights()) <=
                      tolerance);
                CHECK(relative_difference(folded.layer(i).bias(), layer.bias()) <= tolerance);
            });
        }
    };
    SECTION("layer types fixed at compile time") { check(StaticNet({40, 70, 40, 3}, 8)); }
    SECTION("layers chosen at run time (DynamicNetwork)") {
        check(DynamicNet({40, 70, 40, 3}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Identity{}}, 8));
    }
}

TEST_CASE("data parallel: a folded step never reads the gradient array", "[threads][train_step]") {
    // Every layer here folds, so no entry of the first shard's gradient array is written or
    // read by train_step: filled with NaN, it leaves the step what it was.
    const StaticNet start({30, 20, 12, 5}, 6);
    const auto x = random_matrix<Eigen::MatrixXd>(30, 12, 35);
    const auto y = one_hot_targets<Eigen::MatrixXd>(5, 12);
    // Shards of 6 columns: without the fold this test would pass on the stored path too.
    start.for_each_layer([](const auto& layer, auto) {
        REQUIRE(layer.template folds_parts<Eigen::MatrixXd>(6));
    });
    StaticNet poisoned = start;
    StaticNet clean = start;
    nabla::DataParallel<StaticNet> parallel(2);
    nabla::DataParallel<StaticNet> reference(2);
    parallel.train_step(poisoned, x, y, 0.1);
    reference.train_step(clean, x, y, 0.1);
    REQUIRE(same_parameters(poisoned, clean));
    parallel.gradients().gradient_vector().setConstant(std::numeric_limits<double>::quiet_NaN());
    CHECK(parallel.train_step(poisoned, x, y, 0.1) == reference.train_step(clean, x, y, 0.1));
    CHECK(same_parameters(poisoned, clean));
}

TEST_CASE("data parallel: a step near overflow is decided by the stored gradient",
          "[threads][train_step]") {
    // One linear layer with W = 0 and b = 0: δ = 2(a − y) = −2y, and each entry of δxᵀ over n
    // identical samples is −2n·y·x (see test_train_step.cpp for the single-threaded case).
    using Net = nabla::Network<nabla::SquaredError,
                               nabla::Dense<float, dynamic, dynamic, nabla::Identity>>;
    using Matrix = Eigen::MatrixXf;
    Net net({24, 10}, 1);
    net.layer<0>().set_weights(Matrix::Zero(10, 24));
    net.layer<0>().set_bias(Eigen::VectorXf::Zero(10));
    const Matrix x = Matrix::Constant(24, 8, 1e36f);
    nabla::DataParallel<Net> parallel(2);

    SECTION("too near to fold, finite: exactly backward() then update()") {
        const Matrix y = Matrix::Constant(10, 8, -20);  // 8 · 40 · 1e36 = 3.2e38 < 3.4e38
        Net reference = net;
        nabla::DataParallel<Net> reference_parallel(2);
        CHECK(parallel.train_step(net, x, y, 0.1f) == reference_parallel.backward(reference, x, y));
        reference_parallel.update(reference, 0.1f);
        CHECK(same_parameters(net, reference));
        CHECK(net.layer<0>().weights()(0, 0) < 0);
    }
    SECTION("a gradient that overflows: refused, the weights untouched") {
        // Each term δ·x = 2000 · 1e36 overflows, in whatever order the product sums them.
        const Matrix y = Matrix::Constant(10, 8, -1000);
        const Net before = net;
        CHECK(contains(message_of<nabla::NumericalError>(
                           [&] { parallel.train_step(net, x, y, 0.1f); }),
                       "a gradient is not finite"));
        CHECK(same_parameters(net, before));
    }
}

namespace {

/// Element-wise σ on every layer: the network the split by neurons takes.
using RowNet = nabla::Network<nabla::HalfSquaredError,
                              nabla::Dense<double, dynamic, dynamic, nabla::ReLU>,
                              nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                              nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;

/// Steps of `start` on one thread and on `threads` split by neurons, over batches of 24 and 11
/// columns (two sizes, so two workspaces), compared step by step; and a second parallel run,
/// which must give the first one's parameters bit for bit.
template <class Net, class Y>
void check_neuron_steps(const Net& start, const Eigen::MatrixXd& x, const Y& y, int threads) {
    CAPTURE(threads);
    const auto batch = [](int step, const auto& m) {
        return step % 3 == 2 ? m.middleCols(24, 11) : m.leftCols(24);
    };
    Net single = start;
    typename Net::template Workspace<> ws;
    Net split = start;
    nabla::DataParallel<Net> parallel(threads);
    parallel.set_split(nabla::ParallelSplit::neurons);
    for (int step = 0; step < 6; ++step) {
        CAPTURE(step);
        const double expected = single.train_step(batch(step, x), batch(step, y), ws, 0.05);
        const double cost = parallel.train_step(split, batch(step, x), batch(step, y), 0.05);
        CHECK(parallel.last_split() == nabla::ParallelSplit::neurons);
        CHECK(std::abs(cost - expected) <= tolerance * std::max(1.0, std::abs(expected)));
        single.for_each_layer([&](const auto& layer, auto i) {
            CAPTURE(static_cast<std::size_t>(i));
            CHECK(relative_difference(split.layer(i).weights(), layer.weights()) <= tolerance);
            CHECK(relative_difference(split.layer(i).bias(), layer.bias()) <= tolerance);
        });
    }
    CHECK_FALSE(same_parameters(split, start));  // it did train

    Net again = start;
    nabla::DataParallel<Net> parallel_again(threads);
    parallel_again.set_split(nabla::ParallelSplit::neurons);
    for (int step = 0; step < 6; ++step)
        parallel_again.train_step(again, batch(step, x), batch(step, y), 0.05);
    CHECK(same_parameters(again, split));  // bit for bit
}

}  // namespace

TEST_CASE("data parallel: a step split by neurons follows the single-threaded one",
          "[threads][train_step]") {
    // 40 → 70 → 50 → 33 neurons: cut at multiples of 16 rows, unevenly, and at three threads
    // a part of layer 3 holds no row at all (0, 0, 16, 33).
    const auto x = random_matrix<Eigen::MatrixXd>(40, 35, 41);
    const auto y = random_matrix<Eigen::MatrixXd>(33, 35, 42);
    for (const int threads : {2, 3}) {
        SECTION("layer types fixed at compile time, " + std::to_string(threads) + " threads") {
            check_neuron_steps(RowNet({40, 70, 50, 33}, 9), x, y, threads);
        }
        SECTION("layers chosen at run time, " + std::to_string(threads) + " threads") {
            check_neuron_steps(
                DynamicNet({40, 70, 50, 33}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Identity{}}, 9),
                x, y, threads);
        }
    }
    SECTION("a fused loss (binary cross-entropy on a sigmoid): δᴸ from the loss") {
        using Net = nabla::DynamicNetwork<double, nabla::BinaryCrossEntropy>;
        const Eigen::MatrixXd labels =
            (random_matrix<Eigen::MatrixXd>(33, 35, 43).array() > 0).cast<double>();
        check_neuron_steps(Net({40, 70, 33}, {nabla::ReLU{}, nabla::Sigmoid{}}, 9), x, labels, 2);
    }
}

TEST_CASE("data parallel: the automatic split takes neurons for wide layers alone",
          "[threads][train_step]") {
    const auto x = random_matrix<Eigen::MatrixXd>(64, 64, 44);
    const auto y = random_matrix<Eigen::MatrixXd>(128, 64, 45);
    // At two threads each layer gives a thread at least 64 neurons and 2^20 multiply-adds:
    // 256 · 64 · 64 for the first layer, exactly the threshold.
    DynamicNet wide({64, 512, 512, 128}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Identity{}}, 10);
    nabla::DataParallel<DynamicNet> parallel(2);
    CHECK(parallel.split() == nabla::ParallelSplit::automatic);
    parallel.train_step(wide, x, y, 0.01);
    CHECK(parallel.last_split() == nabla::ParallelSplit::neurons);
    parallel.train_step(wide, x.leftCols(63), y.leftCols(63), 0.01);  // one sample short of it
    CHECK(parallel.last_split() == nabla::ParallelSplit::samples);
    parallel.set_split(nabla::ParallelSplit::samples);
    parallel.train_step(wide, x, y, 0.01);
    CHECK(parallel.last_split() == nabla::ParallelSplit::samples);

    // A softmax output cannot be cut by rows: the batch is split however wide the layers.
    StaticNet softmax({64, 512, 512, 128}, 10);
    const auto labels = one_hot_targets<Eigen::MatrixXd>(128, 64);
    nabla::DataParallel<StaticNet> softmax_parallel(2);
    softmax_parallel.train_step(softmax, x, labels, 0.01);
    CHECK(softmax_parallel.last_split() == nabla::ParallelSplit::samples);
}

TEST_CASE("data parallel: a split by neurons the network cannot take is a ConfigError",
          "[threads][errors]") {
    const auto x = random_matrix<Eigen::MatrixXd>(40, 24, 46);
    SECTION("a softmax output") {
        using Net = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
        Net net({40, 70, 50, 5}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Softmax{}}, 11);
        nabla::DataParallel<Net> parallel(2);
        parallel.set_split(nabla::ParallelSplit::neurons);
        const Net before = net;
        CHECK(contains(message_of<nabla::ConfigError>([&] {
                           parallel.train_step(net, x, one_hot_targets<Eigen::MatrixXd>(5, 24),
                                               0.1);
                       }),
                       "ParallelSplit::neurons needs every layer to split its neurons between "
                       "threads, and Dense layer 3 cannot"));
        CHECK(same_parameters(net, before));
        StaticNet fixed_softmax({40, 70, 50, 5}, 11);  // the same, its σ fixed at compile time
        nabla::DataParallel<StaticNet> fixed_parallel(2);
        fixed_parallel.set_split(nabla::ParallelSplit::neurons);
        CHECK(contains(message_of<nabla::ConfigError>([&] {
                           fixed_parallel.train_step(fixed_softmax, x,
                                                     one_hot_targets<Eigen::MatrixXd>(5, 24), 0.1);
                       }),
                       "a layer type of this network cannot (Softmax and Dropout cannot)"));
    }
    SECTION("a dropout layer") {
        using Dense = DynamicNet::Layer;
        DynamicNet net(std::vector<nabla::AnyLayer<double>>{
            Dense(40, 70, nabla::ReLU{}), nabla::Dropout<double>(70, 0.2),
            Dense(70, 33, nabla::Identity{})});
        net.initialize(11);
        nabla::DataParallel<DynamicNet> parallel(2);
        parallel.set_split(nabla::ParallelSplit::neurons);
        CHECK(contains(message_of<nabla::ConfigError>([&] {
                           parallel.train_step(net, x, random_matrix<Eigen::MatrixXd>(33, 24, 47),
                                               0.1);
                       }),
                       "and Dropout layer 2 cannot"));
    }
    SECTION("layer types that fix fewer than 128 outputs: no split by neurons compiled") {
        STATIC_REQUIRE_FALSE(nabla::DataParallel<FixedNet>::can_split_by_neurons);
        STATIC_REQUIRE_FALSE(nabla::DataParallel<StaticNet>::can_split_by_neurons);  // Softmax
        STATIC_REQUIRE(nabla::DataParallel<RowNet>::can_split_by_neurons);
        STATIC_REQUIRE(nabla::DataParallel<DynamicNet>::can_split_by_neurons);  // at run time
        FixedNet net(3);
        nabla::DataParallel<FixedNet> parallel(2);
        parallel.set_split(nabla::ParallelSplit::neurons);
        using X = Eigen::Matrix<float, 2, dynamic>;
        CHECK(contains(message_of<nabla::ConfigError>([&] {
                           parallel.train_step(net, random_matrix<X>(2, 9, 1),
                                               random_matrix<X>(2, 9, 2, 0, 1), 0.1f);
                       }),
                       "fixes fewer than 128 outputs at compile time"));
    }
    SECTION("rows of a transposed input") {
        // Dense::forward_rows on its own, as a layer of a user's network might be called.
        nabla::Dense<double, dynamic, dynamic, nabla::Tanh> layer(4, 3);
        nabla::Dense<double, dynamic, dynamic, nabla::Tanh>::State<dynamic> state;
        layer.prepare(state, 5, nullptr);
        const Eigen::MatrixXd stored = random_matrix<Eigen::MatrixXd>(5, 4, 51);
        CHECK(contains(message_of<nabla::ShapeError>(
                           [&] { layer.forward_rows(stored.transpose(), state, 0, 3); }),
                       "reads column-major matrices, and was given a 4x5 one whose rows lie 5 "
                       "entries apart"));
        const Eigen::MatrixXd copied = stored.transpose();  // the same entries, column-major
        layer.forward_rows(copied, state, 0, 3);
        CHECK(state.a.allFinite());
    }
    SECTION("a product too small to fold") {
        DynamicNet net({2, 3, 2}, {nabla::Tanh{}, nabla::Identity{}}, 11);
        nabla::DataParallel<DynamicNet> parallel(2);
        parallel.set_split(nabla::ParallelSplit::neurons);
        CHECK(contains(message_of<nabla::ConfigError>([&] {
                           parallel.train_step(net, x.topRows(2).leftCols(4),
                                               random_matrix<Eigen::MatrixXd>(2, 4, 48), 0.1);
                       }),
                       "layer 1's product is too small for that at 4 samples"));
    }
}

TEST_CASE("data parallel: a step split by neurons that is not finite changes nothing",
          "[threads][train_step][errors]") {
    DynamicNet net({40, 70, 33}, {nabla::ReLU{}, nabla::Identity{}}, 12);
    auto x = random_matrix<Eigen::MatrixXd>(40, 24, 49);
    const auto y = random_matrix<Eigen::MatrixXd>(33, 24, 50);
    x(3, 5) = std::numeric_limits<double>::infinity();
    nabla::DataParallel<DynamicNet> parallel(2);
    parallel.set_split(nabla::ParallelSplit::neurons);
    const DynamicNet before = net;
    const std::string message =
        message_of<nabla::NumericalError>([&] { parallel.train_step(net, x, y, 0.1); });
    CHECK(contains(message, "DataParallel::train_step: the loss is"));
    CHECK(contains(message, "the weights are left as they were"));
    CHECK(same_parameters(net, before));
    x(3, 5) = 0;  // and the next step runs as usual
    parallel.train_step(net, x, y, 0.1);
    CHECK(parallel.last_split() == nabla::ParallelSplit::neurons);
    CHECK_FALSE(same_parameters(net, before));
}

}  // namespace test_data_parallel
