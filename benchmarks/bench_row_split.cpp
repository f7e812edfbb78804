// bench_row_split: would two cores pay more if each layer's rows, not the batch, were split
// between them? A probe for docs/performance.md ("Two cores: the batch split against a row
// split"), not a step of the library.
//
// DataParallel splits the batch: every core then reads all of W in its forward pass, after the
// other core has written half of it in the update, and a slow link between the cores makes
// that transfer cost the second core's gain. Split by rows instead, each core computes, keeps
// and updates its own rows of every W, and only the activations and error terms cross:
//
//     forward, layer l:   aˡ[R] = σ(Wˡ[R] aˡ⁻¹ + bˡ[R])             R: this core's rows of layer l
//     output (softmax):   each core the whole (10 rows): no core waits for the other's
//     backward, layer l:  δˡ⁻¹[R'] = (Wˡ[:, R']ᵀ δˡ) ⊙ σ'(zˡ⁻¹[R'])   R': its rows of layer l − 1
//     update, layer l:    Wˡ[R] −= η δˡ[R] aˡ⁻¹ᵀ                   once no core reads Wˡ again
//
// with a barrier after each layer, so that the next one reads rows the other core wrote. The
// step is written out here for dense ReLU layers under softmax + cross-entropy (W1) or identity
// + squared error (W2), its products through the library's own (detail::gemm, so on the back end
// built); the same code runs on one core (one part: no barrier) and on two, so their ratio
// compares one arithmetic. The library's own W1 and W2 steps and DataParallel run beside it
// on the same batches, in the same process, and W2's library step on half a batch too.

#include "bench_support.hpp"

#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

namespace {

using nabla::bench::fma_chain_flops;
using nabla::bench::fma_chains;
using nabla::bench::random_matrix;
using nabla::bench::set_rates;
using nabla::bench::split_label;
using nabla::bench::train_step_flops;
using nabla::detail::gemm;
using Matrix = Eigen::MatrixXf;
using Vector = Eigen::VectorXf;

/// Rows [begin, begin + size) of n: part `part` of `parts`.
struct Rows {
    Eigen::Index begin;
    Eigen::Index size;
};

Rows rows_of(Eigen::Index n, int part, int parts) {
    const Eigen::Index begin = n * part / parts;
    return {begin, n * (part + 1) / parts - begin};
}

/// Eight random batches of one workload (bench_support.hpp): inputs in [0, 1), targets one-hot
/// for the softmax output, else uniform in [-1, 1).
using Data = nabla::bench::Batches<Matrix, Matrix>;

Data make_data(const std::vector<Eigen::Index>& sizes, Eigen::Index batch, bool one_hot) {
    return nabla::bench::random_batches<float>(sizes, batch, 8, one_hot, 10);
}

/// A dense network of ReLU layers under a softmax + cross-entropy or an identity + squared-error
/// output, and its plain SGD step, split by rows into `parts` (1 or 2).
class RowSplitMlp {
public:
    RowSplitMlp(const std::vector<Eigen::Index>& sizes, Eigen::Index batch, bool softmax,
                int parts)
        : m_layers(sizes.size() - 1), m_batch(batch), m_softmax(softmax), m_barrier(parts) {
        for (std::size_t l = 0; l < m_layers; ++l) {
            const Eigen::Index m = sizes[l];
            const Eigen::Index n = sizes[l + 1];
            m_w.push_back(random_matrix(n, m, 1 + l) * (1.0f / float(m)));
            m_b.push_back(Vector::Zero(n));
            for (Buffers& buffers : m_shared) {
                buffers.a.emplace_back(n, batch);
                buffers.delta.emplace_back(n, batch);
            }
        }
        for (Matrix& a : m_own_output) a.resize(sizes.back(), batch);
        for (Matrix& d : m_own_delta) d.resize(sizes.back(), batch);
    }

    /// This part's share of one step on (x, y) with rate η; `parity` alternates from step to
    /// step, so that a step's writes never meet the other part's reads of the step before.
    void step(const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Matrix>& y, float eta,
              int part, int parts, int parity) {
        Buffers& s = m_shared[std::size_t(parity)];
        const std::size_t last = m_layers - 1;
        const auto input = [&](std::size_t l) -> Eigen::Ref<const Matrix> {
            if (l == 0) return x;
            return s.a[l - 1];
        };
        // Forward: the hidden layers by rows.
        for (std::size_t l = 0; l < last; ++l) {
            const Rows r = rows_of(m_w[l].rows(), part, parts);
            auto a = s.a[l].middleRows(r.begin, r.size);
            gemm(a, m_w[l].middleRows(r.begin, r.size), input(l), 1.0f, false);  // z = W a + b
            a.colwise() += m_b[l].segment(r.begin, r.size);
            a = a.cwiseMax(0.0f);  // a = ReLU(z)
            m_barrier.wait();
        }
        // The output and its δ: softmax whole on each part, else by rows.
        const Eigen::Index outputs = m_w[last].rows();
        const Rows out = m_softmax ? Rows{0, outputs} : rows_of(outputs, part, parts);
        Matrix& own_a = m_own_output[std::size_t(part)];
        Matrix& own_delta = m_own_delta[std::size_t(part)];
        auto a_out = (m_softmax ? own_a : s.a[last]).middleRows(out.begin, out.size);
        auto d_out = (m_softmax ? own_delta : s.delta[last]).middleRows(out.begin, out.size);
        gemm(a_out, m_w[last].middleRows(out.begin, out.size), input(last), 1.0f, false);
        a_out.colwise() += m_b[last].segment(out.begin, out.size);
        const float mean = 1.0f / float(m_batch);
        if (m_softmax) {
            const Eigen::RowVectorXf shift = a_out.colwise().maxCoeff();
            a_out = (a_out.rowwise() - shift).array().exp().matrix();
            const Eigen::RowVectorXf total = a_out.colwise().sum();
            a_out = a_out.array().rowwise() / total.array();
            d_out = (a_out - y) * mean;  // δᴸ = (a − y)/n
        } else {
            d_out = (a_out - y.middleRows(out.begin, out.size)) * (2 * mean);  // δᴸ = 2(a − y)/n
            m_barrier.wait();
        }
        const Matrix& delta_out = m_softmax ? own_delta : s.delta[last];
        // Backward: each part its rows of δˡ⁻¹, then its part of Wˡ once no part reads it.
        for (std::size_t l = last; l > 0; --l) {
            const Matrix& delta = l == last ? delta_out : s.delta[l];
            const Rows below = rows_of(m_w[l].cols(), part, parts);
            auto d = s.delta[l - 1].middleRows(below.begin, below.size);
            gemm(d, m_w[l].middleCols(below.begin, below.size).transpose(), delta, 1.0f,
                 false);  // (4)
            d = (s.a[l - 1].middleRows(below.begin, below.size).array() > 0).select(d, 0.0f);
            m_barrier.wait();
            update(l, delta, s.a[l - 1], eta, part, parts);
        }
        update(0, s.delta[0], x, eta, part, parts);
    }

private:
    struct Buffers {
        std::vector<Matrix> a, delta;
    };

    // Wˡ −= η δˡ aˡ⁻¹ᵀ and bˡ −= η Σ δˡ (δ holds the 1/n): this part's rows, or for the softmax
    // output, which every part holds whole, this part's columns and the first part the bias.
    void update(std::size_t l, const Matrix& delta, const Eigen::Ref<const Matrix>& a_prev,
                float eta, int part, int parts) {
        if (m_softmax && l == m_layers - 1) {
            const Rows c = rows_of(m_w[l].cols(), part, parts);
            gemm(m_w[l].middleCols(c.begin, c.size), delta,
                 a_prev.middleRows(c.begin, c.size).transpose(), -eta, true);
            if (part == 0) m_b[l] -= eta * delta.rowwise().sum();
            return;
        }
        const Rows r = rows_of(m_w[l].rows(), part, parts);
        gemm(m_w[l].middleRows(r.begin, r.size), delta.middleRows(r.begin, r.size),
             a_prev.transpose(), -eta, true);  // (3), (6)
        m_b[l].segment(r.begin, r.size) -= eta * delta.middleRows(r.begin, r.size).rowwise().sum();
    }

    std::size_t m_layers;
    Eigen::Index m_batch;
    bool m_softmax;
    std::vector<Matrix> m_w;
    std::vector<Vector> m_b;
    std::array<Buffers, 2> m_shared;  // by step parity
    std::array<Matrix, 2> m_own_output, m_own_delta;  // per part: the whole softmax output
    nabla::detail::PartBarrier m_barrier;  // the parts meet here after each layer
};

/// The row-split step of a workload on `threads` (1 or 2) threads of a nabla::ThreadPool.
void bm_rows(benchmark::State& state, const std::vector<Eigen::Index>& sizes, Eigen::Index batch,
             bool softmax, float eta, int threads) {
    const Data data = make_data(sizes, batch, softmax);
    RowSplitMlp net(sizes, batch, softmax, threads);
    nabla::ThreadPool pool(threads);
    Eigen::Index k = 0;
    int parity = 0;
    const auto step = [&] {
        pool.run([&](int part) { net.step(data.x(k), data.y(k), eta, part, threads, parity); });
        k = data.next(k);
        parity ^= 1;
    };
    step();
    for (auto _ : state) step();
    set_rates(state, double(batch), train_step_flops(sizes, batch));
}

/// peak/fma on every thread of a nabla::ThreadPool at once, each part a long run of
/// fma_chains(): the multiply-add ceiling of the cores together at the time of the run. About
/// twice one thread's GFLOP/s means two cores with multiply-add units of their own; a two-thread
/// step can gain no more than this ratio.
void bm_fma_peak_threads(benchmark::State& state, int threads) {
    constexpr int rounds = 100000;  // ~0.3 ms a part: the pool's hand-over is lost in it
    nabla::ThreadPool pool(threads);
    std::vector<float> sums(std::size_t(threads), 0.0f);
    for (auto _ : state)
        pool.run([&](int part) { sums[std::size_t(part)] += fma_chains<float>(rounds); });
    benchmark::DoNotOptimize(sums.data());
    state.counters["GFLOP"] = benchmark::Counter(
        double(state.iterations()) * threads * fma_chain_flops<float>(rounds) * 1e-9,
        benchmark::Counter::kIsRate);
    state.SetLabel(std::to_string(threads) + " threads");
}

/// The library's W1 step on the same batches: Network::train_step on one thread, DataParallel
/// (the batch split) on two.
void bm_library_w1(benchmark::State& state, int threads) {
    using namespace nabla::bench;
    const Data data = make_data(w1_sizes, w1_batch, true);
    W1Net net(w1_sizes, 1);
    const double flops = train_step_flops(w1_sizes, w1_batch);
    if (threads == 1)
        bm_train_step(state, net, data, w1_learning_rate, flops);
    else
        bm_parallel_train_step(state, net, data, w1_learning_rate, flops, threads);
}

/// The library's W2 step: Network::train_step on one thread, over the whole batch or over half
/// of it (the columns one of DataParallel's two shards holds), and DataParallel on two. The half
/// batch's samples/s against the whole batch's is what the batch split gives up before any
/// cost of its own: each core's products are half as wide.
void bm_library_w2(benchmark::State& state, int threads, Eigen::Index batch,
                   nabla::ParallelSplit split = nabla::ParallelSplit::automatic) {
    using namespace nabla::bench;
    const Data data = make_data(w2_sizes, batch, false);
    W2Net net(w2_sizes, 2);
    const double flops = train_step_flops(w2_sizes, batch);
    if (threads == 1) {
        bm_train_step(state, net, data, w2_learning_rate, flops);
        return;
    }
    const nabla::ParallelSplit taken =
        bm_parallel_train_step(state, net, data, w2_learning_rate, flops, threads, split);
    state.SetLabel(split_label(taken, threads));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace nabla::bench;
    const int threads = take_threads(argc, argv);  // here only for its one back-end thread
    add("peak/fma", bm_fma_peak<float>);
    add("peak/fma/2threads", [](benchmark::State& state) { bm_fma_peak_threads(state, 2); });
    for (int t : {1, 2}) {
        const std::string suffix = t == 1 ? "/1thread" : "/2threads";
        add("W1/rows" + suffix, [t](benchmark::State& state) {
            bm_rows(state, w1_sizes, w1_batch, true, w1_learning_rate, t);
        });
        add("W1/library" + suffix, [t](benchmark::State& state) { bm_library_w1(state, t); });
        add("W2/rows" + suffix, [t](benchmark::State& state) {
            bm_rows(state, w2_sizes, w2_batch, false, w2_learning_rate, t);
        }, benchmark::kMillisecond);
        add("W2/library" + suffix, [t](benchmark::State& state) {
            bm_library_w2(state, t, w2_batch);
        }, benchmark::kMillisecond);
    }
    add("W2/library/2threads/samples", [](benchmark::State& state) {
        bm_library_w2(state, 2, w2_batch, nabla::ParallelSplit::samples);
    }, benchmark::kMillisecond);
    add("W2/library/half-batch/1thread", [](benchmark::State& state) {
        bm_library_w2(state, 1, w2_batch / 2);
    }, benchmark::kMillisecond);
    return run_benchmarks(argc, argv, threads);
}
