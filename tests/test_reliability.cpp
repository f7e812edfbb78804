// What a hostile user can do to training, and what nabla must do then: a learning rate or a step
// that is not finite in the network's scalar type is refused before any weight changes, for
// every optimizer; a worker thread that cannot start is an error, not an abort; a run that
// diverges gets back the weights the divergence guard kept; a long run reserves nothing up
// front; a spread too small for float scales by 1.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#if defined(__linux__)
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace test_reliability {  // named for the unity build of nabla_tests

namespace {

using nabla_test::contains;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::same_parameters;
constexpr int dynamic = Eigen::Dynamic;

template <class Scalar>
using Linear = nabla::Dense<Scalar, dynamic, dynamic, nabla::Identity>;
// 30 → 6 folds its step into W for a batch of 4 (a GEMM-sized ∂C/∂W), 6 → 2 stores it. Linear
// layers, so that large inputs give large gradients (a saturated tanh would give none).
template <class Scalar>
using MixedNet = nabla::Network<nabla::SquaredError, Linear<Scalar>, Linear<Scalar>>;
using FloatNet = MixedNet<float>;
using FloatMatrix = Eigen::MatrixXf;

nabla::FitOptions quiet_options(int epochs = 1) {
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 4;
    options.progress.mode = nabla::ProgressMode::silent;
    return options;
}

// One batch of 4 samples whose inputs are ×1e4: with η = 1e36, η·∂C/∂W overflows float.
struct Blowup {
    FloatMatrix x = random_matrix<FloatMatrix>(30, 4, 11) * 1e4f;
    FloatMatrix y = random_matrix<FloatMatrix>(2, 4, 12);
};

bool all_parameters_finite(const FloatNet& net) {
    return nabla::copy_parameters(net).allFinite();
}

// An optimizer of the user's own, with no max_change(): fit() guards it by copies.
struct PlainUserOptimizer {
    double rate = 0.1;
    int steps = 0;  // state that a refused step must not advance
    template <class Net, class Workspace>
    void step(Net& net, const Workspace& ws) {
        ++steps;
        using Scalar = typename Net::Scalar;
        nabla::for_each_parameter(
            net, ws,
            [&](auto& p, const auto& g, const nabla::ParameterInfo&) { p -= Scalar(rate) * g; });
    }
    double learning_rate() const { return rate; }
    void set_learning_rate(double r) { rate = r; }
};

}  // namespace

TEST_CASE("a learning rate that is not finite in float, or rounds to 0, is refused up front",
          "[reliability][optim]") {
    const Blowup data;
    FloatNet net({30, 6, 2}, 1);
    const FloatNet before = net;
    for (double rate : {1e39, 1e-50}) {
        CAPTURE(rate);
        nabla::Sgd sgd(rate);  // finite and ≥ 0 as a double: accepted by Sgd itself
        const std::string message = message_of<nabla::ConfigError>(
            [&] { nabla::fit(net, sgd, data.x, data.y, quiet_options()); });
        CHECK(contains(message, "fit: the learning rate"));
        CHECK(contains(message, rate > 1 ? "is not finite in float" : "rounds to 0 in float"));
        CHECK(same_parameters(net, before));
        // The optimizer's own step refuses it too, for a caller that steps by hand.
        FloatNet::Workspace<> ws;
        net.backward(data.x, data.y, ws);
        CHECK(contains(message_of<nabla::ConfigError>([&] { sgd.step(net, ws); }),
                       "Sgd::step: the learning rate"));
        CHECK(same_parameters(net, before));
    }
    // A schedule's rate is checked in the scalar type as well, before the epoch it sets.
    nabla::Adam adam(1e-3);
    nabla::FitOptions options = quiet_options(3);
    options.schedule = [](int epoch) { return epoch < 1 ? 1e-3 : 1e40; };
    const std::string message =
        message_of<nabla::ConfigError>([&] { nabla::fit(net, adam, data.x, data.y, options); });
    CHECK(contains(message,
                   "fit: the schedule's rate for epoch 2: the learning rate 1e+40 is not "
                   "finite in float"));
    // In double both are fine.
    MixedNet<double> doubles({30, 6, 2}, 1);
    nabla::Sgd tiny(1e-50);
    CHECK_NOTHROW(nabla::fit(doubles, tiny, data.x.cast<double>().eval(),
                             data.y.cast<double>().eval(), quiet_options()));
}

TEST_CASE(
    "a step that overflows float is refused before any weight changes, for every "
    "optimizer",
    "[reliability][optim]") {
    const Blowup data;
    nabla::FitOptions options = quiet_options();
    options.divergence_guard = nabla::DivergenceGuard{0};  // off: the step's own refusal is seen

    const auto refuses = [&](auto& optimizer, const nabla::FitOptions& how, const char* words) {
        FloatNet net({30, 6, 2}, 1);
        const FloatNet before = net;
        const std::string message = message_of<nabla::NumericalError>(
            [&] { nabla::fit(net, optimizer, data.x, data.y, how); });
        CHECK(contains(message, "fit: epoch 1, batch 1 of 1"));
        CHECK(contains(message, words));
        CHECK(contains(message, "left as they were before this step"));
        CHECK(same_parameters(net, before));
        CHECK(all_parameters_finite(net));
    };
    SECTION("plain Sgd, the folded step of train_step") {
        nabla::Sgd sgd(1e36);
        refuses(sgd, options, "would make a parameter not finite in float");
    }
    SECTION("plain Sgd with gradient norms: the optimizer's own step") {
        nabla::Sgd sgd(1e36);
        nabla::FitOptions with_norms = options;
        with_norms.gradient_norms = true;
        refuses(sgd, with_norms, "the optimizer's step would make a parameter not finite in float");
    }
    SECTION("Sgd with Nesterov momentum and weight decay") {
        nabla::Sgd sgd(1e36, {0.9, true, 1e-4});
        refuses(sgd, options, "not finite in float");
    }
    SECTION("Adam and AdamW, whose rate is finite in float but whose step is not") {
        nabla::Adam adam(3e38);  // η/(1 − β₁) overflows
        refuses(adam, options, "the optimizer's step would make a parameter not finite in float");
        nabla::AdamW adamw(3e38);
        refuses(adamw, options, "not finite in float");
        CHECK(adam.step_count() == 0);  // the optimizer was put back as well
    }
    SECTION("RMSProp, centered with momentum") {
        nabla::RmsProp rmsprop(3e38, {0.99, 1e-8, 0.5, true, 0});
        refuses(rmsprop, options, "not finite in float");
        CHECK(rmsprop.state_finite());
    }
    SECTION("an optimizer of the user's own, which tells no bound") {
        PlainUserOptimizer mine;
        mine.rate = 1e36;
        refuses(mine, options, "the optimizer's step would make a parameter not finite in float");
        CHECK(mine.steps == 0);  // copied and put back with the weights
    }
    SECTION("train(), which is fit() with a plain Sgd") {
        FloatNet net({30, 6, 2}, 1);
        const FloatNet before = net;
        nabla::TrainOptions how;
        how.batch_size = 4;
        how.learning_rate = 1e36;
        const std::string message =
            message_of<nabla::NumericalError>([&] { nabla::train(net, data.x, data.y, how); });
        CHECK(contains(message, "train: epoch 1, batch 1 of 1"));
        CHECK(same_parameters(net, before));
    }
}

TEST_CASE("train_step, update and DataParallel refuse a step that overflows, weights untouched",
          "[reliability][optim]") {
    const Blowup data;
    FloatNet net({30, 6, 2}, 1);
    const FloatNet before = net;
    FloatNet::Workspace<> ws;
    CHECK(contains(
        message_of<nabla::NumericalError>([&] { net.train_step(data.x, data.y, ws, 1e36f); }),
        "train_step: the step p <- p - eta*dC/dp would make a parameter not finite in "
        "float"));
    CHECK(same_parameters(net, before));
    net.backward(data.x, data.y, ws);
    CHECK(contains(message_of<nabla::NumericalError>([&] { net.update(ws, 1e36f); }),
                   "update: the step p <- p - eta*dC/dp"));
    CHECK(same_parameters(net, before));
    nabla::DataParallel<FloatNet> parallel(2);
    CHECK(contains(
        message_of<nabla::NumericalError>([&] { parallel.train_step(net, data.x, data.y, 1e36f); }),
        "not finite in float"));
    CHECK(same_parameters(net, before));
    // With a rate that fits, the same calls step as before.
    CHECK_NOTHROW(net.train_step(data.x, data.y, ws, 1e-12f));
    CHECK_FALSE(same_parameters(net, before));
}

TEST_CASE("a weight near the largest float: the step is decided entry by entry",
          "[reliability][optim]") {
    using Net = nabla::Network<nabla::SquaredError, Linear<float>>;
    Net net({1, 1}, 1);
    // W past a quarter of the largest float, so that the bound cannot clear the step and the
    // exact check decides it.
    net.layer<0>().set_weights(Eigen::MatrixXf::Constant(1, 1, 3e38f));
    net.layer<0>().set_bias(Eigen::VectorXf::Zero(1));
    Net::Workspace<> ws;
    FloatMatrix x(1, 1);
    x << 1;
    FloatMatrix y(1, 1);
    y << 3e38f + 1e37f;  // a = Wx + b = 3e38, so ∂C/∂W = 2(a − y)x = −2e37
    const Net before = net;
    net.backward(x, y, ws);
    REQUIRE(std::isfinite(ws.layer<0>().dW(0, 0)));
    // W − η∇W = 3e38 + 2e37·η: finite for η = 1, not for η = 10.
    CHECK_THROWS_AS(net.update(ws, 10.0f), nabla::NumericalError);
    CHECK(same_parameters(net, before));
    net.update(ws, 1.0f);
    CHECK(std::isfinite(net.layer<0>().weights()(0, 0)));
    CHECK(net.layer<0>().weights()(0, 0) > 3e38f);
}

TEST_CASE("max_change bounds every step of the built-in optimizers", "[reliability][optim]") {
    using Net = MixedNet<double>;
    const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(30, 8, 21);
    const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 8, 22);
    const auto check = [&](auto optimizer) {
        Net net({30, 6, 2}, 5);
        Net::Workspace<> ws;
        for (int step = 0; step < 40; ++step) {
            net.backward(x, y, ws);
            const double g = ws.gradient_vector().cwiseAbs().maxCoeff();
            const double p = nabla::copy_parameters(net).cwiseAbs().maxCoeff();
            const double bound = optimizer.max_change(net, g, p);
            const Eigen::VectorXd old = nabla::copy_parameters(net);
            optimizer.step(net, ws);
            const double change = (nabla::copy_parameters(net) - old).cwiseAbs().maxCoeff();
            CAPTURE(step, g, p, bound, change);
            // The bound is on the exact step; p − Δ rounds to within ε(|p| + |Δ|) of it.
            const double eps = std::numeric_limits<double>::epsilon();
            REQUIRE(std::isfinite(change));
            REQUIRE(change <= bound + eps * (p + bound));
            REQUIRE(change > 0);
        }
    };
    check(nabla::Sgd(0.01));
    check(nabla::Sgd(0.01, {0.9, false, 1e-3}));
    check(nabla::Sgd(0.01, {0.9, true, 0}));
    check(nabla::Adam(0.01));
    check(nabla::Adam(0.01, {0.9, 0.999, 1e-8, 1e-2}));
    check(nabla::AdamW(0.01));
    check(nabla::RmsProp(0.01));
    check(nabla::RmsProp(0.01, {0.9, 1e-8, 0.8, true, 1e-3}));
    // A step taken without asking first: the bound is measured from the state again.
    nabla::Sgd momentum(0.01, {0.9});
    Net net({30, 6, 2}, 5);
    Net::Workspace<> ws;
    for (int step = 0; step < 5; ++step) {
        net.backward(x, y, ws);
        momentum.step(net, ws);
    }
    check(momentum);
}

#if defined(__linux__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
TEST_CASE("a worker thread that cannot start is a ResourceError, not an abort",
          "[reliability][threads]") {
    // In a child process: every new thread asks for a 256 MiB stack, and the address space is
    // capped about 600 MiB above what the child uses, so the first two workers start and the
    // third cannot. Exit codes: 0 the expected error, 1 another exception, 2 none, 3 setup.
    // (Not under ASan or TSan, which reserve terabytes of address space for themselves.)
    const auto run = [](auto&& start) {
        std::fflush(nullptr);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            pthread_attr_t attributes;
            if (pthread_attr_init(&attributes) != 0 ||
                pthread_attr_setstacksize(&attributes, std::size_t(256) << 20) != 0 ||
                pthread_setattr_default_np(&attributes) != 0) {
                ::_exit(3);
            }
            long pages = 0;
            if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
                if (std::fscanf(statm, "%ld", &pages) != 1)
                    pages = 0;
                std::fclose(statm);
            }
            if (pages <= 0)
                ::_exit(3);
            const rlim_t used = rlim_t(pages) * rlim_t(::sysconf(_SC_PAGESIZE));
            const rlimit limit{used + (rlim_t(600) << 20), used + (rlim_t(600) << 20)};
            if (::setrlimit(RLIMIT_AS, &limit) != 0)
                ::_exit(3);
            try {
                start();
            } catch (const nabla::ResourceError& error) {
                const std::string text = error.what();
                ::_exit(contains(text, "cannot start worker thread 3 of 7") &&
                                contains(text, "the 2 workers already started were stopped")
                            ? 0
                            : 1);
            } catch (...) {
                ::_exit(1);
            }
            ::_exit(2);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        CHECK(WIFEXITED(status));  // not killed by std::terminate's abort
        CHECK(WEXITSTATUS(status) == 0);
    };
    run([] { nabla::ThreadPool pool(8); });
    run([] { nabla::DataParallel<FloatNet> parallel(8); });
    run([] {
        const Blowup data;
        FloatNet net({30, 6, 2}, 1);
        nabla::Sgd sgd(0.01);
        nabla::FitOptions options = quiet_options();
        options.threads = 8;
        nabla::fit(net, sgd, data.x, data.y, options);
    });
}
#endif

TEST_CASE("the divergence guard puts back the best weights when training blows up",
          "[reliability][fit]") {
    const FloatMatrix x = random_matrix<FloatMatrix>(30, 64, 31);
    const FloatMatrix y = random_matrix<FloatMatrix>(2, 64, 32) * 0.5f;
    const FloatMatrix x_val = random_matrix<FloatMatrix>(30, 32, 33);
    const FloatMatrix y_val = random_matrix<FloatMatrix>(2, 32, 34) * 0.5f;
    // Three epochs at a sane rate, then one that makes the weights explode.
    const auto schedule = [](int epoch) { return epoch < 3 ? 0.01 : 1e30; };

    // What each epoch's weights and validation loss were, to compare with what is put back.
    struct Seen {
        std::vector<Eigen::VectorXf> weights;
        std::vector<double> val_loss;
    };
    const auto watch = [](FloatNet& net, Seen& seen) {
        return [&net, &seen](const nabla::EpochRecord& record) {
            seen.weights.push_back(nabla::copy_parameters(net));
            seen.val_loss.push_back(record.val_loss.value_or(record.loss));
            return nabla::EpochAction::proceed;
        };
    };
    const auto best_of = [](const Seen& seen) {
        std::size_t best = 0;
        for (std::size_t e = 1; e < seen.val_loss.size(); ++e)
            if (seen.val_loss[e] < seen.val_loss[best])
                best = e;
        return best;
    };

    SECTION("on by default with restore_best_weights: rethrown, saying what it put back") {
        FloatNet net({30, 6, 2}, 3);
        Seen seen;
        nabla::Sgd sgd(0.01);
        nabla::FitOptions options = quiet_options(10);
        options.batch_size = 16;
        options.schedule = schedule;
        options.early_stopping = nabla::EarlyStopping{20, 0, true};
        options.callbacks.push_back(watch(net, seen));
        const std::string message = message_of<nabla::NumericalError>(
            [&] { nabla::fit(net, sgd, x, y, x_val, y_val, options); });
        CHECK(contains(message, "fit: epoch 4"));
        CHECK(contains(message, "the divergence guard then put back the weights after epoch"));
        REQUIRE(seen.weights.size() == 3);
        const std::size_t best = best_of(seen);
        CHECK(contains(message, "epoch " + std::to_string(best + 1) + " (validation loss"));
        CHECK(nabla::copy_parameters(net) == seen.weights[best]);
    }
    SECTION("rethrow off: fit() returns, with StopReason::diverged") {
        FloatNet net({30, 6, 2}, 3);
        Seen seen;
        nabla::Adam adam(0.01);
        nabla::FitOptions options = quiet_options(10);
        options.batch_size = 16;
        options.schedule = [](int epoch) { return epoch < 3 ? 0.01 : 3e38; };
        options.divergence_guard = nabla::DivergenceGuard{1, false};
        options.callbacks.push_back(watch(net, seen));
        const nabla::History history = nabla::fit(net, adam, x, y, options);  // no validation
        CHECK(history.stop_reason == nabla::StopReason::diverged);
        REQUIRE(seen.weights.size() == 3);
        CHECK(history.size() == 3);
        const std::size_t best = best_of(seen);  // by training loss here
        CHECK(history.restored_epoch == int(best) + 1);
        CHECK(contains(history.error, "(training loss"));
        CHECK(nabla::copy_parameters(net) == seen.weights[best]);
        CHECK(all_parameters_finite(net));
    }
    SECTION("every 2 epochs, and before the first epoch when none was kept yet") {
        FloatNet net({30, 6, 2}, 3);
        const FloatNet start = net;
        nabla::Sgd sgd(0.01);
        nabla::FitOptions options = quiet_options(10);
        options.batch_size = 16;
        options.schedule = [](int) { return 1e30; };  // diverges in epoch 1
        options.divergence_guard = nabla::DivergenceGuard{2, false};
        const nabla::History history = nabla::fit(net, sgd, x, y, options);
        CHECK(history.stop_reason == nabla::StopReason::diverged);
        CHECK(history.restored_epoch == 0);
        CHECK(contains(history.error, "the weights from before the first epoch"));
        CHECK(same_parameters(net, start));
    }
    SECTION("off unless asked for, or restore_best_weights is on") {
        FloatNet net({30, 6, 2}, 3);
        nabla::Sgd sgd(0.01);
        nabla::FitOptions options = quiet_options(10);
        options.batch_size = 16;
        options.schedule = schedule;
        const std::string message =
            message_of<nabla::NumericalError>([&] { nabla::fit(net, sgd, x, y, options); });
        CHECK(contains(message, "left as they were before this step"));
        CHECK_FALSE(contains(message, "divergence guard"));
        options.divergence_guard = nabla::DivergenceGuard{-1};
        CHECK(contains(message_of<nabla::ConfigError>([&] { nabla::fit(net, sgd, x, y, options); }),
                       "divergence_guard.every must be 0 (off) or more, got -1"));
    }
}

TEST_CASE("a run of INT_MAX epochs reserves nothing up front, and a callback ends it",
          "[reliability][fit]") {
    const FloatMatrix x = random_matrix<FloatMatrix>(30, 8, 41);
    const FloatMatrix y = random_matrix<FloatMatrix>(2, 8, 42);
    FloatNet net({30, 6, 2}, 1);
    nabla::Sgd sgd(0.01);
    nabla::FitOptions options = quiet_options(INT_MAX);
    options.gradient_norms = true;
    int calls = 0;
    options.callbacks.push_back([&](const nabla::EpochRecord&) {
        return ++calls == 2 ? nabla::EpochAction::stop : nabla::EpochAction::proceed;
    });
    const nabla::History history = nabla::fit(net, sgd, x, y, options);
    CHECK(history.size() == 2);
    CHECK(history.stop_reason == nabla::StopReason::callback);
    CHECK(history.epochs[1].gradient_norms.size() == 2);
}

TEST_CASE("a spread below the smallest normal float scales by 1", "[reliability][data]") {
    Eigen::MatrixXf x(2, 4);
    x << 0, 2e-39f, 0, 2e-39f,  // spread 1e-39: a float denormal
        1, 2, 3, 4;
    nabla::Standardizer<float> scaler;
    scaler.fit(x);
    CHECK(scaler.scale()(0) == 1.0f);
    CHECK(scaler.scale()(1) > 1.0f);
    const Eigen::MatrixXf scaled = scaler.transform(x);
    CHECK(scaled.allFinite());
    // In double the same spread is normal and is used.
    nabla::Standardizer<double> wide;
    wide.fit(x.cast<double>());
    CHECK(wide.scale()(0) > 0);
    CHECK(wide.scale()(0) < 1e-38);
}

namespace {

using DropNet =
    nabla::Network<nabla::SquaredError, nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                   nabla::Dropout<double>, nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;

DropNet make_drop_net(std::uint64_t seed) {
    DropNet net(std::make_tuple(nabla::Dense<double, dynamic, dynamic, nabla::Tanh>(5, 8),
                                nabla::Dropout<double>(8, 0.25),
                                nabla::Dense<double, dynamic, dynamic, nabla::Identity>(8, 2)));
    net.initialize(seed);
    return net;
}

struct RunData {
    Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(5, 37, 51);
    Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 37, 52);
    Eigen::MatrixXd x_val = random_matrix<Eigen::MatrixXd>(5, 11, 53);
    Eigen::MatrixXd y_val = random_matrix<Eigen::MatrixXd>(2, 11, 54);
};

}  // namespace

TEST_CASE("a run resumed from its checkpoint continues bit for bit", "[reliability][checkpoint]") {
    const RunData data;
    const int threads = GENERATE(1, 2);
    CAPTURE(threads);
    const auto options_for = [&](const std::string& directory, int epochs) {
        nabla::FitOptions options = quiet_options(epochs);
        options.batch_size = 8;  // 37 samples: a smaller last batch, two workspaces
        options.seed = 7;
        options.threads = threads;
        options.schedule = nabla::CosineAnnealing(0.01, 6);
        options.early_stopping = nabla::EarlyStopping{10, 0, true};
        options.checkpoints = nabla::Checkpoints{directory, 2, 2};
        return options;
    };
    nabla_test::TempDir whole_dir;
    nabla_test::TempDir parts_dir;

    // The whole run: six epochs.
    DropNet whole = make_drop_net(3);
    nabla::Adam whole_adam(0.01);
    const nabla::History whole_history = nabla::fit(whole, whole_adam, data.x, data.y, data.x_val,
                                                    data.y_val, options_for(whole_dir.path(), 6));
    REQUIRE(whole_history.size() == 6);
    // Every 2 epochs, the newest 2 kept.
    const auto names = [](const std::string& directory) {
        std::vector<std::string> found;
        for (const auto& entry : std::filesystem::directory_iterator(directory))
            found.push_back(entry.path().filename().string());
        std::sort(found.begin(), found.end());
        return found;
    };
    CHECK(names(whole_dir.path()) ==
          std::vector<std::string>{"checkpoint-000004.nbc", "checkpoint-000006.nbc"});

    // The same run stopped after epoch 4, then resumed by a fresh process's objects: another
    // network, another optimizer, both overwritten from the checkpoint.
    DropNet first = make_drop_net(3);
    nabla::Adam first_adam(0.01);
    nabla::fit(first, first_adam, data.x, data.y, data.x_val, data.y_val,
               options_for(parts_dir.path(), 4));
    const std::string latest = nabla::latest_checkpoint(parts_dir.path());
    CHECK(std::filesystem::path(latest).filename() == "checkpoint-000004.nbc");
    DropNet resumed = make_drop_net(99);
    nabla::Adam resumed_adam(0.5);
    nabla::FitOptions options = options_for(parts_dir.path(), 6);
    options.resume_from = latest;
    const nabla::History history =
        nabla::fit(resumed, resumed_adam, data.x, data.y, data.x_val, data.y_val, options);

    CHECK(same_parameters(resumed, whole));
    CHECK(resumed_adam.step_count() == whole_adam.step_count());
    REQUIRE(history.size() == whole_history.size());
    for (std::size_t e = 0; e < history.size(); ++e) {
        CAPTURE(e);
        CHECK(history.epochs[e].loss == whole_history.epochs[e].loss);
        CHECK(history.epochs[e].val_loss == whole_history.epochs[e].val_loss);
        CHECK(history.epochs[e].learning_rate == whole_history.epochs[e].learning_rate);
    }
    CHECK(history.best_epoch == whole_history.best_epoch);
}

TEST_CASE("a damaged or foreign checkpoint is refused", "[reliability][checkpoint]") {
    const RunData data;
    nabla_test::TempDir dir;
    DropNet net = make_drop_net(3);
    nabla::Sgd sgd(0.01, {0.9});
    nabla::FitOptions options = quiet_options(2);
    options.checkpoints = nabla::Checkpoints{dir.path(), 1, 5};
    nabla::fit(net, sgd, data.x, data.y, options);
    const std::string path = nabla::latest_checkpoint(dir.path());
    REQUIRE_FALSE(path.empty());
    const nabla_test::Bytes bytes = nabla_test::read_bytes(path);

    const auto resume_from = [&](const std::string& file, nabla::FitOptions how) {
        DropNet other = make_drop_net(4);
        nabla::Sgd other_sgd(0.01, {0.9});
        how.checkpoints.reset();
        how.epochs = 3;
        how.resume_from = file;
        nabla::fit(other, other_sgd, data.x, data.y, how);
    };
    nabla_test::Bytes flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x01;
    nabla_test::write_bytes(dir.file("flipped.nbc"), flipped);
    CHECK(contains(
        message_of<nabla::FileError>([&] { resume_from(dir.file("flipped.nbc"), options); }),
        "the checksum does not match"));
    nabla_test::write_bytes(dir.file("cut.nbc"), nabla_test::Bytes(bytes.begin(), bytes.end() - 9));
    CHECK(contains(message_of<nabla::FileError>([&] { resume_from(dir.file("cut.nbc"), options); }),
                   "cut short"));
    CHECK(
        contains(message_of<nabla::FileError>([&] { resume_from(dir.file("none.nbc"), options); }),
                 "no such file"));
    nabla::FitOptions other_batch = options;
    other_batch.batch_size = 8;
    CHECK(contains(message_of<nabla::ConfigError>([&] { resume_from(path, other_batch); }),
                   "was made with batch_size 4, this run has 8"));
    // Another network shape: the model inside the checkpoint does not fit.
    MixedNet<double> wrong({5, 3, 2}, 1);
    nabla::Sgd wrong_sgd(0.01);
    nabla::FitOptions how = options;
    how.checkpoints.reset();
    how.resume_from = path;
    CHECK_THROWS_AS(nabla::fit(wrong, wrong_sgd, data.x, data.y, how), nabla::FileError);
    // An optimizer that cannot save its state cannot take part.
    PlainUserOptimizer mine;
    CHECK(contains(
        message_of<nabla::ConfigError>([&] { nabla::fit(net, mine, data.x, data.y, options); }),
        "checkpoints need the optimizer's state"));
    options.checkpoints = nabla::Checkpoints{dir.file("missing"), 1, 1};
    CHECK(contains(
        message_of<nabla::ConfigError>([&] { nabla::fit(net, sgd, data.x, data.y, options); }),
        "is not an existing directory"));
}

}  // namespace test_reliability
