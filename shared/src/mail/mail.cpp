#include "bazaar/mail/mail.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "bazaar/text/base64.hpp"
#include "bazaar/time.hpp"

namespace bazaar::mail {

namespace {

// Header values come partly from users (username): CR and LF would start a
// new header, so they are replaced, never passed through.
std::string header_safe(std::string v) {
    for (auto& c : v)
        if (c == '\r' || c == '\n') c = ' ';
    return v;
}

bool is_ascii(const std::string& s) {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

// RFC 2047 encoded-word for a non-ASCII subject.
std::string encode_header_text(const std::string& s) {
    if (is_ascii(s)) return s;
    return "=?UTF-8?B?" + text::base64_encode(s) + "?=";
}

std::string rfc5322_date() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

std::string required(const nlohmann::json& data, const char* field) {
    auto it = data.find(field);
    if (it == data.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        throw std::invalid_argument(std::string("email job data lacks '") + field + "'");
    return it->get<std::string>();
}

std::string crlf(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

}  // namespace

Message render(const std::string& template_name, const nlohmann::json& data, const Settings& s) {
    if (!data.is_object()) throw std::invalid_argument("email job data must be an object");
    Message m;
    m.from = s.from;
    m.to = required(data, "to");
    m.message_id = random_hex(16) + "@bookbazar";
    m.date = rfc5322_date();
    std::string name = required(data, "username");
    if (template_name == "welcome") {
        m.subject = "Welcome to Book Bazar, " + name;
        m.text = "Hello " + name + ",\n\n" +
                 "your Book Bazar account is ready. Browse the catalog at " + s.public_base_url +
                 "/ and keep your favorites in one place.\n\n" + "Happy reading,\nBook Bazar\n";
    } else if (template_name == "password_reset") {
        std::string token = required(data, "token");
        long ttl_min = data.value("ttlS", 3600L) / 60;
        m.subject = "Reset your Book Bazar password";
        m.text = "Hello " + name + ",\n\n" +
                 "someone asked to reset the password of this account. If it was you, use this "
                 "code within " +
                 std::to_string(ttl_min) + " minutes:\n\n    " + token + "\n\n" + "or open " +
                 s.public_base_url + "/reset-password?token=" + token + "\n\n" +
                 "If it was not you, ignore this email: your password stays as it is.\n\n"
                 "Book Bazar\n";
    } else {
        throw std::invalid_argument("unknown email template '" + template_name + "'");
    }
    return m;
}

std::string to_eml(const Message& m) {
    std::string out;
    out += "From: " + header_safe(m.from) + "\r\n";
    out += "To: " + header_safe(m.to) + "\r\n";
    out += "Subject: " + encode_header_text(header_safe(m.subject)) + "\r\n";
    out += "Date: " + header_safe(m.date) + "\r\n";
    out += "Message-ID: <" + header_safe(m.message_id) + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n";
    out += "\r\n";
    out += crlf(m.text);
    return out;
}

std::string deliver(const Message& m, const Settings& s, const std::string& key) {
    std::filesystem::create_directories(s.mail_dir);
    std::string stem = key.empty() ? random_hex(8) : key;
    for (auto& c : stem) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok) c = '_';
    }
    if (stem.front() == '.') stem.front() = '_';
    std::string path = s.mail_dir + "/" + stem + ".eml";
    std::string tmp = path + "." + random_hex(4) + ".tmp";
    std::string content = to_eml(m);
    // Write then rename: a reader (a test, a mail pickup) never sees half a file.
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) throw std::runtime_error("cannot create " + tmp);
    std::size_t off = 0;
    while (off < content.size()) {
        ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n <= 0) {
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write " + tmp);
        }
        off += static_cast<std::size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot rename " + tmp);
    }
    return path;
}

}  // namespace bazaar::mail
