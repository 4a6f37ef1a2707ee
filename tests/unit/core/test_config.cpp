// lib/core/config: file values, environment overrides, and one clear line per bad value.
#include <cppunit/extensions/HelperMacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "lib/core/config.h"

class ConfigTest : public CppUnit::TestFixture {
  CPPUNIT_TEST_SUITE(ConfigTest);
  CPPUNIT_TEST(DefaultsWithoutFile);
  CPPUNIT_TEST(FileThenEnvironment);
  CPPUNIT_TEST(BadValuesNameTheKey);
  CPPUNIT_TEST(MissingExplicitFileIsAnError);
  CPPUNIT_TEST(KeyFileIsRead);
  CPPUNIT_TEST(ConfigPathFromArgvEnvironmentOrDefault);
  CPPUNIT_TEST(GitIdleTimeout);
  CPPUNIT_TEST_SUITE_END();

  std::string dir_;

  std::string Write(const std::string& name, const std::string& text) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 public:
  void setUp() override {
    char tmpl[] = "/tmp/kod-config-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (const char* v : {"KOD_CONFIG", "KOD_WORKERS", "KOD_DB_PORT", "KOD_SOCKET", "KOD_LOG_LEVEL", "KOD_ENCRYPTION_KEY",
                          "KOD_ENCRYPTION_KEY_FILE", "KOD_ADMIN_TOKEN", "KOD_SOCKET_MODE",
                          "KOD_GIT_IDLE_TIMEOUT_S", "KOD_SERVER_BASE_PATH"})
      unsetenv(v);
  }
  void tearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void ConfigPathFromArgvEnvironmentOrDefault() {
    char prog[] = "kod", flag[] = "--config", path[] = "/x/kod.ini", joined[] = "--config=/y/kod.ini";
    char* with_flag[] = {prog, flag, path};
    char* with_joined[] = {prog, joined};
    char* bare[] = {prog};
    bool is_explicit = false;
    CPPUNIT_ASSERT_EQUAL(std::string("/x/kod.ini"), kod::ConfigPath(3, with_flag, &is_explicit));
    CPPUNIT_ASSERT(is_explicit);
    CPPUNIT_ASSERT_EQUAL(std::string("/y/kod.ini"), kod::ConfigPath(2, with_joined, nullptr));
    setenv("KOD_CONFIG", "/z/kod.ini", 1);
    CPPUNIT_ASSERT_EQUAL(std::string("/z/kod.ini"), kod::ConfigPath(1, bare, &is_explicit));
    CPPUNIT_ASSERT(is_explicit);
    unsetenv("KOD_CONFIG");
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/kod/kod.ini"), kod::ConfigPath(1, bare, &is_explicit));
    CPPUNIT_ASSERT(!is_explicit);
    CPPUNIT_ASSERT_EQUAL(std::string("/etc/kod/kod.ini"), kod::ConfigPath(1, bare, nullptr));  // null is allowed
  }

  void DefaultsWithoutFile() {
    auto c = kod::LoadConfig(dir_ + "/absent.ini", false, "/opt/kod");
    CPPUNIT_ASSERT(c.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("/run/kod/fcgi.sock"), c->socket);
    CPPUNIT_ASSERT_EQUAL(3306, c->db_port);
    CPPUNIT_ASSERT_EQUAL(std::string("/opt/kod/hooks"), c->hooks_dir);
    CPPUNIT_ASSERT(c->workers >= 2);
  }

  void GitIdleTimeout() {
    auto d = kod::LoadConfig(dir_ + "/absent.ini", false, "/opt/kod");
    CPPUNIT_ASSERT_EQUAL(60, d->git_idle_timeout_s);
    std::string p = Write("g.ini", "[git]\nidle_timeout_s = 5\n");
    CPPUNIT_ASSERT_EQUAL(5, kod::LoadConfig(p, true, "/opt/kod")->git_idle_timeout_s);
    setenv("KOD_GIT_IDLE_TIMEOUT_S", "7", 1);
    auto e = kod::LoadConfig(p, true, "/opt/kod");
    setenv("KOD_GIT_IDLE_TIMEOUT_S", "0", 1);
    auto bad = kod::LoadConfig(p, true, "/opt/kod");
    unsetenv("KOD_GIT_IDLE_TIMEOUT_S");
    CPPUNIT_ASSERT_EQUAL(7, e->git_idle_timeout_s);
    CPPUNIT_ASSERT(!bad.ok());
    CPPUNIT_ASSERT(bad.status().message.find("git.idle_timeout_s") != std::string::npos);
  }

  void FileThenEnvironment() {
    std::string p = Write("a.ini", "[server]\nworkers = 3\nsocket = /tmp/x.sock\n[database]\nport = 3307\n");
    setenv("KOD_DB_PORT", "4000", 1);
    auto c = kod::LoadConfig(p, true, "/opt/kod");
    unsetenv("KOD_DB_PORT");
    CPPUNIT_ASSERT(c.ok());
    CPPUNIT_ASSERT_EQUAL(3, c->workers);
    CPPUNIT_ASSERT_EQUAL(std::string("/tmp/x.sock"), c->socket);
    CPPUNIT_ASSERT_EQUAL(4000, c->db_port);  // the environment wins
    setenv("KOD_SERVER_BASE_PATH", "/code/git", 1);
    auto b = kod::LoadConfig(p, true, "/opt/kod");
    unsetenv("KOD_SERVER_BASE_PATH");
    CPPUNIT_ASSERT(b.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("/code/git"), b->base_path);
  }

  void BadValuesNameTheKey() {
    struct {
      const char* ini;
      const char* key;
    } rows[] = {
        {"[server]\nworkers = many\n", "server.workers"},
        {"[server]\nworkers = 0\n", "server.workers"},
        {"[database]\nport = 70000\n", "database.port"},
        {"[storage]\nrepos_dir = relative/path\n", "storage.repos_dir"},
        {"[log]\nlevel = chatty\n", "log.level"},
        {"[auth]\nadmin_token = short\n", "auth.admin_token"},
        {"[server]\nsocket_mode = 999\n", "server.socket_mode"},
        {"[server]\nbase_path = git\n", "server.base_path"},
        {"[server]\nbase_path = /git/\n", "server.base_path"},
        {"[server]\nbase_path = /a/../b\n", "server.base_path"},
        {"[server]\nbase_path = /a b\n", "server.base_path"},
        {"[server]\nbase_path = //git\n", "server.base_path"},
    };
    for (const auto& r : rows) {
      auto c = kod::LoadConfig(Write("bad.ini", r.ini), true, "/opt/kod");
      CPPUNIT_ASSERT_MESSAGE(r.ini, !c.ok());
      CPPUNIT_ASSERT_MESSAGE(c.status().message, c.status().message.find(r.key) != std::string::npos);
    }
  }

  void MissingExplicitFileIsAnError() {
    auto c = kod::LoadConfig(dir_ + "/absent.ini", true, "/opt/kod");
    CPPUNIT_ASSERT(!c.ok());
  }

  void KeyFileIsRead() {
    std::string key = Write("key", "correct horse battery staple\n");
    setenv("KOD_ENCRYPTION_KEY_FILE", key.c_str(), 1);
    auto c = kod::LoadConfig("", false, "/opt/kod");
    unsetenv("KOD_ENCRYPTION_KEY_FILE");
    CPPUNIT_ASSERT(c.ok());
    CPPUNIT_ASSERT_EQUAL(std::string("correct horse battery staple"), c->encryption_key);
  }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
