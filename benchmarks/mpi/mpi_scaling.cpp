// What training across processes costs and gains on this machine (docs/distributed.md), run as
//
//     mpirun -np 1 build/benchmarks/mpi_scaling
//     mpirun -np 2 build/benchmarks/mpi_scaling
//
// With the same global batch on every run:
//   - W1 and W2 trained by fit() with FitOptions::communicator (the path users call): samples/s
//     over every rank, the best of three epochs (W1: 60000 random samples in batches of 64; W2:
//     4096 in batches of 256);
//   - the sum fit() makes per step, alone: MPI_Allreduce of W1's and W2's gradient arrays
//     (plus the four numbers that ride along), the mean over many calls.
// Rank 0 prints; with one rank there is no communicator and no sum.

#include "../workloads.hpp"

#include <nabla/mpi.hpp>
#include <nabla/nabla.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// fit()'s samples/s over all ranks for `Net` on random data: the best of three epochs.
template <class Net>
double fit_rate(const std::vector<Eigen::Index>& sizes, Eigen::Index samples, Eigen::Index batch,
                float rate, const std::shared_ptr<nabla::Communicator>& world) {
    Net net(sizes);
    net.initialize(1, nabla::HeNormal{});
    nabla::Rng rng(2);
    Eigen::MatrixXf x(sizes.front(), samples);
    for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = float(rng.uniform());
    Eigen::MatrixXf y = Eigen::MatrixXf::Zero(sizes.back(), samples);
    for (Eigen::Index k = 0; k < samples; ++k) y(k % sizes.back(), k) = 1;
    nabla::Sgd sgd(rate);
    nabla::FitOptions options;
    options.epochs = 3;
    options.batch_size = batch;
    options.progress.mode = nabla::ProgressMode::silent;
    if (world->size() > 1) options.communicator = world;
    const nabla::History history = nabla::fit(net, sgd, x, y, options);
    double best = 0;
    for (const nabla::EpochRecord& record : history.epochs)
        best = std::max(best, record.samples_per_second);
    return best;
}

/// The mean time of one MPI_Allreduce of `count` floats, in seconds.
double allreduce_seconds(Eigen::Index count, int calls,
                         const std::shared_ptr<nabla::Communicator>& world) {
    std::vector<float> values(std::size_t(count), 1.0f);
    world->sum(values.data(), values.size());  // warm up
    const auto start = Clock::now();
    for (int c = 0; c < calls; ++c) world->sum(values.data(), values.size());
    return seconds_since(start) / calls;
}

Eigen::Index parameters(const std::vector<Eigen::Index>& sizes) {
    Eigen::Index total = 0;
    for (std::size_t l = 1; l < sizes.size(); ++l) total += sizes[l] * (sizes[l - 1] + 1);
    return total;
}

}  // namespace

int main(int argc, char** argv) {
    nabla::mpi::Session session(argc, argv);
    return nabla::mpi::run([&] {
        const auto world = nabla::mpi::world();
        const bool root = world->rank() == 0;
        using namespace nabla::bench;
        const double w1 =
            fit_rate<W1Net>(w1_sizes, 60000, w1_batch, w1_learning_rate, world);
        const double w2 =
            fit_rate<W2Net>(w2_sizes, 4096, w2_batch, w2_learning_rate, world);
        if (root) {
            std::printf("ranks %d\n", world->size());
            std::printf("W1 fit: %.0f samples/s (%.1f us per step of %ld)\n", w1,
                        1e6 * double(w1_batch) / w1, long(w1_batch));
            std::printf("W2 fit: %.0f samples/s (%.2f ms per step of %ld)\n", w2,
                        1e3 * double(w2_batch) / w2, long(w2_batch));
        }
        if (world->size() > 1) {
            const Eigen::Index n1 = parameters(w1_sizes) + 4;
            const Eigen::Index n2 = parameters(w2_sizes) + 4;
            const double t1 = allreduce_seconds(n1, 500, world);
            const double t2 = allreduce_seconds(n2, 50, world);
            if (root) {
                std::printf("allreduce of W1's gradient (%ld floats, %.2f MB): %.1f us\n",
                            long(n1), 4e-6 * double(n1), 1e6 * t1);
                std::printf("allreduce of W2's gradient (%ld floats, %.2f MB): %.2f ms\n",
                            long(n2), 4e-6 * double(n2), 1e3 * t2);
            }
        }
        return 0;
    });
}
