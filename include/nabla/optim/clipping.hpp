#pragma once

// Gradient clipping by global norm: the whole gradient of a batch, every block of every layer
// as the one contiguous array the workspace keeps (parameters.hpp), scaled down when its norm
// exceeds a bound, so that one steep batch cannot throw the weights far. The direction is kept.

#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cmath>
#include <type_traits>

namespace nabla {

/// Scales every gradient in `ws` by max_norm / ‖g‖ when ‖g‖ > max_norm, ‖g‖ the Euclidean norm
/// of all of them together (as torch.nn.utils.clip_grad_norm_ does, without its ε); returns ‖g‖
/// before clipping. A gradient that is not finite is left as it is, for the finiteness check of
/// the step to refuse. Throws ConfigError unless max_norm is positive and finite.
///
///     net.backward(x, y, ws);
///     nabla::clip_gradient_norm(ws, 1.0);
///     adam.step(net, ws);
template <class Workspace>
double clip_gradient_norm(Workspace& ws, double max_norm) {
    detail::check_positive_option("clip_gradient_norm", "max_norm", max_norm);
    using Scalar = typename std::decay_t<decltype(ws.gradient_vector())>::Scalar;
    auto& gradients = ws.gradient_vector();
    // In double, so that a float gradient's large entries do not overflow the sum of squares.
    const double norm = gradients.template cast<double>().norm();
    if (std::isfinite(norm) && norm > max_norm) gradients *= Scalar(max_norm / norm);
    return norm;
}

}  // namespace nabla
