#pragma once

// Classification metrics on network outputs, one sample per column. With several outputs the
// predicted class of a column is the row of its largest entry (argmax, the first one on a tie);
// with a single output (a sigmoid unit) it is 1 when the output is above 0.5 and 0 otherwise,
// so a single output describes two classes. Targets are one-hot or probability columns, read
// the same way, or int labels.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>

#include <Eigen/Core>
#include <cstddef>
#include <vector>

namespace nabla {

/// Counts per pair of classes: entry (t, p) is the number of samples of true class t predicted
/// as class p. Rows are true classes, columns predicted ones; the diagonal counts hits.
using ConfusionMatrix = Eigen::Matrix<Eigen::Index, Eigen::Dynamic, Eigen::Dynamic>;

namespace detail {

/// The class a column stands for: argmax over the rows (the first largest entry; NaN entries
/// never win), or for a single row 1 above 0.5 and 0 otherwise.
template <class Column>
Eigen::Index class_of(const Column& column) {
    if (column.rows() == 1) return column(0) > 0.5 ? 1 : 0;
    Eigen::Index best = 0;
    for (Eigen::Index j = 1; j < column.rows(); ++j)
        if (column(j) > column(best)) best = j;
    return best;
}

/// The number of classes `rows` outputs describe: 2 for a single output.
inline Eigen::Index class_count(Eigen::Index rows) { return rows == 1 ? 2 : rows; }

/// Throws ShapeError, naming `what` and both shapes, unless outputs and targets agree.
template <class P, class T>
void check_same_shape(const char* what, const Eigen::MatrixBase<P>& outputs,
                      const Eigen::MatrixBase<T>& targets) {
    if (outputs.rows() != targets.rows() || outputs.cols() != targets.cols()) {
        throw ShapeError(cat(what, ": outputs are ", shape(outputs.rows(), outputs.cols()),
                             " but targets are ", shape(targets.rows(), targets.cols()),
                             " (classes x samples)"));
    }
}

/// Throws ShapeError, naming `what`, unless there is one label per column of `outputs` and
/// each label is a class the outputs describe.
template <class P>
void check_labels(const char* what, const Eigen::MatrixBase<P>& outputs,
                  const std::vector<int>& labels) {
    const auto count = static_cast<Eigen::Index>(labels.size());
    if (count != outputs.cols()) {
        throw ShapeError(cat(what, ": outputs are ", shape(outputs.rows(), outputs.cols()),
                             " (classes x samples) but ", plural(count, "label"), " given"));
    }
    const Eigen::Index classes = class_count(outputs.rows());
    for (std::size_t k = 0; k < labels.size(); ++k) {
        if (labels[k] < 0 || labels[k] >= classes) {
            throw ShapeError(cat(what, ": sample ", k, " has label ", labels[k], ", outside [0, ",
                                 classes, ") for ", outputs.rows(), " output",
                                 outputs.rows() == 1 ? " (2 classes)" : "s"));
        }
    }
}

/// Throws ShapeError, naming `what`, when `outputs` has no rows or no columns.
template <class P>
void check_not_empty(const char* what, const Eigen::MatrixBase<P>& outputs) {
    if (outputs.rows() == 0 || outputs.cols() == 0) {
        throw ShapeError(cat(what, ": outputs are ", shape(outputs.rows(), outputs.cols()),
                             "; a metric needs at least one class and one sample"));
    }
}

/// The columns whose predicted class is the target's class; no allocation, no checks.
template <class P, class T>
Eigen::Index count_correct_classes(const Eigen::MatrixBase<P>& outputs,
                                   const Eigen::MatrixBase<T>& targets) {
    Eigen::Index correct = 0;
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        if (class_of(outputs.col(k)) == class_of(targets.col(k))) ++correct;
    return correct;
}

/// The entries on the same side of 0.5 in outputs and targets; no allocation, no checks.
template <class P, class T>
Eigen::Index count_correct_entries(const Eigen::MatrixBase<P>& outputs,
                                   const Eigen::MatrixBase<T>& targets) {
    Eigen::Index correct = 0;
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        for (Eigen::Index j = 0; j < outputs.rows(); ++j)
            if ((outputs(j, k) > 0.5) == (targets(j, k) > 0.5)) ++correct;
    return correct;
}

}  // namespace detail

/// The predicted class of each column of `outputs` (classes × samples): the row of the largest
/// entry, or for a single output 1 when it is above 0.5, else 0. The first largest entry wins a
/// tie; NaN entries never win.
///
///     std::vector<int> classes = nabla::predicted_classes(net.predict(x));
template <class P>
std::vector<int> predicted_classes(const Eigen::MatrixBase<P>& outputs) {
    if (outputs.rows() == 0 && outputs.cols() > 0) {
        throw ShapeError(detail::cat("predicted_classes: outputs are ",
                                     detail::shape(0, outputs.cols()),
                                     "; a class needs at least one output"));
    }
    std::vector<int> classes(static_cast<std::size_t>(outputs.cols()));
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        classes[static_cast<std::size_t>(k)] = static_cast<int>(detail::class_of(outputs.col(k)));
    return classes;
}

/// The fraction of samples whose predicted class is the class of their target column: targets
/// are one-hot or probability columns (argmax), or 0/1 for a single output (above 0.5 is 1).
/// outputs and targets are classes × samples. Throws ShapeError naming both shapes when they
/// differ, and when there is no sample.
///
///     double hit_rate = nabla::accuracy(net.predict(x_test), y_test);
template <class P, class T>
double accuracy(const Eigen::MatrixBase<P>& outputs, const Eigen::MatrixBase<T>& targets) {
    detail::check_same_shape("accuracy", outputs, targets);
    detail::check_not_empty("accuracy", outputs);
    return double(detail::count_correct_classes(outputs, targets)) / double(outputs.cols());
}

/// The fraction of samples whose predicted class equals their label, one int label per column
/// of `outputs` (classes × samples), each in [0, classes), or 0/1 for a single output. Throws
/// ShapeError for a label count that differs from the columns, a label out of range, or no
/// sample.
template <class P>
double accuracy(const Eigen::MatrixBase<P>& outputs, const std::vector<int>& labels) {
    detail::check_not_empty("accuracy", outputs);
    detail::check_labels("accuracy", outputs, labels);
    Eigen::Index correct = 0;
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        if (detail::class_of(outputs.col(k)) == labels[static_cast<std::size_t>(k)]) ++correct;
    return double(correct) / double(outputs.cols());
}

/// The fraction of entries that fall on the same side of 0.5 in outputs and targets: for
/// sigmoid outputs trained with BinaryCrossEntropy, where each output is a yes/no question of
/// its own (multi-label). With a single output it equals accuracy(). Throws ShapeError naming
/// both shapes when they differ, and when there is no entry.
template <class P, class T>
double binary_accuracy(const Eigen::MatrixBase<P>& outputs, const Eigen::MatrixBase<T>& targets) {
    detail::check_same_shape("binary_accuracy", outputs, targets);
    detail::check_not_empty("binary_accuracy", outputs);
    return double(detail::count_correct_entries(outputs, targets)) / double(outputs.size());
}

/// The classes × classes confusion matrix of outputs against one-hot or probability targets
/// (both classes × samples; a single output gives 2 × 2): entry (t, p) counts the samples of
/// true class t predicted as p. Throws ShapeError naming both shapes when they differ.
///
///     nabla::ConfusionMatrix counts = nabla::confusion_matrix(net.predict(x), y);
///     // counts.trace() correct predictions, counts.row(t).sum() samples of class t
template <class P, class T>
ConfusionMatrix confusion_matrix(const Eigen::MatrixBase<P>& outputs,
                                 const Eigen::MatrixBase<T>& targets) {
    detail::check_same_shape("confusion_matrix", outputs, targets);
    if (outputs.rows() == 0) detail::check_not_empty("confusion_matrix", outputs);
    const Eigen::Index classes = detail::class_count(outputs.rows());
    ConfusionMatrix counts = ConfusionMatrix::Zero(classes, classes);
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        ++counts(detail::class_of(targets.col(k)), detail::class_of(outputs.col(k)));
    return counts;
}

/// The classes × classes confusion matrix of outputs (classes × samples) against one int label
/// per column, each in [0, classes) (0/1 for a single output, which gives 2 × 2): entry (t, p)
/// counts the samples labelled t predicted as p. Throws ShapeError for a label count that
/// differs from the columns or a label out of range.
template <class P>
ConfusionMatrix confusion_matrix(const Eigen::MatrixBase<P>& outputs,
                                 const std::vector<int>& labels) {
    if (outputs.rows() == 0) detail::check_not_empty("confusion_matrix", outputs);
    detail::check_labels("confusion_matrix", outputs, labels);
    const Eigen::Index classes = detail::class_count(outputs.rows());
    ConfusionMatrix counts = ConfusionMatrix::Zero(classes, classes);
    for (Eigen::Index k = 0; k < outputs.cols(); ++k)
        ++counts(labels[static_cast<std::size_t>(k)], detail::class_of(outputs.col(k)));
    return counts;
}

}  // namespace nabla
