#pragma once

#include <nabla/activation.hpp>
#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/detail/small.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>

namespace nabla {
template <class Net>
class DataParallel;
}  // namespace nabla

namespace nabla::detail {

/// Throws ShapeError unless `layer` takes as many inputs as `below` gives outputs.
template <class Layer, class Below>
void check_layers_chain(const Layer& layer, const Below& below) {
    if (layer.inputs() != below.outputs()) {
        throw ShapeError(cat(layer.name(), " has ", layer.inputs(), " inputs but ", below.name(),
                             " has ", below.outputs(), " outputs"));
    }
}

/// "2 inputs", or "any number of inputs" for a size left to run time.
inline std::string fixed_size(int size, const char* noun) {
    return size == Eigen::Dynamic ? cat("any number of ", noun, "s") : plural(size, noun);
}

/// Throws ShapeError, naming the network and layer `number` (from 1), unless `inputs` and
/// `outputs` are at least 1 and agree with the sizes `Layer` fixes at compile time. Networks call
/// this before building a layer so that the message says which layer was asked for what.
template <class Layer>
void check_layer_sizes(const char* network, std::size_t number, Eigen::Index inputs,
                       Eigen::Index outputs) {
    constexpr int fixed_inputs = Layer::InputsAtCompileTime;
    constexpr int fixed_outputs = Layer::OutputsAtCompileTime;
    const std::string asked = cat(network, ": layer ", number, " was asked for ",
                                  plural(inputs, "input"), " and ", plural(outputs, "output"));
    if (inputs < 1 || outputs < 1)
        throw ShapeError(cat(asked, "; every layer needs at least 1 of each"));
    if ((fixed_inputs != Eigen::Dynamic && inputs != fixed_inputs) ||
        (fixed_outputs != Eigen::Dynamic && outputs != fixed_outputs)) {
        throw ShapeError(cat(asked, ", its type fixes ", fixed_size(fixed_inputs, "input"),
                             " and ", fixed_size(fixed_outputs, "output")));
    }
}

/// Throws ConfigError unless `Loss` can be computed on an output activation of this kind.
template <class Loss>
void check_loss_fits(ActivationKind output) {
    if (!Loss::accepts(output)) {
        throw ConfigError(cat("the loss ", Loss::name(), " does not fit the output activation ",
                              to_string(output),
                              ": CrossEntropy needs softmax, BinaryCrossEntropy needs sigmoid"));
    }
}

/// The passes every network shares, written once over the derived network's layers. The
/// derived class provides layer(i), for_each_layer(f), for_each_layer_reverse(f) (f gets a layer
/// and its index: a std::integral_constant for Network, a std::size_t for DynamicNetwork),
/// last_index(), inputs() and outputs(). Only the loops differ: a tuple unrolled at compile time
/// or a vector walked at run time.
template <class Derived, class Scalar>
class NetworkBase {
public:
    /// Forward pass (§1.2): z = W a + b, a = σ(z), layer by layer. `x` is inputs × batch, one
    /// sample per column; returns aᴸ (outputs × batch), which lives in `ws`.
    template <class X, class Workspace>
    const auto& forward(const Eigen::MatrixBase<X>& x, Workspace& ws) const {
        load(x, ws);
        return forward_prepared(ws, ws.input());
    }

    /// Forward pass, then the backward pass of equations (1)–(6) for the targets `y` (outputs ×
    /// batch). Afterwards ws holds every zˡ, aˡ, δˡ, ∂C/∂Wˡ and ∂C/∂bˡ, each gradient the mean
    /// over the batch. Returns the batch cost C.
    template <class X, class Y, class Workspace>
    auto backward(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                  Workspace& ws) const {
        load(x, ws);
        return backward_prepared(ws, y);
    }

    /// The batch cost C of `x` against `y` (forward pass only).
    template <class X, class Y, class Workspace>
    auto loss(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y, Workspace& ws) const {
        load(x, ws);
        check_targets(y, ws.batch_size());
        forward_prepared(ws, ws.input());
        return cost(ws, y);
    }

    /// The batch cost C of `x` against `y`, with a workspace of its own.
    template <class X, class Y, class D = Derived>
    auto loss(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y) const {
        typename D::template Workspace<> ws;
        return loss(x, y, ws);
    }

    /// aᴸ for `x` (inputs × batch) as a matrix of its own, outputs × batch. Allocates a
    /// workspace per call: use forward() with a reused workspace in a loop.
    template <class X, class D = Derived>
    typename D::OutputBatch predict(const Eigen::MatrixBase<X>& x) const {
        typename D::template Workspace<> ws;
        return forward(x, ws);
    }

    /// ∂C/∂x = (W¹)ᵀδ¹ (§2.4.2 applied to the first layer), inputs × batch, after backward() on
    /// `ws`: how the cost moves with each input. Like δ and ∂C/∂a, it is per sample: column k is
    /// the gradient of sample k's own cost (the batch mean's is that divided by the batch size).
    /// Kept out of backward() because training never needs it.
    template <class Workspace>
    const auto& input_gradient(Workspace& ws) const {
        check_gradients(ws, "input_gradient");
        const auto first = derived().first_index();
        auto& gradient = ws.da_below(first);
        gradient.resize(ws.input().rows(), ws.input().cols());
        derived().layer(first).propagate(ws.layer(first), gradient);
        return ws.input_gradient();
    }

    /// One step of gradient descent with the gradients in `ws`: W ← W − η∇W, b ← b − η∇b.
    template <class Workspace>
    void update(const Workspace& ws, Scalar learning_rate) {
        check_gradients(ws, "update");
        derived().for_each_layer(
            [&](auto& layer, auto i) { layer.update(ws.layer(i), learning_rate); });
    }

    /// One step of gradient descent on the batch `x` against `y`: backward(), then update(),
    /// unless the cost or a gradient is not finite, in which case it throws NumericalError and
    /// leaves the weights as they were. Returns the batch cost. Faster than the two calls, and
    /// equal to them up to rounding: each layer large enough for detail::gemm adds (η/n) δaᵀ
    /// straight into W (∂C/∂W is never stored; the check is made on δ and a, see
    /// detail/finite_step.hpp), and x is read where it is when it lives in memory. Afterwards ws
    /// holds every zˡ, aˡ and δˡ, but no gradients (has_gradients() is false) and not necessarily
    /// x: use backward() and update() to see them. Throws ConfigError unless η is positive and
    /// finite. train() and fit() keep the stored ∂C/∂W (fit with Sgd is train() bit for bit).
    template <class X, class Y, class Workspace>
    auto train_step(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y, Workspace& ws,
                    Scalar learning_rate) {
        if constexpr (reads_memory<X>()) {
            check_inputs(x);
            ws.prepare(derived(), x.cols());
            return step_prepared(ws, x, y, learning_rate);
        } else {
            load(x, ws);  // an expression: evaluated once, not once per read
            return step_prepared(ws, ws.input(), y, learning_rate);
        }
    }

    /// The forward pass on the batch already in ws.input() (filled after ws.prepare(net, n));
    /// returns aᴸ. Throws ShapeError when ws.input() does not fit the network.
    template <class Workspace>
    const auto& run_forward(Workspace& ws) const {
        check_inputs(ws.input());
        ws.prepare(derived(), ws.input().cols());
        return forward_prepared(ws, ws.input());
    }

    /// forward + backward on the batch already in ws.input(); returns the batch cost.
    template <class Workspace, class Y>
    auto run_backward(Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        check_inputs(ws.input());
        ws.prepare(derived(), ws.input().cols());
        return backward_prepared(ws, y);
    }

    /// Throws NumericalError naming where() unless the cost and every gradient in ws are finite.
    /// `where` returns the place as text, and is called only on failure so that the check
    /// allocates nothing.
    template <class Workspace, class Where>
    static void check_finite(Scalar c, const Workspace& ws, Where&& where) {
        if (!std::isfinite(c)) {
            throw NumericalError(cat(where(), ": the loss is ", c,
                                     "; the weights are left as they were before this step"));
        }
        if (!ws.gradients_finite()) {
            throw NumericalError(cat(where(), ": a gradient is not finite (the loss is ", c,
                                     "); the weights are left as they were before this step"));
        }
    }

    /// Throws ShapeError unless `y` has one row per output and `batch` columns.
    template <class Y>
    void check_targets(const Eigen::MatrixBase<Y>& y, Eigen::Index batch) const {
        if constexpr (Y::RowsAtCompileTime != Eigen::Dynamic &&
                      Derived::OutputsAtCompileTime != Eigen::Dynamic) {
            static_assert(int(Y::RowsAtCompileTime) == int(Derived::OutputsAtCompileTime),
                          "NABLA_TARGET_ROWS_DO_NOT_MATCH_THE_OUTPUT_LAYER");
        }
        if (y.rows() != derived().outputs()) {
            throw ShapeError(cat("targets have ", y.rows(), " rows, the output layer (layer ",
                                 derived().layer_count(), ") has ",
                                 plural(derived().outputs(), "neuron")));
        }
        if (y.cols() != batch) {
            throw ShapeError(cat("inputs have ", samples(batch), " (columns) but targets have ",
                                 y.cols()));
        }
    }

    /// Throws ShapeError unless `x` has one row per input and at least one column.
    template <class X>
    void check_inputs(const Eigen::MatrixBase<X>& x) const {
        if constexpr (X::RowsAtCompileTime != Eigen::Dynamic &&
                      Derived::InputsAtCompileTime != Eigen::Dynamic) {
            static_assert(int(X::RowsAtCompileTime) == int(Derived::InputsAtCompileTime),
                          "NABLA_INPUT_ROWS_DO_NOT_MATCH_THE_FIRST_LAYER");
        }
        if (x.cols() == 0) throw ShapeError("the batch is empty (0 columns)");
        if (x.rows() != derived().inputs()) {
            throw ShapeError(cat(derived().layer(derived().first_index()).name(), ": input has ",
                                 x.rows(), " rows, the layer expects ", derived().inputs()));
        }
    }

private:
    const Derived& derived() const { return static_cast<const Derived&>(*this); }
    Derived& derived() { return static_cast<Derived&>(*this); }

    // f(aˡ⁻¹) for layer i, with a⁰ = x: the caller's batch read in place, or ws.input().
    template <class Workspace, class X, class I, class F>
    static void with_input(const Workspace& ws, const Eigen::MatrixBase<X>& x, I i, F&& f) {
        if constexpr (std::is_integral<I>::value) {  // DynamicNetwork: i is known at run time
            if (i == 0)
                f(x.derived());
            else
                f(ws.input_of(i));
        } else if constexpr (I::value == 0) {
            f(x.derived());
        } else {
            f(ws.input_of(i));
        }
    }

    // The forward pass of the batch x (inputs × batch, ws prepared for it); returns aᴸ.
    template <class Workspace, class X>
    const auto& forward_prepared(Workspace& ws, const Eigen::MatrixBase<X>& x) const {
        ws.m_has_gradients = false;
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) { layer.forward(input, ws.layer(i)); });
        });
        return ws.output();
    }

    template <class Workspace, class Y>
    auto backward_prepared(Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        check_targets(y, ws.batch_size());
        const auto c = forward_and_deltas(
            ws, ws.input(), y, [&](const auto& layer, auto i, const auto& input) {
                layer.gradients(input, ws.layer(i));  // (2), (3), (5), (6)
            });
        ws.m_has_gradients = true;
        return c;
    }

    // train_step on the batch x (ws prepared for it). The step is folded into W layer by layer
    // only once every layer's step is known to be finite, so that a refused step changes nothing.
    template <class Workspace, class X, class Y>
    auto step_prepared(Workspace& ws, const Eigen::MatrixBase<X>& x,
                       const Eigen::MatrixBase<Y>& y, Scalar learning_rate) {
        const auto where = [] { return std::string("train_step"); };
        check_positive_option("train_step", "the learning rate", double(learning_rate));
        check_targets(y, ws.batch_size());
        const Eigen::Index n = ws.batch_size();
        bool finite = true;  // every stored gradient finite, every folded step bounded
        const auto c =
            forward_and_deltas(ws, x, y, [&](const auto& layer, auto i, const auto& input) {
                using Input = std::decay_t<decltype(input)>;
                if (layer.template folds_step<Input>(n)) {
                    finite = finite && step_is_finite(ws.layer(i).delta, input, learning_rate);
                } else {
                    layer.gradients(input, ws.layer(i));  // (2), (3), (5), (6)
                }
            });
        // The stored gradients are checked once the pass is done: checked inside it, the
        // [2,3,2] network's step measured about 10% slower.
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                using Input = std::decay_t<decltype(input)>;
                if (!layer.template folds_step<Input>(n))
                    finite = finite && ws.layer(i).gradients_finite();
            });
        });
        if (finite && std::isfinite(c)) {
            derived().for_each_layer([&](auto& layer, auto i) {
                with_input(ws, x, i, [&](const auto& input) {
                    using Input = std::decay_t<decltype(input)>;
                    if (layer.template folds_step<Input>(n))
                        layer.descend(input, ws.layer(i), learning_rate);
                    else
                        layer.update(ws.layer(i), learning_rate);
                });
            });
            return c;
        }
        // A NaN or infinity somewhere, or values too near overflow to tell: store the folded
        // layers' gradients too, and let the usual check refuse the step with its usual message.
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                using Input = std::decay_t<decltype(input)>;
                if (layer.template folds_step<Input>(n)) layer.gradients(input, ws.layer(i));
            });
        });
        ws.m_has_gradients = true;
        check_finite(c, ws, where);
        update(ws, learning_rate);
        ws.m_has_gradients = false;
        return c;
    }

    // DataParallel runs the same pass on each shard and sums the gradients across shards.
    template <class Net>
    friend class nabla::DataParallel;

    // The forward pass, the cost C and every δˡ of the batch x (ws prepared for it) against
    // targets `y` already checked: (1) at the output, (4) below it. `at_delta(layer, i, aˡ⁻¹)`
    // runs as soon as δˡ is known (while δˡ and aˡ⁻¹ are still in cache), from the output layer
    // down. Returns C.
    template <class Workspace, class X, class Y, class AtDelta>
    auto forward_and_deltas(Workspace& ws, const Eigen::MatrixBase<X>& x,
                            const Eigen::MatrixBase<Y>& y, AtDelta&& at_delta) const {
        forward_prepared(ws, x);
        const auto c = cost(ws, y);
        const auto last = derived().last_index();
        derived().layer(last).template output_delta<typename Derived::Loss>(ws.layer(last), y);
        derived().for_each_layer_reverse([&](const auto& layer, auto i) {
            if (i != last) layer.hidden_delta(ws.layer(i));  // (4)
            with_input(ws, x, i, [&](const auto& input) { at_delta(layer, i, input); });
            if (i > 0) layer.propagate(ws.layer(i), ws.da_below(i));  // (Wˡ)ᵀδˡ for (4) below
        });
        return c;
    }

    // update() and input_gradient() read what backward() left: refuse a workspace that holds
    // none, or holds them for layers of other sizes, rather than read past a buffer.
    template <class Workspace>
    void check_gradients(const Workspace& ws, const char* where) const {
        if (!ws.has_gradients()) {
            throw ShapeError(cat(where, ": the workspace holds no gradients; run backward() on "
                                        "it first"));
        }
        derived().for_each_layer([&](const auto& layer, auto i) {
            const auto& dW = ws.layer(i).dW;
            if (dW.rows() != layer.outputs() || dW.cols() != layer.inputs()) {
                throw ShapeError(cat(where, ": the workspace holds gradients of shape ",
                                     shape(dW.rows(), dW.cols()), " for ", layer.name(),
                                     ", whose W is ", shape(layer.outputs(), layer.inputs())));
            }
        });
    }

    template <class X, class Workspace>
    void load(const Eigen::MatrixBase<X>& x, Workspace& ws) const {
        check_inputs(x);
        ws.prepare(derived(), x.cols());
        ws.input() = x;
    }

    template <class Workspace, class Y>
    auto cost(const Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        const auto last = derived().last_index();
        const auto& state = ws.layer(last);
        return Derived::Loss::cost(derived().layer(last).activation(), state.z, state.a, y);
    }
};

}  // namespace nabla::detail
