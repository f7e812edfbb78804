#pragma once

// What every benchmark executable shares: the counters (samples/s, GFLOP/s), the command-line
// flags of our own (taken out of argv before Google Benchmark sees it), the thread setting, the
// plain-Eigen GEMM ceiling and the generic bodies that time forward, backward, update and
// train_step on any network through its public API.

#include "workloads.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace nabla::bench {

// ---------------------------------------------------------------------------------------------
// Counters

/// Reports `samples` per iteration as items/s and `flops` per iteration as the GFLOP counter, a
/// rate: Google Benchmark divides it by the (real) time, so it reads as GFLOP/s.
inline void set_rates(benchmark::State& state, double samples, double flops) {
    const double iterations = double(state.iterations());
    state.SetItemsProcessed(std::int64_t(iterations * samples));
    if (flops > 0)
        state.counters["GFLOP"] = benchmark::Counter(iterations * flops * 1e-9,
                                                     benchmark::Counter::kIsRate);
}

/// Reports `parameters` updated per iteration as the Mparam counter (a rate, millions per
/// second): an optimizer step processes parameters, not samples, and does no GEMM.
inline void set_parameter_rate(benchmark::State& state, double parameters) {
    state.counters["Mparam"] = benchmark::Counter(double(state.iterations()) * parameters * 1e-6,
                                                  benchmark::Counter::kIsRate);
}

/// W and b entries of a dense network with layer sizes `sizes`.
inline double parameter_count(const std::vector<Eigen::Index>& sizes) {
    double count = 0;
    for (std::size_t l = 1; l < sizes.size(); ++l)
        count += double(sizes[l - 1] + 1) * double(sizes[l]);
    return count;
}

/// "784-256-128-10", for names and labels.
inline std::string sizes_text(const std::vector<Eigen::Index>& sizes) {
    std::string text;
    for (std::size_t l = 0; l < sizes.size(); ++l)
        text += (l ? "-" : "") + std::to_string(sizes[l]);
    return text;
}

/// "float" or "double", for names.
template <class Scalar>
const char* scalar_name() {
    return sizeof(Scalar) == sizeof(float) ? "float" : "double";
}

// ---------------------------------------------------------------------------------------------
// Command line

/// Prints "<program>: <message>" to stderr and exits with status 2, the status of a usage error,
/// so scripts can tell a bad flag from a failed run.
[[noreturn]] inline void usage_error(const char* program, const std::string& message) {
    std::fprintf(stderr, "%s: %s\n", program, message.c_str());
    std::exit(2);
}

/// Takes `--name value` or `--name=value` out of argv (so that benchmark::Initialize does not
/// reject it) and returns the value; nullopt when the flag is absent. The last one given wins.
inline std::optional<std::string> take_flag(int& argc, char** argv, const std::string& name) {
    std::optional<std::string> value;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == name) {
            if (i + 1 >= argc) usage_error(argv[0], name + " needs a value");
            value = argv[++i];
        } else if (arg.compare(0, name.size() + 1, name + "=") == 0) {
            value = arg.substr(name.size() + 1);
        } else {
            argv[kept++] = argv[i];
        }
    }
    argc = kept;
    argv[argc] = nullptr;
    return value;
}

/// Takes the switch `--name` (no value) out of argv; true when it was there.
inline bool take_switch(int& argc, char** argv, const std::string& name) {
    bool found = false;
    int kept = 1;
    for (int i = 1; i < argc; ++i) {
        if (argv[i] == name)
            found = true;
        else
            argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = nullptr;
    return found;
}

/// Parses a whole decimal integer ≥ `minimum` (no sign, no spaces, no trailing text); nullopt
/// otherwise, so the caller can name the flag in its message.
inline std::optional<long long> parse_count(const std::string& text, long long minimum) {
    if (text.empty() || text.size() > 12) return std::nullopt;
    long long value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value < minimum) return std::nullopt;
    return value;
}

/// True when the user chose benchmarks with --benchmark_filter (either spelling).
inline bool has_filter(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--benchmark_filter" || arg.compare(0, 19, "--benchmark_filter=") == 0)
            return true;
    }
    return false;
}

// ---------------------------------------------------------------------------------------------
// Threads

/// The thread count of --threads (1 when absent): above 1, register_network() adds
/// train_step/threads:N beside train_step, and W1's epoch runs on N threads too.
inline int g_threads = 1;

/// Takes `--threads N` out of argv into g_threads; 1 when absent. This is the one place a
/// thread count enters the suite. nabla's threads split each batch (DataParallel); Eigen's own
/// products stay on one thread unless Eigen is built with OpenMP, which is then held to 1, and
/// so does a GEMM back end with threads of its own (oneDNN's OpenMP), so that the kinds of
/// threads do not compete for the cores and N threads means N. Recorded in the run's context
/// (console header, JSON "context") as "threads".
inline int take_threads(int& argc, char** argv) {
    const std::optional<std::string> text = take_flag(argc, argv, "--threads");
    int threads = 1;
    if (text) {
        const std::optional<long long> n = parse_count(*text, 1);
        if (!n || *n > 1024)
            usage_error(argv[0], "--threads '" + *text + "': expected a whole number from 1");
        threads = int(*n);
    }
    Eigen::setNbThreads(1);
    nabla::detail::set_backend_threads(1);
    g_threads = threads;
    return threads;
}

/// Records what the numbers depend on in the run's context, then runs the benchmarks chosen on
/// the command line. Subnormals are flushed to zero for the whole run, as fit() does while it
/// trains, so a long run of Adam steps does not slow down on them. Returns main's status.
inline int run_benchmarks(int argc, char** argv, int threads) {
    benchmark::AddCustomContext("threads", std::to_string(threads));
    benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
    benchmark::AddCustomContext("gemm_backend", nabla::detail::gemm_backend_name);
    benchmark::AddCustomContext("flush_denormals", FlushDenormals::supported() ? "on" : "n/a");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    FlushDenormals flush;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

// ---------------------------------------------------------------------------------------------
// The GEMM ceiling

/// The matrix products of one dense network's step, as plain Eigen `C.noalias() = A * B` on
/// random matrices with the same shapes and transposes as the library's: z = W a in every layer
/// (forward), and for a train step also ∂C/∂W = δ aᵀ in every layer and (Wˡ)ᵀδˡ in every layer
/// but the first. Timing it gives the speed Eigen's own GEMM reaches on exactly the work a step
/// must do, the ceiling the library's step is measured against.
template <class Scalar>
class GemmSet {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  ///< Column-major.

    /// The products of layers [first, last) of a network with `sizes` on `batch` samples; the
    /// whole train step when `train`, else the forward pass only.
    GemmSet(const std::vector<Eigen::Index>& sizes, Eigen::Index batch, bool train,
            std::size_t first = 1, std::size_t last = 0)
        : m_train(train) {
        if (last == 0) last = sizes.size();
        std::uint64_t seed = 1;
        for (std::size_t l = first; l < last; ++l) {
            Layer layer;
            const Eigen::Index m = sizes[l - 1], n = sizes[l];
            layer.w = random_matrix(n, m, seed++).template cast<Scalar>();
            layer.a = random_matrix(m, batch, seed++).template cast<Scalar>();
            layer.z.resize(n, batch);
            if (train) {
                layer.delta = random_matrix(n, batch, seed++).template cast<Scalar>();
                layer.dw.resize(n, m);
                if (l > 1) layer.da.resize(m, batch);
            }
            m_layers.push_back(std::move(layer));
        }
    }

    /// Runs every product once, as plain Eigen products.
    void run() {
        for (Layer& layer : m_layers) {
            layer.z.noalias() = layer.w * layer.a;
            if (!m_train) continue;
            layer.dw.noalias() = layer.delta * layer.a.transpose();
            if (layer.da.size() > 0) layer.da.noalias() = layer.w.transpose() * layer.delta;
        }
        benchmark::ClobberMemory();
    }

    /// Runs every product once through nabla's product helper, on the GEMM back end nabla was
    /// built with (detail/gemm_backend.hpp).
    void run_on_backend() {
        using nabla::detail::gemm;
        for (Layer& layer : m_layers) {
            gemm(layer.z, layer.w, layer.a, Scalar(1), false);
            if (!m_train) continue;
            gemm(layer.dw, layer.delta, layer.a.transpose(), Scalar(1), false);
            if (layer.da.size() > 0)
                gemm(layer.da, layer.w.transpose(), layer.delta, Scalar(1), false);
        }
        benchmark::ClobberMemory();
    }

private:
    struct Layer {
        Matrix w, a, z, delta, dw, da;
    };
    std::vector<Layer> m_layers;
    bool m_train;
};

/// Times a GemmSet (see there) and reports it with the same counters as the step it bounds.
template <class Scalar>
void bm_gemm(benchmark::State& state, const std::vector<Eigen::Index>& sizes, Eigen::Index batch,
             bool train, std::size_t first = 1, std::size_t last = 0, bool on_backend = false) {
    GemmSet<Scalar> gemms(sizes, batch, train, first, last);
    const auto run = [&] { on_backend ? gemms.run_on_backend() : gemms.run(); };
    run();  // warm: first touch of the outputs' pages stays out of the timing
    for (auto _ : state) run();
    std::vector<Eigen::Index> part(sizes.begin() + std::ptrdiff_t(first) - 1,
                                   last ? sizes.begin() + std::ptrdiff_t(last) : sizes.end());
    const double flops = train ? train_step_flops(part, batch) : forward_flops(part, batch);
    set_rates(state, double(batch), flops);
}

// ---------------------------------------------------------------------------------------------
// Data

/// Inputs and targets cut into equal batches, one sample per column, handed out in turn: each
/// step of a timing loop trains on the next batch, as an epoch does, and wraps at the end.
template <class XMatrix, class YMatrix>
class Batches {
public:
    /// `x` (inputs × N) and `y` (outputs × N) in batches of `batch` columns; a last partial
    /// batch is dropped so that every step does the same work.
    Batches(XMatrix x, YMatrix y, Eigen::Index batch, std::string label = "random data")
        : m_x(std::move(x)),
          m_y(std::move(y)),
          m_batch(batch),
          m_count(m_x.cols() / batch),
          m_label(std::move(label)) {}

    /// The samples of one batch.
    Eigen::Index batch() const { return m_batch; }
    /// The number of whole batches.
    Eigen::Index count() const { return m_count; }
    /// The inputs of batch k.
    auto x(Eigen::Index k) const { return m_x.middleCols(k * m_batch, m_batch); }
    /// The targets of batch k.
    auto y(Eigen::Index k) const { return m_y.middleCols(k * m_batch, m_batch); }
    /// The index after k, wrapping to 0.
    Eigen::Index next(Eigen::Index k) const { return k + 1 == m_count ? 0 : k + 1; }
    /// Where the data came from, shown as the benchmarks' label.
    const std::string& label() const { return m_label; }
    /// The inputs of every whole batch, in order.
    auto all_x() const { return m_x.leftCols(m_count * m_batch); }
    /// The targets of every whole batch, in order.
    auto all_y() const { return m_y.leftCols(m_count * m_batch); }

private:
    XMatrix m_x;
    YMatrix m_y;
    Eigen::Index m_batch;
    Eigen::Index m_count;
    std::string m_label;
};

/// Random inputs in [0, 1) and targets for a network with `sizes`: one-hot when `one_hot`
/// (softmax + cross-entropy), else uniform in [-1, 1); `batches` batches of `batch` columns.
template <class Scalar>
Batches<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>,
        Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>>
random_batches(const std::vector<Eigen::Index>& sizes, Eigen::Index batch, Eigen::Index batches,
               bool one_hot, std::uint64_t seed) {
    RandomClassification data =
        random_classification(sizes.front(), sizes.back(), batch * batches, seed);
    if (!one_hot) data.y = random_matrix(sizes.back(), batch * batches, seed + 1);
    return {data.x.template cast<Scalar>(), data.y.template cast<Scalar>(), batch};
}

// ---------------------------------------------------------------------------------------------
// The timed bodies: public API only, one reused workspace, one untimed call first so that the
// workspace is sized and its pages touched before the clock runs.

/// Times net.forward() on batch after batch.
template <class Net, class Data, class Ws = typename Net::template Workspace<>>
void bm_forward(benchmark::State& state, const Net& net, const Data& data, double flops) {
    Ws ws;
    Eigen::Index k = 0;
    net.forward(data.x(k), ws);
    for (auto _ : state) {
        benchmark::DoNotOptimize(net.forward(data.x(k), ws).data());
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
}

/// Times net.backward(), which runs the forward pass too: everything of a step but the update.
template <class Net, class Data, class Ws = typename Net::template Workspace<>>
void bm_backward(benchmark::State& state, const Net& net, const Data& data, double flops) {
    Ws ws;
    Eigen::Index k = 0;
    net.backward(data.x(k), data.y(k), ws);
    for (auto _ : state) {
        benchmark::DoNotOptimize(net.backward(data.x(k), data.y(k), ws));
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
}

/// Times one update from the gradients of one backward pass, applied again and again: the
/// optimizer's cost alone. `step(net, ws)` applies it (net.update, Sgd::step, Adam::step...).
template <class Net, class Data, class Step, class Ws = typename Net::template Workspace<>>
void bm_update(benchmark::State& state, Net& net, const Data& data, Step step,
               double parameters) {
    Ws ws;
    net.backward(data.x(0), data.y(0), ws);
    step(net, ws);
    for (auto _ : state) {
        step(net, ws);
        benchmark::ClobberMemory();
    }
    set_parameter_rate(state, parameters);
}

/// Times backward() then `step(net, ws)`: one whole training step on batch after batch.
template <class Net, class Data, class Step, class Ws = typename Net::template Workspace<>>
void bm_train(benchmark::State& state, Net& net, const Data& data, Step step, double flops) {
    Ws ws;
    Eigen::Index k = 0;
    net.backward(data.x(k), data.y(k), ws);
    step(net, ws);
    for (auto _ : state) {
        net.backward(data.x(k), data.y(k), ws);
        step(net, ws);
        benchmark::ClobberMemory();
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
}

/// Times net.train_step() (the forward pass, the deltas, plain SGD folded into W) on batch after
/// batch.
template <class Net, class Data, class Ws = typename Net::template Workspace<>>
void bm_train_step(benchmark::State& state, Net& net, const Data& data,
                   typename Net::Scalar learning_rate, double flops) {
    Ws ws;
    Eigen::Index k = 0;
    net.train_step(data.x(k), data.y(k), ws, learning_rate);
    for (auto _ : state) {
        benchmark::DoNotOptimize(net.train_step(data.x(k), data.y(k), ws, learning_rate));
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
}

/// Times the step train_step folds, written out with ∂C/∂W stored: net.backward, the check that
/// the cost and every gradient are finite, net.update. What the fold saves is this line minus
/// train_step's in the same run.
template <class Net, class Data, class Ws = typename Net::template Workspace<>>
void bm_stored_step(benchmark::State& state, Net& net, const Data& data,
                    typename Net::Scalar learning_rate, double flops) {
    Ws ws;
    Eigen::Index k = 0;
    const auto where = [] { return std::string("train_step/stored"); };
    auto step = [&] {
        const auto cost = net.backward(data.x(k), data.y(k), ws);
        Net::check_finite(cost, ws, where);
        net.update(ws, learning_rate);
        return cost;
    };
    step();
    for (auto _ : state) {
        benchmark::DoNotOptimize(step());
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
}

/// "split by neurons across 2 threads": how a DataParallel step divided its batch, for labels.
inline std::string split_label(ParallelSplit split, int threads) {
    return std::string(split == ParallelSplit::neurons ? "split by neurons" : "batch split") +
           " across " + std::to_string(threads) + " threads";
}

/// Times DataParallel::train_step (the passes on `threads` threads, finiteness check, plain SGD
/// update) on batch after batch, the batch divided as `split` says; returns how the last step
/// divided it.
template <class Net, class Data>
ParallelSplit bm_parallel_train_step(benchmark::State& state, Net& net, const Data& data,
                                     typename Net::Scalar learning_rate, double flops,
                                     int threads,
                                     ParallelSplit split = ParallelSplit::automatic) {
    DataParallel<Net> parallel(threads);
    parallel.set_split(split);
    Eigen::Index k = 0;
    parallel.train_step(net, data.x(k), data.y(k), learning_rate);
    for (auto _ : state) {
        benchmark::DoNotOptimize(parallel.train_step(net, data.x(k), data.y(k), learning_rate));
        k = data.next(k);
    }
    set_rates(state, double(data.batch()), flops);
    return parallel.last_split();
}

/// Registers `body` under `name`, timed in wall-clock time (what a user waits for, and right
/// once threads run), in `unit`.
inline benchmark::internal::Benchmark* add(const std::string& name,
                                           std::function<void(benchmark::State&)> body,
                                           benchmark::TimeUnit unit = benchmark::kMicrosecond) {
    return benchmark::RegisterBenchmark(name.c_str(),
                                        [body](benchmark::State& state) { body(state); })
        ->UseRealTime()
        ->Unit(unit);
}

// ---------------------------------------------------------------------------------------------
// The arithmetic ceiling

/// One multiply-add on each chain, written out so that the chains live in registers.
template <class Packet, std::size_t... I>
void multiply_add_each(Packet (&acc)[sizeof...(I)], const Packet& scale, const Packet& shift,
                       std::index_sequence<I...>) {
    ((acc[I] = Eigen::internal::pmadd(scale, acc[I], shift)), ...);
}

/// Independent chains of multiply-adds on Eigen's widest packets: three quarters of the vector
/// registers, more chains than FMA latency × FMA ports on any x86 core, so no multiply-add waits
/// for the one before it, and none spills to memory.
inline constexpr int fma_chain_count = EIGEN_ARCH_DEFAULT_NUMBER_OF_REGISTERS * 3 / 4;

/// Runs `rounds` multiply-adds on each of fma_chain_count chains and returns their sum, which
/// keeps the compiler from dropping them.
template <class Scalar>
Scalar fma_chains(int rounds) {
    using Packet = typename Eigen::internal::packet_traits<Scalar>::type;
    constexpr int chains = fma_chain_count;
    const Packet scale = Eigen::internal::pset1<Packet>(Scalar(0.999999));
    const Packet shift = Eigen::internal::pset1<Packet>(Scalar(1e-6));
    Packet acc[chains];
    for (Packet& p : acc) p = Eigen::internal::pset1<Packet>(Scalar(1));
    for (int r = 0; r < rounds; ++r)
        multiply_add_each(acc, scale, shift, std::make_index_sequence<chains>());
    Scalar sum = 0;
    for (const Packet& p : acc) sum += Eigen::internal::predux(p);
    return sum;
}

/// The floating-point operations of fma_chains(rounds): 2 per lane per multiply-add.
template <class Scalar>
constexpr double fma_chain_flops(int rounds) {
    return double(rounds) * fma_chain_count *
           Eigen::internal::packet_traits<Scalar>::size * 2;
}

/// The arithmetic ceiling of one core: fma_chains() and nothing else. No GEMM, and so no train
/// step, can run faster; W1's and W2's GFLOP/s read against it (the double lines against
/// peak/fma/double).
template <class Scalar>
void bm_fma_peak(benchmark::State& state) {
    constexpr int rounds = 1000;
    Scalar sum = 0;
    for (auto _ : state) sum += fma_chains<Scalar>(rounds);
    benchmark::DoNotOptimize(sum);
    state.counters["GFLOP"] = benchmark::Counter(
        double(state.iterations()) * fma_chain_flops<Scalar>(rounds) * 1e-9,
        benchmark::Counter::kIsRate);
    state.SetLabel(std::to_string(Eigen::internal::packet_traits<Scalar>::size) +
                   (sizeof(Scalar) == 4 ? " float" : " double") + " lanes, " +
                   std::to_string(fma_chain_count) + " independent chains");
}

// ---------------------------------------------------------------------------------------------
// One network's set of benchmarks

/// What register_network times: a network with `sizes` trained on `batch` samples per step.
struct NetworkBench {
    std::string prefix;               ///< The name every benchmark starts with, e.g. "W1".
    std::vector<Eigen::Index> sizes;  ///< {inputs, hidden..., outputs}.
    Eigen::Index batch = 1;           ///< Samples per step.
    double learning_rate = 0.01;      ///< η of train_step and update (plain SGD).
    bool gemm = true;                 ///< Also time the plain-Eigen GEMM ceilings.
    benchmark::TimeUnit unit = benchmark::kMicrosecond;  ///< The unit of the time columns.
};

/// With --threads N above 1, registers `prefix`/train_step/threads:N: DataParallel's step on
/// the same network and data.
template <class Net, class MakeNet, class GetData>
void add_parallel_step(const std::string& prefix, MakeNet make_net, GetData data,
                       typename Net::Scalar eta, double flops, benchmark::TimeUnit unit) {
    if (g_threads <= 1) return;
    const int threads = g_threads;
    add(prefix + "/train_step/threads:" + std::to_string(threads), [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        const ParallelSplit split = bm_parallel_train_step(state, net, d, eta, flops, threads);
        state.SetLabel(d.label() + ", " + split_label(split, threads));
    }, unit);
    // The batch split alone beside the automatic choice, for a network it may split by neurons.
    if constexpr (!DataParallel<Net>::can_split_by_neurons) {
        return;
    } else {
        if (Net probe = make_net(); !probe.splits_rows()) return;
    }
    add(prefix + "/train_step/threads:" + std::to_string(threads) + "/samples",
        [=](benchmark::State& state) {
            const auto& d = data();
            Net net = make_net();
            const ParallelSplit split = bm_parallel_train_step(state, net, d, eta, flops, threads,
                                                               ParallelSplit::samples);
            state.SetLabel(d.label() + ", " + split_label(split, threads));
        }, unit);
}

/// Registers, under bench.prefix: forward, backward (forward + backpropagation), the updates
/// alone (net.update, Sgd with momentum 0.9, Adam), train_step (plain SGD), the same step with
/// ∂C/∂W stored (train_step/stored) and backward + Adam,
/// with the GEMM ceilings beside the pass they bound (forward/gemm, one forward/gemm/L<l> per
/// layer shape, train_step/gemm). `make_net()` builds a fresh network for every run so each
/// run starts from the same weights; `data()` returns the batches (built once, on first use, so
/// a filter that skips the network skips its data too). `Ws` is the workspace type.
template <class Net, class Ws = typename Net::template Workspace<>, class MakeNet, class GetData>
void register_network(const NetworkBench& bench, MakeNet make_net, GetData data) {
    using Scalar = typename Net::Scalar;
    const std::string& p = bench.prefix;
    const auto sizes = bench.sizes;
    const Eigen::Index batch = bench.batch;
    const Scalar eta = Scalar(bench.learning_rate);
    const double forward = forward_flops(sizes, batch);
    const double train = train_step_flops(sizes, batch);
    const double parameters = parameter_count(sizes);
    const auto unit = bench.unit;

    add(p + "/forward", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        bm_forward<Net, std::decay_t<decltype(d)>, Ws>(state, net, d, forward);
        state.SetLabel(d.label());
    }, unit);
    if (bench.gemm) {
        add(p + "/forward/gemm", [=](benchmark::State& state) {
            bm_gemm<Scalar>(state, sizes, batch, false);
            state.SetLabel("plain Eigen, forward GEMMs");
        }, unit);
        std::vector<std::string> shapes;
        for (std::size_t l = 1; l < sizes.size(); ++l) {
            // W (n × m) times a (m × batch): one product per distinct layer shape.
            const std::string shape = std::to_string(sizes[l]) + "x" +
                                      std::to_string(sizes[l - 1]) + "*" +
                                      std::to_string(sizes[l - 1]) + "x" + std::to_string(batch);
            bool seen = false;
            for (const std::string& s : shapes) seen = seen || s == shape;
            if (seen) continue;
            shapes.push_back(shape);
            add(p + "/forward/gemm/L" + std::to_string(l), [=](benchmark::State& state) {
                bm_gemm<Scalar>(state, sizes, batch, false, l, l + 1);
                state.SetLabel(shape);
            }, unit);
        }
    }
    add(p + "/backward", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        bm_backward<Net, std::decay_t<decltype(d)>, Ws>(state, net, d, train);
        state.SetLabel(d.label());
    }, unit);
    add(p + "/update", [=](benchmark::State& state) {
        Net net = make_net();
        auto step = [eta](Net& n, const Ws& ws) { n.update(ws, eta); };
        bm_update<Net, std::decay_t<decltype(data())>, decltype(step), Ws>(state, net, data(),
                                                                           step, parameters);
        state.SetLabel("net.update (plain SGD)");
    }, unit);
    add(p + "/update/sgd", [=](benchmark::State& state) {
        Net net = make_net();
        Sgd sgd(double(eta), {0.9});
        auto step = [&sgd](Net& n, const Ws& ws) { sgd.step(n, ws); };
        bm_update<Net, std::decay_t<decltype(data())>, decltype(step), Ws>(state, net, data(),
                                                                           step, parameters);
        state.SetLabel("Sgd, momentum 0.9");
    }, unit);
    add(p + "/update/adam", [=](benchmark::State& state) {
        Net net = make_net();
        Adam adam(1e-3);
        auto step = [&adam](Net& n, const Ws& ws) { adam.step(n, ws); };
        bm_update<Net, std::decay_t<decltype(data())>, decltype(step), Ws>(state, net, data(),
                                                                           step, parameters);
        state.SetLabel("Adam");
    }, unit);
    add(p + "/train_step", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        bm_train_step<Net, std::decay_t<decltype(d)>, Ws>(state, net, d, eta, train);
        state.SetLabel(d.label());
    }, unit);
    add(p + "/train_step/stored", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        bm_stored_step<Net, std::decay_t<decltype(d)>, Ws>(state, net, d, eta, train);
        state.SetLabel(d.label() + ", backward + check + update");
    }, unit);
    add_parallel_step<Net>(p, make_net, data, eta, train, unit);
    if (bench.gemm) {
        add(p + "/train_step/gemm", [=](benchmark::State& state) {
            bm_gemm<Scalar>(state, sizes, batch, true);
            state.SetLabel("plain Eigen, the step's GEMMs");
        }, unit);
        if (nabla::detail::backend_takes<Scalar>) {
            add(p + "/train_step/gemm/" + nabla::detail::gemm_backend_name,
                [=](benchmark::State& state) {
                    bm_gemm<Scalar>(state, sizes, batch, true, 1, 0, true);
                    state.SetLabel(std::string(nabla::detail::gemm_backend_name) +
                                   ", the step's GEMMs");
                }, unit);
        }
    }
    add(p + "/train_step/adam", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        Adam adam(1e-3);
        auto step = [&adam](Net& n, const Ws& ws) { adam.step(n, ws); };
        bm_train<Net, std::decay_t<decltype(d)>, decltype(step), Ws>(state, net, d, step, train);
        state.SetLabel(d.label() + ", backward + Adam");
    }, unit);
}

/// Registers the double-precision line of a workload under bench.prefix ("W1/double"): the
/// train step, its GEMMs, and the step split across --threads. Fewer lines than
/// register_network: each instantiation of a network type costs compile time, and these are the
/// figures the performance table reads in double.
template <class Net, class MakeNet, class GetData>
void register_double_steps(const NetworkBench& bench, MakeNet make_net, GetData data) {
    using Scalar = typename Net::Scalar;
    const std::string& p = bench.prefix;
    const auto sizes = bench.sizes;
    const Eigen::Index batch = bench.batch;
    const Scalar eta = Scalar(bench.learning_rate);
    const double train = train_step_flops(sizes, batch);
    add(p + "/train_step", [=](benchmark::State& state) {
        const auto& d = data();
        Net net = make_net();
        bm_train_step(state, net, d, eta, train);
        state.SetLabel(d.label());
    }, bench.unit);
    add(p + "/train_step/gemm", [=](benchmark::State& state) {
        bm_gemm<Scalar>(state, sizes, batch, true);
        state.SetLabel("plain Eigen, the step's GEMMs");
    }, bench.unit);
    add_parallel_step<Net>(p, make_net, data, eta, train, bench.unit);
}

}  // namespace nabla::bench
