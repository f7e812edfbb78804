#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <utility>

namespace nabla {

/// Feature scaling to zero mean and unit standard deviation, per feature (per row, since samples
/// are columns): x' = (x − μ) / s. μ and s come from the training data alone (fit); the same
/// μ and s then transform validation and test data, so no information leaks from them.
///
///     nabla::Standardizer<float> scaler;
///     scaler.fit(x_train);               // μ and s of each row of x_train
///     scaler.transform_in_place(x_train);
///     Eigen::MatrixXf x_test_scaled = scaler.transform(x_test);   // with x_train's μ and s
///
/// s is the population standard deviation (divided by the number of samples), so the fitted data
/// has mean 0 and standard deviation 1 in that sense. A feature that is constant on the training
/// data gets s = 1: it maps to 0, instead of being divided by 0.
///
/// Wrong: fitting on all data before splitting it, or fitting again on the test set.
template <class Scalar = float>
class Standardizer {
public:
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  ///< features × samples
    using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;               ///< one per feature

    /// A standardizer that must be fitted before use.
    Standardizer() = default;

    /// A standardizer with a known μ and s (e.g. saved with a model). Throws ShapeError when
    /// their sizes differ and ConfigError unless μ is finite and s positive and finite.
    Standardizer(Vector mean, Vector scale) : m_mean(std::move(mean)), m_scale(std::move(scale)) {
        if (m_mean.size() != m_scale.size()) {
            throw ShapeError(detail::cat("Standardizer: mean has ", m_mean.size(),
                                         " entries, scale has ", m_scale.size()));
        }
        for (Eigen::Index j = 0; j < m_mean.size(); ++j) {
            if (!(std::isfinite(double(m_mean(j))) && std::isfinite(double(m_scale(j))) &&
                  m_scale(j) > Scalar(0))) {
                throw ConfigError(detail::cat("Standardizer: feature ", j, " has mean ",
                                              m_mean(j), " and scale ", m_scale(j),
                                              "; the mean must be finite, the scale positive"));
            }
        }
        m_fitted = true;
    }

    /// Learns μ and s of each row of x (features × samples), accumulating in double. Throws
    /// ShapeError when x has no sample and NumericalError naming the feature and sample of a
    /// value that is not finite.
    template <class Derived>
    Standardizer& fit(const Eigen::MatrixBase<Derived>& x) {
        const Eigen::Index features = x.rows();
        const Eigen::Index samples = x.cols();
        if (samples < 1) {
            throw ShapeError(detail::cat("Standardizer::fit: x is ",
                                         detail::shape(features, samples),
                                         ", it needs at least one sample (column)"));
        }
        // Two passes in double: float sums over 60000 samples would lose digits, and the
        // one-pass formula E[x²] − E[x]² cancels catastrophically.
        Eigen::VectorXd sum = Eigen::VectorXd::Zero(features);
        Eigen::VectorXd lowest = x.col(0).template cast<double>();
        Eigen::VectorXd highest = lowest;
        for (Eigen::Index k = 0; k < samples; ++k) {
            sum += x.col(k).template cast<double>();
            lowest = lowest.cwiseMin(x.col(k).template cast<double>());
            highest = highest.cwiseMax(x.col(k).template cast<double>());
        }
        for (Eigen::Index j = 0; j < features; ++j) {
            if (!std::isfinite(sum(j))) throw_not_finite(x, j);
        }
        const Eigen::VectorXd mean = sum / double(samples);
        Eigen::VectorXd squares = Eigen::VectorXd::Zero(features);
        for (Eigen::Index k = 0; k < samples; ++k) {
            squares += (x.col(k).template cast<double>() - mean).cwiseAbs2();
        }
        m_mean.resize(features);
        m_scale.resize(features);
        for (Eigen::Index j = 0; j < features; ++j) {
            const double deviation = std::sqrt(squares(j) / double(samples));
            if (!std::isfinite(deviation)) throw_not_finite(x, j);
            // A constant feature is recognised exactly (min = max), not by a small deviation:
            // its μ is then the value itself, so it maps to exactly 0, and s = 1.
            const bool constant = lowest(j) == highest(j);
            m_mean(j) = constant ? Scalar(lowest(j)) : Scalar(mean(j));
            // A spread below the smallest normal Scalar is 0 once cast (or once denormals are
            // flushed, as fit() does), and dividing by it would give ±inf or NaN: such a
            // feature is as good as constant, and keeps s = 1.
            const bool too_small = Scalar(deviation) < std::numeric_limits<Scalar>::min();
            m_scale(j) = constant || too_small ? Scalar(1) : Scalar(deviation);
        }
        m_fitted = true;
        return *this;
    }

    /// x ← (x − μ) / s, row by row, in place. Throws ShapeError when x's rows differ from the
    /// fitted features, ConfigError before fit.
    void transform_in_place(Eigen::Ref<Matrix> x) const {
        check(x.rows(), "transform_in_place");
        x = (x.colwise() - m_mean).array().colwise() / m_scale.array();
    }

    /// (x − μ) / s as a new matrix; x is left alone. Errors as transform_in_place.
    template <class Derived>
    Matrix transform(const Eigen::MatrixBase<Derived>& x) const {
        check(x.rows(), "transform");
        return (x.colwise() - m_mean).array().colwise() / m_scale.array();
    }

    /// x ← x ⊙ s + μ, undoing transform_in_place. Errors as transform_in_place.
    void inverse_transform_in_place(Eigen::Ref<Matrix> x) const {
        check(x.rows(), "inverse_transform_in_place");
        x = (x.array().colwise() * m_scale.array()).matrix().colwise() + m_mean;
    }

    /// x ⊙ s + μ as a new matrix: back to the original units (e.g. for predicted targets).
    template <class Derived>
    Matrix inverse_transform(const Eigen::MatrixBase<Derived>& x) const {
        check(x.rows(), "inverse_transform");
        return (x.array().colwise() * m_scale.array()).matrix().colwise() + m_mean;
    }

    /// True once fitted (or built from μ and s).
    bool fitted() const { return m_fitted; }
    /// The number of features fitted; 0 before fit.
    Eigen::Index features() const { return m_mean.size(); }
    /// μ, one per feature.
    const Vector& mean() const { return m_mean; }
    /// s, one per feature: the standard deviation, or 1 for a constant feature.
    const Vector& scale() const { return m_scale; }

private:
    void check(Eigen::Index rows, const char* function) const {
        if (!m_fitted) {
            throw ConfigError(detail::cat("Standardizer::", function,
                                          ": the standardizer is not fitted; call fit() on the "
                                          "training data first"));
        }
        if (rows != m_mean.size()) {
            throw ShapeError(detail::cat("Standardizer::", function, ": x has ", rows,
                                         " rows (features), the standardizer was fitted on ",
                                         m_mean.size(), " features"));
        }
    }

    template <class Derived>
    [[noreturn]] static void throw_not_finite(const Eigen::MatrixBase<Derived>& x,
                                              Eigen::Index feature) {
        for (Eigen::Index k = 0; k < x.cols(); ++k) {
            if (!std::isfinite(double(x(feature, k)))) {
                throw NumericalError(detail::cat("Standardizer::fit: feature ", feature,
                                                 " (row ", feature, ") of sample ", k, " is ",
                                                 x(feature, k), ", not a finite number"));
            }
        }
        throw NumericalError(detail::cat("Standardizer::fit: the values of feature ", feature,
                                         " (row ", feature, ") are too large: their sum or ",
                                         "variance overflows a double"));
    }

    Vector m_mean;
    Vector m_scale;
    bool m_fitted = false;
};

}  // namespace nabla
