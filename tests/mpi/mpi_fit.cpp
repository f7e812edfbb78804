// fit() across MPI processes (include/nabla/mpi.hpp), run by ctest under mpirun with 1, 2 and 3
// ranks (tests/CMakeLists.txt). Modes:
//
//   mpi_fit check   every rank trains the same double network on the same data twice: alone,
//                   and together with the others (FitOptions::communicator = world()); SGD and
//                   Adam, a global batch that does not divide among the ranks and a last batch
//                   smaller than the rank count. Together must equal alone to 1e-12 relative,
//                   and after every epoch every rank must hold rank 0's weights bit for bit.
//                   Exit status 1 on any failure, on every rank.
//   mpi_fit throw   rank 1 throws before training; nabla::mpi::run must end the whole run.
//   mpi_fit nan     one sample is NaN: every rank stops with the same NumericalError.

#include "../distributed_data.hpp"

#include <nabla/mpi.hpp>
#include <nabla/nabla.hpp>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Net = nabla::DynamicNetwork<double, nabla::CrossEntropy>;
using Vector = Eigen::VectorXd;

using Data = nabla_test::ClassData;
using nabla_test::make_class_data;

int failures = 0;

void expect(bool ok, const std::string& what, int rank) {
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "mpi_fit: rank %d: %s\n", rank, what.c_str());
}

template <class Optimizer>
void check(const char* name, Optimizer optimizer, Eigen::Index samples, Eigen::Index batch) {
    const auto world = nabla::mpi::world();
    const int rank = world->rank();
    const Data data = make_class_data(samples, 5);
    const Data validation = make_class_data(30, 6);
    nabla::FitOptions options = nabla_test::class_data_options(batch, 5);

    Net alone({4, 8, 3}, {nabla::Tanh{}, nabla::Softmax{}}, /*seed=*/100);
    Optimizer first = optimizer;
    nabla::fit(alone, first, data.x, data.y, validation.x, validation.y, options);

    // Every rank starts elsewhere; fit() must start them all from rank 0's weights.
    Net together({4, 8, 3}, {nabla::Tanh{}, nabla::Softmax{}}, /*seed=*/100 + std::uint64_t(rank));
    options.communicator = world;
    options.callbacks.push_back([&](const nabla::EpochRecord& record) {
        Vector mine = nabla::copy_parameters(together);
        Vector root = mine;
        world->broadcast(root.data(), std::size_t(root.size()), 0);
        expect(mine == root, std::string(name) + ": epoch " + std::to_string(record.epoch) +
                                 ": the weights differ from rank 0's",
               rank);
        return nabla::EpochAction::proceed;
    });
    nabla::fit(together, optimizer, data.x, data.y, validation.x, validation.y, options);

    const Vector a = nabla::copy_parameters(together);
    const Vector b = nabla::copy_parameters(alone);
    const double difference = (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
    expect(difference <= 1e-12,
           std::string(name) + ": together differs from alone by " + std::to_string(difference),
           rank);
    if (rank == 0)
        std::printf("mpi_fit: %s, %d ranks, %ld samples in batches of %ld: relative difference "
                    "%.2e\n",
                    name, world->size(), long(samples), long(batch), difference);
}

}  // namespace

int main(int argc, char** argv) {
    nabla::mpi::Session session(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "check";
    return nabla::mpi::run([&] {
        const auto world = nabla::mpi::world();
        if (mode == "throw") {
            if (world->rank() == 1) throw std::runtime_error("rank 1 cannot read its data");
            // The others wait in a collective for a rank that will never come.
            std::vector<double> values(4, 1.0);
            world->sum(values.data(), values.size());
            return 0;
        }
        if (mode == "nan") {
            Data data = make_class_data(40, 3);
            data.x(2, 17) = std::numeric_limits<double>::quiet_NaN();
            Net net({4, 8, 3}, {nabla::Tanh{}, nabla::Softmax{}}, 1);
            nabla::Sgd sgd(0.1);
            nabla::FitOptions options;
            options.batch_size = 8;
            options.communicator = world;
            options.progress.mode = nabla::ProgressMode::silent;
            nabla::fit(net, sgd, data.x, data.y, options);
            return 0;
        }
        check("plain SGD", nabla::Sgd(0.2), 101, 10);
        check("SGD with momentum", nabla::Sgd(0.1, {0.9}), 100, 7);
        check("Adam", nabla::Adam(0.01), 41, 2);
        const int total = world->min(-failures);  // the most failures of any rank, negated
        if (world->rank() == 0) std::printf("mpi_fit: %s\n", total == 0 ? "ok" : "FAILED");
        return total == 0 ? 0 : 1;
    });
}
