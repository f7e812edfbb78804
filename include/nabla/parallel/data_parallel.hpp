#pragma once

// Data parallelism on one machine. A batch of n samples is cut into one shard of columns per
// thread; each thread runs the forward pass and the error terms δ of equations (1) and (4) on
// its shard. The gradients then need every shard's δ: equations (3) and (6) summed over the
// batch are sums over the shards,
//
//     ∂C/∂Wˡ = (1/n) Σₜ δˡₜ (aˡ⁻¹ₜ)ᵀ,   ∂C/∂bˡ = (1/n) Σₜ δˡₜ,   C = Σₜ (nₜ/n) Cₜ
//
// and each thread computes them for its own slice of the columns of ∂C/∂Wˡ (one slice of the
// inputs of layer l) from all the shards. So the gradients exist once, no thread writes memory
// another writes, and there is no reduction pass over per-thread copies; the SGD update of a
// slice then runs on the thread that just computed it, in its cache.
//
// Why split the batch and not each product: the layers of an MLP are small matrices, and a
// product split across threads leaves each a sliver too thin to run at full speed, while a
// shard keeps whole products of half the width.

#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/gemm.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/error.hpp>
#include <nabla/layer.hpp>
#include <nabla/parallel/thread_pool.hpp>
#include <nabla/workspace.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace nabla {

/// Training steps of `Net` (a Network or DynamicNetwork) with each batch split across threads:
///
///     nabla::DataParallel<Net> parallel(2);             // 2 threads, the caller's included
///     float cost = parallel.train_step(net, x, y, 0.05f);
///     // or, with any optimizer:
///     parallel.backward(net, x, y);
///     adam.step(net, parallel.gradients());
///
/// A batch of n columns runs in min(threads, n) shards; shard t holds n/threads columns (the
/// first n mod threads shards one more). The result is the single-threaded one up to the
/// rounding of the sums, and the same bit for bit from run to run for one thread count.
/// Memory: one set of gradients, and activations and deltas for the batch (in shards), kept for
/// the last two batch sizes seen (an epoch's full batches and its last, smaller one), so that
/// training allocates nothing after its first epoch.
template <class Net>
class DataParallel {
public:
    using Scalar = typename Net::Scalar;                    ///< float or double.
    using Workspace = typename Net::template Workspace<>;  ///< The buffers of one shard.

    /// `threads` threads in all, the caller's included; throws ConfigError unless threads ≥ 1.
    explicit DataParallel(int threads)
        : m_pool(threads),
          m_cost(static_cast<std::size_t>(threads), Scalar(0)),
          m_finite(static_cast<std::size_t>(threads), 1) {}

    /// The number of threads, the caller's included.
    int threads() const { return m_pool.size(); }

    /// The forward pass and equations (1)–(6) for x (inputs × n) against y (outputs × n), shard
    /// by shard; afterwards gradients() holds ∂C/∂Wˡ and ∂C/∂bˡ, the means over the whole batch,
    /// for any optimizer's step(net, gradients()). Returns the batch cost C. Throws ShapeError
    /// as Network::backward does.
    template <class X, class Y>
    Scalar backward(const Net& net, const Eigen::MatrixBase<X>& x,
                    const Eigen::MatrixBase<Y>& y) {
        Shards& set = shard_passes(net, x, y, [](const Workspace&, std::size_t) {});
        m_pool.run([&](int part) {
            m_finite[static_cast<std::size_t>(part)] = slice_gradients(net, set, part);
        });
        m_gradients.m_has_gradients = true;
        return batch_cost(set);
    }

    /// One step of gradient descent with the gradients of the last backward(), W ← W − η∇W and
    /// b ← b − η∇b, each thread on the slices it computed. Throws ShapeError unless backward()
    /// ran for a network of the shape of `net`.
    void update(Net& net, Scalar learning_rate) {
        check_gradients(net, "DataParallel::update");
        m_pool.run([&](int part) {
            net.for_each_layer([&](auto& layer, auto i) {
                const auto& g = m_gradients.layer(i);
                const auto [c, nc] = slice(part, layer.inputs());
                const auto [r, nr] = slice(part, layer.outputs());
                detail::LayerAccess::weights(layer).middleCols(c, nc) -=
                    learning_rate * g.dW.middleCols(c, nc);
                detail::LayerAccess::bias(layer).segment(r, nr) -=
                    learning_rate * g.db.segment(r, nr);
            });
        });
    }

    /// backward(), then update() unless the cost or a gradient is not finite, in which case it
    /// throws NumericalError and leaves the weights as they were. Returns the batch cost. As in
    /// Network::train_step, the step is added straight into W, each thread its slice of
    /// (η/n) Σₜ δₜaₜᵀ, once every shard's δ and a show it finite (detail/finite_step.hpp), so
    /// gradients() holds none afterwards; the result is backward() + update() up to rounding.
    /// Throws ConfigError unless η is positive and finite.
    template <class X, class Y>
    Scalar train_step(Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                      Scalar learning_rate) {
        const auto where = [] { return std::string("DataParallel::train_step"); };
        detail::check_positive_option("DataParallel::train_step", "the learning rate",
                                      double(learning_rate));
        Shards& set = shard_passes(net, x, y, [&](const Workspace& ws, std::size_t t) {
            net.for_each_layer([&](const auto&, auto i) {
                Scalar* extent = &m_extents[2 * (t * m_layers + static_cast<std::size_t>(i))];
                extent[0] = detail::max_abs(ws.layer(i).delta);  // while δ and a are in cache
                extent[1] = detail::max_abs(ws.input_of(i));
            });
        });
        const Scalar cost = batch_cost(set);
        if (std::isfinite(cost) && steps_are_finite(net, set, learning_rate)) {
            const Scalar step = learning_rate / Scalar(set.batch);
            m_pool.run([&](int part) { descend_slices(net, set, part, step); });
            return cost;
        }
        // A NaN or infinity somewhere, or values too near overflow to tell: store the gradients
        // and let the usual check refuse the step with its usual message.
        m_pool.run([&](int part) {
            m_finite[static_cast<std::size_t>(part)] = slice_gradients(net, set, part);
        });
        m_gradients.m_has_gradients = true;
        Net::check_finite(cost, *this, where);
        update(net, learning_rate);
        m_gradients.m_has_gradients = false;
        return cost;
    }

    /// The batch's ∂C/∂Wˡ and ∂C/∂bˡ after backward(), in a workspace as optimizers take it.
    /// Only its gradients are set: the activations and deltas are in the shards (see shard()).
    const Workspace& gradients() const { return m_gradients; }

    /// True when every entry of ∂C/∂W and ∂C/∂b is finite (checked as they were computed, so
    /// it costs no extra pass).
    bool gradients_finite() const {
        return std::all_of(m_finite.begin(), m_finite.end(), [](char f) { return f != 0; });
    }

    /// The shards the last batch was cut into.
    Eigen::Index shards() const { return m_current ? m_current->count : 0; }
    /// Shard t of the last batch: zˡ, aˡ and δˡ of its columns (its own ∂C/∂W are unset).
    const Workspace& shard(Eigen::Index t) const { return current().workspaces.at(index(t)); }
    /// The first column of the last batch that shard t holds.
    Eigen::Index shard_begin(Eigen::Index t) const { return current().begin.at(index(t)); }

private:
    /// Workspaces for the shards of one batch size.
    struct Shards {
        Eigen::Index batch = 0;            // the batch size they are cut for; 0: unused
        int count = 0;                     // min(threads, batch)
        std::vector<Workspace> workspaces;
        std::vector<Eigen::Index> begin;   // shard t holds columns [begin[t], begin[t] + size)
        long long last_used = 0;
    };

    static std::size_t index(Eigen::Index t) { return static_cast<std::size_t>(t); }

    const Shards& current() const {
        if (!m_current) throw ShapeError("DataParallel: no batch has run yet");
        return *m_current;
    }

    // [first, first + size) of this part's share of `total` columns or rows.
    std::array<Eigen::Index, 2> slice(int part, Eigen::Index total) const {
        const Eigen::Index first = total * part / threads();
        return {first, total * (part + 1) / threads() - first};
    }

    // Picks (or, for a new batch size or network shape, builds in place of the least recently
    // used) the shard workspaces for `batch` columns of `net`, and sizes the gradients.
    void prepare(const Net& net, Eigen::Index batch) {
        ++m_uses;
        Shards* pick = nullptr;
        for (Shards& set : m_sets)
            if (fits(net, set, batch)) pick = &set;
        if (!pick) {
            pick = m_sets[0].last_used <= m_sets[1].last_used ? &m_sets[0] : &m_sets[1];
            build(net, *pick, batch);
        }
        pick->last_used = m_uses;
        m_current = pick;
        m_gradients.prepare(net, 1);  // allocates only for a network of another shape
        m_layers = static_cast<std::size_t>(net.layer_count());
        // Grows to the most shards × layers seen; a vector keeps its capacity when it shrinks.
        m_extents.resize(2 * static_cast<std::size_t>(pick->count) * m_layers);
    }

    // True when `set` was built for `batch` columns of a network of the shape of `net`.
    static bool fits(const Net& net, const Shards& set, Eigen::Index batch) {
        if (set.batch != batch || set.workspaces.empty()) return false;
        const Workspace& ws = set.workspaces.front();
        if (ws.input().rows() != net.inputs()) return false;
        bool same = true;
        net.for_each_layer([&](const auto& layer, auto i) {
            same = same && ws.layer(i).z.rows() == layer.outputs();
        });
        return same;
    }

    void build(const Net& net, Shards& set, Eigen::Index batch) {
        set.batch = batch;
        set.count = int(std::min<Eigen::Index>(threads(), batch));
        set.workspaces.resize(static_cast<std::size_t>(set.count));
        set.begin.assign(static_cast<std::size_t>(set.count), 0);
        const Eigen::Index base = batch / set.count;
        const Eigen::Index extra = batch % set.count;
        Eigen::Index first = 0;
        for (std::size_t t = 0; t < set.workspaces.size(); ++t) {
            const Eigen::Index size = base + (Eigen::Index(t) < extra ? 1 : 0);
            set.begin[t] = first;
            set.workspaces[t].prepare(net, size);
            release_gradients(net, set.workspaces[t]);  // the shards need δ, not ∂C/∂W
            first += size;
        }
    }

    static void release_gradients(const Net& net, Workspace& ws) {
        net.for_each_layer([&](const auto&, auto i) {
            auto& state = ws.layer(i);
            using State = std::decay_t<decltype(state)>;
            if constexpr (State::Weights::SizeAtCompileTime == Eigen::Dynamic)
                state.dW = typename State::Weights();
            if constexpr (State::Bias::SizeAtCompileTime == Eigen::Dynamic)
                state.db = typename State::Bias();
        });
    }

    // Checks x and y, picks the shards for x's batch and runs shard_pass() on each, on its own
    // thread, then `after(shard's workspace, t)` on that thread. Returns the shards.
    template <class X, class Y, class After>
    Shards& shard_passes(const Net& net, const Eigen::MatrixBase<X>& x,
                         const Eigen::MatrixBase<Y>& y, After&& after) {
        net.check_inputs(x);
        net.check_targets(y, x.cols());
        prepare(net, x.cols());
        m_gradients.m_has_gradients = false;
        Shards& set = *m_current;
        m_pool.run([&](int part) {
            if (part >= set.count) return;
            const std::size_t t = static_cast<std::size_t>(part);
            shard_pass(net, x, y, set, t);
            after(set.workspaces[t], t);
        });
        return set;
    }

    // C = Σₜ (nₜ/n) Cₜ over the shards of the last pass.
    Scalar batch_cost(const Shards& set) const {
        Scalar cost = 0;
        for (std::size_t t = 0; t < set.workspaces.size(); ++t)
            cost += Scalar(set.workspaces[t].batch_size()) / Scalar(set.batch) * m_cost[t];
        return cost;
    }

    // True when every layer's step is known finite from the extents of δ and a the shards
    // measured: the largest over the shards bound the sums over the whole batch.
    bool steps_are_finite(const Net& net, const Shards& set, Scalar learning_rate) const {
        bool finite = true;
        net.for_each_layer([&](const auto&, auto i) {
            Scalar d = 0;
            Scalar a = 0;
            for (std::size_t t = 0; t < set.workspaces.size(); ++t) {
                const Scalar* extent = &m_extents[2 * (t * m_layers + static_cast<std::size_t>(i))];
                finite = finite && std::isfinite(extent[0]) && std::isfinite(extent[1]);
                d = std::max(d, extent[0]);
                a = std::max(a, extent[1]);
            }
            finite = finite && detail::step_is_finite(d, a, Scalar(set.batch), learning_rate);
        });
        return finite;
    }

    // This part's slice of every layer's step, added straight into W and b: the columns of Wˡ
    // and rows of bˡ that slice_gradients() would compute ∂C/∂W and ∂C/∂b for.
    void descend_slices(Net& net, const Shards& set, int part, Scalar step) {
        net.for_each_layer([&](auto& layer, auto i) {
            const auto [c, nc] = slice(part, layer.inputs());
            const auto [r, nr] = slice(part, layer.outputs());
            auto W = detail::LayerAccess::weights(layer).middleCols(c, nc);
            auto b = detail::LayerAccess::bias(layer).segment(r, nr);
            for (std::size_t t = 0; t < set.workspaces.size(); ++t) {
                const Workspace& ws = set.workspaces[t];
                const auto& delta = ws.layer(i).delta;
                const auto input = ws.input_of(i).middleRows(c, nc);
                detail::gemm(W, delta, input.transpose(), -step, true);        // (3), (6) in W
                b.noalias() -= step * delta.middleRows(r, nr).rowwise().sum();  // (2), (5) in b
            }
        });
    }

    // Shard t: a⁰ from its columns of x, the forward pass, its cost and every δˡ.
    template <class X, class Y>
    void shard_pass(const Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                    Shards& set, std::size_t t) {
        Workspace& ws = set.workspaces[t];
        const Eigen::Index first = set.begin[t];
        const Eigen::Index size = ws.batch_size();
        ws.input() = x.middleCols(first, size);
        const auto no_gradients = [](const auto&, auto, const auto&) {};  // summed by slices
        m_cost[t] = net.forward_and_deltas(ws, ws.input(), y.middleCols(first, size), no_gradients);
    }

    // This part's slice of every ∂C/∂Wˡ (a block of its columns) and ∂C/∂bˡ (a block of its
    // rows), summed over the shards: equations (2), (3), (5), (6). Returns whether the slice
    // is finite (x·0 is 0 for finite x, NaN otherwise; see LayerState).
    bool slice_gradients(const Net& net, const Shards& set, int part) {
        const Scalar inv_batch = Scalar(1) / Scalar(set.batch);
        bool finite = true;
        net.for_each_layer([&](const auto& layer, auto i) {
            auto& g = m_gradients.layer(i);
            const auto [c, nc] = slice(part, layer.inputs());
            const auto [r, nr] = slice(part, layer.outputs());
            auto dW = g.dW.middleCols(c, nc);
            auto db = g.db.segment(r, nr);
            for (std::size_t t = 0; t < set.workspaces.size(); ++t) {
                const Workspace& ws = set.workspaces[t];
                const auto& delta = ws.layer(i).delta;
                const auto input = ws.input_of(i).middleRows(c, nc);
                detail::gemm(dW, delta, input.transpose(), inv_batch, t != 0);  // δ aᵀ
                if (t == 0)
                    db.noalias() = inv_batch * delta.middleRows(r, nr).rowwise().sum();  // δ
                else
                    db.noalias() += inv_batch * delta.middleRows(r, nr).rowwise().sum();
            }
            finite = finite && (dW.array() * Scalar(0)).sum() == Scalar(0) &&
                     (db.array() * Scalar(0)).sum() == Scalar(0);
        });
        return finite;
    }

    template <class N>
    void check_gradients(const N& net, const char* where) const {
        if (!m_gradients.has_gradients())
            throw ShapeError(detail::cat(where, ": there are no gradients; run backward() first"));
        net.for_each_layer([&](const auto& layer, auto i) {
            const auto& dW = m_gradients.layer(i).dW;
            if (dW.rows() != layer.outputs() || dW.cols() != layer.inputs()) {
                throw ShapeError(detail::cat(where, ": the gradients have shape ",
                                             detail::shape(dW.rows(), dW.cols()), " for ",
                                             layer.name(), ", whose W is ",
                                             detail::shape(layer.outputs(), layer.inputs())));
            }
        });
    }

    ThreadPool m_pool;
    std::array<Shards, 2> m_sets;  // the last two batch sizes
    Shards* m_current = nullptr;
    long long m_uses = 0;
    Workspace m_gradients;         // ∂C/∂W and ∂C/∂b of the whole batch
    std::vector<Scalar> m_cost;    // Cₜ, the mean cost over shard t
    std::vector<char> m_finite;    // per part: its slices of the gradients
    std::vector<Scalar> m_extents; // per shard and layer: max|δˡ|, max|aˡ⁻¹|
    std::size_t m_layers = 0;      // of the network of the last batch
};

}  // namespace nabla
