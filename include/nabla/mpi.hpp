#pragma once

/// \file
/// Data-parallel training across processes with MPI (docs/distributed.md). Optional: only a
/// program that links the CMake target nabla::mpi (nabla::nabla plus MPI) includes this header.
///
///     int main(int argc, char** argv) {
///         nabla::mpi::Session session(argc, argv);     // MPI_Init ... MPI_Finalize
///         return nabla::mpi::run([&] {                 // an exception on one rank stops all
///             ...                                      // the same data and network on every rank
///             options.communicator = nabla::mpi::world();
///             nabla::fit(net, adam, x, y, options);    // each rank: its shard of every batch
///             if (nabla::mpi::world()->rank() == 0) nabla::save(net, "model.nbl");
///             return 0;
///         });
///     }
///
/// Launched as `mpirun -np 2 ./program`.

#include <nabla/detail/format.hpp>
#include <nabla/detail/requires_cxx17.hpp>
#include <nabla/error.hpp>
#include <nabla/parallel/communicator.hpp>

// nabla calls MPI's C API; the deprecated C++ bindings that Open MPI and MPICH would also
// declare are left out.
#ifndef OMPI_SKIP_MPICXX
/// Tells Open MPI's <mpi.h> to leave out its C++ bindings.
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
/// Tells MPICH's <mpi.h> to leave out its C++ bindings.
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

namespace nabla::mpi {

/// Throws ResourceError naming `call` unless `status` is MPI_SUCCESS (with MPI's errors
/// returned rather than fatal, as Communicator sets them).
inline void check(int status, const char* call) {
    if (status == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(status, text, &length);
    throw ResourceError(detail::cat(call, " failed: ", std::string(text, std::size_t(length))));
}

/// MPI_Init on construction and MPI_Finalize on destruction, for main(); does nothing when MPI
/// is already (or still) initialized by someone else.
class Session {
public:
    /// Initializes MPI with the program's arguments.
    Session(int& argc, char**& argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            check(MPI_Init(&argc, &argv), "MPI_Init");
            m_owner = true;
        }
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    /// Finalizes MPI if this session initialized it.
    ~Session() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (m_owner && !finalized) MPI_Finalize();
    }

private:
    bool m_owner = false;
};

/// nabla::Communicator over an MPI communicator: sums are MPI_Allreduce with MPI_SUM, whose
/// result the tests check is the same bit for bit on every rank.
class Communicator final : public nabla::Communicator {
public:
    /// Works on `comm` (MPI_COMM_WORLD, or a communicator of the program's own), which must
    /// outlive this object; MPI errors on it are returned and thrown as ResourceError.
    explicit Communicator(MPI_Comm comm) : m_comm(comm) {
        check(MPI_Comm_rank(comm, &m_rank), "MPI_Comm_rank");
        check(MPI_Comm_size(comm, &m_size), "MPI_Comm_size");
        MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    }

    /// This process's rank in the communicator.
    int rank() const override { return m_rank; }
    /// The number of processes in the communicator.
    int size() const override { return m_size; }

    /// MPI_Allreduce(MPI_SUM) in place.
    void sum(float* values, std::size_t count) override { reduce(values, count, MPI_FLOAT); }
    /// MPI_Allreduce(MPI_SUM) in place.
    void sum(double* values, std::size_t count) override { reduce(values, count, MPI_DOUBLE); }
    /// MPI_Allreduce(MPI_MIN) of one int.
    int min(int value) override {
        int result = value;
        check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, m_comm), "MPI_Allreduce");
        return result;
    }

    /// MPI_Bcast from `root`.
    void broadcast(float* values, std::size_t count, int root) override {
        cast(values, count, MPI_FLOAT, root);
    }
    /// MPI_Bcast from `root`.
    void broadcast(double* values, std::size_t count, int root) override {
        cast(values, count, MPI_DOUBLE, root);
    }
    /// The length, then the bytes, from `root`.
    void broadcast(std::string& text, int root) override {
        unsigned long long length = text.size();
        check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, m_comm), "MPI_Bcast");
        text.resize(std::size_t(length));
        cast(text.data(), text.size(), MPI_CHAR, root);
    }

private:
    // MPI counts are ints: f(first, count) for pieces of at most INT_MAX that cover `count`.
    template <class F>
    static void in_pieces(std::size_t count, F&& f) {
        for (std::size_t done = 0; done < count;) {
            const std::size_t piece = std::min<std::size_t>(count - done, INT_MAX);
            f(done, int(piece));
            done += piece;
        }
    }

    template <class T>
    void reduce(T* values, std::size_t count, MPI_Datatype type) {
        in_pieces(count, [&](std::size_t first, int piece) {
            check(MPI_Allreduce(MPI_IN_PLACE, values + first, piece, type, MPI_SUM, m_comm),
                  "MPI_Allreduce");
        });
    }

    template <class T>
    void cast(T* values, std::size_t count, MPI_Datatype type, int root) {
        in_pieces(count, [&](std::size_t first, int piece) {
            check(MPI_Bcast(values + first, piece, type, root, m_comm), "MPI_Bcast");
        });
    }

    MPI_Comm m_comm;
    int m_rank = 0;
    int m_size = 1;
};

/// The communicator of every process of the run (MPI_COMM_WORLD), for FitOptions::communicator;
/// MPI must be initialized (Session).
inline std::shared_ptr<nabla::Communicator> world() {
    return std::make_shared<Communicator>(MPI_COMM_WORLD);
}

/// Calls f() and returns its int. An exception that escapes f on any rank is printed with the
/// rank's number ("rank 1 of 2: nabla: ...") and ends every process of the run with
/// MPI_Abort, so that the others never wait for the failed one: mpirun then exits with a
/// non-zero status within seconds.
template <class F>
int run(F&& f) noexcept {
    try {
        return f();
    } catch (const std::exception& error) {
        int rank = 0, size = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        std::fprintf(stderr, "rank %d of %d: %s\n", rank, size, error.what());
    } catch (...) {
        std::fprintf(stderr, "an exception that is not a std::exception\n");
    }
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
}

}  // namespace nabla::mpi
