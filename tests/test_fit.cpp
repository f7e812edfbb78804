// fit(): the loss falls on a small regression and a 3-blob classification reaches its accuracy
// bar; the History holds what it says (one record per epoch, the schedule's rates, gradient
// norms equal to norms recomputed from backward(), accuracy as trained); one seed gives one
// result bit for bit; early stopping stops and gives back the best weights; a callback stops
// training; a NaN names epoch and batch and keeps the weights; with Sgd fit() is train() bit for
// bit; bad options and shapes throw with the option, value and shapes named.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/metrics.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/train.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace test_fit {  // named for the unity build of nabla_tests

namespace {

using nabla::ConfigError;
using nabla::ShapeError;
using nabla_test::message_of;
using nabla_test::random_matrix;
using Matrix = Eigen::MatrixXd;
constexpr int dynamic = Eigen::Dynamic;

using RegressionNet =
    nabla::Network<nabla::HalfSquaredError, nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                   nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
using ClassifierNet = nabla::DynamicNetwork<double, nabla::CrossEntropy>;

using nabla_test::contains;

using nabla_test::relatively_close;

using nabla_test::same_parameters;

/// Options for a quiet run: tests never write progress to std::cerr.
nabla::FitOptions quiet_options(int epochs, Eigen::Index batch_size) {
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = batch_size;
    options.progress.mode = nabla::ProgressMode::silent;
    return options;
}

/// 3 inputs in [−1, 1), target sin(2x₀) + ½x₁x₂.
void regression_data(Eigen::Index samples, std::uint64_t seed, Matrix& x, Matrix& y) {
    x = random_matrix<Matrix>(3, samples, seed, -1, 1);
    y.resize(1, samples);
    for (Eigen::Index k = 0; k < samples; ++k)
        y(0, k) = std::sin(2 * x(0, k)) + 0.5 * x(1, k) * x(2, k);
}

/// Three Gaussian blobs in the plane (σ = 0.5, centres 3.4 apart), samples of the classes in
/// turn, one-hot targets.
void blobs(Eigen::Index per_class, std::uint64_t seed, Matrix& x, Matrix& y) {
    const double centres[3][2] = {{0, 2}, {-1.7, -1}, {1.7, -1}};
    nabla::Rng rng(seed);
    x.resize(2, 3 * per_class);
    y = Matrix::Zero(3, 3 * per_class);
    for (Eigen::Index k = 0; k < x.cols(); ++k) {
        const int c = int(k % 3);
        x(0, k) = centres[c][0] + 0.5 * rng.normal();
        x(1, k) = centres[c][1] + 0.5 * rng.normal();
        y(c, k) = 1;
    }
}

ClassifierNet make_classifier(std::uint64_t seed) {
    return ClassifierNet({2, 16, 3}, {nabla::Tanh{}, nabla::Softmax{}}, seed);
}

/// An optimizer written against the interface alone: plain SGD that counts its steps.
class CountingSgd {
public:
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        net.update(ws, typename Net::Scalar(m_rate));
        ++steps;
    }
    double learning_rate() const { return m_rate; }
    void set_learning_rate(double rate) { m_rate = rate; }
    void reset() {}

    int steps = 0;

private:
    double m_rate = 0.1;
};

}  // namespace

TEST_CASE("fit: the loss falls on a small regression", "[fit]") {
    Matrix x, y;
    regression_data(50, 1, x, y);  // batches of 8: six full ones and one of 2
    RegressionNet net({3, 16, 1}, 2);
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options = quiet_options(300, 8);
    options.seed = 5;
    const nabla::History history = nabla::fit(net, sgd, x, y, options);
    REQUIRE(history.size() == 300);
    CAPTURE(history.epochs.front().loss, history.epochs.back().loss);
    // As train() does on the same problem: over seeds 0–9 the loss falls 17 to 155 times.
    CHECK(history.epochs.back().loss < history.epochs.front().loss / 5);
    CHECK(net.loss(x, y) < history.epochs.front().loss / 5);
    for (const nabla::EpochRecord& record : history.epochs) {
        CHECK(std::isfinite(record.loss));
        CHECK_FALSE(record.accuracy.has_value());  // not a classification loss
        CHECK_FALSE(record.val_loss.has_value());
        CHECK_FALSE(record.val_accuracy.has_value());
    }
    CHECK(history.stop_reason == nabla::StopReason::completed);
    CHECK(history.best_epoch == 0);
}

TEST_CASE("fit: softmax and cross-entropy separate three Gaussian blobs", "[fit]") {
    Matrix x, y, x_val, y_val;
    blobs(50, 11, x, y);          // 150 samples
    blobs(20, 12, x_val, y_val);  // 60 more, drawn apart
    ClassifierNet net = make_classifier(3);
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options = quiet_options(30, 16);
    options.seed = 7;
    const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
    REQUIRE(history.size() == 30);
    const nabla::EpochRecord& last = history.epochs.back();
    CAPTURE(history.epochs.front().loss, last.loss, *last.accuracy, *last.val_accuracy);
    CHECK(last.loss < history.epochs.front().loss / 2);
    // The blobs overlap a little (σ = 0.5, 3.4 apart): 95 % is a bar a trained net clears.
    CHECK(*last.accuracy >= 0.95);
    CHECK(*last.val_accuracy >= 0.95);
    // The validation numbers are those of the final weights on the whole validation set.
    const Matrix outputs = net.predict(x_val);
    CHECK(*last.val_accuracy == nabla::accuracy(outputs, y_val));
    CHECK(relatively_close(*last.val_loss, net.loss(x_val, y_val), 1e-12));
    for (const nabla::EpochRecord& record : history.epochs) {
        CHECK(*record.accuracy >= 0);
        CHECK(*record.accuracy <= 1);
    }
}

TEST_CASE("fit: binary cross-entropy records the accuracy of a sigmoid output", "[fit]") {
    using Net = nabla::Network<nabla::BinaryCrossEntropy,
                               nabla::Dense<double, 2, 8, nabla::Tanh>,
                               nabla::Dense<double, 8, 1, nabla::Sigmoid>>;
    Matrix blob_x, blob_y;
    blobs(40, 21, blob_x, blob_y);
    // Class 0 against the rest: one output, 1 for the top blob.
    const Matrix y = blob_y.topRows(1);
    Net net(4);
    const Net before = net;
    nabla::Sgd sgd(0.5);
    nabla::FitOptions options = quiet_options(1, 120);  // one batch of everything
    options.shuffle = false;
    nabla::History history = nabla::fit(net, sgd, blob_x, y, options);
    // Accuracy as trained: the outputs before the epoch's one step.
    CHECK(*history.epochs[0].accuracy == nabla::accuracy(before.predict(blob_x), y));
    options.epochs = 20;
    options.batch_size = 8;
    history = nabla::fit(net, sgd, blob_x, y, options);
    CHECK(*history.epochs.back().accuracy >= 0.95);
}

TEST_CASE("fit: the history records each epoch, the schedule and the gradient norms", "[fit]") {
    Matrix x, y, x_val, y_val;
    blobs(10, 31, x, y);  // 30 samples
    blobs(4, 32, x_val, y_val);

    SECTION("one record per epoch, learning rates from the schedule") {
        ClassifierNet net = make_classifier(1);
        nabla::Sgd sgd(0.1);
        nabla::FitOptions options = quiet_options(5, 7);  // batches of 7: four and one of 2
        options.gradient_norms = true;
        options.schedule = [](int epoch) { return 0.2 / (1 + epoch); };
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        REQUIRE(history.size() == 5);
        for (std::size_t e = 0; e < 5; ++e) {
            const nabla::EpochRecord& record = history.epochs[e];
            CAPTURE(e);
            CHECK(record.epoch == int(e) + 1);
            CHECK(record.learning_rate == 0.2 / double(1 + e));  // schedule(0-based epoch)
            CHECK(record.seconds > 0);
            CHECK(record.samples_per_second > 0);
            CHECK(record.accuracy.has_value());
            CHECK(record.val_loss.has_value());
            CHECK(record.val_accuracy.has_value());
            REQUIRE(record.gradient_norms.size() == 2);
            for (const nabla::LayerGradientNorms& norms : record.gradient_norms) {
                CHECK(norms.delta > 0);
                CHECK(norms.weight_gradient > 0);
            }
        }
        CHECK(sgd.learning_rate() == 0.2 / 5);  // the last epoch's rate stays set
        // Records are values: one outlives the history it came from.
        nabla::EpochRecord kept;
        {
            const nabla::History copy = history;
            kept = copy.epochs[2];
        }
        CHECK(kept.gradient_norms[1].delta == history.epochs[2].gradient_norms[1].delta);
    }

    SECTION("a single-batch epoch: norms, loss and accuracy equal those recomputed") {
        ClassifierNet net = make_classifier(2);
        ClassifierNet replay = net;
        nabla::Sgd sgd(0.3);
        nabla::FitOptions options = quiet_options(1, 30);
        options.gradient_norms = true;
        options.shuffle = false;
        const nabla::History history = nabla::fit(net, sgd, x, y, options);
        REQUIRE(history.size() == 1);
        const nabla::EpochRecord& record = history.epochs[0];

        ClassifierNet::Workspace<> ws;
        const double cost = replay.backward(x, y, ws);
        CHECK(record.loss == cost);
        CHECK(*record.accuracy == nabla::accuracy(ws.output(), y));
        REQUIRE(record.gradient_norms.size() == 2);
        for (std::size_t l = 0; l < 2; ++l) {
            CAPTURE(l);
            const Matrix& delta = ws.layer(l).delta;  // 30 columns, one per sample
            double squares = 0;
            for (Eigen::Index k = 0; k < delta.cols(); ++k) squares += delta.col(k).squaredNorm();
            const double delta_rms = std::sqrt(squares / 30);  // ‖δ‖_F / √n
            double dw_squares = 0;
            const Matrix& dW = ws.layer(l).dW;
            for (Eigen::Index k = 0; k < dW.size(); ++k) dw_squares += dW(k) * dW(k);
            CHECK(relatively_close(record.gradient_norms[l].delta, delta_rms, 1e-12));
            CHECK(relatively_close(record.gradient_norms[l].weight_gradient,
                                   std::sqrt(dw_squares), 1e-12));
        }
        replay.update(ws, 0.3);
        CHECK(same_parameters(net, replay));
    }

    SECTION("two batches: the norms are the mean of the two batches' norms") {
        ClassifierNet net = make_classifier(5);
        ClassifierNet replay = net;
        nabla::Sgd sgd(0.3);
        nabla::FitOptions options = quiet_options(1, 20);  // batches of 20 and 10, in order
        options.gradient_norms = true;
        options.shuffle = false;
        const nabla::History history = nabla::fit(net, sgd, x, y, options);
        ClassifierNet::Workspace<> ws;
        std::vector<double> delta_sum(2, 0.0);
        std::vector<double> weight_sum(2, 0.0);
        double loss_sum = 0;
        const std::pair<Eigen::Index, Eigen::Index> parts[] = {{0, 20}, {20, 10}};
        for (const auto& [first, size] : parts) {
            loss_sum += size * replay.backward(x.middleCols(first, size),
                                               y.middleCols(first, size), ws);
            for (std::size_t l = 0; l < 2; ++l) {
                delta_sum[l] += ws.layer(l).delta.norm() / std::sqrt(double(size));
                weight_sum[l] += ws.layer(l).dW.norm();
            }
            replay.update(ws, 0.3);
        }
        CHECK(same_parameters(net, replay));
        CHECK(relatively_close(history.epochs[0].loss, loss_sum / 30, 1e-14));
        for (std::size_t l = 0; l < 2; ++l) {
            CHECK(relatively_close(history.epochs[0].gradient_norms[l].delta, delta_sum[l] / 2,
                                   1e-12));
            CHECK(relatively_close(history.epochs[0].gradient_norms[l].weight_gradient,
                                   weight_sum[l] / 2, 1e-12));
        }
    }
}

TEST_CASE("fit: one seed gives bit-identical weights, another seed other weights", "[fit]") {
    Matrix x, y, x_val, y_val;
    blobs(12, 41, x, y);
    blobs(4, 42, x_val, y_val);
    nabla::FitOptions options = quiet_options(8, 5);
    options.seed = 42;
    options.schedule = [](int epoch) { return epoch < 4 ? 0.2 : 0.05; };

    ClassifierNet a = make_classifier(9);
    ClassifierNet b = make_classifier(9);
    ClassifierNet c = make_classifier(9);
    nabla::Sgd sgd_a(0.1), sgd_b(0.1), sgd_c(0.1);
    const nabla::History history_a = nabla::fit(a, sgd_a, x, y, x_val, y_val, options);
    const nabla::History history_b = nabla::fit(b, sgd_b, x, y, x_val, y_val, options);
    CHECK(same_parameters(a, b));
    for (std::size_t e = 0; e < 8; ++e) {
        CHECK(history_a.epochs[e].loss == history_b.epochs[e].loss);
        CHECK(*history_a.epochs[e].val_loss == *history_b.epochs[e].val_loss);
    }
    options.seed = 43;
    nabla::fit(c, sgd_c, x, y, options);
    CHECK_FALSE(same_parameters(a, c));
}

TEST_CASE("fit: with Sgd, fit is train() bit for bit", "[fit]") {
    Matrix x, y;
    regression_data(24, 51, x, y);
    nabla::TrainOptions train_options;
    train_options.epochs = 15;
    train_options.learning_rate = 0.2;

    SECTION("one batch of the whole set, no shuffle") {
        train_options.batch_size = 24;
        train_options.shuffle = false;
    }
    SECTION("shuffled mini-batches with a partial last batch") {
        train_options.batch_size = 5;
        train_options.shuffle = true;
        train_options.seed = 77;
    }
    nabla::FitOptions options = quiet_options(15, train_options.batch_size);
    options.shuffle = train_options.shuffle;
    options.seed = train_options.seed;

    RegressionNet trained({3, 6, 1}, 4);
    RegressionNet fitted = trained;
    const std::vector<double> losses = nabla::train(trained, x, y, train_options);
    nabla::Sgd sgd(0.2);
    const nabla::History history = nabla::fit(fitted, sgd, x, y, options);
    CHECK(same_parameters(trained, fitted));
    REQUIRE(history.size() == losses.size());
    for (std::size_t e = 0; e < losses.size(); ++e) CHECK(history.epochs[e].loss == losses[e]);

    // The same through a DynamicNetwork.
    nabla::DynamicNetwork<double, nabla::HalfSquaredError> dyn_trained(
        {3, 6, 1}, {nabla::Tanh{}, nabla::Identity{}}, 4);
    auto dyn_fitted = dyn_trained;
    nabla::train(dyn_trained, x, y, train_options);
    nabla::Sgd dyn_sgd(0.2);
    nabla::fit(dyn_fitted, dyn_sgd, x, y, options);
    CHECK(same_parameters(dyn_trained, dyn_fitted));

    // An optimizer known by its interface only takes step(net, ws) after each backward pass, as
    // a loop of backward() and update() by hand does. (A plain Sgd instead adds its step straight
    // into W, which rounds differently at these sizes: train_step's tests bound that.)
    auto dyn_counted = dyn_trained;
    auto dyn_by_hand = dyn_trained;
    CountingSgd counting;
    counting.set_learning_rate(0.2);
    options.shuffle = false;
    nabla::fit(dyn_counted, counting, x, y, options);
    decltype(dyn_by_hand)::Workspace<> ws;
    const Eigen::Index batch = train_options.batch_size;
    for (int epoch = 0; epoch < 15; ++epoch) {
        for (Eigen::Index first = 0; first < 24; first += batch) {
            const Eigen::Index size = std::min<Eigen::Index>(batch, 24 - first);
            dyn_by_hand.backward(x.middleCols(first, size), y.middleCols(first, size), ws);
            dyn_by_hand.update(ws, 0.2);
        }
    }
    CHECK(same_parameters(dyn_counted, dyn_by_hand));
    const int batches = int((24 + train_options.batch_size - 1) / train_options.batch_size);
    CHECK(counting.steps == 15 * batches);
}

TEST_CASE("fit: early stopping stops and gives back the best weights", "[fit]") {
    Matrix x, y, x_val, y_val;
    regression_data(40, 1, x, y);
    regression_data(20, 2, x_val, y_val);
    nabla::FitOptions options = quiet_options(30, 8);
    options.seed = 3;
    // Eight calm epochs, then a learning rate ten times too large: the validation loss jumps
    // (epoch 9) and has not come back below its best three epochs later.
    options.schedule = [](int epoch) { return epoch < 8 ? 0.1 : 1.0; };
    const RegressionNet initial({3, 8, 1}, 4);

    SECTION("restore_best_weights") {
        options.early_stopping = nabla::EarlyStopping{3, 0, true};
        RegressionNet net = initial;
        nabla::Sgd sgd(0.1);
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        CHECK(history.stop_reason == nabla::StopReason::early_stopping);
        REQUIRE(history.size() < 30);

        // The best epoch is the first with the lowest validation loss, found here afresh.
        std::size_t best = 0;
        for (std::size_t e = 1; e < history.size(); ++e)
            if (*history.epochs[e].val_loss < *history.epochs[best].val_loss) best = e;
        CAPTURE(best, history.size());
        CHECK(history.best_epoch == int(best) + 1);
        CHECK(history.best_epoch == 8);  // the last calm epoch, as constructed
        CHECK(history.size() == best + 1 + 3);  // stopped after `patience` epochs without gain
        for (std::size_t e = best + 1; e < history.size(); ++e)
            CHECK(*history.epochs[e].val_loss >= *history.epochs[best].val_loss);

        // The network holds the best epoch's weights: its validation loss is that epoch's ...
        CHECK(relatively_close(net.loss(x_val, y_val), *history.epochs[best].val_loss, 1e-12));
        // ... and it equals a run stopped by hand after that epoch.
        RegressionNet by_hand = initial;
        nabla::Sgd sgd_by_hand(0.1);
        nabla::FitOptions shorter = options;
        shorter.early_stopping.reset();
        shorter.epochs = history.best_epoch;
        nabla::fit(by_hand, sgd_by_hand, x, y, x_val, y_val, shorter);
        CHECK(same_parameters(net, by_hand));
    }
    SECTION("without restoring, the last epoch's weights stay") {
        options.early_stopping = nabla::EarlyStopping{3, 0, false};
        RegressionNet net = initial;
        nabla::Sgd sgd(0.1);
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        REQUIRE(history.stop_reason == nabla::StopReason::early_stopping);
        RegressionNet by_hand = initial;
        nabla::Sgd sgd_by_hand(0.1);
        nabla::FitOptions shorter = options;
        shorter.early_stopping.reset();
        shorter.epochs = int(history.size());
        nabla::fit(by_hand, sgd_by_hand, x, y, shorter);
        CHECK(same_parameters(net, by_hand));
    }
    SECTION("min_delta: a gain smaller than min_delta is no improvement") {
        // The loss falls by less than 1 per epoch, so only epoch 1 counts: stop after 1 + 2.
        options.early_stopping = nabla::EarlyStopping{2, 1.0, true};
        options.schedule = nullptr;
        RegressionNet net = initial;
        nabla::Sgd sgd(0.1);
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        CHECK(history.size() == 3);
        CHECK(history.best_epoch == 1);
        CHECK(*history.epochs[2].val_loss < *history.epochs[0].val_loss);  // it did improve a bit
        CHECK(relatively_close(net.loss(x_val, y_val), *history.epochs[0].val_loss, 1e-12));
    }
    SECTION("a run that never stalls ends with its best, and last, epoch") {
        options.early_stopping = nabla::EarlyStopping{3, 0, true};
        options.schedule = nullptr;
        options.epochs = 6;
        RegressionNet net = initial;
        nabla::Sgd sgd(0.1);
        const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
        CHECK(history.stop_reason == nabla::StopReason::completed);
        REQUIRE(history.size() == 6);
        CHECK(history.best_epoch == 6);
        CHECK(relatively_close(net.loss(x_val, y_val), *history.epochs[5].val_loss, 1e-12));
    }
}

TEST_CASE("fit: a callback can stop training, and every callback sees every epoch", "[fit]") {
    Matrix x, y;
    regression_data(30, 61, x, y);
    const RegressionNet initial({3, 5, 1}, 6);
    nabla::FitOptions options = quiet_options(20, 8);
    std::vector<int> seen_by_first, seen_by_second;
    options.callbacks.push_back([&](const nabla::EpochRecord& record) {
        seen_by_first.push_back(record.epoch);
        return record.epoch == 3 ? nabla::EpochAction::stop : nabla::EpochAction::proceed;
    });
    options.callbacks.push_back([&](const nabla::EpochRecord& record) {
        seen_by_second.push_back(record.epoch);
        return nabla::EpochAction::proceed;
    });
    RegressionNet net = initial;
    nabla::Sgd sgd(0.1);
    const nabla::History history = nabla::fit(net, sgd, x, y, options);
    CHECK(history.size() == 3);
    CHECK(history.stop_reason == nabla::StopReason::callback);
    CHECK(seen_by_first == std::vector<int>{1, 2, 3});
    CHECK(seen_by_second == std::vector<int>{1, 2, 3});

    RegressionNet by_hand = initial;
    nabla::Sgd sgd_by_hand(0.1);
    nabla::fit(by_hand, sgd_by_hand, x, y, quiet_options(3, 8));
    CHECK(same_parameters(net, by_hand));
}

TEST_CASE("fit: a NaN names the epoch and batch and leaves the weights before that step",
          "[fit]") {
    Matrix x, y;
    regression_data(12, 71, x, y);  // batches of 4, in order: samples 0–3, 4–7, 8–11
    const RegressionNet initial({3, 4, 1}, 8);
    RegressionNet net = initial;
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options = quiet_options(5, 4);
    options.shuffle = false;
    // After epoch 1, sample 5 (in batch 2) becomes NaN: epoch 2 fails on its second batch.
    options.callbacks.push_back([&](const nabla::EpochRecord&) {
        x(1, 5) = std::numeric_limits<double>::quiet_NaN();
        return nabla::EpochAction::proceed;
    });
    const Matrix clean_x = x;
    const std::string message =
        message_of<nabla::NumericalError>([&] { nabla::fit(net, sgd, x, y, options); });
    CHECK(contains(message, "nabla: fit: epoch 2, batch 2 of 3"));
    CHECK(contains(message, "the weights are left as they were before this step"));

    // Replayed by hand: epoch 1, then the first batch of epoch 2.
    RegressionNet replay = initial;
    RegressionNet::Workspace<> ws;
    for (int b = 0; b < 3; ++b)
        replay.train_step(clean_x.middleCols(4 * b, 4), y.middleCols(4 * b, 4), ws, 0.1);
    replay.train_step(clean_x.leftCols(4), y.leftCols(4), ws, 0.1);
    CHECK(same_parameters(net, replay));
}

TEST_CASE("fit: zero epochs return an empty history and leave the weights", "[fit]") {
    Matrix x, y;
    regression_data(10, 81, x, y);
    RegressionNet net({3, 4, 1}, 1);
    const RegressionNet before = net;
    nabla::Sgd sgd(0.1);
    const nabla::History history = nabla::fit(net, sgd, x, y, quiet_options(0, 4));
    CHECK(history.epochs.empty());
    CHECK(same_parameters(net, before));
}

TEST_CASE("fit: the validation batch size does not change the validation numbers", "[fit]") {
    Matrix x, y, x_val, y_val;
    blobs(10, 91, x, y);
    blobs(7, 92, x_val, y_val);  // 21 validation samples
    nabla::FitOptions options = quiet_options(2, 8);
    ClassifierNet a = make_classifier(4);
    ClassifierNet b = a;
    nabla::Sgd sgd_a(0.1), sgd_b(0.1);
    options.validation_batch_size = 4;  // five batches of 4 and one of 1
    const nabla::History small = nabla::fit(a, sgd_a, x, y, x_val, y_val, options);
    options.validation_batch_size = 0;  // batch_size: two of 8, one of 5
    const nabla::History usual = nabla::fit(b, sgd_b, x, y, x_val, y_val, options);
    CHECK(same_parameters(a, b));
    for (std::size_t e = 0; e < 2; ++e) {
        CHECK(relatively_close(*small.epochs[e].val_loss, *usual.epochs[e].val_loss, 1e-14));
        CHECK(*small.epochs[e].val_accuracy == *usual.epochs[e].val_accuracy);
    }
    CHECK(relatively_close(*small.epochs[1].val_loss, a.loss(x_val, y_val), 1e-14));
}

TEST_CASE("fit: bad options throw ConfigError naming the option and value", "[fit]") {
    Matrix x, y, x_val, y_val;
    regression_data(10, 101, x, y);
    regression_data(5, 102, x_val, y_val);
    RegressionNet net({3, 4, 1}, 1);
    const RegressionNet before = net;
    nabla::Sgd sgd(0.1);
    const auto config_message = [&](const nabla::FitOptions& options, bool validate) {
        return message_of<ConfigError>([&] {
            if (validate)
                nabla::fit(net, sgd, x, y, x_val, y_val, options);
            else
                nabla::fit(net, sgd, x, y, options);
        });
    };

    nabla::FitOptions options = quiet_options(-1, 4);
    CHECK(contains(config_message(options, false),
                   "nabla: fit: epochs must be 0 or more, got -1"));
    options = quiet_options(2, 0);
    CHECK(contains(config_message(options, false), "fit: batch_size must be at least 1, got 0"));
    options = quiet_options(2, 4);
    options.validation_batch_size = -3;
    CHECK(contains(config_message(options, true), "validation_batch_size"));
    CHECK(contains(config_message(options, true), "got -3"));

    options = quiet_options(2, 4);
    options.early_stopping = nabla::EarlyStopping{-1, 0, true};
    CHECK(contains(config_message(options, true),
                   "early_stopping.patience must be 0 or more, got -1"));
    options.early_stopping = nabla::EarlyStopping{2, -0.5, true};
    CHECK(contains(config_message(options, true), "early_stopping.min_delta"));
    CHECK(contains(config_message(options, true), "got -0.5"));
    options.early_stopping = nabla::EarlyStopping{2, std::nan(""), true};
    CHECK(contains(config_message(options, true), "early_stopping.min_delta"));
    options.early_stopping = nabla::EarlyStopping{};
    CHECK(contains(config_message(options, false), "no validation data"));

    options = quiet_options(2, 4);
    options.callbacks.push_back(
        [](const nabla::EpochRecord&) { return nabla::EpochAction::proceed; });
    options.callbacks.emplace_back();
    CHECK(contains(config_message(options, false), "fit: callbacks[1] is empty"));

    options = quiet_options(2, 4);
    options.progress.redraw_interval = -1;
    CHECK(contains(config_message(options, false), "redraw_interval"));
    CHECK(same_parameters(net, before));  // every check above comes before the first step

    // The schedule is asked at the start of each epoch: epoch 1 trains, epoch 2 throws.
    options = quiet_options(3, 4);
    options.schedule = [](int epoch) { return epoch == 1 ? -0.25 : 0.1; };
    CHECK(contains(config_message(options, false),
                   "fit: the schedule gave the learning rate -0.25 for epoch 2 (schedule(1))"));
    options.schedule = [](int) { return std::numeric_limits<double>::infinity(); };
    CHECK(contains(config_message(options, false), "learning rate inf for epoch 1"));
}

TEST_CASE("fit: data that does not fit throws ShapeError with both shapes", "[fit]") {
    RegressionNet net({3, 4, 1}, 1);
    nabla::Sgd sgd(0.1);
    const nabla::FitOptions options = quiet_options(1, 4);
    const Matrix x = Matrix::Zero(3, 10);
    const Matrix y = Matrix::Zero(1, 10);
    const auto shape_message = [&](const Matrix& xs, const Matrix& ys) {
        return message_of<ShapeError>([&] { nabla::fit(net, sgd, xs, ys, options); });
    };
    CHECK(contains(shape_message(x, Matrix::Zero(1, 9)), "nabla: fit: x is 3x10 but y is 1x9"));
    CHECK(contains(shape_message(Matrix::Zero(4, 10), y),
                   "fit: x is 4x10 (inputs x samples) but the network takes 3 inputs"));
    CHECK(contains(shape_message(x, Matrix::Zero(2, 10)),
                   "fit: y is 2x10 (outputs x samples) but the network has 1 output"));
    CHECK(contains(shape_message(Matrix::Zero(3, 0), Matrix::Zero(1, 0)), "fit: x is 3x0"));
    const std::string validation = message_of<ShapeError>([&] {
        nabla::fit(net, sgd, x, y, Matrix::Zero(3, 5), Matrix::Zero(1, 4), options);
    });
    CHECK(contains(validation, "fit: x_val is 3x5 but y_val is 1x4"));
    const std::string val_rows = message_of<ShapeError>([&] {
        nabla::fit(net, sgd, x, y, Matrix::Zero(2, 5), Matrix::Zero(1, 5), options);
    });
    CHECK(contains(val_rows, "fit: x_val is 2x5 (inputs x samples) but the network takes 3"));
}

}  // namespace test_fit
