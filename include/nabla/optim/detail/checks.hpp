#pragma once

// The checks every optimizer makes: its learning rate when it is set, the gradients when it
// steps.

#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>
#include <nabla/parameters.hpp>

namespace nabla::detail {

/// Throws ShapeError, naming the optimizer, unless `ws` holds gradients from backward() whose
/// shapes fit every layer of `net` (detail::check_gradients): an optimizer never reads past a
/// buffer.
template <class Net, class Workspace>
void check_step_gradients(const Net& net, const Workspace& ws, const char* optimizer) {
    check_gradients(net, ws, cat(optimizer, "::step"));
}

/// Throws ConfigError naming the optimizer unless the learning rate is finite and at least 0. A
/// rate of 0 is allowed because a schedule (cosine annealing to 0) may end there; it freezes the
/// parameters.
/// Throws ConfigError, naming `optimizer`, before a step of a `Scalar` network whose learning
/// rate, a double, is not finite in `Scalar` or rounds to 0 there (check_learning_rate_in()).
template <class Scalar>
void check_step_learning_rate(const char* optimizer, double learning_rate) {
    if (!learning_rate_fits<Scalar>(learning_rate))
        check_learning_rate_in<Scalar>(optimizer, learning_rate);
}

inline void check_learning_rate(const char* optimizer, double learning_rate) {
    check_non_negative_option(optimizer, "learning_rate", learning_rate);
}

}  // namespace nabla::detail
