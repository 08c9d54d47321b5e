// The control socket, in-process: requests and replies, its owner-only mode, a stale socket
// replaced, a live one never stolen, and a request from another user refused (run as `nobody`
// through setpriv when the tests run as root).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <nlohmann/json.hpp>

#include <thread>

#include "common/test_support.hpp"
#include "daemon/control/control.hpp"

namespace deepclean::daemon {
namespace {

using deepclean::testing::TempDir;

// A server on its own io_context thread; the handler echoes the words.
struct Running {
  explicit Running(const std::string& path)
      : work(boost::asio::make_work_guard(io)),
        server(io, path,
               [](const std::vector<std::string>& words) {
                 if (words[0] == "fail") throw std::runtime_error("no such version: " + words.at(1));
                 return nlohmann::json{{"ok", true}, {"words", words}}.dump();
               }),
        thread([this] { io.run(); }) {}
  ~Running() {
    work.reset();
    io.stop();
    thread.join();
  }
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  ControlServer server;
  std::thread thread;
};

TEST(Control, AnswersEachRequestWithTheHandlersReply) {
  TempDir tmp;
  const std::string path = (tmp.path / "run" / "H1.sock").string();
  Running r(path);
  const auto a = nlohmann::json::parse(control_request(path, {"status"}));
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["words"], nlohmann::json::array({"status"}));
  const auto b = nlohmann::json::parse(control_request(path, {"promote", "v2"}));
  EXPECT_EQ(b["words"], nlohmann::json::array({"promote", "v2"}));
  const auto c = nlohmann::json::parse(control_request(path, {"fail", "v9"}));
  EXPECT_EQ(c["ok"], false);
  EXPECT_EQ(c["error"], "no such version: v9");
  const auto d = nlohmann::json::parse(control_request(path, {}));
  EXPECT_EQ(d["error"], "empty request");
  // The fuzzer's finding (fuzz_control): a request that is not UTF-8 reached the handler, whose
  // JSON reply then could not be written. It is answered before the handler now.
  const auto e = nlohmann::json::parse(control_request(path, {"promote", "\xbd\xd9"}));
  EXPECT_EQ(e["ok"], false);
  EXPECT_EQ(e["error"], "the request is not UTF-8 text");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // owner-only
}

TEST(Control, AStaleSocketIsReplacedALiveOneIsNot) {
  TempDir tmp;
  const std::string path = (tmp.path / "H1.sock").string();
  {
    Running first(path);
    try {
      boost::asio::io_context io2;
      ControlServer second(io2, path, [](const std::vector<std::string>&) { return std::string("{}"); });
      FAIL() << "a second server took over a live socket";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("another process is listening"), std::string::npos) << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists(path));  // removed at a clean stop
  // A socket file nobody listens on (a crash): replaced.
  {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::acceptor stale(io, boost::asio::local::stream_protocol::endpoint(path));
    stale.close();
  }
  ASSERT_TRUE(std::filesystem::exists(path));
  Running r(path);
  EXPECT_EQ(nlohmann::json::parse(control_request(path, {"status"}))["ok"], true);
  // Not a socket: refused, naming the path.
  const std::string file = (tmp.path / "plain").string();
  deepclean::testing::write_file(file, "x");
  boost::asio::io_context io3;
  try {
    ControlServer s(io3, file, [](const std::vector<std::string>&) { return std::string("{}"); });
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file + ": exists and is not a socket"), std::string::npos) << e.what();
  }
}

TEST(Control, NoServiceIsAClearError) {
  TempDir tmp;
  try {
    (void)control_request((tmp.path / "none.sock").string(), {"status"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is `deepclean run` running"), std::string::npos) << e.what();
  }
}

TEST(Control, ARequestFromAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to send a request as another user (nobody)";
  if (deepclean::testing::run_shell("command -v setpriv > /dev/null") != 0) GTEST_SKIP() << "setpriv not found";
  TempDir tmp;
  std::filesystem::permissions(tmp.path, std::filesystem::perms::all);  // nobody may reach the socket...
  const std::string path = (tmp.path / "H1.sock").string();
  Running r(path);
  // ...whose mode an operator loosened by mistake: the peer check still refuses.
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  const std::string client =
      "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'promote v2\\n');"
      " print(s.makefile().read(), end='')";
  std::string out;
  const int rc = deepclean::testing::run_shell("setpriv --reuid=65534 --regid=65534 --clear-groups " +
                                                   std::string(DEEPCLEAN_PYTHON) + " -c " +
                                                   deepclean::testing::sh_quote(client) + " " + path,
                                               &out);
  ASSERT_EQ(rc, 0) << out;
  const auto reply = nlohmann::json::parse(out);
  EXPECT_EQ(reply["ok"], false);
  EXPECT_NE(reply["error"].get<std::string>().find("refused: uid 65534"), std::string::npos) << out;
  EXPECT_EQ(r.server.refused(), 1u);
  // The owner is still served.
  EXPECT_EQ(nlohmann::json::parse(control_request(path, {"status"}))["ok"], true);
}

}  // namespace
}  // namespace deepclean::daemon
