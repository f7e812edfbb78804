#pragma once

// The L1 penalty λ‖W‖₁ = λ Σ |w| over the weights of every layer (the parameter blocks named
// "W"; biases are left out, as usual), added to the cost. Its gradient λ·sign(w) (a subgradient:
// 0 at w = 0) is added to the gradients of a backward pass through the parameter list, so any
// optimizer steps on it, pulling every weight towards zero by the same amount.

#include <nabla/detail/option_checks.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <string_view>

namespace nabla {

/// λ‖W‖₁ of `net`: λ times the sum of |w| over every block named "W".
template <class Net>
double l1_penalty(const Net& net, double lambda) {
    double sum = 0;
    for_each_parameter(net, [&](const auto& block, const ParameterInfo& info) {
        if (std::string_view(info.name) == "W") sum += block.template cast<double>().template lpNorm<1>();
    });
    return lambda * sum;
}

/// Adds the gradient of λ‖W‖₁, λ·sign(w), to the gradients of every weight block in `ws` (after
/// net.backward(x, y, ws)), and returns the penalty λ‖W‖₁ itself, for the caller to add to the
/// cost. Throws ConfigError unless λ is finite and at least 0, ShapeError as optimizers do when
/// `ws` holds no gradients of `net`'s shape.
///
///     double cost = net.backward(x, y, ws);
///     cost += nabla::add_l1_penalty(net, ws, 1e-4);   // after backward(): it adds to ∇W
///     sgd.step(net, ws);
template <class Net, class Workspace>
double add_l1_penalty(const Net& net, Workspace& ws, double lambda) {
    using Scalar = typename Net::Scalar;
    detail::check_non_negative_option("add_l1_penalty", "lambda", lambda);
    detail::check_gradients(net, ws, "add_l1_penalty");
    Scalar* gradients = ws.gradient_vector().data();
    double sum = 0;  // Σ|w|, taken in the same pass as the gradient
    for_each_parameter(net, [&](const auto& block, const ParameterInfo& info) {
        if (std::string_view(info.name) != "W") return;
        using Plain = detail::PlainOf<decltype(block)>;
        Eigen::Map<Plain> gradient(gradients + info.offset, block.rows(), block.cols());
        gradient.array() += Scalar(lambda) * block.array().sign();
        sum += block.template cast<double>().template lpNorm<1>();
    });
    return lambda * sum;
}

}  // namespace nabla
