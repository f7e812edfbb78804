#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/random.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

namespace nabla {

/// A data set cut in two: training samples and held-out validation samples, with the original
/// column index of each, so other per-sample data can be cut the same way.
template <class XMatrix, class YData>
struct TrainValidationSplit {
    XMatrix x_train;  ///< inputs × training samples.
    YData y_train;    ///< The targets (targets × samples) or labels of the training samples.
    XMatrix x_val;    ///< inputs × validation samples.
    YData y_val;      ///< The targets or labels of the validation samples.
    std::vector<Eigen::Index> train_indices;       ///< Original column of each training sample.
    std::vector<Eigen::Index> validation_indices;  ///< Original column of each validation sample.
};

namespace detail {

/// The validation and training columns of a seeded split, each in increasing order.
inline void split_indices(Eigen::Index samples, double validation_fraction, std::uint64_t seed,
                          std::vector<Eigen::Index>& train,
                          std::vector<Eigen::Index>& validation) {
    if (!(validation_fraction >= 0 && validation_fraction < 1)) {
        throw ConfigError(cat("train_validation_split: validation_fraction must be in [0, 1), "
                              "got ",
                              validation_fraction));
    }
    // ⌊fraction · samples⌋, never all of them: a fraction below 1 leaves a training sample.
    const Eigen::Index held_out =
        samples == 0 ? 0
                     : std::min(samples - 1, Eigen::Index(std::floor(validation_fraction *
                                                                     double(samples))));
    std::vector<Eigen::Index> order(static_cast<std::size_t>(samples));
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    Rng rng(seed);
    shuffle(order, rng);
    validation.assign(order.begin(), order.begin() + held_out);
    train.assign(order.begin() + held_out, order.end());
    std::sort(validation.begin(), validation.end());
    std::sort(train.begin(), train.end());
}

/// The columns `indices` of m, in that order.
template <class Result, class Derived>
Result gather_columns(const Eigen::MatrixBase<Derived>& m,
                      const std::vector<Eigen::Index>& indices) {
    Result result(m.rows(), Eigen::Index(indices.size()));
    for (std::size_t k = 0; k < indices.size(); ++k) {
        result.col(Eigen::Index(k)) = m.col(indices[k]);
    }
    return result;
}

}  // namespace detail

/// Splits x (inputs × samples) and y (targets × samples) into training and validation sets by a
/// seeded shuffle: ⌊validation_fraction · samples⌋ random columns go to validation, the rest to
/// training, each part keeping the original order of its columns. One seed gives one split on
/// every platform.
///
///     auto parts = nabla::train_validation_split(x, y, 0.1, 42);   // 10% held out
///     nabla::train(net, parts.x_train, parts.y_train, options);
///
/// Throws ShapeError when x and y have different numbers of columns and ConfigError unless
/// 0 ≤ validation_fraction < 1.
template <class X, class Y>
TrainValidationSplit<Eigen::Matrix<typename X::Scalar, X::RowsAtCompileTime, Eigen::Dynamic>,
                     Eigen::Matrix<typename Y::Scalar, Y::RowsAtCompileTime, Eigen::Dynamic>>
train_validation_split(const Eigen::MatrixBase<X>& x, const Eigen::MatrixBase<Y>& y,
                       double validation_fraction, std::uint64_t seed = 0) {
    using XMatrix = Eigen::Matrix<typename X::Scalar, X::RowsAtCompileTime, Eigen::Dynamic>;
    using YMatrix = Eigen::Matrix<typename Y::Scalar, Y::RowsAtCompileTime, Eigen::Dynamic>;
    if (x.cols() != y.cols()) {
        throw ShapeError(detail::cat("train_validation_split: x has ", detail::samples(x.cols()),
                                     " (columns), y has ", detail::samples(y.cols())));
    }
    TrainValidationSplit<XMatrix, YMatrix> parts;
    detail::split_indices(x.cols(), validation_fraction, seed, parts.train_indices,
                          parts.validation_indices);
    parts.x_train = detail::gather_columns<XMatrix>(x, parts.train_indices);
    parts.y_train = detail::gather_columns<YMatrix>(y, parts.train_indices);
    parts.x_val = detail::gather_columns<XMatrix>(x, parts.validation_indices);
    parts.y_val = detail::gather_columns<YMatrix>(y, parts.validation_indices);
    return parts;
}

/// The same split with class labels (one int per sample) in place of a target matrix; the same
/// seed picks the same columns as the matrix version.
template <class X>
TrainValidationSplit<Eigen::Matrix<typename X::Scalar, X::RowsAtCompileTime, Eigen::Dynamic>,
                     std::vector<int>>
train_validation_split(const Eigen::MatrixBase<X>& x, const std::vector<int>& labels,
                       double validation_fraction, std::uint64_t seed = 0) {
    using XMatrix = Eigen::Matrix<typename X::Scalar, X::RowsAtCompileTime, Eigen::Dynamic>;
    if (x.cols() != Eigen::Index(labels.size())) {
        throw ShapeError(detail::cat("train_validation_split: x has ", detail::samples(x.cols()),
                                     " (columns), labels has ",
                                     detail::samples(Eigen::Index(labels.size()))));
    }
    TrainValidationSplit<XMatrix, std::vector<int>> parts;
    detail::split_indices(x.cols(), validation_fraction, seed, parts.train_indices,
                          parts.validation_indices);
    parts.x_train = detail::gather_columns<XMatrix>(x, parts.train_indices);
    parts.x_val = detail::gather_columns<XMatrix>(x, parts.validation_indices);
    for (Eigen::Index k : parts.train_indices) parts.y_train.push_back(labels[std::size_t(k)]);
    for (Eigen::Index k : parts.validation_indices) parts.y_val.push_back(labels[std::size_t(k)]);
    return parts;
}

}  // namespace nabla
