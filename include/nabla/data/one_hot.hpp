#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace nabla {

/// Class labels as one-hot targets, one sample per column: column k is e_{labels[k]}, the unit
/// vector with a 1 in row labels[k]. The result is classes × samples, what a softmax output
/// layer of `classes` neurons is trained against with CrossEntropy.
///
///     Eigen::MatrixXf y = nabla::one_hot(labels, 10);   // 10 x labels.size()
///
/// Throws ConfigError when classes < 1 and ShapeError naming the sample and its label when a
/// label lies outside [0, classes).
template <class Scalar = float>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> one_hot(const std::vector<int>& labels,
                                                              int classes) {
    if (classes < 1) {
        throw ConfigError(detail::cat("one_hot: classes must be at least 1, got ", classes));
    }
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> targets =
        Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>::Zero(
            classes, Eigen::Index(labels.size()));
    for (std::size_t k = 0; k < labels.size(); ++k) {
        if (labels[k] < 0 || labels[k] >= classes) {
            throw ShapeError(detail::cat("one_hot: sample ", k, " has label ", labels[k],
                                         ", outside [0, ", classes, ") for ", classes,
                                         " classes"));
        }
        targets(labels[k], Eigen::Index(k)) = Scalar(1);
    }
    return targets;
}

}  // namespace nabla
