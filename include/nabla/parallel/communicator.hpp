#pragma once

/// \file
/// What fit() needs of a group of processes that train one network together (data-parallel
/// training across machines): each process, a rank, computes the gradient of its share of every
/// global mini-batch, the shares are summed into the mean over the global batch, and every rank
/// takes the same step. nabla itself knows no transport: <nabla/mpi.hpp> implements this
/// interface with MPI; a program may implement it with anything that sums and broadcasts.

#include <nabla/detail/requires_cxx17.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace nabla {

/// A fixed group of processes, numbered 0 … size() − 1, that can sum arrays and broadcast across
/// all of them. Every call is collective: every rank must make it, in the same order, with the
/// same counts. Called a few times per training step, never per sample.
class Communicator {
public:
    virtual ~Communicator() = default;

    /// This process's number, 0 … size() − 1; rank 0 is the one that prints and saves.
    virtual int rank() const = 0;
    /// The number of processes.
    virtual int size() const = 0;

    /// values ← the element-wise sum of every rank's values, the same bits on every rank.
    virtual void sum(float* values, std::size_t count) = 0;
    /// values ← the element-wise sum of every rank's values, the same bits on every rank.
    virtual void sum(double* values, std::size_t count) = 0;
    /// The smallest of every rank's `value`.
    virtual int min(int value) = 0;

    /// values ← rank `root`'s values.
    virtual void broadcast(float* values, std::size_t count, int root) = 0;
    /// values ← rank `root`'s values.
    virtual void broadcast(double* values, std::size_t count, int root) = 0;
    /// text ← rank `root`'s text.
    virtual void broadcast(std::string& text, int root) = 0;
};

/// Another rank failed during a collective step of fit() (an exception on its share of a batch):
/// every other rank throws this, with that rank's message, instead of waiting for it forever.
/// The failing rank itself rethrows its own exception. Caught as std::runtime_error.
class RankError : public std::runtime_error {
public:
    /// `what` names the rank and its message; the "nabla: " prefix is added here.
    explicit RankError(const std::string& what) : std::runtime_error("nabla: " + what) {}
};

/// The columns [begin, end) of a batch of `samples` columns that rank `rank` of `ranks` takes:
/// consecutive, in rank order, as even as they can be (sizes differ by at most one; a batch
/// smaller than the rank count leaves the last ranks none).
struct Shard {
    Eigen::Index begin = 0;  ///< The first column.
    Eigen::Index end = 0;    ///< One past the last column.

    /// end − begin.
    Eigen::Index size() const { return end - begin; }

    /// Rank `rank`'s share of `samples` columns.
    static Shard of(Eigen::Index samples, int rank, int ranks) {
        return Shard{samples * rank / ranks, samples * (rank + 1) / ranks};
    }
};

/// This process's rows of a data set of `rows` rows (samples), for FitOptions::local_data:
/// Shard::of(rows, rank, size). With an IDX file:
/// read_idx_images(path, shard.size(), shard.begin).
inline Shard rows_of(Eigen::Index rows, const Communicator& communicator) {
    return Shard::of(rows, communicator.rank(), communicator.size());
}

}  // namespace nabla
