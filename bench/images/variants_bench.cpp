// Variant sets per second of images::make_variants (the worker's code path:
// one shrink-on-load decode, 150x150 crop JPEG, 600 fit progressive JPEG,
// 600 fit WebP, atomic writes) on one file, run `iterations` times in this
// process, and the peak RSS of the process. bench/images/run.sh compares it
// with the vipsthumbnail CLI producing the same three files in the same run.
//
// usage: images_variants_bench <image> <out-dir> <iterations> [threads]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <vips/vips.h>

#include "bazaar/images/vips_engine.hpp"

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: %s <image> <out-dir> <iterations> [threads]\n", argv[0]);
        return 2;
    }
    std::string in = argv[1], dir = argv[2];
    int n = std::atoi(argv[3]);
    int threads = argc > 4 ? std::atoi(argv[4]) : 1;
    const char* conc = std::getenv("VIPS_CONCURRENCY");
    bazaar::images::init_vips(conc ? std::atoi(conc) : 1);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::string p = dir + "/t" + std::to_string(t);
            for (int i = t; i < n; i += threads)
                bazaar::images::make_variants(
                    in, {.max_pixels = 40'000'000, .max_side = 12000, .max_aspect = 20}, 0,
                    {p + "-150x150.jpg", p + "-600x600.jpg", p + ".webp"});
            vips_thread_shutdown();
        });
    }
    for (auto& th : pool) th.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf(
        "{\"sets\":%d,\"seconds\":%.3f,\"setsPerS\":%.2f,\"maxRssKb\":%ld,\"threads\":%d}\n", n, s,
        n / s, ru.ru_maxrss, threads);
    return 0;
}
