#include "daemon/service/output_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "daemon/pipeline/input.hpp"
#include "daemon/pipeline/pipeline.hpp"
#include "daemon/service/service.hpp"
#include "io/gwf/naming.hpp"

namespace deepclean::daemon {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Rolling window of the band ASD ratio metric.
constexpr std::size_t kAsdWindowSeconds = 64;

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

const char* completion_name(Completion::Kind k) {
  switch (k) {
    case Completion::Arrival: return "arrival";
    case Completion::Timeout: return "timeout";
    case Completion::Stall: return "stall";
    case Completion::Flush: return "flush";
  }
  return "?";
}
const char* completion_text(Completion::Kind k) {
  switch (k) {
    case Completion::Arrival: return "the arrival of";
    case Completion::Timeout: return "the timeout of";
    case Completion::Stall: return "a stall waiting for";
    case Completion::Flush: return "a flush before";
  }
  return "?";
}

}  // namespace

// GPS seconds of this configuration's own output frames.
std::vector<std::uint64_t> output_seconds(const config::Config& cfg) {
  std::vector<std::uint64_t> out;
  std::error_code ec;
  for (fs::directory_iterator it(cfg.output.directory, ec), end; !ec && it != end; it.increment(ec)) {
    const auto n = gwf::parse_frame_file_name(it->path().filename().string());
    if (n && n->extension == "gwf" && n->observatory == cfg.input.strain.observatory &&
        n->tag == cfg.output.frame_type && n->duration == 1) {
      out.push_back(n->gps);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

OutputWriter::OutputWriter(const config::Config& cfg, Metrics& metrics, RateLimitedWarnings& warnings, Status status)
    : cfg_(cfg), metrics_(metrics), warn_(warnings), status_(std::move(status)) {}

void OutputWriter::set_bands(const std::vector<std::pair<double, double>>& bands) {
  asd_.emplace(bands, kAsdWindowSeconds);
}

void OutputWriter::enqueue(std::vector<OutputSecond> outs, const OutputNames& names, SteadyTime arrival,
                           Completion by) {
  for (auto& o : outs) {
    Queued q;
    q.path = output_path(cfg_, o.gps);
    q.out = std::move(o);
    q.names = names;
    q.frame_name = cfg_.ifo;
    q.options = write_options(cfg_);
    q.arrival = arrival;
    q.by = by;
    queue_.push_back(std::move(q));
  }
}

void OutputWriter::write() {
  const auto now = Clock::now();
  if (blocked_until_ && now < *blocked_until_) return;
  // Strictly in GPS order: the newest output on disk then always means "everything before it is
  // done", which is what a restart resumes from.
  while (!queue_.empty()) {
    Queued& q = queue_.front();
    const auto t0 = Clock::now();
    try {
      if (fs::create_directories(fs::path(q.path).parent_path())) {
        spdlog::warn("GPS {}: the output directory {} was missing (deleted while running?): made it again", q.out.gps,
                     fs::path(q.path).parent_path().string());
      }
      gwf::write_frame_file(q.path, {build_output_frame(q.out, q.names, q.frame_name)}, q.options);
    } catch (const std::exception& e) {
      write_seconds_ += secs(Clock::now() - t0);
      metrics_.output_errors();
      ++failures_;
      blocked_until_ = Clock::now() + std::chrono::seconds(1);
      if (failures_ == 1 || Clock::now() - last_error_log_ >= std::chrono::seconds(10)) {
        last_error_log_ = Clock::now();
        spdlog::error("GPS {}: cannot write output frame {}: {}; {} output seconds queued (bound {}), retrying "
                      "every second ({} failed attempts so far)",
                      q.out.gps, q.path, e.what(), queue_.size(), kMaxQueuedOutputs, failures_);
      }
      status_("output directory not writable: " + std::to_string(queue_.size()) + " output seconds queued",
              failures_ == 1);
      break;
    }
    const auto renamed = Clock::now();
    write_seconds_ += secs(renamed - t0);
    if (failures_ > 0) {
      spdlog::info("GPS {}: output directory writable again after {} failed attempts; writing the {} queued seconds",
                   q.out.gps, failures_, queue_.size());
      failures_ = 0;
    }
    blocked_until_.reset();
    published(q, renamed);
    last_written_ = q.out.gps;
    queue_.pop_front();
  }
  metrics_.output_queue(queue_.size());
  apply_retention();
}

void OutputWriter::published(const Queued& q, SteadyTime renamed) {
  const bool fully = std::all_of(q.out.state.begin(), q.out.state.end(),
                                 [](std::uint32_t b) { return (b & kCleaned) != 0; });
  metrics_.count(SecondEvent::Out);
  if (fully) {
    metrics_.count(SecondEvent::Cleaned);
    if (asd_) try {
      asd_->add(physical_values(q.out.raw_strain), q.out.cleaned, q.out.raw_strain.sample_rate);
      for (std::size_t b = 0; b < asd_->bands().size(); ++b) {
        metrics_.band_asd_ratio(BandAsdMonitor::label(asd_->bands()[b]), asd_->ratio(b));
      }
    } catch (const std::exception& e) {
      spdlog::debug("band ASD ratio: {}", e.what());
    }
  }
  if (q.out.gate.enabled) {
    const GateReport& g = q.out.gate;
    metrics_.gate(g.open, g.reason, g.gated_fraction, g.changed, g.ratios, g.guard);
    spdlog::debug("GPS {}: gate {}: {}", q.out.gps, g.open ? "open" : "closed (" + g.reason + ")",
                  g.figures.empty() ? "no figure" : g.figures);
    if (g.changed && !g.open) spdlog::warn("{}", gate_change_text(q.out));
    if (g.changed && g.open) spdlog::info("{}", gate_change_text(q.out));
  }
  const double latency = secs(renamed - q.arrival);
  const auto lag = static_cast<std::int64_t>(q.by.input_gps) - static_cast<std::int64_t>(q.out.gps);
  metrics_.output_written(q.out.gps, latency, completion_name(q.by.kind), lag);
  spdlog::debug("GPS {}: output written, completed by {} (input GPS {}, g{:+d}), {:.4f} s after that input arrived",
                q.out.gps, completion_text(q.by.kind), q.by.input_gps, lag, latency);
}

void OutputWriter::apply_retention() {
  // Runs after each successful write (one directory listing: cheap next to writing a frame).
  if (cfg_.output.retention_seconds <= 0 || !last_written_ || retained_through_ == last_written_) return;
  retained_through_ = last_written_;
  const double oldest_kept = static_cast<double>(*last_written_) - cfg_.output.retention_seconds;
  for (const std::uint64_t gps : output_seconds(cfg_)) {
    if (static_cast<double>(gps) >= oldest_kept) break;
    std::error_code ec;
    fs::remove(output_path(cfg_, gps), ec);
    if (!ec) spdlog::debug("retention: deleted the output frame of GPS {}", gps);
    if (ec) warn_.warn("retention", "retention: cannot delete " + output_path(cfg_, gps) + ": " + ec.message());
  }
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> OutputWriter::queued_range() const {
  if (queue_.empty()) return std::nullopt;
  return std::make_pair(queue_.front().out.gps, queue_.back().out.gps);
}

double OutputWriter::take_write_seconds() {
  const double s = write_seconds_;
  write_seconds_ = 0;
  return s;
}

}  // namespace deepclean::daemon
