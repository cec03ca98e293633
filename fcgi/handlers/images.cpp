// Image upload and deletion (API.md §3 "Images"); the rules live in
// shared/src/images. The upload route accepts bodies up to 10 MiB plus the
// multipart envelope: the router answers 413 above that before reading the
// body, and images::upload() holds the image itself to 10 MiB.
#include "images.hpp"

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/catalog/book_query.hpp"
#include "bazaar/error.hpp"
#include "bazaar/images/image_service.hpp"

namespace bazaar::http {

namespace {

// Room for the multipart boundary and part headers around a 10 MiB image.
constexpr std::size_t kMaxUploadBody = images::kMaxImageBytes + 64 * 1024;

Response upload_image(Request& req, Backends& b) {
    require_admin(req, b);
    auto book_id = catalog::parse_id(req.param("id"));
    return Response::ok(images::upload(b, book_id, req.content_type, req.body), 202);
}

Response delete_image(Request& req, Backends& b) {
    require_admin(req, b);
    auto book_id = catalog::parse_id(req.param("id"));
    auto image_id = catalog::parse_id(req.param("imageId"), "imageId");
    images::remove(b, book_id, image_id);
    return Response::no_content();
}

}  // namespace

void register_images_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("POST", "/api/v1/books/:id/images", api(upload_image), {.max_body = kMaxUploadBody});
    router.add("DELETE", "/api/v1/books/:id/images/:imageId", api(delete_image));
}

}  // namespace bazaar::http
