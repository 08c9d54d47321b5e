// The operator's control socket of `deepclean run` (control.socket; docs/operations.md): a Unix
// stream socket, owner-only (mode 0600), taking one request line per connection ("status",
// "promote v3") and answering with one JSON object, then closing. A request from a user other than
// the service's own (or root) is refused, whatever the socket's mode (SO_PEERCRED). `deepclean ctl`
// is the client.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace deepclean::daemon {

// The longest request line the server reads; a longer one closes the connection unanswered.
inline constexpr std::size_t kMaxControlRequest = 4096;

// A request line's words (split at white space), as the server hands them to its handler. Throws
// std::invalid_argument for a line that is not UTF-8 (the server answers with that error).
std::vector<std::string> control_words(const std::string& line);

class ControlServer {
 public:
  // Answers a request (its words; never empty) with a JSON object's text. Runs on the io_context's
  // thread, between two seconds of cleaning.
  using Handler = std::function<std::string(const std::vector<std::string>& words)>;

  // Listens on `path` (its directory is created; a stale socket left by a crashed service is
  // replaced). Throws std::runtime_error naming the path when it cannot listen, or when another
  // process already answers on it.
  ControlServer(boost::asio::io_context& io, std::string path, Handler handler);
  ~ControlServer();  // stops listening and removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const;
  std::uint64_t refused() const;  // requests refused for their user

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Sends one request and returns the reply. Throws std::runtime_error naming the socket when it cannot
// connect, or no reply came within `timeout`.
std::string control_request(const std::string& socket_path, const std::vector<std::string>& words,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace deepclean::daemon
