#pragma once

#include <nabla/detail/format.hpp>
#include <nabla/error.hpp>
#include <nabla/io/detail/byte_source.hpp>

#include <Eigen/Core>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <iomanip>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace nabla {

/// Whether the first row of a CSV file holds column names.
enum class CsvHeader {
    /// A header when no cell of the first row is a number and at least one is not empty, so
    /// that a row of data with one bad or empty cell is never taken for names (it is an error).
    automatic,
    yes,        ///< The first row holds column names.
    no,         ///< Every row holds numbers.
};

/// One column of a CSV file: by zero-based index, by its name in the header, or the last one.
/// A default CsvColumn chooses no column.
///
///     options.label = nabla::CsvColumn::named("species");
///     options.label = nabla::CsvColumn::index(0);   // the first column (messages say "column 1")
class CsvColumn {
public:
    /// No column.
    CsvColumn() = default;

    /// The column at zero-based `index`; ConfigError when it is negative.
    static CsvColumn index(Eigen::Index index) {
        if (index < 0) {
            throw ConfigError(
                detail::cat("CsvColumn::index: a column index is 0 or more, got ", index));
        }
        CsvColumn column;
        column.m_kind = Kind::index;
        column.m_index = index;
        return column;
    }

    /// The column whose header cell is `name` (compared after trimming spaces and quotes).
    static CsvColumn named(std::string name) {
        CsvColumn column;
        column.m_kind = Kind::named;
        column.m_name = std::move(name);
        return column;
    }

    /// The last column, wherever it is.
    static CsvColumn last() {
        CsvColumn column;
        column.m_kind = Kind::last;
        return column;
    }

    /// True unless default-constructed.
    bool chosen() const { return m_kind != Kind::none; }
    /// True when chosen by name.
    bool by_name() const { return m_kind == Kind::named; }
    /// True when chosen as the last column.
    bool is_last() const { return m_kind == Kind::last; }
    /// The zero-based index given to index(), or -1.
    Eigen::Index position() const { return m_kind == Kind::index ? m_index : -1; }
    /// The name given to named(), or "".
    const std::string& name() const { return m_name; }

private:
    enum class Kind { none, index, named, last };
    Kind m_kind = Kind::none;
    Eigen::Index m_index = -1;
    std::string m_name;
};

/// How read_csv reads a file.
struct CsvOptions {
    CsvHeader header = CsvHeader::automatic;  ///< Whether the first row holds names.
    char delimiter = ',';                     ///< Between cells; not a quote, space or line end.
    CsvColumn label;  ///< The label or target column; not chosen: every column is a feature.
    /// Keep only every row_stride-th row of data (after the header), from the row_offset-th
    /// (0-based): with row_offset = rank and row_stride = the rank count, each process of a
    /// distributed run reads its own rows (FitOptions::local_data) without knowing how many the
    /// file holds. The rows left out are split into cells and their cell count is checked, but
    /// their numbers are not read. 0 and 1: every row.
    Eigen::Index row_offset = 0;
    Eigen::Index row_stride = 1;  ///< See row_offset; at least 1.
};

/// A CSV file as numbers: features with one sample per column, and the label column if one was
/// chosen, as a row of numbers (a regression target) that labels() turns into class labels.
template <class Scalar = float>
struct CsvData {
    using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  ///< features × samples
    using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;            ///< 1 × samples

    Matrix features;     ///< features × samples: row i of the file is column i - (header) here.
    RowVector targets;   ///< 1 × samples: the label column; 1 × 0 when none was chosen.
    std::vector<std::string> feature_names;  ///< The header's names of the features, or empty.
    std::string target_name;                 ///< The header's name of the label column, or "".
    Eigen::Index target_column = -1;         ///< Zero-based column of the labels, -1 for none.
    std::vector<std::size_t> lines;          ///< The line (from 1) each sample was read from.
    std::string source;                      ///< The file name, for messages.

    /// Number of samples (rows of data in the file).
    Eigen::Index samples() const { return features.cols(); }
    /// True when a label column was chosen.
    bool has_targets() const { return target_column >= 0; }

    /// The label column as class labels. Each value must be a whole number that fits an int;
    /// with classes > 0 it must also lie in [0, classes). Throws FileError naming the file, line
    /// and column of the first value that is not; ConfigError when no label column was chosen
    /// or classes is negative.
    std::vector<int> labels(int classes = 0) const {
        if (!has_targets()) {
            throw ConfigError(detail::cat(source, ": no label column was chosen (set "
                                                  "CsvOptions::label)"));
        }
        if (classes < 0) {
            throw ConfigError(detail::cat("CsvData::labels: classes must be 0 (any) or more, got ",
                                          classes));
        }
        std::vector<int> result(static_cast<std::size_t>(targets.size()));
        for (Eigen::Index k = 0; k < targets.size(); ++k) {
            const double value = double(targets(k));
            const auto where = [&] {
                return detail::cat(source, ": line ", lines[std::size_t(k)], ", column ",
                                   target_column + 1, ": label ",
                                   std::setprecision(std::numeric_limits<Scalar>::max_digits10),
                                   value);
            };
            if (!(value == std::floor(value) && value >= std::numeric_limits<int>::min() &&
                  value <= std::numeric_limits<int>::max())) {
                throw FileError(where() + " is not a whole number that fits an int");
            }
            const int label = static_cast<int>(value);
            if (classes > 0 && (label < 0 || label >= classes)) {
                throw FileError(detail::cat(where(), " is out of range for ", classes,
                                            " classes (0 to ", classes - 1, ")"));
            }
            result[std::size_t(k)] = label;
        }
        return result;
    }
};

namespace detail {

/// Spaces and tabs around a cell are not part of it, unless the tab is the delimiter.
inline bool csv_blank(char c, char delimiter) { return (c == ' ' || c == '\t') && c != delimiter; }

/// A cell as shown in a message: in quotes, control characters as '?', long cells shortened.
inline std::string csv_quote(std::string_view cell) {
    std::string shown = "\"";
    for (std::size_t i = 0; i < cell.size() && i < 40; ++i) {
        const unsigned char c = static_cast<unsigned char>(cell[i]);
        shown += c < 0x20 || c == 0x7f ? '?' : cell[i];
    }
    return shown + (cell.size() > 40 ? "...\"" : "\"");
}

/// Splits one line (without its line end) into `cells`, reusing their storage. Cells are
/// trimmed of spaces and tabs; a cell in double quotes may hold the delimiter, and "" in it
/// stands for one quote. Quoted cells do not span lines.
inline void split_csv_line(std::string_view line, char delimiter, std::vector<std::string>& cells,
                           const std::string& source, std::size_t line_number) {
    std::size_t count = 0;
    std::size_t pos = 0;
    for (;;) {
        if (cells.size() <= count) cells.emplace_back();
        std::string& cell = cells[count++];
        cell.clear();
        while (pos < line.size() && csv_blank(line[pos], delimiter)) ++pos;
        if (pos < line.size() && line[pos] == '"') {
            const std::size_t open = pos++;
            for (;;) {
                if (pos == line.size()) {
                    throw FileError(cat(source, ": line ", line_number, ", column ", count,
                                        ": the quote opened at character ", open + 1,
                                        " is not closed on this line"));
                }
                if (line[pos] == '"') {
                    if (pos + 1 < line.size() && line[pos + 1] == '"') {
                        cell += '"';
                        pos += 2;
                        continue;
                    }
                    ++pos;
                    break;
                }
                cell += line[pos++];
            }
            while (pos < line.size() && csv_blank(line[pos], delimiter)) ++pos;
            if (pos < line.size() && line[pos] != delimiter) {
                throw FileError(cat(source, ": line ", line_number, ", column ", count,
                                    ": text after the closing quote, at character ", pos + 1));
            }
        } else {
            const std::size_t start = pos;
            while (pos < line.size() && line[pos] != delimiter) ++pos;
            std::size_t end = pos;
            while (end > start && csv_blank(line[end - 1], delimiter)) --end;
            cell.assign(line.data() + start, end - start);
        }
        if (pos == line.size()) break;
        ++pos;  // the delimiter; one right at the end leaves an empty last cell
    }
    cells.resize(count);
}

/// Why a cell is not a number, or ok.
enum class CsvNumber { ok, empty, not_a_number, out_of_range, not_finite };

/// Parses a whole cell as a number, independent of the locale. A leading '+' is allowed;
/// nan and inf are refused, since a CSV "nan" is almost always a missing value.
inline CsvNumber parse_csv_number(std::string_view cell, double& value) {
    if (cell.empty()) return CsvNumber::empty;
    const char* first = cell.data();
    const char* last = cell.data() + cell.size();
    if (*first == '+' && cell.size() > 1 && first[1] != '-' && first[1] != '+') ++first;
    const std::from_chars_result result = std::from_chars(first, last, value);
    if (result.ptr != last) return CsvNumber::not_a_number;
    if (result.ec == std::errc::result_out_of_range) {
        // Too small for a double rounds to zero, as a float cell does when Scalar is float;
        // only too large is an error. A negative exponent tells the two apart.
        const std::size_t e = cell.find_last_of("eE");
        if (e == std::string_view::npos || e + 1 >= cell.size() || cell[e + 1] != '-') {
            return CsvNumber::out_of_range;
        }
        value = cell.find('-') < e ? -0.0 : 0.0;
        return CsvNumber::ok;
    }
    if (result.ec != std::errc()) return CsvNumber::not_a_number;
    return std::isfinite(value) ? CsvNumber::ok : CsvNumber::not_finite;
}

/// Where the label column is, given the first row; -1 for none.
inline Eigen::Index csv_label_column(const CsvOptions& options,
                                     const std::vector<std::string>& first_row, bool has_header,
                                     const std::string& source, std::size_t line_number) {
    const CsvColumn& label = options.label;
    const Eigen::Index columns = Eigen::Index(first_row.size());
    if (!label.chosen()) return -1;
    if (label.is_last()) return columns - 1;
    if (!label.by_name()) {
        if (label.position() >= columns) {
            throw FileError(cat(source, ": label column index ", label.position(),
                                " is out of range: line ", line_number, " has ", columns,
                                " columns (indices 0 to ", columns - 1, ")"));
        }
        return label.position();
    }
    if (!has_header) {
        throw FileError(cat(source, ": line ", line_number, ": the first row is all numbers, "
                            "so there is no header in which to find the label column \"",
                            label.name(), "\""));
    }
    Eigen::Index found = -1;
    for (Eigen::Index j = 0; j < columns; ++j) {
        if (first_row[std::size_t(j)] != label.name()) continue;
        if (found >= 0) {
            throw FileError(cat(source, ": line ", line_number, ": the label column \"",
                                label.name(), "\" is ambiguous: columns ", found + 1, " and ",
                                j + 1, " both have that name"));
        }
        found = j;
    }
    if (found < 0) {
        std::string names;
        for (const std::string& name : first_row) names += (names.empty() ? "" : ", ") + name;
        throw FileError(cat(source, ": line ", line_number, ": no column named \"",
                            label.name(), "\" in the header (columns: ", names, ")"));
    }
    return found;
}

}  // namespace detail

/// Parses CSV text (see read_csv); `source` names it in messages.
template <class Scalar = float>
CsvData<Scalar> parse_csv(std::string_view text, const CsvOptions& options = {},
                          const std::string& source = "CSV text") {
    const char delimiter = options.delimiter;
    if (delimiter == '"' || delimiter == '\n' || delimiter == '\r' || delimiter == ' ' ||
        delimiter == '\0') {
        throw ConfigError(detail::cat("read_csv: the delimiter cannot be a quote, a space, a line "
                                      "end or NUL, got character code ",
                                      int(static_cast<unsigned char>(delimiter))));
    }
    if (options.label.by_name() && options.header == CsvHeader::no) {
        throw ConfigError(detail::cat("read_csv: the label column is chosen by name (\"",
                                      options.label.name(), "\"), which needs a header, but "
                                      "the header option is CsvHeader::no"));
    }
    if (options.row_offset < 0 || options.row_stride < 1) {
        throw ConfigError(detail::cat("read_csv: row_offset must be at least 0 and row_stride at "
                                      "least 1, got ", options.row_offset, " and ",
                                      options.row_stride));
    }
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 byte order mark

    CsvData<Scalar> data;
    data.source = source;
    std::vector<std::string> cells;
    std::vector<std::string> names;
    std::vector<double> features;
    std::vector<double> targets;
    std::size_t columns = 0;
    std::size_t first_line = 0;
    Eigen::Index label = -1;

    std::size_t line_number = 0;
    Eigen::Index data_row = -1;  // the rows of data so far, less one
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::size_t blank = 0;
        while (blank < line.size() && (line[blank] == ' ' || line[blank] == '\t')) ++blank;
        if (blank == line.size()) continue;  // blank lines, trailing ones included, hold no row

        detail::split_csv_line(line, delimiter, cells, source, line_number);
        if (first_line == 0) {
            first_line = line_number;
            columns = cells.size();
            bool header = options.header == CsvHeader::yes;
            if (options.header == CsvHeader::automatic) {
                bool any_number = false;
                bool any_text = false;
                double ignored = 0;
                for (const std::string& cell : cells) {
                    const detail::CsvNumber parsed = detail::parse_csv_number(cell, ignored);
                    any_number = any_number || parsed == detail::CsvNumber::ok;
                    any_text = any_text || parsed != detail::CsvNumber::empty;
                }
                header = !any_number && any_text;
            }
            label = detail::csv_label_column(options, cells, header, source, line_number);
            if (header) {
                names = cells;
                for (std::size_t j = 0; j < columns; ++j) {
                    if (Eigen::Index(j) == label) {
                        data.target_name = names[j];
                    } else {
                        data.feature_names.push_back(names[j]);
                    }
                }
                continue;
            }
        }
        if (cells.size() != columns) {
            throw FileError(detail::cat(source, ": line ", line_number, " has ",
                                        detail::plural(Eigen::Index(cells.size()), "cell"),
                                        ", expected ", columns, " as on line ", first_line));
        }
        ++data_row;
        if (data_row < options.row_offset || (data_row - options.row_offset) % options.row_stride)
            continue;
        for (std::size_t j = 0; j < columns; ++j) {
            double value = 0;
            detail::CsvNumber parsed = detail::parse_csv_number(cells[j], value);
            // A double that Scalar cannot hold would silently become ±inf.
            if (parsed == detail::CsvNumber::ok &&
                std::abs(value) > double(std::numeric_limits<Scalar>::max())) {
                parsed = detail::CsvNumber::out_of_range;
            }
            if (parsed != detail::CsvNumber::ok) {
                const std::string why =
                    parsed == detail::CsvNumber::empty ? "the cell is empty"
                    : parsed == detail::CsvNumber::out_of_range
                        ? detail::cat("is out of range (the largest magnitude is ",
                                      double(std::numeric_limits<Scalar>::max()), ")")
                    : parsed == detail::CsvNumber::not_finite ? "is not a finite number"
                                                              : "is not a number";
                const bool maybe_header =
                    line_number == first_line && options.header == CsvHeader::automatic;
                throw FileError(detail::cat(
                    source, ": line ", line_number, ", column ", j + 1,
                    names.empty() ? std::string() : " (\"" + names[j] + "\")", ": ",
                    parsed == detail::CsvNumber::empty ? "" : detail::csv_quote(cells[j]) + " ",
                    why,
                    maybe_header ? " (the row also holds numbers, so it was read as data; if it "
                                   "is a header, set CsvOptions::header to CsvHeader::yes)"
                                 : ""));
            }
            (Eigen::Index(j) == label ? targets : features).push_back(value);
        }
        data.lines.push_back(line_number);
    }
    if (first_line == 0) throw FileError(detail::cat(source, ": the file is empty (no rows)"));

    const Eigen::Index samples = Eigen::Index(data.lines.size());
    const Eigen::Index feature_count = Eigen::Index(columns) - (label >= 0 ? 1 : 0);
    // Each row of the file was stored contiguously: column-major features × samples already.
    data.features = Eigen::Map<const Eigen::MatrixXd>(features.data(), feature_count, samples)
                        .template cast<Scalar>();
    data.target_column = label;
    if (label >= 0) {
        data.targets = Eigen::Map<const Eigen::RowVectorXd>(targets.data(), samples)
                           .template cast<Scalar>();
    }
    return data;
}

/// Reads a CSV file of numbers (plain or gzip) with one sample per row: `features` gets one
/// sample per column (features × samples), `targets` the label column if options.label chose
/// one (1 × samples; labels() gives class labels). Numbers are parsed without regard to the
/// locale. Line ends may be LF or CRLF; spaces around cells, blank lines and a UTF-8 byte order
/// mark are ignored; a cell in double quotes may hold the delimiter.
///
///     nabla::CsvOptions options;
///     options.label = nabla::CsvColumn::named("species");
///     nabla::CsvData<float> iris = nabla::read_csv("iris.csv", options);
///     Eigen::MatrixXf y = nabla::one_hot(iris.labels(3), 3);
///
/// Throws FileError naming the file, line and column (from 1) of a cell that is not a number
/// (quoted in the message), a row with another number of cells than the first (both counts),
/// an unknown or ambiguous label column name, a label index past the last column, an empty or
/// unreadable file, a NUL byte (a binary file, /dev/zero), more than 1 GiB from a pipe or a gzip
/// file; ConfigError for options that cannot work (a delimiter that is a quote,
/// space or line end; a label chosen by name with CsvHeader::no).
template <class Scalar = float>
CsvData<Scalar> read_csv(const std::string& path, const CsvOptions& options = {}) {
    detail::ByteSource in(path);
    const std::vector<unsigned char> bytes = in.read_rest(/*text=*/true);
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return parse_csv<Scalar>(text, options, path);
}

}  // namespace nabla
