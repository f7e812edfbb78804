#pragma once

// fit()'s guard around an optimizer's step: a step that would make a parameter, or the
// optimizer's state, not finite in the network's scalar type is refused before anything
// changes, for every optimizer, the user's own included.
//
// Why this shape: a check after the step finds the damage once it is done, and a copy of every
// weight before every step would cost a pass over them each time. An optimizer may instead tell
// an upper bound on how far its next step moves any parameter, given the largest |gradient| G
// and |parameter| P: max_change(net, G, P). While P plus that bound stays below a quarter of the
// largest finite number, no parameter can leave the finite range, and the step runs as it is.
// G is bounded by Σ|g| (one vectorised pass that also finds a NaN or ∞), and P by a bound that
// each step carries forward (P + the step's bound), measured once per epoch.
// The built-in optimizers tell one (optim/detail/step_bounds.hpp). An optimizer that tells
// none, or a step its bound cannot clear (values within reach of overflow), runs with a safety
// net: the parameters and the optimizer are copied, the step is taken, and if a parameter or
// the optimizer's state is not finite, both copies are put back and the step is refused.

#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>

namespace nabla::detail {

template <class Optimizer, class Net, class = void>
struct BoundsItsStep : std::false_type {};
template <class Optimizer, class Net>
struct BoundsItsStep<Optimizer, Net,
                     std::void_t<decltype(std::declval<Optimizer&>().max_change(
                         std::declval<const Net&>(), 0.0, 0.0))>> : std::true_type {};

template <class Optimizer, class = void>
struct TellsStateFinite : std::false_type {};
template <class Optimizer>
struct TellsStateFinite<Optimizer,
                        std::void_t<decltype(bool(std::declval<const Optimizer&>().state_finite()))>>
    : std::true_type {};

/// The guard of one fit() run: check() the batch's cost and gradients, then step() the
/// optimizer through it. Its copies are sized in the constructor, so a guarded step allocates
/// nothing.
template <class Net, class Optimizer>
class StepGuard {
    using Scalar = typename Net::Scalar;
    static constexpr bool bounded = BoundsItsStep<Optimizer, Net>::value;
    static constexpr bool copyable = std::is_copy_assignable_v<Optimizer> &&
                                     std::is_copy_constructible_v<Optimizer>;

public:
    /// A guard for steps of `optimizer` on `net`.
    StepGuard(const Net& net, const Optimizer& optimizer) {
        // An optimizer without a bound takes the safety net at every step; one with a bound only
        // near overflow, so its copies are made the first time they are needed.
        if constexpr (!bounded) {
            m_parameters.resize(net.parameter_count());
            if constexpr (copyable) m_optimizer.emplace(optimizer);
        }
    }

    /// Measures the largest |parameter| of `net` again, at the start of each epoch: between
    /// epochs a callback may have changed the weights. Within an epoch, step() carries it.
    void measure(const Net& net) { m_max_parameter = double(max_abs_parameter(net)); }

    /// Throws NumericalError naming where() (the weights untouched) unless the cost and every
    /// gradient are finite; returns a bound on the largest |gradient|, for step(): Σ|g|, one
    /// vectorised pass, or max|g| when the sum overflows.
    template <class Gradients, class Where>
    Scalar check(Scalar cost, const Gradients& gradients, const Where& where) const {
        const auto& g = gradients.gradient_vector();
        const Scalar sum = g.cwiseAbs().sum();  // NaN or ∞ when an entry is not finite
        if (std::isfinite(sum)) {
            Net::refuse_unless_finite(cost, true, where);
            return sum;
        }
        const Scalar largest = max_abs(g);  // the sum may only have overflowed
        Net::refuse_unless_finite(cost, std::isfinite(largest), where);
        return largest;
    }

    /// optimizer.step(net, gradients), refused with NumericalError naming where(), and with the
    /// parameters and the optimizer as they were, when it would leave a parameter or the
    /// optimizer's state not finite. `max_gradient` bounds |gradient| (check()'s answer).
    template <class Gradients, class Where>
    void step(Net& net, Optimizer& optimizer, const Gradients& gradients, Scalar max_gradient,
              const Where& where) {
        const double quarter = double(std::numeric_limits<Scalar>::max()) / 4;
        if constexpr (bounded) {
            // The carried bound on |p| first; measured again only when it is too loose to pass.
            for (int attempt = 0; attempt < 2; ++attempt) {
                const double change = optimizer.max_change(net, double(max_gradient),
                                                           m_max_parameter);
                if (m_max_parameter + change <= quarter) {  // false for NaN
                    optimizer.step(net, gradients);
                    m_max_parameter += change;
                    return;
                }
                if (attempt == 0) measure(net);
            }
        }
        const Scalar max_parameter = max_abs_parameter(net);
        m_parameters.resize(net.parameter_count());  // no allocation once sized
        for_each_parameter(net, [&](const auto& block, const ParameterInfo& info) {
            m_parameters.segment(info.offset, block.size()) = block.reshaped();
        });
        if constexpr (copyable) {
            if (m_optimizer)
                *m_optimizer = optimizer;
            else
                m_optimizer.emplace(optimizer);
        }
        optimizer.step(net, gradients);
        const Scalar after = max_abs_parameter(net);
        bool finite = std::isfinite(after);
        if constexpr (TellsStateFinite<Optimizer>::value) finite = finite && optimizer.state_finite();
        if (finite) {
            m_max_parameter = double(after);
            return;
        }
        for_each_parameter(net, [&](auto& block, const ParameterInfo& info) {
            block.reshaped() = m_parameters.segment(info.offset, block.size());
        });
        if constexpr (copyable) optimizer = *m_optimizer;
        throw NumericalError(cat(where(), ": the optimizer's step would make ",
                                 std::isfinite(after) ? "its state" : "a parameter",
                                 " not finite in ", scalar_name<Scalar>(),
                                 " (learning rate ", optimizer.learning_rate(),
                                 ", largest |gradient| ", max_gradient, ", largest |parameter| ",
                                 max_parameter, "); the weights",
                                 copyable ? " and the optimizer" : "",
                                 " are left as they were before this step. Lower the learning "
                                 "rate, clip the gradients (clip_gradient_norm) or scale the "
                                 "inputs"));
    }

private:
    double m_max_parameter = std::numeric_limits<double>::infinity();  // bounds max|p|; measure()
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m_parameters;  // the safety net's copy
    std::optional<Optimizer> m_optimizer;
};

}  // namespace nabla::detail
