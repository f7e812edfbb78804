#pragma once

// How far the next step of a built-in optimizer can move any parameter, for fit()'s step guard
// (optim/step_guard.hpp), without a pass over the parameters or the state.
//
// Why: the guard refuses a step that would make a parameter or a state entry not finite before
// anything changes. Measuring the state before each step would cost as much as the step. Each
// state array (velocity, moments) instead carries an upper bound on its largest |entry| from
// step to step, through the update's own recurrence (|μv + g| ≤ μV + G). The bounds hold while
// every step is asked about first (max_change() then step()); a step taken without asking leaves
// them unknown, and the next question measures them from the state once.

#include <nabla/optim/detail/state.hpp>

#include <array>
#include <cstddef>
#include <limits>

namespace nabla::detail {

/// Upper bounds on the largest |entry| of up to three state arrays, carried from step to step.
class StepBounds {
public:
    using Bounds = std::array<double, 3>;  ///< One bound per state array, by index.

    /// The bounds before the next step: as carried, or measured from `state` when a step was
    /// taken without max_change() first (or none is known yet).
    template <class Scalar>
    const Bounds& current(const OptimizerState& state) {
        if (!m_known) {
            for (std::size_t k = 0; k < m_bounds.size(); ++k)
                m_bounds[k] = state.extent<Scalar>(int(k));
            m_known = true;
        }
        return m_bounds;
    }

    /// Records the bounds the next step leaves; they hold once step() calls stepped().
    void expect(const Bounds& next) {
        m_next = next;
        m_expected = true;
    }

    /// Called by each step(): the expected bounds hold now; for a step nobody asked about, none.
    void stepped() {
        if (m_expected)
            m_bounds = m_next;
        else
            m_known = false;
        m_expected = false;
    }

    /// The state was replaced (read from a checkpoint): measure it at the next question.
    void forget() {
        m_known = false;
        m_expected = false;
    }

    /// The state was cleared: every array is 0.
    void reset() {
        m_bounds = {};
        m_known = true;
        m_expected = false;
    }

private:
    Bounds m_bounds{};
    Bounds m_next{};
    bool m_known = true;  // an optimizer starts with no state, all 0
    bool m_expected = false;
};

/// A quarter of the largest finite `Scalar`: a state entry or a step bounded by it stays finite
/// through the step's arithmetic.
template <class Scalar>
constexpr double quarter_of_largest() {
    return double(std::numeric_limits<Scalar>::max()) / 4;
}

/// +∞ unless every one of `bounds` is at most quarter_of_largest<Scalar>(): a state that may
/// not be finite has no bound to give.
template <class Scalar>
double unless_state_finite(double change, const StepBounds::Bounds& bounds) {
    for (double bound : bounds)
        if (!(bound <= quarter_of_largest<Scalar>())) return std::numeric_limits<double>::infinity();
    return change;
}

}  // namespace nabla::detail
