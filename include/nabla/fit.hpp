#pragma once

// fit(): the whole training loop — epochs of shuffled mini-batches
// stepped by any optimizer, a learning-rate schedule, validation, early stopping, callbacks, a
// progress line, and a History with the numbers of every epoch, gradient norms per layer
// included.

#include <nabla/denormals.hpp>
#include <nabla/detail/batches.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/history.hpp>
#include <nabla/loss.hpp>
#include <nabla/metrics.hpp>
#include <nabla/parallel/data_parallel.hpp>
#include <nabla/progress.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla {

/// What an epoch-end callback asks of fit().
enum class EpochAction {
    proceed,  ///< Go on to the next epoch.
    stop,     ///< End training after this epoch (History::stop_reason becomes callback).
};

/// Stop when the validation loss no longer improves. An
/// epoch improves when its validation loss is below best − min_delta, best being the loss of
/// the last epoch that improved (the first epoch with a finite loss always does).
struct EarlyStopping {
    /// Training stops once this many epochs in a row have not improved; 0 acts as 1 (the first
    /// epoch that does not improve stops training).
    int patience = 3;
    /// The least decrease of the validation loss that counts as an improvement, ≥ 0.
    double min_delta = 0;
    /// Give the network back the weights of the best epoch when training ends: stopped early,
    /// stopped by a callback or after every epoch (not when an exception ends it). fit() then
    /// keeps a copy of the network: made once before the first epoch (one more set of weights
    /// in memory), overwritten in place at each improvement, so it allocates nothing per epoch.
    bool restore_best_weights = true;
};

/// The settings of fit(); the defaults are one epoch of shuffled batches of 32 with the
/// optimizer's own learning rate, progress on std::cerr.
///
///     nabla::FitOptions options;
///     options.epochs = 50;
///     options.batch_size = 64;
///     options.schedule = nabla::CosineAnnealing(0.1, 50);      // any double(int epoch)
///     options.early_stopping = nabla::EarlyStopping{5, 1e-4};  // patience, min_delta
///     options.callbacks.push_back([&](const nabla::EpochRecord& r) {
///         return r.loss < 1e-3 ? nabla::EpochAction::stop : nabla::EpochAction::proceed;
///     });
///     nabla::History history = nabla::fit(net, adam, x, y, x_val, y_val, options);
struct FitOptions {
    int epochs = 1;                ///< Passes over the training data, ≥ 0.
    Eigen::Index batch_size = 32;  ///< Samples per step, ≥ 1; an epoch's last batch may be smaller.
    std::uint64_t seed = 0;        ///< Seeds the shuffle: one seed, one order of batches.
    bool shuffle = true;           ///< Shuffle the samples before each epoch.
    /// The learning rate of each epoch, given the 0-based epoch index (as the schedules of
    /// optim/schedule.hpp take it), set on the optimizer before the epoch's first batch. Empty:
    /// the optimizer keeps its rate.
    std::function<double(int)> schedule;
    /// Called in order after each epoch with its record (also History::epochs.back()); any that
    /// returns EpochAction::stop ends training after all have been called. To save checkpoints
    /// or look at the weights, capture the network by reference.
    std::vector<std::function<EpochAction(const EpochRecord&)>> callbacks;
    /// Early stopping on the validation loss; needs validation data.
    std::optional<EarlyStopping> early_stopping;
    /// Samples per batch when evaluating the validation data; 0 takes batch_size.
    Eigen::Index validation_batch_size = 0;
    ProgressOptions progress;  ///< Where and how progress is shown (see progress.hpp).
    /// Flush subnormal numbers to zero while training (FlushDenormals, denormals.hpp): they slow
    /// x86 arithmetic down many times and change nothing a network needs. The calling thread's
    /// setting is restored when fit() returns or throws.
    bool flush_denormals = true;
    /// Threads to train with, ≥ 1: above 1, each batch is split across them (DataParallel,
    /// parallel/data_parallel.hpp). The result differs from one thread's by the rounding of the
    /// sums only, and is the same bit for bit from run to run for one thread count.
    int threads = 1;
};

namespace detail {

/// True for the losses of classifiers, whose epochs also record an accuracy.
template <class Loss>
constexpr bool is_classification_loss =
    std::is_same_v<Loss, CrossEntropy> || std::is_same_v<Loss, BinaryCrossEntropy>;

/// The hits in a batch: samples of the right class for CrossEntropy (argmax), output entries
/// on the right side of 0.5 for BinaryCrossEntropy (each output its own yes/no question).
template <class Loss, class P, class T>
Eigen::Index count_hits(const Eigen::MatrixBase<P>& outputs, const Eigen::MatrixBase<T>& targets) {
    if constexpr (std::is_same_v<Loss, BinaryCrossEntropy>)
        return count_correct_entries(outputs, targets);
    else
        return count_correct_classes(outputs, targets);
}

/// The judgements per sample that count_hits() makes.
template <class Loss>
Eigen::Index hits_per_sample(Eigen::Index outputs) {
    return std::is_same_v<Loss, BinaryCrossEntropy> ? outputs : 1;
}

/// No validation data: fit() without x_val and y_val.
struct NoValidation {};

/// The validation data given to fit().
template <class XV, class YV>
struct ValidationData {
    const Eigen::MatrixBase<XV>& x;
    const Eigen::MatrixBase<YV>& y;
};

inline void check_fit_options(const FitOptions& options, bool validating) {
    if (options.epochs < 0)
        throw ConfigError(cat("fit: epochs must be 0 or more, got ", options.epochs));
    if (options.batch_size < 1)
        throw ConfigError(cat("fit: batch_size must be at least 1, got ", options.batch_size));
    if (options.threads < 1)
        throw ConfigError(cat("fit: threads must be at least 1, got ", options.threads));
    if (options.validation_batch_size < 0) {
        throw ConfigError(cat("fit: validation_batch_size must be at least 1, or 0 for "
                              "batch_size, got ",
                              options.validation_batch_size));
    }
    for (std::size_t i = 0; i < options.callbacks.size(); ++i) {
        if (!options.callbacks[i])
            throw ConfigError(cat("fit: callbacks[", i, "] is empty (holds no function)"));
    }
    if (options.early_stopping) {
        const EarlyStopping& early = *options.early_stopping;
        if (early.patience < 0) {
            throw ConfigError(
                cat("fit: early_stopping.patience must be 0 or more, got ", early.patience));
        }
        if (!(std::isfinite(early.min_delta) && early.min_delta >= 0)) {
            throw ConfigError(cat("fit: early_stopping.min_delta must be finite and 0 or more, "
                                  "got ",
                                  early.min_delta));
        }
        if (!validating) {
            throw ConfigError("fit: early_stopping watches the validation loss, but no "
                              "validation data was given (pass x_val and y_val)");
        }
    }
}

/// Throws ShapeError, naming the matrices as the caller calls them and giving both shapes,
/// unless x (inputs × samples) and y (outputs × samples) fit the network and each other.
template <class Net, class X, class Y>
void check_fit_data(const Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                    const char* x_name, const char* y_name) {
    if (x.cols() == 0) {
        throw ShapeError(cat("fit: ", x_name, " is ", shape(x.rows(), x.cols()),
                             " (inputs x samples): there is no sample"));
    }
    if (x.rows() != net.inputs()) {
        throw ShapeError(cat("fit: ", x_name, " is ", shape(x.rows(), x.cols()),
                             " (inputs x samples) but the network takes ",
                             plural(net.inputs(), "input")));
    }
    if (y.rows() != net.outputs()) {
        throw ShapeError(cat("fit: ", y_name, " is ", shape(y.rows(), y.cols()),
                             " (outputs x samples) but the network has ",
                             plural(net.outputs(), "output")));
    }
    if (y.cols() != x.cols()) {
        throw ShapeError(cat("fit: ", x_name, " is ", shape(x.rows(), x.cols()), " but ", y_name,
                             " is ", shape(y.rows(), y.cols()), ": they need one column per "
                             "sample each"));
    }
    // Compile-time row counts meet the network's in these checks' static_asserts.
    net.check_inputs(x);
    net.check_targets(y, x.cols());
}

/// Sets the optimizer's learning rate for epoch `epoch` (from 1) from the schedule.
template <class Optimizer>
void apply_schedule(Optimizer& optimizer, const std::function<double(int)>& schedule, int epoch) {
    const double rate = schedule(epoch - 1);
    if (!(std::isfinite(rate) && rate >= 0)) {
        throw ConfigError(cat("fit: the schedule gave the learning rate ", rate, " for epoch ",
                              epoch, " (schedule(", epoch - 1, ")); it must be finite and 0 or "
                              "more"));
    }
    optimizer.set_learning_rate(rate);
}

/// Adds ‖δˡ‖/√n and ‖∂C/∂Wˡ‖ of each layer's batch to `sums` (see LayerGradientNorms): δ from
/// the batch's workspaces, which each_part(f) hands to f one by one (one, or a DataParallel's
/// shards), ∂C/∂W from `gradients`. Taken in double, so that a float network's large gradients
/// do not overflow the norm.
template <class Net, class Workspace, class EachPart>
void add_gradient_norms(const Net& net, const Workspace& gradients, EachPart&& each_part,
                        std::vector<LayerGradientNorms>& sums) {
    net.for_each_layer([&](const auto&, auto i) {
        double squares = 0;
        Eigen::Index samples = 0;
        each_part([&](const Workspace& ws, const auto&) {
            const auto& delta = ws.layer(i).delta;
            squares += delta.template cast<double>().squaredNorm();
            samples += delta.cols();
        });
        LayerGradientNorms& sum = sums[static_cast<std::size_t>(i)];
        sum.delta += std::sqrt(squares / double(samples));
        sum.weight_gradient += gradients.layer(i).dW.template cast<double>().norm();
    });
}

inline double seconds_between(std::chrono::steady_clock::time_point from,
                              std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

template <class Net, class Optimizer, class X, class Y, class Validation>
History fit_loop(Net& net, Optimizer& optimizer, const Eigen::MatrixBase<X>& x,
                 const Eigen::MatrixBase<Y>& y, const Validation& validation,
                 const FitOptions& options) {
    using Loss = typename Net::Loss;
    using Clock = std::chrono::steady_clock;
    constexpr bool validating = !std::is_same_v<Validation, NoValidation>;
    constexpr bool classifying = is_classification_loss<Loss>;

    check_fit_options(options, validating);
    std::optional<FlushDenormals> flush;
    if (options.flush_denormals) flush.emplace();
    check_fit_data(net, x, y, "x", "y");
    if constexpr (validating) check_fit_data(net, validation.x, validation.y, "x_val", "y_val");

    // Everything an epoch writes to is sized here, so that the epochs allocate nothing.
    const auto epochs = static_cast<std::size_t>(options.epochs);
    const std::size_t layers = net.layer_count();
    History history;
    history.epochs.reserve(epochs);
    const auto norms = std::make_shared<std::vector<LayerGradientNorms>>();
    norms->reserve(epochs * layers);
    std::vector<LayerGradientNorms> sums(layers);
    std::optional<DataParallel<Net>> parallel;
    if (options.threads > 1) parallel.emplace(options.threads);
    MiniBatches<Net> batches(net, x.cols(), options.batch_size, options.seed, options.shuffle,
                             !parallel);
    std::optional<EvaluationBatches<Net>> evaluation;
    if constexpr (validating) {
        const Eigen::Index size = options.validation_batch_size > 0
                                      ? options.validation_batch_size
                                      : options.batch_size;
        evaluation.emplace(net, validation.x.cols(), size);
    }
    const bool early_stopping = options.early_stopping.has_value();
    std::optional<Net> best_net;
    if (early_stopping && options.early_stopping->restore_best_weights) best_net.emplace(net);
    double best_loss = std::numeric_limits<double>::infinity();
    int epochs_without_improvement = 0;
    Progress progress(options.progress, options.epochs, batches.batches(), batches.samples());
    const double samples = double(batches.samples());
    const double hits_per_epoch = samples * double(hits_per_sample<Loss>(net.outputs()));

    for (int epoch = 1; epoch <= options.epochs; ++epoch) {
        if (options.schedule) apply_schedule(optimizer, options.schedule, epoch);
        EpochRecord record;
        record.epoch = epoch;
        record.learning_rate = optimizer.learning_rate();
        const Clock::time_point start = Clock::now();
        progress.start_epoch(epoch);

        batches.next_epoch();
        std::fill(sums.begin(), sums.end(), LayerGradientNorms{});
        double loss_sum = 0;
        Eigen::Index done = 0;
        Eigen::Index hits = 0;
        for (Eigen::Index b = 0; b < batches.batches(); ++b) {
            BatchBuffers<Net>& batch = batches.load(b, x, y);
            const auto where = [&] {
                return cat("fit: epoch ", epoch, ", batch ", b + 1, " of ", batches.batches());
            };
            const auto cost = parallel
                                  ? parallel->backward(net, batch.ws.input(), batch.targets)
                                  : net.run_backward(batch.ws, batch.targets);
            if (parallel)
                Net::check_finite(cost, *parallel, where);
            else
                Net::check_finite(cost, batch.ws, where);
            // The batch's passes: one workspace, or one per shard with its columns of targets.
            const auto each_part = [&](auto&& f) {
                if (!parallel) return f(batch.ws, batch.targets);
                for (Eigen::Index t = 0; t < parallel->shards(); ++t) {
                    const auto& shard = parallel->shard(t);
                    f(shard, batch.targets.middleCols(parallel->shard_begin(t),
                                                      shard.batch_size()));
                }
            };
            const auto& gradients = parallel ? parallel->gradients() : batch.ws;
            add_gradient_norms(net, gradients, each_part, sums);
            if constexpr (classifying) {
                each_part([&](const auto& ws, const auto& targets) {
                    hits += count_hits<Loss>(ws.output(), targets);
                });
            }
            optimizer.step(net, gradients);
            const Eigen::Index size = batch.targets.cols();
            loss_sum += double(cost) * double(size);  // a batch weighs by its size
            done += size;
            progress.batch_done(b + 1, done, loss_sum / double(done));
        }
        const Clock::time_point trained = Clock::now();

        record.loss = loss_sum / samples;
        if constexpr (classifying) record.accuracy = double(hits) / hits_per_epoch;
        const double batch_count = double(batches.batches());
        for (const LayerGradientNorms& sum : sums)
            norms->push_back({sum.delta / batch_count, sum.weight_gradient / batch_count});
        record.gradient_norms =
            GradientNorms(norms, (static_cast<std::size_t>(epoch) - 1) * layers, layers);

        if constexpr (validating) {
            Eigen::Index val_hits = 0;
            record.val_loss = evaluation->mean_loss(
                net, validation.x, validation.y, [&](const auto& outputs, const auto& targets) {
                    if constexpr (classifying) val_hits += count_hits<Loss>(outputs, targets);
                });
            if constexpr (classifying) {
                record.val_accuracy =
                    double(val_hits) / (double(validation.x.cols()) *
                                        double(hits_per_sample<Loss>(net.outputs())));
            }
        }
        const Clock::time_point end = Clock::now();
        record.seconds = seconds_between(start, end);
        const double training_seconds = seconds_between(start, trained);
        record.samples_per_second = training_seconds > 0 ? samples / training_seconds : 0;

        history.epochs.push_back(std::move(record));
        const EpochRecord& recorded = history.epochs.back();

        bool stop = false;
        if constexpr (validating) {
            if (early_stopping) {
                const EarlyStopping& rule = *options.early_stopping;
                const double val_loss = *recorded.val_loss;
                if (val_loss < best_loss - rule.min_delta) {  // false for a NaN loss
                    best_loss = val_loss;
                    history.best_epoch = epoch;
                    epochs_without_improvement = 0;
                    if (best_net) *best_net = net;  // in place: the shapes are the same
                } else if (++epochs_without_improvement >= rule.patience) {
                    stop = true;
                    history.stop_reason = StopReason::early_stopping;
                }
            }
        }
        progress.end_epoch(recorded);
        bool stopped_by_callback = false;
        for (const auto& callback : options.callbacks)
            if (callback(recorded) == EpochAction::stop) stopped_by_callback = true;
        if (stopped_by_callback && !stop) history.stop_reason = StopReason::callback;
        if (stop || stopped_by_callback) break;
    }
    if (best_net && history.best_epoch > 0) net = *best_net;
    return history;
}

}  // namespace detail

/// Trains `net` on x (inputs × samples) against y (outputs × samples) with `optimizer` (Sgd,
/// Adam, ... or any type with step(net, ws), learning_rate() and set_learning_rate(double)),
/// and returns the History of the epochs. Each epoch: the schedule, if any, sets the learning
/// rate; the samples are shuffled (a generator seeded once by options.seed, so one seed gives
/// one result bit for bit); each batch of options.batch_size (the last, smaller one included)
/// runs equations (1)–(6) and one optimizer step; then the EpochRecord is written (loss as
/// trained, accuracy for CrossEntropy and BinaryCrossEntropy, learning rate, time, rate, and
/// per layer the gradient norms of LayerGradientNorms), the progress line is shown and the
/// callbacks are called. With Sgd, no schedule and no validation this is train() step for
/// step. Buffers and the History are sized before the first epoch: the epochs allocate
/// nothing (with silent or no progress output).
///
///     nabla::Sgd sgd(0.1);
///     nabla::FitOptions options;
///     options.epochs = 20;
///     nabla::History history = nabla::fit(net, sgd, x, y, options);
///     double last = history.epochs.back().loss;
///
/// Throws ConfigError naming the option and value for options out of range, ShapeError giving
/// both shapes when x and y do not fit the network or each other, and NumericalError naming
/// the epoch and batch when a loss or gradient is not finite; the weights are then those from
/// before that step.
template <class Net, class Optimizer, class X, class Y>
History fit(Net& net, Optimizer& optimizer, const Eigen::MatrixBase<X>& x,
            const Eigen::MatrixBase<Y>& y, const FitOptions& options = {}) {
    return detail::fit_loop(net, optimizer, x, y, detail::NoValidation{}, options);
}

/// fit() with validation data x_val (inputs × samples) and y_val (outputs × samples),
/// evaluated after each epoch in batches of options.validation_batch_size through reused
/// workspaces: the records get val_loss (the mean over the validation samples) and, for a
/// classification loss, val_accuracy. Needed for options.early_stopping, which watches
/// val_loss and, with restore_best_weights, leaves `net` with the weights of
/// History::best_epoch.
template <class Net, class Optimizer, class X, class Y, class XV, class YV>
History fit(Net& net, Optimizer& optimizer, const Eigen::MatrixBase<X>& x,
            const Eigen::MatrixBase<Y>& y, const Eigen::MatrixBase<XV>& x_val,
            const Eigen::MatrixBase<YV>& y_val, const FitOptions& options = {}) {
    return detail::fit_loop(net, optimizer, x, y, detail::ValidationData<XV, YV>{x_val, y_val},
                       options);
}

}  // namespace nabla
