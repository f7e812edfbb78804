#pragma once

#include <nabla/detail/all_finite.hpp>
#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/detail/product.hpp>
#include <nabla/detail/small.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>
#include <nabla/loss.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla::detail {

/// Throws ShapeError unless `layer` (number `number`, from 1) takes as many inputs as `below`
/// gives outputs.
template <class Layer, class Below>
void check_layers_chain(const Layer& layer, const Below& below, std::size_t number) {
    if (layer.inputs() != below.outputs()) {
        throw ShapeError(cat(layer_name(layer, number), " has ", layer.inputs(), " inputs but ",
                             layer_name(below, number - 1), " has ", below.outputs(), " outputs"));
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
        throw ShapeError(cat(asked, ", its type fixes ", fixed_size(fixed_inputs, "input"), " and ",
                             fixed_size(fixed_outputs, "output")));
    }
}

/// Throws ConfigError unless `Loss` can be computed on the output of `layer` (number `number`).
template <class Loss, class Layer>
void check_loss_fits(const Layer& layer, std::size_t number) {
    constexpr std::string_view needed = LossTraits<Loss>::output_activation();
    const std::string_view output = activation_name(layer);
    if (!LossTraits<Loss>::accepts(output) || (LossTraits<Loss>::fused && output.empty())) {
        throw ConfigError(cat("the loss ", Loss::name(), " does not fit the output activation ",
                              output.empty() ? std::string("(none)") : std::string(output), " of ",
                              layer_name(layer, number), ": ", Loss::name(), " needs ", needed));
    }
}

/// The passes every network shares, written once over the derived network's layers. The
/// derived class provides any_layer(i), for_each_layer(f), for_each_layer_reverse(f) (f gets a
/// layer and its index: a std::integral_constant for Network, a std::size_t for DynamicNetwork),
/// first_index(), last_index(), layer_count(), inputs(), outputs() and parameter_count(). Only
/// the loops differ: a tuple unrolled at compile time or a vector walked at run time.
template <class Derived, class Scalar>
class NetworkBase {
public:
    /// Forward pass (§1.2): z = W a + b, a = σ(z), layer by layer, as for prediction (dropout
    /// off). `x` is inputs × batch, one sample per column; returns aᴸ (outputs × batch), which
    /// lives in `ws`.
    template <class X, class Workspace>
    const auto& forward(const Eigen::MatrixBase<X>& x, Workspace& ws) const {
        load(x, ws);
        return forward_prepared(ws, ws.input(), Pass{PassKind::predict, &ws.rng()});
    }

    /// A training forward pass, then the backward pass of equations (1)–(6) for the targets `y`
    /// (outputs × batch). Afterwards ws holds every zˡ, aˡ, δˡ, ∂C/∂Wˡ and ∂C/∂bˡ, each gradient
    /// the mean over the batch. Returns the batch cost C.
    template <class X, class Y, class Workspace>
    Scalar backward(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                    Workspace& ws) const {
        load(x, ws);
        return backward_prepared(ws, y);
    }

    /// The batch cost C of `x` against `y` (forward pass only, as for prediction).
    template <class X, class Y, class Workspace>
    Scalar loss(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y, Workspace& ws) const {
        load(x, ws);
        check_targets(y, ws.batch_size());
        forward_prepared(ws, ws.input(), Pass{PassKind::predict, &ws.rng()});
        return cost(ws, y);
    }

    /// The batch cost C of `x` against `y`, with a workspace of its own.
    template <class X, class Y, class D = Derived>
    Scalar loss(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y) const {
        typename D::template Workspace<> ws;
        return loss(x, y, ws);
    }

    /// The cost of `x` against `y` through the same sub-network as the training pass that last
    /// ran on `ws`: dropout reuses that pass's masks. What gradient_check() differentiates.
    template <class X, class Y, class Workspace>
    Scalar replay_loss(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                       Workspace& ws) const {
        load(x, ws);
        check_targets(y, ws.batch_size());
        forward_prepared(ws, ws.input(), Pass{PassKind::replay, &ws.rng()});
        return cost(ws, y);
    }

    /// aᴸ for `x` (inputs × batch) as a matrix of its own, outputs × batch. Allocates a
    /// workspace per call: use forward() with a reused workspace in a loop.
    template <class X, class D = Derived>
    typename D::OutputBatch predict(const Eigen::MatrixBase<X>& x) const {
        typename D::template Workspace<> ws;
        return forward(x, ws);
    }

    /// ∂C/∂x (§2.4.2 applied to the first layer), inputs × batch, after backward() on `ws`: how
    /// the cost moves with each input. Like δ and ∂C/∂a, it is per sample: column k is the
    /// gradient of sample k's own cost (the batch mean's is that divided by the batch size).
    /// Kept out of backward() because training never needs it.
    template <class Workspace>
    const auto& input_gradient(Workspace& ws) const {
        check_gradients(derived(), ws, "input_gradient");
        const auto first = derived().first_index();
        ws.size_input_gradient();
        derived().any_layer(first).propagate(ws.layer(first), ws.da_below(first));
        return ws.input_gradient();
    }

    /// The number of parameters: every entry of every W and b.
    Eigen::Index parameter_count() const {
        Eigen::Index count = 0;
        derived().for_each_layer(
            [&](const auto& layer, auto) { count += layer.parameter_count(); });
        return count;
    }

    /// One step of gradient descent with the gradients in `ws`: W ← W − η∇W, b ← b − η∇b.
    /// Throws NumericalError, changing nothing, when a parameter would not be finite after it.
    template <class Workspace>
    void update(const Workspace& ws, Scalar learning_rate) {
        check_gradients(derived(), ws, "update");
        check_descent_finite(derived(), ws.gradient_vector(), learning_rate,
                             [] { return std::string("update"); });
        descend_stored(ws, learning_rate);
    }

    /// One step of gradient descent on the batch `x` against `y`: backward(), then update(),
    /// unless the cost or a gradient is not finite, in which case it throws NumericalError and
    /// leaves the weights as they were. Returns the batch cost. Faster than the two calls, and
    /// equal to them up to rounding: each layer large enough for GEMM adds (η/n) δaᵀ straight
    /// into W (∂C/∂W is never stored; the check is made on δ and a, see
    /// detail/finite_step.hpp), and x is read where it is when it lives in memory. Afterwards ws
    /// holds every zˡ, aˡ and δˡ, but no gradients (has_gradients() is false) and not necessarily
    /// x: use backward() and update() to see them. Throws ConfigError unless η is positive and
    /// finite. fit() with a plain Sgd takes this step.
    template <class X, class Y, class Workspace>
    Scalar train_step(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y, Workspace& ws,
                      Scalar learning_rate) {
        const auto where = [] { return std::string("train_step"); };
        if constexpr (reads_memory<X>()) {
            check_inputs(x);
            ws.prepare(derived(), x.cols());
            return step_prepared(ws, x, y, learning_rate, where);
        } else {
            load(x, ws);  // an expression: evaluated once, not once per read
            return step_prepared(ws, ws.input(), y, learning_rate, where);
        }
    }

    /// The forward pass (as for prediction) on the batch already in ws.input() (filled after
    /// ws.prepare(net, n)); returns aᴸ. Throws ShapeError when ws.input() does not fit.
    template <class Workspace>
    const auto& run_forward(Workspace& ws) const {
        check_inputs(ws.input());
        ws.prepare(derived(), ws.input().cols());
        return forward_prepared(ws, ws.input(), Pass{PassKind::predict, &ws.rng()});
    }

    /// forward + backward on the batch already in ws.input(); returns the batch cost.
    template <class Workspace, class Y>
    Scalar run_backward(Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        check_inputs(ws.input());
        ws.prepare(derived(), ws.input().cols());
        return backward_prepared(ws, y);
    }

    /// train_step() on the batch already in ws.input(); returns the batch cost. A refused step
    /// throws NumericalError whose message starts with where() (fit() names the epoch and
    /// batch).
    template <class Workspace, class Y, class Where>
    Scalar run_train_step(Workspace& ws, const Eigen::MatrixBase<Y>& y, Scalar learning_rate,
                          const Where& where) {
        check_inputs(ws.input());
        ws.prepare(derived(), ws.input().cols());
        return step_prepared(ws, ws.input(), y, learning_rate, where);
    }

    /// Throws NumericalError naming where() unless the cost and every gradient in ws are finite.
    /// `where` returns the place as text, and is called only on failure so that the check
    /// allocates nothing.
    template <class Workspace, class Where>
    static void check_finite(Scalar c, const Workspace& ws, Where&& where) {
        refuse_unless_finite(c, std::isfinite(c) && ws.gradients_finite(), where);
    }

    /// check_finite() with the gradients' finiteness already known: throws NumericalError naming
    /// where() unless c is finite and `gradients_finite`.
    template <class Where>
    static void refuse_unless_finite(Scalar c, bool gradients_finite, Where&& where) {
        if (!std::isfinite(c)) {
            throw NumericalError(cat(where(), ": the loss is ", c,
                                     "; the weights are left as they were before this step"));
        }
        if (!gradients_finite) {
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
            throw ShapeError(
                cat("inputs have ", samples(batch), " (columns) but targets have ", y.cols()));
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
        if (x.cols() == 0)
            throw ShapeError("the batch is empty (0 columns)");
        if (x.rows() != derived().inputs()) {
            throw ShapeError(cat(layer_name(derived().any_layer(derived().first_index()), 1),
                                 ": input has ", x.rows(), " rows, the layer expects ",
                                 derived().inputs()));
        }
    }

    /// The training forward pass and the backward pass of the batch x (inputs × batch, ws
    /// prepared for it) against targets `y` already checked: (1) at the output, then for each
    /// layer from the output down its error terms and, where store(layer, i, aˡ⁻¹) says so, its
    /// gradients (2), (3), (5), (6), then ∂C/∂a for the layer below. Returns C. DataParallel runs
    /// it on each shard of a batch.
    template <class Workspace, class X, class Y, class Store>
    Scalar backward_pass(Workspace& ws, const Eigen::MatrixBase<X>& x,
                         const Eigen::MatrixBase<Y>& y, Store&& store) const {
        forward_prepared(ws, x, Pass{PassKind::train, &ws.rng()});
        const Scalar c = cost(ws, y);
        const auto last = derived().last_index();
        using Loss = typename Derived::Loss;
        auto& output = ws.layer(last);
        if constexpr (LossTraits<Loss>::fused)
            Loss::fused_delta(output.a, y, output.delta);  // (1), the loss's own δᴸ
        else
            Loss::gradient(output.a, y, output.da);  // ∂C/∂aᴸ, for (1)
        derived().for_each_layer_reverse([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                BackwardPass how;
                how.delta_given = LossTraits<Loss>::fused && i == last;
                how.store_gradients = store(layer, i, input);
                layer.backward(input, ws.layer(i), how);
            });
            if (i != derived().first_index())
                layer.propagate(ws.layer(i), ws.da_below(i));
        });
        return c;
    }

    /// What DataParallel needs of one shard's pass for a folded step (run_shard_pass()).
    struct ShardPass {
        Scalar cost = 0;           ///< C over the shard.
        Scalar stored_extent = 0;  ///< max |entry| of the gradients it stored (NaN, ∞ if so).
        bool folds_finite = true;  ///< Every folded layer's share of the step is known finite.
        bool folds_harmless = true;  ///< ... and too small to need the parameters read.
    };

    /// ANDs into plan[i] whether DataParallel folds layer i's step in parts (folds_parts) for a
    /// shard of ws's batch size; asked for the smallest and the largest shard, so that every
    /// shard of a batch agrees. `plan` holds a char per layer, each 1 before the first call.
    template <class Workspace>
    void plan_part_folds(const Workspace& ws, std::vector<char>& plan) const {
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, ws.input(), i, [&](const auto& input) {
                char& folds = plan[std::size_t(i)];
                folds = char(folds && folds_parts(layer, input));
            });
        });
    }

    /// One shard's forward and backward passes (ws.input() filled, ws prepared) for a step
    /// DataParallel folds: ∂C/∂W is stored only for layers the plan does not fold, and each
    /// folded layer's share of the step is bounded, at the shard's rate `share_rate` (η times
    /// the shard count times the shard's share of the batch, so that the shares' sum keeps
    /// every single bound).
    template <class Workspace, class Y>
    ShardPass run_shard_pass(Workspace& ws, const Eigen::MatrixBase<Y>& y,
                             const std::vector<char>& plan, Scalar share_rate) const {
        ShardPass pass;
        pass.cost = backward_pass(ws, ws.input(), y, [&](const auto&, auto i, const auto&) {
            return plan[std::size_t(i)] == 0;
        });
        derived().for_each_layer([&](const auto& layer, auto i) {
            if (plan[std::size_t(i)] == 0) {
                const Eigen::Index offset = ws.record(std::size_t(i)).offset;
                const Scalar extent =
                    max_abs(ws.gradient_vector().segment(offset, layer.parameter_count()));
                // Written out, not std::max: a NaN extent must win and then stay.
                if (!(extent <= pass.stored_extent) && !std::isnan(pass.stored_extent))
                    pass.stored_extent = extent;
                return;
            }
            with_input(ws, ws.input(), i, [&](const auto& input) {
                bound_share(layer, input, ws.layer(i), share_rate, pass);
            });
        });
        return pass;
    }

    /// True when every parameter of the layers the plan folds is at most a quarter of the
    /// largest finite number (read only when a shard's step was not harmless).
    bool folded_parameters_bounded(const std::vector<char>& plan) const {
        bool bounded = true;
        derived().for_each_layer([&](const auto& layer, auto i) {
            bounded = bounded && (plan[std::size_t(i)] == 0 || parameters_bounded(layer));
        });
        return bounded;
    }

    /// Part `part` of `parts` of DataParallel's folded step: every layer the plan folds takes
    /// its part of W ← W − step Σₜ δₜ aₜᵀ (and of b) from each shard's workspace in turn.
    template <class Workspaces>
    void descend_part(const Workspaces& shards, const std::vector<char>& plan, Scalar step,
                      int part, int parts) {
        derived().for_each_layer([&](auto& layer, auto i) {
            if (plan[std::size_t(i)] == 0)
                return;
            for (const auto& ws : shards) {
                with_input(ws, ws.input(), i, [&](const auto& input) {
                    descend_part_of(layer, input, ws.layer(i), step, part, parts);
                });
            }
        });
    }

    /// Stores, from the δ already in ws, the gradients of the layers the plan folds: a shard
    /// whose folded step was refused then holds its whole gradient, for the usual check.
    template <class Workspace>
    void store_planned(Workspace& ws, const std::vector<char>& plan) const {
        store_skipped(ws, ws.input(), [&](const auto&, auto i, const auto&) {
            return plan[std::size_t(i)] != 0;
        });
    }

    /// True when every layer's neurons can be split between threads (layer_splits_rows()):
    /// DataParallel can then split a step by neurons (ParallelSplit).
    bool splits_rows() const {
        bool all = true;
        derived().for_each_layer(
            [&](const auto& layer, auto) { all = all && layer_splits_rows(layer); });
        return all;
    }

    /// True when `layer`'s neurons can be split between threads, as row_step_part() does: its
    /// type has splits_rows() (layer.hpp) and it says so.
    template <class Layer>
    static bool layer_splits_rows(const Layer& layer) {
        if constexpr (can_split_rows_v<Layer>)
            return layer.splits_rows();
        else
            return false;
    }

    /// Part `part` of `parts` of train_step on the batch x (ws prepared for it, y checked),
    /// split by neurons: the part computes its rows of every zˡ, aˡ, δˡ and ∂C/∂aˡ⁻¹
    /// (forward_rows, delta_rows, propagate_rows), and the parts meet at `barrier` after each
    /// layer; part 0 writes the batch cost into `cost`, and ∂C/∂aᴸ (or a fused loss's δᴸ). With
    /// every δ known, each part judges every parts-th layer's folded step (folded_bounded) into
    /// finite[part]; when all are judged finite and so is the cost, each part folds its part of
    /// every layer's step (descend_part) and true is returned. Otherwise nothing has changed
    /// and false is returned: the caller takes the step the usual way, which refuses it with
    /// its message. Every layer must split its rows and fold its step in parts.
    template <class Workspace, class X, class Y, class Barrier>
    bool row_step_part(Workspace& ws, const Eigen::MatrixBase<X>& x,
                       const Eigen::MatrixBase<Y>& y, Scalar learning_rate, int part, int parts,
                       Barrier& barrier, Scalar& cost, char* finite) {
        // Rows [cut(n, p), cut(n, p + 1)) of n are part p's: whole cache lines of each column.
        const auto cut = [&](Eigen::Index n, int p) {
            return p == parts ? n : n * p / parts / 16 * 16;
        };
        bool running = true;
        derived().for_each_layer([&](const auto& layer, auto i) {
            if (!running) return;
            with_input(ws, x, i, [&](const auto& input) {
                const Eigen::Index first = cut(layer.outputs(), part);
                forward_rows_of(layer, input, ws.layer(i), first,
                                cut(layer.outputs(), part + 1) - first);
            });
            running = barrier.wait();  // aˡ whole before the layer above reads it
        });
        if (!running) return false;
        using Loss = typename Derived::Loss;
        const auto last = derived().last_index();
        if (part == 0) {
            auto& output = ws.layer(last);
            cost = this->cost(ws, y);
            if constexpr (LossTraits<Loss>::fused)
                Loss::fused_delta(output.a, y, output.delta);  // (1), the loss's own δᴸ
            else
                Loss::gradient(output.a, y, output.da);  // ∂C/∂aᴸ, for (1)
        }
        if (!barrier.wait()) return false;
        derived().for_each_layer_reverse([&](const auto& layer, auto i) {
            if (!running) return;
            const Eigen::Index first = cut(layer.outputs(), part);
            if (!(LossTraits<Loss>::fused && i == last))
                delta_rows_of(layer, ws.layer(i), first, cut(layer.outputs(), part + 1) - first);
            running = barrier.wait();  // δˡ whole before Wᵀδ reads it
            if (running && i != derived().first_index()) {
                // Rows of the layer below: the rows its delta_rows() reads next are this part's.
                const Eigen::Index below = cut(layer.inputs(), part);
                propagate_rows_of(layer, ws.layer(i), ws.da_below(i), below,
                                  cut(layer.inputs(), part + 1) - below);
            }
        });
        if (!running) return false;
        bool vouched = true;
        derived().for_each_layer([&](const auto& layer, auto i) {
            if (std::size_t(i) % std::size_t(parts) != std::size_t(part)) return;
            with_input(ws, x, i, [&](const auto& input) {
                vouched = vouched && folded_bounded(layer, input, ws.layer(i), learning_rate);
            });
        });
        finite[part] = char(vouched);
        if (!barrier.wait() || !std::isfinite(cost)) return false;
        for (int p = 0; p < parts; ++p)
            if (!finite[p]) return false;
        // No part reads W from here on: each folds its columns of every W.
        const Scalar step = learning_rate / Scalar(ws.batch_size());
        derived().for_each_layer([&](auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                descend_part_of(layer, input, ws.layer(i), step, part, parts);
            });
        });
        return true;
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
    const auto& forward_prepared(Workspace& ws, const Eigen::MatrixBase<X>& x,
                                 const Pass& pass) const {
        ws.set_has_gradients(false);
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, x, i,
                       [&](const auto& input) { layer.forward(input, ws.layer(i), pass); });
        });
        return ws.output();
    }

    template <class Workspace, class Y>
    Scalar backward_prepared(Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        check_targets(y, ws.batch_size());
        const Scalar c = backward_pass(ws, ws.input(), y, [](const auto&...) { return true; });
        ws.set_has_gradients(true);
        return c;
    }

    // True when train_step folds layer's step into its parameters for this input.
    template <class Layer, class Input>
    static bool folds(const Layer& layer, const Input& input) {
        if constexpr (can_descend_v<Layer, Input>)
            return layer.template folds_step<Input>(input.cols());
        else
            return false;
    }

    // True when DataParallel folds layer's step in parts for this input.
    template <class Layer, class Input>
    static bool folds_parts(const Layer& layer, const Input& input) {
        if constexpr (can_descend_v<Layer, Input> && can_descend_parts_v<Layer, Input>)
            return layer.template folds_parts<Input>(input.cols());
        else
            return false;
    }

    // layer.forward_rows(), for count > 0 rows; called only where layer_splits_rows() is true.
    // These helpers take the layer as a parameter for the reason descend_folded() does.
    template <class Layer, class Input, class State>
    static void forward_rows_of(const Layer& layer, const Input& input, State& state,
                                Eigen::Index first, Eigen::Index count) {
        if constexpr (can_split_rows_v<Layer>)
            if (count > 0) layer.forward_rows(input, state, first, count);
    }

    // layer.delta_rows(), likewise.
    template <class Layer, class State>
    static void delta_rows_of(const Layer& layer, State& state, Eigen::Index first,
                              Eigen::Index count) {
        if constexpr (can_split_rows_v<Layer>)
            if (count > 0) layer.delta_rows(state, first, count);
    }

    // layer.propagate_rows(), likewise.
    template <class Layer, class State, class Below>
    static void propagate_rows_of(const Layer& layer, const State& state, Below&& da_below,
                                  Eigen::Index first, Eigen::Index count) {
        if constexpr (can_split_rows_v<Layer>)
            if (count > 0) layer.propagate_rows(state, std::forward<Below>(da_below), first, count);
    }

    // Part `part` of `parts` of layer's folded step; called only where folds_parts() is true.
    // Static for the reason descend_folded() is.
    template <class Layer, class Input, class State>
    static void descend_part_of(Layer& layer, const Input& input, const State& state,
                                Scalar step, int part, int parts) {
        if constexpr (can_descend_parts_v<Layer, Input>)
            layer.descend_part(input, state, step, part, parts);
    }

    // layer's folded step for this input; called only where folds() is true. The layer is a
    // parameter here so that the call stays dependent: inside a lambda nested in the per-layer
    // one, clang looks up `layer.descend` when the outer lambda is instantiated, even in a
    // discarded `if constexpr` branch, and a layer without descend() fails to compile.
    template <class Layer, class Input, class State>
    static void descend_folded(Layer& layer, const Input& input, State& state,
                               Scalar learning_rate) {
        if constexpr (can_descend_v<Layer, Input>) layer.descend(input, state, learning_rate);
    }

    // ANDs into pass whether layer's share of a folded step, at rate share_rate, is known
    // finite and known harmless (step_is_harmless). Static for the reason descend_folded() is.
    template <class Layer, class Input, class State>
    static void bound_share(const Layer& layer, const Input& input, const State& state,
                            Scalar share_rate, ShardPass& pass) {
        if constexpr (can_descend_v<Layer, Input>) {
            // The larger rate first: a harmless step is finite (folded_bounded says why).
            const bool harmless = step_is_harmless(layer, input, state, share_rate);
            pass.folds_harmless = pass.folds_harmless && harmless;
            pass.folds_finite = pass.folds_finite &&
                                (harmless || layer.step_is_finite(input, state, share_rate));
        }
    }

    // True when layer's folded step for this input is known to stay finite: the step from its
    // δ and aˡ⁻¹ (step_is_finite), and the parameters it is added to, which are read only when
    // the step is not harmless (step_is_harmless). A static helper for the reason
    // descend_folded() is one. Asked at the larger rate first: step_is_finite()'s answer is
    // monotone in the rate (layer.hpp), so a harmless step is finite at η too, and the usual
    // case reads δ and aˡ⁻¹ once instead of twice (W1, whose first layer reads the 784 × 64
    // input, measured 2.5% faster a step; docs/performance.md).
    template <class Layer, class Input, class State>
    static bool folded_bounded(const Layer& layer, const Input& input, const State& state,
                               Scalar learning_rate) {
        if constexpr (can_descend_v<Layer, Input>)
            return step_is_harmless(layer, input, state, learning_rate) ||
                   (layer.step_is_finite(input, state, learning_rate) &&
                    parameters_bounded(layer));
        else
            return false;
    }

    // True when layer's folded step is so small that no finite parameter can be carried past
    // the largest finite number (harmless_change), so that the parameters need not be read: a
    // pass over W as long as the step's products. step_is_finite() at a rate K = 8/ε times η
    // vouches for it: it keeps D·max(A, 1)·Kη ≤ max/4 (D, A the extents of δ and aˡ⁻¹), and
    // each increment, at most e·η·D·max(A, 1) (finite_step.hpp), is then below max·ε/8 for any
    // K ≥ 2e/ε. Kη overflowing, or a layer's bound not reached, means "not known".
    template <class Layer, class Input, class State>
    static bool step_is_harmless(const Layer& layer, const Input& input, const State& state,
                                 Scalar learning_rate) {
        const Scalar k = Scalar(8) / Eigen::NumTraits<Scalar>::epsilon();
        return layer.step_is_finite(input, state, learning_rate * k);
    }

    // train_step on the batch x (ws prepared for it). The step is folded into W layer by layer
    // only once every layer's step is known to be finite, so that a refused step changes nothing.
    template <class Workspace, class X, class Y, class Where>
    Scalar step_prepared(Workspace& ws, const Eigen::MatrixBase<X>& x,
                         const Eigen::MatrixBase<Y>& y, Scalar learning_rate, const Where& where) {
        check_positive_option("train_step", "the learning rate", double(learning_rate));
        check_targets(y, ws.batch_size());
        // A folded layer's ∂C/∂W is never stored: it is added into W below.
        const Scalar c = backward_pass(ws, x, y, [](const auto& layer, auto, const auto& input) {
            return !folds(layer, input);
        });
        // Checked once the pass is done, not in its callback: that runs before the layer's
        // backward() has computed this batch's δ, and would judge the last batch's. (Checking
        // the stored gradients inside the pass also measured about 10% slower on [2,3,2].)
        bool finite = true;
        derived().for_each_layer([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                if (folds(layer, input)) {
                    finite = finite && folded_bounded(layer, input, ws.layer(i), learning_rate);
                } else {
                    finite = finite && stored_bounded(ws, i, layer, learning_rate);
                }
            });
        });
        if (finite && std::isfinite(c)) {
            derived().for_each_layer([&](auto& layer, auto i) {
                with_input(ws, x, i, [&](const auto& input) {
                    if (folds(layer, input))
                        descend_folded(layer, input, ws.layer(i), learning_rate);
                    else
                        descend_layer(ws, i, layer, learning_rate);
                });
            });
            return c;
        }
        // A NaN or infinity somewhere, or values too near overflow to tell: store every
        // gradient, and let the usual check refuse the step with its usual message.
        store_skipped(ws, x, [](const auto& layer, auto, const auto& input) {
            return folds(layer, input);
        });
        ws.set_has_gradients(true);
        check_finite(c, ws, where);
        check_descent_finite(derived(), ws.gradient_vector(), learning_rate, where);
        descend_stored(ws, learning_rate);
        ws.set_has_gradients(false);
        return c;
    }

    // Stores ∂C/∂W and ∂C/∂b, from the δ already in ws, for the layers whose backward pass
    // skipped them (skipped(layer, i, aˡ⁻¹) is true).
    template <class Workspace, class X, class Skipped>
    void store_skipped(Workspace& ws, const Eigen::MatrixBase<X>& x,
                       const Skipped& skipped) const {
        derived().for_each_layer_reverse([&](const auto& layer, auto i) {
            with_input(ws, x, i, [&](const auto& input) {
                if (!skipped(layer, i, input))
                    return;
                BackwardPass how;
                how.delta_given = true;  // δ is in the state already
                layer.backward(input, ws.layer(i), how);
            });
        });
    }

    // True when every parameter of `layer` is at most a quarter of the largest finite number:
    // a folded increment, bounded by step_is_finite, then cannot carry it past the largest.
    template <class Layer>
    static bool parameters_bounded(const Layer& layer) {
        bool bounded = true;
        layer.for_each_parameter([&](const auto& p, const char*) {
            bounded = bounded && max_abs(p) <= std::numeric_limits<Scalar>::max() / Scalar(4);
        });
        return bounded;
    }

    // True when layer i's stored gradients in ws are finite and so small that W ← W − η∇W
    // stays finite whatever the (finite) weights are (harmless_change): the parameters are not
    // read. A larger step goes the stored and checked way, which looks at them.
    template <class Workspace, class I, class Layer>
    static bool stored_bounded(const Workspace& ws, I i, const Layer& layer,
                               Scalar learning_rate) {
        const auto& record = ws.record(static_cast<std::size_t>(i));
        const Scalar max_gradient =
            max_abs(ws.gradient_vector().segment(record.offset, layer.parameter_count()));
        return max_gradient * std::abs(learning_rate) <= harmless_change<Scalar>();  // no NaN
    }

    // W ← W − η∇W, b ← b − η∇b for layer i from the gradients stored in ws.
    template <class Workspace, class I, class Layer>
    EIGEN_ALWAYS_INLINE static void descend_layer(const Workspace& ws, I i, Layer& layer,
                                                  Scalar learning_rate) {
        const Scalar* gradient = ws.gradient_vector().data() + ws.record(std::size_t(i)).offset;
        layer.for_each_parameter([&](auto& p, const char*) {
            const Eigen::Map<const PlainOf<decltype(p)>> g(gradient, p.rows(), p.cols());
            subtract_scaled(p, learning_rate, g);  // W ← W − η ∂C/∂W (the notes' descent)
            gradient += p.size();
        });
    }

    // Every layer's W ← W − η∇W with the gradients in ws (shapes checked by the caller).
    template <class Workspace>
    void descend_stored(const Workspace& ws, Scalar learning_rate) {
        derived().for_each_layer(
            [&](auto& layer, auto i) { descend_layer(ws, i, layer, learning_rate); });
    }

    template <class X, class Workspace>
    void load(const Eigen::MatrixBase<X>& x, Workspace& ws) const {
        check_inputs(x);
        ws.prepare(derived(), x.cols());
        ws.input() = x;
    }

    template <class Workspace, class Y>
    Scalar cost(const Workspace& ws, const Eigen::MatrixBase<Y>& y) const {
        using Loss = typename Derived::Loss;
        const auto& output = ws.layer(derived().last_index());
        if constexpr (LossTraits<Loss>::fused)
            return Loss::fused_cost(output.z, y);
        else
            return Loss::cost(output.a, y);
    }
};

}  // namespace nabla::detail
