// The catalogue of bad inputs (docs/errors.md lists the same errors for users): each case does
// one thing a user can get wrong, and asserts the exception type and the words of its message
// that say what and where. A few cases are inputs that look hostile but are fine (a FIFO, a
// header with an empty first name) and must simply work. The cases are counted: the count and
// the split into typed errors and working inputs are printed, for the record.

#include "catch.hpp"
#include "temp_files.hpp"
#include "test_support.hpp"

#include <nabla/io/detail/byte_source.hpp>
#include <nabla/nabla.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#endif

namespace test_bad_inputs {  // named for the unity build of nabla_tests

namespace {

using nabla_test::Bytes;
using nabla_test::contains;
using nabla_test::random_matrix;
using nabla_test::TempDir;
using nabla_test::write_bytes;
using nabla_test::write_text;
constexpr int dynamic = Eigen::Dynamic;
using Matrix = Eigen::MatrixXd;
using Net = nabla::Network<nabla::SquaredError, nabla::Dense<double, dynamic, dynamic, nabla::Tanh>,
                           nabla::Dense<double, dynamic, dynamic, nabla::Identity>>;
using FloatNet =
    nabla::Network<nabla::SquaredError, nabla::Dense<float, dynamic, dynamic, nabla::Identity>,
                   nabla::Dense<float, dynamic, dynamic, nabla::Identity>>;

struct Tally {
    int tried = 0;
    int typed = 0;
    int worked = 0;
    // Printed only when a case ran: a listing of the test names (ctest's discovery) must print
    // nothing else, or the line becomes a test of its own.
    ~Tally() {
        if (tried == 0) return;
        std::cout << "bad-input catalogue: " << tried << " tried, " << typed
                  << " refused with a typed nabla error, " << worked << " worked\n";
    }
};
Tally tally;

// Runs f, which must throw E with every one of `words` in its message.
template <class E>
void refused(const char* what, const std::function<void()>& f,
             std::initializer_list<const char*> words) {
    ++tally.tried;
    INFO(what);
    std::string message = "<no exception>";
    bool typed = false;
    try {
        f();
    } catch (const E& e) {
        message = e.what();
        typed = true;
    } catch (const std::exception& e) {
        message = std::string("<wrong exception type: ") + e.what() + ">";
    }
    CAPTURE(message);
    CHECK(typed);
    CHECK(message.rfind("nabla: ", 0) == 0);
    for (const char* word : words) {
        CAPTURE(word);
        CHECK(contains(message, word));
    }
    if (typed)
        ++tally.typed;
}

// Runs f, which must not throw.
void works(const char* what, const std::function<void()>& f) {
    ++tally.tried;
    INFO(what);
    CHECK_NOTHROW(f());
    ++tally.worked;
}

nabla::FitOptions quiet(int epochs = 1) {
    nabla::FitOptions options;
    options.epochs = epochs;
    options.batch_size = 4;
    options.progress.mode = nabla::ProgressMode::silent;
    return options;
}

struct Data {
    Matrix x = random_matrix<Matrix>(3, 8, 1);
    Matrix y = random_matrix<Matrix>(2, 8, 2);
};

#if defined(__linux__)
// Writes `bytes` into the FIFO at `path` from another thread while f reads it.
void through_fifo(const std::string& path, const Bytes& bytes, const std::function<void()>& f) {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    std::thread writer([&] {
        std::FILE* out = std::fopen(path.c_str(), "wb");
        if (!out)
            return;
        std::fwrite(bytes.data(), 1, bytes.size(), out);
        std::fclose(out);
    });
    try {
        f();
    } catch (...) {
        writer.join();
        throw;
    }
    writer.join();
}
#endif

}  // namespace

TEST_CASE("bad inputs: shapes and options", "[errors][catalogue]") {
    const Data d;
    Net net({3, 4, 2}, 1);
    nabla::Sgd sgd(0.1);
    refused<nabla::ShapeError>(
        "x has the wrong number of inputs",
        [&] { nabla::fit(net, sgd, Matrix(random_matrix<Matrix>(4, 8, 3)), d.y, quiet()); },
        {"fit: x is 4x8", "takes 3 inputs"});
    refused<nabla::ShapeError>(
        "y has the wrong number of outputs",
        [&] { nabla::fit(net, sgd, d.x, Matrix(random_matrix<Matrix>(3, 8, 3)), quiet()); },
        {"fit: y is 3x8", "2 outputs"});
    refused<nabla::ShapeError>("x and y disagree on the sample count",
                               [&] { nabla::fit(net, sgd, d.x, Matrix(d.y.leftCols(7)), quiet()); },
                               {"one column per sample"});
    refused<nabla::ShapeError>("no samples",
                               [&] { nabla::fit(net, sgd, Matrix(3, 0), Matrix(2, 0), quiet()); },
                               {"there is no sample"});
    refused<nabla::ShapeError>("predict with the wrong number of inputs",
                               [&] { (void)net.predict(Matrix(random_matrix<Matrix>(5, 2, 3))); },
                               {"5"});
    refused<nabla::ShapeError>("an optimizer step before any backward pass",
                               [&] {
                                   Net::Workspace<> ws;
                                   sgd.step(net, ws);
                               },
                               {"Sgd::step", "holds no gradients"});
    refused<nabla::ShapeError>("DataParallel::update before backward",
                               [&] {
                                   nabla::DataParallel<Net> parallel(1);
                                   parallel.update(net, 0.1);
                               },
                               {"DataParallel::update", "no gradients"});
    refused<nabla::ShapeError>("set_parameters with the wrong count",
                               [&] { nabla::set_parameters(net, Eigen::VectorXd::Zero(3)); },
                               {"set_parameters", "the network has"});
    refused<nabla::ShapeError>("a label out of range for one_hot",
                               [&] {
                                   (void)nabla::one_hot(std::vector<int>{0, 5}, 3);
                               },
                               {"one_hot: sample 1 has label 5"});

    nabla::FitOptions options = quiet();
    options.epochs = -1;
    refused<nabla::ConfigError>("negative epochs", [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"epochs must be 0 or more, got -1"});
    options = quiet();
    options.batch_size = 0;
    refused<nabla::ConfigError>("batch size 0", [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"batch_size must be at least 1, got 0"});
    options = quiet();
    options.threads = 0;
    refused<nabla::ConfigError>("0 threads", [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"threads must be at least 1, got 0"});
    options = quiet();
    options.early_stopping = nabla::EarlyStopping{};
    refused<nabla::ConfigError>("early stopping without validation data",
                                [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"no validation data was given"});
    options = quiet();
    options.callbacks.emplace_back();
    refused<nabla::ConfigError>("an empty callback",
                                [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"callbacks[0] is empty"});
    options = quiet();
    options.l1 = -1;
    refused<nabla::ConfigError>("a negative L1", [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"l1 must be finite and 0 or more, got -1"});
    options = quiet(3);
    options.schedule = [](int epoch) { return epoch == 1 ? std::nan("") : 0.1; };
    refused<nabla::ConfigError>("a schedule that gives NaN",
                                [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"the schedule gave the learning rate nan for epoch 2"});
    options = quiet();
    options.divergence_guard = nabla::DivergenceGuard{-2};
    refused<nabla::ConfigError>("a negative divergence guard period",
                                [&] { nabla::fit(net, sgd, d.x, d.y, options); },
                                {"divergence_guard.every"});
    refused<nabla::ConfigError>("a negative learning rate", [] { nabla::Sgd bad(-0.1); },
                                {"Sgd: learning_rate", "got -0.1"});
    refused<nabla::ConfigError>("Adam with beta1 = 1",
                                [] {
                                    nabla::Adam bad(0.1, {1.0, 0.999, 1e-8, 0});
                                },
                                {"Adam: beta1 must be in [0, 1), got 1"});
    refused<nabla::ConfigError>("Nesterov without momentum",
                                [] {
                                    nabla::Sgd bad(0.1, {0, true, 0});
                                },
                                {"nesterov needs a momentum above 0"});
    refused<nabla::ConfigError>("a ThreadPool of 0 threads", [] { nabla::ThreadPool pool(0); },
                                {"ThreadPool: threads must be at least 1, got 0"});
    refused<nabla::ConfigError>("a Standardizer used before fit",
                                [] {
                                    nabla::Standardizer<double> scaler;
                                    (void)scaler.transform(Matrix::Zero(2, 2));
                                },
                                {"Standardizer::"});
}

TEST_CASE("bad inputs: numbers that are not finite", "[errors][catalogue]") {
    const Data d;
    nabla::Sgd sgd(0.1);
    Matrix x = d.x;
    x(1, 2) = std::numeric_limits<double>::quiet_NaN();
    Net net({3, 4, 2}, 1);
    const Net before = net;
    nabla::FitOptions in_order = quiet();
    in_order.shuffle = false;  // sample 2 in batch 1, sample 5 in batch 2
    refused<nabla::NumericalError>(
        "a NaN input", [&] { nabla::fit(net, sgd, x, d.y, in_order); },
        {"fit: epoch 1, batch 1 of 2", "the loss is nan", "left as they were before this step"});
    CHECK(nabla_test::same_parameters(net, before));
    Matrix y = d.y;
    y(0, 5) = std::numeric_limits<double>::infinity();
    refused<nabla::NumericalError>("an infinite target",
                                   [&] { nabla::fit(net, sgd, d.x, y, in_order); },
                                   {"fit: epoch 1, batch 2 of 2", "the loss is inf"});
    refused<nabla::NumericalError>("a Standardizer fitted on NaN",
                                   [&] {
                                       nabla::Standardizer<double> scaler;
                                       scaler.fit(x);
                                   },
                                   {"Standardizer::fit: feature 1 (row 1) of sample 2 is nan"});

    const Eigen::MatrixXf big = random_matrix<Eigen::MatrixXf>(3, 4, 5) * 1e4f;
    const Eigen::MatrixXf target = random_matrix<Eigen::MatrixXf>(2, 4, 6);
    FloatNet floats({3, 4, 2}, 1);
    nabla::FitOptions options = quiet();
    nabla::Sgd huge(1e36);
    refused<nabla::NumericalError>("a float step that overflows",
                                   [&] { nabla::fit(floats, huge, big, target, options); },
                                   {"would make a parameter not finite in float"});
    nabla::Adam adam(3e38);
    refused<nabla::NumericalError>("an Adam step that overflows float",
                                   [&] { nabla::fit(floats, adam, big, target, options); },
                                   {"the optimizer's step would make a parameter not finite"});
    nabla::Sgd too_big(1e39);
    refused<nabla::ConfigError>("a learning rate past the largest float",
                                [&] { nabla::fit(floats, too_big, big, target, options); },
                                {"the learning rate 1e+39 is not finite in float"});
    nabla::Sgd too_small(1e-50);
    refused<nabla::ConfigError>("a learning rate that rounds to 0 in float",
                                [&] { nabla::fit(floats, too_small, big, target, options); },
                                {"rounds to 0 in float"});
}

TEST_CASE("bad inputs: model files", "[errors][catalogue]") {
    TempDir dir;
    Net net({3, 4, 2}, 1);
    const std::string good = dir.file("good.nbl");
    nabla::save(net, good);
    const Bytes bytes = nabla_test::read_bytes(good);

    refused<nabla::FileError>("a missing model file",
                              [&] { nabla::load(net, dir.file("none.nbl")); },
                              {"none.nbl", "cannot open the model file"});
    refused<nabla::FileError>("a directory given as a model file",
                              [&] { nabla::load(net, dir.path()); }, {"is a directory"});
    write_text(dir.file("text.nbl"), "hello, this is not a model");
    refused<nabla::FileError>("a file that is not a model",
                              [&] { nabla::load(net, dir.file("text.nbl")); },
                              {"text.nbl", "NABLAMLP"});
    Bytes version = bytes;
    version[8] = 4;
    write_bytes(dir.file("version.nbl"), version);
    refused<nabla::FileError>("an unsupported format version",
                              [&] { nabla::load(net, dir.file("version.nbl")); },
                              {"version 4 is not supported"});
    Net other({3, 5, 2}, 1);
    refused<nabla::FileError>("a model of other sizes", [&] { nabla::load(other, good); },
                              {"good.nbl", "layer 1"});
    refused<nabla::FileError>(
        "a model trained against another loss",
        [&] { (void)nabla::load_network<double, nabla::HalfSquaredError>(good); },
        {"SquaredError"});
    // Every truncation and every flipped bit of a byte: one case each kind, every place.
    ++tally.tried;
    bool all_refused = true;
    for (std::size_t size = 0; size < bytes.size(); ++size) {
        const Bytes cut(bytes.begin(), bytes.begin() + std::ptrdiff_t(size));
        all_refused = all_refused && nabla_test::message_of<nabla::FileError>([&] {
                                         nabla::load_from_bytes(net, cut.data(), cut.size());
                                     }).rfind("nabla: ", 0) == 0;
    }
    CHECK(all_refused);
    tally.typed += all_refused;
    ++tally.tried;
    all_refused = true;
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        Bytes flipped = bytes;
        flipped[at] ^= 0x10;
        all_refused =
            all_refused && nabla_test::message_of<nabla::FileError>([&] {
                               nabla::load_from_bytes(net, flipped.data(), flipped.size());
                           }).rfind("nabla: ", 0) == 0;
    }
    CHECK(all_refused);
    tally.typed += all_refused;
#if defined(__linux__)
    refused<nabla::FileError>("load from /dev/zero", [&] { nabla::load(net, "/dev/zero"); },
                              {"/dev/zero", "NABLAMLP"});
    refused<nabla::FileError>(
        "load_network from /dev/zero",
        [&] { (void)nabla::load_network<double, nabla::SquaredError>("/dev/zero"); },
        {"/dev/zero", "NABLAMLP"});
    refused<nabla::FileError>("read_model_info of /dev/zero",
                              [&] { (void)nabla::read_model_info("/dev/zero"); },
                              {"/dev/zero", "NABLAMLP"});
    works("a model read through a FIFO", [&] {
        Net copy({3, 4, 2}, 9);
        through_fifo(dir.file("model.fifo"), bytes,
                     [&] { nabla::load(copy, dir.file("model.fifo")); });
        CHECK(nabla_test::same_parameters(copy, net));
    });
#endif
}

TEST_CASE("bad inputs: CSV files", "[errors][catalogue]") {
    TempDir dir;
    const auto csv = [&](const std::string& name, const std::string& text) {
        write_text(dir.file(name), text);
        return dir.file(name);
    };
    refused<nabla::FileError>("a missing CSV file",
                              [&] { (void)nabla::read_csv(dir.file("none.csv")); },
                              {"none.csv", "cannot open"});
    refused<nabla::FileError>("a row with a cell too few",
                              [&] { (void)nabla::read_csv(csv("ragged.csv", "1,2,3\n4,5\n")); },
                              {"ragged.csv: line 2 has 2 cells, expected 3 as on line 1"});
    refused<nabla::FileError>("a cell that is not a number",
                              [&] { (void)nabla::read_csv(csv("cell.csv", "a,b\n1,2\n3,x\n")); },
                              {"cell.csv: line 3, column 2", "\"x\"", "is not a number"});
    refused<nabla::FileError>("a header-less file whose first row has an empty cell",
                              [&] { (void)nabla::read_csv(csv("empty.csv", "1,,3\n4,5,6\n")); },
                              {"empty.csv: line 1, column 2", "the cell is empty",
                               "set CsvOptions::header to CsvHeader::yes"});
    refused<nabla::FileError>("a header-less file whose first row has a bad cell",
                              [&] { (void)nabla::read_csv(csv("bad.csv", "1,x,3\n4,5,6\n")); },
                              {"bad.csv: line 1, column 2", "\"x\""});
    refused<nabla::FileError>("an empty file", [&] { (void)nabla::read_csv(csv("none2.csv", "")); },
                              {"the file is empty"});
    refused<nabla::FileError>("a value too large for float",
                              [&] { (void)nabla::read_csv<float>(csv("large.csv", "1\n1e39\n")); },
                              {"large.csv: line 2, column 1", "out of range"});
    nabla::CsvOptions quote;
    quote.delimiter = '"';
    refused<nabla::ConfigError>("a quote as the delimiter",
                                [&] { (void)nabla::read_csv(csv("q.csv", "1\n"), quote); },
                                {"the delimiter cannot be a quote"});
    nabla::CsvOptions by_name;
    by_name.header = nabla::CsvHeader::no;
    by_name.label = nabla::CsvColumn::named("species");
    refused<nabla::ConfigError>("a label chosen by name in a file without a header",
                                [&] { (void)nabla::read_csv(csv("n.csv", "1\n"), by_name); },
                                {"needs a header"});
    works("a header whose first name is empty (an index column)", [&] {
        const auto data = nabla::read_csv(csv("index.csv", ",a,b\n0,1,2\n1,3,4\n"));
        CHECK(data.samples() == 2);
        CHECK(data.feature_names.size() == 3);
    });
#if defined(__linux__)
    refused<nabla::FileError>("read_csv of /dev/zero", [&] { (void)nabla::read_csv("/dev/zero"); },
                              {"/dev/zero: byte 0", "a NUL byte"});
    works("a CSV file read through a FIFO", [&] {
        const std::string text = "a,b\n1,2\n3,4\n";
        through_fifo(dir.file("csv.fifo"), Bytes(text.begin(), text.end()),
                     [&] { CHECK(nabla::read_csv(dir.file("csv.fifo")).samples() == 2); });
    });
#endif
}

TEST_CASE("bad inputs: IDX files", "[errors][catalogue]") {
    TempDir dir;
    const Bytes pixels(2 * 2 * 2, 7);
    write_bytes(dir.file("magic.idx"), nabla_test::idx_file(0x0d, {2, 2, 2}, pixels));
    refused<nabla::FileError>("an IDX type other than unsigned byte",
                              [&] { (void)nabla::read_idx_images(dir.file("magic.idx")); },
                              {"magic.idx: byte 2"});
    Bytes cut = nabla_test::idx_file(0x08, {2, 2, 2}, pixels);
    cut.pop_back();
    write_bytes(dir.file("cut.idx"), cut);
    refused<nabla::FileError>("a truncated IDX file",
                              [&] { (void)nabla::read_idx_images(dir.file("cut.idx")); },
                              {"cut.idx", "truncated data"});
    Bytes more = nabla_test::idx_file(0x08, {2, 2, 2}, pixels);
    more.push_back(1);
    write_bytes(dir.file("more.idx"), more);
    refused<nabla::FileError>("data past what the IDX header says",
                              [&] { (void)nabla::read_idx_images(dir.file("more.idx")); },
                              {"more.idx: byte 24", "trailing data"});
    write_bytes(dir.file("labels.idx"), nabla_test::idx_file(0x08, {3}, Bytes{0, 1, 9}));
    refused<nabla::FileError>("a label out of range",
                              [&] { (void)nabla::read_idx_labels(dir.file("labels.idx"), 3); },
                              {"labels.idx: byte 10", "label 9 of sample 2 is out of range"});
    refused<nabla::ConfigError>("a limit below -1",
                                [&] { (void)nabla::read_idx_images(dir.file("cut.idx"), -2); },
                                {"limit must be -1 (all) or at least 0, got -2"});
#ifdef NABLA_HAS_ZLIB
    nabla_test::write_gzip(dir.file("more.idx.gz"), more);
    refused<nabla::FileError>("gzip data past what the IDX header says",
                              [&] { (void)nabla::read_idx_images(dir.file("more.idx.gz")); },
                              {"more.idx.gz: byte 24 of the decompressed data", "trailing data"});
    // A gzip stream cut short: the compressed bytes without their end.
    Bytes gz = nabla_test::read_bytes(dir.file("more.idx.gz"));
    gz.resize(gz.size() - 10);
    write_bytes(dir.file("short.idx.gz"), gz);
    refused<nabla::FileError>("a gzip file cut short",
                              [&] { (void)nabla::read_idx_images(dir.file("short.idx.gz")); },
                              {"short.idx.gz", "cut short"});
    refused<nabla::FileError>("decompressed data past the cap",
                              [&] {
                                  nabla::detail::ByteSource in(dir.file("more.idx.gz"));
                                  in.set_cap(12, "the test allows 12 bytes");
                                  (void)in.read_rest();
                              },
                              {"more.idx.gz: byte 12 of the decompressed data",
                               "go on past 12 bytes", "the test allows 12 bytes"});
#endif
}

TEST_CASE("bad inputs: saving", "[errors][catalogue]") {
    TempDir dir;
    Net net({3, 4, 2}, 1);
    refused<nabla::FileError>("a save into a directory that does not exist",
                              [&] { nabla::save(net, dir.file("none/model.nbl")); },
                              {"the directory", "does not exist"});
    refused<nabla::FileError>("a save to a path that names a directory",
                              [&] { nabla::save(net, dir.path() + "/"); }, {"names a directory"});
#if defined(__linux__)
    refused<nabla::FileError>("a save where no file can be created",
                              [&] { nabla::save(net, "/proc/nabla-test.nbl"); },
                              {"cannot create a temporary file",
                               "the previous file, if any, is "
                               "unchanged"});
#endif
    const std::string path = dir.file("kept.nbl");
    nabla::save(net, path);
    const Bytes old = nabla_test::read_bytes(path);
    refused<nabla::FileError>("a writer that fails half way",
                              [&] {
                                  nabla::write_file_atomically(path, [](std::ostream& out) {
                                      out << "half";
                                      throw std::runtime_error("the writer gave up");
                                  });
                              },
                              {"kept.nbl: not written, the writer failed: the writer gave up"});
    CHECK(nabla_test::read_bytes(path) == old);
#if defined(__linux__)
    // A full disk, as the file size limit makes it: write() fails with EFBIG. In a child, since
    // the limit (and SIGXFSZ ignored) would outlive the test.
    ++tally.tried;
    std::fflush(nullptr);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{64, 64};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0)
            ::_exit(3);
        try {
            nabla::save(net, path);
        } catch (const nabla::FileError& e) {
            ::_exit(contains(e.what(), "kept.nbl: not written, writing") &&
                            contains(e.what(), "File too large") &&
                            contains(e.what(), "the previous file, if any, is unchanged")
                        ? 0
                        : 1);
        } catch (...) {
            ::_exit(1);
        }
        ::_exit(2);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    tally.typed += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CHECK(nabla_test::read_bytes(path) == old);

    works("temporary files of a killed save are removed by the next save", [&] {
        // A process that is surely gone: a child that has exited and been reaped.
        const pid_t gone = ::fork();
        if (gone == 0)
            ::_exit(0);
        REQUIRE(::waitpid(gone, nullptr, 0) == gone);
        const std::string stale = dir.file(".kept.nbl.tmp-" + std::to_string(gone) + "-0");
        const std::string mine = dir.file(".kept.nbl.tmp-" + std::to_string(::getpid()) + "-99");
        const std::string not_ours = dir.file("kept.nbl.tmp-" + std::to_string(gone) + "-0");
        const std::string odd = dir.file(".kept.nbl.tmp-x" + std::to_string(gone) + "-0");
        for (const std::string& file : {stale, mine, not_ours, odd})
            write_text(file, "partial");
        nabla::save(net, path);
        CHECK_FALSE(std::filesystem::exists(stale));
        CHECK(std::filesystem::exists(mine));      // this process is alive
        CHECK(std::filesystem::exists(not_ours));  // not hidden: not nabla's name
        CHECK(std::filesystem::exists(odd));       // no process id
    });
#endif
}

}  // namespace test_bad_inputs
