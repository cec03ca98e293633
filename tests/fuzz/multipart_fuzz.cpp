// The image upload input (shared/src/images/upload_input.cpp): the
// multipart/form-data reader and the raw-or-multipart selection.
//
// Input layout (FuzzedDataProvider): a Content-Type, then the body.
//
// Properties: the only exception is bazaar::Error with a 4xx body; every
// part's data lies inside the body; an accepted upload's bytes lie inside the
// body, start with the magic of the format returned, and, when the
// Content-Type declared a format, are of that format.
#include <fuzzer/FuzzedDataProvider.h>

#include "bazaar/images/upload_input.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;
using namespace bazaar::images;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::string content_type = in.ConsumeRandomLengthString(200);
    std::string body = in.ConsumeRemainingBytesAsString();

    fuzz::accepts([&] {
        std::string boundary = multipart_boundary(content_type);
        for (const auto& p : parse_multipart(body, boundary))
            FUZZ_CHECK(inside(p.data, body), "part data outside the body");
    });
    fuzz::accepts([&] {
        Upload up = select_upload(content_type, body);
        FUZZ_CHECK(inside(up.bytes, body), "upload bytes outside the body");
        FUZZ_CHECK(sniff(up.bytes) == up.format, "format disagrees with the magic bytes");
        auto declared = declared_format(content_type);
        if (declared) FUZZ_CHECK(*declared == up.format, "declared type not enforced");
    });
    return 0;
}
