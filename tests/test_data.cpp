// Data preparation: one-hot targets, the Standardizer (mean 0 and standard deviation 1 on the
// data it was fitted on, by independent sums; constant features; shape and order-of-use
// errors), the seeded train/validation split (sizes, disjoint and complete, one seed one split),
// and Fashion-MNIST: the real files where installed (60000 + 10000 images of 784 pixels in
// [0, 1], 6000 and 1000 labels per class, limits, pixels equal to an independent decoding),
// and small stand-in files for its errors.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/data/fashion_mnist.hpp>
#include <nabla/data/one_hot.hpp>
#include <nabla/data/split.hpp>
#include <nabla/data/standardizer.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace test_data {  // named for the unity build of nabla_tests

namespace {

using nabla_test::Bytes;
using nabla_test::message_of;
using nabla_test::random_matrix;
using nabla_test::TempDir;

using nabla_test::contains;

/// Mean and population standard deviation of row j, by plain scalar sums in long double.
void row_moments(const Eigen::MatrixXd& x, Eigen::Index j, double& mean, double& deviation) {
    long double sum = 0;
    for (Eigen::Index k = 0; k < x.cols(); ++k) sum += x(j, k);
    const long double m = sum / x.cols();
    long double squares = 0;
    for (Eigen::Index k = 0; k < x.cols(); ++k) squares += (x(j, k) - m) * (x(j, k) - m);
    mean = double(m);
    deviation = double(std::sqrt(squares / x.cols()));
}

/// 4 features × 200 samples on very different scales and offsets, row 2 constant.
Eigen::MatrixXd feature_data() {
    Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(4, 200, 11, -1, 1);
    x.row(0) = x.row(0) * 1000.0 + Eigen::RowVectorXd::Constant(200, 5e4);
    x.row(1) *= 1e-3;
    x.row(2).setConstant(0.1);
    x.row(3) = x.row(3).array() * 3.0 - 7.0;
    return x;
}

}  // namespace

TEST_CASE("one_hot: column k is the unit vector of label k", "[data]") {
    const std::vector<int> labels = {2, 0, 1, 2, 3};
    const Eigen::MatrixXf y = nabla::one_hot(labels, 4);
    REQUIRE(y.rows() == 4);
    REQUIRE(y.cols() == 5);
    for (Eigen::Index k = 0; k < 5; ++k)
        for (Eigen::Index j = 0; j < 4; ++j) {
            CAPTURE(j, k);
            CHECK(y(j, k) == (j == labels[std::size_t(k)] ? 1.0f : 0.0f));
        }
    const Eigen::MatrixXd yd = nabla::one_hot<double>({1}, 2);
    CHECK(yd == (Eigen::MatrixXd(2, 1) << 0, 1).finished());
    CHECK(nabla::one_hot(std::vector<int>{}, 3).rows() == 3);
    CHECK(nabla::one_hot(std::vector<int>{}, 3).cols() == 0);
}

TEST_CASE("one_hot: labels below 0 or not below classes, and classes below 1", "[data]") {
    std::string msg = message_of<nabla::ShapeError>([] { nabla::one_hot({0, 1, 4, 2}, 4); });
    INFO(msg);
    CHECK(contains(msg, "sample 2"));
    CHECK(contains(msg, "label 4"));
    CHECK(contains(msg, "4 classes"));
    msg = message_of<nabla::ShapeError>([] { nabla::one_hot({-1}, 4); });
    CHECK(contains(msg, "sample 0"));
    CHECK(contains(msg, "label -1"));
    msg = message_of<nabla::ConfigError>([] { nabla::one_hot({0}, 0); });
    CHECK(contains(msg, "classes"));
}

TEST_CASE("Standardizer: the fitted data gets mean 0 and standard deviation 1", "[data]") {
    const Eigen::MatrixXd x = feature_data();
    nabla::Standardizer<double> scaler;
    CHECK_FALSE(scaler.fitted());
    scaler.fit(x);
    CHECK(scaler.fitted());
    CHECK(scaler.features() == 4);

    for (Eigen::Index j : {0, 1, 3}) {
        double mean = 0;
        double deviation = 0;
        row_moments(x, j, mean, deviation);
        CAPTURE(j);
        CHECK(std::abs(scaler.mean()(j) - mean) <= 1e-12 * std::abs(mean));
        CHECK(std::abs(scaler.scale()(j) - deviation) <= 1e-12 * deviation);
    }

    const Eigen::MatrixXd z = scaler.transform(x);
    for (Eigen::Index j : {0, 1, 3}) {
        double mean = 0;
        double deviation = 0;
        row_moments(z, j, mean, deviation);
        CAPTURE(j);
        CHECK(std::abs(mean) <= 1e-12);
        CHECK(std::abs(deviation - 1) <= 1e-12);
    }
    // Each entry is (x − μ) / s with the fitted μ and s.
    for (Eigen::Index k = 0; k < x.cols(); k += 37)
        for (Eigen::Index j = 0; j < 4; ++j) {
            CHECK(z(j, k) == (x(j, k) - scaler.mean()(j)) / scaler.scale()(j));
        }

    Eigen::MatrixXd in_place = x;
    scaler.transform_in_place(in_place);
    CHECK(in_place == z);

    const Eigen::MatrixXd back = scaler.inverse_transform(z);
    CHECK((back - x).cwiseAbs().maxCoeff() <= 1e-9);
    scaler.inverse_transform_in_place(in_place);
    CHECK(in_place == back);
}

TEST_CASE("Standardizer: a constant feature is centred, not divided by 0", "[data]") {
    const Eigen::MatrixXd x = feature_data();
    nabla::Standardizer<double> scaler;
    scaler.fit(x);
    CHECK(scaler.scale()(2) == 1.0);
    CHECK(scaler.mean()(2) == 0.1);
    const Eigen::MatrixXd z = scaler.transform(x);
    CHECK(z.row(2).cwiseAbs().maxCoeff() == 0.0);
    CHECK(z.allFinite());

    // In float, and on a single sample, where every feature is constant.
    const Eigen::MatrixXf one = (Eigen::MatrixXf(2, 1) << 3.5f, -2.0f).finished();
    nabla::Standardizer<float> single;
    single.fit(one);
    CHECK(single.scale() == Eigen::VectorXf::Ones(2));
    CHECK(single.transform(one) == Eigen::MatrixXf::Zero(2, 1));
}

TEST_CASE("Standardizer: float data, other data, blocks", "[data]") {
    const Eigen::MatrixXd x = feature_data();
    const Eigen::MatrixXf xf = x.cast<float>();
    nabla::Standardizer<float> scaler;
    scaler.fit(xf);
    const Eigen::MatrixXf z = scaler.transform(xf);
    for (Eigen::Index j : {0, 1, 3}) {
        double mean = 0;
        double deviation = 0;
        row_moments(z.cast<double>(), j, mean, deviation);
        CAPTURE(j);
        CHECK(std::abs(mean) <= 1e-5);
        CHECK(std::abs(deviation - 1) <= 1e-5);
    }

    // New data is transformed with the training μ and s, not its own.
    const Eigen::MatrixXf other = random_matrix<Eigen::MatrixXf>(4, 7, 5, -3, 3);
    const Eigen::MatrixXf other_z = scaler.transform(other);
    for (Eigen::Index k = 0; k < 7; ++k)
        for (Eigen::Index j = 0; j < 4; ++j) {
            CHECK(other_z(j, k) == (other(j, k) - scaler.mean()(j)) / scaler.scale()(j));
        }

    // In place on a block of a larger matrix: only the block changes.
    Eigen::MatrixXf big = other;
    scaler.transform_in_place(big.leftCols(3));
    CHECK(big.leftCols(3) == other_z.leftCols(3));
    CHECK(big.rightCols(4) == other.rightCols(4));
}

TEST_CASE("Standardizer: errors", "[data]") {
    nabla::Standardizer<double> scaler;
    const Eigen::MatrixXd x = feature_data();
    std::string msg = message_of<nabla::ConfigError>([&] { scaler.transform(x); });
    INFO(msg);
    CHECK(contains(msg, "not fitted"));
    CHECK_THROWS_AS(scaler.inverse_transform(x), nabla::ConfigError);

    scaler.fit(x);
    msg = message_of<nabla::ShapeError>([&] { scaler.transform(Eigen::MatrixXd::Zero(3, 5)); });
    INFO(msg);
    CHECK(contains(msg, "3 rows"));
    CHECK(contains(msg, "fitted on 4"));
    Eigen::MatrixXd wrong = Eigen::MatrixXd::Zero(5, 2);
    CHECK_THROWS_AS(scaler.transform_in_place(wrong), nabla::ShapeError);
    CHECK_THROWS_AS(scaler.inverse_transform(wrong), nabla::ShapeError);

    msg = message_of<nabla::ShapeError>([&] { scaler.fit(Eigen::MatrixXd(4, 0)); });
    CHECK(contains(msg, "at least one sample"));

    Eigen::MatrixXd bad = x;
    bad(3, 17) = std::numeric_limits<double>::quiet_NaN();
    msg = message_of<nabla::NumericalError>([&] { nabla::Standardizer<double>().fit(bad); });
    INFO(msg);
    CHECK(contains(msg, "feature 3"));
    CHECK(contains(msg, "sample 17"));

    // A known μ and s, e.g. saved with a model.
    const Eigen::VectorXd mean = (Eigen::VectorXd(2) << 1, -1).finished();
    const Eigen::VectorXd scale = (Eigen::VectorXd(2) << 2, 4).finished();
    const nabla::Standardizer<double> known(mean, scale);
    CHECK(known.transform((Eigen::MatrixXd(2, 1) << 5, 7).finished()) ==
          (Eigen::MatrixXd(2, 1) << 2, 2).finished());
    CHECK_THROWS_AS(nabla::Standardizer<double>(mean, Eigen::VectorXd::Ones(3)),
                    nabla::ShapeError);
    CHECK_THROWS_AS(nabla::Standardizer<double>(mean, Eigen::VectorXd::Zero(2)),
                    nabla::ConfigError);
}

TEST_CASE("train_validation_split: sizes, disjoint and complete, same seed same split",
          "[data]") {
    const Eigen::Index n = 40;
    // Column k holds k and −k; y holds 100 + k, so every part can be traced back.
    Eigen::MatrixXd x(2, n);
    Eigen::MatrixXf y(1, n);
    for (Eigen::Index k = 0; k < n; ++k) {
        x(0, k) = double(k);
        x(1, k) = -double(k);
        y(0, k) = float(100 + k);
    }
    const auto parts = nabla::train_validation_split(x, y, 0.25, 7);
    REQUIRE(parts.x_val.cols() == 10);  // ⌊0.25 · 40⌋
    REQUIRE(parts.x_train.cols() == 30);
    CHECK(parts.y_val.cols() == 10);
    CHECK(parts.y_train.cols() == 30);
    CHECK(parts.x_train.rows() == 2);
    CHECK(parts.y_train.rows() == 1);

    std::vector<int> seen(static_cast<std::size_t>(n), 0);
    const auto trace = [&](const Eigen::MatrixXd& xs, const Eigen::MatrixXf& ys,
                           const std::vector<Eigen::Index>& indices) {
        REQUIRE(indices.size() == std::size_t(xs.cols()));
        for (Eigen::Index c = 0; c < xs.cols(); ++c) {
            const Eigen::Index k = Eigen::Index(xs(0, c));
            CHECK(k == indices[std::size_t(c)]);
            CHECK(xs(1, c) == -double(k));
            CHECK(ys(0, c) == float(100 + k));
            if (c > 0) CHECK(xs(0, c) > xs(0, c - 1));  // original order kept
            ++seen[std::size_t(k)];
        }
    };
    trace(parts.x_train, parts.y_train, parts.train_indices);
    trace(parts.x_val, parts.y_val, parts.validation_indices);
    for (int count : seen) CHECK(count == 1);  // every sample exactly once

    const auto again = nabla::train_validation_split(x, y, 0.25, 7);
    CHECK(again.x_val == parts.x_val);
    CHECK(again.x_train == parts.x_train);
    CHECK(again.y_val == parts.y_val);

    // 40 choose 10 possible validation sets: another seed picks another one.
    const auto other = nabla::train_validation_split(x, y, 0.25, 8);
    CHECK(other.validation_indices != parts.validation_indices);

    // The labels version picks the same columns for the same seed.
    std::vector<int> labels(static_cast<std::size_t>(n));
    for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = int(k % 3);
    const auto labelled = nabla::train_validation_split(x, labels, 0.25, 7);
    CHECK(labelled.x_val == parts.x_val);
    CHECK(labelled.validation_indices == parts.validation_indices);
    REQUIRE(labelled.y_val.size() == 10);
    REQUIRE(labelled.y_train.size() == 30);
    for (std::size_t c = 0; c < labelled.y_val.size(); ++c) {
        CHECK(labelled.y_val[c] == int(labelled.validation_indices[c] % 3));
    }
    for (std::size_t c = 0; c < labelled.y_train.size(); ++c) {
        CHECK(labelled.y_train[c] == int(labelled.train_indices[c] % 3));
    }
}

TEST_CASE("train_validation_split: fractions at the edges, and errors", "[data]") {
    const Eigen::MatrixXd x = random_matrix<Eigen::MatrixXd>(3, 10, 1);
    const Eigen::MatrixXd y = random_matrix<Eigen::MatrixXd>(2, 10, 2);

    const auto none = nabla::train_validation_split(x, y, 0.0, 1);
    CHECK(none.x_val.cols() == 0);
    CHECK(none.x_val.rows() == 3);
    CHECK(none.x_train == x);  // all of it, in order
    CHECK(none.y_train == y);
    CHECK(nabla::train_validation_split(x, y, 0.29, 1).x_val.cols() == 2);  // ⌊2.9⌋
    CHECK(nabla::train_validation_split(x, y, 0.99, 1).x_train.cols() == 1);

    for (double bad : {1.0, -0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        CAPTURE(bad);
        const std::string msg =
            message_of<nabla::ConfigError>([&] { nabla::train_validation_split(x, y, bad, 1); });
        CHECK(contains(msg, "validation_fraction"));
    }
    std::string msg = message_of<nabla::ShapeError>(
        [&] { nabla::train_validation_split(x, y.leftCols(9), 0.1, 1); });
    INFO(msg);
    CHECK(contains(msg, "10 samples"));
    CHECK(contains(msg, "9 samples"));
    msg = message_of<nabla::ShapeError>(
        [&] { nabla::train_validation_split(x, std::vector<int>(11, 0), 0.1, 1); });
    CHECK(contains(msg, "11 samples"));
}

// --- Fashion-MNIST ---

namespace {

const std::string fashion_dir = nabla::fashion_mnist_default_dir;

/// The data set, read once for all the test cases below.
const nabla::FashionMnist<float>& fashion() {
    static const nabla::FashionMnist<float> data = nabla::load_fashion_mnist(fashion_dir);
    return data;
}

#ifdef NABLA_HAS_ZLIB
/// The bytes of a gzip file, decompressed with zlib directly.
Bytes gunzip(const std::string& path) {
    Bytes bytes;
    gzFile in = gzopen(path.c_str(), "rb");
    REQUIRE(in != nullptr);
    unsigned char buffer[1 << 16];
    int got = 0;
    while ((got = gzread(in, buffer, sizeof buffer)) > 0) {
        bytes.insert(bytes.end(), buffer, buffer + got);
    }
    gzclose(in);
    return bytes;
}
#endif

/// Small stand-in files with Fashion-MNIST's (unzipped) names: `train` and `test` images of
/// `side`×`side` pixels, with train_labels / test_labels labels.
void write_fake_fashion(const TempDir& dir, std::uint32_t train, std::uint32_t train_labels,
                        std::uint32_t test, std::uint32_t side = 28) {
    const auto images = [&](std::uint32_t count) {
        return nabla_test::idx_file(0x08, {count, side, side},
                                    Bytes(std::size_t(count) * side * side, 128));
    };
    const auto labels = [](std::uint32_t count) {
        Bytes data;
        for (std::uint32_t k = 0; k < count; ++k) data.push_back((unsigned char)(k % 10));
        return nabla_test::idx_file(0x08, {count}, data);
    };
    nabla_test::write_bytes(dir.file("train-images-idx3-ubyte"), images(train));
    nabla_test::write_bytes(dir.file("train-labels-idx1-ubyte"), labels(train_labels));
    nabla_test::write_bytes(dir.file("t10k-images-idx3-ubyte"), images(test));
    nabla_test::write_bytes(dir.file("t10k-labels-idx1-ubyte"), labels(test));
}

}  // namespace

TEST_CASE("fashion_mnist: the installed data set, whole", "[data][fashion]") {
    if (!nabla::fashion_mnist_available(fashion_dir)) {
        // Not installed here, or gzipped in a build without zlib: then loading must say what to
        // install.
        const std::string msg =
            message_of<nabla::FileError>([] { nabla::load_fashion_mnist(fashion_dir); });
        INFO(msg);
        CHECK((contains(msg, "apt-get install dataset-fashion-mnist") || contains(msg, "zlib")));
        return;
    }
    const nabla::FashionMnist<float>& data = fashion();
    REQUIRE(data.train_images.rows() == 784);
    REQUIRE(data.train_images.cols() == 60000);
    REQUIRE(data.test_images.rows() == 784);
    REQUIRE(data.test_images.cols() == 10000);
    REQUIRE(data.train_labels.size() == 60000);
    REQUIRE(data.test_labels.size() == 10000);

    for (int c = 0; c < 10; ++c) {
        CAPTURE(c);
        CHECK(std::count(data.train_labels.begin(), data.train_labels.end(), c) == 6000);
        CHECK(std::count(data.test_labels.begin(), data.test_labels.end(), c) == 1000);
    }
    CHECK(data.train_images.minCoeff() == 0.0f);
    CHECK(data.train_images.maxCoeff() == 1.0f);
    CHECK(data.test_images.minCoeff() == 0.0f);
    CHECK(data.test_images.maxCoeff() == 1.0f);
    // Every value is a byte over 255.
    const Eigen::ArrayXXf bytes = data.test_images.array() * 255.0f;
    CHECK((bytes - bytes.round()).abs().maxCoeff() <= 1e-4f);

    CHECK(data.class_names.size() == 10);
    CHECK(data.class_names[0] == "T-shirt/top");
    CHECK(data.class_names[9] == "Ankle boot");

#ifdef NABLA_HAS_ZLIB
    // The test set, pixel for pixel, against the file decompressed here: 16 header bytes, then
    // 784 bytes per image; 8 + 1 per label.
    const Bytes raw = gunzip(fashion_dir + "/t10k-images-idx3-ubyte.gz");
    REQUIRE(raw.size() == 16 + std::size_t(784) * 10000);
    bool all_equal = true;
    for (Eigen::Index k = 0; k < 10000; ++k)
        for (Eigen::Index p = 0; p < 784; ++p) {
            const float expected = float(raw[16 + std::size_t(k) * 784 + std::size_t(p)]) / 255.0f;
            all_equal = all_equal && data.test_images(p, k) == expected;
        }
    CHECK(all_equal);
    const Bytes raw_labels = gunzip(fashion_dir + "/t10k-labels-idx1-ubyte.gz");
    REQUIRE(raw_labels.size() == 8 + 10000);
    CHECK(std::vector<int>(raw_labels.begin() + 8, raw_labels.end()) == data.test_labels);
#endif
}

TEST_CASE("fashion_mnist: limits read the first samples", "[data][fashion]") {
    if (!nabla::fashion_mnist_available(fashion_dir)) {
        CHECK_THROWS_AS(nabla::load_fashion_mnist(fashion_dir, 100, 50), nabla::FileError);
        return;
    }
    const nabla::FashionMnist<float> part = nabla::load_fashion_mnist(fashion_dir, 100, 50);
    REQUIRE(part.train_images.cols() == 100);
    REQUIRE(part.test_images.cols() == 50);
    CHECK(part.train_images == fashion().train_images.leftCols(100));
    CHECK(part.test_images == fashion().test_images.leftCols(50));
    CHECK(part.train_labels == std::vector<int>(fashion().train_labels.begin(),
                                                fashion().train_labels.begin() + 100));
    CHECK(part.test_labels == std::vector<int>(fashion().test_labels.begin(),
                                               fashion().test_labels.begin() + 50));

    const nabla::FashionMnist<double> doubles =
        nabla::load_fashion_mnist<double>(fashion_dir, 3, 0);
    CHECK(doubles.train_images.cols() == 3);
    CHECK(doubles.test_images.cols() == 0);
    CHECK(doubles.test_labels.empty());
    CHECK(doubles.train_images.cast<float>() == fashion().train_images.leftCols(3));
}

TEST_CASE("fashion_mnist: missing directory or files say what to install", "[data][fashion]") {
    TempDir dir;
    const std::string missing_dir = dir.file("nowhere");
    CHECK_FALSE(nabla::fashion_mnist_available(missing_dir));
    std::string msg =
        message_of<nabla::FileError>([&] { nabla::load_fashion_mnist(missing_dir); });
    INFO(msg);
    CHECK(contains(msg, missing_dir));
    CHECK(contains(msg, "apt-get install dataset-fashion-mnist"));

    write_fake_fashion(dir, 3, 3, 2);
    CHECK(nabla::fashion_mnist_available(dir.path()));
    std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte"));
    CHECK_FALSE(nabla::fashion_mnist_available(dir.path()));
    msg = message_of<nabla::FileError>([&] { nabla::load_fashion_mnist(dir.path()); });
    INFO(msg);
    CHECK(contains(msg, "t10k-labels-idx1-ubyte.gz"));
    CHECK(contains(msg, "apt-get install dataset-fashion-mnist"));
}

TEST_CASE("fashion_mnist: unzipped files, and files that do not fit", "[data][fashion]") {
    TempDir dir;
    write_fake_fashion(dir, 3, 3, 2);
    const nabla::FashionMnist<float> data = nabla::load_fashion_mnist(dir.path());
    CHECK(data.train_images.rows() == 784);
    CHECK(data.train_images.cols() == 3);
    CHECK(data.test_images.cols() == 2);
    CHECK(data.train_images.maxCoeff() == 128.0f / 255.0f);
    CHECK(data.train_labels == std::vector<int>{0, 1, 2});
    CHECK(data.test_labels == std::vector<int>{0, 1});

    SECTION("image and label counts differ") {
        write_fake_fashion(dir, 3, 4, 2);
        const std::string msg =
            message_of<nabla::FileError>([&] { nabla::load_fashion_mnist(dir.path()); });
        INFO(msg);
        CHECK(contains(msg, "train-images-idx3-ubyte"));
        CHECK(contains(msg, "3 images"));
        CHECK(contains(msg, "4 labels"));
        // Even when a limit reads fewer of both.
        CHECK_THROWS_AS(nabla::load_fashion_mnist(dir.path(), 2, 2), nabla::FileError);
    }
    SECTION("images that are not 28x28") {
        write_fake_fashion(dir, 3, 3, 2, 27);
        const std::string msg =
            message_of<nabla::FileError>([&] { nabla::load_fashion_mnist(dir.path()); });
        INFO(msg);
        CHECK(contains(msg, "27x27"));
    }
    SECTION("a label above 9") {
        nabla_test::write_bytes(dir.file("train-labels-idx1-ubyte"),
                                nabla_test::idx_file(0x08, {3}, Bytes{1, 10, 2}));
        const std::string msg =
            message_of<nabla::FileError>([&] { nabla::load_fashion_mnist(dir.path()); });
        INFO(msg);
        CHECK(contains(msg, "byte 9:"));
        CHECK(contains(msg, "label 10"));
    }
    SECTION("a limit below -1") {
        CHECK_THROWS_AS(nabla::load_fashion_mnist(dir.path(), -2), nabla::ConfigError);
    }
}

}  // namespace test_data
