#include "bazaar/pipelines/image_orphans.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/images/image_service.hpp"
#include "bazaar/log.hpp"

namespace bazaar::pipelines {

namespace fs = std::filesystem;

ImageOrphansOutcome clean_image_orphans(Backends& b, std::int64_t grace_s,
                                        std::int64_t stuck_after_s) {
    ImageOrphansOutcome out;
    auto files = images::cleanup(b, grace_s, stuck_after_s);
    out.files_removed = files.files_removed;
    out.requeued = files.requeued;
    out.given_up = files.given_up;

    struct Row {
        std::int64_t id, book_id;
        std::string original;
    };
    std::vector<Row> rows;
    b.pg.transact([&](pqxx::work& w) {
        rows.clear();
        for (const auto& r : w.exec_params(
                 "SELECT id, book_id, original_path FROM images WHERE status <> 'processing' "
                 "AND created_at <= now() - make_interval(secs => $1)",
                 static_cast<double>(grace_s)))
            rows.push_back(
                {r[0].as<std::int64_t>(), r[1].as<std::int64_t>(), r[2].as<std::string>()});
    });
    for (const auto& r : rows) {
        // The public path maps under <var>/media (images/image_service.hpp);
        // anything else is not ours to judge.
        if (r.original.rfind("/media/", 0) != 0 || r.original.find("..") != std::string::npos)
            continue;
        std::error_code ec;
        bool present = fs::exists(b.config.var_dir + r.original, ec);
        if (present || ec) continue;
        try {
            images::remove(b, r.book_id, r.id);
            ++out.rows_removed;
            log::info("image row without its file removed",
                      {{"imageId", r.id}, {"bookId", r.book_id}, {"original", r.original}});
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound) throw;  // removed meanwhile
        }
    }
    return out;
}

}  // namespace bazaar::pipelines
