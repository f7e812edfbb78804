#pragma once

// The progress display of fit(). On a terminal one line is redrawn in place while an epoch
// trains, at most about ten times a second:
//
//     epoch 3/20  batch 17/94  loss 0.4123  3.41k samples/s  ETA 0:00:05
//
// (the loss is the mean so far over the epoch's samples, the ETA the time left in this epoch at
// the epoch's rate so far) and replaced at the epoch's end by its summary, which stays:
//
//     epoch 3/20  loss 0.412345  accuracy 0.9133  val_loss 0.431234  val_accuracy 0.9000  ...
//
// Anywhere else (a file, a pipe, a CI log) only the summaries are written, one plain line per
// epoch. Text is formatted only when it is written: between redraws a batch costs one clock
// read, and a silent or line display does nothing per batch at all.

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/history.hpp>

#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <locale>
#include <ostream>
#include <sstream>
#include <string>

#if __has_include(<unistd.h>)
#include <unistd.h>
#elif defined(_WIN32) && __has_include(<io.h>)
#include <io.h>
#endif

namespace nabla {

/// How fit() shows its progress.
enum class ProgressMode {
    automatic,  ///< redraw when the stream is a terminal, lines otherwise.
    redraw,     ///< One line redrawn in place (`\r`, then clear to the end of the line).
    lines,      ///< One plain line per epoch, for logs and pipes.
    silent,     ///< Nothing.
};

/// Where and how fit() shows its progress.
struct ProgressOptions {
    ProgressMode mode = ProgressMode::automatic;  ///< See ProgressMode.
    /// The stream to write to; nullptr means std::cerr. Must outlive the fit() call.
    std::ostream* stream = nullptr;
    /// The least time between two redraws, in seconds (0: redraw after every batch).
    double redraw_interval = 0.1;
    /// Add each layer's gradient norms to the epoch summaries (see epoch_summary()), to watch
    /// gradients vanish or explode while training runs.
    bool gradient_norms = false;
};

namespace detail {

/// True when `out` is std::cout, std::cerr or std::clog and the file behind it is a terminal;
/// false for every other stream, and where the platform cannot tell.
inline bool is_terminal(const std::ostream& out) {
#if __has_include(<unistd.h>)
    if (&out == &std::cerr || &out == &std::clog) return ::isatty(::fileno(stderr)) != 0;
    if (&out == &std::cout) return ::isatty(::fileno(stdout)) != 0;
#elif defined(_WIN32) && __has_include(<io.h>)
    if (&out == &std::cerr || &out == &std::clog) return ::_isatty(::_fileno(stderr)) != 0;
    if (&out == &std::cout) return ::_isatty(::_fileno(stdout)) != 0;
#endif
    (void)out;
    return false;
}

/// A string stream in the classic locale, so a progress line never depends on the user's.
inline std::ostringstream classic_stream() {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    return out;
}

}  // namespace detail

/// A duration as h:mm:ss, rounded to the second: 3725.2 → "1:02:05", 59.6 → "0:01:00"; hours
/// are not wrapped ("100:00:00"). A negative, non-finite or absurdly long duration (more than
/// 10⁹ hours), as an ETA before any rate is known, gives "-:--:--".
inline std::string format_duration(double seconds) {
    if (!(seconds >= 0 && seconds < 3.6e12)) return "-:--:--";
    const long long total = std::llround(seconds);
    const long long hours = total / 3600;
    const long long minutes = total / 60 % 60;
    const long long secs = total % 60;
    return detail::cat(hours, ":", minutes < 10 ? "0" : "", minutes, ":", secs < 10 ? "0" : "",
                       secs);
}

/// A rate as three significant digits with an SI prefix, then " samples/s": 512 → "512
/// samples/s", 1234 → "1.23k samples/s", 12345 → "12.3k samples/s", 999.7 → "1.00k samples/s",
/// 2.5e6 → "2.50M samples/s". Below 1 two decimals: 0.5 → "0.50 samples/s". Negative or
/// non-finite: "- samples/s".
inline std::string format_rate(double samples_per_second) {
    if (!(samples_per_second >= 0 && std::isfinite(samples_per_second))) return "- samples/s";
    static const char* const prefixes[] = {"", "k", "M", "G", "T", "P"};
    constexpr int last_prefix = 5;
    double value = samples_per_second;
    int prefix = 0;
    int decimals = 0;
    for (;;) {
        // Decide on the rounded value, so that 9.996 shows as 10.0 and 999.7 as 1.00k.
        decimals = value < 10 ? 2 : value < 100 ? 1 : 0;
        for (; decimals > 0; --decimals) {
            const double scale = decimals == 2 ? 100 : 10;
            const double limit = decimals == 2 ? 10 : 100;
            if (std::round(value * scale) / scale < limit) break;
        }
        if (std::round(value) < 1000 || prefix == last_prefix) break;
        value /= 1000;
        ++prefix;
    }
    std::ostringstream out = detail::classic_stream();
    out << std::fixed << std::setprecision(decimals) << value << prefixes[prefix] << " samples/s";
    return out.str();
}

/// The line that sums up one epoch of `epochs`, without a newline, e.g.
/// `epoch 3/20  loss 0.412345  accuracy 0.9133  val_loss 0.431234  val_accuracy 0.9000  lr 0.1
/// 1.23 s` (on one line). Losses and the learning rate with 6 significant digits, accuracies
/// with 4 decimals, only the fields the record has; the seconds with 2 decimals below a minute,
/// as h:mm:ss from a minute on. With `gradient_norms`, the LayerGradientNorms follow, layer 1
/// first, 4 significant digits: `  |delta| 0.7735 0.6775  |dC/dW| 0.4202 0.3148`.
inline std::string epoch_summary(const EpochRecord& record, int epochs,
                                 bool gradient_norms = false) {
    std::ostringstream out = detail::classic_stream();
    const auto fraction = [&](const char* name, double value) {
        out << "  " << name << ' ' << std::fixed << std::setprecision(4) << value
            << std::defaultfloat << std::setprecision(6);
    };
    out << "epoch " << record.epoch << '/' << epochs << std::setprecision(6);
    out << "  loss " << record.loss;
    if (record.accuracy) fraction("accuracy", *record.accuracy);
    if (record.val_loss) out << "  val_loss " << *record.val_loss;
    if (record.val_accuracy) fraction("val_accuracy", *record.val_accuracy);
    out << "  lr " << record.learning_rate << "  ";
    if (record.seconds < 60)
        out << std::fixed << std::setprecision(2) << record.seconds << " s";
    else
        out << format_duration(record.seconds);
    if (gradient_norms && !record.gradient_norms.empty()) {
        out << std::defaultfloat << std::setprecision(4) << "  |delta|";
        for (const LayerGradientNorms& layer : record.gradient_norms) out << ' ' << layer.delta;
        out << "  |dC/dW|";
        for (const LayerGradientNorms& layer : record.gradient_norms)
            out << ' ' << layer.weight_gradient;
    }
    return out.str();
}

/// The progress display of one fit() run over `epochs` epochs of `batches` batches and
/// `samples` samples each (see the top of progress.hpp for what it writes). fit() makes one;
/// it is public so that hand-written training loops can show the same line.
///
///     nabla::Progress progress({}, epochs, batches, samples);
///     progress.start_epoch(e);
///     ... progress.batch_done(b, samples_so_far, mean_loss_so_far);   // after each batch
///     progress.end_epoch(record);
class Progress {
public:
    /// The clock that times redraws and rates.
    using Clock = std::chrono::steady_clock;

    /// Resolves ProgressMode::automatic against the stream. Throws ConfigError naming the
    /// option for a redraw_interval that is negative or not finite, or a mode out of range.
    Progress(const ProgressOptions& options, int epochs, Eigen::Index batches,
             Eigen::Index samples)
        : m_out(options.stream != nullptr ? options.stream : &std::cerr),
          m_mode(options.mode),
          m_interval(options.redraw_interval),
          m_gradient_norms(options.gradient_norms),
          m_epochs(epochs),
          m_batches(batches),
          m_samples(samples) {
        if (!(std::isfinite(m_interval) && m_interval >= 0)) {
            throw ConfigError(detail::cat("progress: redraw_interval must be finite and 0 or "
                                          "more (seconds), got ",
                                          m_interval));
        }
        switch (m_mode) {
            case ProgressMode::automatic:
                m_mode = detail::is_terminal(*m_out) ? ProgressMode::redraw : ProgressMode::lines;
                break;
            case ProgressMode::redraw:
            case ProgressMode::lines:
            case ProgressMode::silent: break;
            default:
                throw ConfigError(detail::cat("progress: mode ", static_cast<int>(m_mode),
                                              " is not a ProgressMode"));
        }
    }

    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    /// Ends a redrawn line that an exception left open, so the error starts on a line of its own.
    ~Progress() {
        if (!m_line_open) return;
        try {
            m_out->put('\n');
            m_out->flush();
        } catch (...) {  // a stream set to throw must not end the program from a destructor
        }
    }

    /// The mode in effect: redraw, lines or silent (automatic has been resolved).
    ProgressMode mode() const { return m_mode; }

    /// Epoch `epoch` (from 1) begins.
    void start_epoch(int epoch) {
        m_epoch = epoch;
        if (m_mode == ProgressMode::redraw) m_epoch_start = Clock::now();
    }

    /// `batch` batches (from 1) and `samples_done` samples of the epoch are done, with a mean
    /// loss so far of `mean_loss`. Redraws when the last redraw is redraw_interval old.
    void batch_done(Eigen::Index batch, Eigen::Index samples_done, double mean_loss) {
        if (m_mode != ProgressMode::redraw) return;
        const Clock::time_point now = Clock::now();
        if (m_drawn && seconds_between(m_last_draw, now) < m_interval) return;
        m_drawn = true;
        m_last_draw = now;
        const double elapsed = seconds_between(m_epoch_start, now);
        const double rate = elapsed > 0 ? double(samples_done) / elapsed : -1;
        const double eta = rate > 0 ? double(m_samples - samples_done) / rate : -1;
        std::ostringstream line = detail::classic_stream();
        line << "\repoch " << m_epoch << '/' << m_epochs << "  batch " << batch << '/'
             << m_batches << "  loss " << std::setprecision(4) << mean_loss << "  "
             << format_rate(rate) << "  ETA " << format_duration(eta) << clear_to_end;
        write(line.str());
        m_line_open = true;
    }

    /// The epoch is over: writes its summary (see epoch_summary()) on a line of its own.
    void end_epoch(const EpochRecord& record) {
        if (m_mode == ProgressMode::silent) return;
        const std::string summary = epoch_summary(record, m_epochs, m_gradient_norms);
        if (m_mode == ProgressMode::redraw)
            write('\r' + summary + clear_to_end + '\n');
        else
            write(summary + '\n');
        m_line_open = false;
    }

private:
    static constexpr const char* clear_to_end = "\x1b[K";  // ANSI: erase to the end of the line

    static double seconds_between(Clock::time_point from, Clock::time_point to) {
        return std::chrono::duration<double>(to - from).count();
    }

    // One write per line, so a line reaches an unbuffered std::cerr whole.
    void write(const std::string& text) {
        m_out->write(text.data(), static_cast<std::streamsize>(text.size()));
        m_out->flush();
    }

    std::ostream* m_out;
    ProgressMode m_mode;
    double m_interval;
    bool m_gradient_norms;
    int m_epochs;
    Eigen::Index m_batches;
    Eigen::Index m_samples;
    int m_epoch = 0;
    Clock::time_point m_epoch_start{};
    Clock::time_point m_last_draw{};
    bool m_drawn = false;
    bool m_line_open = false;
};

}  // namespace nabla
