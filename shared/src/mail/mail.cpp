#include "bazaar/mail/mail.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "bazaar/time.hpp"
#include "templates.hpp"

namespace bazaar::mail {

namespace {

std::string required(const nlohmann::json& data, const char* field) {
    auto it = data.find(field);
    if (it == data.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        throw std::invalid_argument(std::string("email job data lacks '") + field + "'");
    return it->get<std::string>();
}

std::string domain_of(const std::string& address) {
    return address.substr(address.find('@') + 1);
}

// The fields every message shares; the recipient's address is checked here
// so that a bad one fails the render (for good), not the SMTP session.
Message start(const Settings& s, const std::string& to, const std::string& name) {
    Message m;
    m.from = mime::parse_mailbox(s.from);
    m.to = {mime::one_line(name), to};
    if (!mime::is_safe_address(to))
        throw std::invalid_argument("not a plain email address: '" + mime::one_line(to) + "'");
    m.message_id = random_hex(16) + "@" + domain_of(m.from.address);
    m.date = std::time(nullptr);
    return m;
}

void fill_bodies(Message& m, const templates::Template& t, templates::Vars vars,
                 const templates::Vars& raw_html = {}) {
    m.subject = templates::fill(t.subject, vars, false);
    m.text = templates::fill(t.text, vars, false);
    std::string content = templates::fill(t.html, vars, true, raw_html);
    vars["subject"] = m.subject;
    m.html = templates::fill(templates::find("layout")->html, vars, true, {{"content", content}});
}

const templates::Template& find_template(const std::string& name) {
    const templates::Template* t = templates::find(name);
    if (!t || name == "layout")
        throw std::invalid_argument("unknown email template '" + mime::one_line(name) + "'");
    return *t;
}

bool zero_decimal(const std::string& currency) {
    static const char* kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
                                  "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"};
    for (const char* c : kZero)
        if (currency == c) return true;
    return false;
}

}  // namespace

std::string format_money(std::int64_t cents, const std::string& currency) {
    std::string sign = cents < 0 ? "-" : "";
    std::uint64_t v = cents < 0 ? 0 - static_cast<std::uint64_t>(cents) : cents;
    if (zero_decimal(currency)) return sign + std::to_string(v) + " " + currency;
    std::string frac = std::to_string(v % 100);
    if (frac.size() < 2) frac.insert(0, "0");
    return sign + std::to_string(v / 100) + "." + frac + " " + currency;
}

std::string message_id_for(const std::string& key, const Settings& s) {
    std::string local = key.empty() ? random_hex(16) : key;
    for (auto& c : local) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok) c = '.';
    }
    return local + "@" + domain_of(mime::parse_mailbox(s.from).address);
}

Message render(const std::string& template_name, const nlohmann::json& data, const Settings& s) {
    if (!data.is_object()) throw std::invalid_argument("email job data must be an object");
    const templates::Template& t = find_template(template_name);
    std::string name = required(data, "username");
    Message m = start(s, required(data, "to"), name);
    templates::Vars vars{{"username", m.to.name}, {"baseUrl", s.public_base_url}};
    if (template_name == "password_reset") {
        std::string token = required(data, "token");
        auto ttl = data.find("ttlS");
        long ttl_s = ttl != data.end() && ttl->is_number_integer() ? ttl->get<long>() : 3600L;
        vars["token"] = token;
        vars["ttlMinutes"] = std::to_string(ttl_s / 60);
        vars["resetUrl"] = s.public_base_url + "/reset-password?token=" + token;
    } else if (template_name != "welcome") {
        throw std::invalid_argument("'" + template_name + "' is an order template");
    }
    fill_bodies(m, t, std::move(vars));
    return m;
}

Message render_order(const std::string& template_name, const OrderView& order, const Settings& s) {
    if (template_name.rfind("order_", 0) != 0)
        throw std::invalid_argument("'" + mime::one_line(template_name) +
                                    "' is not an order template");
    const templates::Template& t = find_template(template_name);
    Message m = start(s, order.email, order.username);
    std::string total = format_money(order.total_cents, order.currency);
    std::string text_items;
    std::string html_items = "<table style=\"border-collapse: collapse;\">\n";
    for (const auto& line : order.items) {
        std::string title = mime::one_line(line.title);
        std::string price = format_money(line.unit_price_cents * line.quantity, order.currency);
        text_items += "  " + std::to_string(line.quantity) + " x " + title + "  " + price + "\n";
        html_items += "<tr><td style=\"padding: 0 1em 0 0;\">" + std::to_string(line.quantity) +
                      " &times;</td><td style=\"padding: 0 1em 0 0;\">" + mime::html_escape(title) +
                      "</td><td style=\"text-align: right;\">" + mime::html_escape(price) +
                      "</td></tr>\n";
    }
    html_items +=
        "<tr><td></td><td><strong>Total</strong></td><td style=\"text-align: right;\">"
        "<strong>" +
        mime::html_escape(total) + "</strong></td></tr>\n</table>";
    std::string ref = order.id.substr(0, 8);
    for (auto& c : ref) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    templates::Vars vars{{"username", m.to.name},
                         {"baseUrl", s.public_base_url},
                         {"orderId", order.id},
                         {"orderRef", ref},
                         {"orderUrl", s.public_base_url + "/orders/" + order.id},
                         {"total", total},
                         {"items", text_items}};
    fill_bodies(m, t, std::move(vars), {{"items", html_items}});
    return m;
}

std::string to_mime(const Message& m) {
    const std::string boundary = "=_bazaar_" + random_hex(12);  // "=_" never occurs in QP
    std::string out;
    out += "Date: " + mime::rfc5322_date(m.date) + "\r\n";
    out += "From: " + mime::format_mailbox(m.from) + "\r\n";
    out += "To: " + mime::format_mailbox(m.to) + "\r\n";
    out += "Subject: " + mime::header_text(m.subject) + "\r\n";
    out += "Message-ID: <" + mime::one_line(m.message_id) + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    for (const auto& [name, value] : m.extra_headers) {
        bool ok = !name.empty();
        for (char c : name)
            ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-');
        if (!ok) throw std::invalid_argument("bad header name");
        out += name + ": " + mime::header_text(value) + "\r\n";
    }
    out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
    out += "\r\n";
    out += "This is a MIME message with a plain text and an HTML version.\r\n";
    auto part = [&](const char* type, const std::string& body) {
        out += "--" + boundary + "\r\n";
        out += std::string("Content-Type: ") + type + "; charset=utf-8\r\n";
        out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
        out += mime::quoted_printable(body);
    };
    part("text/plain", m.text);
    part("text/html", m.html);
    out += "--" + boundary + "--\r\n";
    return out;
}

}  // namespace bazaar::mail
