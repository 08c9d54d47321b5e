// The publication loop of `deepclean simulate`: generates seconds, injects faults and publishes the
// files atomically, either as fast as possible or paced by the GPS clock (docs/simulator.md).
#pragma once

#include <atomic>
#include <cstdint>
#include <ostream>
#include <string>

#include "io/gwf/frame.hpp"
#include "sim/faults.hpp"
#include "sim/simulator.hpp"

namespace deepclean::sim {

struct RunOptions {
  std::string out_dir;
  std::int64_t start = 0;
  std::int64_t duration = 0;     // seconds; 0 with `realtime`: until *stop
  bool realtime = false;
  double speed = 0;              // without `realtime`: simulated seconds per wall second (0: as fast as possible)
  SimOptions sim;
  FaultSpec faults;
  gwf::Compression compression = gwf::Compression::Zlib;
  int zlib_level = 1;
  std::int64_t retention = 0;    // > 0: delete a file this many seconds after publishing a newer one
  std::ostream* log = nullptr;   // one line per publication (and per skipped file)
  const std::atomic<bool>* stop = nullptr;
};

struct RunStats {
  std::int64_t seconds = 0;      // seconds generated
  std::int64_t files = 0;        // publications (a duplicate counts twice)
  double cpu_seconds = 0;        // process CPU time spent generating + encoding + writing
  double wall_seconds = 0;
};

// <out>/kafka/<IFO> and <out>/lldetchar/<IFO>, the layout of a site's /dev/shm.
std::string strain_directory(const std::string& out, const std::string& ifo);
std::string witness_directory(const std::string& out, const std::string& ifo);
std::string strain_file_name(const std::string& ifo, std::int64_t gps);   // H-H1_llhoft-<gps>-1.gwf
std::string witness_file_name(const std::string& ifo, std::int64_t gps);  // H-H1_lldetchar-<gps>-1.gwf

// GPS time now: Unix time - 315964800 + 18 leap seconds (valid since 2017-01-01, no leap second since).
double gps_now();

// Writes `bytes` to `<dir>/.<name>.<pid>.tmp`, fsyncs, renames to `<dir>/<name>`, fsyncs the directory.
void publish_bytes(const std::string& dir, const std::string& name, const std::vector<std::byte>& bytes);

RunStats run_simulation(const RunOptions& options);

}  // namespace deepclean::sim
