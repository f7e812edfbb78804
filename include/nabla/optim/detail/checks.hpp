#pragma once

// The checks every optimizer makes: its learning rate when it is set, the gradients when it
// steps.

#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>

namespace nabla::detail {

/// Throws ShapeError, naming the optimizer, unless `ws` holds gradients from backward() whose
/// shapes fit every layer of `net`: an optimizer never reads past a buffer.
template <class Net, class Workspace>
void check_step_gradients(const Net& net, const Workspace& ws, const char* optimizer) {
    if (!ws.has_gradients()) {
        throw ShapeError(cat(optimizer, "::step: the workspace holds no gradients; run "
                                        "backward() on it first"));
    }
    net.for_each_layer([&](const auto& layer, auto i) {
        const auto& state = ws.layer(i);
        if (state.dW.rows() != layer.outputs() || state.dW.cols() != layer.inputs() ||
            state.db.rows() != layer.outputs()) {
            throw ShapeError(cat(optimizer, "::step: the workspace holds gradients of shape ",
                                 shape(state.dW.rows(), state.dW.cols()), " for ", layer.name(),
                                 ", whose W is ", shape(layer.outputs(), layer.inputs())));
        }
    });
}

/// Throws ConfigError naming the optimizer unless the learning rate is finite and at least 0. A
/// rate of 0 is allowed because a schedule (cosine annealing to 0) may end there; it freezes the
/// parameters.
inline void check_learning_rate(const char* optimizer, double learning_rate) {
    check_non_negative_option(optimizer, "learning_rate", learning_rate);
}

}  // namespace nabla::detail
