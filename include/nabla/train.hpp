#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/fit.hpp>
#include <nabla/optim/sgd.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace nabla {

/// The settings of mini-batch gradient descent.
struct TrainOptions {
    int epochs = 1;                 ///< Passes over the training data.
    Eigen::Index batch_size = 32;   ///< Samples per step; an epoch's last batch may be smaller.
    double learning_rate = 0.1;     ///< η in W ← W − η∇W.
    std::uint64_t seed = 0;         ///< Seeds the shuffle: one seed, one order of batches.
    bool shuffle = true;            ///< Shuffle the samples before each epoch.
    /// Threads to train with, ≥ 1: above 1, each batch is split across them (DataParallel,
    /// parallel/data_parallel.hpp), which changes the result by the rounding of the sums only
    /// (and, with Dropout, by the masks, which each shard draws from its own generator).
    int threads = 1;
};

/// Mini-batch gradient descent, as the notes end: each epoch shuffles the samples (x: inputs ×
/// samples, y: outputs × samples) with a generator seeded by options.seed, cuts them into
/// batches of options.batch_size (the last, smaller batch is used, not dropped), and for each
/// batch runs equations (1)–(6) and steps W ← W − η∇W, b ← b − η∇b. Returns the mean loss of
/// each epoch over its samples, taken while the epoch trains. One seed gives the same weights
/// bit for bit. Buffers are sized before the first epoch; the steps allocate nothing.
///
/// It is fit() with a plain Sgd of rate options.learning_rate, without progress output or
/// flushing of denormals, returning the epochs' losses.
///
/// Throws ShapeError for x and y that do not fit the network or each other, ConfigError for
/// options out of range, and NumericalError naming the epoch and batch when a loss or gradient
/// is not finite: the weights are then those from before that step.
template <class Net, class X, class Y>
std::vector<double> train(Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                          const TrainOptions& options) {
    FitOptions fit_options;
    fit_options.epochs = options.epochs;
    fit_options.batch_size = options.batch_size;
    fit_options.seed = options.seed;
    fit_options.shuffle = options.shuffle;
    fit_options.threads = options.threads;
    fit_options.progress.mode = ProgressMode::silent;
    fit_options.flush_denormals = false;
    detail::check_fit_options(fit_options, false, "train");
    if (!(std::isfinite(options.learning_rate) && options.learning_rate > 0)) {
        throw ConfigError(detail::cat("train: learning_rate must be positive and finite, got ",
                                      options.learning_rate));
    }
    net.check_inputs(x);
    net.check_targets(y, x.cols());

    Sgd sgd(options.learning_rate);
    const History history =
        detail::fit_loop(net, sgd, x, y, detail::NoValidation{}, fit_options, "train");
    std::vector<double> losses;
    losses.reserve(history.epochs.size());
    for (const EpochRecord& record : history.epochs) losses.push_back(record.loss);
    return losses;
}

}  // namespace nabla
