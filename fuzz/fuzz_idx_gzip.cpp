// Fuzz target: IDX files through gzip. The input is compressed (gzip format, zlib) before it is
// written, so that mutations of the IDX bytes reach the parser through zlib and the gzip reading
// of detail::ByteSource; an input that already starts with the gzip magic 1f 8b goes in as it is,
// so that broken, truncated and oversized gzip streams are searched too. See idx_target.cpp.

#include "fuzz_support.hpp"
#include "targets.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>
#include <zlib.h>

namespace {

/// `size` bytes at `data` compressed in gzip format into `out`.
void gzip(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& out) {
    z_stream stream{};
    // 15 + 16: a 32 KiB window with a gzip header and trailer instead of zlib's.
    if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        nabla_fuzz::fail("deflateInit2 failed");
    }
    out.resize(deflateBound(&stream, uLong(size)));
    static const std::uint8_t empty = 0;
    stream.next_in = const_cast<Bytef*>(size ? data : &empty);
    stream.avail_in = uInt(size);
    stream.next_out = out.data();
    stream.avail_out = uInt(out.size());
    const int status = deflate(&stream, Z_FINISH);
    out.resize(stream.total_out);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) nabla_fuzz::fail("deflate did not finish in deflateBound bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static nabla_fuzz::TempFile file("idx-gzip");
    static std::vector<std::uint8_t> compressed;
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        file.write(data, size);
    } else {
        gzip(data, size, compressed);
        file.write(compressed.data(), compressed.size());
    }
    nabla_fuzz::fuzz_idx_file(file.path());
    return 0;
}
