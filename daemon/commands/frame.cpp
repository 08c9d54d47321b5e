// `deepclean frame ...`: dump, channels, copy, verify (issue 2, item 5), export (samples of one
// channel as raw float64, for scripts such as the demo's report).
// Every subcommand reports an unreadable input as one line on stderr naming the file and exits 1.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/commands/commands.hpp"
#include "io/gwf/reader.hpp"
#include "io/gwf/writer.hpp"

namespace deepclean::cli {
namespace {

using Json = nlohmann::ordered_json;

// One line naming the file: the reader's messages already start with it; others get it prefixed.
std::string one_line(const std::string& path, const std::string& what) {
  std::string msg = what.rfind(path, 0) == 0 ? what : path + ": " + what;
  for (char& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return msg;
}

// Statistics of the stored values (before ADC slope/bias; real part for complex): finite-only
// sum/min/max, first sample, count of NaN/Inf. The sum is the plain sequential double sum in sample
// order, the definition the reference values in ../shared/data/gwf/README.md use (a compensated sum
// differs from it in the 8th digit on strongly cancelling channels such as PyCBC_T2_0's).
struct Stats {
  std::uint64_t n = 0;
  double sum = 0;
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  double first = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t nonfinite = 0;
  bool any_finite = false;
};

Stats stats_of(const gwf::Vect& v) {
  Stats s;
  s.n = v.size();
  if (v.type == gwf::DataType::String) return s;
  for (std::uint64_t i = 0; i < s.n; ++i) {
    const double x = v.real_at(i);
    if (i == 0) s.first = x;
    if (!std::isfinite(x)) {
      ++s.nonfinite;
      continue;
    }
    s.sum += x;
    if (!s.any_finite || x < s.min) s.min = x;
    if (!s.any_finite || x > s.max) s.max = x;
    s.any_finite = true;
  }
  return s;
}

Json number_or_null(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

Json channel_json(const gwf::Channel& c) {
  const Stats s = stats_of(c.data);
  Json j;
  j["name"] = c.name;
  j["kind"] = gwf::kind_name(c.kind);
  j["sample_rate"] = c.sample_rate;
  j["type"] = gwf::type_name(c.data.type);
  j["compress"] = c.data.compress;
  j["n"] = s.n;
  j["sum"] = s.sum;
  j["min"] = s.any_finite ? Json(s.min) : Json(nullptr);
  j["max"] = s.any_finite ? Json(s.max) : Json(nullptr);
  j["first"] = s.n > 0 ? number_or_null(s.first) : Json(nullptr);
  j["nonfinite"] = s.nonfinite;
  return j;
}

Json file_json(const std::string& path) {
  const auto file = gwf::FrameFile::open(path);
  Json j;
  j["file"] = path;
  j["version"] = file.version();
  Json frames = Json::array();
  for (std::size_t i = 0; i < file.frame_count(); ++i) {
    const gwf::Frame f = file.read_frame(i);
    Json fj;
    fj["gps_start"] = f.start.seconds();
    fj["duration"] = f.dt;
    Json chans = Json::array();
    for (const auto& c : f.channels) chans.push_back(channel_json(c));
    fj["channels"] = std::move(chans);
    frames.push_back(std::move(fj));
  }
  j["frames"] = std::move(frames);
  return j;
}

std::string fmt_num(const Json& v) {
  if (v.is_null()) return "null";
  std::ostringstream o;
  o.precision(10);
  o << v.get<double>();
  return o.str();
}

void print_text(const Json& fj, std::ostream& out) {
  out << fj["file"].get<std::string>() << ": version " << fj["version"].get<int>() << ", "
      << fj["frames"].size() << " frame(s)\n";
  std::size_t k = 0;
  for (const auto& f : fj["frames"]) {
    std::ostringstream gps;
    gps.precision(15);
    gps << f["gps_start"].get<double>();
    out << "  frame " << k++ << ": gps_start " << gps.str() << " duration " << fmt_num(f["duration"])
        << ", " << f["channels"].size() << " channel(s)\n";
    for (const auto& c : f["channels"]) {
      out << "    " << c["name"].get<std::string>() << " " << c["kind"].get<std::string>() << " "
          << fmt_num(c["sample_rate"]) << " Hz " << c["type"].get<std::string>() << " compress "
          << c["compress"].get<int>() << " n " << c["n"].get<std::uint64_t>() << " sum "
          << fmt_num(c["sum"]) << " min " << fmt_num(c["min"]) << " max " << fmt_num(c["max"])
          << " first " << fmt_num(c["first"]) << " nonfinite " << c["nonfinite"].get<std::uint64_t>()
          << "\n";
    }
  }
}

int run_dump(const std::vector<std::string>& files, bool json) {
  int rc = 0;
  Json all = Json::array();
  for (const auto& path : files) {
    try {
      Json fj = file_json(path);
      if (json) {
        all.push_back(std::move(fj));
      } else {
        print_text(fj, std::cout);
      }
    } catch (const std::exception& e) {
      std::cerr << "deepclean frame dump: " << one_line(path, e.what()) << "\n";
      rc = 1;
    }
  }
  if (json) std::cout << all.dump(1) << "\n";
  return rc;
}

int run_channels(const std::string& path) {
  try {
    const auto file = gwf::FrameFile::open(path);
    // Union over all frames in order of first appearance; rates come from the TOC listing when it
    // knows them and from the decoded frame otherwise.
    std::vector<std::pair<std::string, double>> rows;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < file.frame_count(); ++i) {
      const auto entries = file.channels(i);
      bool need_decode = false;
      for (const auto& e : entries) need_decode = need_decode || (e.sample_rate <= 0 && !seen.count(e.name));
      std::map<std::string, double> decoded;
      if (need_decode) {
        for (const auto& c : file.read_frame(i).channels) decoded.emplace(c.name, c.sample_rate);
      }
      for (const auto& e : entries) {
        if (!seen.insert(e.name).second) continue;
        rows.emplace_back(e.name, e.sample_rate > 0 ? e.sample_rate : decoded[e.name]);
      }
    }
    std::ostringstream out;
    out.precision(12);
    for (const auto& [name, rate] : rows) out << name << " " << rate << "\n";
    std::cout << out.str();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "deepclean frame channels: " << one_line(path, e.what()) << "\n";
    return 1;
  }
}

int run_copy(const std::string& in, const std::string& out, const std::string& compress) {
  gwf::WriteOptions o;
  o.unique_names = false;  // copy what is there, even files that repeat a name (digest §5)
  if (compress == "raw") {
    o.compression = gwf::Compression::Raw;
  } else if (compress == "zlib") {
    o.compression = gwf::Compression::Zlib;
  } else {
    o.compression = gwf::Compression::DiffZlib;  // falls back to zlib for non-integer types (§6)
  }
  std::vector<gwf::Frame> frames;
  try {
    const auto file = gwf::FrameFile::open(in);
    for (std::size_t i = 0; i < file.frame_count(); ++i) frames.push_back(file.read_frame(i));
  } catch (const std::exception& e) {
    std::cerr << "deepclean frame copy: " << one_line(in, e.what()) << "\n";
    return 1;
  }
  try {
    gwf::write_frame_file(out, frames, o);
  } catch (const std::exception& e) {
    std::cerr << "deepclean frame copy: " << one_line(out, e.what()) << "\n";
    return 1;
  }
  return 0;
}

int run_verify(const std::vector<std::string>& files) {
  int rc = 0;
  for (const auto& path : files) {
    const auto problems = gwf::FrameFile::verify_file(path);
    if (problems.empty()) {
      std::cout << path << ": OK\n";
      continue;
    }
    rc = 1;
    for (const auto& p : problems) std::cerr << one_line(path, p) << "\n";
  }
  return rc;
}

// The samples of `channel` in every frame of `files`, in order, as native-endian float64 (the stored
// values before ADC slope/bias, real part for complex: what `dump` summarises) written to `out_path`
// (`-`: stdout). The frames must be contiguous in time and share the channel's rate, so the output
// is one evenly sampled series; a summary line goes to stderr. Written to a temporary sibling and
// renamed, so a failed export leaves no partial file.
int run_export(const std::vector<std::string>& files, const std::string& channel, const std::string& out_path) {
  std::vector<double> samples;
  double rate = 0;
  double start = 0, next = 0;
  std::size_t frames = 0;
  for (const auto& path : files) {
    try {
      const auto file = gwf::FrameFile::open(path);
      for (std::size_t i = 0; i < file.frame_count(); ++i) {
        const gwf::Frame f = file.read_frame(i);
        const gwf::Channel* c = nullptr;
        for (const auto& ch : f.channels) {
          if (ch.name == channel) {
            c = &ch;
            break;
          }
        }
        if (c == nullptr) throw std::runtime_error("frame " + std::to_string(i) + ": no channel " + channel);
        if (c->data.type == gwf::DataType::String) throw std::runtime_error(channel + " holds strings");
        const double t0 = f.start.seconds();
        if (frames == 0) {
          rate = c->sample_rate;
          start = t0;
        } else {
          if (c->sample_rate != rate) {
            throw std::runtime_error(channel + " at " + std::to_string(c->sample_rate) + " Hz, earlier frames " +
                                     std::to_string(rate) + " Hz");
          }
          if (std::fabs(t0 - next) > 1e-6) {
            std::ostringstream m;
            m.precision(15);
            m << "frame " << i << " starts at GPS " << t0 << ", not at " << next << " where the previous one ended";
            throw std::runtime_error(m.str());
          }
        }
        const std::vector<double> v = c->data.to_double();
        samples.insert(samples.end(), v.begin(), v.end());
        next = t0 + f.dt;
        ++frames;
      }
    } catch (const std::exception& e) {
      std::cerr << "deepclean frame export: " << one_line(path, e.what()) << "\n";
      return 1;
    }
  }
  const auto bytes = reinterpret_cast<const char*>(samples.data());
  const auto size = static_cast<std::streamsize>(samples.size() * sizeof(double));
  if (out_path == "-") {
    std::cout.write(bytes, size);
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "deepclean frame export: cannot write to stdout\n";
      return 1;
    }
  } else {
    const std::string tmp = out_path + ".tmp";
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o.write(bytes, size);
    o.close();
    if (!o || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
      std::remove(tmp.c_str());
      std::cerr << "deepclean frame export: " << out_path << ": cannot write\n";
      return 1;
    }
  }
  std::ostringstream summary;
  summary.precision(15);
  summary << channel << ": " << samples.size() << " samples at " << rate << " Hz from GPS " << start << " to "
          << next << " (" << frames << " frames)\n";
  std::cerr << summary.str();
  return 0;
}

}  // namespace

void register_frame_commands(CLI::App& app, int& exit_code) {
  auto* frame = app.add_subcommand("frame", "Inspect, verify and re-encode IGWN frame files (.gwf)");
  frame->require_subcommand(1);

  struct Args {
    std::vector<std::string> files;
    std::string file, in, out;
    std::string compress = "zlib";
    std::string channel, out_path = "-";
    bool json = false;
  };
  auto args = std::make_shared<Args>();

  auto* dump = frame->add_subcommand("dump", "Frames and channel statistics of the stored values");
  dump->add_flag("--json", args->json, "JSON output (one array entry per file)");
  dump->add_option("FILE", args->files, "frame files")->required();
  dump->callback([args, &exit_code] { exit_code = run_dump(args->files, args->json); });

  auto* channels = frame->add_subcommand("channels", "One line per channel: name and sample rate");
  channels->add_option("FILE", args->file, "frame file")->required();
  channels->callback([args, &exit_code] { exit_code = run_channels(args->file); });

  auto* copy = frame->add_subcommand("copy", "Rewrite every time-series channel with deepclean's writer");
  copy->add_option("--compress", args->compress, "raw, zlib or diff-zlib (default zlib)")
      ->check(CLI::IsMember({"raw", "zlib", "diff-zlib"}));
  copy->add_option("IN", args->in, "input frame file")->required();
  copy->add_option("OUT", args->out, "output frame file (published atomically)")->required();
  copy->callback([args, &exit_code] { exit_code = run_copy(args->in, args->out, args->compress); });

  auto* verify = frame->add_subcommand("verify", "Check checksums and structure; one line per problem");
  verify->add_option("FILE", args->files, "frame files")->required();
  verify->callback([args, &exit_code] { exit_code = run_verify(args->files); });

  auto* exp = frame->add_subcommand(
      "export", "Samples of one channel over contiguous frames as raw native-endian float64 (for scripts)");
  exp->add_option("--channel", args->channel, "channel name")->required();
  exp->add_option("--out", args->out_path, "output file (default -: stdout)");
  exp->add_option("FILE", args->files, "frame files, in time order")->required();
  exp->callback([args, &exit_code] { exit_code = run_export(args->files, args->channel, args->out_path); });
}

}  // namespace deepclean::cli
