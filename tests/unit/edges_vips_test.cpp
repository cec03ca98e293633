// Issue 18, item 7, the job side: an image job that runs past its time is
// cancelled from libvips's "eval" signal and fails cleanly (ImageError), the
// next job is unaffected; a file outside the dimension bounds fails from its
// header; a very elongated image is never enlarged into a huge intermediate.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vips/vips8>

#include "bazaar/images/vips_engine.hpp"

using namespace bazaar::images;

namespace {

const ImageLimits kLimits{.max_pixels = 40'000'000, .max_side = 12000, .max_aspect = 20};

class EdgesVips : public ::testing::Test {
  protected:
    void SetUp() override {
        init_vips(1);
        dir_ = std::filesystem::temp_directory_path() /
               ("bazaar-edges-vips-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A w x h grey noise PNG (uncompressed: quick to write).
    std::string noise_png(int w, int h) {
        std::string path = (dir_ / ("n-" + std::to_string(w) + "x" + std::to_string(h) + ".png"));
        vips::VImage::gaussnoise(w, h)
            .cast(VIPS_FORMAT_UCHAR)
            .pngsave(path.c_str(), vips::VImage::option()->set("compression", 0));
        return path;
    }
    VariantFiles out() { return {dir_ / "t.jpg", dir_ / "m.jpg", dir_ / "w.webp"}; }
    std::filesystem::path dir_;
};

}  // namespace

TEST_F(EdgesVips, AJobPastItsTimeoutIsCancelledAndTheNextOneWorks) {
    std::string big = noise_png(2000, 2000);
    try {
        make_variants(big, kLimits, 1, out());
        FAIL() << "a 4 MP decode finished within 1 ms";
    } catch (const ImageError& e) {
        EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(out().medium));
    // Nothing stays killed: the same file without a deadline is processed.
    EXPECT_NO_THROW(make_variants(big, kLimits, 0, out()));
    EXPECT_EQ(vips::VImage::new_from_file(out().thumbnail.c_str()).width(), 150);
}

TEST_F(EdgesVips, OutOfBoundsDimensionsFailFromTheHeader) {
    std::string wide = noise_png(2100, 100);  // 21:1
    EXPECT_THROW(probe_file(wide, kLimits), ImageError);
    EXPECT_THROW(make_variants(wide, kLimits, 0, out()), ImageError);
}

TEST_F(EdgesVips, AnElongatedImageIsCroppedWithoutAHugeIntermediate) {
    // 20:1 with a short side under 150: enlarged to 3000x150 at most.
    std::string thin = noise_png(2000, 100);
    make_variants(thin, kLimits, 0, out());
    auto t = vips::VImage::new_from_file(out().thumbnail.c_str());
    EXPECT_EQ(t.width(), 150);
    EXPECT_EQ(t.height(), 150);
    // Beyond kMaxCropLongSide (allowed by looser limits): shrink only.
    ImageLimits loose{.max_pixels = 40'000'000, .max_side = 12000, .max_aspect = 1000};
    std::string thinner = noise_png(4000, 10);
    make_variants(thinner, loose, 0, out());
    t = vips::VImage::new_from_file(out().thumbnail.c_str());
    EXPECT_LE(t.width(), 150);
    EXPECT_EQ(t.height(), 10);
}
