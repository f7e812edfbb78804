#pragma once

// fit(): the whole training loop — epochs of shuffled mini-batches stepped by any optimizer, a
// learning-rate schedule, validation, early stopping, callbacks, a progress line, and a History
// with the numbers of every epoch (per-layer gradient norms too, when asked for).

#include <nabla/denormals.hpp>
#include <nabla/detail/batches.hpp>
#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>
#include <nabla/history.hpp>
#include <nabla/io/atomic_file.hpp>
#include <nabla/io/checkpoint.hpp>
#include <nabla/io/detail/state_bytes.hpp>
#include <nabla/io/model_file.hpp>
#include <nabla/loss.hpp>
#include <nabla/metrics.hpp>
#include <nabla/optim/clipping.hpp>
#include <nabla/optim/l1.hpp>
#include <nabla/optim/step_guard.hpp>
#include <nabla/parallel/communicator.hpp>
#include <nabla/parallel/data_parallel.hpp>
#include <nabla/parameters.hpp>
#include <nabla/progress.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
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
    /// stopped by a callback or after every epoch; when a NumericalError ends it, the divergence
    /// guard (on by default with this, FitOptions::divergence_guard) puts them back too. fit() then
    /// keeps a copy of the network: made once before the first epoch (one more set of weights
    /// in memory), overwritten in place at each improvement, so it allocates nothing per epoch.
    bool restore_best_weights = true;
};

/// Keeps a copy of the best weights in memory while training, so that a run that diverges (a
/// loss or gradient that is not finite: NumericalError) ends with them, rather than with those
/// of the step before the failure, which by then are often already wrecked. "Best" is the lowest
/// validation loss when fit() has validation data, else the lowest training loss, among the
/// epochs it looks at. One more set of weights in memory, overwritten in place.
struct DivergenceGuard {
    /// Look at every `every`-th epoch: 1 each epoch, 0 never (the guard is off).
    int every = 1;
    /// After putting the weights back: rethrow the NumericalError (its message then says which
    /// weights were put back), or return the History with StopReason::diverged.
    bool rethrow = true;
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
    /// x86 arithmetic down many times and change nothing a network needs. With threads > 1 the
    /// other threads flush as the calling thread does (ThreadPool). The calling thread's
    /// setting is restored when fit() returns or throws.
    bool flush_denormals = true;
    /// Threads to train with, ≥ 1: above 1, each batch is split across them (DataParallel,
    /// parallel/data_parallel.hpp). The result differs from one thread's by the rounding of the
    /// sums only (and, with Dropout, by the masks, which each shard draws from its own
    /// generator), and is the same bit for bit from run to run for one thread count.
    int threads = 1;
    /// Record each layer's gradient norms in EpochRecord::gradient_norms (see
    /// LayerGradientNorms); also on when progress.gradient_norms shows them. Off by default:
    /// ‖∂C/∂W‖ needs ∂C/∂W stored, and with a plain Sgd fit() otherwise adds each step straight
    /// into W without storing it (Network::train_step), which is faster.
    bool gradient_norms = false;
    /// λ ≥ 0 of an L1 penalty λ‖W‖₁ on the weights (optim/l1.hpp): its gradient is added before
    /// each step, and the recorded loss includes it. 0: none.
    double l1 = 0;
    /// Clip each batch's gradient to this global norm before the step (optim/clipping.hpp);
    /// 0: no clipping.
    double clip_gradient_norm = 0;
    /// The divergence guard (see DivergenceGuard). Unset, it is on with its defaults when
    /// early_stopping.restore_best_weights is on, sharing early stopping's copy of the best
    /// weights; to turn it off there, set restore_best_weights to false or give
    /// DivergenceGuard{0} (every = 0: off).
    std::optional<DivergenceGuard> divergence_guard;
    /// Write a checkpoint of the run every few epochs (see Checkpoints, io/checkpoint.hpp).
    /// Needs an optimizer with save_state() and load_state() (the built-in ones have them).
    std::optional<Checkpoints> checkpoints;
    /// A checkpoint to continue from (latest_checkpoint() finds the newest): the network, the
    /// optimizer, the generators, the epoch and the History are those it holds, and training
    /// goes on with the epoch after it, as if it had never stopped. The data, batch_size, seed,
    /// shuffle, threads and network shape must be those of the run that wrote it. Empty: start
    /// afresh.
    std::string resume_from;
    /// Train together with other processes (nabla::mpi::world() for MPI; docs/distributed.md).
    /// Every rank calls fit() with the same network shape, data, options and seed; the weights
    /// of rank 0 are given to all at the start; each rank runs the passes of its Shard of every
    /// batch, their gradients and losses are summed into the mean over the whole batch (one
    /// sum per step), and every rank takes the same step, so that the ranks' weights stay the
    /// same bit for bit and equal one process's up to the order of the sums. Only rank 0 shows
    /// progress and writes checkpoints. threads must be 1. Empty, or a group of one: no other
    /// process takes part.
    std::shared_ptr<Communicator> communicator;
    /// With a communicator: x and y (and x_val, y_val) hold this rank's own samples only, not
    /// the whole set (read with a row range: nabla::rows_of). Each rank shuffles its own
    /// samples and every step sums one batch of each rank, of its share of batch_size (rank r of
    /// R takes Shard::of(batch_size, r, R).size() samples, so batch_size must be at least R); an
    /// epoch runs until every rank has used all its samples, and a rank that has run out takes
    /// part with none. The losses and accuracies recorded are over all ranks' samples. Every
    /// sample is still used once per epoch, but which samples share a batch is not as one
    /// process would have it. No checkpoints.
    bool local_data = false;
};

namespace detail {

/// The hits in a batch, as `Loss` scores its outputs (LossTraits::accuracy): samples of the
/// right class for argmax, output entries on the right side of 0.5 for threshold.
template <class Loss, class P, class T>
Eigen::Index count_hits(const Eigen::MatrixBase<P>& outputs, const Eigen::MatrixBase<T>& targets) {
    if constexpr (LossTraits<Loss>::accuracy() == Accuracy::threshold)
        return count_correct_entries(outputs, targets);
    else
        return count_correct_classes(outputs, targets);
}

/// The judgements per sample that count_hits() makes.
template <class Loss>
Eigen::Index hits_per_sample(Eigen::Index outputs) {
    return LossTraits<Loss>::accuracy() == Accuracy::threshold ? outputs : 1;
}

/// No validation data: fit() without x_val and y_val.
struct NoValidation {};

/// The validation data given to fit().
template <class XV, class YV>
struct ValidationData {
    const Eigen::MatrixBase<XV>& x;
    const Eigen::MatrixBase<YV>& y;
};

/// Throws ConfigError, its message starting with `caller` ("fit" or "train"), for an option
/// out of range.
inline void check_fit_options(const FitOptions& options, bool validating, const char* caller) {
    if (options.epochs < 0)
        throw ConfigError(cat(caller, ": epochs must be 0 or more, got ", options.epochs));
    if (options.batch_size < 1)
        throw ConfigError(cat(caller, ": batch_size must be at least 1, got ", options.batch_size));
    if (options.threads < 1)
        throw ConfigError(cat(caller, ": threads must be at least 1, got ", options.threads));
    const int ranks = options.communicator ? options.communicator->size() : 1;
    if (ranks > 1 && options.threads != 1) {
        throw ConfigError(cat(caller, ": threads is ", options.threads, " with a communicator of ",
                              ranks, " ranks; across processes each rank trains with one thread "
                              "(start one rank per core)"));
    }
    if (ranks > 1 && options.local_data) {
        if (options.batch_size < ranks) {
            throw ConfigError(cat(caller, ": batch_size is ", options.batch_size, " with local_data "
                                  "on ", ranks, " ranks; each rank's share of a batch needs at "
                                  "least one sample"));
        }
        if (options.checkpoints || !options.resume_from.empty()) {
            throw ConfigError(cat(caller, ": checkpoints are not written with local_data: each "
                                  "rank's shuffle of its own samples is not in them"));
        }
    }
    check_non_negative_option(caller, "l1", options.l1);
    check_non_negative_option(caller, "clip_gradient_norm", options.clip_gradient_norm);
    if (options.validation_batch_size < 0) {
        throw ConfigError(cat(caller, ": validation_batch_size must be at least 1, or 0 for "
                              "batch_size, got ",
                              options.validation_batch_size));
    }
    if (options.divergence_guard && options.divergence_guard->every < 0) {
        throw ConfigError(cat(caller, ": divergence_guard.every must be 0 (off) or more, got ",
                              options.divergence_guard->every));
    }
    if (options.checkpoints) {
        const Checkpoints& settings = *options.checkpoints;
        if (settings.every < 1 || settings.keep < 1) {
            throw ConfigError(cat(caller, ": checkpoints.every and checkpoints.keep must be at "
                                  "least 1, got ", settings.every, " and ", settings.keep));
        }
        std::error_code ec;
        if (!std::filesystem::is_directory(settings.directory, ec)) {
            throw ConfigError(cat(caller, ": checkpoints.directory \"", settings.directory,
                                  "\" is not an existing directory"));
        }
    }
    for (std::size_t i = 0; i < options.callbacks.size(); ++i) {
        if (!options.callbacks[i])
            throw ConfigError(cat(caller, ": callbacks[", i, "] is empty (holds no function)"));
    }
    if (options.early_stopping) {
        const EarlyStopping& early = *options.early_stopping;
        if (early.patience < 0) {
            throw ConfigError(cat(caller, ": early_stopping.patience must be 0 or more, got ",
                                  early.patience));
        }
        if (!(std::isfinite(early.min_delta) && early.min_delta >= 0)) {
            throw ConfigError(cat(caller, ": early_stopping.min_delta must be finite and 0 or "
                                  "more, got ",
                                  early.min_delta));
        }
        if (!validating) {
            throw ConfigError(cat(caller, ": early_stopping watches the validation loss, but no "
                                  "validation data was given (pass x_val and y_val)"));
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

template <class Optimizer, class = void>
struct TellsPlainStep : std::false_type {};
template <class Optimizer>
struct TellsPlainStep<Optimizer,
                      std::void_t<decltype(std::declval<const Optimizer&>().plain_step())>>
    : std::true_type {};

/// True when a step of `optimizer` is plain gradient descent, p ← p − η∇p with η > 0, which
/// fit() may add straight into the parameters during the backward pass (train_step). An
/// optimizer tells so by plain_step(); one that does not is never folded.
template <class Optimizer>
bool plain_step(const Optimizer& optimizer) {
    if constexpr (TellsPlainStep<Optimizer>::value)
        return optimizer.plain_step() && optimizer.learning_rate() > 0;
    else
        return false;
}

template <class Optimizer, class = void>
struct SavesState : std::false_type {};
template <class Optimizer>
struct SavesState<Optimizer,
                  std::void_t<decltype(std::declval<const Optimizer&>().save_state(
                                  std::declval<StateWriter&>())),
                              decltype(std::declval<Optimizer&>().load_state(
                                  std::declval<StateReader&>()))>> : std::true_type {};

inline void write_optional(StateWriter& out, const std::optional<double>& value) {
    out.u64(value.has_value());
    out.f64(value.value_or(0));
}

inline std::optional<double> read_optional(StateReader& in) {
    const bool has = in.u64() != 0;
    const double value = in.f64();
    return has ? std::optional<double>(value) : std::nullopt;
}

inline double seconds_between(std::chrono::steady_clock::time_point from,
                              std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
}

/// The training loop of fit() and train(), one named step per part of an epoch. Everything an
/// epoch writes to is sized in the constructor, so that the epochs allocate nothing.
template <class Net, class Optimizer, class X, class Y, class Validation>
class FitLoop {
    using Loss = typename Net::Loss;
    using Scalar = typename Net::Scalar;
    using Clock = std::chrono::steady_clock;
    static constexpr bool validating = !std::is_same_v<Validation, NoValidation>;
    static constexpr bool classifying = LossTraits<Loss>::accuracy() != Accuracy::none;

public:
    /// Sets up the run; `caller` ("fit" or "train") starts the messages of NumericalError.
    FitLoop(Net& net, Optimizer& optimizer, const Eigen::MatrixBase<X>& x,
            const Eigen::MatrixBase<Y>& y, const Validation& validation,
            const FitOptions& options, const char* caller)
        : m_net(net),
          m_optimizer(optimizer),
          m_x(x),
          m_y(y),
          m_validation(validation),
          m_options(options),
          m_caller(caller),
          m_norms_on(options.gradient_norms || options.progress.gradient_norms),
          m_restoring(options.early_stopping && options.early_stopping->restore_best_weights),
          m_layers(std::size_t(net.layer_count())),
          m_comm(options.communicator && options.communicator->size() > 1 ? options.communicator
                                                                             : nullptr),
          m_local(m_comm && options.local_data),
          // Whole data: every rank walks the same batches and takes its shard of each. Local
          // data: each rank walks its own samples in batches of its share.
          m_batches(net, x.cols(),
                    m_local ? Shard::of(options.batch_size, m_comm->rank(), m_comm->size()).size()
                            : options.batch_size,
                    m_local ? options.seed ^ (std::uint64_t(m_comm->rank()) * 0xBF58476D1CE4E5B9ULL)
                            : options.seed,
                    options.shuffle, options.threads == 1,
                    m_comm && !m_local ? m_comm->rank() : 0, m_comm && !m_local ? m_comm->size() : 1),
          m_steps(m_local ? -m_comm->min(-int(m_batches.batches())) : m_batches.batches()),
          m_total_samples(m_local ? total_over_ranks(double(x.cols())) : double(x.cols())),
          m_progress(root() ? options.progress : ProgressOptions{ProgressMode::silent},
                     options.epochs, m_steps, Eigen::Index(m_total_samples)) {
        check_learning_rate_in<Scalar>(caller, optimizer.learning_rate());
        if (m_comm) check_ranks_agree();
        // Room for the first epochs; a longer run grows the records as it goes, so that a huge
        // epoch count that a callback ends early costs nothing up front.
        const auto epochs = std::min<std::size_t>(std::size_t(options.epochs), reserved_epochs);
        m_history.epochs.reserve(epochs);
        m_norms = std::make_shared<std::vector<LayerGradientNorms>>();
        if (m_norms_on) m_norms->reserve(epochs * m_layers);
        m_sums.resize(m_layers);
        if (options.threads > 1) m_parallel.emplace(options.threads, options.seed);
        // Each rank draws its own dropout masks; rank 0 those of a single process.
        const std::uint64_t rank = m_comm ? std::uint64_t(m_comm->rank()) : 0;
        m_batches.seed_workspaces(options.seed ^ (rank * 0x9E3779B97F4A7C15ULL));
        if (m_comm) {
            m_share.resize(net.parameter_count() + 4);
            m_delta_squares.resize(2 * m_layers);
        }
        if constexpr (validating) {
            const Eigen::Index size = options.validation_batch_size > 0
                                          ? options.validation_batch_size
                                          : options.batch_size;
            m_evaluation.emplace(net, validation.x.cols(), size);
        }
        if (options.divergence_guard)
            m_guard_every = options.divergence_guard->every;
        else if (m_restoring)
            m_guard_every = 1;
        if (m_restoring || m_guard_every > 0) m_best_net.emplace(net);  // epoch 0: the start
        if constexpr (!SavesState<Optimizer>::value) {
            if (options.checkpoints || !options.resume_from.empty()) {
                throw ConfigError(cat(caller, ": checkpoints need the optimizer's state: give "
                                      "the optimizer save_state(StateWriter&) and "
                                      "load_state(StateReader&), as the built-in ones have"));
            }
        }
    }

    /// Runs the epochs and returns their History.
    History run() {
        int first = 1;
        if (!m_options.resume_from.empty()) first = resume(m_options.resume_from) + 1;
        if (m_comm) start_together();
        for (int epoch = first; epoch <= m_options.epochs; ++epoch) {
            EpochRecord record = start_epoch(epoch);
            const Clock::time_point start = Clock::now();
            try {
                train_epoch(epoch, record);
            } catch (const NumericalError& error) {
                if (m_guard_every == 0) throw;
                return diverged(error);
            }
            const Clock::time_point trained = Clock::now();
            if constexpr (validating) validate(record);
            record.seconds = seconds_between(start, Clock::now());
            const double training_seconds = seconds_between(start, trained);
            record.samples_per_second =
                training_seconds > 0 ? m_total_samples / training_seconds : 0;
            m_history.epochs.push_back(std::move(record));
            const bool stop = end_epoch(m_history.epochs.back());
            if (m_options.checkpoints && epoch % m_options.checkpoints->every == 0 && root())
                checkpoint::write(*m_options.checkpoints, epoch, state_bytes(epoch));
            if (stop) break;
        }
        if (m_restoring && m_history.best_epoch > 0) m_net = *m_best_net;
        return std::move(m_history);
    }

    /// How many epochs' records are reserved before the first; more grow as they come.
    static constexpr std::size_t reserved_epochs = 1024;

private:
    // True for the process that prints and saves: rank 0, or the only one.
    bool root() const { return !m_comm || m_comm->rank() == 0; }

    // The sum of every rank's `value`.
    double total_over_ranks(double value) const {
        m_comm->sum(&value, 1);
        return value;
    }

    // Throws ConfigError on every rank unless all ranks run the same kind of loop: the same
    // network size, options and (with whole data) sample count. A rank that differed would
    // take other steps than the others and wait for them forever.
    void check_ranks_agree() const {
        const auto clamp = [](auto value) {
            return int(std::min<long long>(static_cast<long long>(value), 0x7FFFFFFF));
        };
        const std::pair<const char*, int> fields[] = {
            {"training samples", m_local ? 0 : clamp(m_x.cols())},
            {"parameters", clamp(m_net.parameter_count())},
            {"batch_size", clamp(m_options.batch_size)},
            {"epochs", m_options.epochs},
            {"seed", int(m_options.seed & 0x7FFFFFFF)},
            {"shuffle", int(m_options.shuffle)},
            {"local_data", int(m_options.local_data)},
            {"validation", int(validating)},
        };
        for (const auto& [what, value] : fields) {
            const int lowest = m_comm->min(value);
            const int highest = -m_comm->min(-value);
            if (lowest != highest) {
                throw ConfigError(cat(m_caller, ": the ranks disagree on ", what, " (from ",
                                      lowest, " to ", highest, "); every rank calls fit() with "
                                      "the same network, options and, without local_data, data"));
            }
        }
    }

    // Every rank starts from rank 0's weights (and keeps them as the divergence guard's and
    // early stopping's epoch 0).
    void start_together() {
        auto values = copy_parameters(m_net);
        m_comm->broadcast(values.data(), std::size_t(values.size()), 0);
        set_parameters(m_net, values);
        if (m_best_net) *m_best_net = m_net;
    }

    // The whole state of the run after `epoch`, for a checkpoint: the network as a model file,
    // then the optimizer, the generators and the loop's own state, in the order resume() reads.
    std::vector<unsigned char> state_bytes(int epoch) const {
        StateWriter out;
        std::ostringstream model;
        save(m_net, model);
        out.text(model.str());
        out.f64(m_optimizer.learning_rate());
        if constexpr (SavesState<Optimizer>::value) m_optimizer.save_state(out);
        out.i64(epoch);
        out.i64(m_batches.samples());
        out.i64(m_options.batch_size);
        out.u64(m_options.seed);
        out.u64(m_options.shuffle);
        out.i64(m_options.threads);
        m_batches.write_state(out);
        if (m_parallel) m_parallel->write_state(out);
        out.u64(m_history.epochs.size());
        for (const EpochRecord& record : m_history.epochs) {
            out.i64(record.epoch);
            out.f64(record.loss);
            write_optional(out, record.accuracy);
            write_optional(out, record.val_loss);
            write_optional(out, record.val_accuracy);
            out.f64(record.learning_rate);
            out.f64(record.seconds);
            out.f64(record.samples_per_second);
            out.u64(record.gradient_norms.size());
            for (const LayerGradientNorms& norms : record.gradient_norms) {
                out.f64(norms.delta);
                out.f64(norms.weight_gradient);
            }
        }
        out.i64(m_history.best_epoch);
        out.f64(m_best_loss);
        out.i64(m_epochs_without_improvement);
        out.i64(m_kept_epoch);
        out.f64(m_kept_loss);
        out.u64(m_best_net.has_value());
        if (m_best_net) out.array(copy_parameters(*m_best_net));
        return out.bytes();
    }

    // Restores the state that state_bytes() wrote to the checkpoint at `path`; returns its epoch.
    int resume(const std::string& path) {
        const std::vector<unsigned char> payload = checkpoint::read(path);
        StateReader in(payload.data(), payload.size(), path, 20);
        const std::string model = in.text("the network");
        load_from_bytes(m_net, model.data(), model.size(), path);
        const double rate = in.f64();
        if (!(std::isfinite(rate) && rate >= 0)) in.fail("the learning rate is not valid");
        m_optimizer.set_learning_rate(rate);
        if constexpr (SavesState<Optimizer>::value) m_optimizer.load_state(in);
        const std::int64_t epoch = in.i64();
        const auto same = [&](std::int64_t stored, std::int64_t here, const char* what) {
            if (stored != here) {
                throw ConfigError(cat(m_caller, ": ", path, " was made with ", what, " ", stored,
                                      ", this run has ", here, ": resuming needs the same"));
            }
        };
        same(in.i64(), m_batches.samples(), "training samples");
        same(in.i64(), m_options.batch_size, "batch_size");
        same(std::int64_t(in.u64()), std::int64_t(m_options.seed), "seed");
        same(std::int64_t(in.u64()), m_options.shuffle, "shuffle");
        same(in.i64(), m_options.threads, "threads");
        m_batches.read_state(in);
        if (m_parallel) m_parallel->read_state(m_net, in);
        const std::uint64_t records = in.u64();
        if (records != std::uint64_t(epoch)) in.fail("the History does not match the epoch");
        m_history.epochs.clear();
        m_norms->clear();
        for (std::uint64_t r = 0; r < records; ++r) {
            EpochRecord record;
            record.epoch = int(in.i64());
            record.loss = in.f64();
            record.accuracy = read_optional(in);
            record.val_loss = read_optional(in);
            record.val_accuracy = read_optional(in);
            record.learning_rate = in.f64();
            record.seconds = in.f64();
            record.samples_per_second = in.f64();
            const std::uint64_t layers = in.u64();
            if (layers != 0 && layers != m_layers) in.fail("the gradient norms do not match");
            const std::size_t offset = m_norms->size();
            for (std::uint64_t l = 0; l < layers; ++l) {
                const double delta = in.f64();
                m_norms->push_back({delta, in.f64()});
            }
            if (layers != 0) record.gradient_norms = GradientNorms(m_norms, offset, m_layers);
            m_history.epochs.push_back(std::move(record));
        }
        m_history.best_epoch = int(in.i64());
        m_best_loss = in.f64();
        m_epochs_without_improvement = int(in.i64());
        m_kept_epoch = int(in.i64());
        m_kept_loss = in.f64();
        if ((in.u64() != 0) != m_best_net.has_value())
            in.fail("the checkpoint keeps best weights where this run does not, or not where it does");
        if (m_best_net) {
            Eigen::Matrix<Scalar, Eigen::Dynamic, 1> best(m_net.parameter_count());
            in.array(best, "the best weights");
            set_parameters(*m_best_net, best);
        }
        if (!in.done()) in.fail("the checkpoint goes on past the state of the run");
        return int(epoch);
    }

    // The divergence guard's answer to a NumericalError: the weights it kept go back into the
    // network; then the error is rethrown, saying so, or training ends with StopReason::diverged.
    History diverged(const NumericalError& error) {
        m_net = *m_best_net;
        // Early stopping's best epoch, when it keeps the weights, else the guard's own.
        const int epoch = m_restoring ? m_history.best_epoch : m_kept_epoch;
        const double loss = m_restoring ? m_best_loss : m_kept_loss;
        const std::string kept =
            epoch == 0 ? std::string("the weights from before the first epoch")
                       : cat("the weights after epoch ", epoch, " (", monitored_name(), " ", loss,
                             ")");
        // what() starts with "nabla: ", which the NumericalError constructor adds again.
        const std::string message =
            cat(std::string(error.what()).substr(7), "; the divergence guard then put back ", kept);
        m_history.stop_reason = StopReason::diverged;
        m_history.restored_epoch = epoch;
        m_history.error = "nabla: " + message;
        if (!m_options.divergence_guard || m_options.divergence_guard->rethrow)
            throw NumericalError(message);
        return std::move(m_history);
    }

    static constexpr const char* monitored_name() {
        return validating ? "validation loss" : "training loss";
    }

    // The schedule's learning rate for the epoch, and the record it starts.
    EpochRecord start_epoch(int epoch) {
        if (m_options.schedule) {
            const double rate = m_options.schedule(epoch - 1);
            if (!(std::isfinite(rate) && rate >= 0)) {
                throw ConfigError(cat(m_caller, ": the schedule gave the learning rate ", rate,
                                      " for epoch ", epoch, " (schedule(", epoch - 1,
                                      ")); it must be finite and 0 or more"));
            }
            if (!learning_rate_fits<Scalar>(rate)) {
                check_learning_rate_in<Scalar>(
                    cat(m_caller, ": the schedule's rate for epoch ", epoch).c_str(), rate);
            }
            m_optimizer.set_learning_rate(rate);
        }
        m_guard.measure(m_net);
        EpochRecord record;
        record.epoch = epoch;
        record.learning_rate = m_optimizer.learning_rate();
        m_progress.start_epoch(epoch);
        return record;
    }

    // Every batch of the epoch, one step each; the loss, accuracy and norms as trained.
    void train_epoch(int epoch, EpochRecord& record) {
        m_batches.next_epoch();
        std::fill(m_sums.begin(), m_sums.end(), LayerGradientNorms{});
        double loss_sum = 0;
        Eigen::Index done = 0;
        Eigen::Index hits = 0;
        for (Eigen::Index b = 0; b < m_steps; ++b) {
            const auto where = [&] {
                return cat(m_caller, ": epoch ", epoch, ", batch ", b + 1, " of ", m_steps);
            };
            Eigen::Index size = 0;
            Scalar cost = 0;
            if (m_comm) {
                // This rank's samples of the step: its shard of the batch (whole data), or its
                // own next batch, none once it has used all its samples (local data).
                const bool loaded = b < m_batches.batches();
                BatchBuffers<Net>& batch = loaded ? m_batches.load(b, m_x, m_y)
                                                  : m_batches.buffers();
                const Eigen::Index own =
                    !loaded    ? 0
                    : m_local ? m_batches.batch_size(b)
                               : m_batches.shard(m_batches.batch_size(b)).size();
                cost = train_shard(batch, own, size, hits, where);
            } else {
                BatchBuffers<Net>& batch = m_batches.load(b, m_x, m_y);
                size = m_batches.batch_size(b);
                cost = train_batch(batch, where);
                if constexpr (classifying) {
                    for_each_part(batch, [&](const auto& ws, const auto& targets) {
                        hits += count_hits<Loss>(ws.output(), targets);
                    });
                }
            }
            loss_sum += double(cost) * double(size);  // a batch weighs by its size
            done += size;
            m_progress.batch_done(b + 1, done, loss_sum / double(done));
        }
        const double samples = m_total_samples;
        record.loss = loss_sum / samples;
        if constexpr (classifying) {
            record.accuracy =
                double(hits) / (samples * double(hits_per_sample<Loss>(m_net.outputs())));
        }
        if (m_norms_on) {
            const double batch_count = double(m_steps);
            for (const LayerGradientNorms& sum : m_sums)
                m_norms->push_back({sum.delta / batch_count, sum.weight_gradient / batch_count});
            record.gradient_norms = GradientNorms(
                m_norms, (static_cast<std::size_t>(epoch) - 1) * m_layers, m_layers);
        }
    }

    // One step on the batch: folded into the backward pass for plain gradient descent, else
    // backward, the finiteness check and the optimizer's step. Returns the batch's cost.
    template <class Where>
    Scalar train_batch(BatchBuffers<Net>& batch, const Where& where) {
        if (plain_step(m_optimizer) && !m_norms_on && m_options.l1 == 0 &&
            m_options.clip_gradient_norm == 0) {
            const Scalar rate = Scalar(m_optimizer.learning_rate());
            if (m_parallel)
                return m_parallel->train_step(m_net, batch.ws.input(), batch.targets, rate, where);
            return m_net.run_train_step(batch.ws, batch.targets, rate, where);
        }
        const Scalar cost = m_parallel
                                ? m_parallel->backward(m_net, batch.ws.input(), batch.targets)
                                : m_net.run_backward(batch.ws, batch.targets);
        return step(batch, m_parallel ? m_parallel->gradients() : batch.ws, cost, where);
    }

    // One step across processes: the passes of this rank's `shard` samples (in `batch`), then
    // one sum over the ranks of each one's gradient, cost and hits, each weighted by its sample
    // count, and of the counts themselves; divided by the total, that is the notes' average over
    // the whole batch. Then the same step on every rank. An exception on any rank's shard ends
    // the step on every rank (fail_together). Returns the batch's cost, sets `samples` to the
    // batch's samples over all ranks and adds its hits.
    template <class Where>
    Scalar train_shard(BatchBuffers<Net>& batch, Eigen::Index shard, Eigen::Index& samples,
                       Eigen::Index& hits, const Where& where) {
        const Eigen::Index count = m_net.parameter_count();
        auto& ws = batch.ws;
        std::exception_ptr failure;
        try {
            m_share.setZero();
            if (shard > 0) {
                const Scalar cost = m_net.run_backward(ws, batch.targets);
                m_share.head(count) = ws.gradient_vector() * Scalar(shard);
                m_share(count) = cost * Scalar(shard);
                if constexpr (classifying)
                    m_share(count + 1) = Scalar(count_hits<Loss>(ws.output(), batch.targets));
                m_share(count + 2) = Scalar(shard);
            }
        } catch (...) {
            failure = std::current_exception();
            m_share.setZero();
            m_share(count + 3) = 1;
        }
        m_comm->sum(m_share.data(), std::size_t(m_share.size()));
        if (m_share(count + 3) != 0) fail_together(failure);
        const Scalar total = m_share(count + 2);
        ws.gradient_vector() = m_share.head(count) / total;
        ws.set_has_gradients(true);
        m_batch_has_shard = shard > 0;
        hits += Eigen::Index(m_share(count + 1));
        samples = Eigen::Index(total);
        return step(batch, ws, m_share(count) / total, where);
    }

    // After a failed shard: every rank learns the message of the lowest failing rank, which
    // rethrows its own exception while the others throw RankError with it.
    [[noreturn]] void fail_together(const std::exception_ptr& failure) {
        const int rank = m_comm->rank();
        const int first = m_comm->min(failure ? rank : m_comm->size());
        std::string message;
        if (rank == first) {
            try {
                std::rethrow_exception(failure);
            } catch (...) {
                message = atomic::current_exception_text();  // without its "nabla: "
            }
        }
        m_comm->broadcast(message, first);
        if (rank == first) std::rethrow_exception(failure);
        throw RankError(cat(m_caller, ": rank ", first, " of ", m_comm->size(),
                            " failed on its share of a batch: ", message));
    }

    // The step after the gradients of the batch: the L1 penalty, the finiteness check, clipping,
    // the norms and the optimizer's step. Returns the batch's cost, with the penalty.
    template <class Gradients, class Where>
    Scalar step(BatchBuffers<Net>& batch, Gradients& gradients, Scalar cost, const Where& where) {
        if (m_options.l1 > 0) cost += Scalar(add_l1_penalty(m_net, gradients, m_options.l1));
        const Scalar largest = m_guard.check(cost, gradients, where);
        if (m_options.clip_gradient_norm > 0)  // only ever shrinks: `largest` still bounds it
            clip_gradient_norm(gradients, m_options.clip_gradient_norm);
        if (m_norms_on) add_gradient_norms(batch, gradients);
        m_guard.step(m_net, m_optimizer, gradients, largest, where);
        return cost;
    }

    // f(workspace, targets) for each pass of the batch: its workspace, or each shard's.
    template <class F>
    void for_each_part(BatchBuffers<Net>& batch, F&& f) const {
        if (!m_parallel) {
            f(batch.ws, batch.targets);
            return;
        }
        for (Eigen::Index t = 0; t < m_parallel->shards(); ++t) {
            const auto& shard = m_parallel->shard(t);
            f(shard, batch.targets.middleCols(m_parallel->shard_begin(t), shard.batch_size()));
        }
    }

    // Adds ‖δˡ‖/√n and ‖∂C/∂Wˡ‖ of each layer's batch to the sums (see LayerGradientNorms),
    // taken in double so that a float network's large gradients do not overflow the norm. Across
    // processes, each rank's squares and samples are summed first (one more small sum).
    template <class Gradients>
    void add_gradient_norms(BatchBuffers<Net>& batch, const Gradients& gradients) {
        m_net.for_each_layer([&](const auto&, auto i) {
            double squares = 0;
            Eigen::Index samples = 0;
            for_each_part(batch, [&](const auto& ws, const auto&) {
                const auto& delta = error_term(ws.layer(i));
                squares += delta.template cast<double>().squaredNorm();
                samples += delta.cols();
            });
            const std::size_t l = static_cast<std::size_t>(i);
            if (m_comm) {
                m_delta_squares[2 * l] = m_batch_has_shard ? squares : 0;
                m_delta_squares[2 * l + 1] = m_batch_has_shard ? double(samples) : 0;
            } else {
                m_sums[l].delta += std::sqrt(squares / double(samples));
            }
        });
        if (m_comm) {
            m_comm->sum(m_delta_squares.data(), m_delta_squares.size());
            for (std::size_t l = 0; l < m_layers; ++l)
                m_sums[l].delta += std::sqrt(m_delta_squares[2 * l] / m_delta_squares[2 * l + 1]);
        }
        for_each_parameter(m_net, gradients,
                           [&](const auto&, const auto& gradient, const ParameterInfo& info) {
                               if (std::string_view(info.name) != "W") return;
                               m_sums[info.layer].weight_gradient +=
                                   gradient.template cast<double>().norm();
                           });
    }

    // The validation loss and accuracy after the epoch.
    // With local data, each rank's validation samples are its own: their loss sums, hits and
    // counts are summed over the ranks (one small sum).
    void validate(EpochRecord& record) {
        Eigen::Index val_hits = 0;
        double mean = m_evaluation->mean_loss(
            m_net, m_validation.x, m_validation.y,
            [&](const auto& outputs, const auto& targets) {
                if constexpr (classifying) val_hits += count_hits<Loss>(outputs, targets);
            });
        double samples = double(m_validation.x.cols());
        if (m_local) {
            double sums[3] = {mean * samples, double(val_hits), samples};
            m_comm->sum(sums, 3);
            mean = sums[0] / sums[2];
            val_hits = Eigen::Index(sums[1]);
            samples = sums[2];
        }
        record.val_loss = mean;
        if constexpr (classifying) {
            record.val_accuracy =
                double(val_hits) / (samples * double(hits_per_sample<Loss>(m_net.outputs())));
        }
    }

    // Early stopping, the progress line and the callbacks; true when training stops here.
    bool end_epoch(const EpochRecord& record) {
        bool stop = false;
        keep_for_guard(record);
        if constexpr (validating) {
            if (m_options.early_stopping) {
                const EarlyStopping& rule = *m_options.early_stopping;
                const double val_loss = *record.val_loss;
                if (val_loss < m_best_loss - rule.min_delta) {  // false for a NaN loss
                    m_best_loss = val_loss;
                    m_history.best_epoch = record.epoch;
                    m_epochs_without_improvement = 0;
                    if (m_restoring) *m_best_net = m_net;  // in place: the shapes are the same
                } else if (++m_epochs_without_improvement >= rule.patience) {
                    stop = true;
                    m_history.stop_reason = StopReason::early_stopping;
                }
            }
        }
        m_progress.end_epoch(record);
        bool stopped_by_callback = false;
        for (const auto& callback : m_options.callbacks)
            if (callback(record) == EpochAction::stop) stopped_by_callback = true;
        if (stopped_by_callback && !stop) m_history.stop_reason = StopReason::callback;
        return stop || stopped_by_callback;
    }

    // The divergence guard's copy, unless early stopping keeps its own best weights in it:
    // every m_guard_every-th epoch, the weights of an epoch whose monitored loss is finite and
    // the lowest so far.
    void keep_for_guard(const EpochRecord& record) {
        if (m_restoring || m_guard_every == 0 || record.epoch % m_guard_every != 0) return;
        const double loss = validating ? record.val_loss.value_or(
                                             std::numeric_limits<double>::quiet_NaN())
                                       : record.loss;
        if (!(loss < m_kept_loss)) return;  // false for a NaN loss
        m_kept_loss = loss;
        m_kept_epoch = record.epoch;
        *m_best_net = m_net;  // in place: the shapes are the same
    }

    Net& m_net;
    Optimizer& m_optimizer;
    const Eigen::MatrixBase<X>& m_x;
    const Eigen::MatrixBase<Y>& m_y;
    const Validation& m_validation;
    const FitOptions& m_options;
    const char* m_caller;
    bool m_norms_on;
    bool m_restoring;  // early stopping gives back the best weights, kept in m_best_net
    std::size_t m_layers;
    std::shared_ptr<Communicator> m_comm;  // empty without other processes
    bool m_local;                          // each rank passed its own samples (local_data)
    // A rank's share of a step, then the sum over ranks: the gradient entries, cost, hits and a
    // failure flag (train_shard); and each layer's δ squares and samples (add_gradient_norms).
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m_share;
    std::vector<double> m_delta_squares;
    bool m_batch_has_shard = true;  // this rank's shard of the current batch is not empty
    History m_history;
    std::shared_ptr<std::vector<LayerGradientNorms>> m_norms;
    std::vector<LayerGradientNorms> m_sums;
    std::optional<DataParallel<Net>> m_parallel;
    MiniBatches<Net> m_batches;
    Eigen::Index m_steps;    // steps per epoch: the batches, or across ranks the most of any rank
    double m_total_samples;  // training samples of every rank
    std::optional<EvaluationBatches<Net>> m_evaluation;
    std::optional<Net> m_best_net;  // early stopping's best weights, or the divergence guard's
    StepGuard<Net, Optimizer> m_guard{m_net, m_optimizer};
    int m_guard_every = 0;  // 0: no divergence guard
    int m_kept_epoch = 0;   // whose weights m_best_net holds for the guard (0: the start)
    double m_kept_loss = std::numeric_limits<double>::infinity();
    double m_best_loss = std::numeric_limits<double>::infinity();
    int m_epochs_without_improvement = 0;
    Progress m_progress;
};

/// fit() and train() after their own checks: flushes denormals when asked, then runs the loop.
template <class Net, class Optimizer, class X, class Y, class Validation>
History fit_loop(Net& net, Optimizer& optimizer, const Eigen::MatrixBase<X>& x,
                 const Eigen::MatrixBase<Y>& y, const Validation& validation,
                 const FitOptions& options, const char* caller) {
    std::optional<FlushDenormals> flush;
    if (options.flush_denormals) flush.emplace();
    return FitLoop<Net, Optimizer, X, Y, Validation>(net, optimizer, x, y, validation, options,
                                                     caller)
        .run();
}

}  // namespace detail

/// Trains `net` on x (inputs × samples) against y (outputs × samples) with `optimizer` (Sgd,
/// Adam, ... or any type with step(net, ws), learning_rate() and set_learning_rate(double)),
/// and returns the History of the epochs. Each epoch: the schedule, if any, sets the learning
/// rate; the samples are shuffled (a generator seeded once by options.seed, so one seed gives
/// one result bit for bit); each batch of options.batch_size (the last, smaller one included)
/// runs equations (1)–(6) and one optimizer step; then the EpochRecord is written (loss as
/// trained, accuracy for a loss that scores one (LossTraits::accuracy), learning rate, time,
/// rate, and with options.gradient_norms the per-layer norms of LayerGradientNorms), the
/// progress line is shown and the callbacks are called. With a plain Sgd (no momentum, no
/// weight decay), no gradient norms, no l1 and no clipping, each step is Network::train_step,
/// which adds the step straight into W: the same step as backward() and update() up to
/// rounding. train() is fit() with such an Sgd. Buffers and the History
/// are sized before the first epoch: the epochs allocate nothing (with silent or no progress
/// output).
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
    detail::check_fit_options(options, false, "fit");
    detail::check_fit_data(net, x, y, "x", "y");
    return detail::fit_loop(net, optimizer, x, y, detail::NoValidation{}, options, "fit");
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
    detail::check_fit_options(options, true, "fit");
    detail::check_fit_data(net, x, y, "x", "y");
    detail::check_fit_data(net, x_val, y_val, "x_val", "y_val");
    return detail::fit_loop(net, optimizer, x, y, detail::ValidationData<XV, YV>{x_val, y_val},
                            options, "fit");
}

}  // namespace nabla
