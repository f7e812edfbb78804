#pragma once

#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

namespace nabla {

/// How far backprop's gradients are from central finite differences, layer by layer.
struct GradientCheckReport {
    /// The errors of one layer's parameters.
    struct Layer {
        double weights = 0;  ///< Relative error of ∂C/∂W (see gradient_check()).
        double bias = 0;     ///< Relative error of ∂C/∂b.
    };

    std::vector<Layer> layers;  ///< layers[0] is layer 1 of the notes.

    /// The largest error over all layers and parameters.
    double worst() const {
        double result = 0;
        for (const Layer& layer : layers) result = std::max({result, layer.weights, layer.bias});
        return result;
    }
};

namespace detail {

/// max |g − g_fd| over a parameter block, divided by the largest |g| or |g_fd| of the block.
/// `cost` evaluates C with the parameters as they are at the time of the call.
template <class Parameters, class Gradient, class Cost>
double gradient_block_error(Parameters& parameters, const Gradient& analytic, Cost&& cost) {
    using Scalar = typename Parameters::Scalar;
    // A step of ε^(1/3) balances the O(h²) truncation error of central differences against the
    // O(ε/h) rounding error of the two costs.
    const Scalar base_step = std::cbrt(std::numeric_limits<Scalar>::epsilon());
    double worst_difference = 0;
    double largest = 0;
    for (Eigen::Index k = 0; k < parameters.cols(); ++k) {
        for (Eigen::Index j = 0; j < parameters.rows(); ++j) {
            const Scalar original = parameters(j, k);
            const Scalar step = base_step * std::max(Scalar(1), std::abs(original));
            const Scalar up = original + step;
            const Scalar down = original - step;
            parameters(j, k) = up;
            const double cost_up = double(cost());
            parameters(j, k) = down;
            const double cost_down = double(cost());
            parameters(j, k) = original;
            // Divide by the step as represented, not as asked for: up − down is exact here.
            const double numeric = (cost_up - cost_down) / double(up - down);
            const double exact = double(analytic(j, k));
            worst_difference = std::max(worst_difference, std::abs(exact - numeric));
            largest = std::max({largest, std::abs(exact), std::abs(numeric)});
        }
    }
    return largest > 0 ? worst_difference / largest : 0.0;
}

}  // namespace detail

/// Compares the gradients of backward() with central finite differences of the batch cost, for
/// every weight and bias of `net` on the batch x (inputs × batch) with targets y. For each W and
/// each b the error is max |g − g_fd| / max(|g|, |g_fd|) over that block: relative to the block's
/// largest gradient, so entries that are zero up to rounding do not blow it up. Expect below
/// 1e-7 in double and about 1e-2 in float, where the differences themselves carry a rounding
/// noise near 4εC/(h·max|g|) that dominates for blocks whose gradients are tiny next to the
/// cost C; a wrong derivative gives errors near 1. The costs are those of the training pass
/// that backward() ran, with its dropout masks (replay_loss()), so a network with dropout is
/// checked on the one sub-network that pass drew. `net` is not changed (a copy is perturbed).
/// Costs two cost evaluations per parameter: use small nets.
///
///     auto report = nabla::gradient_check(net, x, y);
///     CHECK(report.worst() < 1e-7);
template <class Net, class X, class Y>
GradientCheckReport gradient_check(const Net& net, const Eigen::MatrixBase<X>& x,
                                   const Eigen::MatrixBase<Y>& y) {
    typename Net::template Workspace<> ws;
    net.backward(x, y, ws);

    Net probe = net;
    typename Net::template Workspace<> probe_ws = ws;  // the same masks to replay
    const auto cost = [&] { return probe.replay_loss(x, y, probe_ws); };

    GradientCheckReport report;
    report.layers.resize(std::size_t(net.layer_count()));
    for_each_parameter(probe, ws, [&](auto& block, const auto& gradient, const ParameterInfo& info) {
        const double error = detail::gradient_block_error(block, gradient, cost);
        GradientCheckReport::Layer& layer = report.layers[info.layer];
        // Dense's blocks are W then b; any other block counts with W.
        if (std::string_view(info.name) == "b")
            layer.bias = std::max(layer.bias, error);
        else
            layer.weights = std::max(layer.weights, error);
    });
    return report;
}

}  // namespace nabla
