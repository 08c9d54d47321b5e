#include "daemon/control/control.hpp"

#include "core/text/utf8.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace deepclean::daemon {

namespace {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

constexpr auto kRequestTimeout = std::chrono::seconds(5);

std::string error_reply(const std::string& text) {
  return nlohmann::json{{"ok", false}, {"error", text}}.dump();
}

std::runtime_error socket_error(const std::string& path, const std::string& what, int err) {
  return std::runtime_error(path + ": " + what + ": " + std::strerror(err));
}

// A connected socket to `path`, or -1 with errno set.
int connect_to(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

struct Connection {
  explicit Connection(stream::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  stream::socket socket;
  asio::steady_timer timer;
  std::string in, out;
};

}  // namespace

std::vector<std::string> control_words(const std::string& line) {
  if (text::first_invalid_utf8(line)) throw std::invalid_argument("the request is not UTF-8 text");
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::string p, Handler h) : path(std::move(p)), handler(std::move(h)), acceptor(io) {}

  std::string path;
  Handler handler;
  stream::acceptor acceptor;
  std::uint64_t refused = 0;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, stream::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      if (!ec) self->serve(std::make_shared<Connection>(std::move(s)));
      self->accept();
    });
  }

  void serve(const std::shared_ptr<Connection>& c) {
    c->timer.expires_after(kRequestTimeout);
    c->timer.async_wait([c](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        c->socket.close(ignored);
      }
    });
    // The request is read whoever sent it: closing with unread data would reset the connection
    // before the refusal arrives.
    asio::async_read_until(c->socket, asio::dynamic_buffer(c->in, kMaxControlRequest), '\n',
                           [self = shared_from_this(), c](const boost::system::error_code& ec, std::size_t n) {
                             c->timer.cancel();
                             if (ec) return;  // closed, timed out, or a line longer than kMaxControlRequest
                             self->answer(c, c->in.substr(0, n - 1));
                           });
  }

  void answer(const std::shared_ptr<Connection>& c, const std::string& request) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(c->socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != ::geteuid() && cred.uid != 0)) {
      ++refused;
      spdlog::warn("control socket {}: request `{}` from uid {} refused (only the service's user, uid {}, or root "
                   "may control it)",
                   path, request, cred.uid, ::geteuid());
      reply(c, error_reply("refused: uid " + std::to_string(cred.uid) + " may not control this service (uid " +
                           std::to_string(::geteuid()) + ")"));
      return;
    }
    std::string out;
    try {
      const std::vector<std::string> words = control_words(request);
      out = words.empty() ? error_reply("empty request") : handler(words);
    } catch (const std::exception& e) {
      out = error_reply(e.what());
    }
    reply(c, out);
  }

  void reply(const std::shared_ptr<Connection>& c, std::string text) {
    c->out = std::move(text) + "\n";
    asio::async_write(c->socket, asio::buffer(c->out), [c](const boost::system::error_code&, std::size_t) {
      boost::system::error_code ignored;
      c->socket.shutdown(stream::socket::shutdown_both, ignored);
      c->socket.close(ignored);
    });
  }
};

ControlServer::ControlServer(asio::io_context& io, std::string path, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(path), std::move(handler))) {
  namespace fs = std::filesystem;
  const std::string& p = impl_->path;
  std::error_code ec;
  const fs::path parent = fs::path(p).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec) throw std::runtime_error(p + ": cannot create its directory: " + ec.message());
  }
  const auto st = fs::symlink_status(p, ec);
  if (!ec && fs::exists(st)) {
    if (!fs::is_socket(st)) throw std::runtime_error(p + ": exists and is not a socket; remove it or choose another control.socket");
    const int fd = connect_to(p);
    if (fd >= 0) {
      ::close(fd);
      throw std::runtime_error(p + ": another process is listening on it (a second deepclean run on the same "
                               "configuration?)");
    }
    fs::remove(p, ec);  // left behind by a service that did not stop cleanly
  }
  try {
    impl_->acceptor.open(stream());
    impl_->acceptor.bind(stream::endpoint(p));
    impl_->acceptor.listen();
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error(p + ": cannot listen: " + e.code().message());
  }
  if (::chmod(p.c_str(), S_IRUSR | S_IWUSR) != 0) throw socket_error(p, "cannot restrict it to its owner", errno);
  impl_->accept();
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  ::unlink(impl_->path.c_str());
}

const std::string& ControlServer::path() const { return impl_->path; }
std::uint64_t ControlServer::refused() const { return impl_->refused; }

std::string control_request(const std::string& socket_path, const std::vector<std::string>& words,
                            std::chrono::milliseconds timeout) {
  const int fd = connect_to(socket_path);
  if (fd < 0) {
    const int err = errno;
    throw std::runtime_error(socket_path + ": cannot connect: " + std::strerror(err) +
                             (err == ENOENT || err == ECONNREFUSED
                                  ? " (is `deepclean run` running with this control.socket?)"
                                  : err == EACCES ? " (the socket is its owner's only: run as the service's user)" : ""));
  }
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string line;
  for (const auto& w : words) line += (line.empty() ? "" : " ") + w;
  line += "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw socket_error(socket_path, "cannot send the request", err);
    }
    done += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw socket_error(socket_path, err == EAGAIN ? "no reply in time" : "cannot read the reply", err);
    }
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (reply.empty()) throw std::runtime_error(socket_path + ": the service closed the connection without a reply");
  if (reply.back() == '\n') reply.pop_back();
  return reply;
}

}  // namespace deepclean::daemon
