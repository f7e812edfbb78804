// The IDX reader: small image and label files written here, plain and gzip, read back value
// for value (pixel layout, scaling by 1/255, limits); the gzip decision made by content, not
// name; and every bad file (missing, wrong magic, wrong type or dimension count, truncated
// header or data, trailing data, absurd sizes, a label out of range, cut or corrupt gzip)
// reported as a FileError that names the file and the byte offset.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/io/idx.hpp>
#include <nabla/parallel/communicator.hpp>

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace test_io_idx {  // named for the unity build of nabla_tests

namespace {

using nabla_test::Bytes;
using nabla_test::idx_file;
using nabla_test::message_of;
using nabla_test::TempDir;

using nabla_test::contains;

/// How an error at `offset` is located: in the file, or in the decompressed data of a gzip file.
std::string byte_tag(std::uint64_t offset, bool gzip) {
    return "byte " + std::to_string(offset) + (gzip ? " of the decompressed data:" : ":");
}

/// A file written plain or gzipped, and which.
struct Written {
    std::string path;
    bool gzip;
};

/// `bytes` written as `name` (plain) and, with zlib, as `name`.gz.
std::vector<Written> write_both(const TempDir& dir, const std::string& name, const Bytes& bytes) {
    std::vector<Written> files;
    files.push_back({dir.file(name), false});
    nabla_test::write_bytes(files.back().path, bytes);
#ifdef NABLA_HAS_ZLIB
    files.push_back({dir.file(name + ".gz"), true});
    nabla_test::write_gzip(files.back().path, bytes);
#endif
    return files;
}

constexpr int image_rows = 2;
constexpr int image_cols = 3;
constexpr int image_count = 3;

/// Pixel (r, c) of image k in the test files; image 1 starts with 255, image 2 ends with 0.
int pixel_value(int k, int r, int c) {
    if (k == 1 && r == 0 && c == 0) return 255;
    if (k == 2 && r == image_rows - 1 && c == image_cols - 1) return 0;
    return (k * 97 + r * 31 + c * 7 + 11) % 256;
}

/// The pixel bytes of the test images as IDX stores them: image after image, row after row.
Bytes image_data() {
    Bytes data;
    for (int k = 0; k < image_count; ++k)
        for (int r = 0; r < image_rows; ++r)
            for (int c = 0; c < image_cols; ++c) {
                data.push_back(static_cast<unsigned char>(pixel_value(k, r, c)));
            }
    return data;
}

Bytes image_file() {
    return idx_file(0x08, {image_count, image_rows, image_cols}, image_data());
}

const std::vector<int> label_values = {3, 0, 9, 1, 9, 4};

Bytes label_file(const std::vector<int>& labels = label_values) {
    Bytes data(labels.begin(), labels.end());
    return idx_file(0x08, {std::uint32_t(labels.size())}, data);
}

/// Checks that `images` holds the first images.cols() test images, pixel (r, c) of image k in
/// row r·cols + c of column k, scaled by 1/255 in Scalar arithmetic.
template <class Matrix>
void check_images(const Matrix& images) {
    using Scalar = typename Matrix::Scalar;
    REQUIRE(images.rows() == image_rows * image_cols);
    for (int k = 0; k < images.cols(); ++k)
        for (int r = 0; r < image_rows; ++r)
            for (int c = 0; c < image_cols; ++c) {
                CAPTURE(k, r, c);
                CHECK(images(r * image_cols + c, k) == Scalar(pixel_value(k, r, c)) / Scalar(255));
            }
}

}  // namespace

TEST_CASE("idx: images read back, one per column, scaled to [0, 1]", "[io][idx]") {
    TempDir dir;
    for (const Written& file : write_both(dir, "images.idx", image_file())) {
        CAPTURE(file.path);
        const Eigen::MatrixXf images = nabla::read_idx_images(file.path);
        CHECK(images.cols() == image_count);
        check_images(images);
        CHECK(images(0, 1) == 1.0f);                           // 255 maps to exactly 1
        CHECK(images(image_rows * image_cols - 1, 2) == 0.0f);  // 0 to exactly 0

        const Eigen::MatrixXd doubles = nabla::read_idx_images<double>(file.path);
        CHECK(doubles.cols() == image_count);
        check_images(doubles);
    }
}

TEST_CASE("idx: a limit reads the first images only", "[io][idx]") {
    TempDir dir;
    for (const Written& file : write_both(dir, "images.idx", image_file())) {
        CAPTURE(file.path);
        const Eigen::MatrixXf two = nabla::read_idx_images(file.path, 2);
        CHECK(two.cols() == 2);
        check_images(two);
        const Eigen::MatrixXf none = nabla::read_idx_images(file.path, 0);
        CHECK(none.rows() == image_rows * image_cols);
        CHECK(none.cols() == 0);
        CHECK(nabla::read_idx_images(file.path, 100).cols() == image_count);
        CHECK(nabla::read_idx_images(file.path, image_count).cols() == image_count);

        const std::string msg = message_of<nabla::ConfigError>(
            [&] { nabla::read_idx_images(file.path, -2); });
        INFO(msg);
        CHECK(contains(msg, "limit"));
        CHECK(contains(msg, "-2"));
    }
}

TEST_CASE("idx: labels read back, with and without a limit", "[io][idx]") {
    TempDir dir;
    for (const Written& file : write_both(dir, "labels.idx", label_file())) {
        CAPTURE(file.path);
        CHECK(nabla::read_idx_labels(file.path, 10) == label_values);
        CHECK(nabla::read_idx_labels(file.path, 10, 4) ==
              std::vector<int>(label_values.begin(), label_values.begin() + 4));
        CHECK(nabla::read_idx_labels(file.path, 10, 0).empty());
        CHECK(nabla::read_idx_labels(file.path, 10, 50) == label_values);
    }
    const std::string path = dir.file("labels.idx");
    CHECK(contains(message_of<nabla::ConfigError>([&] { nabla::read_idx_labels(path, 0); }),
                   "classes"));
    CHECK(contains(message_of<nabla::ConfigError>([&] { nabla::read_idx_labels(path, 10, -3); }),
                   "-3"));
}

TEST_CASE("idx: first and limit read one process's rows and read_idx_count reads the header only",
          "[io][idx]") {
    TempDir dir;
    for (const Written& file : write_both(dir, "images.idx", image_file())) {
        CAPTURE(file.path);
        CHECK(nabla::read_idx_count(file.path) == image_count);
        // Images 1 and 2, then image 2 alone, then none past the end.
        for (const auto& [limit, first] : {std::pair<Eigen::Index, Eigen::Index>{-1, 1},
                                           std::pair<Eigen::Index, Eigen::Index>{1, 2},
                                           std::pair<Eigen::Index, Eigen::Index>{5, 3}}) {
            CAPTURE(limit, first);
            const Eigen::MatrixXf part = nabla::read_idx_images(file.path, limit, first);
            REQUIRE(part.cols() == std::min<Eigen::Index>(image_count - first,
                                                          limit < 0 ? image_count : limit));
            for (int k = 0; k < part.cols(); ++k)
                for (int r = 0; r < image_rows; ++r)
                    for (int c = 0; c < image_cols; ++c)
                        CHECK(part(r * image_cols + c, k) ==
                              float(pixel_value(int(first) + k, r, c)) / 255.0f);
        }
        const std::string past = message_of<nabla::FileError>(
            [&] { nabla::read_idx_images(file.path, -1, 4); });
        CHECK(contains(past, "holds 3 images, fewer than first = 4"));
        CHECK(contains(message_of<nabla::ConfigError>(
                           [&] { nabla::read_idx_images(file.path, -1, -1); }),
                       "first must be at least 0"));
    }
    for (const Written& file : write_both(dir, "labels.idx", label_file())) {
        CAPTURE(file.path);
        CHECK(nabla::read_idx_count(file.path) == Eigen::Index(label_values.size()));
        // Three processes, two labels each: every label read exactly once.
        std::vector<int> joined;
        for (int rank = 0; rank < 3; ++rank) {
            const nabla::Shard rows = nabla::Shard::of(6, rank, 3);
            const std::vector<int> part =
                nabla::read_idx_labels(file.path, 10, rows.size(), rows.begin);
            joined.insert(joined.end(), part.begin(), part.end());
        }
        CHECK(joined == label_values);
    }
    // A label out of range is named by its sample in the file, not in the part read.
    const std::string bad = dir.file("bad_labels.idx");
    nabla_test::write_bytes(bad, label_file({1, 2, 3, 12}));
    const std::string message =
        message_of<nabla::FileError>([&] { nabla::read_idx_labels(bad, 10, -1, 2); });
    CHECK(contains(message, "label 12 of sample 3"));
    CHECK(contains(message, "byte 11"));
}

TEST_CASE("idx: gzip is recognised by its first bytes, not by the file name", "[io][idx]") {
    TempDir dir;
    // A plain file named .gz.
    nabla_test::write_bytes(dir.file("plain.gz"), image_file());
    check_images(nabla::read_idx_images(dir.file("plain.gz")));
#ifdef NABLA_HAS_ZLIB
    // A gzip file without .gz.
    nabla_test::write_gzip(dir.file("compressed.idx"), label_file());
    CHECK(nabla::read_idx_labels(dir.file("compressed.idx"), 10) == label_values);
#else
    // Without zlib a gzip file is refused with a message that says zlib is needed.
    Bytes gzip_start = {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03};
    nabla_test::write_bytes(dir.file("compressed.idx"), gzip_start);
    const std::string msg = message_of<nabla::FileError>(
        [&] { nabla::read_idx_labels(dir.file("compressed.idx"), 10); });
    INFO(msg);
    CHECK(contains(msg, dir.file("compressed.idx")));
    CHECK(contains(msg, "zlib"));
#endif
}

TEST_CASE("idx: a missing file or a directory is a FileError naming it", "[io][idx]") {
    TempDir dir;
    const std::string missing = dir.file("no-such-file.idx");
    std::string msg = message_of<nabla::FileError>([&] { nabla::read_idx_images(missing); });
    INFO(msg);
    CHECK(contains(msg, missing));
    CHECK(contains(msg, "cannot open"));

    msg = message_of<nabla::FileError>([&] { nabla::read_idx_labels(dir.path(), 10); });
    CHECK(contains(msg, dir.path()));
    CHECK(contains(msg, "directory"));
}

TEST_CASE("idx: a wrong magic number is reported at its byte", "[io][idx]") {
    TempDir dir;
    struct Case {
        const char* name;
        Bytes bytes;
        std::uint64_t offset;
        std::vector<std::string> parts;
        bool labels;
    };
    Bytes first_byte = image_file();
    first_byte[0] = 0x01;
    Bytes second_byte = image_file();
    second_byte[1] = 0x80;
    Bytes float_type = image_file();
    float_type[2] = 0x0D;
    Bytes unknown_type = label_file();
    unknown_type[2] = 0x42;
    const std::vector<Case> cases = {
        {"first-byte", first_byte, 0, {"not an IDX file", "01 00"}, false},
        {"second-byte", second_byte, 1, {"not an IDX file", "00 80"}, false},
        {"float-type", float_type, 2, {"0x0d", "32-bit float", "0x08"}, false},
        {"unknown-type", unknown_type, 2, {"0x42", "not an IDX data type"}, true},
        {"labels-as-images", label_file(), 3, {"1 dimension,", "3"}, false},
        {"images-as-labels", image_file(), 3, {"3 dimensions", "label"}, true},
        {"two-dims", idx_file(0x08, {2, 3}, Bytes(6, 1)), 3, {"2 dimensions"}, false},
    };
    for (const Case& c : cases) {
        for (const Written& file : write_both(dir, c.name, c.bytes)) {
            const std::string msg = message_of<nabla::FileError>([&] {
                if (c.labels) {
                    nabla::read_idx_labels(file.path, 10);
                } else {
                    nabla::read_idx_images(file.path);
                }
            });
            INFO(msg);
            CHECK(contains(msg, file.path + ": " + byte_tag(c.offset, file.gzip)));
            for (const std::string& part : c.parts) CHECK(contains(msg, part));
        }
    }
}

TEST_CASE("idx: a truncated header says where the file ends", "[io][idx]") {
    TempDir dir;
    const Bytes whole = image_file();
    for (std::size_t size : {0, 3}) {
        for (const Written& file :
             write_both(dir, "short" + std::to_string(size), Bytes(whole.begin(),
                                                                   whole.begin() + size))) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path));
            CHECK(contains(msg, "truncated header"));
            CHECK(contains(msg, "ends at byte " + std::to_string(size)));
        }
    }
    // Magic complete, dimensions cut after 5 of their 12 bytes.
    for (const Written& file : write_both(dir, "dims", Bytes(whole.begin(), whole.begin() + 9))) {
        const std::string msg =
            message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
        INFO(msg);
        CHECK(contains(msg, file.path));
        CHECK(contains(msg, "truncated header"));
        CHECK(contains(msg, "ends at byte 9"));
        CHECK(contains(msg, "16 bytes"));
    }
}

TEST_CASE("idx: data shorter or longer than the header declares", "[io][idx]") {
    TempDir dir;
    const Bytes whole = image_file();  // 16 + 3·2·3 = 34 bytes
    REQUIRE(whole.size() == 34);

    SECTION("truncated images") {
        for (const Written& file :
             write_both(dir, "cut.idx", Bytes(whole.begin(), whole.begin() + 30))) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path));
            CHECK(contains(msg, "ends at byte 30"));
            CHECK(contains(msg, "expected 34 bytes"));
            CHECK(contains(msg, "3 images of 2x3"));
        }
    }
    SECTION("truncated labels") {
        const Bytes labels = label_file();  // 8 + 6 bytes
        for (const Written& file :
             write_both(dir, "cut-labels", Bytes(labels.begin(), labels.end() - 1))) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_labels(file.path, 10); });
            INFO(msg);
            CHECK(contains(msg, file.path));
            CHECK(contains(msg, "ends at byte 13"));
            CHECK(contains(msg, "expected 14 bytes"));
        }
    }
    SECTION("trailing data") {
        Bytes longer = whole;
        longer.push_back(7);
        longer.push_back(8);
        for (const Written& file : write_both(dir, "long.idx", longer)) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path + ": " + byte_tag(34, file.gzip)));
            CHECK(contains(msg, "trailing data"));
            if (!file.gzip) CHECK(contains(msg, "36 bytes"));
        }
    }
    SECTION("a plain file is checked whole even when a limit reads less") {
        Bytes longer = whole;
        longer.push_back(7);
        nabla_test::write_bytes(dir.file("long-limited.idx"), longer);
        const std::string msg = message_of<nabla::FileError>(
            [&] { nabla::read_idx_images(dir.file("long-limited.idx"), 1); });
        INFO(msg);
        CHECK(contains(msg, "trailing data"));
    }
    SECTION("dimensions far beyond the file size allocate nothing") {
        // 1000000 images of 1000x1000 would be 10^12 bytes; the file has 18 bytes of data.
        const Bytes huge = idx_file(0x08, {1000000, 1000, 1000}, Bytes(18, 5));
        for (const Written& file : write_both(dir, "huge.idx", huge)) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path));
            CHECK(contains(msg, "ends at byte 34"));
            CHECK(contains(msg, "expected 1000000000016 bytes"));
            CHECK(contains(msg, "1000000 images of 1000x1000"));
        }
    }
    SECTION("dimensions whose product overflows") {
        const Bytes absurd = idx_file(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}, Bytes(4, 1));
        for (const Written& file : write_both(dir, "absurd.idx", absurd)) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path));
            CHECK(contains(msg, "4294967295"));
        }
    }
    SECTION("images without pixels") {
        for (const Written& file : write_both(dir, "no-rows.idx", idx_file(0x08, {3, 0, 3}, {}))) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path + ": " + byte_tag(8, file.gzip)));
            CHECK(contains(msg, "0 rows"));
        }
        for (const Written& file : write_both(dir, "no-cols.idx", idx_file(0x08, {3, 2, 0}, {}))) {
            const std::string msg =
                message_of<nabla::FileError>([&] { nabla::read_idx_images(file.path); });
            INFO(msg);
            CHECK(contains(msg, file.path + ": " + byte_tag(12, file.gzip)));
            CHECK(contains(msg, "0 columns"));
        }
    }
}

TEST_CASE("idx: a label out of range is reported at its byte with its value", "[io][idx]") {
    TempDir dir;
    // Sample 2 (byte 8 + 2) has label 9, not below 5 classes; sample 4 has 9 too, but the first
    // is reported.
    for (const Written& file : write_both(dir, "labels.idx", label_file())) {
        const std::string msg =
            message_of<nabla::FileError>([&] { nabla::read_idx_labels(file.path, 5); });
        INFO(msg);
        CHECK(contains(msg, file.path + ": " + byte_tag(10, file.gzip)));
        CHECK(contains(msg, "label 9"));
        CHECK(contains(msg, "sample 2"));
        CHECK(contains(msg, "5 classes"));
        // With a limit that stops before the bad label, the labels read are fine.
        CHECK(nabla::read_idx_labels(file.path, 5, 2) == std::vector<int>{3, 0});
    }
}

#ifdef NABLA_HAS_ZLIB
TEST_CASE("idx: a cut or corrupt gzip stream is a FileError", "[io][idx]") {
    TempDir dir;
    // Enough data that the compressed stream is long: 200 images of 2x3 in a pattern.
    Bytes data;
    for (int i = 0; i < 200 * 6; ++i) data.push_back((unsigned char)((i * 37 + i / 7) % 251));
    const Bytes idx = idx_file(0x08, {200, 2, 3}, data);
    nabla_test::write_gzip(dir.file("whole.gz"), idx);
    const Bytes compressed = nabla_test::read_bytes(dir.file("whole.gz"));
    REQUIRE(compressed.size() > 40);
    CHECK(nabla::read_idx_images(dir.file("whole.gz")).cols() == 200);

    SECTION("cut in the middle of the data") {
        const std::string path = dir.file("half.gz");
        nabla_test::write_bytes(path, Bytes(compressed.begin(),
                                            compressed.begin() + compressed.size() / 2));
        const std::string msg = message_of<nabla::FileError>([&] { nabla::read_idx_images(path); });
        INFO(msg);
        CHECK(contains(msg, path));
        CHECK(contains(msg, "expected " + std::to_string(idx.size()) + " bytes"));
        CHECK(contains(msg, "cut short"));
    }
    SECTION("cut in the gzip trailer, after the data") {
        const std::string path = dir.file("no-trailer.gz");
        nabla_test::write_bytes(path, Bytes(compressed.begin(), compressed.end() - 3));
        const std::string msg = message_of<nabla::FileError>([&] { nabla::read_idx_images(path); });
        INFO(msg);
        CHECK(contains(msg, path));
        CHECK(contains(msg, "cut short"));
    }
    SECTION("corrupt compressed bytes") {
        const std::string path = dir.file("corrupt.gz");
        Bytes corrupt = compressed;
        for (std::size_t i = 12; i < corrupt.size() - 8; i += 3) corrupt[i] ^= 0x5a;
        nabla_test::write_bytes(path, corrupt);
        const std::string msg = message_of<nabla::FileError>([&] { nabla::read_idx_images(path); });
        INFO(msg);
        CHECK(contains(msg, path));
        CHECK(contains(msg, "gzip"));
    }
    SECTION("a gzip magic number followed by garbage") {
        const std::string path = dir.file("garbage.gz");
        nabla_test::write_bytes(path, Bytes{0x1f, 0x8b, 0x63, 0x63, 0x63, 0x63, 0x63, 0x63});
        const std::string msg = message_of<nabla::FileError>([&] { nabla::read_idx_images(path); });
        INFO(msg);
        CHECK(contains(msg, path));
        CHECK(contains(msg, "gzip"));
    }
}
#endif

}  // namespace test_io_idx
