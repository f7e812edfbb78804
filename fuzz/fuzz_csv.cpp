// Fuzz target: CSV text through parse_csv, and through read_csv and a file for one option set in
// eight. The first byte chooses the options, the rest is the text:
//
//   bits 0-1  header: automatic, yes, no, automatic
//   bits 2-3  delimiter: ',' ';' tab '|'
//   bits 4-6  label column: none, index 0, index 1, index 3, the last, named "label", named "y",
//             none and read_csv from a file besides parse_csv
//   bit 7     scalar: float or double
//
// io/csv.hpp promises FileError naming the source for every fault of the text, ConfigError only
// for options that cannot work (here: a label chosen by name without a header); what it reads is
// finite, one sample per row of data, and read_csv reads a text file as parse_csv reads its text.

#include "fuzz_support.hpp"

#include <nabla/io/csv.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nabla_fuzz::require;

/// The options the first byte chooses.
nabla::CsvOptions options_of(std::uint8_t choice) {
    static constexpr nabla::CsvHeader headers[] = {nabla::CsvHeader::automatic, nabla::CsvHeader::yes,
                                                   nabla::CsvHeader::no, nabla::CsvHeader::automatic};
    static constexpr char delimiters[] = {',', ';', '\t', '|'};
    nabla::CsvOptions options;
    options.header = headers[choice & 3];
    options.delimiter = delimiters[(choice >> 2) & 3];
    switch ((choice >> 4) & 7) {
        case 1: options.label = nabla::CsvColumn::index(0); break;
        case 2: options.label = nabla::CsvColumn::index(1); break;
        case 3: options.label = nabla::CsvColumn::index(3); break;
        case 4: options.label = nabla::CsvColumn::last(); break;
        case 5: options.label = nabla::CsvColumn::named("label"); break;
        case 6: options.label = nabla::CsvColumn::named("y"); break;
        default: break;
    }
    return options;
}

/// What read_csv and parse_csv promise of what they read.
template <class Scalar>
void check(const nabla::CsvData<Scalar>& data, const nabla::CsvOptions& options) {
    const Eigen::Index samples = data.samples();
    require(std::size_t(samples) == data.lines.size(), "a sample count other than the line count");
    for (std::size_t k = 0; k < data.lines.size(); ++k) {
        require(data.lines[k] >= 1 && (k == 0 || data.lines[k] > data.lines[k - 1]),
                "sample lines not increasing");
    }
    require(data.has_targets() == options.label.chosen(), "a label column chosen but none read");
    require(data.feature_names.empty() || Eigen::Index(data.feature_names.size()) ==
                                              data.features.rows(),
            "feature names other in number than the features");
    require(data.features.allFinite(), "a feature that is not finite");
    if (!data.has_targets()) {
        require(data.targets.size() == 0, "targets without a label column");
        return;
    }
    require(data.targets.cols() == samples && data.targets.allFinite(),
            "targets not one finite value per sample");
    std::vector<int> labels;
    if (nabla_fuzz::run(nabla_fuzz::file_errors(data.source), "CsvData::labels(3)", [&] { labels = data.labels(3); })) {
        require(Eigen::Index(labels.size()) == samples, "a label count other than the samples");
        for (const int label : labels) require(label >= 0 && label < 3, "a label out of range");
    }
}

/// Both read the same data.
template <class Scalar>
bool same(const nabla::CsvData<Scalar>& x, const nabla::CsvData<Scalar>& y) {
    return x.features == y.features && x.targets == y.targets && x.lines == y.lines &&
           x.feature_names == y.feature_names && x.target_name == y.target_name &&
           x.target_column == y.target_column;
}

template <class Scalar>
void fuzz_csv(std::string_view text, const nabla::CsvOptions& options, bool through_file) {
    const bool refused_options =
        options.label.by_name() && options.header == nabla::CsvHeader::no;
    const nabla_fuzz::Expected expected =
        refused_options ? nabla_fuzz::Expected{false, true, "nabla: read_csv: "}
                        : nabla_fuzz::file_errors("CSV text");
    nabla::CsvData<Scalar> data;
    const bool parsed =
        nabla_fuzz::run(expected, "parse_csv", [&] { data = nabla::parse_csv<Scalar>(text, options); });
    if (refused_options) require(!parsed, "a label chosen by name with CsvHeader::no is accepted");
    if (parsed) check(data, options);
    if (!through_file) return;

    static nabla_fuzz::TempFile file("csv");
    file.write(text.data(), text.size());
    nabla::CsvData<Scalar> read;
    nabla_fuzz::Expected from_file = expected;
    if (!refused_options) from_file.prefix = "nabla: " + file.path();
    const bool was_read =
        nabla_fuzz::run(from_file, "read_csv", [&] { read = nabla::read_csv<Scalar>(file.path(), options); });
    if (was_read) check(read, options);
    // A file that starts with 1f 8b is read as gzip: its text is not what read_csv parses. A
    // NUL byte makes read_csv refuse the file as binary, where parse_csv takes it as a character.
    const bool gzip = text.size() >= 2 && text[0] == '\x1f' && text[1] == '\x8b';
    const bool nul = text.find('\0') != std::string_view::npos;
    if (!gzip && !nul) {
        require(was_read == parsed, "read_csv and parse_csv disagree on whether the text is valid");
        require(!parsed || same(data, read), "read_csv and parse_csv read other data");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t choice = data[0];
    const nabla::CsvOptions options = options_of(choice);
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const bool through_file = ((choice >> 4) & 7) == 7;
    if (choice & 0x80) {
        fuzz_csv<double>(text, options, through_file);
    } else {
        fuzz_csv<float>(text, options, through_file);
    }
    return 0;
}
