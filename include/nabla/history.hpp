#pragma once

#include <nabla/detail/requires_cxx17.hpp>

// What fit() records per epoch, and the History it returns.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nabla {

/// The gradient sizes of one layer l over one epoch: the numbers that make vanishing and
/// exploding gradients visible. Both are means over the epoch's batches, each batch counting
/// once (the last, smaller batch too), taken from the gradients backward() computed before each
/// step; ‖·‖ is the Frobenius norm (the square root of the sum of squared entries).
struct LayerGradientNorms {
    /// Mean over the batches of ‖δˡ‖ / √n, n the batch size: the root mean square over the
    /// batch's samples of each sample's ‖δˡ‖₂, so the number does not grow with the batch size.
    /// Falling from the output layer towards layer 1 is the vanishing gradient of the notes.
    double delta = 0;
    /// Mean over the batches of ‖∂C/∂Wˡ‖, the batch-mean weight gradient the optimizer steps
    /// with (equations (3) and (6)).
    double weight_gradient = 0;
};

/// The LayerGradientNorms of one epoch, one per layer, layer 1 first: a read-only view that
/// shares the storage fit() reserved for the whole run, so records copy without allocating and
/// stay valid on their own (no view dangles when the History goes).
class GradientNorms {
public:
    /// No layers.
    GradientNorms() = default;
    /// Layers [offset, offset + count) of `storage`.
    GradientNorms(std::shared_ptr<const std::vector<LayerGradientNorms>> storage,
                  std::size_t offset, std::size_t count)
        : m_storage(std::move(storage)), m_offset(offset), m_size(count) {}

    /// The number of layers.
    std::size_t size() const { return m_size; }
    /// True when there are no layers.
    bool empty() const { return m_size == 0; }
    /// The norms of layer l + 1 of the notes (zero-based, as net.layer(l)).
    const LayerGradientNorms& operator[](std::size_t l) const { return (*m_storage)[m_offset + l]; }
    /// The first layer's norms.
    const LayerGradientNorms* begin() const { return m_size ? &(*this)[0] : nullptr; }
    /// One past the last layer's norms.
    const LayerGradientNorms* end() const { return m_size ? begin() + m_size : nullptr; }

private:
    std::shared_ptr<const std::vector<LayerGradientNorms>> m_storage;
    std::size_t m_offset = 0;
    std::size_t m_size = 0;
};

/// One epoch of fit(), as the progress line and the callbacks see it.
struct EpochRecord {
    int epoch = 0;  ///< 1 for the first epoch, as in messages.
    /// The mean training loss over the epoch's samples, each batch's cost taken before its step
    /// (the loss "as trained", as train() returns it); with FitOptions::l1, the penalty included.
    double loss = 0;
    /// For a loss that scores argmax (CrossEntropy): the fraction of the epoch's samples whose
    /// largest output was the target class; for one that scores a threshold
    /// (BinaryCrossEntropy): the fraction of output entries on the right side of 0.5
    /// (LossTraits::accuracy). Taken from the outputs before each step; empty for other losses.
    std::optional<double> accuracy;
    /// The mean loss over the validation samples after the epoch. Recorded as it comes: a
    /// validation loss that is not finite stops nothing (it only never counts as a gain).
    std::optional<double> val_loss;
    std::optional<double> val_accuracy;  ///< Accuracy on the validation data, as `accuracy`.
    double learning_rate = 0;  ///< The optimizer's learning rate during the epoch.
    double seconds = 0;        ///< Wall time of the epoch, validation included.
    /// Training samples per second of wall time, validation excluded.
    double samples_per_second = 0;
    /// Per layer, layer 1 first: the mean gradient norms of the epoch (see LayerGradientNorms);
    /// empty unless FitOptions::gradient_norms (or progress.gradient_norms) asked for them.
    GradientNorms gradient_norms;
};

/// Why fit() stopped.
enum class StopReason {
    completed,       ///< Every epoch asked for ran.
    early_stopping,  ///< The validation loss stopped improving for `patience` epochs.
    callback,        ///< A callback returned EpochAction::stop.
    /// A loss or gradient was not finite, and the divergence guard put back the weights it kept
    /// (FitOptions::divergence_guard with rethrow off); History::error says what happened.
    diverged,
};

/// What fit() returns: one record per epoch that ran, in order, and how it ended.
struct History {
    std::vector<EpochRecord> epochs;  ///< epochs[e - 1] is epoch e.
    /// With early stopping: the epoch (from 1) whose weights the network was given back, the
    /// last one that improved the validation loss by more than min_delta; 0 otherwise.
    int best_epoch = 0;
    StopReason stop_reason = StopReason::completed;  ///< Why training ended.
    /// With StopReason::diverged: the epoch whose weights the divergence guard put back (0: the
    /// weights from before the first epoch); -1 otherwise.
    int restored_epoch = -1;
    /// With StopReason::diverged: the NumericalError's message, with the weights put back.
    std::string error;

    /// The number of epochs that ran.
    std::size_t size() const { return epochs.size(); }
};

}  // namespace nabla
