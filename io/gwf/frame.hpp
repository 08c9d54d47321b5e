// In-memory model of IGWN frame files (.gwf), shared by the reader and the writer.
// Byte-level facts: ../shared/docs/gwf-format.md ("the digest"); section numbers below refer to it.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepclean::gwf {

// FrVect data types (digest §6; spec appendix C). Values are the on-disk codes.
enum class DataType : std::uint16_t {
  Int8 = 0,        // FR_VECT_C
  Int16 = 1,       // FR_VECT_2S
  Float64 = 2,     // FR_VECT_8R
  Float32 = 3,     // FR_VECT_4R
  Int32 = 4,       // FR_VECT_4S
  Int64 = 5,       // FR_VECT_8S
  Complex64 = 6,   // FR_VECT_8C
  Complex128 = 7,  // FR_VECT_16C
  String = 8,      // FR_VECT_STRING
  UInt16 = 9,      // FR_VECT_2U
  UInt32 = 10,     // FR_VECT_4U
  UInt64 = 11,     // FR_VECT_8U
  UInt8 = 12,      // FR_VECT_1U
};
std::size_t word_size(DataType t);     // bytes per element (0 for String)
const char* type_name(DataType t);     // "int16", "float64", "complex128", ...

// Compression schemes as the writer requests them (digest §6). On disk the code may carry 0x100.
enum class Compression : std::uint16_t {
  Raw = 0,
  Zlib = 1,
  DiffZlib = 3,     // integer types of 1, 2 or 4 bytes
  DiffZero16 = 5,   // int16/uint16
  DiffZero32 = 8,   // 4-byte words
  DiffZero64 = 10,  // 8-byte words
};

enum class ChannelKind { Adc, Proc, Sim };
const char* kind_name(ChannelKind k);  // "adc", "proc", "sim"

struct GpsTime {
  std::uint32_t sec = 0;
  std::uint32_t nsec = 0;
  double seconds() const { return sec + 1e-9 * nsec; }
  bool operator==(const GpsTime& o) const { return sec == o.sec && nsec == o.nsec; }
};

// A decoded FrVect. `data` holds nData elements in host byte order, uncompressed
// (for String vectors, `strings` is used instead).
struct Vect {
  std::string name;
  DataType type = DataType::Float64;
  std::uint16_t compress = 0;  // the code as stored in the file (informational for readers)
  std::vector<std::uint64_t> nx;
  std::vector<double> dx;
  std::vector<double> start_x;
  std::vector<std::string> unit_x;
  std::string unit_y;
  std::vector<std::byte> data;
  std::vector<std::string> strings;

  std::uint64_t size() const;                   // nData
  double real_at(std::uint64_t i) const;        // element i as double (real part for complex)
  std::vector<double> to_double() const;        // all elements (real part for complex)
  // Typed access; throws std::logic_error if T does not match `type`.
  template <typename T> const T* as() const;
  template <typename T> T* as_mut();
  // Convenience constructors for writers: 1-D vector with dx = 1/rate.
  template <typename T>
  static Vect make(std::string name, const std::vector<T>& values, double sample_rate,
                   std::string unit_y = {});
};

struct AdcInfo {  // FrAdcData-only fields
  std::uint32_t channel_group = 0, channel_number = 0, n_bits = 0;
  float bias = 0, slope = 0;  // physical = stored * slope + bias (slope 0 and bias 0 mean 1 and 0)
  std::string units;
  std::uint16_t data_valid = 0;
};
struct ProcInfo {  // FrProcData-only fields
  std::uint16_t type = 1, sub_type = 0;  // 1 = time series
  double t_range = 0, f_range = 0, bw = 0;
  std::vector<double> aux_param;
  std::vector<std::string> aux_param_names;
};

// A time-series channel: FrAdcData, FrProcData or FrSimData with its data FrVect.
struct Channel {
  std::string name;
  ChannelKind kind = ChannelKind::Proc;
  std::string comment;
  double sample_rate = 0;  // Adc/Sim: sampleRate; Proc: 1/dx[0]
  double time_offset = 0;
  double f_shift = 0;
  float phase = 0;
  AdcInfo adc;
  ProcInfo proc;
  Vect data;                 // the FrVect holding the channel (name == channel or empty, digest §5)
  std::vector<Vect> extra;   // further FrVects chained by `next` (rarely present)
};

struct Detector {
  std::string name;
  std::string prefix;  // 2 chars
  double longitude = 0, latitude = 0;
  float elevation = 0, arm_x_azimuth = 0, arm_y_azimuth = 0, arm_x_altitude = 0,
        arm_y_altitude = 0, arm_x_midpoint = 0, arm_y_midpoint = 0;
  std::int32_t local_time = 0;
};

struct History {
  std::string name;
  std::uint32_t time = 0;
  std::string comment;
};

struct Frame {
  std::string name;
  std::int32_t run = 0;
  std::uint32_t frame_number = 0;
  std::uint32_t data_quality = 0;
  GpsTime start;
  std::uint16_t uleap_s = 37;
  double dt = 1.0;
  std::vector<Detector> detectors;
  std::vector<History> history;
  std::vector<Channel> channels;  // adc, proc and sim, in file order

  const Channel* find(const std::string& channel_name) const;
};

// Every malformed-input problem is reported with this type: file, byte offset, structure and reason.
class FormatError : public std::runtime_error {
 public:
  FormatError(std::string file, std::uint64_t offset, std::string structure, std::string reason);
  const std::string& file() const { return file_; }
  std::uint64_t offset() const { return offset_; }
  const std::string& structure() const { return structure_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_;
  std::uint64_t offset_;
  std::string structure_;
  std::string reason_;
};

}  // namespace deepclean::gwf
