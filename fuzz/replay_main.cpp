// Runs a fuzz target without libFuzzer: LLVMFuzzerTestOneInput on every file of the directories
// (and on the files) named on the command line, directories in name order. ctest runs each target
// this way on fuzz/corpus/<target>/ and fuzz/regressions/<target>/, so that every input that once
// crashed stays a test. A path that does not exist is skipped (a target may have no regressions
// yet); replaying no input at all fails.
//
//     build/fuzz/fuzz_csv_replay fuzz/corpus/csv fuzz/regressions/csv
//     build/fuzz/fuzz_csv_replay crash-0123abcd        # one input, e.g. from a libFuzzer run

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

/// The bytes of the file at `path`.
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        std::exit(2);
    }
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in),
                                     std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
    namespace fs = std::filesystem;
    std::size_t replayed = 0;
    for (int i = 1; i < argc; ++i) {
        const fs::path path = argv[i];
        std::vector<fs::path> files;
        if (fs::is_directory(path)) {
            for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
                if (entry.is_regular_file()) files.push_back(entry.path());
            }
            std::sort(files.begin(), files.end());
        } else if (fs::exists(path)) {
            files.push_back(path);
        } else {
            std::printf("replay: %s does not exist, skipped\n", path.c_str());
        }
        for (const fs::path& file : files) {
            // Named before it runs, so that the input of a crash is the last name printed.
            std::fprintf(stderr, "replay: %s\n", file.c_str());
            const std::vector<std::uint8_t> bytes = read_bytes(file);
            // A buffer of exactly the input's size, as libFuzzer gives, so that AddressSanitizer
            // sees a read past its end; new[] never gives a null pointer, even for 0 bytes.
            const std::unique_ptr<std::uint8_t[]> input(new std::uint8_t[bytes.size()]);
            std::copy(bytes.begin(), bytes.end(), input.get());
            LLVMFuzzerTestOneInput(input.get(), bytes.size());
            ++replayed;
        }
    }
    std::printf("replay: %zu inputs, no finding\n", replayed);
    if (replayed == 0) {
        std::fprintf(stderr, "replay: no input found: give corpus directories or files\n");
        return 1;
    }
    return 0;
}
