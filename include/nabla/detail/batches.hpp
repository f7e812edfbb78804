#pragma once

// How train() and fit() walk a data set: shuffled mini-batches for training, consecutive ones
// for evaluation. Buffers are sized when the walk is set up, so the epochs allocate nothing.

#include <nabla/io/detail/state_bytes.hpp>
#include <nabla/parallel/communicator.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

namespace nabla::detail {

/// A workspace and its targets, sized once for one batch size.
template <class Net>
struct BatchBuffers {
    typename Net::template Workspace<> ws;
    typename Net::OutputBatch targets;

    /// Sizes the whole workspace, or (`whole` false, for a DataParallel that runs the passes in
    /// workspaces of its own) only its input.
    void prepare(const Net& net, Eigen::Index batch, bool whole) {
        if (whole)
            ws.prepare(net, batch);
        else
            ws.input().resize(net.inputs(), batch);
        targets.resize(net.outputs(), batch);
    }
};

/// The number of batches of (at most) `batch_size` columns that cover `samples` columns.
inline Eigen::Index batch_count(Eigen::Index samples, Eigen::Index batch_size) {
    return (samples + batch_size - 1) / batch_size;
}

/// Asks the processor for column `sample` of x ahead of its copy. A shuffled batch's columns lie
/// anywhere in x; copied one cache line after another, each column waited on memory in turn, and
/// the gather cost W1's fit() about 5% of its time (with this, about 2%).
template <class X>
void prefetch_column(const Eigen::MatrixBase<X>& x, Eigen::Index sample) {
#if defined(__GNUC__)
    if constexpr ((int(X::Flags) & Eigen::DirectAccessBit) && !X::IsRowMajor) {
        if (x.innerStride() != 1)
            return;
        const char* column =
            reinterpret_cast<const char*>(x.derived().data() + sample * x.outerStride());
        const std::size_t bytes = std::size_t(x.rows()) * sizeof(typename X::Scalar);
        for (std::size_t offset = 0; offset < bytes; offset += 64)
            __builtin_prefetch(column + offset);
    }
#else
    (void)x;
    (void)sample;
#endif
}

/// Mini-batches of a training set of `samples` columns: before each epoch the sample order is
/// shuffled (when asked) by one generator seeded once, so one seed gives one sequence of
/// batches; batch b takes the next batch_size samples of that order, and the last, smaller
/// batch is used, not dropped. A batch size above the sample count means one batch of all.
///
/// Across processes (fit() with a Communicator), every rank walks the same sequence of batches
/// (the same seed) and loads only its Shard of each: rank r of R takes columns
/// [n·r/R, n·(r+1)/R) of a batch of n, so that every sample goes to exactly one rank.
template <class Net>
class MiniBatches {
public:
    /// Sizes the buffers for `net`; samples ≥ 1 and batch_size ≥ 1 (checked by the caller).
    /// `whole_workspaces` false sizes only the inputs of the workspaces (see BatchBuffers).
    /// `rank` of `ranks`: which shard of each batch load() takes.
    MiniBatches(const Net& net, Eigen::Index samples, Eigen::Index batch_size, std::uint64_t seed,
                bool shuffle, bool whole_workspaces = true, int rank = 0, int ranks = 1)
        : m_samples(samples),
          m_batch_size(std::min(batch_size, samples)),
          m_batches(batch_count(samples, m_batch_size)),
          m_order(static_cast<std::size_t>(samples)),
          m_rng(seed),
          m_shuffle(shuffle),
          m_rank(rank),
          m_ranks(ranks) {
        // Two sets of buffers, so an epoch that ends on a smaller batch does not resize (and
        // reallocate) the full-size ones every epoch. A rank whose shard is empty still gets a
        // one-column workspace: it holds the summed gradients of the step it takes with the
        // others.
        const Eigen::Index tail_size = samples - (m_batches - 1) * m_batch_size;
        const auto buffer_size = [&](Eigen::Index batch) {
            return std::max<Eigen::Index>(1, shard(batch).size());
        };
        m_full.prepare(net, buffer_size(m_batch_size), whole_workspaces);
        if (tail_size != m_batch_size)
            m_tail.prepare(net, buffer_size(tail_size), whole_workspaces);
        std::iota(m_order.begin(), m_order.end(), Eigen::Index(0));
    }

    /// Seeds the generators of the workspaces' training passes (dropout masks): the full-size
    /// and the tail workspace draw different masks, both fixed by `seed`.
    void seed_workspaces(std::uint64_t seed) {
        m_full.ws.seed(seed ^ 0xD1B54A32D192ED03ULL);
        m_tail.ws.seed(seed ^ 0x8CB92BA72F3D8DD7ULL);
    }

    /// Writes the sample order and the generators (shuffle, dropout masks), for a checkpoint.
    void write_state(StateWriter& out) const {
        out.u64(m_order.size());
        for (Eigen::Index sample : m_order) out.i64(sample);
        for (const Rng* rng : {&m_rng, &m_full.ws.rng(), &m_tail.ws.rng()})
            for (std::uint64_t word : rng->state()) out.u64(word);
    }

    /// Reads what write_state() wrote for a run over as many samples; throws FileError when the
    /// order is not a permutation of them.
    void read_state(StateReader& in) {
        if (in.u64() != m_order.size())
            in.fail("the checkpoint was made for another number of training samples");
        std::vector<char> seen(m_order.size(), 0);
        for (Eigen::Index& sample : m_order) {
            sample = Eigen::Index(in.i64());
            if (sample < 0 || sample >= m_samples || seen[std::size_t(sample)]++)
                in.fail("the checkpoint's sample order is not a permutation of the samples");
        }
        for (Rng* rng : {&m_rng, &m_full.ws.rng(), &m_tail.ws.rng()}) {
            std::array<std::uint64_t, 4> state{};
            for (std::uint64_t& word : state) word = in.u64();
            rng->set_state(state);
        }
    }

    /// The batches of one epoch.
    Eigen::Index batches() const { return m_batches; }
    /// The samples of one epoch.
    Eigen::Index samples() const { return m_samples; }
    /// The samples of batch b (zero-based), over all ranks.
    Eigen::Index batch_size(Eigen::Index b) const {
        return std::min(m_batch_size, m_samples - b * m_batch_size);
    }
    /// The full-size buffers, whatever they last held: the workspace of a step this rank takes
    /// part in with no samples of its own.
    BatchBuffers<Net>& buffers() { return m_full; }
    /// This rank's columns of a batch of `size` samples.
    Shard shard(Eigen::Index size) const { return Shard::of(size, m_rank, m_ranks); }

    /// Starts an epoch: shuffles the sample order when shuffling is on.
    void next_epoch() {
        if (m_shuffle)
            shuffle(m_order, m_rng);
    }

    /// Copies the samples of batch b (zero-based) of this epoch's order from x and y into their
    /// buffers, and returns the buffers: ws.input() and targets hold the batch, or this rank's
    /// shard of it (nothing is copied for an empty shard).
    template <class X, class Y>
    BatchBuffers<Net>& load(Eigen::Index b, const Eigen::MatrixBase<X>& x,
                            const Eigen::MatrixBase<Y>& y) {
        const Eigen::Index whole = batch_size(b);
        BatchBuffers<Net>& batch = whole == m_batch_size ? m_full : m_tail;
        const Shard part = shard(whole);
        const Eigen::Index first = b * m_batch_size + part.begin;
        const Eigen::Index size = part.size();
        const auto sample_at = [&](Eigen::Index k) {
            return m_order[static_cast<std::size_t>(first + k)];
        };
        constexpr Eigen::Index ahead = 2;  // columns asked for ahead of the copy
        for (Eigen::Index k = 0; k < std::min(ahead, size); ++k) {
            prefetch_column(x, sample_at(k));
            prefetch_column(y, sample_at(k));
        }
        for (Eigen::Index k = 0; k < size; ++k) {
            const Eigen::Index sample = sample_at(k);
            if (k + ahead < size) {
                prefetch_column(x, sample_at(k + ahead));
                prefetch_column(y, sample_at(k + ahead));
            }
            batch.ws.input().col(k) = x.col(sample);
            batch.targets.col(k) = y.col(sample);
        }
        return batch;
    }

private:
    Eigen::Index m_samples;
    Eigen::Index m_batch_size;
    Eigen::Index m_batches;
    std::vector<Eigen::Index> m_order;
    Rng m_rng;
    bool m_shuffle;
    int m_rank;
    int m_ranks;
    BatchBuffers<Net> m_full;
    BatchBuffers<Net> m_tail;
};

/// Consecutive batches over an evaluation set, in order: the forward pass only, with one
/// full-size and one tail workspace prepared up front and reused, so an evaluation allocates
/// nothing.
template <class Net>
class EvaluationBatches {
public:
    /// Sizes the workspaces for `net`; samples ≥ 1 and batch_size ≥ 1 (checked by the caller).
    EvaluationBatches(const Net& net, Eigen::Index samples, Eigen::Index batch_size)
        : m_samples(samples),
          m_batch_size(std::min(batch_size, samples)),
          m_batches(batch_count(samples, m_batch_size)) {
        const Eigen::Index tail_size = samples - (m_batches - 1) * m_batch_size;
        m_full.prepare(net, m_batch_size);
        if (tail_size != m_batch_size)
            m_tail.prepare(net, tail_size);
    }

    /// The mean cost over the samples of x (inputs × samples) against y, batch by batch; after
    /// each batch calls after_each(aᴸ, targets) with the batch's outputs and target columns.
    template <class X, class Y, class F>
    double mean_loss(const Net& net, const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                     F&& after_each) {
        double sum = 0;
        for (Eigen::Index b = 0; b < m_batches; ++b) {
            const Eigen::Index first = b * m_batch_size;
            const Eigen::Index size = std::min(m_batch_size, m_samples - first);
            auto& ws = size == m_batch_size ? m_full : m_tail;
            const auto cost = net.loss(x.middleCols(first, size), y.middleCols(first, size), ws);
            sum += double(cost) * double(size);  // a batch weighs by its size
            after_each(ws.output(), y.middleCols(first, size));
        }
        return sum / double(m_samples);
    }

private:
    Eigen::Index m_samples;
    Eigen::Index m_batch_size;
    Eigen::Index m_batches;
    typename Net::template Workspace<> m_full;
    typename Net::template Workspace<> m_tail;
};

}  // namespace nabla::detail
