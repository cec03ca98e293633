#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bazaar/mail/mail.hpp"

using namespace bazaar::mail;

namespace {
Settings settings(const std::string& dir = "") {
    return {"Book Bazar <no-reply@example.com>", "https://shop.example", dir};
}
}  // namespace

TEST(Mail, WelcomeAndResetTemplates) {
    auto w = render("welcome", {{"to", "a@example.com"}, {"username", "Ann"}}, settings());
    EXPECT_EQ(w.to, "a@example.com");
    EXPECT_NE(w.subject.find("Ann"), std::string::npos);
    auto r =
        render("password_reset",
               {{"to", "a@example.com"}, {"username", "Ann"}, {"token", "abc123"}, {"ttlS", 3600}},
               settings());
    EXPECT_NE(r.text.find("abc123"), std::string::npos);
    EXPECT_NE(r.text.find("60 minutes"), std::string::npos);
    EXPECT_NE(r.text.find("https://shop.example/reset-password?token=abc123"), std::string::npos);
    EXPECT_THROW(render("nope", {{"to", "a@b.c"}, {"username", "x"}}, settings()),
                 std::invalid_argument);
    EXPECT_THROW(render("password_reset", {{"to", "a@b.c"}, {"username", "x"}}, settings()),
                 std::invalid_argument);
}

TEST(Mail, EmlHasCrlfHeadersAndNoInjectedHeader) {
    auto m = render("welcome", {{"to", "a@example.com"}, {"username", "Eve\r\nBcc: x@evil"}},
                    settings());
    std::string eml = to_eml(m);
    EXPECT_EQ(eml.rfind("From: Book Bazar <no-reply@example.com>\r\nTo: a@example.com\r\n", 0), 0u);
    std::string headers = eml.substr(0, eml.find("\r\n\r\n"));
    EXPECT_EQ(headers.find("\r\nBcc:"), std::string::npos) << headers;
    EXPECT_NE(eml.find("\r\n\r\nHello"), std::string::npos);
    EXPECT_EQ(eml.find("\n\n"), std::string::npos) << "every line ends with CRLF";
}

TEST(Mail, NonAsciiSubjectIsEncoded) {
    auto m = render("welcome", {{"to", "a@example.com"}, {"username", "Zoë"}}, settings());
    EXPECT_NE(to_eml(m).find("Subject: =?UTF-8?B?"), std::string::npos);
}

TEST(Mail, DeliverWritesOneFilePerKey) {
    auto dir = std::filesystem::temp_directory_path() / ("mail-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    auto s = settings(dir.string());
    auto m = render("welcome", {{"to", "a@example.com"}, {"username", "Ann"}}, s);
    auto p1 = deliver(m, s, "welcome-job:1/../x");
    auto p2 = deliver(m, s, "welcome-job:1/../x");  // a job that ran twice
    EXPECT_EQ(p1, p2);
    EXPECT_EQ(std::filesystem::path(p1).parent_path(), dir);
    int files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        ++files;
        EXPECT_EQ(e.path().extension(), ".eml");
    }
    EXPECT_EQ(files, 1);
    std::ifstream f(p1);
    std::stringstream ss;
    ss << f.rdbuf();
    EXPECT_EQ(ss.str(), to_eml(m));
    std::filesystem::remove_all(dir);
}
