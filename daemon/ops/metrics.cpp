#include "daemon/ops/metrics.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace deepclean::daemon {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

struct Metrics::Families {
  prometheus::Family<prometheus::Counter>* seconds = nullptr;
  std::map<SecondEvent, prometheus::Counter*> by_event;
  prometheus::Counter* segments = nullptr;
  prometheus::Counter* output_errors = nullptr;
  prometheus::Family<prometheus::Counter>* reloads = nullptr;
  prometheus::Gauge* last_output_gps = nullptr;
  prometheus::Gauge* algorithmic_latency = nullptr;
  prometheus::Histogram* latency = nullptr;
  prometheus::Family<prometheus::Counter>* completed = nullptr;
  prometheus::Gauge* input_lag = nullptr;
  prometheus::Family<prometheus::Gauge>* stage_last = nullptr;
  prometheus::Family<prometheus::Counter>* stage_total = nullptr;
  prometheus::Family<prometheus::Gauge>* asd_ratio = nullptr;
  prometheus::Gauge* gate_open = nullptr;
  prometheus::Family<prometheus::Counter>* gated = nullptr;
  prometheus::Family<prometheus::Counter>* gate_transitions = nullptr;
  prometheus::Family<prometheus::Gauge>* gate_ratio = nullptr;
  prometheus::Gauge* gpu_memory = nullptr;  // registered on the first gpu_memory() call
  prometheus::Counter* overflows = nullptr;
  prometheus::Gauge* output_queue = nullptr;
  prometheus::Gauge* resident = nullptr;
  prometheus::Gauge* heap_in_use = nullptr;
  prometheus::Gauge* heap_free = nullptr;
  prometheus::Family<prometheus::Gauge>* info = nullptr;
  prometheus::Gauge* info_gauge = nullptr;
  prometheus::Family<prometheus::Gauge>* slots = nullptr;
  std::vector<prometheus::Gauge*> slot_gauges;
  prometheus::Gauge* validation_seconds = nullptr;
  prometheus::Gauge* validation_needed = nullptr;
  prometheus::Family<prometheus::Gauge>* canary_ratio = nullptr;
  std::vector<prometheus::Gauge*> canary_ratio_gauges;
  prometheus::Family<prometheus::Counter>* decisions = nullptr;
  prometheus::Gauge* archive_bytes = nullptr;  // registered on the first training_archive() call
  prometheus::Gauge* archive_seconds = nullptr;
  prometheus::Family<prometheus::Counter>* archive_chunks = nullptr;
  std::uint64_t archive_written = 0, archive_removed = 0, archive_dropped = 0;
  std::string version, device;
};

namespace {
const char* event_label(SecondEvent e) {
  switch (e) {
    case SecondEvent::In: return "in";
    case SecondEvent::Out: return "out";
    case SecondEvent::Cleaned: return "cleaned";
    case SecondEvent::Missing: return "missing";
    case SecondEvent::Late: return "late";
    case SecondEvent::Corrupt: return "corrupt";
    case SecondEvent::Duplicate: return "duplicate";
    case SecondEvent::Vanished: return "vanished";
    case SecondEvent::Unusable: return "unusable";
  }
  return "unknown";
}
}  // namespace

Metrics::Metrics(const std::string& version, const std::string& device, const std::string& model_id,
                 const std::string& model_version, double algorithmic_latency_s)
    : registry_(std::make_shared<prometheus::Registry>()), f_(std::make_unique<Families>()) {
  auto& r = *registry_;
  f_->version = version;
  f_->device = device;
  f_->seconds = &BuildCounter()
                     .Name("deepclean_seconds_total")
                     .Help("Input seconds by what happened to them (in, out, cleaned, missing, late, "
                           "corrupt, duplicate, vanished, unusable)")
                     .Register(r);
  for (SecondEvent e : {SecondEvent::In, SecondEvent::Out, SecondEvent::Cleaned, SecondEvent::Missing,
                        SecondEvent::Late, SecondEvent::Corrupt, SecondEvent::Duplicate,
                        SecondEvent::Vanished, SecondEvent::Unusable}) {
    f_->by_event[e] = &f_->seconds->Add({{"event", event_label(e)}});
  }
  f_->segments = &BuildCounter()
                      .Name("deepclean_segments_started_total")
                      .Help("Cleaning segments started (each gap or bad input second ends one)")
                      .Register(r)
                      .Add({});
  f_->output_errors = &BuildCounter()
                           .Name("deepclean_output_errors_total")
                           .Help("Failed attempts to write an output frame (directory unwritable or full)")
                           .Register(r)
                           .Add({});
  f_->reloads = &BuildCounter()
                     .Name("deepclean_config_reloads_total")
                     .Help("SIGHUP reloads by result (ok, rejected)")
                     .Register(r);
  f_->reloads->Add({{"result", "ok"}});
  f_->reloads->Add({{"result", "rejected"}});
  f_->last_output_gps = &BuildGauge()
                             .Name("deepclean_last_output_gps_seconds")
                             .Help("GPS start of the newest output frame written")
                             .Register(r)
                             .Add({});
  f_->algorithmic_latency = &BuildGauge()
                                 .Name("deepclean_algorithmic_latency_seconds")
                                 .Help("Latency the configuration implies (averaging + look-ahead + "
                                       "resampler halves)")
                                 .Register(r)
                                 .Add({});
  f_->algorithmic_latency->Set(algorithmic_latency_s);
  f_->latency = &BuildHistogram()
                     .Name("deepclean_latency_seconds")
                     .Help("Wall time from the arrival of the input frame that completed an output "
                           "frame to the rename of that output frame")
                     .Register(r)
                     .Add({}, prometheus::Histogram::BucketBoundaries{0.01, 0.02, 0.05, 0.1, 0.2, 0.5,
                                                                       1, 2, 5, 10, 30});
  f_->completed = &BuildCounter()
                       .Name("deepclean_outputs_completed_total")
                       .Help("Output frames by what completed them: the arrival of an input second (arrival), "
                             "the timeout of a missing one (timeout), a stalled stream (stall), a reload or "
                             "shutdown (flush)")
                       .Register(r);
  for (const char* by : {"arrival", "timeout", "stall", "flush"}) f_->completed->Add({{"by", by}});
  f_->input_lag = &BuildGauge()
                       .Name("deepclean_output_input_lag_seconds")
                       .Help("For the newest output frame: GPS of the input second whose arrival (or timeout) "
                             "completed it minus its own GPS; 1 at the floor when the algorithmic latency is "
                             "at most 1 s")
                       .Register(r)
                       .Add({});
  f_->stage_last = &BuildGauge()
                        .Name("deepclean_stage_last_seconds")
                        .Help("Time spent in each stage for the last second processed")
                        .Register(r);
  f_->stage_total = &BuildCounter()
                         .Name("deepclean_stage_seconds_total")
                         .Help("Cumulative time spent in each stage")
                         .Register(r);
  f_->asd_ratio = &BuildGauge()
                       .Name("deepclean_band_asd_ratio")
                       .Help("Rolling ASD ratio cleaned/raw averaged over each cleaning band "
                             "(below 1: noise removed)")
                       .Register(r);
  f_->gate_open = &BuildGauge()
                       .Name("deepclean_gate_open")
                       .Help("The do-no-harm gate: 1 open (cleaned output), 0 closed (raw strain out)")
                       .Register(r)
                       .Add({});
  f_->gate_open->Set(1);
  f_->gated = &BuildCounter()
                   .Name("deepclean_gated_seconds_total")
                   .Help("Output seconds (fractions counted) with the gate's weight q < 1, by why the gate "
                         "closed (band, guard, nonfinite, input)")
                   .Register(r);
  for (const char* why : {"band", "guard", "nonfinite", "input"}) f_->gated->Add({{"reason", why}});
  f_->gate_transitions = &BuildCounter()
                              .Name("deepclean_gate_transitions_total")
                              .Help("Times the do-no-harm gate closed or opened again")
                              .Register(r);
  f_->gate_transitions->Add({{"to", "closed"}});
  f_->gate_transitions->Add({{"to", "open"}});
  f_->gate_ratio = &BuildGauge()
                        .Name("deepclean_gate_ratio")
                        .Help("The gate monitor's ASD ratio would-be-cleaned/raw over its trailing window, "
                              "by region (kind band or guard); what the gate decides on")
                        .Register(r);
  f_->overflows = &BuildCounter()
                       .Name("deepclean_inotify_overflows_total")
                       .Help("inotify event queue overflows (events lost); each one rescans the input "
                             "directories")
                       .Register(r)
                       .Add({});
  f_->output_queue = &BuildGauge()
                          .Name("deepclean_output_queue_seconds")
                          .Help("Output frames computed but not yet written (output directory "
                                "unwritable or full); input pauses when the bound is reached")
                          .Register(r)
                          .Add({});
  f_->resident = &BuildGauge()
                      .Name("deepclean_resident_memory_bytes")
                      .Help("The process's resident memory (RSS), sampled at each write of this file")
                      .Register(r)
                      .Add({});
  auto& heap = BuildGauge()
                   .Name("deepclean_heap_bytes")
                   .Help("The C heap (glibc malloc, LibTorch's CPU tensors included): bytes in use by the "
                         "program (kind in_use) and bytes freed but still held by the allocator (kind free)")
                   .Register(r);
  f_->heap_in_use = &heap.Add({{"kind", "in_use"}});
  f_->heap_free = &heap.Add({{"kind", "free"}});
  f_->info = &BuildGauge()
                  .Name("deepclean_info")
                  .Help("What is running: daemon version, device, model id and version (value 1)")
                  .Register(r);
  f_->slots = &BuildGauge()
                   .Name("deepclean_model_slot_info")
                   .Help("Loaded model versions by role: production, canary, standby (value 1)")
                   .Register(r);
  f_->validation_seconds = &BuildGauge()
                                .Name("deepclean_canary_validation_seconds")
                                .Help("Fully cleaned seconds the canary has been compared over (0: no canary)")
                                .Register(r)
                                .Add({});
  f_->validation_needed = &BuildGauge()
                               .Name("deepclean_canary_validation_needed_seconds")
                               .Help("Seconds the canary's validation needs (models.validation_seconds; 0: no canary)")
                               .Register(r)
                               .Add({});
  f_->canary_ratio = &BuildGauge()
                          .Name("deepclean_canary_band_ratio")
                          .Help("Band power ratio cleaned/raw over the canary's validation so far, by region, "
                                "kind (band or guard) and model (production or canary)")
                          .Register(r);
  f_->decisions = &BuildCounter()
                       .Name("deepclean_model_decisions_total")
                       .Help("Model lifecycle decisions by action: canary, rejected, promoted, rolled back, "
                             "retired, pinned, unpinned")
                       .Register(r);
  model(model_id, model_version);
}

Metrics::~Metrics() = default;

void Metrics::model_slots(const std::vector<ModelSlot>& slots, double validation_seconds, double validation_needed,
                          const std::vector<CanaryRatio>& ratios) {
  for (auto* g : f_->slot_gauges) f_->slots->Remove(g);
  f_->slot_gauges.clear();
  for (const auto& s : slots) {
    auto* g = &f_->slots->Add({{"role", s.role}, {"version", s.version}, {"model_id", s.id}});
    g->Set(1);
    f_->slot_gauges.push_back(g);
  }
  f_->validation_seconds->Set(validation_seconds);
  f_->validation_needed->Set(validation_needed);
  for (auto* g : f_->canary_ratio_gauges) f_->canary_ratio->Remove(g);
  f_->canary_ratio_gauges.clear();
  for (const auto& r : ratios) {
    for (const auto& [model, value] : {std::pair<const char*, double>{"production", r.production}, {"canary", r.canary}}) {
      auto* g = &f_->canary_ratio->Add({{"region", r.region}, {"kind", r.guard ? "guard" : "band"}, {"model", model}});
      g->Set(value);
      f_->canary_ratio_gauges.push_back(g);
    }
  }
}

void Metrics::model_decision(const std::string& action) { f_->decisions->Add({{"action", action}}).Increment(); }

void Metrics::count(SecondEvent e, std::uint64_t n) {
  f_->by_event.at(e)->Increment(static_cast<double>(n));
}
void Metrics::segment_started() { f_->segments->Increment(); }
void Metrics::output_written(std::uint64_t gps, double latency_s, const std::string& by, std::int64_t lag) {
  f_->last_output_gps->Set(static_cast<double>(gps));
  f_->latency->Observe(latency_s);
  f_->completed->Add({{"by", by}}).Increment();
  f_->input_lag->Set(static_cast<double>(lag));
}
void Metrics::stage_time(const std::string& stage, double seconds) {
  f_->stage_last->Add({{"stage", stage}}).Set(seconds);
  f_->stage_total->Add({{"stage", stage}}).Increment(seconds);
}
void Metrics::band_asd_ratio(const std::string& band, double ratio) {
  f_->asd_ratio->Add({{"band", band}}).Set(ratio);
}
void Metrics::gate(bool open, const std::string& reason, double gated_fraction, bool changed,
                   const std::vector<std::pair<std::string, double>>& ratios, const std::vector<bool>& guard) {
  f_->gate_open->Set(open ? 1 : 0);
  if (gated_fraction > 0 && !reason.empty()) f_->gated->Add({{"reason", reason}}).Increment(gated_fraction);
  if (changed) f_->gate_transitions->Add({{"to", open ? "open" : "closed"}}).Increment();
  for (std::size_t i = 0; i < ratios.size(); ++i) {
    f_->gate_ratio->Add({{"region", ratios[i].first}, {"kind", i < guard.size() && guard[i] ? "guard" : "band"}})
        .Set(ratios[i].second);
  }
}

void Metrics::gpu_memory(double bytes) {
  if (f_->gpu_memory == nullptr) {
    f_->gpu_memory = &BuildGauge()
                          .Name("deepclean_gpu_memory_bytes")
                          .Help("Device memory held by LibTorch tensors (CUDA caching allocator, "
                                "allocated bytes); absent on CPU")
                          .Register(*registry_)
                          .Add({});
  }
  f_->gpu_memory->Set(bytes);
}
void Metrics::training_archive(const ArchiveFigures& a) {
  if (f_->archive_bytes == nullptr) {
    f_->archive_bytes = &BuildGauge()
                             .Name("deepclean_training_archive_bytes")
                             .Help("Bytes of the training archive's chunk files")
                             .Register(*registry_)
                             .Add({});
    f_->archive_seconds = &BuildGauge()
                               .Name("deepclean_training_archive_seconds")
                               .Help("GPS seconds the training archive spans, oldest to newest (holes included)")
                               .Register(*registry_)
                               .Add({});
    f_->archive_chunks = &BuildCounter()
                              .Name("deepclean_training_archive_chunks_total")
                              .Help("Training archive chunk files by result: written, removed (retention), "
                                    "dropped (not written: no space, I/O error)")
                              .Register(*registry_);
    for (const char* r : {"written", "removed", "dropped"}) f_->archive_chunks->Add({{"result", r}});
  }
  f_->archive_bytes->Set(a.bytes);
  f_->archive_seconds->Set(a.seconds_held);
  auto advance = [this](const char* result, std::uint64_t now, std::uint64_t& seen) {
    if (now > seen) f_->archive_chunks->Add({{"result", result}}).Increment(static_cast<double>(now - seen));
    seen = now;
  };
  advance("written", a.written, f_->archive_written);
  advance("removed", a.removed, f_->archive_removed);
  advance("dropped", a.dropped, f_->archive_dropped);
}
void Metrics::inotify_overflow() { f_->overflows->Increment(); }
void Metrics::output_errors(std::uint64_t n) { f_->output_errors->Increment(static_cast<double>(n)); }
void Metrics::reload(bool ok) { f_->reloads->Add({{"result", ok ? "ok" : "rejected"}}).Increment(); }
void Metrics::model(const std::string& model_id, const std::string& model_version, const std::string& device) {
  if (!device.empty()) f_->device = device;
  if (f_->info_gauge) f_->info->Remove(f_->info_gauge);
  f_->info_gauge = &f_->info->Add({{"version", f_->version},
                                   {"device", f_->device},
                                   {"model_id", model_id},
                                   {"model_version", model_version}});
  f_->info_gauge->Set(1);
}

void Metrics::algorithmic_latency(double seconds) { f_->algorithmic_latency->Set(seconds); }
void Metrics::output_queue(std::size_t seconds) { f_->output_queue->Set(static_cast<double>(seconds)); }

void Metrics::process_memory() {
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0, resident_pages = 0;
  if (statm >> size_pages >> resident_pages) {
    f_->resident->Set(resident_pages * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  }
  // mallinfo2 walks every arena: microseconds for a heap of this size, once per second.
  const struct mallinfo2 m = ::mallinfo2();
  f_->heap_in_use->Set(static_cast<double>(m.uordblks + m.hblkhd));
  f_->heap_free->Set(static_cast<double>(m.fordblks));
}

std::uint64_t Metrics::value(SecondEvent e) const {
  return static_cast<std::uint64_t>(f_->by_event.at(e)->Value());
}

std::string Metrics::render() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

bool Metrics::write(const std::string& path, std::string& error) const {
  // The temporary name must not end in .prom, or the collector could read it half-written.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const std::string text = render();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = tmp + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    error = path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace deepclean::daemon
