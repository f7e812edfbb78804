// The progress display: h:mm:ss and rate formatting on fixed inputs, the epoch summary line, a
// Progress driven by hand in each mode (lines: one plain line per epoch; redraw: \r-separated
// updates cleared to the end of the line, the epoch ended by a newline; silent: nothing), and
// fit() writing through it.

#include "catch.hpp"
#include "test_support.hpp"

#include <nabla/dynamic_network.hpp>
#include <nabla/fit.hpp>
#include <nabla/optim/sgd.hpp>
#include <nabla/progress.hpp>

#include <Eigen/Core>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace test_progress {  // named for the unity build of nabla_tests

namespace {

using nabla::ProgressMode;
using nabla_test::random_matrix;
using Matrix = Eigen::MatrixXd;

using nabla_test::contains;

/// `text` cut at every `separator`; the piece after the last separator is kept, even if empty.
std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> pieces(1);
    for (char c : text) {
        if (c == separator)
            pieces.emplace_back();
        else
            pieces.back() += c;
    }
    return pieces;
}

std::size_t count_of(const std::string& text, char c) {
    std::size_t n = 0;
    for (char t : text) n += t == c;
    return n;
}

/// The number written after "name " in `line`; NaN when the name is missing.
double number_after(const std::string& line, const std::string& name) {
    const std::size_t at = line.find("  " + name + " ");
    if (at == std::string::npos) return std::numeric_limits<double>::quiet_NaN();
    std::istringstream in(line.substr(at + name.size() + 3));
    double value = std::numeric_limits<double>::quiet_NaN();
    in >> value;
    return value;
}

nabla::EpochRecord make_record(int epoch, double loss) {
    nabla::EpochRecord record;
    record.epoch = epoch;
    record.loss = loss;
    record.learning_rate = 0.05;
    record.seconds = 0.5;
    return record;
}

const std::string clear_to_end = "\x1b[K";

}  // namespace

TEST_CASE("progress: durations are h:mm:ss, rounded to the second", "[progress]") {
    CHECK(nabla::format_duration(0) == "0:00:00");
    CHECK(nabla::format_duration(7.4) == "0:00:07");
    CHECK(nabla::format_duration(59.4) == "0:00:59");
    CHECK(nabla::format_duration(59.6) == "0:01:00");
    CHECK(nabla::format_duration(61) == "0:01:01");
    CHECK(nabla::format_duration(3599) == "0:59:59");
    CHECK(nabla::format_duration(3725.2) == "1:02:05");  // 1 h, 2 min, 5 s
    CHECK(nabla::format_duration(36000) == "10:00:00");
    CHECK(nabla::format_duration(360000 + 59) == "100:00:59");  // hours do not wrap
    CHECK(nabla::format_duration(-1) == "-:--:--");
    CHECK(nabla::format_duration(std::numeric_limits<double>::quiet_NaN()) == "-:--:--");
    CHECK(nabla::format_duration(std::numeric_limits<double>::infinity()) == "-:--:--");
}

TEST_CASE("progress: rates have three significant digits and an SI prefix", "[progress]") {
    CHECK(nabla::format_rate(0.5) == "0.50 samples/s");
    CHECK(nabla::format_rate(7.25) == "7.25 samples/s");
    CHECK(nabla::format_rate(9.996) == "10.0 samples/s");  // rounding moves to the next decade
    CHECK(nabla::format_rate(42.04) == "42.0 samples/s");
    CHECK(nabla::format_rate(512) == "512 samples/s");
    CHECK(nabla::format_rate(999.7) == "1.00k samples/s");
    CHECK(nabla::format_rate(1234) == "1.23k samples/s");
    CHECK(nabla::format_rate(12345) == "12.3k samples/s");
    CHECK(nabla::format_rate(123456) == "123k samples/s");
    CHECK(nabla::format_rate(2.5e6) == "2.50M samples/s");
    CHECK(nabla::format_rate(3.21e9) == "3.21G samples/s");
    CHECK(nabla::format_rate(-1) == "- samples/s");
    CHECK(nabla::format_rate(std::numeric_limits<double>::infinity()) == "- samples/s");
}

TEST_CASE("progress: the epoch summary shows the fields the record has", "[progress]") {
    nabla::EpochRecord record = make_record(3, 0.4123456);
    record.accuracy = 0.91234;
    record.val_loss = 0.5;
    record.val_accuracy = 0.875;
    record.learning_rate = 0.1;
    record.seconds = 1.234;
    CHECK(nabla::epoch_summary(record, 20) ==
          "epoch 3/20  loss 0.412346  accuracy 0.9123  val_loss 0.5  val_accuracy 0.8750  "
          "lr 0.1  1.23 s");

    nabla::EpochRecord plain = make_record(1, 2);
    plain.learning_rate = 0.001;
    CHECK(nabla::epoch_summary(plain, 2) == "epoch 1/2  loss 2  lr 0.001  0.50 s");
    plain.seconds = 3725.2;
    CHECK(nabla::epoch_summary(plain, 2) == "epoch 1/2  loss 2  lr 0.001  1:02:05");

    // Gradient norms on request, layer 1 first, 4 significant digits.
    const auto storage = std::make_shared<std::vector<nabla::LayerGradientNorms>>(
        std::vector<nabla::LayerGradientNorms>{{9, 9}, {0.77352, 0.420241}, {0.0006775, 25}});
    plain.gradient_norms = nabla::GradientNorms(storage, 1, 2);  // the second epoch of two
    plain.seconds = 0.5;
    CHECK(nabla::epoch_summary(plain, 2) == "epoch 1/2  loss 2  lr 0.001  0.50 s");
    CHECK(nabla::epoch_summary(plain, 2, true) ==
          "epoch 1/2  loss 2  lr 0.001  0.50 s  |delta| 0.7735 0.0006775  |dC/dW| 0.4202 25");
}

TEST_CASE("progress: lines mode writes one plain line per epoch", "[progress]") {
    std::ostringstream out;
    nabla::ProgressOptions options;
    options.mode = ProgressMode::lines;
    options.stream = &out;
    options.redraw_interval = 0;  // would redraw every batch; lines mode never redraws
    {
        nabla::Progress progress(options, 2, 3, 30);
        CHECK(progress.mode() == ProgressMode::lines);
        for (int epoch = 1; epoch <= 2; ++epoch) {
            const std::string before = out.str();
            progress.start_epoch(epoch);
            for (int b = 1; b <= 3; ++b) progress.batch_done(b, 10 * b, 1.0 / b);
            CHECK(out.str() == before);  // batches write nothing in lines mode
            progress.end_epoch(make_record(epoch, 0.25 * epoch));
        }
    }
    CHECK(out.str() == "epoch 1/2  loss 0.25  lr 0.05  0.50 s\n"
                       "epoch 2/2  loss 0.5  lr 0.05  0.50 s\n");
}

TEST_CASE("progress: redraw mode writes updates separated by carriage returns, each epoch ended by a newline",
          "[progress]") {
    std::ostringstream out;
    nabla::ProgressOptions options;
    options.mode = ProgressMode::redraw;
    options.stream = &out;
    options.redraw_interval = 0;  // every batch redraws
    {
        nabla::Progress progress(options, 2, 3, 30);
        for (int epoch = 1; epoch <= 2; ++epoch) {
            progress.start_epoch(epoch);
            for (int b = 1; b <= 3; ++b) progress.batch_done(b, 10 * b, 0.5 / b);
            progress.end_epoch(make_record(epoch, 0.125));
        }
    }
    const std::string text = out.str();
    const std::vector<std::string> lines = split(text, '\n');
    REQUIRE(lines.size() == 3);  // two epochs, each ended by '\n', nothing after
    CHECK(lines[2].empty());
    for (int epoch = 1; epoch <= 2; ++epoch) {
        const std::string& line = lines[std::size_t(epoch - 1)];
        CAPTURE(line);
        // "\r" before each of 3 updates and the summary: 4 pieces after an empty head.
        const std::vector<std::string> updates = split(line, '\r');
        REQUIRE(updates.size() == 5);
        CHECK(updates[0].empty());
        for (int b = 1; b <= 3; ++b) {
            const std::string& update = updates[std::size_t(b)];
            const std::string head = "epoch " + std::to_string(epoch) + "/2  batch " +
                                     std::to_string(b) + "/3  loss ";
            CHECK(update.rfind(head, 0) == 0);
            // 0.5, 0.25, 0.1667: 4 significant digits, within half a unit of the last one
            CHECK(std::abs(number_after(update, "loss") - 0.5 / b) <= 0.5e-4);
            CHECK(contains(update, "samples/s  ETA "));
            CHECK(update.size() > clear_to_end.size());
            CHECK(update.substr(update.size() - clear_to_end.size()) == clear_to_end);
        }
        CHECK(updates[4] == "epoch " + std::to_string(epoch) + "/2  loss 0.125  lr 0.05  0.50 s" +
                                clear_to_end);
    }

    // A long interval: only the run's first batch redraws; summaries are always written.
    std::ostringstream slow;
    options.stream = &slow;
    options.redraw_interval = 1e6;
    {
        nabla::Progress progress(options, 2, 3, 30);
        for (int epoch = 1; epoch <= 2; ++epoch) {
            progress.start_epoch(epoch);
            for (int b = 1; b <= 3; ++b) progress.batch_done(b, 10 * b, 0.5);
            progress.end_epoch(make_record(epoch, 0.5));
        }
    }
    CHECK(count_of(slow.str(), '\r') == 3);
    CHECK(count_of(slow.str(), '\n') == 2);
    CHECK(slow.str().rfind("\repoch 1/2  batch 1/3  loss 0.5  ", 0) == 0);

    // An epoch cut short (an exception in fit) still ends its line when the display goes.
    std::ostringstream cut;
    options.stream = &cut;
    options.redraw_interval = 0;
    {
        nabla::Progress progress(options, 2, 3, 30);
        progress.start_epoch(1);
        progress.batch_done(1, 10, 0.5);
    }
    CHECK(count_of(cut.str(), '\r') == 1);
    CHECK(cut.str().back() == '\n');
}

TEST_CASE("progress: silent writes nothing, and automatic picks lines off a terminal",
          "[progress]") {
    std::ostringstream out;
    nabla::ProgressOptions options;
    options.mode = ProgressMode::silent;
    options.stream = &out;
    options.redraw_interval = 0;
    {
        nabla::Progress progress(options, 1, 2, 20);
        CHECK(progress.mode() == ProgressMode::silent);
        progress.start_epoch(1);
        progress.batch_done(1, 10, 0.5);
        progress.batch_done(2, 20, 0.4);
        progress.end_epoch(make_record(1, 0.4));
    }
    CHECK(out.str().empty());

    options.mode = ProgressMode::automatic;  // a string stream is never a terminal
    nabla::Progress automatic(options, 1, 2, 20);
    CHECK(automatic.mode() == ProgressMode::lines);
}

TEST_CASE("progress: bad options throw ConfigError naming the option", "[progress]") {
    std::ostringstream out;
    nabla::ProgressOptions options;
    options.stream = &out;
    options.redraw_interval = -0.5;
    const std::string negative = nabla_test::message_of<nabla::ConfigError>([&] {
        nabla::Progress progress(options, 1, 1, 1);
    });
    CHECK(contains(negative, "redraw_interval"));
    CHECK(contains(negative, "-0.5"));
    options.redraw_interval = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_AS(nabla::Progress(options, 1, 1, 1), nabla::ConfigError);
    options.redraw_interval = 0.1;
    options.mode = static_cast<ProgressMode>(17);
    CHECK(contains(nabla_test::message_of<nabla::ConfigError>([&] {
                       nabla::Progress progress(options, 1, 1, 1);
                   }),
                   "mode 17"));
}

namespace {

using Net = nabla::DynamicNetwork<double, nabla::CrossEntropy>;

/// 40 samples of 4 inputs in 3 classes; 10 more for validation.
void classification_data(Matrix& x, Matrix& y, Matrix& x_val, Matrix& y_val) {
    x = random_matrix<Matrix>(4, 50, 21);
    y = Matrix::Zero(3, 50);
    for (Eigen::Index k = 0; k < 50; ++k) y(k % 3, k) = 1;
    x_val = x.rightCols(10);
    y_val = y.rightCols(10);
    x.conservativeResize(4, 40);
    y.conservativeResize(3, 40);
}

}  // namespace

TEST_CASE("progress: fit in lines mode writes each epoch's numbers on a line", "[progress]") {
    Matrix x, y, x_val, y_val;
    classification_data(x, y, x_val, y_val);
    Net net({4, 6, 3}, {nabla::Tanh{}, nabla::Softmax{}}, 3);
    nabla::Sgd sgd(0.1);
    std::ostringstream out;
    nabla::FitOptions options;
    options.epochs = 4;
    options.batch_size = 16;
    options.progress.mode = ProgressMode::lines;
    options.progress.stream = &out;
    options.progress.gradient_norms = true;
    const nabla::History history = nabla::fit(net, sgd, x, y, x_val, y_val, options);
    REQUIRE(history.size() == 4);

    const std::vector<std::string> lines = split(out.str(), '\n');
    REQUIRE(lines.size() == 5);
    CHECK(lines[4].empty());
    CHECK(count_of(out.str(), '\r') == 0);
    for (std::size_t e = 0; e < 4; ++e) {
        const std::string& line = lines[e];
        const nabla::EpochRecord& record = history.epochs[e];
        CAPTURE(line);
        CHECK(line.rfind("epoch " + std::to_string(e + 1) + "/4  loss ", 0) == 0);
        // 6 significant digits for losses, 4 decimals for accuracies.
        CHECK(std::abs(number_after(line, "loss") - record.loss) <= 1e-5 * record.loss);
        CHECK(std::abs(number_after(line, "accuracy") - *record.accuracy) <= 0.5e-4);
        CHECK(std::abs(number_after(line, "val_loss") - *record.val_loss) <=
              1e-5 * *record.val_loss);
        CHECK(std::abs(number_after(line, "val_accuracy") - *record.val_accuracy) <= 0.5e-4);
        CHECK(number_after(line, "lr") == 0.1);
        CHECK(contains(line, " s  |delta| "));
        // The first layer's norms, 4 significant digits.
        const double delta = record.gradient_norms[0].delta;
        const double weights = record.gradient_norms[0].weight_gradient;
        CHECK(std::abs(number_after(line, "|delta|") - delta) <= 1e-3 * delta);
        CHECK(std::abs(number_after(line, "|dC/dW|") - weights) <= 1e-3 * weights);
    }
}

TEST_CASE("progress: fit in redraw mode redraws batches and ends each epoch with a newline",
          "[progress]") {
    Matrix x, y, x_val, y_val;
    classification_data(x, y, x_val, y_val);
    Net net({4, 6, 3}, {nabla::Tanh{}, nabla::Softmax{}}, 3);
    nabla::Sgd sgd(0.1);
    std::ostringstream out;
    nabla::FitOptions options;
    options.epochs = 3;
    options.batch_size = 16;  // 40 samples: batches of 16, 16 and 8
    options.progress.mode = ProgressMode::redraw;
    options.progress.stream = &out;
    options.progress.redraw_interval = 0;
    const nabla::History history = nabla::fit(net, sgd, x, y, options);

    const std::vector<std::string> lines = split(out.str(), '\n');
    REQUIRE(lines.size() == 4);
    for (std::size_t e = 0; e < 3; ++e) {
        const std::vector<std::string> updates = split(lines[e], '\r');
        REQUIRE(updates.size() == 5);  // 3 batches and the summary
        const std::string epoch = "epoch " + std::to_string(e + 1) + "/3";
        CHECK(updates[1].rfind(epoch + "  batch 1/3  loss ", 0) == 0);
        CHECK(updates[3].rfind(epoch + "  batch 3/3  loss ", 0) == 0);
        // After the last batch the running loss is the epoch's loss (4 digits shown).
        const double running = number_after(updates[3], "loss");
        CHECK(std::abs(running - history.epochs[e].loss) <= 1e-3 * history.epochs[e].loss);
        CHECK(updates[4].rfind(epoch + "  loss ", 0) == 0);
    }

    // Silent: nothing at all.
    std::ostringstream quiet;
    options.progress.mode = ProgressMode::silent;
    options.progress.stream = &quiet;
    nabla::fit(net, sgd, x, y, options);
    CHECK(quiet.str().empty());
}

}  // namespace test_progress
