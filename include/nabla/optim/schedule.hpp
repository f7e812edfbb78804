#pragma once

// Learning-rate schedules: value types that map a 0-based epoch to a learning rate, computed in
// closed form from the base rate they were given (no state, so any epoch can be asked for in
// any order). A training loop sets the rate once per epoch:
//
//     nabla::Adam adam(1e-3);
//     const nabla::CosineAnnealing schedule(1e-3, /*epochs=*/50);
//     for (int epoch = 0; epoch < 50; ++epoch) {
//         adam.set_learning_rate(schedule(epoch));
//         ... // backward() and adam.step() on each batch
//     }
//
// Each throws ConfigError for a setting out of range, and for a negative epoch.

#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>

#include <cmath>

namespace nabla {

namespace detail {

/// Throws ConfigError naming the schedule unless epoch ≥ 0.
inline void check_epoch(const char* schedule, int epoch) {
    if (epoch < 0) throw ConfigError(cat(schedule, ": epoch must be 0 or more, got ", epoch));
}

/// Throws ConfigError naming the schedule unless 0 < γ ≤ 1: a decay, never a growth.
inline void check_decay_factor(const char* schedule, double gamma) {
    if (!(gamma > 0 && gamma <= 1)) {
        throw ConfigError(cat(schedule, ": gamma must be in (0, 1], got ", gamma));
    }
}

/// Throws ConfigError naming the schedule and option unless value ≥ 1.
inline void check_epoch_count(const char* schedule, const char* option, int value) {
    if (value < 1) {
        throw ConfigError(cat(schedule, ": ", option, " must be at least 1, got ", value));
    }
}

}  // namespace detail

/// Step decay, as torch.optim.lr_scheduler.StepLR: η(e) = η₀·γ^⌊e / k⌋, the rate multiplied by
/// γ every k epochs.
///
///     const nabla::StepDecay schedule(0.1, 30, 0.1);   // 0.1 for epochs 0–29, 0.01 for 30–59, …
///     sgd.set_learning_rate(schedule(epoch));
class StepDecay {
public:
    /// η₀ > 0, k ≥ 1 epochs per step, 0 < γ ≤ 1; throws ConfigError naming the setting otherwise.
    StepDecay(double base_learning_rate, int step_size, double gamma = 0.1)
        : m_base(base_learning_rate), m_step_size(step_size), m_gamma(gamma) {
        detail::check_positive_option("StepDecay", "base_learning_rate", base_learning_rate);
        detail::check_epoch_count("StepDecay", "step_size", step_size);
        detail::check_decay_factor("StepDecay", gamma);
    }

    /// η for the 0-based `epoch`; throws ConfigError when epoch < 0.
    double operator()(int epoch) const {
        detail::check_epoch("StepDecay", epoch);
        return m_base * std::pow(m_gamma, epoch / m_step_size);
    }

    /// η₀.
    double base_learning_rate() const { return m_base; }
    /// k, the epochs between two decays.
    int step_size() const { return m_step_size; }
    /// γ.
    double gamma() const { return m_gamma; }

private:
    double m_base;
    int m_step_size;
    double m_gamma;
};

/// Exponential decay, as torch.optim.lr_scheduler.ExponentialLR: η(e) = η₀·γᵉ.
///
///     const nabla::ExponentialDecay schedule(0.1, 0.95);
///     sgd.set_learning_rate(schedule(epoch));
class ExponentialDecay {
public:
    /// η₀ > 0, 0 < γ ≤ 1; throws ConfigError naming the setting otherwise.
    ExponentialDecay(double base_learning_rate, double gamma)
        : m_base(base_learning_rate), m_gamma(gamma) {
        detail::check_positive_option("ExponentialDecay", "base_learning_rate",
                                      base_learning_rate);
        detail::check_decay_factor("ExponentialDecay", gamma);
    }

    /// η for the 0-based `epoch`; throws ConfigError when epoch < 0.
    double operator()(int epoch) const {
        detail::check_epoch("ExponentialDecay", epoch);
        return m_base * std::pow(m_gamma, epoch);
    }

    /// η₀.
    double base_learning_rate() const { return m_base; }
    /// γ.
    double gamma() const { return m_gamma; }

private:
    double m_base;
    double m_gamma;
};

/// Cosine annealing from η₀ to η_min over T epochs, the closed form of
/// torch.optim.lr_scheduler.CosineAnnealingLR:
///
///     η(e) = η_min + (η₀ − η_min)·(1 + cos(πe / T)) / 2   for 0 ≤ e ≤ T,   η_min after T.
///
///     const nabla::CosineAnnealing schedule(1e-3, 50);   // 1e-3 at epoch 0, 0 at epoch 50
///     adam.set_learning_rate(schedule(epoch));
///
/// Past T the rate stays at η_min, where PyTorch's closed form would climb back up; for warm
/// restarts, ask for schedule(epoch % T).
class CosineAnnealing {
public:
    /// η₀ > 0, T ≥ 1 epochs, 0 ≤ η_min ≤ η₀; throws ConfigError naming the setting otherwise.
    CosineAnnealing(double base_learning_rate, int epochs, double min_learning_rate = 0)
        : m_base(base_learning_rate), m_epochs(epochs), m_min(min_learning_rate) {
        detail::check_positive_option("CosineAnnealing", "base_learning_rate",
                                      base_learning_rate);
        detail::check_epoch_count("CosineAnnealing", "epochs", epochs);
        detail::check_non_negative_option("CosineAnnealing", "min_learning_rate",
                                          min_learning_rate);
        if (min_learning_rate > base_learning_rate) {
            throw ConfigError(detail::cat("CosineAnnealing: min_learning_rate ", min_learning_rate,
                                          " is above base_learning_rate ", base_learning_rate));
        }
    }

    /// η for the 0-based `epoch`; throws ConfigError when epoch < 0.
    double operator()(int epoch) const {
        detail::check_epoch("CosineAnnealing", epoch);
        if (epoch >= m_epochs) return m_min;
        const double pi = 3.14159265358979323846;
        return m_min + (m_base - m_min) * (1 + std::cos(pi * epoch / m_epochs)) / 2;
    }

    /// η₀.
    double base_learning_rate() const { return m_base; }
    /// T, the epochs from η₀ to η_min.
    int epochs() const { return m_epochs; }
    /// η_min.
    double min_learning_rate() const { return m_min; }

private:
    double m_base;
    int m_epochs;
    double m_min;
};

}  // namespace nabla
