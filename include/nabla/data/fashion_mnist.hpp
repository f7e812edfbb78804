#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/idx.hpp>

#include <Eigen/Core>
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace nabla {

/// Where `apt-get install dataset-fashion-mnist` puts the data set.
inline constexpr const char* fashion_mnist_default_dir = "/usr/share/datasets/fashion-mnist";

/// Fashion-MNIST: 28×28 grey images of clothing in 10 classes, 60000 for training and 10000 for
/// testing. Images are 784 × N, one image per column (pixels row after row), values in [0, 1];
/// labels are 0..9, their names in class_names.
template <class Scalar = float>
struct FashionMnist {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  ///< 784 × images

    static constexpr int rows = 28;             ///< Pixel rows of an image.
    static constexpr int cols = 28;             ///< Pixel columns of an image.
    static constexpr int pixels = rows * cols;  ///< Inputs of a network: 784.
    static constexpr int classes = 10;          ///< Outputs of a classifier.
    /// The name of each label, e.g. class_names[9] == "Ankle boot".
    static constexpr std::array<std::string_view, 10> class_names = {
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

    Matrix train_images;             ///< 784 × 60000 (fewer with a limit).
    std::vector<int> train_labels;   ///< One label in 0..9 per training image.
    Matrix test_images;              ///< 784 × 10000 (fewer with a limit).
    std::vector<int> test_labels;    ///< One label in 0..9 per test image.
};

namespace detail {

/// The four files, without ".gz".
inline constexpr std::array<const char*, 4> fashion_mnist_files = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte"};

/// What every "not found" message ends with: how to get the data.
inline const char* fashion_mnist_install_hint() {
    return "install the data set with `apt-get install dataset-fashion-mnist` (it goes to "
           "/usr/share/datasets/fashion-mnist), or pass the directory that holds it";
}

/// The path of `name` in dir, or else of `name`.gz if `gzip` allows it; "" when neither is a
/// file. The decompressed file comes first: it reads faster and needs no zlib.
inline std::string fashion_mnist_file(const std::string& dir, const char* name, bool gzip) {
    std::error_code ec;
    const std::filesystem::path plain = std::filesystem::path(dir) / name;
    if (std::filesystem::is_regular_file(plain, ec)) return plain.string();
    const std::filesystem::path compressed = plain.string() + ".gz";
    if (gzip && std::filesystem::is_regular_file(compressed, ec)) return compressed.string();
    return std::string();
}

/// The path of one of the four files; FileError saying what to install when it is missing.
inline std::string require_fashion_mnist_file(const std::string& dir, const char* name) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        throw FileError(cat("Fashion-MNIST: the directory ", dir, " does not exist; ",
                            fashion_mnist_install_hint()));
    }
    // A .gz file is taken even without zlib, so that the reader says zlib is what is missing.
    std::string path = fashion_mnist_file(dir, name, true);
    if (path.empty()) {
        throw FileError(cat("Fashion-MNIST: ", dir, " has neither ", name, ".gz nor ", name,
                            "; ", fashion_mnist_install_hint()));
    }
    return path;
}

/// Reads one images/labels pair and checks that they agree.
template <class Scalar>
void read_fashion_mnist_pair(const std::string& dir, const char* images_name,
                             const char* labels_name, Eigen::Index limit,
                             Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& images,
                             std::vector<int>& labels) {
    const std::string images_path = require_fashion_mnist_file(dir, images_name);
    const std::string labels_path = require_fashion_mnist_file(dir, labels_name);
    IdxImages<Scalar> read = read_idx_images_with_shape<Scalar>(images_path, limit);
    if (read.rows != FashionMnist<Scalar>::rows || read.cols != FashionMnist<Scalar>::cols) {
        throw FileError(cat(images_path, ": the images are ", read.rows, "x", read.cols,
                            " pixels, Fashion-MNIST images are 28x28"));
    }
    Eigen::Index label_count = 0;
    labels = read_idx_labels_counted(labels_path, FashionMnist<Scalar>::classes, limit,
                                     &label_count);
    if (label_count != read.count_in_file) {
        throw FileError(cat("Fashion-MNIST: ", images_path, " holds ", read.count_in_file,
                            " images but ", labels_path, " holds ", label_count, " labels"));
    }
    images = std::move(read.pixels);
}

}  // namespace detail

/// True when `dir` holds the four Fashion-MNIST files in a form this build reads: gzipped or
/// not with zlib (NABLA_HAS_ZLIB), only decompressed without it.
inline bool fashion_mnist_available(const std::string& dir = fashion_mnist_default_dir) {
#ifdef NABLA_HAS_ZLIB
    const bool gzip = true;
#else
    const bool gzip = false;
#endif
    for (const char* name : detail::fashion_mnist_files) {
        if (detail::fashion_mnist_file(dir, name, gzip).empty()) return false;
    }
    return true;
}

/// Loads Fashion-MNIST from `dir`: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
/// t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, or the same names without .gz
/// (taken first when both are there).
/// At most train_limit training and test_limit test samples are read, from the front (-1: all).
///
///     nabla::FashionMnist<float> data = nabla::load_fashion_mnist();
///     Eigen::MatrixXf y = nabla::one_hot(data.train_labels, 10);   // 10 x 60000
///
/// Throws FileError when the directory or a file is missing (saying what to install), for any
/// fault of the files (see read_idx_images), for images that are not 28x28, a label above 9, or
/// image and label files that hold different counts; ConfigError for a limit below -1.
template <class Scalar = float>
FashionMnist<Scalar> load_fashion_mnist(const std::string& dir = fashion_mnist_default_dir,
                                        Eigen::Index train_limit = -1,
                                        Eigen::Index test_limit = -1) {
    detail::idx_check_limit("load_fashion_mnist", train_limit);
    detail::idx_check_limit("load_fashion_mnist", test_limit);
    FashionMnist<Scalar> data;
    detail::read_fashion_mnist_pair<Scalar>(dir, detail::fashion_mnist_files[0],
                                            detail::fashion_mnist_files[1], train_limit,
                                            data.train_images, data.train_labels);
    detail::read_fashion_mnist_pair<Scalar>(dir, detail::fashion_mnist_files[2],
                                            detail::fashion_mnist_files[3], test_limit,
                                            data.test_images, data.test_labels);
    return data;
}

}  // namespace nabla
