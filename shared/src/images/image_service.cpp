// See bazaar/images/image_service.hpp.
#include "bazaar/images/image_service.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/error.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/log.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/time.hpp"

namespace bazaar::images {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOriginals = "/media/originals/";
constexpr const char* kOptimized = "/media/optimized/";

std::string media_root(const Config& c) {
    return c.var_dir + "/media";
}

// A stored public URL ("/media/originals/x.jpg") → its file, or "" when the
// URL is not one this module writes (never follow anything else).
std::string file_of(const Config& c, const std::string& url) {
    if (url.rfind("/media/", 0) != 0 || url.find("..") != std::string::npos) return "";
    return c.var_dir + url;
}

void unlink_quietly(const std::string& path) {
    if (path.empty()) return;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        log::warn("could not remove image file", {{"file", path}});
}

// The files of a row: its original and every variant URL.
std::vector<std::string> files_of(const Config& c, const std::string& original,
                                  const std::string& variants_json) {
    std::vector<std::string> out{file_of(c, original)};
    auto v = nlohmann::json::parse(variants_json, nullptr, false);
    if (v.is_object())
        for (const auto& [k, url] : v.items())
            if (url.is_string()) out.push_back(file_of(c, url.get<std::string>()));
    return out;
}

// "/media/originals/ab12.jpg" → "ab12"
std::string base_name(const std::string& original_url) {
    std::string name = fs::path(original_url).stem().string();
    return name;
}

nlohmann::json variant_urls(const std::string& base) {
    return {{"thumbnail", kOptimized + base + "-150x150.jpg"},
            {"medium", kOptimized + base + "-600x600.jpg"},
            {"webp", kOptimized + base + ".webp"}};
}

// Writes `bytes` to a new file `path` through a temporary name and rename,
// so that nginx never serves half an upload.
void write_file(const std::string& path, std::string_view bytes) {
    std::string tmp = path + ".tmp-upload";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create an upload file");
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write an upload file");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot store an upload file");
    }
}

ImageLimits limits_of(const Config& c) {
    return {.max_pixels = c.image_max_pixels,
            .max_side = c.image_max_side_px,
            .max_aspect = c.image_max_aspect_ratio};
}

std::vector<std::string> book_scopes(std::int64_t book_id) {
    return {catalog::book_scope(book_id), catalog::kBooksScope};
}

queue::NewJob process_job(std::int64_t image_id, std::string job_id) {
    queue::NewJob job;
    job.name = kProcessJob;
    job.data = {{"imageId", std::to_string(image_id)}};
    job.options.attempts = 3;
    job.options.backoff = {queue::Backoff::Type::kExponential, 2000};
    job.options.job_id = std::move(job_id);
    job.options.remove_on_complete = {.age_s = 86400, .count = 1000};
    return job;
}

}  // namespace

nlohmann::json upload(Backends& b, std::int64_t book_id, std::string_view content_type,
                      std::string_view body) {
    const Config& c = b.config;
    // An unknown book is a 404 whatever the body: checked first, and again
    // (locked) in the transaction below.
    bool live = b.pg.transact([&](pqxx::work& w) {
        return !w.exec_params("SELECT 1 FROM books WHERE id = $1 AND deleted_at IS NULL", book_id)
                    .empty();
    });
    if (!live) throw Error::not_found("book");

    Upload up = select_upload(content_type, body);
    if (up.bytes.size() > kMaxImageBytes)
        throw Error(ErrorCode::kPayloadTooLarge, "images are at most 10 MiB");
    init_vips(c.image_vips_concurrency);
    Dimensions d = probe(up.bytes, up.format);
    if (auto problem = dimension_problem(d.width, d.height, limits_of(c)))
        throw Error::validation("image", *problem);
    // The stored (and served) original carries no location, camera or
    // comments: the metadata is removed from the bytes, the pixels are kept.
    std::string stored = strip_metadata(up.format, up.bytes);

    fs::create_directories(media_root(c) + "/originals");
    fs::create_directories(media_root(c) + "/optimized");
    std::string url = kOriginals + random_hex(16) + "." + extension(up.format);
    std::string path = file_of(c, url);
    write_file(path, stored);

    std::int64_t id = 0;
    try {
        cache::around_write(b.redis, book_scopes(book_id), [&] {
            id = b.pg.transact([&](pqxx::work& w) {
                auto live_row = w.exec_params(
                    "SELECT 1 FROM books WHERE id = $1 AND deleted_at IS NULL FOR SHARE", book_id);
                if (live_row.empty()) throw Error::not_found("book");
                auto r = w.exec_params(
                    "INSERT INTO images (book_id, status, content_type, original_path) "
                    "VALUES ($1, 'processing', $2, $3) RETURNING id",
                    book_id, mime_type(up.format), url);
                std::int64_t new_id = r[0][0].as<std::int64_t>();
                queue::add_in_transaction(w, kQueue,
                                          process_job(new_id, "image-" + std::to_string(new_id)));
                return new_id;
            });
        });
    } catch (...) {
        unlink_quietly(path);
        throw;
    }
    log::info("image uploaded", {{"imageId", id},
                                 {"bookId", book_id},
                                 {"type", mime_type(up.format)},
                                 {"bytes", up.bytes.size()},
                                 {"storedBytes", stored.size()},
                                 {"width", d.width},
                                 {"height", d.height}});
    return {{"id", std::to_string(id)}, {"status", "processing"}, {"original", url}};
}

void remove(Backends& b, std::int64_t book_id, std::int64_t image_id) {
    std::vector<std::string> files;
    cache::around_write(b.redis, book_scopes(book_id), [&] {
        b.pg.transact([&](pqxx::work& w) {
            auto r = w.exec_params(
                "DELETE FROM images i USING books bk WHERE i.id = $1 AND i.book_id = $2 "
                "AND bk.id = i.book_id AND bk.deleted_at IS NULL "
                "RETURNING i.original_path, i.variants::text",
                image_id, book_id);
            if (r.empty()) throw Error::not_found("image");
            files = files_of(b.config, r[0][0].as<std::string>(), r[0][1].as<std::string>());
        });
    });
    // After the commit: a crash here leaves orphans, never a row without files.
    for (const auto& f : files) unlink_quietly(f);
}

ProcessOutcome process(Backends& b, std::int64_t image_id, PixelBudget& budget) {
    const Config& c = b.config;
    auto row = b.pg.transact([&](pqxx::work& w) {
        return w.exec_params("SELECT book_id, status, original_path FROM images WHERE id = $1",
                             image_id);
    });
    if (row.empty() || row[0][1].as<std::string>() != "processing") return {"skipped", ""};
    std::int64_t book_id = row[0][0].as<std::int64_t>();
    std::string original = row[0][2].as<std::string>();
    std::string base = base_name(original);
    nlohmann::json urls = variant_urls(base);
    VariantFiles out{file_of(c, urls["thumbnail"]), file_of(c, urls["medium"]),
                     file_of(c, urls["webp"])};

    std::string reason;
    try {
        init_vips(c.image_vips_concurrency);
        std::string path = file_of(c, original);
        if (path.empty() || !fs::is_regular_file(path))
            throw ImageError("the original file is missing");
        fs::create_directories(media_root(c) + "/optimized");
        // The magic bytes again (the file is ours, but the rule is cheap),
        // then the header alone sizes this job's share of the pixel budget.
        {
            char head[16] = {};
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) throw ImageError("the original file cannot be opened");
            ssize_t n = ::read(fd, head, sizeof head);
            ::close(fd);
            if (!sniff(std::string_view(head, n > 0 ? static_cast<std::size_t>(n) : 0)))
                throw ImageError("the original is not a JPEG, PNG or WebP image");
        }
        Dimensions d = probe_file(path, limits_of(c));
        PixelBudget::Lease lease(budget, d.pixels());
        make_variants(path, limits_of(c), c.image_job_timeout_ms, out);
    } catch (const ImageError& e) {
        reason = e.what();
    }

    std::string status = reason.empty() ? "ready" : "failed";
    bool updated = false;
    cache::around_write(b.redis, book_scopes(book_id), [&] {
        updated = b.pg.transact([&](pqxx::work& w) {
            auto r =
                reason.empty()
                    ? w.exec_params(
                          "UPDATE images SET status = 'ready', variants = $2::jsonb, "
                          "error = NULL, updated_at = now() "
                          "WHERE id = $1 AND status = 'processing' RETURNING id",
                          image_id, urls.dump())
                    : w.exec_params(
                          "UPDATE images SET status = 'failed', error = $2, updated_at = now() "
                          "WHERE id = $1 AND status = 'processing' RETURNING id",
                          image_id, reason);
            return !r.empty();
        });
    });
    if (!updated) {
        // Deleted (or finished by another run) meanwhile: what this run wrote
        // belongs to no row.
        if (reason.empty()) {
            auto still = b.pg.transact([&](pqxx::work& w) {
                return w.exec_params("SELECT 1 FROM images WHERE id = $1", image_id);
            });
            if (still.empty())
                for (const auto* f : {&out.thumbnail, &out.medium, &out.webp}) unlink_quietly(*f);
        }
        return {"skipped", ""};
    }
    if (reason.empty()) {
        try {
            live::emit(b.redis, live::kAdminRoom, "image.ready",
                       {{"imageId", std::to_string(image_id)},
                        {"bookId", std::to_string(book_id)},
                        {"status", "ready"},
                        {"original", original},
                        {"variants", urls}});
        } catch (const std::exception& e) {
            // The row is the record; the event is a notification.
            log::warn("image.ready event not sent", {{"imageId", image_id}, {"error", e.what()}});
        }
    }
    log::info("image processed", {{"imageId", image_id}, {"status", status}, {"reason", reason}});
    return {status, reason};
}

CleanupOutcome cleanup(Backends& b, std::int64_t grace_s, std::int64_t stuck_after_s) {
    const Config& c = b.config;
    CleanupOutcome out;
    std::set<std::string> referenced;
    b.pg.transact([&](pqxx::work& w) {
        referenced.clear();
        for (const auto& r : w.exec("SELECT original_path, variants::text FROM images"))
            for (auto& f : files_of(c, r[0].as<std::string>(), r[1].as<std::string>()))
                referenced.insert(std::move(f));
    });
    auto cutoff = fs::file_time_type::clock::now() - std::chrono::seconds(grace_s);
    for (const char* dir : {"/originals", "/optimized"}) {
        std::error_code ec;
        fs::directory_iterator it(media_root(c) + dir, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            std::error_code fec;
            if (!it->is_regular_file(fec) || fec) continue;
            auto mtime = fs::last_write_time(it->path(), fec);
            if (fec || mtime > cutoff) continue;  // maybe an upload whose row is not committed yet
            if (referenced.count(it->path().string())) continue;
            unlink_quietly(it->path().string());
            ++out.files_removed;
        }
    }

    std::vector<std::int64_t> stuck;
    b.pg.transact([&](pqxx::work& w) {
        stuck.clear();
        out.given_up = static_cast<int>(
            w.exec("UPDATE images SET status = 'failed', error = 'processing did not finish', "
                   "updated_at = now() WHERE status = 'processing' "
                   "AND created_at < now() - interval '1 day' RETURNING id")
                .size());
        for (const auto& r :
             w.exec_params("UPDATE images SET updated_at = now() WHERE status = 'processing' "
                           "AND updated_at <= now() - make_interval(secs => $1) RETURNING id",
                           static_cast<double>(stuck_after_s)))
            stuck.push_back(r[0].as<std::int64_t>());
    });
    for (auto id : stuck) {
        queue::add(
            b.redis, kQueue,
            process_job(id, "image-" + std::to_string(id) + "-retry-" + std::to_string(now_ms())));
        ++out.requeued;
    }
    return out;
}

}  // namespace bazaar::images
