// The CSV reader: files written here, read back value for value with the header present,
// absent or detected; the label column chosen by name, index or as the last one; CRLF line
// ends, spaces, blank and trailing lines, quotes, other delimiters, gzip; whole-number labels;
// and every error as a FileError naming the file, line and column (or a ConfigError for options
// that cannot work).

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/io/csv.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace test_io_csv {  // named for the unity build of nabla_tests

namespace {

using nabla_test::message_of;
using nabla_test::TempDir;

using nabla_test::contains;

/// Writes `text` to `name` in dir and returns the path.
std::string csv_file(const TempDir& dir, const std::string& name, const std::string& text) {
    const std::string path = dir.file(name);
    nabla_test::write_text(path, text);
    return path;
}

nabla::CsvOptions with_label(nabla::CsvColumn label,
                             nabla::CsvHeader header = nabla::CsvHeader::automatic) {
    nabla::CsvOptions options;
    options.label = label;
    options.header = header;
    return options;
}

/// The FileError message of reading `path` with `options`.
std::string csv_error(const std::string& path, const nabla::CsvOptions& options = {}) {
    return message_of<nabla::FileError>([&] { nabla::read_csv(path, options); });
}

// Three samples of two features and a class label; the expected values are the literals.
const std::string iris_like = "width,height,species\n"
                              "1.5,-2,0\n"
                              "+3.25,1e3,2\n"
                              ".5,-0.125,1\n";

}  // namespace

TEST_CASE("csv: a header detected, the label column by name", "[io][csv]") {
    TempDir dir;
    const std::string path = csv_file(dir, "iris.csv", iris_like);
    const nabla::CsvData<float> data =
        nabla::read_csv(path, with_label(nabla::CsvColumn::named("species")));
    REQUIRE(data.features.rows() == 2);
    REQUIRE(data.features.cols() == 3);
    CHECK(data.samples() == 3);
    CHECK(data.features(0, 0) == 1.5f);
    CHECK(data.features(1, 0) == -2.0f);
    CHECK(data.features(0, 1) == 3.25f);
    CHECK(data.features(1, 1) == 1000.0f);
    CHECK(data.features(0, 2) == 0.5f);
    CHECK(data.features(1, 2) == -0.125f);
    REQUIRE(data.targets.size() == 3);
    CHECK(data.targets(0) == 0.0f);
    CHECK(data.targets(1) == 2.0f);
    CHECK(data.targets(2) == 1.0f);
    CHECK(data.has_targets());
    CHECK(data.target_column == 2);
    CHECK(data.target_name == "species");
    CHECK(data.feature_names == std::vector<std::string>{"width", "height"});
    CHECK(data.lines == std::vector<std::size_t>{2, 3, 4});
    CHECK(data.source == path);
    CHECK(data.labels() == std::vector<int>{0, 2, 1});
    CHECK(data.labels(3) == std::vector<int>{0, 2, 1});
}

TEST_CASE("csv: the label column by index, first or last, and no label column", "[io][csv]") {
    TempDir dir;
    const std::string path = csv_file(dir, "data.csv", "7,1,2\n8,3,4\n");

    const nabla::CsvData<double> first =
        nabla::read_csv<double>(path, with_label(nabla::CsvColumn::index(0)));
    CHECK(first.features == (Eigen::MatrixXd(2, 2) << 1, 3, 2, 4).finished());
    CHECK(first.targets == (Eigen::RowVectorXd(2) << 7, 8).finished());
    CHECK(first.target_column == 0);
    CHECK(first.feature_names.empty());
    CHECK(first.target_name.empty());

    const nabla::CsvData<double> middle =
        nabla::read_csv<double>(path, with_label(nabla::CsvColumn::index(1)));
    CHECK(middle.features == (Eigen::MatrixXd(2, 2) << 7, 8, 2, 4).finished());
    CHECK(middle.targets == (Eigen::RowVectorXd(2) << 1, 3).finished());

    const nabla::CsvData<double> last =
        nabla::read_csv<double>(path, with_label(nabla::CsvColumn::last()));
    CHECK(last.features == (Eigen::MatrixXd(2, 2) << 7, 8, 1, 3).finished());
    CHECK(last.targets == (Eigen::RowVectorXd(2) << 2, 4).finished());
    CHECK(last.target_column == 2);

    const nabla::CsvData<double> none = nabla::read_csv<double>(path);
    CHECK(none.features == (Eigen::MatrixXd(3, 2) << 7, 8, 1, 3, 2, 4).finished());
    CHECK(none.targets.size() == 0);
    CHECK_FALSE(none.has_targets());
    const std::string msg = message_of<nabla::ConfigError>([&] { none.labels(); });
    INFO(msg);
    CHECK(contains(msg, "no label column"));
}

TEST_CASE("csv: header yes, no and automatic", "[io][csv]") {
    TempDir dir;
    const std::string numbers = csv_file(dir, "numbers.csv", "1,2\n3,4\n5,6\n");
    nabla::CsvOptions options;

    options.header = nabla::CsvHeader::automatic;
    const nabla::CsvData<float> detected = nabla::read_csv(numbers, options);
    CHECK(detected.samples() == 3);
    CHECK(detected.feature_names.empty());

    options.header = nabla::CsvHeader::no;
    CHECK(nabla::read_csv(numbers, options).samples() == 3);

    // yes: the first row is names even though it is numeric.
    options.header = nabla::CsvHeader::yes;
    const nabla::CsvData<float> named = nabla::read_csv(numbers, options);
    CHECK(named.samples() == 2);
    CHECK(named.feature_names == std::vector<std::string>{"1", "2"});
    CHECK(named.features(0, 0) == 3.0f);
    CHECK(named.lines == std::vector<std::size_t>{2, 3});

    // automatic: a first row without a number in it is a header...
    const std::string names = csv_file(dir, "names.csv", "x1,x2\n3,4\n");
    options.header = nabla::CsvHeader::automatic;
    const nabla::CsvData<float> one_name = nabla::read_csv(names, options);
    CHECK(one_name.samples() == 1);
    CHECK(one_name.feature_names == std::vector<std::string>{"x1", "x2"});

    // ...and one that holds a number is data, so its bad cell is an error, not a lost row.
    const std::string mixed = csv_file(dir, "mixed.csv", "1,x2\n3,4\n");
    const std::string automatic_msg = csv_error(mixed, options);
    INFO(automatic_msg);
    CHECK(contains(automatic_msg, mixed + ": line 1, column 2"));
    CHECK(contains(automatic_msg, "CsvHeader::yes"));

    // no: a first row of names is then a non-numeric cell at line 1.
    options.header = nabla::CsvHeader::no;
    const std::string msg = csv_error(mixed, options);
    INFO(msg);
    CHECK(contains(msg, mixed + ": line 1, column 2"));
    CHECK(contains(msg, "\"x2\""));

    // A file with a header and no data is zero samples, not an error.
    const std::string header_only = csv_file(dir, "header-only.csv", "a,b,c\n");
    const nabla::CsvData<float> empty =
        nabla::read_csv(header_only, with_label(nabla::CsvColumn::named("b")));
    CHECK(empty.features.rows() == 2);
    CHECK(empty.samples() == 0);
    CHECK(empty.targets.size() == 0);
}

TEST_CASE("csv: CRLF, spaces, blank and trailing lines, BOM, quotes", "[io][csv]") {
    TempDir dir;
    const std::string path =
        csv_file(dir, "messy.csv",
                 "\xEF\xBB\xBF  a , \"b, quoted\" ,label\r\n"
                 "\r\n"
                 " 1 ,\t2\t, 0\r\n"
                 "   \r\n"
                 "\"3\",4,1\r\n"
                 "\r\n"
                 "\n");
    const nabla::CsvData<float> data =
        nabla::read_csv(path, with_label(nabla::CsvColumn::named("label")));
    CHECK(data.feature_names == std::vector<std::string>{"a", "b, quoted"});
    CHECK(data.features == (Eigen::MatrixXf(2, 2) << 1, 3, 2, 4).finished());
    CHECK(data.labels() == std::vector<int>{0, 1});
    CHECK(data.lines == std::vector<std::size_t>{3, 5});

    // No newline at the end of the last line.
    const std::string unterminated = csv_file(dir, "unterminated.csv", "1,2\n3,4");
    CHECK(nabla::read_csv(unterminated).samples() == 2);

    // A quote inside a quoted name is written twice.
    const std::string quote = csv_file(dir, "quote.csv", "\"say \"\"hi\"\"\",b\n1,2\n");
    CHECK(nabla::read_csv(quote).feature_names == std::vector<std::string>{"say \"hi\"", "b"});
}

TEST_CASE("csv: row_offset and row_stride keep one process's rows", "[io][csv]") {
    const std::string text = "a,b,label\n1,10,0\n2,20,1\n3,30,0\n4,40,1\n5,50,0\n";
    nabla::CsvOptions options;
    options.label = nabla::CsvColumn::named("label");
    options.row_stride = 2;
    options.row_offset = 1;
    const auto odd = nabla::parse_csv<double>(text, options, "t.csv");
    REQUIRE(odd.samples() == 2);
    CHECK(odd.features(0, 0) == 2);
    CHECK(odd.features(1, 1) == 40);
    CHECK(odd.lines == std::vector<std::size_t>{3, 5});
    CHECK(odd.labels() == std::vector<int>{1, 1});
    options.row_offset = 0;
    CHECK(nabla::parse_csv<double>(text, options, "t.csv").samples() == 3);
    // A row left out still has its cells counted, but its numbers are not read.
    const std::string ragged = "1,2\n3,x\n5\n";
    nabla::CsvOptions skip;
    skip.row_stride = 2;
    CHECK(nabla::parse_csv<double>("1,2\n3,x\n5,6\n", skip, "r.csv").samples() == 2);
    CHECK(nabla_test::contains(
        nabla_test::message_of<nabla::FileError>([&] { nabla::parse_csv<double>(ragged, skip, "r.csv"); }),
        "line 3 has 1 cell"));
    skip.row_stride = 0;
    CHECK(nabla_test::contains(
        nabla_test::message_of<nabla::ConfigError>([&] { nabla::parse_csv<double>(text, skip); }),
        "row_stride at least 1"));
}

TEST_CASE("csv: other delimiters", "[io][csv]") {
    TempDir dir;
    nabla::CsvOptions options;
    options.delimiter = ';';
    const std::string semicolons = csv_file(dir, "semi.csv", "x;y\n1,5;2\n3;4\n");
    // With ';' as delimiter, "1,5" is one cell, and not a number: the comma is no decimal point.
    const std::string msg = csv_error(semicolons, options);
    INFO(msg);
    CHECK(contains(msg, "line 2, column 1"));
    CHECK(contains(msg, "\"1,5\""));

    options.delimiter = '\t';
    const std::string tabs = csv_file(dir, "tabs.tsv", "x\ty\n1.5\t2\n3\t4\n");
    const nabla::CsvData<double> data = nabla::read_csv<double>(tabs, options);
    CHECK(data.features == (Eigen::MatrixXd(2, 2) << 1.5, 3, 2, 4).finished());

    for (char bad : {'"', ' ', '\n', '\r'}) {
        options.delimiter = bad;
        CHECK_THROWS_AS(nabla::read_csv(tabs, options), nabla::ConfigError);
    }
}

#ifdef NABLA_HAS_ZLIB
TEST_CASE("csv: a gzip-compressed file reads like the plain one", "[io][csv]") {
    TempDir dir;
    const std::string path = dir.file("iris.csv.gz");
    nabla_test::write_gzip(path, nabla_test::Bytes(iris_like.begin(), iris_like.end()));
    const nabla::CsvData<float> data =
        nabla::read_csv(path, with_label(nabla::CsvColumn::named("species")));
    CHECK(data.features.cols() == 3);
    CHECK(data.features(1, 1) == 1000.0f);
    CHECK(data.labels() == std::vector<int>{0, 2, 1});

    // A gzip file cut short must not read as a shorter table.
    const nabla_test::Bytes compressed = nabla_test::read_bytes(path);
    const std::string cut = dir.file("cut.csv.gz");
    nabla_test::write_bytes(cut, nabla_test::Bytes(compressed.begin(), compressed.end() - 4));
    const std::string msg = csv_error(cut);
    INFO(msg);
    CHECK(contains(msg, cut));
    CHECK(contains(msg, "cut short"));
}
#endif

TEST_CASE("csv: labels must be whole numbers, in range when classes are given", "[io][csv]") {
    TempDir dir;
    const std::string path = csv_file(dir, "targets.csv", "x,y\n1,0\n2,2.5\n3,1\n");
    const nabla::CsvData<float> data =
        nabla::read_csv(path, with_label(nabla::CsvColumn::named("y")));
    CHECK(data.targets(1) == 2.5f);  // a regression target as it is
    std::string msg = message_of<nabla::FileError>([&] { data.labels(); });
    INFO(msg);
    CHECK(contains(msg, path + ": line 3, column 2"));
    CHECK(contains(msg, "2.5"));
    CHECK(contains(msg, "whole number"));

    const std::string classes = csv_file(dir, "classes.csv", "x,y\n1,0\n\n2,3\n");
    const nabla::CsvData<float> labelled =
        nabla::read_csv(classes, with_label(nabla::CsvColumn::named("y")));
    CHECK(labelled.labels() == std::vector<int>{0, 3});
    CHECK(labelled.labels(4) == std::vector<int>{0, 3});
    msg = message_of<nabla::FileError>([&] { labelled.labels(3); });
    INFO(msg);
    CHECK(contains(msg, classes + ": line 4, column 2"));
    CHECK(contains(msg, "label 3"));
    CHECK(contains(msg, "3 classes"));
    CHECK_THROWS_AS(labelled.labels(-1), nabla::ConfigError);
}

TEST_CASE("csv: a cell that is not a number names line, column and cell", "[io][csv]") {
    TempDir dir;
    struct Case {
        const char* name;
        const char* text;
        const char* place;
        std::vector<std::string> parts;
    };
    const std::vector<Case> cases = {
        {"word", "1,2\n3,abc\n", "line 2, column 2", {"\"abc\"", "not a number"}},
        {"suffix", "1,2\n3.5x,4\n", "line 2, column 1", {"\"3.5x\""}},
        {"named", "a,b\n1,2\n3,?\n", "line 3, column 2", {"(\"b\")", "\"?\""}},
        {"empty", "1,2,3\n4,,6\n", "line 2, column 2", {"empty"}},
        {"trailing-comma", "1,2\n3,\n", "line 2, column 2", {"empty"}},
        {"nan", "1,2\n3,nan\n", "line 2, column 2", {"\"nan\"", "not a finite number"}},
        {"inf", "1,2\n-inf,3\n", "line 2, column 1", {"\"-inf\"", "not a finite number"}},
        {"huge", "1,2\n3,1e999\n", "line 2, column 2", {"\"1e999\"", "out of range"}},
        {"crlf", "a,b\r\n\r\n1,2\r\n3,x\r\n", "line 4, column 2", {"\"x\""}},
        {"two-signs", "1,2\n+-3,4\n", "line 2, column 1", {"\"+-3\""}},
    };
    for (const Case& c : cases) {
        const std::string path = csv_file(dir, c.name, c.text);
        const std::string msg = csv_error(path);
        INFO(msg);
        CHECK(contains(msg, path + ": " + c.place));
        for (const std::string& part : c.parts) CHECK(contains(msg, part));
    }
}

TEST_CASE("csv: numbers beyond the scalar type", "[io][csv]") {
    TempDir dir;
    // 1e300 fits a double, not a float: as float it would be inf.
    const std::string big = csv_file(dir, "big.csv", "1,2\n3,1e300\n");
    CHECK(nabla::read_csv<double>(big).features(1, 1) == 1e300);
    const std::string msg = csv_error(big);
    INFO(msg);
    CHECK(contains(msg, big + ": line 2, column 2"));
    CHECK(contains(msg, "\"1e300\" is out of range"));

    // Too small for a double rounds to zero, keeping its sign.
    const std::string tiny = csv_file(dir, "tiny.csv", "1e-400,-2.5e-999,1e-310\n");
    const nabla::CsvData<double> data = nabla::read_csv<double>(tiny);
    CHECK(data.features(0, 0) == 0.0);
    CHECK(data.features(1, 0) == 0.0);
    CHECK(std::signbit(data.features(1, 0)));
    CHECK(data.features(2, 0) == 1e-310);
}

TEST_CASE("csv: ragged rows, empty files, quotes left open", "[io][csv]") {
    TempDir dir;
    std::string path = csv_file(dir, "short-row.csv", "a,b,c\n1,2,3\n\n4,5\n");
    std::string msg = csv_error(path);
    INFO(msg);
    CHECK(contains(msg, path + ": line 4 has 2 cells, expected 3"));
    CHECK(contains(msg, "line 1"));

    path = csv_file(dir, "long-row.csv", "1,2\n3,4,5\n");
    msg = csv_error(path);
    INFO(msg);
    CHECK(contains(msg, path + ": line 2 has 3 cells, expected 2"));

    for (const char* text : {"", "\n", "  \r\n\n\t\n"}) {
        path = csv_file(dir, "empty.csv", text);
        msg = csv_error(path);
        INFO(msg);
        CHECK(contains(msg, path));
        CHECK(contains(msg, "empty"));
    }

    path = csv_file(dir, "open-quote.csv", "a,\"b\n1,2\n");
    msg = csv_error(path);
    INFO(msg);
    CHECK(contains(msg, path + ": line 1, column 2"));
    CHECK(contains(msg, "quote"));

    path = csv_file(dir, "after-quote.csv", "\"a\"x,b\n1,2\n");
    msg = csv_error(path);
    INFO(msg);
    CHECK(contains(msg, path + ": line 1, column 1"));
    CHECK(contains(msg, "after the closing quote"));

    const std::string missing = dir.file("missing.csv");
    msg = csv_error(missing);
    INFO(msg);
    CHECK(contains(msg, missing));
    CHECK(contains(msg, "cannot open"));
}

TEST_CASE("csv: a label column that is not there", "[io][csv]") {
    TempDir dir;
    const std::string path = csv_file(dir, "iris.csv", iris_like);

    std::string msg = csv_error(path, with_label(nabla::CsvColumn::named("colour")));
    INFO(msg);
    CHECK(contains(msg, path + ": line 1"));
    CHECK(contains(msg, "no column named \"colour\""));
    CHECK(contains(msg, "width, height, species"));

    msg = csv_error(path, with_label(nabla::CsvColumn::index(3)));
    INFO(msg);
    CHECK(contains(msg, path));
    CHECK(contains(msg, "label column index 3 is out of range"));
    CHECK(contains(msg, "3 columns"));

    const std::string twice = csv_file(dir, "twice.csv", "y,x,y\n1,2,3\n");
    msg = csv_error(twice, with_label(nabla::CsvColumn::named("y")));
    INFO(msg);
    CHECK(contains(msg, twice + ": line 1"));
    CHECK(contains(msg, "columns 1 and 3"));

    // By name without a header: the options contradict each other (ConfigError), or the file
    // has none (FileError).
    msg = message_of<nabla::ConfigError>([&] {
        nabla::read_csv(path, with_label(nabla::CsvColumn::named("species"), nabla::CsvHeader::no));
    });
    INFO(msg);
    CHECK(contains(msg, "species"));
    CHECK(contains(msg, "CsvHeader::no"));

    const std::string numbers = csv_file(dir, "numbers.csv", "1,2\n3,4\n");
    msg = csv_error(numbers, with_label(nabla::CsvColumn::named("y")));
    INFO(msg);
    CHECK(contains(msg, numbers + ": line 1"));
    CHECK(contains(msg, "no header"));

    CHECK_THROWS_AS(nabla::CsvColumn::index(-1), nabla::ConfigError);
}

}  // namespace test_io_csv
