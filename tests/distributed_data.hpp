#pragma once

// The small classification set and the training options the tests of training across processes
// share (test_distributed.cpp with ranks as threads, mpi/mpi_fit.cpp under mpirun): the same
// numbers from the same seed in every rank and every program.

#include <nabla/data/one_hot.hpp>
#include <nabla/fit.hpp>
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

/// `epochs` epochs of batches of `batch` from seed 9, early stopping (patience 2) that gives the
/// best weights back, no progress: the run each test makes alone and across ranks.
inline nabla::FitOptions class_data_options(Eigen::Index batch, int epochs) {
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = batch;
    options.seed = 9;
    options.early_stopping = nabla::EarlyStopping{2, 0.0, true};
    options.progress.mode = nabla::ProgressMode::silent;
    return options;
}

}  // namespace nabla_test
