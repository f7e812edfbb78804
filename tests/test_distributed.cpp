// fit() across processes (FitOptions::communicator, parallel/communicator.hpp), with the ranks
// as threads of this process (local_group.hpp) so that no MPI is needed: P ranks on global
// batch B give the weights of one process on batch B to 1e-12 relative in double (only the
// order of the sums differs), for SGD and Adam, with shards of unequal and of zero size, with
// validation, early stopping and a schedule; the ranks hold the same weights bit for bit after
// every epoch; a rank that throws on its shard stops every rank with its message.

#include "catch.hpp"
#include "distributed_data.hpp"
#include "local_group.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/optim/adam.hpp>
#include <nabla/optim/schedule.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/network.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_distributed {  // named for the unity build of nabla_tests

namespace {

using Net = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
using Vector = Eigen::VectorXd;

using Data = nabla_test::ClassData;
using nabla_test::make_class_data;

Net make_net() { return Net({4, 8, 3}, {nabla::Tanh{}, nabla::Softmax{}}, /*seed=*/11); }

/// True when a and b differ by at most 1e-12 of the larger.
bool close(double a, double b) { return nabla_test::relatively_close(a, b, 1e-12); }

/// The largest difference between the parameters of a and b, relative to b's largest.
double relative_difference(const Vector& a, const Vector& b) {
    return (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
}

struct Run {
    Vector weights;
    nabla::History history;
    std::vector<Vector> after_each_epoch;
};

/// fit() of make_net() with `optimizer` on the data, on one rank of `communicator` (or alone).
template <class Optimizer>
Run train(Optimizer optimizer, const Data& train_data, const Data& validation,
          nabla::FitOptions options, std::shared_ptr<nabla::Communicator> communicator) {
    Run run;
    Net net = make_net();
    // Each rank starts elsewhere: the start must come from rank 0.
    if (communicator) net.initialize(100 + std::uint64_t(communicator->rank()));
    if (!communicator) net.initialize(100);
    options.communicator = std::move(communicator);
    options.callbacks.push_back([&](const nabla::EpochRecord&) {
        run.after_each_epoch.push_back(nabla::copy_parameters(net));
        return nabla::EpochAction::proceed;
    });
    run.history = nabla::fit(net, optimizer, train_data.x, train_data.y, validation.x,
                             validation.y, options);
    run.weights = nabla::copy_parameters(net);
    return run;
}

/// The same training alone and on `ranks` ranks; checks what the file's header promises.
template <class Optimizer>
void check_against_one_process(const Optimizer& optimizer, int ranks, Eigen::Index samples,
                               Eigen::Index batch, bool extras = false) {
    const Data data = make_class_data(samples, 5);
    const Data validation = make_class_data(30, 6);
    nabla::FitOptions options = nabla_test::class_data_options(batch, 6);
    options.schedule = nabla::CosineAnnealing(optimizer.learning_rate(), options.epochs);
    if (extras) {  // the rest of the step: per-layer norms, an L1 penalty, clipping
        options.gradient_norms = true;
        options.l1 = 1e-3;
        options.clip_gradient_norm = 0.5;
    }

    const Run alone = train(optimizer, data, validation, options, nullptr);
    std::vector<Run> runs(std::size_t(ranks), Run{});
    std::mutex mutex;
    nabla_test::run_ranks(ranks, [&](std::shared_ptr<nabla::Communicator> group) {
        const int rank = group->rank();
        Run run = train(optimizer, data, validation, options, group);
        std::lock_guard<std::mutex> lock(mutex);
        runs[std::size_t(rank)] = std::move(run);
    });

    CAPTURE(ranks, samples, batch);
    const Run& first = runs.front();
    CHECK(relative_difference(first.weights, alone.weights) <= 1e-12);
    REQUIRE(first.history.size() == alone.history.size());
    for (std::size_t e = 0; e < alone.history.size(); ++e) {
        CHECK(close(first.history.epochs[e].loss, alone.history.epochs[e].loss));
        CHECK(close(*first.history.epochs[e].val_loss, *alone.history.epochs[e].val_loss));
        CHECK(*first.history.epochs[e].accuracy == *alone.history.epochs[e].accuracy);
        const auto& norms = first.history.epochs[e].gradient_norms;
        const auto& alone_norms = alone.history.epochs[e].gradient_norms;
        REQUIRE(norms.size() == alone_norms.size());
        for (std::size_t l = 0; l < norms.size(); ++l) {
            CAPTURE(e, l);
            CHECK(close(norms[l].delta, alone_norms[l].delta));
            CHECK(close(norms[l].weight_gradient, alone_norms[l].weight_gradient));
        }
    }
    CHECK(first.history.best_epoch == alone.history.best_epoch);
    for (const Run& run : runs) {
        // The same bits on every rank, after every epoch.
        CHECK(run.weights == first.weights);
        REQUIRE(run.after_each_epoch.size() == first.after_each_epoch.size());
        for (std::size_t e = 0; e < run.after_each_epoch.size(); ++e)
            CHECK(run.after_each_epoch[e] == first.after_each_epoch[e]);
        for (std::size_t e = 0; e < run.history.size(); ++e)
            CHECK(run.history.epochs[e].loss == first.history.epochs[e].loss);
    }
}

/// The identity, but an input of magnitude above 1e6 throws: bad data on one rank.
struct Tripwire : nabla::ElementWise<Tripwire> {
    static constexpr const char* name() { return "tripwire"; }

    template <class Z, class A>
    void forward(const Eigen::MatrixBase<Z>& z, Eigen::MatrixBase<A>& a) const {
        if ((z.array().abs() > 1e6).any())
            throw std::runtime_error("tripwire: an input of magnitude above 1e6");
        a.derived() = z;
    }

    template <class Z, class A>
    auto derivative(const Eigen::MatrixBase<Z>& z, const Eigen::MatrixBase<A>&) const {
        using Scalar = typename Z::Scalar;
        return z.array() * Scalar(0) + Scalar(1);
    }
};

}  // namespace

TEST_CASE("distributed fit: P ranks on batch B give one process's weights and the same on every "
          "rank",
          "[distributed]") {
    SECTION("SGD with momentum, 2 ranks, even shards") {
        check_against_one_process(nabla::Sgd(0.1, {0.9}), 2, 100, 10);
    }
    SECTION("plain SGD, 3 ranks: shards of 3, 3 and 4, and a last batch of 1") {
        check_against_one_process(nabla::Sgd(0.2), 3, 101, 10);
    }
    SECTION("plain SGD with gradient norms, an L1 penalty and clipping, 3 ranks") {
        check_against_one_process(nabla::Sgd(0.2), 3, 101, 10, /*extras=*/true);
    }
    SECTION("Adam, 3 ranks, batches of 2: one rank's shard is always empty") {
        check_against_one_process(nabla::Adam(0.01), 3, 41, 2);
    }
    SECTION("Adam, 2 ranks, one batch of all") {
        check_against_one_process(nabla::Adam(0.01), 2, 37, 64);
    }
}

TEST_CASE("distributed fit: a group of one is one process, bit for bit", "[distributed]") {
    const Data data = make_class_data(50, 7);
    const Data validation = make_class_data(20, 8);
    nabla::FitOptions options;
    options.epochs = 3;
    options.batch_size = 8;
    options.progress.mode = nabla::ProgressMode::silent;
    const Run alone = train(nabla::Sgd(0.1), data, validation, options, nullptr);
    Run together;
    nabla_test::run_ranks(1, [&](std::shared_ptr<nabla::Communicator> group) {
        together = train(nabla::Sgd(0.1), data, validation, options, group);
    });
    CHECK(together.weights == alone.weights);
}

TEST_CASE("distributed fit: a rank that throws on its shard stops every rank with its message",
          "[distributed]") {
    using TripNet = nabla::Network<nabla::HalfSquaredError,
                                   nabla::Dense<double, 2, 4, Tripwire>,
                                   nabla::Dense<double, 4, 1, nabla::Identity>>;
    Eigen::MatrixXd x = nabla_test::random_matrix<Eigen::MatrixXd>(2, 30, 3);
    const Eigen::MatrixXd y = x.row(0);
    x(0, 4) = 1e9;  // batch 1 without shuffling: samples 0-9; rank 1 of 3 holds 3, 4 and 5
    nabla::FitOptions options;
    options.batch_size = 10;
    options.shuffle = false;
    options.progress.mode = nabla::ProgressMode::silent;

    std::vector<std::string> messages(3);
    std::vector<char> rank_error(3, 0);  // not vector<bool>, whose bits share bytes across threads
    std::vector<TripNet> nets(3, TripNet(/*seed=*/4));
    const Vector start = nabla::copy_parameters(nets.front());
    nabla_test::run_ranks(3, [&](std::shared_ptr<nabla::Communicator> group) {
        const std::size_t r = std::size_t(group->rank());
        nabla::FitOptions mine = options;
        mine.communicator = group;
        nabla::Sgd sgd(0.1);
        try {
            nabla::fit(nets[r], sgd, x, y, mine);
        } catch (const nabla::RankError& error) {
            rank_error[r] = 1;
            messages[r] = error.what();
        } catch (const std::exception& error) {
            messages[r] = error.what();
        }
    });
    CHECK(messages[1] == "tripwire: an input of magnitude above 1e6");
    CHECK_FALSE(rank_error[1]);
    for (std::size_t r : {std::size_t(0), std::size_t(2)}) {
        CAPTURE(r);
        CHECK(rank_error[r]);
        CHECK(messages[r] == "nabla: fit: rank 1 of 3 failed on its share of a batch: tripwire: "
                             "an input of magnitude above 1e6");
    }
    for (const TripNet& net : nets) CHECK(nabla::copy_parameters(net) == start);
}

TEST_CASE("distributed fit: local data with each rank holding its own rows trains one network",
          "[distributed]") {
    const Data data = make_class_data(101, 21);
    const Data validation = make_class_data(32, 22);
    const int ranks = 3;
    std::vector<Vector> weights(ranks);
    std::vector<nabla::History> histories(ranks);
    std::vector<double> final_val_loss(ranks);
    nabla_test::run_ranks(ranks, [&](std::shared_ptr<nabla::Communicator> group) {
        const int r = group->rank();
        // Rows [101·r/3, 101·(r+1)/3) of the training data: 33, 34 and 34 samples; the
        // validation rows likewise.
        const nabla::Shard rows = nabla::Shard::of(data.x.cols(), r, ranks);
        const nabla::Shard val_rows = nabla::Shard::of(validation.x.cols(), r, ranks);
        const Eigen::MatrixXd x = data.x.middleCols(rows.begin, rows.size());
        const Eigen::MatrixXd y = data.y.middleCols(rows.begin, rows.size());
        const Eigen::MatrixXd xv = validation.x.middleCols(val_rows.begin, val_rows.size());
        const Eigen::MatrixXd yv = validation.y.middleCols(val_rows.begin, val_rows.size());
        Net net = make_net();
        net.initialize(200 + std::uint64_t(r));
        nabla::Adam adam(0.01);
        nabla::FitOptions options;
        options.epochs = 4;
        options.batch_size = 10;  // 3, 3 and 4 samples of each rank per step
        options.seed = 5;
        options.communicator = group;
        options.local_data = true;
        options.progress.mode = nabla::ProgressMode::silent;
        histories[std::size_t(r)] = nabla::fit(net, adam, x, y, xv, yv, options);
        weights[std::size_t(r)] = nabla::copy_parameters(net);
        final_val_loss[std::size_t(r)] = double(net.loss(validation.x, validation.y));
    });
    for (int r = 1; r < ranks; ++r) {
        CAPTURE(r);
        CHECK(weights[std::size_t(r)] == weights[0]);
        for (std::size_t e = 0; e < histories[0].size(); ++e)
            CHECK(histories[std::size_t(r)].epochs[e].loss == histories[0].epochs[e].loss);
    }
    // The validation loss recorded is over every rank's rows: the whole set's.
    CHECK(close(*histories[0].epochs.back().val_loss, final_val_loss[0]));
    // Training did something: the loss fell.
    CHECK(histories[0].epochs.back().loss < histories[0].epochs.front().loss);
}

TEST_CASE("distributed fit: local data needs a batch of at least one sample per rank",
          "[distributed]") {
    const Data data = make_class_data(20, 1);
    std::vector<std::string> messages(3);  // checked here: Catch2's assertions are not thread-safe
    nabla_test::run_ranks(3, [&](std::shared_ptr<nabla::Communicator> group) {
        Net net = make_net();
        nabla::Sgd sgd(0.1);
        nabla::FitOptions options;
        options.batch_size = 2;
        options.communicator = group;
        options.local_data = true;
        messages[std::size_t(group->rank())] = nabla_test::message_of<nabla::ConfigError>(
            [&] { nabla::fit(net, sgd, data.x, data.y, options); });
    });
    for (const std::string& message : messages)
        CHECK(message.find("batch_size is 2 with local_data on 3 ranks") != std::string::npos);
}

TEST_CASE("distributed fit: ranks with other data or options are refused on every rank",
          "[distributed]") {
    const Data data = make_class_data(40, 2);
    std::vector<std::string> messages(2);
    nabla_test::run_ranks(2, [&](std::shared_ptr<nabla::Communicator> group) {
        const int r = group->rank();
        Net net = make_net();
        nabla::Sgd sgd(0.1);
        nabla::FitOptions options;
        options.communicator = group;
        options.progress.mode = nabla::ProgressMode::silent;
        // Rank 1 was handed 30 samples instead of the 40 the other holds.
        const Eigen::Index samples = r == 0 ? 40 : 30;
        messages[std::size_t(r)] = nabla_test::message_of<nabla::ConfigError>([&] {
            nabla::fit(net, sgd, data.x.leftCols(samples), data.y.leftCols(samples), options);
        });
    });
    for (const std::string& message : messages)
        CHECK(message == "nabla: fit: the ranks disagree on training samples (from 30 to 40); every "
                         "rank calls fit() with the same network, options and, without local_data, "
                         "data");
}

TEST_CASE("distributed fit: threads above 1 with a communicator are refused", "[distributed]") {
    const Data data = make_class_data(20, 1);
    Net net = make_net();
    nabla::Sgd sgd(0.1);
    nabla::FitOptions options;
    options.threads = 2;
    std::string message;
    nabla_test::run_ranks(2, [&](std::shared_ptr<nabla::Communicator> group) {
        if (group->rank() != 0) return;
        nabla::FitOptions mine = options;
        mine.communicator = group;
        message = nabla_test::message_of<nabla::ConfigError>(
            [&] { nabla::fit(net, sgd, data.x, data.y, mine); });
    });
    CHECK(message.find("threads is 2 with a communicator of 2 ranks") != std::string::npos);
}

}  // namespace test_distributed
