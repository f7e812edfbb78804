// Training on several threads allocates nothing once its buffers are sized: a ThreadPool job,
// a DataParallel step (on every thread: the counters are process-wide), and train() and fit()
// with threads > 1, whose allocations must not depend on the number of epochs.
// allocation_counter.hpp explains how allocations are counted.

#include "allocation_counter.hpp"  // first: it must precede every Eigen include

#include "allocation_checks.hpp"
#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/fit.hpp>
#include <nabla/network.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/parallel/data_parallel.hpp>
#include <nabla/parallel/thread_pool.hpp>
#include <nabla/train.hpp>

#include <Eigen/Core>
#include <atomic>
#include <vector>

namespace {

using nabla_alloc_test::check_allocations_flat_in_epochs;
using nabla_alloc_test::count_allocations;
using nabla_alloc_test::Counts;
using nabla_test::one_hot_targets;
using nabla_test::random_matrix;
constexpr int dynamic = Eigen::Dynamic;

using Net = nabla::Network<nabla::CrossEntropy, nabla::Dense<float, dynamic, dynamic, nabla::ReLU>,
                           nabla::Dense<float, dynamic, dynamic, nabla::Tanh>,
                           nabla::Dense<float, dynamic, dynamic, nabla::Softmax>>;

/// Element-wise σ on every layer: DataParallel can split it by neurons.
using RowNet = nabla::Network<nabla::SquaredError,
                              nabla::Dense<float, dynamic, dynamic, nabla::ReLU>,
                              nabla::Dense<float, dynamic, dynamic, nabla::Identity>>;

}  // namespace

TEST_CASE("allocations: a thread pool job allocates nothing", "[allocations][threads]") {
    nabla::ThreadPool pool(3);
    std::atomic<int> calls{0};
    pool.run([&](int) { calls.fetch_add(1); });
    const Counts counts = count_allocations([&] {
        for (int job = 0; job < 100; ++job) pool.run([&](int) { calls.fetch_add(1); });
    });
    CHECK(calls.load() == 303);
    CHECK(counts.total() == 0);
}

TEST_CASE("allocations: DataParallel steps allocate nothing after the first of each size",
          "[allocations][threads]") {
    Net net({20, 16, 12, 5}, 7);
    const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 13, 3);
    const Eigen::MatrixXf y = one_hot_targets<Eigen::MatrixXf>(5, 13);
    nabla::DataParallel<Net> parallel(2);
    nabla::Adam adam(0.01f);
    const auto step = [&](Eigen::Index columns) {
        parallel.train_step(net, x.leftCols(columns), y.leftCols(columns), 0.05f);
        parallel.backward(net, x.leftCols(columns), y.leftCols(columns));
        adam.step(net, parallel.gradients());
    };
    // The first batch of each size sizes its shards (and Adam its state): that allocates.
    const Counts first = count_allocations([&] {
        step(13);
        step(8);
    });
    CHECK(first.total() > 0);
    const Counts steady = count_allocations([&] {
        for (int k = 0; k < 10; ++k) {
            step(13);  // shards of 7 and 6
            step(8);   // shards of 4 and 4: an epoch's full batch and its tail
        }
    });
    INFO(steady.new_calls << " operator new, " << steady.eigen_mallocs << " Eigen");
    CHECK(steady.total() == 0);
    CHECK(nabla_alloc_test::other_asserts == 0);
}

TEST_CASE("allocations: DataParallel steps split by neurons allocate nothing after the first "
          "of each size",
          "[allocations][threads]") {
    RowNet net({24, 160, 144}, 7);
    const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(24, 40, 4);
    const Eigen::MatrixXf y = random_matrix<Eigen::MatrixXf>(144, 40, 5);
    nabla::DataParallel<RowNet> parallel(2);
    parallel.set_split(nabla::ParallelSplit::neurons);
    const auto step = [&](Eigen::Index columns) {
        parallel.train_step(net, x.leftCols(columns), y.leftCols(columns), 0.01f);
        CHECK(parallel.last_split() == nabla::ParallelSplit::neurons);
    };
    const Counts first = count_allocations([&] {
        step(40);
        step(24);
    });
    CHECK(first.total() > 0);  // a workspace for each batch size
    const Counts steady = count_allocations([&] {
        for (int k = 0; k < 10; ++k) {
            step(40);
            step(24);
        }
    });
    INFO(steady.new_calls << " operator new, " << steady.eigen_mallocs << " Eigen");
    CHECK(steady.total() == 0);
    CHECK(nabla_alloc_test::other_asserts == 0);
}

namespace {

/// Allocations of train() (setup included) on a copy of `net` with 2 threads.
Counts train_allocations(const Net& net, const Eigen::MatrixXf& x, const Eigen::MatrixXf& y,
                         int epochs) {
    Net copy = net;
    nabla::TrainOptions options;
    options.epochs = epochs;
    options.batch_size = 8;  // 50 samples: six batches of 8 and a last one of 2
    options.learning_rate = 0.05;
    options.threads = 2;
    std::vector<double> losses;
    losses.reserve(64);
    const Counts counts = count_allocations([&] { losses = nabla::train(copy, x, y, options); });
    CHECK(losses.size() == static_cast<std::size_t>(epochs));
    return counts;
}

/// fit() with validation and 2 threads (setup included) on a copy of `net`.
Counts fit_allocations(const Net& net, const Eigen::MatrixXf& x, const Eigen::MatrixXf& y,
                       int epochs) {
    Net copy = net;
    nabla::Adam adam(0.01);
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 8;
    options.threads = 2;
    options.progress.mode = nabla::ProgressMode::silent;
    nabla::History history;
    const Counts counts = count_allocations(
        [&] { history = nabla::fit(copy, adam, x, y, x.leftCols(20), y.leftCols(20), options); });
    CHECK(history.size() == static_cast<std::size_t>(epochs));
    return counts;
}

}  // namespace

TEST_CASE("allocations: train() and fit() on 2 threads allocate as much for 20 epochs as for 1",
          "[allocations][threads]") {
    Net net({20, 16, 12, 5}, 7);
    const Eigen::MatrixXf x = random_matrix<Eigen::MatrixXf>(20, 50, 3);
    const Eigen::MatrixXf y = one_hot_targets<Eigen::MatrixXf>(5, 50);
    SECTION("train()") {
        check_allocations_flat_in_epochs([&](int epochs) { return train_allocations(net, x, y, epochs); });
    }
    SECTION("fit()") {
        check_allocations_flat_in_epochs([&](int epochs) { return fit_allocations(net, x, y, epochs); });
    }
    CHECK(nabla_alloc_test::other_asserts == 0);
}
