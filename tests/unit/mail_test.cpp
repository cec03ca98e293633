// Outgoing mail without a stack: the MIME rules (encoded-words, folding,
// quoted-printable, base64), header injection, HTML escaping, every template,
// and the SMTP client against a refusing, a frozen and a rejecting server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "bazaar/mail/mail.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/mail/mime.hpp"
#include "bazaar/mail/smtp.hpp"

using namespace bazaar::mail;

namespace {

Settings settings() {
    return {"Book Bazar <no-reply@example.com>", "https://shop.example"};
}

std::string unbase64(const std::string& b64) {
    std::string out(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()),
                            static_cast<int>(b64.size()));
    std::size_t pad = 0;  // EVP_DecodeBlock counts the padding as zero bytes
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

// Decodes a header value made of encoded-words separated by CRLF SP.
std::string decode_words(const std::string& v) {
    std::string out;
    std::size_t pos = 0;
    while ((pos = v.find("=?UTF-8?B?", pos)) != std::string::npos) {
        std::size_t end = v.find("?=", pos + 10);
        out += unbase64(v.substr(pos + 10, end - pos - 10));
        pos = end + 2;
    }
    return out;
}

std::string unqp(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '=' && s.compare(i + 1, 2, "\r\n") == 0) {
            i += 2;
        } else if (s[i] == '=') {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        std::size_t e = s.find("\r\n", pos);
        if (e == std::string::npos) e = s.size();
        out.push_back(s.substr(pos, e - pos));
        pos = e + 2;
    }
    return out;
}

// The decoded body of the first part of `type`.
std::string part_of(const std::string& eml, const std::string& type) {
    std::size_t at = eml.find("Content-Type: " + type + ";");
    std::size_t body = eml.find("\r\n\r\n", at) + 4;
    return unqp(eml.substr(body, eml.find("\r\n--=_bazaar_", body) - body));
}

std::string headers_of(const std::string& m) {
    return m.substr(0, m.find("\r\n\r\n") + 2);
}

// Every header line is "Name: ..." or a continuation (SP): nothing injected.
void expect_header_names(const std::string& headers, const std::vector<std::string>& allowed) {
    for (const auto& l : lines(headers)) {
        if (l.empty() || l[0] == ' ') continue;
        std::string name = l.substr(0, l.find(':'));
        EXPECT_NE(std::find(allowed.begin(), allowed.end(), name), allowed.end())
            << "unexpected header line: " << l;
    }
}

const std::vector<std::string> kHeaderNames = {
    "Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type", "X-Bazaar-Job"};

OrderView order() {
    return {"0b6f7c1e-1111-4222-8333-944445555666",
            "PAID",
            2948,
            "EUR",
            {{"Dune <Deluxe> & Co", 1299, 2}, {"Plain", 350, 1}},
            "buyer@example.com",
            "Zoë"};
}

}  // namespace

TEST(MailMime, AsciiHeaderTextStaysAndNonAsciiBecomesEncodedWords) {
    EXPECT_EQ(mime::header_text("Welcome to Book Bazar, Ann"), "Welcome to Book Bazar, Ann");
    std::string enc = mime::header_text("Welcome, Zoë");
    EXPECT_EQ(enc.rfind("=?UTF-8?B?", 0), 0u);
    EXPECT_EQ(decode_words(enc), "Welcome, Zoë");
    // Text that looks like an encoded-word is encoded too.
    EXPECT_EQ(decode_words(mime::header_text("=?UTF-8?B?SGk=?=")), "=?UTF-8?B?SGk=?=");
}

TEST(MailMime, LongUtf8HeaderSplitsIntoShortWordsBetweenCharacters) {
    std::string s;
    for (int i = 0; i < 40; ++i) s += "ë€😀";  // 2, 3 and 4 byte characters
    std::string enc = mime::header_text(s);
    int words = 0;
    for (const auto& l : lines(enc)) {
        std::string w = l[0] == ' ' ? l.substr(1) : l;
        EXPECT_LE(w.size(), 75u) << w;
        // each word decodes on its own to whole characters
        std::string d = decode_words(w);
        EXPECT_EQ(mime::one_line(d), d) << "a word ends inside a character";
        ++words;
    }
    EXPECT_GT(words, 4);
    EXPECT_EQ(decode_words(enc), s);
}

TEST(MailMime, OneLineDropsControlsAndInvalidUtf8) {
    EXPECT_EQ(mime::one_line("a\r\nBcc: x\tb\x7f"), "a  Bcc: x b ");
    EXPECT_EQ(mime::one_line(std::string("a\0b", 3)), "a b");
    EXPECT_EQ(mime::one_line("ok\xc3(\xed\xa0\x80\xf4\x90\x80\x80z"), "ok(z");
    EXPECT_EQ(mime::one_line("Zoë"), "Zoë");
}

TEST(MailMime, AddressesMustBePlain) {
    EXPECT_TRUE(mime::is_safe_address("a.b+c@example.com"));
    for (const char* bad : {"", "a", "@b", "a@", "a@b@c", "a b@c", "a@b\r\nRCPT TO:<x@y>", "<a@b>",
                            "a@b,c@d", "\"a\"@b", "zoë@example.com", "a@b>"})
        EXPECT_FALSE(mime::is_safe_address(bad)) << bad;
    EXPECT_FALSE(mime::is_safe_address(std::string(250, 'a') + "@b.cd"));
    auto m = mime::parse_mailbox("Book Bazar <no-reply@example.com>");
    EXPECT_EQ(m.name, "Book Bazar");
    EXPECT_EQ(m.address, "no-reply@example.com");
    EXPECT_EQ(mime::parse_mailbox("x@example.com").address, "x@example.com");
    EXPECT_THROW(mime::parse_mailbox("Evil <x@example.com>\r\nBcc: y@evil"), std::invalid_argument);
    EXPECT_EQ(mime::format_mailbox({"Ann \"A\" \\", "a@b.c"}), "\"Ann \\\"A\\\" \\\\\" <a@b.c>");
    std::string z = mime::format_mailbox({"Zoë", "z@b.c"});
    EXPECT_EQ(decode_words(z.substr(0, z.find(" <"))), "Zoë");
    EXPECT_THROW(mime::format_mailbox({"x", "a@b\r\n"}), std::invalid_argument);
}

TEST(MailMime, QuotedPrintableRoundTripsWithShortLines) {
    std::string text = "Hello Zoë,\nprice = 10 €\ntrailing space \n" + std::string(200, 'x') +
                       "\n" + std::string(30, ' ') + "end\t\n.dot\n";
    std::string qp = mime::quoted_printable(text);
    for (const auto& l : lines(qp)) {
        EXPECT_LE(l.size(), 76u) << l;
        if (!l.empty()) {
            EXPECT_NE(l.back(), ' ') << "trailing whitespace is lost in transit";
        }
        for (unsigned char c : l) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << l;
    }
    EXPECT_EQ(qp.substr(qp.size() - 2), "\r\n");
    std::string expected;
    for (char c : text) {
        if (c == '\n') expected += '\r';
        expected += c;
    }
    EXPECT_EQ(unqp(qp), expected);
    EXPECT_NE(qp.find("=3D"), std::string::npos);
}

TEST(MailMime, Base64LinesAndHtmlEscape) {
    std::string data;
    for (int i = 0; i < 300; ++i) data += static_cast<char>(i);
    std::string b = mime::base64_lines(data);
    std::string joined;
    for (const auto& l : lines(b)) {
        EXPECT_LE(l.size(), 76u);
        joined += l;
    }
    EXPECT_EQ(unbase64(joined), data);
    EXPECT_EQ(mime::html_escape("<a href=\"x\">'&'</a>"),
              "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    EXPECT_EQ(mime::rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(Mail, WelcomeIsMultipartAlternativeWithEncodedHeaders) {
    auto m = render("welcome", {{"to", "a@example.com"}, {"username", "Zoë <b>&"}}, settings());
    m.message_id = message_id_for("welcome.welcome:42", settings());
    std::string eml = to_mime(m);
    std::string h = headers_of(eml);
    expect_header_names(h, kHeaderNames);
    EXPECT_NE(h.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
    EXPECT_NE(h.find("\r\nMessage-ID: <welcome.welcome.42@example.com>\r\n"), std::string::npos);
    EXPECT_EQ(h.rfind("Date: ", 0), 0u);
    EXPECT_NE(h.find("\r\nFrom: \"Book Bazar\" <no-reply@example.com>\r\n"), std::string::npos);
    std::size_t s = h.find("\r\nSubject: ") + 11;
    std::string subject = h.substr(s, h.find("\r\n", s) - s);
    EXPECT_EQ(decode_words(subject), "Welcome to Book Bazar, Zoë <b>&");
    EXPECT_NE(h.find("\r\nTo: =?UTF-8?B?"), std::string::npos);
    EXPECT_NE(h.find("Content-Type: multipart/alternative; boundary=\"=_bazaar_"),
              std::string::npos);
    EXPECT_NE(eml.find("Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: quoted-printable"),
              std::string::npos);
    EXPECT_NE(eml.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
    EXPECT_EQ(part_of(eml, "text/plain").rfind("Hello Zoë <b>&,\r\n", 0), 0u);
    EXPECT_EQ(part_of(eml, "text/html") + "\r\n", unqp(mime::quoted_printable(m.html)));
    EXPECT_NE(m.html.find("Hello Zoë &lt;b&gt;&amp;,"), std::string::npos) << m.html;
    EXPECT_EQ(m.html.find("<b>&"), std::string::npos);
    EXPECT_NE(m.html.find("<title>Welcome to Book Bazar, Zoë &lt;b&gt;&amp;</title>"),
              std::string::npos);
    for (const auto& l : lines(eml)) EXPECT_LE(l.size(), 998u);
    EXPECT_EQ(eml.find('\n', 0) - 1, eml.find('\r', 0));
    for (std::size_t i = 0; i < eml.size(); ++i) {
        if (eml[i] == '\n') {
            ASSERT_EQ(eml[i - 1], '\r') << "bare LF at " << i;
        }
    }
}

TEST(Mail, NoHeaderInjectionFromAnyUserString) {
    auto m = render("welcome", {{"to", "a@example.com"}, {"username", "Eve\r\nBcc: x@evil\n\nhi"}},
                    settings());
    m.extra_headers.emplace_back("X-Bazaar-Job", "1\r\nBcc: y@evil");
    std::string eml = to_mime(m);
    std::string h = headers_of(eml);
    expect_header_names(h, kHeaderNames);
    EXPECT_EQ(h.find("\r\nBcc:"), std::string::npos) << h;
    // The first blank line is the real end of the headers: the MIME preamble follows.
    EXPECT_EQ(eml.substr(h.size() + 2, 10), "This is a ") << eml;
    // Addresses are refused, not repaired.
    EXPECT_THROW(
        render("welcome", {{"to", "a@example.com\r\nBcc: x@evil"}, {"username", "E"}}, settings()),
        std::invalid_argument);
    Settings bad = settings();
    bad.from = "Shop <shop@example.com>\r\nBcc: x@evil";
    EXPECT_THROW(render("welcome", {{"to", "a@example.com"}, {"username", "E"}}, bad),
                 std::invalid_argument);
    m.extra_headers = {{"X-Bad\r\nBcc", "v"}};
    EXPECT_THROW(to_mime(m), std::invalid_argument);
}

TEST(Mail, PasswordResetCarriesTheTokenInBothParts) {
    auto r =
        render("password_reset",
               {{"to", "a@example.com"}, {"username", "Ann"}, {"token", "abc123"}, {"ttlS", 3600}},
               settings());
    EXPECT_NE(r.text.find("\n    abc123\n"), std::string::npos);
    EXPECT_NE(r.text.find("60 minutes"), std::string::npos);
    EXPECT_NE(r.text.find("https://shop.example/reset-password?token=abc123"), std::string::npos);
    EXPECT_NE(r.html.find("href=\"https://shop.example/reset-password?token=abc123\""),
              std::string::npos);
    EXPECT_THROW(render("nope", {{"to", "a@b.c"}, {"username", "x"}}, settings()),
                 std::invalid_argument);
    EXPECT_THROW(render("layout", {{"to", "a@b.c"}, {"username", "x"}}, settings()),
                 std::invalid_argument);
    EXPECT_THROW(render("password_reset", {{"to", "a@b.c"}, {"username", "x"}}, settings()),
                 std::invalid_argument);
    EXPECT_THROW(render("welcome", {{"to", 42}, {"username", "x"}}, settings()),
                 std::invalid_argument);
    EXPECT_THROW(render("welcome", nlohmann::json::array(), settings()), std::invalid_argument);
}

TEST(Mail, EveryOrderTemplateRendersTheOrder) {
    for (auto kind : {OrderMail::kConfirmation, OrderMail::kShipped, OrderMail::kExpired,
                      OrderMail::kRefunded}) {
        std::string name = order_mail_template(kind);
        auto m = render_order(name, order(), settings());
        EXPECT_NE(m.subject.find("0B6F7C1E"), std::string::npos) << name;
        EXPECT_NE(m.text.find("2 x Dune <Deluxe> & Co  25.98 EUR"), std::string::npos) << name;
        EXPECT_NE(m.text.find("29.48 EUR"), std::string::npos) << name;
        EXPECT_NE(m.html.find("Dune &lt;Deluxe&gt; &amp; Co"), std::string::npos) << name;
        EXPECT_EQ(m.html.find("<Deluxe>"), std::string::npos) << name;
        EXPECT_EQ(m.to.address, "buyer@example.com");
        EXPECT_NO_THROW(to_mime(m));
    }
    EXPECT_THROW(render_order("welcome", order(), settings()), std::invalid_argument);
    EXPECT_THROW(render_order("order_nope", order(), settings()), std::invalid_argument);
    auto o = order();
    o.email = "bad\r\n@x";
    EXPECT_THROW(render_order("order_shipped", o, settings()), std::invalid_argument);
}

TEST(Mail, MoneyAndMessageIds) {
    EXPECT_EQ(format_money(2948, "USD"), "29.48 USD");
    EXPECT_EQ(format_money(5, "EUR"), "0.05 EUR");
    EXPECT_EQ(format_money(0, "USD"), "0.00 USD");
    EXPECT_EQ(format_money(-150, "USD"), "-1.50 USD");
    EXPECT_EQ(format_money(1500, "JPY"), "1500 JPY");
    EXPECT_EQ(message_id_for("a b:c/<d>", settings()), "a.b.c..d.@example.com");
}

/* ---- the SMTP client ---- */

namespace {

// A loopback listener on an ephemeral port.
struct Listener {
    int fd = -1;
    int port = 0;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, 8);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd); }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port); }
};

// Speaks just enough SMTP to answer RCPT TO with `rcpt_reply`; records what
// the client sent.
void fake_server(int listen_fd, std::string rcpt_reply, std::string* seen) {
    int c = ::accept(listen_fd, nullptr, nullptr);
    if (c < 0) return;
    auto say = [&](const std::string& s) { (void)!::write(c, s.data(), s.size()); };
    say("220 fake ESMTP\r\n");
    std::string buf;
    char tmp[4096];
    bool data = false;
    while (true) {
        ssize_t n = ::read(c, tmp, sizeof tmp);
        if (n <= 0) break;
        buf.append(tmp, static_cast<std::size_t>(n));
        std::size_t e;
        while ((e = buf.find("\r\n")) != std::string::npos) {
            std::string line = buf.substr(0, e);
            buf.erase(0, e + 2);
            *seen += line + "\n";
            if (data) {
                if (line == ".") {
                    data = false;
                    say("250 queued\r\n");
                }
                continue;
            }
            if (line.rfind("EHLO", 0) == 0)
                say("250 fake\r\n");
            else if (line.rfind("MAIL FROM", 0) == 0)
                say("250 ok\r\n");
            else if (line.rfind("RCPT TO", 0) == 0)
                say(rcpt_reply + "\r\n");
            else if (line == "DATA") {
                say("354 go\r\n");
                data = true;
            } else if (line == "QUIT") {
                say("221 bye\r\n");
                ::close(c);
                return;
            } else
                say("250 ok\r\n");
        }
    }
    ::close(c);
}

}  // namespace

TEST(Smtp, DeliversTheMessageWithEnvelopeAndDotStuffing) {
    Listener l;
    std::string seen;
    std::thread t(fake_server, l.fd, "250 ok", &seen);
    smtp_send({l.url(), 2000, 5000}, "from@example.com", "to@example.com",
              "Subject: x\r\n\r\n.starts with a dot\r\nbody\r\n");
    t.join();
    EXPECT_NE(seen.find("MAIL FROM:<from@example.com>"), std::string::npos) << seen;
    EXPECT_NE(seen.find("RCPT TO:<to@example.com>"), std::string::npos) << seen;
    EXPECT_NE(seen.find("\n..starts with a dot\n"), std::string::npos) << seen;
}

TEST(Smtp, ARejectedRecipientIsPermanentARefusedConnectionIsNot) {
    {
        Listener l;
        std::string seen;
        std::thread t(fake_server, l.fd, "550 no such user", &seen);
        try {
            smtp_send({l.url(), 2000, 5000}, "from@example.com", "to@example.com", "x\r\n");
            ADD_FAILURE() << "no error";
        } catch (const SmtpError& e) {
            EXPECT_TRUE(e.permanent()) << e.what();
        }
        t.join();
    }
    {
        Listener l;
        std::string seen;
        std::thread t(fake_server, l.fd, "451 try again later", &seen);
        try {
            smtp_send({l.url(), 2000, 5000}, "from@example.com", "to@example.com", "x\r\n");
            ADD_FAILURE() << "no error";
        } catch (const SmtpError& e) {
            EXPECT_FALSE(e.permanent()) << e.what();
        }
        t.join();
    }
    int port;
    {
        Listener l;
        port = l.port;
    }  // closed: nothing listens there now
    try {
        smtp_send({"smtp://127.0.0.1:" + std::to_string(port), 2000, 5000}, "a@b.c", "d@e.f",
                  "x\r\n");
        ADD_FAILURE() << "no error";
    } catch (const SmtpError& e) {
        EXPECT_FALSE(e.permanent()) << e.what();
    }
}

TEST(Smtp, AFrozenServerEndsInATimeoutNotAHang) {
    Listener l;  // listens, never accepts: the kernel completes the handshake, no greeting
    try {
        smtp_send({l.url(), 300, 500}, "a@b.c", "d@e.f", "x\r\n");
        ADD_FAILURE() << "no error";
    } catch (const SmtpError& e) {
        EXPECT_FALSE(e.permanent());
        EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    }
}

TEST(Smtp, RefusesBadUrlsAndAddressesAndKnowsLoopback) {
    EXPECT_THROW(smtp_send({"http://127.0.0.1:1", 100, 100}, "a@b.c", "d@e.f", ""),
                 std::invalid_argument);
    EXPECT_THROW(smtp_send({"smtp://127.0.0.1:1", 100, 100}, "a@b.c", "d@e.f>\r\nDATA", ""),
                 std::invalid_argument);
    EXPECT_TRUE(smtp_host_is_loopback("smtp://127.0.0.1:8025"));
    EXPECT_TRUE(smtp_host_is_loopback("smtp://localhost:25"));
    EXPECT_TRUE(smtp_host_is_loopback("smtp://[::1]:25"));
    EXPECT_FALSE(smtp_host_is_loopback("smtp://user:pw@smtp.example.com:587"));
    EXPECT_FALSE(smtp_host_is_loopback("smtp://127.0.0.1.evil.com:25"));
}
