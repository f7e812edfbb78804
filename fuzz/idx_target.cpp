// What the IDX fuzz targets (fuzz_idx.cpp plain, fuzz_idx_gzip.cpp through gzip) do with their
// file: read_idx_images and read_idx_labels, whole and with a limit. io/idx.hpp promises FileError
// naming the file for every fault of the file, pixels byte/255 in [0, 1], labels below `classes`;
// and a read with a limit takes the first items of what a whole read gives (it may accept a gzip
// file the whole read refuses, since it stops early, never the other way round).

#include "fuzz_support.hpp"
#include "targets.hpp"

#include <nabla/io/idx.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <vector>

namespace nabla_fuzz {

void fuzz_idx_file(const std::string& path) {
    const Expected expected = file_errors(path);

    Eigen::MatrixXf all;
    Eigen::MatrixXf first;
    const bool read_all = run(expected, "read_idx_images", [&] { all = nabla::read_idx_images<float>(path); });
    const bool read_first = run(expected, "read_idx_images with a limit", [&] { first = nabla::read_idx_images<float>(path, 1); });
    if (read_all) {
        require(read_first, "read_idx_images with a limit of 1 refuses a file it reads whole");
        require(first.rows() == all.rows() && first.cols() == (all.cols() > 0 ? 1 : 0) &&
                    first == all.leftCols(first.cols()),
                "read_idx_images with a limit of 1 does not give the first image");
        require(all.size() == 0 || ((all.array() >= 0).all() && (all.array() <= 1).all()),
                "read_idx_images gives a pixel outside [0, 1]");
    }

    std::vector<int> labels;
    std::vector<int> front;
    const bool read_labels = run(expected, "read_idx_labels", [&] { labels = nabla::read_idx_labels(path, 256); });
    const bool read_front = run(expected, "read_idx_labels with a limit", [&] { front = nabla::read_idx_labels(path, 256, 2); });
    if (read_labels) {
        require(read_front, "read_idx_labels with a limit of 2 refuses a file it reads whole");
        require(front.size() == (labels.size() < 2 ? labels.size() : 2) &&
                    std::equal(front.begin(), front.end(), labels.begin()),
                "read_idx_labels with a limit of 2 does not give the first labels");
    }
    if (!read_labels) return;  // with fewer classes it is refused too
    // With 10 classes: the same labels when all are below 10, else refused.
    std::vector<int> digits;
    const bool read_digits = run(expected, "read_idx_labels with 10 classes", [&] { digits = nabla::read_idx_labels(path, 10); });
    const bool all_digits =
        std::all_of(labels.begin(), labels.end(), [](int label) { return label < 10; });
    require(read_digits == all_digits && (!read_digits || digits == labels),
            "read_idx_labels with 10 classes does not refuse exactly the labels 10 and above");
    for (const int label : labels) require(label >= 0 && label < 256, "a label out of range");
}

}  // namespace nabla_fuzz
