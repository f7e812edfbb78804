// Classification metrics on hand-made outputs: predicted classes (argmax, the 0.5 threshold of a
// single output, ties and NaN), accuracy against one-hot or probability targets and int labels,
// binary accuracy, the confusion matrix (rows true, columns predicted), and ShapeError with both
// shapes for every mismatch.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/metrics.hpp>

#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace test_metrics {  // named for the unity build of nabla_tests

namespace {

using nabla::ShapeError;
using nabla_test::message_of;
using Matrix = Eigen::MatrixXd;

using nabla_test::contains;

/// Five samples of three classes. Column by column the largest entry is in row 2, 0, 1, 1, 0;
/// column 3 ties rows 1 and 2 (the first wins); column 4 holds a NaN in row 1.
Matrix three_class_outputs() {
    Matrix outputs(3, 5);
    outputs << 0.1, 0.7, 0.2, 0.1, 0.6,
               0.3, 0.2, 0.5, 0.45, 0.0,
               0.6, 0.1, 0.3, 0.45, 0.4;
    outputs(1, 4) = std::numeric_limits<double>::quiet_NaN();
    return outputs;
}

}  // namespace

TEST_CASE("metrics: predicted classes are the argmax, or the 0.5 threshold of one output",
          "[metrics]") {
    CHECK(nabla::predicted_classes(three_class_outputs()) == std::vector<int>{2, 0, 1, 1, 0});

    Matrix single(1, 5);
    single << 0.2, 0.5, 0.51, 0.99, -3;
    CHECK(nabla::predicted_classes(single) == std::vector<int>{0, 0, 1, 1, 0});

    // Expressions are taken as they are, and float works as double.
    const Eigen::MatrixXf f = three_class_outputs().cast<float>();
    CHECK(nabla::predicted_classes(f.leftCols(2)) == std::vector<int>{2, 0});
    CHECK(nabla::predicted_classes(Matrix(3, 0)).empty());
    CHECK(contains(message_of<ShapeError>([] { nabla::predicted_classes(Matrix(0, 2)); }),
                   "0x2"));
}

TEST_CASE("metrics: accuracy against one-hot targets, probabilities and labels", "[metrics]") {
    const Matrix outputs = three_class_outputs();  // predicts 2, 0, 1, 1, 0
    const std::vector<int> labels{2, 1, 1, 0, 0};   // right on samples 0, 2 and 4
    Matrix one_hot = Matrix::Zero(3, 5);
    for (int k = 0; k < 5; ++k) one_hot(labels[std::size_t(k)], k) = 1;
    CHECK(nabla::accuracy(outputs, labels) == 3.0 / 5.0);
    CHECK(nabla::accuracy(outputs, one_hot) == 3.0 / 5.0);

    // Probability targets: their argmax is the class.
    Matrix soft(3, 5);
    soft << 0.1, 0.2, 0.3, 0.8, 0.5,
            0.2, 0.7, 0.6, 0.1, 0.4,
            0.7, 0.1, 0.1, 0.1, 0.1;
    CHECK(nabla::accuracy(outputs, soft) == 3.0 / 5.0);
    CHECK(nabla::accuracy(outputs, outputs) == 1.0);

    // A single output against 0/1 targets: above 0.5 is class 1.
    Matrix single(1, 4);
    single << 0.9, 0.4, 0.6, 0.1;
    Matrix truth(1, 4);
    truth << 1, 1, 0, 0;
    CHECK(nabla::accuracy(single, truth) == 0.5);
    CHECK(nabla::accuracy(single, std::vector<int>{1, 1, 0, 0}) == 0.5);
}

TEST_CASE("metrics: binary accuracy counts entries on the right side of 0.5", "[metrics]") {
    Matrix outputs(2, 3);
    outputs << 0.9, 0.2, 0.7,
               0.4, 0.6, 0.1;
    Matrix targets(2, 3);
    targets << 1, 0, 0,
               1, 1, 0;
    // Right: (0,0), (0,1), (1,1), (1,2); wrong: (0,2), (1,0).
    CHECK(nabla::binary_accuracy(outputs, targets) == 4.0 / 6.0);
    const Matrix row = outputs.topRows(1);
    const Matrix target_row = targets.topRows(1);
    CHECK(nabla::binary_accuracy(row, target_row) == nabla::accuracy(row, target_row));
}

TEST_CASE("metrics: the confusion matrix has true classes in rows, predictions in columns",
          "[metrics]") {
    const Matrix outputs = three_class_outputs();  // predicts 2, 0, 1, 1, 0
    const std::vector<int> labels{2, 1, 1, 0, 0};
    nabla::ConfusionMatrix expected = nabla::ConfusionMatrix::Zero(3, 3);
    expected(2, 2) = 1;  // sample 0: class 2 predicted 2
    expected(1, 0) = 1;  // sample 1: class 1 predicted 0
    expected(1, 1) = 1;  // sample 2
    expected(0, 1) = 1;  // sample 3: class 0 predicted 1
    expected(0, 0) = 1;  // sample 4
    const nabla::ConfusionMatrix from_labels = nabla::confusion_matrix(outputs, labels);
    CHECK(from_labels == expected);
    Matrix one_hot = Matrix::Zero(3, 5);
    for (int k = 0; k < 5; ++k) one_hot(labels[std::size_t(k)], k) = 1;
    CHECK(nabla::confusion_matrix(outputs, one_hot) == expected);
    CHECK(from_labels.sum() == 5);
    CHECK(double(from_labels.trace()) / 5 == nabla::accuracy(outputs, labels));

    // One output describes two classes: a 2 × 2 matrix.
    Matrix single(1, 5);
    single << 0.9, 0.4, 0.6, 0.1, 0.8;
    nabla::ConfusionMatrix binary = nabla::ConfusionMatrix::Zero(2, 2);
    binary(1, 1) = 2;  // samples 0 and 4
    binary(1, 0) = 1;  // sample 1
    binary(0, 1) = 1;  // sample 2
    binary(0, 0) = 1;  // sample 3
    CHECK(nabla::confusion_matrix(single, std::vector<int>{1, 1, 0, 0, 1}) == binary);
    Matrix truth(1, 5);
    truth << 1, 1, 0, 0, 1;
    CHECK(nabla::confusion_matrix(single, truth) == binary);

    CHECK(nabla::confusion_matrix(Matrix(4, 0), Matrix(4, 0)) ==
          nabla::ConfusionMatrix::Zero(4, 4));
}

TEST_CASE("metrics: mismatched sizes throw ShapeError with both shapes", "[metrics]") {
    const Matrix outputs = three_class_outputs();
    const std::string shapes = message_of<ShapeError>([&] {
        nabla::accuracy(outputs, Matrix::Zero(3, 4));
    });
    CHECK(contains(shapes, "nabla: accuracy: outputs are 3x5 but targets are 3x4"));
    CHECK(contains(message_of<ShapeError>([&] {
                       nabla::confusion_matrix(outputs, Matrix::Zero(2, 5));
                   }),
                   "confusion_matrix: outputs are 3x5 but targets are 2x5"));
    CHECK(contains(message_of<ShapeError>([&] {
                       nabla::binary_accuracy(outputs, Matrix::Zero(3, 6));
                   }),
                   "binary_accuracy: outputs are 3x5 but targets are 3x6"));

    const std::string count = message_of<ShapeError>([&] {
        nabla::accuracy(outputs, std::vector<int>{0, 1, 2});
    });
    CHECK(contains(count, "accuracy: outputs are 3x5"));
    CHECK(contains(count, "3 labels given"));
    const std::string range = message_of<ShapeError>([&] {
        nabla::confusion_matrix(outputs, std::vector<int>{0, 1, 3, 0, 0});
    });
    CHECK(contains(range, "sample 2 has label 3, outside [0, 3)"));
    const std::string binary_range = message_of<ShapeError>([] {
        nabla::accuracy(Matrix::Constant(1, 2, 0.7), std::vector<int>{1, 2});
    });
    CHECK(contains(binary_range, "sample 1 has label 2, outside [0, 2) for 1 output (2 classes)"));
    CHECK(contains(message_of<ShapeError>([&] {
                       nabla::accuracy(outputs, std::vector<int>{0, -1, 0, 0, 0});
                   }),
                   "label -1"));

    const std::string empty = message_of<ShapeError>([] {
        nabla::accuracy(Matrix(3, 0), Matrix(3, 0));
    });
    CHECK(contains(empty, "accuracy: outputs are 3x0"));
}

}  // namespace test_metrics
