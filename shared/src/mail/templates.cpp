#include "templates.hpp"

#include <array>
#include <stdexcept>

#include "bazaar/mail/mime.hpp"

namespace bazaar::mail::templates {

namespace {

// The HTML bodies below are the inner part of kLayout ({{content}}).
constexpr std::string_view kLayout = R"(<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{{subject}}</title></head>
<body style="font-family: Georgia, serif; color: #222; max-width: 36em; margin: 0 auto; padding: 1em;">
{{content}}
<p style="color: #777; font-size: 0.9em;">Book Bazar &middot; <a href="{{baseUrl}}/">{{baseUrl}}</a></p>
</body>
</html>
)";

struct Named {
    std::string_view name;
    Template t;
};

constexpr std::array<Named, 6> kTemplates{{
    {"welcome",
     {"Welcome to Book Bazar, {{username}}",
      R"(Hello {{username}},

your Book Bazar account is ready. Browse the catalog at {{baseUrl}}/ and keep your favorites in one place.

Happy reading,
Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>your Book Bazar account is ready. Browse the <a href="{{baseUrl}}/">catalog</a> and keep your favorites in one place.</p>
<p>Happy reading,<br>Book Bazar</p>)"}},
    {"password_reset",
     {"Reset your Book Bazar password",
      R"(Hello {{username}},

someone asked to reset the password of this account. If it was you, use this code within {{ttlMinutes}} minutes:

    {{token}}

or open {{resetUrl}}

If it was not you, ignore this email: your password stays as it is.

Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>someone asked to reset the password of this account. If it was you, use this code within {{ttlMinutes}} minutes:</p>
<p><code>{{token}}</code></p>
<p>or <a href="{{resetUrl}}">choose a new password</a>.</p>
<p>If it was not you, ignore this email: your password stays as it is.</p>
<p>Book Bazar</p>)"}},
    {"order_confirmation",
     {"Your Book Bazar order {{orderRef}} is confirmed",
      R"(Hello {{username}},

thank you: we received your payment of {{total}} for order {{orderId}}.

{{items}}
Total: {{total}}

We will write again when your books are on their way. Your order: {{orderUrl}}

Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>thank you: we received your payment of <strong>{{total}}</strong> for order {{orderId}}.</p>
{{items}}
<p>We will write again when your books are on their way. <a href="{{orderUrl}}">Your order</a></p>
<p>Book Bazar</p>)"}},
    {"order_shipped",
     {"Your Book Bazar order {{orderRef}} has shipped",
      R"(Hello {{username}},

good news: order {{orderId}} has shipped.

{{items}}
Total: {{total}}

Your order: {{orderUrl}}

Happy reading,
Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>good news: order {{orderId}} has shipped.</p>
{{items}}
<p><a href="{{orderUrl}}">Your order</a></p>
<p>Happy reading,<br>Book Bazar</p>)"}},
    {"order_expired",
     {"Your Book Bazar order {{orderRef}} has expired",
      R"(Hello {{username}},

order {{orderId}} expired before its payment arrived, so the books it held are back on the shelf. Nothing was charged.

{{items}}
Total: {{total}}

You can order them again at {{baseUrl}}/

Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>order {{orderId}} expired before its payment arrived, so the books it held are back on the shelf. Nothing was charged.</p>
{{items}}
<p>You can order them again in the <a href="{{baseUrl}}/">catalog</a>.</p>
<p>Book Bazar</p>)"}},
    {"order_refunded",
     {"Your Book Bazar order {{orderRef}} was refunded",
      R"(Hello {{username}},

we refunded {{total}} for order {{orderId}}. Depending on your bank, the money shows on your statement within a few days.

{{items}}
Total refunded: {{total}}

Your order: {{orderUrl}}

Book Bazar
)",
      R"(<p>Hello {{username}},</p>
<p>we refunded <strong>{{total}}</strong> for order {{orderId}}. Depending on your bank, the money shows on your statement within a few days.</p>
{{items}}
<p><a href="{{orderUrl}}">Your order</a></p>
<p>Book Bazar</p>)"}},
}};

}  // namespace

const Template* find(std::string_view name) {
    for (const auto& n : kTemplates)
        if (n.name == name) return &n.t;
    if (name == "layout") {
        static const Template layout{"", "", kLayout};
        return &layout;
    }
    return nullptr;
}

std::string fill(std::string_view tmpl, const Vars& vars, bool escape_html, const Vars& raw) {
    std::string out;
    out.reserve(tmpl.size() * 2);
    std::size_t pos = 0;
    while (true) {
        std::size_t open = tmpl.find("{{", pos);
        if (open == std::string_view::npos) break;
        std::size_t close = tmpl.find("}}", open + 2);
        if (close == std::string_view::npos) throw std::logic_error("unclosed {{ in a template");
        out.append(tmpl.substr(pos, open - pos));
        std::string_view name = tmpl.substr(open + 2, close - open - 2);
        if (auto r = raw.find(name); escape_html && r != raw.end()) {
            out += r->second;
        } else if (auto v = vars.find(name); v != vars.end()) {
            out += escape_html ? mime::html_escape(v->second) : v->second;
        } else {
            throw std::logic_error("template placeholder {{" + std::string(name) +
                                   "}} has no value");
        }
        pos = close + 2;
    }
    out.append(tmpl.substr(pos));
    return out;
}

}  // namespace bazaar::mail::templates
