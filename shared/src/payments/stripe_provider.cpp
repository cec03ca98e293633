// The stripe provider: PaymentIntents and Refunds over Stripe's REST API.
//
// One libcurl easy handle per provider object (one per thread: handles are
// not thread-safe), reused so that the TLS connection stays open between
// calls. Requests are form-encoded the way Stripe's own libraries encode
// them (nested keys as `metadata[orderId]`, percent-encoded), with
//   Authorization: Bearer <STRIPE_SECRET_KEY>
//   Idempotency-Key: <key>       (a retry returns the first call's object)
//   Stripe-Version: <STRIPE_API_VERSION>
// TLS is always verified: against the system store, or STRIPE_CA_FILE when a
// test points STRIPE_API_BASE at a local stand-in. A whole call is bounded by
// STRIPE_TIMEOUT_MS. Errors map to ProviderError: network, timeout, 429 and
// 5xx are retryable; other 4xx are not (Stripe's error.code is kept).
#include <curl/curl.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "bazaar/payments/provider.hpp"

namespace bazaar::payments {

namespace {

constexpr std::size_t kMaxResponseBytes = 1 << 20;

// libcurl's write callback: C code calls it, so nothing may throw out of it.
extern "C" size_t collect_body(char* data, size_t size, size_t nmemb, void* user) noexcept {
    auto* out = static_cast<std::string*>(user);
    std::size_t n = size * nmemb;
    if (out->size() + n > kMaxResponseBytes) return 0;  // aborts the transfer
    try {
        out->append(data, n);
    } catch (...) {
        return 0;
    }
    return n;
}

class StripeProvider final : public Provider {
  public:
    explicit StripeProvider(const Config& c)
        : key_(c.stripe_secret_key),
          base_(c.stripe_api_base),
          version_(c.stripe_api_version),
          ca_file_(c.stripe_ca_file),
          timeout_ms_(c.stripe_timeout_ms),
          curl_(curl_easy_init()) {
        if (!curl_) throw ProviderError("curl_easy_init failed", true);
    }
    ~StripeProvider() override { curl_easy_cleanup(curl_); }
    StripeProvider(const StripeProvider&) = delete;
    StripeProvider& operator=(const StripeProvider&) = delete;

    std::string_view name() const override { return "stripe"; }

    Intent create_intent(const IntentRequest& r) override {
        std::string currency = r.currency;
        for (auto& ch : currency)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        auto obj = post("/v1/payment_intents",
                        {{"amount", std::to_string(r.amount_cents)},
                         {"currency", currency},
                         {"metadata[orderId]", r.order_id},
                         {"automatic_payment_methods[enabled]", "true"}},
                        r.idempotency_key);
        Intent out;
        if (!obj.contains("id") || !obj["id"].is_string() || !obj.contains("client_secret") ||
            !obj["client_secret"].is_string())
            throw ProviderError("stripe: payment intent without id or client_secret", true);
        out.id = obj["id"].get<std::string>();
        out.client_secret = obj["client_secret"].get<std::string>();
        return out;
    }

    RefundResult refund(std::string_view intent_id, std::int64_t amount_cents,
                        std::string_view idempotency_key) override {
        auto obj = post(
            "/v1/refunds",
            {{"payment_intent", std::string(intent_id)}, {"amount", std::to_string(amount_cents)}},
            idempotency_key);
        if (!obj.contains("id") || !obj["id"].is_string())
            throw ProviderError("stripe: refund without id", true);
        return {obj["id"].get<std::string>(), obj.value("status", std::string("pending"))};
    }

  private:
    std::string escape(const std::string& s) {
        char* e = curl_easy_escape(curl_, s.data(), static_cast<int>(s.size()));
        if (!e) throw ProviderError("curl_easy_escape failed", true);
        std::string out(e);
        curl_free(e);
        return out;
    }

    nlohmann::json post(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& fields,
                        std::string_view idempotency_key) {
        std::string form;
        for (const auto& [k, v] : fields) {
            if (!form.empty()) form += '&';
            form += escape(k) + '=' + escape(v);
        }
        std::string url = base_ + path;
        std::string body;
        curl_easy_reset(curl_);
        struct curl_slist* headers = nullptr;
        auto add_header = [&](const std::string& h) {
            auto* next = curl_slist_append(headers, h.c_str());
            if (!next) throw ProviderError("curl_slist_append failed", true);
            headers = next;
        };
        CURLcode rc = CURLE_OK;
        long status = 0;
        try {
            add_header("Authorization: Bearer " + key_);
            add_header("Idempotency-Key: " + std::string(idempotency_key));
            add_header("Stripe-Version: " + version_);
            add_header("Content-Type: application/x-www-form-urlencoded");
            add_header("Accept: application/json");
            add_header("Expect:");
            curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
            curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, form.c_str());
            curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(form.size()));
            curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect_body);
            curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
            curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms_));
            curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                             static_cast<long>(std::min(timeout_ms_, 3000)));
            curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "https");
            curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
            curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, 1L);
            curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, 2L);
            curl_easy_setopt(curl_, CURLOPT_USERAGENT, "bookbazar/1 (libcurl)");
            if (!ca_file_.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
            rc = curl_easy_perform(curl_);
            curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
        } catch (...) {
            curl_slist_free_all(headers);
            throw;
        }
        curl_slist_free_all(headers);
        if (rc != CURLE_OK)
            throw ProviderError(std::string("stripe ") + path + ": " + curl_easy_strerror(rc),
                                true);
        auto json = nlohmann::json::parse(body, nullptr, false);
        if (status >= 200 && status < 300) {
            if (json.is_discarded() || !json.is_object())
                throw ProviderError("stripe " + path + ": response is not a JSON object", true,
                                    static_cast<int>(status));
            return json;
        }
        std::string code, message;
        if (json.is_object() && json.contains("error") && json["error"].is_object()) {
            const auto& e = json["error"];
            if (e.contains("code") && e["code"].is_string()) code = e["code"].get<std::string>();
            if (e.contains("message") && e["message"].is_string())
                message = e["message"].get<std::string>();
        }
        bool retryable = status == 429 || status >= 500 || status == 409;  // 409: idempotency race
        throw ProviderError("stripe " + path + ": HTTP " + std::to_string(status) +
                                (code.empty() ? "" : " " + code) +
                                (message.empty() ? "" : ": " + message),
                            retryable, static_cast<int>(status), code);
    }

    std::string key_, base_, version_, ca_file_;
    int timeout_ms_;
    CURL* curl_;
};

}  // namespace

std::unique_ptr<Provider> make_stripe_provider(const Config& config) {
    return std::make_unique<StripeProvider>(config);
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace bazaar::payments
