#pragma once

// The small classification set the tests of training across processes share
// (test_distributed.cpp with ranks as threads, mpi/mpi_fit.cpp under mpirun): the same numbers
// from the same seed in every rank and every program.

#include <nabla/data/one_hot.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace nabla_test {

/// Inputs and one-hot targets, one sample per column.
struct ClassData {
    Eigen::MatrixXd x;  ///< 4 × samples, uniform in [−1, 1).
    Eigen::MatrixXd y;  ///< 3 × samples: the class of each sample by a fixed rule of its inputs.
};

/// `samples` samples of 4 features in 3 classes, drawn from `seed`.
inline ClassData make_class_data(Eigen::Index samples, std::uint64_t seed) {
    nabla::Rng rng(seed);
    ClassData data;
    data.x.resize(4, samples);
    std::vector<int> labels;
    for (Eigen::Index k = 0; k < samples; ++k) {
        for (Eigen::Index j = 0; j < 4; ++j) data.x(j, k) = 2 * rng.uniform() - 1;
        const double s = data.x(0, k) + 0.5 * data.x(1, k) - data.x(2, k) * data.x(3, k);
        labels.push_back(s < -0.3 ? 0 : s < 0.3 ? 1 : 2);
    }
    data.y = nabla::one_hot<double>(labels, 3);
    return data;
}

}  // namespace nabla_test
