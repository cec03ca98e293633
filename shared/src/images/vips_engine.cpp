// See bazaar/images/vips_engine.hpp.
#include "bazaar/images/vips_engine.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vips/vips8>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"

namespace bazaar::images {

namespace {

using vips::VError;
using vips::VImage;

constexpr int kThumb = 150;
constexpr int kMedium = 600;

// libvips messages may name the file; the reason is shown to admins through
// the API, which never shows server paths. First line, path removed, bounded.
std::string clean_reason(std::string msg, const std::string& path) {
    for (std::size_t at; !path.empty() && (at = msg.find(path)) != std::string::npos;)
        msg.replace(at, path.size(), "image");
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    if (msg.size() > 200) msg.resize(200);
    return msg.empty() ? "the image could not be decoded" : msg;
}

VImage flatten_for_jpeg(const VImage& img) {
    if (!img.has_alpha()) return img;
    return img.flatten(VImage::option()->set("background", std::vector<double>{255, 255, 255}));
}

void save_jpeg(const VImage& img, const std::string& path, bool progressive) {
    flatten_for_jpeg(img).jpegsave(path.c_str(), VImage::option()
                                                     ->set("Q", 82)
                                                     ->set("strip", true)
                                                     ->set("optimize_coding", true)
                                                     ->set("interlace", progressive));
}

// Writes through `save` into a temporary sibling, then renames it over `path`.
template <class Save>
void write_atomically(const std::string& path, Save&& save) {
    static std::atomic<std::uint64_t> seq{0};
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(++seq);
    try {
        save(tmp);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot rename an image variant into place");
    }
}

}  // namespace

void init_vips(int concurrency) {
    static std::once_flag once;
    std::call_once(once, [concurrency] {
        if (VIPS_INIT("bazaar")) throw std::runtime_error("libvips failed to start");
        vips_cache_set_max(0);
        vips_cache_set_max_mem(0);
        vips_concurrency_set(concurrency);
        vips_block_untrusted_set(TRUE);
        vips_operation_block_set("VipsForeignLoad", TRUE);
        for (const char* allowed :
             {"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp"})
            vips_operation_block_set(allowed, FALSE);
        log::info("libvips ready",
                  {{"version", vips_version_string()}, {"concurrency", concurrency}});
    });
}

Dimensions probe(std::string_view bytes, Format format) {
    try {
        VipsBlob* blob = vips_blob_new(nullptr, bytes.data(), bytes.size());
        struct Unref {
            VipsBlob* b;
            ~Unref() { vips_area_unref(VIPS_AREA(b)); }
        } unref{blob};
        auto opts = [] {
            return VImage::option()
                ->set("access", VIPS_ACCESS_SEQUENTIAL)
                ->set("fail_on", VIPS_FAIL_ON_TRUNCATED);
        };
        VImage img;
        switch (format) {
            case Format::kJpeg:
                img = VImage::jpegload_buffer(blob, opts());
                break;
            case Format::kPng:
                img = VImage::pngload_buffer(blob, opts());
                break;
            case Format::kWebp:
                img = VImage::webpload_buffer(blob, opts());
                break;
        }
        return {img.width(), img.height()};
    } catch (const VError& e) {
        vips_error_clear();
        throw Error(ErrorCode::kUnsupportedMediaType,
                    std::string("the image header cannot be read as ") + mime_type(format));
    }
}

Dimensions probe_file(const std::string& path, const ImageLimits& limits) {
    try {
        // Header only: the loader (one of the three unblocked ones) reads the
        // dimensions without decoding a pixel.
        VImage header = VImage::new_from_file(
            path.c_str(), VImage::option()->set("access", VIPS_ACCESS_SEQUENTIAL));
        Dimensions d{header.width(), header.height()};
        if (auto problem = dimension_problem(d.width, d.height, limits)) throw ImageError(*problem);
        return d;
    } catch (const VError& e) {
        std::string reason = clean_reason(e.what(), path);
        vips_error_clear();
        throw ImageError(reason);
    }
}

namespace {

// How strict the image job's decoder is: any warning is an error (see
// make_variants).
constexpr VipsFailOn kDecodeFailOn = VIPS_FAIL_ON_WARNING;

// The deadline of one computation, read by the "eval" signal handler.
struct Deadline {
    std::chrono::steady_clock::time_point at;
    std::atomic<bool> hit{false};
};

// libvips's "eval" progress signal (a C callback, run on a libvips worker
// thread while tiles are computed): past the deadline it asks libvips to
// stop; the pending computation then fails with an error, which vips-cpp
// turns into VError in the calling thread. Nothing here can throw.
void on_eval(VipsImage* image, VipsProgress*, void* data) noexcept {
    auto* d = static_cast<Deadline*>(data);
    if (std::chrono::steady_clock::now() >= d->at) {
        d->hit = true;
        vips_image_set_kill(image, TRUE);
    }
}

// Computes `img` into memory, killed at `deadline` when one is set.
VImage compute(const VImage& img, Deadline* deadline) {
    if (!deadline) return img.copy_memory();
    VipsImage* raw = img.get_image();
    vips_image_set_progress(raw, TRUE);
    gulong handler = g_signal_connect(raw, "eval", G_CALLBACK(on_eval), deadline);
    try {
        VImage out = img.copy_memory();
        g_signal_handler_disconnect(raw, handler);
        return out;
    } catch (...) {
        g_signal_handler_disconnect(raw, handler);
        throw;
    }
}

}  // namespace

void make_variants(const std::string& original, const ImageLimits& limits, int timeout_ms,
                   const VariantFiles& out) {
    Dimensions d = probe_file(original, limits);
    Deadline deadline;
    deadline.at = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    Deadline* dl = timeout_ms > 0 ? &deadline : nullptr;
    try {
        // One decode (with shrink-on-load) into a small in-memory image that
        // both 600 px variants and, usually, the crop are made from. Any
        // decoder warning fails it (kDecodeFailOn): a JPEG cut short, or with
        // garbage where its data should be, decodes "successfully" under a
        // laxer setting, with junk where the picture was lost, and would be
        // published as ready.
        VImage medium = compute(VImage::thumbnail(original.c_str(), kMedium,
                                                  VImage::option()
                                                      ->set("height", kMedium)
                                                      ->set("size", VIPS_SIZE_DOWN)
                                                      ->set("fail_on", kDecodeFailOn)),
                                dl);
        // The crop needs a short side of 150 px: a very elongated image is
        // cropped from the original instead (its short side is lost in the
        // 600 px fit). Enlarging is allowed only while the intermediate
        // stays small (kMaxCropLongSide, see the header).
        int long_side = std::max(d.width, d.height), short_side = std::min(d.width, d.height);
        bool may_enlarge =
            std::int64_t{long_side} * kThumb <= std::int64_t{kMaxCropLongSide} * short_side;
        auto crop = VImage::option()
                        ->set("height", kThumb)
                        ->set("crop", VIPS_INTERESTING_CENTRE)
                        ->set("size", may_enlarge ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN);
        bool medium_is_enough = std::min(medium.width(), medium.height()) >= kThumb ||
                                (medium.width() == d.width && medium.height() == d.height);
        VImage thumb = compute(
            medium_is_enough
                ? medium.thumbnail_image(kThumb, crop)
                : VImage::thumbnail(original.c_str(), kThumb, crop->set("fail_on", kDecodeFailOn)),
            dl);

        write_atomically(out.medium, [&](const std::string& p) { save_jpeg(medium, p, true); });
        write_atomically(out.webp, [&](const std::string& p) {
            medium.webpsave(p.c_str(), VImage::option()->set("Q", 80)->set("strip", true));
        });
        write_atomically(out.thumbnail, [&](const std::string& p) { save_jpeg(thumb, p, true); });
    } catch (const VError& e) {
        std::string reason = deadline.hit ? "processing took longer than " +
                                                std::to_string(timeout_ms) + " ms; cancelled"
                                          : clean_reason(e.what(), original);
        vips_error_clear();
        throw ImageError(reason);
    }
}

std::int64_t PixelBudget::acquire(std::int64_t n) {
    n = std::clamp<std::int64_t>(n, 0, budget_);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return used_ + n <= budget_; });
    used_ += n;
    return n;
}

void PixelBudget::release(std::int64_t n) {
    {
        std::lock_guard lock(mu_);
        used_ -= n;
    }
    cv_.notify_all();
}

}  // namespace bazaar::images
