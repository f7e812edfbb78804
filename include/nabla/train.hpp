#pragma once

#include <nabla/detail/batches.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/parallel/data_parallel.hpp>

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
    /// parallel/data_parallel.hpp), which changes the result by the rounding of the sums only.
    int threads = 1;
};

namespace detail {

inline void check_train_options(const TrainOptions& options) {
    if (options.epochs < 0) {
        throw ConfigError(cat("train: epochs must be 0 or more, got ", options.epochs));
    }
    if (options.batch_size < 1) {
        throw ConfigError(cat("train: batch_size must be at least 1, got ", options.batch_size));
    }
    if (options.threads < 1)
        throw ConfigError(cat("train: threads must be at least 1, got ", options.threads));
    if (!(std::isfinite(options.learning_rate) && options.learning_rate > 0)) {
        throw ConfigError(
            cat("train: learning_rate must be positive and finite, got ", options.learning_rate));
    }
}

}  // namespace detail

/// Mini-batch gradient descent, as the notes end: each epoch shuffles the samples (x: inputs ×
/// samples, y: outputs × samples) with a generator seeded by options.seed, cuts them into
/// batches of options.batch_size (the last, smaller batch is used, not dropped), and for each
/// batch runs equations (1)–(6) and steps W ← W − η∇W, b ← b − η∇b. Returns the mean loss of
/// each epoch over its samples, taken while the epoch trains. One seed gives the same weights
/// bit for bit. Buffers are sized before the first epoch; the steps allocate nothing.
///
/// Throws ShapeError for x and y that do not fit the network or each other, ConfigError for
/// options out of range, and NumericalError naming the epoch and batch when a loss or gradient
/// is not finite: the weights are then those from before that step.
template <class Net, class X, class Y>
std::vector<double> train(Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                          const TrainOptions& options) {
    detail::check_train_options(options);
    net.check_inputs(x);
    net.check_targets(y, x.cols());

    std::optional<DataParallel<Net>> parallel;
    if (options.threads > 1) parallel.emplace(options.threads);
    detail::MiniBatches<Net> batches(net, x.cols(), options.batch_size, options.seed,
                                     options.shuffle, !parallel);
    std::vector<double> epoch_losses;
    epoch_losses.reserve(static_cast<std::size_t>(options.epochs));
    const auto learning_rate = typename Net::Scalar(options.learning_rate);

    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        batches.next_epoch();
        double loss_sum = 0;
        for (Eigen::Index b = 0; b < batches.batches(); ++b) {
            detail::BatchBuffers<Net>& batch = batches.load(b, x, y);
            const auto where = [&] {
                return detail::cat("train: epoch ", epoch, ", batch ", b + 1, " of ",
                                   batches.batches());
            };
            typename Net::Scalar cost = 0;
            if (parallel) {
                cost = parallel->backward(net, batch.ws.input(), batch.targets);
                Net::check_finite(cost, *parallel, where);
                parallel->update(net, learning_rate);
            } else {
                cost = net.run_backward(batch.ws, batch.targets);
                Net::check_finite(cost, batch.ws, where);
                net.update(batch.ws, learning_rate);
            }
            loss_sum += double(cost) * double(batch.targets.cols());
        }
        epoch_losses.push_back(loss_sum / double(batches.samples()));
    }
    return epoch_losses;
}

}  // namespace nabla
