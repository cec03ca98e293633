#include "bazaar/mail/smtp.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

#include "bazaar/mail/mime.hpp"

namespace bazaar::mail {

namespace {

struct Upload {
    const std::string* data;
    std::size_t offset;
};

// libcurl's read callback (C): copies the next slice of the message. Nothing
// here can throw; the noexcept makes that a compile-time promise.
extern "C" std::size_t read_message(char* buf, std::size_t size, std::size_t n,
                                    void* user) noexcept {
    auto* up = static_cast<Upload*>(user);
    std::size_t left = up->data->size() - up->offset;
    std::size_t len = size * n < left ? size * n : left;
    std::memcpy(buf, up->data->data() + up->offset, len);
    up->offset += len;
    return len;
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

bool is_smtps(const std::string& url) {
    return url.rfind("smtps://", 0) == 0;
}
bool is_smtp(const std::string& url) {
    return url.rfind("smtp://", 0) == 0;
}

}  // namespace

bool smtp_host_is_loopback(const std::string& url) {
    std::unique_ptr<CURLU, CurlDeleter> u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return false;
    char* host = nullptr;
    if (curl_url_get(u.get(), CURLUPART_HOST, &host, 0) != CURLUE_OK || !host) return false;
    std::string h(host);
    curl_free(host);
    in_addr v4{};
    if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    return h == "localhost" || h == "[::1]";
}

void smtp_send(const SmtpSettings& settings, const std::string& from, const std::string& to,
               const std::string& message) {
    if (!is_smtp(settings.url) && !is_smtps(settings.url))
        throw std::invalid_argument("SMTP_URL must start with smtp:// or smtps://");
    if (!mime::is_safe_address(from) || !mime::is_safe_address(to))
        throw std::invalid_argument("unsafe envelope address");
    global_init();
    std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
    if (!curl) throw SmtpError("curl_easy_init failed", false);
    std::string mail_from = "<" + from + ">";
    std::unique_ptr<curl_slist, CurlDeleter> rcpt(
        curl_slist_append(nullptr, ("<" + to + ">").c_str()));
    if (!rcpt) throw SmtpError("curl_slist_append failed", false);
    Upload upload{&message, 0};
    char error[CURL_ERROR_SIZE] = {0};
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, settings.url.c_str());
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    // Plain text only to the loopback sink; a real server must speak TLS.
    long use_ssl = is_smtp(settings.url) && smtp_host_is_loopback(settings.url)
                       ? static_cast<long>(CURLUSESSL_NONE)
                       : static_cast<long>(CURLUSESSL_ALL);
    curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, mail_from.c_str());
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt.get());
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings.connect_timeout_ms));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(settings.timeout_ms));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // job threads: no SIGALRM for timeouts
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) return;
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    // 5xx on a recipient or the data is the server's final word; an auth
    // failure (535) is a configuration to fix, so it stays retryable.
    bool permanent = code >= 550 && code <= 554;
    std::string what = std::string("SMTP: ") + (error[0] ? error : curl_easy_strerror(rc));
    if (code > 0) what += " (reply " + std::to_string(code) + ")";
    throw SmtpError(what, permanent);
}

}  // namespace bazaar::mail
