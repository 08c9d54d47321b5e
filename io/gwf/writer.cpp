#include "io/gwf/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "io/gwf/cksum.hpp"
#include "io/gwf/compress.hpp"

namespace deepclean::gwf {
namespace {

// Class numbers of the frameCPP fixed table (digest §4, checklist §11.2). Every number is announced by
// an FrSH, so readers map them through the names anyway.
enum ClassId : std::uint8_t {
  kFrSH = 1,
  kFrSE = 2,
  kFrameH = 3,
  kFrAdcData = 4,
  kFrDetector = 5,
  kFrEndOfFile = 6,
  kFrEndOfFrame = 7,
  kFrHistory = 9,
  kFrProcData = 11,
  kFrRawData = 12,
  kFrSimData = 14,
  kFrTOC = 19,
  kFrVect = 20,
};

struct Field {
  const char* name;
  const char* type;
};
struct ClassDesc {
  const char* name;
  ClassId id;
  std::vector<Field> fields;  // the spec table rows after the common header, chkSum included (§4)
};

// FrSE rows with the exact type strings both FrameL and frameCPP write (digest §4, §5, §8).
const ClassDesc& desc(ClassId id) {
  static const std::map<ClassId, ClassDesc> table = [] {
    const char* kVect = "PTR_STRUCT(FrVect *)";
    std::map<ClassId, ClassDesc> m;
    m[kFrameH] = {"FrameH", kFrameH,
                  {{"name", "STRING"}, {"run", "INT_4S"}, {"frame", "INT_4U"},
                   {"dataQuality", "INT_4U"}, {"GTimeS", "INT_4U"}, {"GTimeN", "INT_4U"},
                   {"ULeapS", "INT_2U"}, {"dt", "REAL_8"}, {"type", kVect}, {"user", kVect},
                   {"detectSim", "PTR_STRUCT(FrDetector *)"}, {"detectProc", "PTR_STRUCT(FrDetector *)"},
                   {"history", "PTR_STRUCT(FrHistory *)"}, {"rawData", "PTR_STRUCT(FrRawData *)"},
                   {"procData", "PTR_STRUCT(FrProcData *)"}, {"simData", "PTR_STRUCT(FrSimData *)"},
                   {"event", "PTR_STRUCT(FrEvent *)"}, {"simEvent", "PTR_STRUCT(FrSimEvent *)"},
                   {"summaryData", "PTR_STRUCT(FrSummary *)"}, {"auxData", kVect},
                   {"auxTable", "PTR_STRUCT(FrTable *)"}, {"chkSum", "INT_4U"}}};
    m[kFrDetector] = {"FrDetector", kFrDetector,
                      {{"name", "STRING"}, {"prefix", "CHAR[2]"}, {"longitude", "REAL_8"},
                       {"latitude", "REAL_8"}, {"elevation", "REAL_4"}, {"armXazimuth", "REAL_4"},
                       {"armYazimuth", "REAL_4"}, {"armXaltitude", "REAL_4"},
                       {"armYaltitude", "REAL_4"}, {"armXmidpoint", "REAL_4"},
                       {"armYmidpoint", "REAL_4"}, {"localTime", "INT_4S"}, {"aux", kVect},
                       {"table", "PTR_STRUCT(FrTable *)"}, {"next", "PTR_STRUCT(FrDetector *)"},
                       {"chkSum", "INT_4U"}}};
    m[kFrHistory] = {"FrHistory", kFrHistory,
                     {{"name", "STRING"}, {"time", "INT_4U"}, {"comment", "STRING"},
                      {"next", "PTR_STRUCT(FrHistory *)"}, {"chkSum", "INT_4U"}}};
    m[kFrRawData] = {"FrRawData", kFrRawData,
                     {{"name", "STRING"}, {"firstSer", "PTR_STRUCT(FrSerData *)"},
                      {"firstAdc", "PTR_STRUCT(FrAdcData *)"}, {"firstTable", "PTR_STRUCT(FrTable *)"},
                      {"logMsg", "PTR_STRUCT(FrMsg *)"}, {"more", kVect}, {"chkSum", "INT_4U"}}};
    m[kFrAdcData] = {"FrAdcData", kFrAdcData,
                     {{"name", "STRING"}, {"comment", "STRING"}, {"channelGroup", "INT_4U"},
                      {"channelNumber", "INT_4U"}, {"nBits", "INT_4U"}, {"bias", "REAL_4"},
                      {"slope", "REAL_4"}, {"units", "STRING"}, {"sampleRate", "REAL_8"},
                      {"timeOffset", "REAL_8"}, {"fShift", "REAL_8"}, {"phase", "REAL_4"},
                      {"dataValid", "INT_2U"}, {"data", kVect}, {"aux", kVect},
                      {"next", "PTR_STRUCT(FrAdcData *)"}, {"chkSum", "INT_4U"}}};
    m[kFrProcData] = {"FrProcData", kFrProcData,
                      {{"name", "STRING"}, {"comment", "STRING"}, {"type", "INT_2U"},
                       {"subType", "INT_2U"}, {"timeOffset", "REAL_8"}, {"tRange", "REAL_8"},
                       {"fShift", "REAL_8"}, {"phase", "REAL_4"}, {"fRange", "REAL_8"},
                       {"BW", "REAL_8"}, {"nAuxParam", "INT_2U"}, {"auxParam", "REAL_8[nAuxParam]"},
                       {"auxParamNames", "STRING[nAuxParam]"}, {"data", kVect}, {"aux", kVect},
                       {"table", "PTR_STRUCT(FrTable *)"}, {"history", "PTR_STRUCT(FrHistory *)"},
                       {"next", "PTR_STRUCT(FrProcData *)"}, {"chkSum", "INT_4U"}}};
    m[kFrSimData] = {"FrSimData", kFrSimData,
                     {{"name", "STRING"}, {"comment", "STRING"}, {"sampleRate", "REAL_8"},
                      {"timeOffset", "REAL_8"}, {"fShift", "REAL_8"}, {"phase", "REAL_4"},
                      {"data", kVect}, {"input", kVect}, {"table", "PTR_STRUCT(FrTable *)"},
                      {"next", "PTR_STRUCT(FrSimData *)"}, {"chkSum", "INT_4U"}}};
    m[kFrVect] = {"FrVect", kFrVect,
                  {{"name", "STRING"}, {"compress", "INT_2U"}, {"type", "INT_2U"},
                   {"nData", "INT_8U"}, {"nBytes", "INT_8U"}, {"data", "CHAR[nBytes]"},
                   {"nDim", "INT_4U"}, {"nx", "INT_8U[nDim]"}, {"dx", "REAL_8[nDim]"},
                   {"startX", "REAL_8[nDim]"}, {"unitX", "STRING[nDim]"}, {"unitY", "STRING"},
                   {"next", kVect}, {"chkSum", "INT_4U"}}};
    m[kFrEndOfFrame] = {"FrEndOfFrame", kFrEndOfFrame,
                        {{"run", "INT_4S"}, {"frame", "INT_4U"}, {"GTimeS", "INT_4U"},
                         {"GTimeN", "INT_4U"}, {"chkSum", "INT_4U"}}};
    m[kFrTOC] = {"FrTOC", kFrTOC,
                 {{"ULeapS", "INT_2S"}, {"nFrame", "INT_4U"}, {"dataQuality", "INT_4U[nFrame]"},
                  {"GTimeS", "INT_4U[nFrame]"}, {"GTimeN", "INT_4U[nFrame]"}, {"dt", "REAL_8[nFrame]"},
                  {"runs", "INT_4S[nFrame]"}, {"frame", "INT_4U[nFrame]"},
                  {"positionH", "INT_8U[nFrame]"}, {"nFirstADC", "INT_8U[nFrame]"},
                  {"nFirstSer", "INT_8U[nFrame]"}, {"nFirstTable", "INT_8U[nFrame]"},
                  {"nFirstMsg", "INT_8U[nFrame]"}, {"nSH", "INT_4U"}, {"SHid", "INT_2U[nSH]"},
                  {"SHname", "STRING[nSH]"}, {"nDetector", "INT_4U"},
                  {"nameDetector", "STRING[nDetector]"}, {"positionDetector", "INT_8U[nDetector]"},
                  {"nStatType", "INT_4U"}, {"nameStat", "STRING[nStatType]"},
                  {"detector", "STRING[nStatType]"}, {"nStatInstance", "INT_4U[nStatType]"},
                  {"nTotalStat", "INT_4U"}, {"tStart", "INT_4U[nTotalStat]"},
                  {"tEnd", "INT_4U[nTotalStat]"}, {"version", "INT_4U[nTotalStat]"},
                  {"positionStat", "INT_8U[nTotalStat]"}, {"nADC", "INT_4U"}, {"name", "STRING[nADC]"},
                  {"channelID", "INT_4U[nADC]"}, {"groupID", "INT_4U[nADC]"},
                  {"positionADC", "INT_8U[nADC][nFrame]"}, {"nProc", "INT_4U"},
                  {"nameProc", "STRING[nProc]"}, {"positionProc", "INT_8U[nProc][nFrame]"},
                  {"nSim", "INT_4U"}, {"nameSim", "STRING[nSim]"},
                  {"positionSim", "INT_8U[nSim][nFrame]"}, {"nSer", "INT_4U"},
                  {"nameSer", "STRING[nSer]"}, {"positionSer", "INT_8U[nSer][nFrame]"},
                  {"nSummary", "INT_4U"}, {"nameSum", "STRING[nSummary]"},
                  {"positionSum", "INT_8U[nSummary][nFrame]"}, {"nEventType", "INT_4U"},
                  {"nameEvent", "STRING[nEventType]"}, {"nEvent", "INT_4U[nEventType]"},
                  {"nTotalEvent", "INT_4U"}, {"GTimeSEvent", "INT_4U[nTotalEvent]"},
                  {"GTimeNEvent", "INT_4U[nTotalEvent]"}, {"amplitudeEvent", "REAL_4[nTotalEvent]"},
                  {"positionEvent", "INT_8U[nTotalEvent]"}, {"nSimEventType", "INT_4U"},
                  {"nameSimEvent", "STRING[nSimEventType]"}, {"nSimEvent", "INT_4U[nSimEventType]"},
                  {"nTotalSEvent", "INT_4U"}, {"GTimeSSim", "INT_4U[nTotalSEvent]"},
                  {"GTimeNSim", "INT_4U[nTotalSEvent]"}, {"amplitudeSimEvent", "REAL_4[nTotalSEvent]"},
                  {"positionSimEvent", "INT_8U[nTotalSEvent]"}, {"chkSum", "INT_4U"}}};
    m[kFrEndOfFile] = {"FrEndOfFile", kFrEndOfFile,
                       {{"nFrames", "INT_4U"}, {"nBytes", "INT_8U"}, {"seekTOC", "INT_8U"},
                        {"chkSumFrHeader", "INT_4U"}, {"chkSum", "INT_4U"}, {"chkSumFile", "INT_4U"}}};
    return m;
  }();
  return table.at(id);
}

struct Ptr {
  std::uint16_t cls = 0;
  std::uint32_t instance = 0;
};
constexpr Ptr kNull{};

// Host-order serialisation into one growing buffer (the header announces host order, digest §2).
class Sink {
 public:
  explicit Sink(std::size_t reserve) { buf_.reserve(reserve); }
  std::size_t pos() const { return buf_.size(); }
  std::vector<std::byte>& buffer() { return buf_; }

  void bytes(const void* p, std::size_t n) {
    if (n == 0) return;
    const auto* b = static_cast<const std::byte*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  template <typename T>
  void put(T v) {
    bytes(&v, sizeof v);
  }
  void u8(std::uint8_t v) { put(v); }
  void u16(std::uint16_t v) { put(v); }
  void i16(std::int16_t v) { put(v); }
  void u32(std::uint32_t v) { put(v); }
  void i32(std::int32_t v) { put(v); }
  void u64(std::uint64_t v) { put(v); }
  void f32(float v) { put(v); }
  void f64(double v) { put(v); }
  // STRING: INT_2U length including the NUL, the bytes, the NUL; empty = length 1 + NUL (digest §1).
  void str(const std::string& s) {
    if (s.size() >= 0xFFFFu) throw std::invalid_argument("frame string longer than 65534 bytes");
    if (s.find('\0') != std::string::npos) throw std::invalid_argument("frame string holds a NUL");
    u16(static_cast<std::uint16_t>(s.size() + 1));
    bytes(s.data(), s.size());
    u8(0);
  }
  void ptr(Ptr p) {  // PTR_STRUCT: INT_2U class + INT_4U instance (digest §1)
    u16(p.cls);
    u32(p.instance);
  }
  template <typename T>
  void patch(std::uint64_t at, T v) {
    std::memcpy(buf_.data() + at, &v, sizeof v);
  }

 private:
  std::vector<std::byte> buf_;
};

std::uint32_t count32(std::size_t n, const char* what) {
  if (n > 0xFFFFFFF0u) throw std::invalid_argument(std::string("too many ") + what);
  return static_cast<std::uint32_t>(n);
}

class Encoder {
 public:
  Encoder(const std::vector<Frame>& frames, const WriteOptions& opt)
      : frames_(frames), opt_(opt), out_(estimate(frames)) {}

  std::vector<std::byte> run() {
    if (frames_.empty()) throw std::invalid_argument("encode_frames: no frames to write");
    if (opt_.zlib_level < 0 || opt_.zlib_level > 9) {
      throw std::invalid_argument("encode_frames: zlib level must be 0..9");
    }
    header();
    toc_frames_.resize(frames_.size());
    for (std::size_t i = 0; i < frames_.size(); ++i) frame(i);
    toc();
    end_of_file();
    return std::move(out_.buffer());
  }

 private:
  struct FrameIndex {
    std::uint64_t position_h = 0;
    std::uint64_t first_adc = 0;
    std::map<std::string, std::uint64_t> adc, proc, sim;  // name -> position of the owner structure
  };
  struct AdcIds {
    std::uint32_t channel_id = 0, group_id = 0;
  };

  static std::size_t estimate(const std::vector<Frame>& frames) {
    std::size_t n = 16384;
    for (const auto& f : frames) {
      n += 4096;
      for (const auto& c : f.channels) {
        n += 512 + c.data.data.size();
        for (const auto& e : c.extra) n += 256 + e.data.size();
      }
    }
    return n;
  }

  // File header, 40 bytes (digest §2): host order, library byte 0 (unknown), byte 39 = 1 because
  // the file checksum is written.
  void header() {
    const char id[5] = {'I', 'G', 'W', 'D', '\0'};
    out_.bytes(id, 5);
    out_.u8(8);  // format version
    out_.u8(1);  // library minor version (frameCPP's v8 value; any is allowed)
    const std::uint8_t sizes[5] = {2, 4, 8, 4, 8};
    out_.bytes(sizes, 5);
    out_.u16(0x1234);
    out_.u32(0x12345678u);
    out_.u64(0x0123456789ABCDEFull);
    out_.f32(3.14159265358979323846f);
    out_.f64(3.14159265358979323846);
    out_.u8(0);
    out_.u8(1);
  }

  std::uint32_t next_instance(std::uint8_t cls) { return instances_[cls]++; }

  // Structure header (digest §3): INT_8U length, chkType 1, class, instance; body; chkSum.
  std::uint64_t begin(std::uint8_t cls, std::uint32_t instance) {
    const std::uint64_t start = out_.pos();
    out_.u64(0);
    out_.u8(1);
    out_.u8(cls);
    out_.u32(instance);
    return start;
  }
  // Patches the length and appends the structure CRC over everything before chkSum (digest §7).
  // `trailing` counts bytes that follow chkSum (FrEndOfFile's chkSumFile, digest §5).
  void end(std::uint64_t start, std::uint64_t trailing = 0) {
    const std::uint64_t length = out_.pos() + 4 + trailing - start;
    out_.patch<std::uint64_t>(start, length);
    const std::uint32_t crc = posix_cksum(out_.buffer().data() + start,
                                          out_.pos() - start);
    out_.u32(crc);
  }

  // FrSH + FrSE rows once per file, right before the first structure of the class (digest §4).
  void describe(ClassId id) {
    if (!described_.insert(id).second) return;
    const ClassDesc& d = desc(id);
    sh_list_.emplace_back(static_cast<std::uint16_t>(id), d.name);
    auto s = begin(kFrSH, next_instance(kFrSH));
    out_.str(d.name);
    out_.u16(static_cast<std::uint16_t>(id));
    out_.str("");
    end(s);
    for (const Field& f : d.fields) {
      s = begin(kFrSE, next_instance(kFrSE));
      out_.str(f.name);
      out_.str(f.type);
      out_.str("");
      end(s);
    }
  }

  static void check_vect(const Vect& v, const std::string& owner) {
    if (v.type == DataType::String) {
      if (!v.data.empty()) throw std::invalid_argument(owner + ": string FrVect with numeric data");
    } else {
      const std::size_t w = word_size(v.type);
      if (w == 0 || v.data.size() % w != 0) {
        throw std::invalid_argument(owner + ": FrVect data is not a whole number of " +
                                    type_name(v.type) + " elements");
      }
    }
    if (!v.nx.empty()) {
      const std::size_t nd = v.nx.size();
      if (v.dx.size() != nd || v.start_x.size() != nd || v.unit_x.size() != nd) {
        throw std::invalid_argument(owner + ": FrVect nx/dx/startX/unitX sizes differ");
      }
      std::uint64_t prod = 1;
      for (auto n : v.nx) prod *= n;
      if (prod != v.size()) {
        throw std::invalid_argument(owner + ": FrVect nx product " + std::to_string(prod) +
                                    " != nData " + std::to_string(v.size()));
      }
    }
  }

  // One FrVect (digest §5, §6). `rate` supplies dx for a vector built without dimensions.
  void vect(const Vect& v, Ptr next, double rate) {
    describe(kFrVect);
    const auto s = begin(kFrVect, next_instance(kFrVect));
    out_.str(v.name);
    const std::uint64_t n_data = v.size();
    EncodedData enc;
    enc.compress = host_is_little_endian() ? 0x100 : 0;
    std::uint64_t n_bytes = 0;
    if (v.type == DataType::String) {
      for (const auto& str : v.strings) n_bytes += 2 + str.size() + 1;
    } else {
      enc = encode_payload(v.type, v.data.data(), v.data.size(), opt_.compression, opt_.zlib_level);
      n_bytes = enc.raw ? v.data.size() : enc.bytes.size();
    }
    out_.u16(enc.compress);
    out_.u16(static_cast<std::uint16_t>(v.type));
    out_.u64(n_data);
    out_.u64(n_bytes);
    if (v.type == DataType::String) {
      for (const auto& str : v.strings) out_.str(str);
    } else if (enc.raw) {
      out_.bytes(v.data.data(), v.data.size());
    } else {
      out_.bytes(enc.bytes.data(), enc.bytes.size());
    }
    if (v.nx.empty()) {  // a bare vector: one dimension of nData samples at `rate`
      out_.u32(1);
      out_.u64(n_data);
      out_.f64(rate > 0 ? 1.0 / rate : 1.0);
      out_.f64(0.0);
      out_.str("s");
    } else {
      out_.u32(count32(v.nx.size(), "FrVect dimensions"));
      for (auto n : v.nx) out_.u64(n);
      for (auto d : v.dx) out_.f64(d);
      for (auto x : v.start_x) out_.f64(x);
      for (const auto& u : v.unit_x) out_.str(u);
    }
    out_.str(v.unit_y);
    out_.ptr(next);
    end(s);
  }

  // The data FrVect directly after its owner, then the `extra` ones chained by next (digest §5:
  // FrameL's TOC reader needs the data vector to be the next structure).
  void vects_of(const Channel& c) {
    const double rate = c.sample_rate;
    for (std::size_t k = 0; k <= c.extra.size(); ++k) {
      const Vect& v = k == 0 ? c.data : c.extra[k - 1];
      const Ptr next = k < c.extra.size() ? Ptr{kFrVect, instances_[kFrVect] + 1} : kNull;
      vect(v, next, rate);
    }
  }

  Ptr upcoming_vect() const {
    const auto it = instances_.find(kFrVect);
    return Ptr{kFrVect, it == instances_.end() ? 0u : it->second};
  }

  static double channel_rate(const Channel& c) {
    if (c.sample_rate > 0) return c.sample_rate;
    if (!c.data.dx.empty() && c.data.dx[0] > 0) return 1.0 / c.data.dx[0];
    return 0.0;
  }

  void frame(std::size_t fi) {
    const Frame& f = frames_[fi];
    FrameIndex& idx = toc_frames_[fi];
    instances_.clear();  // instance counters restart in every frame (digest §3)

    std::vector<const Channel*> adc, proc, sim;
    std::set<std::string> names;
    for (const auto& c : f.channels) {
      if (!names.insert(c.name).second && opt_.unique_names) {
        throw std::invalid_argument("frame " + std::to_string(fi) + ": channel '" + c.name +
                                    "' appears twice (names are unique per frame)");
      }
      check_vect(c.data, c.name);
      for (const auto& e : c.extra) check_vect(e, c.name);
      (c.kind == ChannelKind::Adc ? adc : c.kind == ChannelKind::Proc ? proc : sim).push_back(&c);
    }

    // FrameL convention (digest §8): positionH is the first byte of the frame, i.e. the dictionary
    // that precedes FrameH in the first frame.
    idx.position_h = out_.pos();
    describe(kFrameH);
    auto s = begin(kFrameH, next_instance(kFrameH));
    out_.str(f.name);
    out_.i32(f.run);
    out_.u32(f.frame_number);
    out_.u32(f.data_quality);
    out_.u32(f.start.sec);
    out_.u32(f.start.nsec);
    out_.u16(f.uleap_s);
    out_.f64(f.dt);
    out_.ptr(kNull);                                                   // type
    out_.ptr(kNull);                                                   // user
    out_.ptr(kNull);                                                   // detectSim
    out_.ptr(f.detectors.empty() ? kNull : Ptr{kFrDetector, 0});       // detectProc
    out_.ptr(f.history.empty() ? kNull : Ptr{kFrHistory, 0});          // history
    out_.ptr(adc.empty() ? kNull : Ptr{kFrRawData, 0});                // rawData
    out_.ptr(proc.empty() ? kNull : Ptr{kFrProcData, 0});              // procData
    out_.ptr(sim.empty() ? kNull : Ptr{kFrSimData, 0});                // simData
    out_.ptr(kNull);                                                   // event
    out_.ptr(kNull);                                                   // simEvent
    out_.ptr(kNull);                                                   // summaryData
    out_.ptr(kNull);                                                   // auxData
    out_.ptr(kNull);                                                   // auxTable
    end(s);

    for (std::size_t i = 0; i < f.detectors.size(); ++i) {
      const Detector& d = f.detectors[i];
      describe(kFrDetector);
      const std::uint64_t at_start = out_.pos();
      s = begin(kFrDetector, next_instance(kFrDetector));
      if (!detector_pos_.count(d.name)) detector_pos_[d.name] = at_start;
      out_.str(d.name);
      if (d.prefix.size() > 2) throw std::invalid_argument("detector prefix longer than 2: " + d.prefix);
      char prefix[2] = {0, 0};
      std::memcpy(prefix, d.prefix.data(), d.prefix.size());
      out_.bytes(prefix, 2);
      out_.f64(d.longitude);
      out_.f64(d.latitude);
      out_.f32(d.elevation);
      out_.f32(d.arm_x_azimuth);
      out_.f32(d.arm_y_azimuth);
      out_.f32(d.arm_x_altitude);
      out_.f32(d.arm_y_altitude);
      out_.f32(d.arm_x_midpoint);
      out_.f32(d.arm_y_midpoint);
      out_.i32(d.local_time);
      out_.ptr(kNull);
      out_.ptr(kNull);
      out_.ptr(i + 1 < f.detectors.size() ? Ptr{kFrDetector, static_cast<std::uint32_t>(i + 1)} : kNull);
      end(s);
    }
    for (std::size_t i = 0; i < f.history.size(); ++i) {
      const History& h = f.history[i];
      describe(kFrHistory);
      s = begin(kFrHistory, next_instance(kFrHistory));
      out_.str(h.name);
      out_.u32(h.time);
      out_.str(h.comment);
      out_.ptr(i + 1 < f.history.size() ? Ptr{kFrHistory, static_cast<std::uint32_t>(i + 1)} : kNull);
      end(s);
    }
    if (!adc.empty()) {
      describe(kFrRawData);
      s = begin(kFrRawData, next_instance(kFrRawData));
      out_.str("");
      out_.ptr(kNull);
      out_.ptr(Ptr{kFrAdcData, 0});
      out_.ptr(kNull);
      out_.ptr(kNull);
      out_.ptr(kNull);
      end(s);
    }
    for (std::size_t i = 0; i < adc.size(); ++i) {
      const Channel& c = *adc[i];
      describe(kFrAdcData);
      const std::uint64_t at = out_.pos();
      if (i == 0) idx.first_adc = at;
      idx.adc[c.name] = at;  // a repeated name indexes the last one, as FrameL's TOC does
      if (!adc_ids_.count(c.name)) adc_ids_[c.name] = {c.adc.channel_number, c.adc.channel_group};
      s = begin(kFrAdcData, next_instance(kFrAdcData));
      out_.str(c.name);
      out_.str(c.comment);
      out_.u32(c.adc.channel_group);
      out_.u32(c.adc.channel_number);
      out_.u32(c.adc.n_bits);
      out_.f32(c.adc.bias);
      out_.f32(c.adc.slope);
      out_.str(c.adc.units);
      out_.f64(channel_rate(c));
      out_.f64(c.time_offset);
      out_.f64(c.f_shift);
      out_.f32(c.phase);
      out_.u16(c.adc.data_valid);
      out_.ptr(upcoming_vect());
      out_.ptr(kNull);
      out_.ptr(i + 1 < adc.size() ? Ptr{kFrAdcData, static_cast<std::uint32_t>(i + 1)} : kNull);
      end(s);
      vects_of(c);
    }
    for (std::size_t i = 0; i < proc.size(); ++i) {
      const Channel& c = *proc[i];
      describe(kFrProcData);
      const std::uint64_t at = out_.pos();
      idx.proc[c.name] = at;  // a repeated name indexes the last one, as FrameL's TOC does
      s = begin(kFrProcData, next_instance(kFrProcData));
      out_.str(c.name);
      out_.str(c.comment);
      out_.u16(c.proc.type);
      out_.u16(c.proc.sub_type);
      out_.f64(c.time_offset);
      double t_range = c.proc.t_range;
      // Spec: for a time series tRange = nx[0]·dx[0] (digest §5); fill it in when left at 0.
      if (t_range == 0 && c.proc.type == 1 && c.data.nx.size() == 1 && c.data.dx.size() == 1) {
        t_range = static_cast<double>(c.data.nx[0]) * c.data.dx[0];
      }
      out_.f64(t_range);
      out_.f64(c.f_shift);
      out_.f32(c.phase);
      out_.f64(c.proc.f_range);
      out_.f64(c.proc.bw);
      if (c.proc.aux_param.size() != c.proc.aux_param_names.size() || c.proc.aux_param.size() > 0xFFFFu) {
        throw std::invalid_argument(c.name + ": auxParam and auxParamNames differ in size");
      }
      out_.u16(static_cast<std::uint16_t>(c.proc.aux_param.size()));
      for (double a : c.proc.aux_param) out_.f64(a);
      for (const auto& n : c.proc.aux_param_names) out_.str(n);
      out_.ptr(upcoming_vect());
      out_.ptr(kNull);  // aux
      out_.ptr(kNull);  // table
      out_.ptr(kNull);  // history
      out_.ptr(i + 1 < proc.size() ? Ptr{kFrProcData, static_cast<std::uint32_t>(i + 1)} : kNull);
      end(s);
      vects_of(c);
    }
    for (std::size_t i = 0; i < sim.size(); ++i) {
      const Channel& c = *sim[i];
      describe(kFrSimData);
      const std::uint64_t at = out_.pos();
      idx.sim[c.name] = at;  // a repeated name indexes the last one, as FrameL's TOC does
      s = begin(kFrSimData, next_instance(kFrSimData));
      out_.str(c.name);
      out_.str(c.comment);
      out_.f64(channel_rate(c));
      out_.f64(c.time_offset);
      out_.f64(c.f_shift);
      out_.f32(c.phase);
      out_.ptr(upcoming_vect());
      out_.ptr(kNull);  // input
      out_.ptr(kNull);  // table
      out_.ptr(i + 1 < sim.size() ? Ptr{kFrSimData, static_cast<std::uint32_t>(i + 1)} : kNull);
      end(s);
      vects_of(c);
    }

    describe(kFrEndOfFrame);
    s = begin(kFrEndOfFrame, next_instance(kFrEndOfFrame));
    out_.i32(f.run);
    out_.u32(f.frame_number);
    out_.u32(f.start.sec);
    out_.u32(f.start.nsec);
    end(s);
    instances_.clear();  // FrTOC / FrEndOfFile count from 0 after the last FrEndOfFrame (digest §3)
  }

  // Names across all frames, sorted by strcmp (std::string compares bytes), with one position per
  // frame, 0 where the channel is absent (digest §8).
  void channel_section(std::map<std::string, std::uint64_t> FrameIndex::*member, bool adc_ids) {
    std::set<std::string> all;
    for (const auto& fi : toc_frames_) {
      for (const auto& kv : fi.*member) all.insert(kv.first);
    }
    out_.u32(count32(all.size(), "channels"));
    for (const auto& n : all) out_.str(n);
    if (adc_ids) {
      for (const auto& n : all) out_.u32(adc_ids_[n].channel_id);
      for (const auto& n : all) out_.u32(adc_ids_[n].group_id);
    }
    for (const auto& n : all) {
      for (const auto& fi : toc_frames_) {
        const auto it = (fi.*member).find(n);
        out_.u64(it == (fi.*member).end() ? 0 : it->second);
      }
    }
  }

  // FrTOC, v8 layout of digest §8. Empty sections carry count 0 (checklist §11.5).
  void toc() {
    describe(kFrTOC);
    toc_pos_ = out_.pos();
    const auto s = begin(kFrTOC, next_instance(kFrTOC));
    out_.i16(static_cast<std::int16_t>(frames_.front().uleap_s));
    const auto nf = count32(frames_.size(), "frames");
    out_.u32(nf);
    for (const auto& f : frames_) out_.u32(f.data_quality);
    for (const auto& f : frames_) out_.u32(f.start.sec);
    for (const auto& f : frames_) out_.u32(f.start.nsec);
    for (const auto& f : frames_) out_.f64(f.dt);
    for (const auto& f : frames_) out_.i32(f.run);
    for (const auto& f : frames_) out_.u32(f.frame_number);
    for (const auto& t : toc_frames_) out_.u64(t.position_h);
    for (const auto& t : toc_frames_) out_.u64(t.first_adc);
    for (std::size_t i = 0; i < 3 * frames_.size(); ++i) out_.u64(0);  // nFirstSer/Table/Msg
    out_.u32(count32(sh_list_.size(), "classes"));
    for (const auto& sh : sh_list_) out_.u16(sh.first);
    for (const auto& sh : sh_list_) out_.str(sh.second);
    out_.u32(count32(detector_pos_.size(), "detectors"));
    for (const auto& d : detector_pos_) out_.str(d.first);
    for (const auto& d : detector_pos_) out_.u64(d.second);
    out_.u32(0);  // nStatType
    out_.u32(0);  // nTotalStat
    channel_section(&FrameIndex::adc, true);
    channel_section(&FrameIndex::proc, false);
    channel_section(&FrameIndex::sim, false);
    out_.u32(0);  // nSer
    out_.u32(0);  // nSummary
    out_.u32(0);  // nEventType
    out_.u32(0);  // nTotalEvent
    out_.u32(0);  // nSimEventType
    out_.u32(0);  // nTotalSEvent
    end(s);
  }

  // FrEndOfFile (digest §5, §7): the last 46 bytes; chkSumFile covers everything but its own 4 bytes.
  void end_of_file() {
    describe(kFrEndOfFile);
    const auto s = begin(kFrEndOfFile, next_instance(kFrEndOfFile));
    const std::uint64_t n_bytes = out_.pos() + 4 + 8 + 8 + 4 + 4 + 4;
    out_.u32(count32(frames_.size(), "frames"));
    out_.u64(n_bytes);
    out_.u64(n_bytes - toc_pos_);
    out_.u32(posix_cksum(out_.buffer().data(), 40));
    end(s, 4);
    out_.u32(posix_cksum(out_.buffer().data(), out_.pos()));
  }

  const std::vector<Frame>& frames_;
  const WriteOptions& opt_;
  Sink out_;
  std::map<std::uint8_t, std::uint32_t> instances_;
  std::set<std::uint8_t> described_;
  std::vector<std::pair<std::uint16_t, std::string>> sh_list_;
  std::vector<FrameIndex> toc_frames_;
  std::map<std::string, std::uint64_t> detector_pos_;
  std::map<std::string, AdcIds> adc_ids_;
  std::uint64_t toc_pos_ = 0;
};

[[noreturn]] void fail(int err, const std::string& what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), what + " " + path);
}

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Removes the temporary file unless released; keeps failures from leaving debris (digest §10).
class TempGuard {
 public:
  explicit TempGuard(std::string p) : path_(std::move(p)) {}
  ~TempGuard() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  void set_fd(int fd) { fd_ = fd; }
  int close_fd() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

std::vector<std::byte> encode_frames(const std::vector<Frame>& frames, const WriteOptions& options) {
  return Encoder(frames, options).run();
}

void write_frame_file(const std::string& path, const std::vector<Frame>& frames,
                      const WriteOptions& options) {
  const std::vector<std::byte> bytes = encode_frames(frames, options);
  const std::string dir = dir_of(path);
  // A dot-file with a non-.gwf suffix in the same directory: watchers that glob *.gwf never see it,
  // and rename() within one file system makes the final name appear complete or not at all (§10).
  std::random_device rd;
  const std::string tmp = (dir == "/" ? std::string() : dir) + "/." + base_of(path) + "." +
                          std::to_string(rd()) + ".tmp";
  TempGuard guard(tmp);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    guard.release();  // nothing was created
    fail(errno, "cannot create temporary file for", path);
  }
  guard.set_fd(fd);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(errno, "cannot write", path);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail(errno, "cannot fsync", path);
  if (guard.close_fd() != 0) fail(errno, "cannot close", path);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail(errno, "cannot rename temporary file to", path);
  guard.release();
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(errno, "cannot open directory of", path);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0 && err != EINVAL) fail(err, "cannot fsync directory of", path);
}

}  // namespace deepclean::gwf
