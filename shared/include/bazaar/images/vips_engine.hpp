// The libvips side of image handling, kept behind this header so that only
// its .cpp includes <vips/vips8>.
//
// Safety and memory rules, applied once per process by init():
//   - libvips is started once, its operation cache is off (a worker would
//     otherwise keep decoded images alive between jobs);
//   - every loader is blocked except JPEG, PNG and WebP
//     (vips_operation_block_set, 8.13+), and the untrusted ones too, so no
//     hostile file reaches magick, PDF, SVG, TIFF or matrix loaders even when
//     its bytes lie about its type;
//   - VIPS_CONCURRENCY is set from the config (1 by default: parallelism
//     comes from N image jobs, which scales better on small machines).
// Loading is sequential and fails on truncation; dimensions are checked from
// the header before any pixel is decoded (8.14 has no global pixel limit).
//
// libvips reports errors through a C API that vips-cpp turns into VError;
// every entry point here converts them into ImageError (or bazaar::Error
// for the upload probe) so that no libvips exception leaves this module.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bazaar/images/upload_input.hpp"

namespace bazaar::images {

// A corrupt or hostile image: the job marks the row failed with what().
class ImageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Idempotent and thread-safe; the first call's concurrency wins.
void init_vips(int concurrency);

struct Dimensions {
    int width = 0;
    int height = 0;
    std::int64_t pixels() const { return std::int64_t{width} * height; }
};

// Reads only the header of `bytes` with the loader of `format`. Throws
// Error(kUnsupportedMediaType) when the header does not parse.
Dimensions probe(std::string_view bytes, Format format);

// The dimensions in the header of the file `path`; throws ImageError when it
// cannot be read or its dimensions are outside `limits` (dimension_problem).
Dimensions probe_file(const std::string& path, const ImageLimits& limits);

struct VariantFiles {
    std::string thumbnail;  // 150x150 centre crop, JPEG
    std::string medium;     // fits in 600x600, progressive JPEG
    std::string webp;       // fits in 600x600, WebP
};

// Writes the three variants of the file `original` (each to a temporary
// name, then renamed, so a reader never sees half a file). Throws ImageError
// when the file is not a loadable JPEG/PNG/WebP, is truncated or corrupt, is
// outside `limits`, or when decoding and resizing take more than
// `timeout_ms` (0: no limit): the computation is then killed
// (vips_image_set_kill from the "eval" progress signal) and the image fails.
//
// Memory: nothing is ever made larger than needed. The 600 px variants
// shrink only (VIPS_SIZE_DOWN); the 150x150 crop scales the short side to
// 150, which enlarges an image whose short side is under 150 px, so it does
// so only while the long side stays within kMaxCropLongSide (a 20:1 image of
// any size: 3000x150), else it shrinks only. The 100000x1 PNG of issue 18
// used to become a 15,000,000x150 intermediate.
void make_variants(const std::string& original, const ImageLimits& limits, int timeout_ms,
                   const VariantFiles& out);
inline constexpr int kMaxCropLongSide = 3000;

// Bounds the pixels that the image jobs of one process decode at once: a job
// takes its image's pixel count (at most the whole budget) and waits while
// the others hold too much. Memory then stays bounded whatever the number of
// job threads.
class PixelBudget {
  public:
    explicit PixelBudget(std::int64_t budget) : budget_(budget) {}

    class Lease {
      public:
        Lease(PixelBudget& b, std::int64_t n) : b_(b), n_(b.acquire(n)) {}
        ~Lease() { b_.release(n_); }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;

      private:
        PixelBudget& b_;
        std::int64_t n_;
    };

  private:
    std::int64_t acquire(std::int64_t n);
    void release(std::int64_t n);

    std::mutex mu_;
    std::condition_variable cv_;
    std::int64_t budget_;
    std::int64_t used_ = 0;
};

}  // namespace bazaar::images
