// The training archive (issue 16, docs/retraining.md): the live service keeps what a model needs to be
// trained again (the strain and the witnesses of every good input second) for a configured span,
// because the shared input directory holds only minutes. Written with our GWF writer as chunk files
//
//     <directory>/<O>-<frame_type>-<first GPS>-<span>.gwf
//
// each holding one 1-s frame per archived second from `first` over `span` seconds (a second that was
// not good, or not observing, is a hole: no frame). A chunk is written whole, atomically (aside, then
// renamed in), by a thread of its own, so the cleaner never waits for the disk. Retention: chunks that
// end more than `span_seconds` before the newest archived second are removed, and then the oldest
// while the archive is over its byte budget; a write that fails for lack of space removes the oldest
// chunk and tries once more, then drops the chunk with an error. A restart keeps what was written
// (the chunk being filled is written at stop).
//
// The reader serves `deepclean train` / `deepclean retrain`: one second by GPS, good or the reason
// it is not (a hole, a corrupt chunk, a channel missing).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "io/gwf/frame.hpp"

namespace deepclean::gwf {
class FrameFile;
}

namespace deepclean::daemon::archive {

struct Settings {
  std::filesystem::path directory;
  std::string ifo = "H1";             // the frames' name; its first letter starts the file names
  std::string frame_type;             // e.g. H1_DEEPCLEAN_ARCHIVE
  std::uint64_t span_seconds = 8192;  // kept back from the newest archived second
  std::uint64_t chunk_seconds = 64;
  std::uint64_t max_bytes = 0;        // byte budget of the directory's chunks; 0: none
  gwf::Compression compression = gwf::Compression::Zlib;
};

// One good input second, as archived.
struct Second {
  std::uint64_t gps = 0;
  gwf::Channel strain;                            // as read (its stored type, unit, slope and bias)
  std::vector<std::string> witness_names;
  std::vector<std::vector<double>> witnesses;     // physical values (stored as float32)
  std::vector<double> witness_rates;
};

struct Chunk {
  std::filesystem::path path;
  std::uint64_t first = 0, span = 0;  // GPS [first, first + span)
  std::uintmax_t bytes = 0;
};

// The chunk files of the archive's frame type, by first GPS (other files are ignored). An absent
// directory lists nothing.
std::vector<Chunk> list_chunks(const Settings& s);

struct WriterStats {
  std::uint64_t chunks_written = 0, seconds_written = 0;
  std::uint64_t chunks_removed = 0;   // by retention
  std::uint64_t chunks_dropped = 0;   // not written (no space even after removing the oldest, I/O error)
  std::uintmax_t bytes = 0;           // the archive's chunks after the last write
  std::uint64_t oldest_gps = 0, newest_gps = 0;  // 0: empty
  std::string last_error;
};

class Writer {
 public:
  explicit Writer(Settings s);  // creates the directory (throws std::runtime_error naming it)
  ~Writer();                    // writes the partial chunk and waits for the thread
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Cheap: moves the second into the chunk being filled; a chunk whose span is full (or a second
  // beyond it) is handed to the thread. Seconds must come in increasing GPS order; others are ignored.
  void add(Second s);
  // Hands the partial chunk to the thread and waits until every handed chunk is on disk.
  void flush();
  WriterStats stats() const;
  const Settings& settings() const { return s_; }

 private:
  struct Pending {
    std::uint64_t first = 0;
    std::vector<Second> seconds;
  };
  void hand_over();
  void run();
  void write(Pending& p);
  void retain();

  Settings s_;
  Pending filling_;
  std::optional<std::uint64_t> last_added_;
  mutable std::mutex mutex_;
  std::condition_variable cv_, idle_;
  std::deque<Pending> queue_;
  bool busy_ = false, stop_ = false;
  WriterStats stats_;
  std::thread thread_;
};

// The seconds a chunk file holds: GPS -> frame index. Throws gwf::FormatError naming `file` when a
// frame is not one whole GPS second.
std::map<std::uint64_t, std::size_t> chunk_seconds(const gwf::FrameFile& f, const std::string& file);

// One second read back.
struct ReadSecond {
  bool good = false;
  std::string reason;  // hole, corrupt, missing channel, non-finite
  std::string detail;  // names the file
  std::vector<double> strain;  // physical values
  double strain_rate = 0;
  std::vector<std::vector<double>> witnesses;  // in the order asked for
  std::vector<double> witness_rates;
};

class Reader {
 public:
  explicit Reader(Settings s);  // lists the chunks now
  const std::vector<Chunk>& chunks() const { return chunks_; }
  // [first, last + 1) of what the chunks cover (holes included); nullopt when empty.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> extent() const;
  ReadSecond read(std::uint64_t gps, const std::string& strain_channel,
                  const std::vector<std::string>& witness_channels) const;

 private:
  Settings s_;
  std::vector<Chunk> chunks_;
  struct Open;
  mutable std::shared_ptr<Open> open_;  // the last chunk read, with its frames' GPS
};

}  // namespace deepclean::daemon::archive
