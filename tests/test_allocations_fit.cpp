// fit() sizes everything before the first epoch (the batches, the validation workspaces, the
// History, the gradient-norm storage, the copy kept for early stopping): with silent progress
// its allocations must not depend on the number of epochs. allocation_counter.hpp explains how
// allocations are counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "allocation_checks.hpp"
#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/parallel/communicator.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace {

using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::random_matrix;
constexpr int dynamic = Eigen::Dynamic;

/// Allocations of one fit() call (setup included) on a fresh copy of `net`, with everything
/// fit() offers switched on: validation, a schedule, early stopping that keeps a best copy, a
/// callback.
template <class Net, class X, class Y>
Counts fit_allocations(const Net& net, const X& x, const Y& y, const X& x_val, const Y& y_val,
                       int epochs) {
    Net copy = net;
    nabla::Sgd sgd(0.05);
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 8;             // 50 samples: six batches of 8 and a last one of 2
    options.validation_batch_size = 6;  // 20 samples: three batches of 6 and one of 2
    options.seed = 3;
    options.schedule = [](int epoch) { return 0.05 / (1 + 0.1 * epoch); };
    options.early_stopping = nabla::EarlyStopping{1000, 0, true};  // keeps a copy, never stops
    int calls = 0;
    options.callbacks.push_back([&calls](const nabla::EpochRecord&) {
        ++calls;
        return nabla::EpochAction::proceed;
    });
    options.progress.mode = nabla::ProgressMode::silent;
    options.gradient_norms = true;
    nabla::History history;
    const Counts counts = count_allocations([&] {
        history = nabla::fit(copy, sgd, x, y, x_val, y_val, options);
    });
    REQUIRE(history.size() == static_cast<std::size_t>(epochs));
    CHECK(calls == epochs);
    // The epochs did their work: gradient norms recorded, a best epoch found.
    CHECK(history.epochs.back().gradient_norms.size() == net.layer_count());
    CHECK(history.epochs.back().gradient_norms[0].weight_gradient > 0);
    CHECK(history.best_epoch >= 1);
    return counts;
}

template <class Net, class X, class Y>
void check_fit_allocations_flat(const Net& net, const X& x, const Y& y, const X& x_val,
                                const Y& y_val) {
    const Counts one = nabla_alloc_test::check_allocations_flat_in_epochs(
        [&](int epochs) { return fit_allocations(net, x, y, x_val, y_val, epochs); });
    // Both kinds of allocation happen in setup (buffers, History, the best copy).
    CHECK(one.new_calls > 0);
    CHECK(one.eigen_mallocs > 0);
}

}  // namespace

TEST_CASE("allocations: fit() allocates as much for 20 epochs as for 1 or 2", "[allocations]") {
    SECTION("DynamicNetwork<float, CrossEntropy> 20-16-12-5: accuracy and val_accuracy too") {
        nabla::DynamicNetwork<float, nabla::CrossEntropy> net(
            {20, 16, 12, 5}, {nabla::ReLU{}, nabla::Tanh{}, nabla::Softmax{}}, 7);
        const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 50, 11);
        const Eigen::MatrixXf y = nabla_test::one_hot_targets<Eigen::MatrixXf>(5, 50);
        const Eigen::MatrixXf x_val = random_matrix<Eigen::MatrixXf>(20, 20, 12);
        const Eigen::MatrixXf y_val = nabla_test::one_hot_targets<Eigen::MatrixXf>(5, 20);
        check_fit_allocations_flat(net, x, y, x_val, y_val);
    }
    SECTION("static Network with Eigen::Dynamic sizes, HalfSquaredError") {
        using Net = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                                   nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
        Net net({4, 6, 2}, 2);
        const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(4, 50, 13);
        const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 50, 14);
        const Eigen::MatrixXd x_val = random_matrix<Eigen::MatrixXd>(4, 20, 15);
        const Eigen::MatrixXd y_val = random_matrix<Eigen::MatrixXd>(2, 20, 16);
        check_fit_allocations_flat(net, x, y, x_val, y_val);
    }
    SECTION("fixed sizes, BinaryCrossEntropy") {
        using Net = nabla::Network<nabla::BinaryCrossEntropy,
                                   nabla::Dense<double, 2, 3, nabla::Tanh>,
                                   nabla::Dense<double, 3, 2, nabla::Sigmoid>>;
        Net net(5);
        using X = Eigen::Matrix<double, 2, dynamic>;
        const X x = random_matrix<X>(2, 50, 17);
        const X y = random_matrix<X>(2, 50, 18, 0, 1);
        const X x_val = random_matrix<X>(2, 20, 19);
        const X y_val = random_matrix<X>(2, 20, 20, 0, 1);
        check_fit_allocations_flat(net, x, y, x_val, y_val);
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}

namespace {

/// Rank 0 of a group of two whose other rank always holds the same numbers: a sum doubles, a
/// broadcast keeps, a minimum is the value. Lets fit()'s path across processes run in one
/// process, allocating nothing of its own, so that only fit()'s allocations are counted.
class Mirror final : public nabla::Communicator {
public:
    int rank() const override { return 0; }
    int size() const override { return 2; }
    void sum(float* values, std::size_t count) override { twice(values, count); }
    void sum(double* values, std::size_t count) override { twice(values, count); }
    int min(int value) override { return value; }
    void broadcast(float*, std::size_t, int) override {}
    void broadcast(double*, std::size_t, int) override {}
    void broadcast(std::string&, int) override {}

private:
    template <class T>
    static void twice(T* values, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) values[i] += values[i];
    }
};

}  // namespace

TEST_CASE("allocations: fit() without validation data is flat too, alone and across processes",
          "[allocations]") {
    nabla::DynamicNetwork<double, nabla::HalfSquaredError> net({3, 5, 1},
                                                              {nabla::Tanh{}, nabla::Identity{}});
    const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(3, 30, 21);
    const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(1, 30, 22);
    // Alone; then across processes with each rank's shard of the batches (whole data) and with
    // each rank's own samples (local data), with the per-layer norms and their extra sum.
    enum class Run { alone, whole, local };
    for (const Run run : {Run::alone, Run::whole, Run::local}) {
        CAPTURE(int(run));
        const auto allocations = [&](int epochs) {
            auto copy = net;
            nabla::Sgd sgd(0.05);
            nabla::FitOptions options;
            options.epochs = epochs;
            options.batch_size = 7;
            options.progress.mode = nabla::ProgressMode::silent;
            if (run != Run::alone) {
                options.gradient_norms = true;
                options.communicator = std::make_shared<Mirror>();
                options.local_data = run == Run::local;
            }
            nabla::History history;
            const Counts counts =
                count_allocations([&] { history = nabla::fit(copy, sgd, x, y, options); });
            CHECK(history.size() == static_cast<std::size_t>(epochs));
            CHECK(history.epochs.back().loss > 0);
            return counts;
        };
        nabla_alloc_test::check_allocations_flat_in_epochs(allocations);
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}
