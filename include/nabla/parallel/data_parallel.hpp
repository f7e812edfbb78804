#pragma once

// Data parallelism on one machine. A batch of n samples is cut into one shard of columns per
// thread, and each thread runs the network's own backward pass on its shard, in a workspace of
// its own: the forward pass, the error terms and the gradients of equations (1)–(6), the same
// layer code as one thread runs. The gradient of the batch is then the mean of the shards'
// gradients weighted by their sizes,
//
//     ∂C/∂p = Σₜ (nₜ/n) ∂Cₜ/∂p,     C = Σₜ (nₜ/n) Cₜ,
//
// the notes' average over the samples (§1.6) taken in two steps. Each gradient lies in one
// contiguous array (parameters.hpp), so the weighted sum is one pass over arrays, each thread
// taking its own range of entries; a plain gradient-descent step adds that sum into the
// parameters in the same pass.
//
// Why split the batch and not each product: the layers of an MLP are small matrices, and a
// product split across threads leaves each a sliver too thin to run at full speed, while a
// shard keeps whole products of half the width.

#include <nabla/detail/all_finite.hpp>
#include <nabla/detail/finite_step.hpp>
#include <nabla/detail/format.hpp>
#include <nabla/detail/option_checks.hpp>
#include <nabla/detail/small.hpp>
#include <nabla/error.hpp>
#include <nabla/io/detail/state_bytes.hpp>
#include <nabla/layer.hpp>
#include <nabla/parallel/thread_pool.hpp>
#include <nabla/parameters.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace nabla {

namespace detail {

/// True when layer type L may split its neurons between two or more threads with at least
/// `least` per thread: it has the row functions (can_split_rows_v), its σ, when its type says,
/// acts on each entry alone (is_elementwise_v: not Softmax), and its output count is left to run
/// time or fixed at 2 · least or more.
template <class L>
constexpr bool may_split_rows(Eigen::Index least) {
    if constexpr (!can_split_rows_v<L>) {
        return false;
    } else {
        bool elementwise = true;
        if constexpr (has_activation_v<L>) {
            using A = typename L::Activation;
            elementwise = std::is_same_v<A, AnyActivation> || is_elementwise_v<A>;
        }
        return elementwise && (L::OutputsAtCompileTime == Eigen::Dynamic ||
                               Eigen::Index(L::OutputsAtCompileTime) >= 2 * least);
    }
}

/// Whether every layer type of Net may split its neurons (may_split_rows): a Network's layer
/// types are known at compile time; a DynamicNetwork's only at run time (true).
template <class Net, class = void>
struct LayerTypesMaySplitRows {
    /// As may_split_rows() for each layer type.
    static constexpr bool at_least(Eigen::Index) { return true; }
};
template <class Net>
struct LayerTypesMaySplitRows<Net, std::void_t<typename Net::LayerTypes>> {
    /// As may_split_rows() for each layer type.
    static constexpr bool at_least(Eigen::Index least) {
        return all(least, static_cast<typename Net::LayerTypes*>(nullptr));
    }

private:
    template <class... L>
    static constexpr bool all(Eigen::Index least, std::tuple<L...>*) {
        return (may_split_rows<L>(least) && ...);
    }
};

}  // namespace detail

/// How DataParallel::train_step() divides the work of a batch between its threads.
enum class ParallelSplit {
    /// By neurons where every layer can be split so and is wide enough for it to pay
    /// (DataParallel::min_neurons_per_thread, min_multiply_adds_per_thread); by samples otherwise.
    automatic,
    /// By samples: each thread runs the whole network on its shard of the batch's columns.
    samples,
    /// By neurons: each thread computes its rows of every layer over the whole batch and folds
    /// its columns of every W; ConfigError for a network whose layers cannot all be split so.
    neurons,
};

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
/// rounding of the sums (with Dropout, each shard draws its masks from its own generator, so
/// the masks differ too), and the same bit for bit from run to run for one thread count.
/// Memory: a workspace per shard (activations, deltas and a gradient array each), kept for the
/// last two batch sizes seen (an epoch's full batches and its last, smaller one), so that
/// training allocates nothing after its first epoch.
///
/// train_step() may split a batch by neurons instead (ParallelSplit): every thread then runs the
/// whole batch through its rows of each layer, zᵣ = Wᵣ a + bᵣ, and meets the others after each
/// layer, so that each product keeps the batch's full width. On three 1024-wide layers with a
/// batch of 256 (the W2 workload) that measured faster than shards of half the batch
/// (docs/performance.md). It needs layers that can split their rows (Dense with an element-wise
/// σ; layer.hpp) and whose steps fold in parts, and a workspace for the whole batch (again for
/// the last two batch sizes). The result is the single-threaded step's up to rounding.
template <class Net>
class DataParallel {
public:
    using Scalar = typename Net::Scalar;                    ///< float or double.
    using Workspace = typename Net::template Workspace<>;  ///< The buffers of one shard.
    using ShardPass = typename Net::ShardPass;              ///< What one shard's pass reports.

    /// `threads` threads in all, the caller's included; throws ConfigError unless threads ≥ 1,
    /// ResourceError when a thread cannot be started (ThreadPool). `seed` seeds the generators of the shards' training passes (dropout masks).
    explicit DataParallel(int threads, std::uint64_t seed = 0)
        : m_pool(threads),
          m_passes(static_cast<std::size_t>(threads)),
          m_finite(static_cast<std::size_t>(threads), 1),
          m_seed(seed) {}

    /// Writes the shards' generators (dropout masks) and which batch sizes they are cut for,
    /// for a checkpoint (io/checkpoint.hpp).
    void write_state(detail::StateWriter& out) const {
        out.i64(m_uses);
        for (const Shards& set : m_sets) {
            out.i64(set.workspaces.empty() ? 0 : set.batch);
            out.i64(set.last_used);
            out.u64(set.workspaces.size());
            for (const Workspace& ws : set.workspaces)
                for (std::uint64_t word : ws.rng().state()) out.u64(word);
        }
    }

    /// Reads what write_state() wrote, cutting the shards for `net` again: the next steps draw
    /// the masks the run that wrote it would have drawn.
    void read_state(const Net& net, detail::StateReader& in) {
        m_uses = in.i64();
        m_current = nullptr;
        for (std::size_t id = 0; id < m_sets.size(); ++id) {
            Shards& set = m_sets[id];
            const std::int64_t batch = in.i64();
            set.last_used = in.i64();
            const std::uint64_t count = in.u64();
            set.workspaces.clear();
            set.batch = 0;
            if (batch <= 0) continue;
            set.id = id;
            build(net, set, Eigen::Index(batch));
            if (count != set.workspaces.size())
                in.fail("the checkpoint's shards were cut for another number of threads");
            for (Workspace& ws : set.workspaces) {
                std::array<std::uint64_t, 4> state{};
                for (std::uint64_t& word : state) word = in.u64();
                ws.rng().set_state(state);
            }
        }
    }

    /// ParallelSplit::automatic splits by neurons only when every layer gives each thread at
    /// least this many neurons...
    static constexpr Eigen::Index min_neurons_per_thread = 64;
    /// ... and at least this many multiply-adds of its product W a per thread: a few
    /// microseconds of work against the wait at the end of each layer.
    static constexpr double min_multiply_adds_per_thread = double(1 << 20);
    /// False for a Network with a layer type that can never be split by neurons: one without
    /// the row functions (layer.hpp), with a σ that mixes a column's entries (Softmax), or whose
    /// outputs are fixed at compile time below 2 · min_neurons_per_thread, too few for the
    /// automatic choice at any thread count. Such a network compiles no split by neurons, which
    /// saves each file that trains it the time.
    static constexpr bool can_split_by_neurons =
        detail::LayerTypesMaySplitRows<Net>::at_least(min_neurons_per_thread);

    /// The number of threads, the caller's included.
    int threads() const { return m_pool.size(); }

    /// Sets how train_step() divides a batch between the threads (ParallelSplit::automatic at
    /// first). backward() always splits by samples.
    void set_split(ParallelSplit split) { m_split = split; }
    /// How train_step() divides a batch between the threads.
    ParallelSplit split() const { return m_split; }
    /// How the last train_step() divided its batch: ParallelSplit::samples or
    /// ParallelSplit::neurons.
    ParallelSplit last_split() const { return m_last_split; }

    /// The forward pass and equations (1)–(6) for x (inputs × n) against y (outputs × n), shard
    /// by shard; afterwards gradients() holds every ∂C/∂p, the means over the whole batch, for
    /// any optimizer's step(net, gradients()). Returns the batch cost C. Throws ShapeError as
    /// Network::backward does.
    template <class X, class Y>
    Scalar backward(const Net& net, const Eigen::MatrixBase<X>& x,
                    const Eigen::MatrixBase<Y>& y) {
        Shards& set = shard_passes(net, x, y);
        m_pool.run([&](int part) {
            const auto [first, size] = range(part, set);
            m_finite[std::size_t(part)] = reduce(set, first, size);
        });
        set.workspaces.front().set_has_gradients(true);
        return batch_cost(set);
    }

    /// One step of gradient descent with the gradients of the last backward(), p ← p − η∇p, each
    /// thread on its range of the parameter list. Throws ShapeError unless backward() ran for a
    /// network of the shape of `net`.
    void update(Net& net, Scalar learning_rate) {
        if (!m_current || !gradients().has_gradients())
            throw ShapeError("DataParallel::update: there are no gradients; run backward() first");
        detail::check_gradients(net, gradients(), "DataParallel::update");
        detail::check_descent_finite(net, gradients().gradient_vector(), learning_rate,
                                     [] { return std::string("DataParallel::update"); });
        descend_summed(net, learning_rate);
    }
    /// backward(), then update() unless the cost or a gradient is not finite, in which case it
    /// throws NumericalError and leaves the weights as they were. Returns the batch cost. The
    /// weighted sum of the shards' gradients is added straight into the parameters, each thread
    /// its range, once every shard's gradient is known finite and small enough that the sum is
    /// too (detail/finite_step.hpp); gradients() then holds none. The result is backward() +
    /// update() up to rounding. Throws ConfigError unless η is positive and finite.
    template <class X, class Y>
    Scalar train_step(Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                      Scalar learning_rate) {
        return train_step(net, x, y, learning_rate,
                          [] { return std::string("DataParallel::train_step"); });
    }

    /// train_step() whose refusal of a step (NumericalError) starts its message with where().
    template <class X, class Y, class Where>
    Scalar train_step(Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                      Scalar learning_rate, const Where& where) {
        detail::check_positive_option("DataParallel::train_step", "the learning rate",
                                      double(learning_rate));
        net.check_inputs(x);
        net.check_targets(y, x.cols());
        if constexpr (can_split_by_neurons) {
            if (Workspace* ws = by_neurons(net, x.cols())) {
                // x is read where it lies when its columns are (detail::rows_view).
                constexpr bool in_place =
                    detail::reads_memory<X>() &&
                    ((int(X::Flags) & Eigen::RowMajorBit) == 0 || int(X::RowsAtCompileTime) == 1);
                if constexpr (in_place) {
                    return neuron_step(net, *ws, x, x, y, learning_rate, where);
                } else {
                    ws->input() = x;  // evaluated once, not once per part
                    return neuron_step(net, *ws, ws->input(), x, y, learning_rate, where);
                }
            }
        } else if (m_split == ParallelSplit::neurons && threads() > 1) {
            throw ConfigError(
                "DataParallel: ParallelSplit::neurons needs every layer to split its neurons "
                "between threads, and a layer type of this network cannot (Softmax and Dropout "
                "cannot), or fixes fewer than " + std::to_string(2 * min_neurons_per_thread) +
                " outputs at compile time (can_split_by_neurons)");
        }
        m_last_split = ParallelSplit::samples;
        // Each shard's forward and backward passes, ∂C/∂W stored only where the step is not
        // folded (set.plan).
        Shards& set = on_shards(net, x, y, [&](Workspace& ws, std::size_t t, const auto& y_t) {
            const Scalar share_rate = learning_rate * Scalar(m_current->count) *
                                      weight(*m_current, t);
            m_passes[t] = net.run_shard_pass(ws, y_t, m_current->plan, share_rate);
        });
        const Scalar cost = batch_cost(set);
        if (std::isfinite(cost) && folds_are_finite(net, set) && sum_is_finite(set, learning_rate)) {
            // Each thread its part of every folded layer, summing the shards' δ aᵀ into W,
            // and its range of the stored layers' gradients.
            const Scalar step = learning_rate / Scalar(set.batch);
            m_pool.run([&](int part) {
                net.descend_part(set.workspaces, set.plan, step, part, threads());
                const auto [first, size] = range(part, set);
                descend(net, set, first, size, learning_rate, set.count, true);
            });
            set.workspaces.front().set_has_gradients(false);  // it holds the first shard's only
            return cost;
        }
        // A NaN or infinity somewhere, or values too near overflow to tell: store the folded
        // layers' gradients too, sum them, and let the usual check refuse the step with its
        // usual message.
        m_pool.run([&](int part) {
            if (part < set.count) net.store_planned(set.workspaces[std::size_t(part)], set.plan);
        });
        m_pool.run([&](int part) {
            const auto [first, size] = range(part, set);
            m_finite[std::size_t(part)] = reduce(set, first, size);
        });
        Workspace& gradient = set.workspaces.front();
        gradient.set_has_gradients(true);
        Net::check_finite(cost, *this, where);
        detail::check_descent_finite(net, gradient.gradient_vector(), learning_rate, where);
        descend_summed(net, learning_rate);
        gradient.set_has_gradients(false);
        return cost;
    }

    /// The batch's gradients after backward(), in a workspace as optimizers take it (the first
    /// shard's, whose gradient array the shards' gradients were summed into).
    const Workspace& gradients() const { return current().workspaces.front(); }
    /// The batch's gradients, writable (a penalty or clipping changes them before the step).
    Workspace& gradients() {
        if (!m_current) throw ShapeError("DataParallel: no batch has run yet");
        return m_current->workspaces.front();
    }

    /// True when every entry of the batch's gradients is finite (checked as they were summed,
    /// so it costs no extra pass).
    bool gradients_finite() const {
        return std::all_of(m_finite.begin(), m_finite.end(), [](char f) { return f != 0; });
    }

    /// Restarts the generators of the shards' training passes from `seed`.
    void seed(std::uint64_t seed) {
        m_seed = seed;
        for (Shards& set : m_sets) seed_shards(set);
    }

    /// The shards the last batch was cut into.
    Eigen::Index shards() const { return m_current ? m_current->count : 0; }
    /// Shard t of the last batch: zˡ, aˡ and δˡ of its columns.
    const Workspace& shard(Eigen::Index t) const { return current().workspaces.at(index(t)); }
    /// The first column of the last batch that shard t holds.
    Eigen::Index shard_begin(Eigen::Index t) const { return current().begin.at(index(t)); }

private:
    /// A workspace for the whole batch, for the split by neurons.
    struct NeuronSet {
        Workspace ws;
        Eigen::Index batch = 0;  // the batch size it is prepared for; 0: unused
        long long last_used = 0;
    };

    // The workspace, prepared, when train_step() splits a batch of `batch` columns of `net` by
    // neurons (see ParallelSplit); null when it splits by samples. Throws ConfigError when
    // ParallelSplit::neurons is asked of a network that cannot be split so.
    Workspace* by_neurons(const Net& net, Eigen::Index batch) {
        if (threads() < 2 || m_split == ParallelSplit::samples) return nullptr;
        std::size_t unsplit = 0;  // the first layer that cannot split, from 1; 0: none
        bool wide = true;
        net.for_each_layer([&](const auto& layer, auto i) {
            const Eigen::Index rows = layer.outputs() / threads();
            wide = wide && rows >= min_neurons_per_thread &&
                   double(rows) * double(layer.inputs()) * double(batch) >=
                       min_multiply_adds_per_thread;
            if (unsplit == 0 && !Net::layer_splits_rows(layer)) unsplit = std::size_t(i) + 1;
        });
        const bool forced = m_split == ParallelSplit::neurons;
        if (unsplit != 0) {
            if (!forced) return nullptr;
            std::string name;
            net.for_each_layer([&](const auto& layer, auto i) {
                if (std::size_t(i) + 1 == unsplit) name = layer_name(layer, unsplit);
            });
            throw ConfigError(detail::cat(
                "DataParallel: ParallelSplit::neurons needs every layer to split its neurons "
                "between threads, and ", name, " cannot (a Dense layer with an element-wise "
                "activation can; Softmax and Dropout cannot)"));
        }
        if (!forced && !wide) return nullptr;
        // Every layer must also fold its step in parts for the whole batch: not so for a
        // product too small for GEMM.
        Workspace& ws = neuron_workspace(net, batch);
        m_neuron_plan.assign(std::size_t(net.layer_count()), 1);
        net.plan_part_folds(ws, m_neuron_plan);
        for (std::size_t i = 0; i < m_neuron_plan.size(); ++i) {
            if (m_neuron_plan[i] != 0) continue;
            if (!forced) return nullptr;
            throw ConfigError(detail::cat(
                "DataParallel: ParallelSplit::neurons needs every layer's step folded in parts, "
                "and layer ", i + 1, "'s product is too small for that at ",
                detail::samples(batch)));
        }
        return &ws;
    }

    // The workspace for the split by neurons of `batch` columns of `net`, prepared (it
    // allocates only for a new batch size or network shape, in place of the one least recently
    // used).
    Workspace& neuron_workspace(const Net& net, Eigen::Index batch) {
        ++m_uses;
        NeuronSet* pick = nullptr;
        for (NeuronSet& set : m_neuron_sets)
            if (set.batch == batch) pick = &set;
        if (!pick) {
            pick = &least_recently_used(m_neuron_sets);
            pick->batch = batch;
        }
        pick->last_used = m_uses;
        pick->ws.prepare(net, batch);
        return pick->ws;
    }

    // train_step() split by neurons in `ws` (by_neurons()), x read where it lies (`input`: x
    // itself, or x evaluated into ws): each thread its rows of every layer
    // (Net::row_step_part). A step that is not known finite is taken again the usual way, on
    // one thread, which refuses it with its usual message.
    template <class In, class X, class Y, class Where>
    Scalar neuron_step(Net& net, Workspace& ws, const Eigen::MatrixBase<In>& input,
                       const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                       Scalar learning_rate, const Where& where) {
        ws.set_has_gradients(false);
        if (m_current) m_current->workspaces.front().set_has_gradients(false);
        m_last_split = ParallelSplit::neurons;
        Scalar cost = 0;
        bool stepped = false;
        detail::PartBarrier barrier(threads());
        m_pool.run([&](int part) {
            try {
                const bool done = net.row_step_part(ws, input, y, learning_rate, part, threads(),
                                                    barrier, cost, m_finite.data());
                if (part == 0) stepped = done;
            } catch (...) {
                barrier.abandon();  // the other parts stop at their next wait
                throw;
            }
        });
        if (stepped) return cost;
        ws.input() = x;
        return net.run_train_step(ws, y, learning_rate, where);
    }

    /// Workspaces for the shards of one batch size.
    struct Shards {
        Eigen::Index batch = 0;            // the batch size they are cut for; 0: unused
        int count = 0;                     // min(threads, batch)
        std::vector<Workspace> workspaces;
        std::vector<Eigen::Index> begin;   // shard t holds columns [begin[t], begin[t] + size)
        std::vector<char> plan;            // per layer: train_step folds its step in parts
        long long last_used = 0;
        std::size_t id = 0;                // which of the two sets, for the seeds
    };

    static std::size_t index(Eigen::Index t) { return static_cast<std::size_t>(t); }

    // Of the two sets kept (the last two batch sizes), the one used longer ago: the one a new
    // batch size replaces.
    template <class Set>
    static Set& least_recently_used(std::array<Set, 2>& sets) {
        return sets[0].last_used <= sets[1].last_used ? sets[0] : sets[1];
    }

    const Shards& current() const {
        if (!m_current) throw ShapeError("DataParallel: no batch has run yet");
        return *m_current;
    }

    // [first, first + size) of this part's share of the gradient array.
    std::array<Eigen::Index, 2> range(int part, const Shards& set) const {
        const Eigen::Index total = set.workspaces.front().gradient_vector().size();
        const Eigen::Index first = total * part / threads();
        return {first, total * (part + 1) / threads() - first};
    }

    // Picks (or, for a new batch size or network shape, builds in place of the least recently
    // used) the shard workspaces for `batch` columns of `net`.
    void prepare(const Net& net, Eigen::Index batch) {
        ++m_uses;
        Shards* pick = nullptr;
        for (Shards& set : m_sets)
            if (fits(net, set, batch)) pick = &set;
        if (!pick) {
            pick = &least_recently_used(m_sets);
            pick->id = pick == &m_sets[0] ? 0 : 1;
            build(net, *pick, batch);
        }
        pick->last_used = m_uses;
        m_current = pick;
    }

    // True when `set` was built for `batch` columns of a network of the shape of `net`.
    static bool fits(const Net& net, const Shards& set, Eigen::Index batch) {
        if (set.batch != batch || set.workspaces.empty()) return false;
        const Workspace& ws = set.workspaces.front();
        if (ws.input().rows() != net.inputs() ||
            ws.gradient_vector().size() != net.parameter_count() ||
            ws.prepared_layers() != std::size_t(net.layer_count()))
            return false;
        bool same = true;
        net.for_each_layer([&](const auto& layer, auto i) {
            const auto& record = ws.record(static_cast<std::size_t>(i));
            same = same && record.inputs == layer.inputs() && record.outputs == layer.outputs();
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
            first += size;
        }
        set.plan.assign(std::size_t(net.layer_count()), 1);
        net.plan_part_folds(set.workspaces.front(), set.plan);
        net.plan_part_folds(set.workspaces.back(), set.plan);
        seed_shards(set);
    }

    // Each shard of each set draws its own masks, all from m_seed.
    void seed_shards(Shards& set) {
        for (std::size_t t = 0; t < set.workspaces.size(); ++t)
            set.workspaces[t].seed(m_seed + 0x9E3779B97F4A7C15ULL * (2 * t + set.id + 1));
    }

    // Checks x and y, picks the shards for x's batch and runs the network's backward pass on
    // each, on its own thread, recording its cost and the largest |entry| of its gradient.
    template <class X, class Y>
    Shards& shard_passes(const Net& net, const Eigen::MatrixBase<X>& x,
                         const Eigen::MatrixBase<Y>& y) {
        net.check_inputs(x);
        net.check_targets(y, x.cols());
        return on_shards(net, x, y, [&](Workspace& ws, std::size_t t, const auto& y_t) {
            m_passes[t] = ShardPass{};  // nothing folded: every gradient stored
            m_passes[t].cost = net.run_backward(ws, y_t);
            m_passes[t].stored_extent = detail::max_abs(ws.gradient_vector());  // NaN, ∞ if so
        });
    }

    // Picks the shards for x's batch (x and y checked by the caller), copies each shard's
    // columns of x into its workspace and calls pass(workspace, t, its columns of y), each shard
    // on its own thread.
    template <class X, class Y, class Pass>
    Shards& on_shards(const Net& net, const Eigen::MatrixBase<X>& x,
                      const Eigen::MatrixBase<Y>& y, const Pass& pass) {
        prepare(net, x.cols());
        Shards& set = *m_current;
        m_pool.run([&](int part) {
            if (part >= set.count) return;
            const std::size_t t = static_cast<std::size_t>(part);
            Workspace& ws = set.workspaces[t];
            const Eigen::Index first = set.begin[t];
            ws.input() = x.middleCols(first, ws.batch_size());
            pass(ws, t, y.middleCols(first, ws.batch_size()));
        });
        return set;
    }

    // p ← p − η∇p with the summed gradient in the first shard's workspace, each thread its
    // range of the parameter list.
    void descend_summed(Net& net, Scalar learning_rate) {
        const Shards& set = current();
        m_pool.run([&](int part) {
            const auto [first, size] = range(part, set);
            descend(net, set, first, size, learning_rate, 1);
        });
    }

    // C = Σₜ (nₜ/n) Cₜ over the shards of the last pass.
    Scalar batch_cost(const Shards& set) const {
        Scalar cost = 0;
        for (std::size_t t = 0; t < set.workspaces.size(); ++t)
            cost += weight(set, t) * m_passes[t].cost;
        return cost;
    }

    // nₜ/n, the weight of shard t's mean gradient in the batch's.
    static Scalar weight(const Shards& set, std::size_t t) {
        return Scalar(set.workspaces[t].batch_size()) / Scalar(set.batch);
    }

    // True when every shard vouched for its share of each folded layer's step, and the
    // parameters those steps are added to can take them: read only when a share was not
    // harmless.
    bool folds_are_finite(const Net& net, const Shards& set) const {
        bool harmless = true;
        for (std::size_t t = 0; t < std::size_t(set.count); ++t) {
            if (!m_passes[t].folds_finite) return false;
            harmless = harmless && m_passes[t].folds_harmless;
        }
        return harmless || net.folded_parameters_bounded(set.plan);
    }

    // True when every shard's gradient is finite and Σₜ (nₜ/n)·max|gₜ|, times max(η, 1), is
    // below a quarter of the largest finite number: then the weighted sum and η times it are
    // finite, entry by entry; and when η times it is so small that p minus it stays finite
    // whatever the (finite) parameters are (detail::harmless_change).
    bool sum_is_finite(const Shards& set, Scalar learning_rate) const {
        Scalar bound = 0;
        for (std::size_t t = 0; t < set.workspaces.size(); ++t) {
            if (!std::isfinite(m_passes[t].stored_extent)) return false;
            bound += weight(set, t) * m_passes[t].stored_extent;
        }
        return bound * std::max(learning_rate, Scalar(1)) <=
                   std::numeric_limits<Scalar>::max() / Scalar(4) &&
               bound * learning_rate * Scalar(2) <= detail::harmless_change<Scalar>();
    }

    // The first shard's gradient entries [first, first + size) become Σₜ (nₜ/n) gₜ; returns
    // whether they are all finite.
    bool reduce(Shards& set, Eigen::Index first, Eigen::Index size) {
        auto sum = set.workspaces[0].gradient_vector().segment(first, size);
        if (set.count > 1) sum *= weight(set, 0);
        for (std::size_t t = 1; t < set.workspaces.size(); ++t)
            sum += weight(set, t) * set.workspaces[t].gradient_vector().segment(first, size);
        return detail::all_finite(sum);
    }

    // p ← p − η Σₜ (nₜ/n) gₜ over entries [first, first + size) of the parameter list, summing
    // the first `shards` shards' gradients (1: the first shard's holds the sum already). With
    // `stored_only`, the layers the plan folds are left out: Net::descend_part() does those.
    void descend(Net& net, const Shards& set, Eigen::Index first, Eigen::Index size,
                 Scalar learning_rate, int shards, bool stored_only = false) {
        const Eigen::Index end = first + size;
        for_each_parameter(net, [&](auto& block, const ParameterInfo& info) {
            if (stored_only && set.plan[info.layer] != 0) return;  // folded in parts
            const Eigen::Index from = std::max(first, info.offset);
            const Eigen::Index to = std::min(end, info.offset + Eigen::Index(block.size()));
            if (from >= to) return;
            auto p = block.reshaped().segment(from - info.offset, to - from);
            const auto g = [&](std::size_t t) {
                return set.workspaces[t].gradient_vector().segment(from, to - from);
            };
            if (shards == 1) {
                p -= learning_rate * g(0);
            } else if (shards == 2) {  // the common case, in one pass over p
                p -= learning_rate * weight(set, 0) * g(0) + learning_rate * weight(set, 1) * g(1);
            } else {
                for (std::size_t t = 0; t < std::size_t(shards); ++t)
                    p -= learning_rate * weight(set, t) * g(t);
            }
        });
    }

    ThreadPool m_pool;
    std::array<Shards, 2> m_sets;  // the last two batch sizes
    Shards* m_current = nullptr;
    long long m_uses = 0;
    // Per shard of the last pass: Cₜ, max |∂Cₜ/∂p| over its stored gradient, and whether its
    // shares of the folded steps are finite and harmless.
    std::vector<ShardPass> m_passes;
    std::vector<char> m_finite;    // per part: its range of the summed gradient, or its layers
    std::uint64_t m_seed;
    ParallelSplit m_split = ParallelSplit::automatic;
    ParallelSplit m_last_split = ParallelSplit::samples;
    std::array<NeuronSet, 2> m_neuron_sets;  // the last two batch sizes split by neurons
    std::vector<char> m_neuron_plan;         // per layer: folds in parts (by_neurons)
};

}  // namespace nabla
