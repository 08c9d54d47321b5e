#include "io/gwf/frame.hpp"

#include <cstring>
#include <type_traits>

namespace deepclean::gwf {

std::size_t word_size(DataType t) {
  switch (t) {
    case DataType::Int8:
    case DataType::UInt8: return 1;
    case DataType::Int16:
    case DataType::UInt16: return 2;
    case DataType::Int32:
    case DataType::UInt32:
    case DataType::Float32: return 4;
    case DataType::Int64:
    case DataType::UInt64:
    case DataType::Float64:
    case DataType::Complex64: return 8;
    case DataType::Complex128: return 16;
    case DataType::String: return 0;
  }
  return 0;
}

const char* type_name(DataType t) {
  switch (t) {
    case DataType::Int8: return "int8";
    case DataType::Int16: return "int16";
    case DataType::Float64: return "float64";
    case DataType::Float32: return "float32";
    case DataType::Int32: return "int32";
    case DataType::Int64: return "int64";
    case DataType::Complex64: return "complex64";
    case DataType::Complex128: return "complex128";
    case DataType::String: return "string";
    case DataType::UInt16: return "uint16";
    case DataType::UInt32: return "uint32";
    case DataType::UInt64: return "uint64";
    case DataType::UInt8: return "uint8";
  }
  return "unknown";
}

const char* kind_name(ChannelKind k) {
  switch (k) {
    case ChannelKind::Adc: return "adc";
    case ChannelKind::Proc: return "proc";
    case ChannelKind::Sim: return "sim";
  }
  return "unknown";
}

const Channel* Frame::find(const std::string& channel_name) const {
  for (const auto& c : channels) {
    if (c.name == channel_name) return &c;
  }
  return nullptr;
}

FormatError::FormatError(std::string file, std::uint64_t offset, std::string structure,
                         std::string reason)
    : std::runtime_error(file + ": byte " + std::to_string(offset) + ": " + structure + ": " + reason),
      file_(std::move(file)),
      offset_(offset),
      structure_(std::move(structure)),
      reason_(std::move(reason)) {}

}  // namespace deepclean::gwf

namespace deepclean::gwf {
namespace {

template <typename T>
constexpr DataType type_of();
template <> constexpr DataType type_of<std::int8_t>() { return DataType::Int8; }
template <> constexpr DataType type_of<std::int16_t>() { return DataType::Int16; }
template <> constexpr DataType type_of<double>() { return DataType::Float64; }
template <> constexpr DataType type_of<float>() { return DataType::Float32; }
template <> constexpr DataType type_of<std::int32_t>() { return DataType::Int32; }
template <> constexpr DataType type_of<std::int64_t>() { return DataType::Int64; }
template <> constexpr DataType type_of<std::complex<float>>() { return DataType::Complex64; }
template <> constexpr DataType type_of<std::complex<double>>() { return DataType::Complex128; }
template <> constexpr DataType type_of<std::uint16_t>() { return DataType::UInt16; }
template <> constexpr DataType type_of<std::uint32_t>() { return DataType::UInt32; }
template <> constexpr DataType type_of<std::uint64_t>() { return DataType::UInt64; }
template <> constexpr DataType type_of<std::uint8_t>() { return DataType::UInt8; }

template <typename T>
double load_real(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>) {
    return static_cast<double>(v.real());
  } else {
    return static_cast<double>(v);
  }
}

}  // namespace

std::uint64_t Vect::size() const {
  if (type == DataType::String) return strings.size();
  const std::size_t w = word_size(type);
  return w == 0 ? 0 : data.size() / w;
}

double Vect::real_at(std::uint64_t i) const {
  if (i >= size()) throw std::out_of_range("Vect::real_at: index past the end of " + name);
  const std::byte* p = data.data() + i * word_size(type);
  switch (type) {
    case DataType::Int8: return load_real<std::int8_t>(p);
    case DataType::Int16: return load_real<std::int16_t>(p);
    case DataType::Float64: return load_real<double>(p);
    case DataType::Float32: return load_real<float>(p);
    case DataType::Int32: return load_real<std::int32_t>(p);
    case DataType::Int64: return load_real<std::int64_t>(p);
    case DataType::Complex64: return load_real<std::complex<float>>(p);
    case DataType::Complex128: return load_real<std::complex<double>>(p);
    case DataType::UInt16: return load_real<std::uint16_t>(p);
    case DataType::UInt32: return load_real<std::uint32_t>(p);
    case DataType::UInt64: return load_real<std::uint64_t>(p);
    case DataType::UInt8: return load_real<std::uint8_t>(p);
    case DataType::String: break;
  }
  throw std::logic_error("Vect::real_at: string vector " + name);
}

namespace {

// out[i] = load_real<T>(element i) for i < n: the per-element conversion of real_at, with the type
// switch and the bounds check hoisted out of the loop. Elements are read with memcpy (the byte
// buffer has no alignment guarantee), which compilers turn into plain (vectorised) loads.
template <typename T>
void load_reals(const std::byte* p, std::size_t n, double* out) {
  if constexpr (std::is_same_v<T, double>) {
    if (n != 0) std::memcpy(out, p, n * sizeof(double));
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = load_real<T>(p + i * sizeof(T));
  }
}

}  // namespace

std::vector<double> Vect::to_double() const {
  const std::uint64_t n = size();
  std::vector<double> out(n);
  if (n == 0) return out;
  const std::byte* p = data.data();
  double* o = out.data();
  switch (type) {
    case DataType::Int8: load_reals<std::int8_t>(p, n, o); return out;
    case DataType::Int16: load_reals<std::int16_t>(p, n, o); return out;
    case DataType::Float64: load_reals<double>(p, n, o); return out;
    case DataType::Float32: load_reals<float>(p, n, o); return out;
    case DataType::Int32: load_reals<std::int32_t>(p, n, o); return out;
    case DataType::Int64: load_reals<std::int64_t>(p, n, o); return out;
    case DataType::Complex64: load_reals<std::complex<float>>(p, n, o); return out;
    case DataType::Complex128: load_reals<std::complex<double>>(p, n, o); return out;
    case DataType::UInt16: load_reals<std::uint16_t>(p, n, o); return out;
    case DataType::UInt32: load_reals<std::uint32_t>(p, n, o); return out;
    case DataType::UInt64: load_reals<std::uint64_t>(p, n, o); return out;
    case DataType::UInt8: load_reals<std::uint8_t>(p, n, o); return out;
    case DataType::String: break;
  }
  throw std::logic_error("Vect::real_at: string vector " + name);
}

template <typename T>
const T* Vect::as() const {
  if (type != type_of<T>()) throw std::logic_error("Vect::as: type mismatch for " + name);
  return reinterpret_cast<const T*>(data.data());
}

template <typename T>
T* Vect::as_mut() {
  if (type != type_of<T>()) throw std::logic_error("Vect::as_mut: type mismatch for " + name);
  return reinterpret_cast<T*>(data.data());
}

template <typename T>
Vect Vect::make(std::string vect_name, const std::vector<T>& values, double sample_rate,
                std::string y_unit) {
  Vect v;
  v.name = std::move(vect_name);
  v.type = type_of<T>();
  v.nx = {values.size()};
  v.dx = {1.0 / sample_rate};
  v.start_x = {0.0};
  v.unit_x = {"s"};
  v.unit_y = std::move(y_unit);
  v.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(v.data.data(), values.data(), v.data.size());
  return v;
}

#define DEEPCLEAN_GWF_INSTANTIATE(T)                                                          \
  template const T* Vect::as<T>() const;                                                      \
  template T* Vect::as_mut<T>();                                                              \
  template Vect Vect::make<T>(std::string, const std::vector<T>&, double, std::string);
DEEPCLEAN_GWF_INSTANTIATE(std::int8_t)
DEEPCLEAN_GWF_INSTANTIATE(std::int16_t)
DEEPCLEAN_GWF_INSTANTIATE(double)
DEEPCLEAN_GWF_INSTANTIATE(float)
DEEPCLEAN_GWF_INSTANTIATE(std::int32_t)
DEEPCLEAN_GWF_INSTANTIATE(std::int64_t)
DEEPCLEAN_GWF_INSTANTIATE(std::complex<float>)
DEEPCLEAN_GWF_INSTANTIATE(std::complex<double>)
DEEPCLEAN_GWF_INSTANTIATE(std::uint16_t)
DEEPCLEAN_GWF_INSTANTIATE(std::uint32_t)
DEEPCLEAN_GWF_INSTANTIATE(std::uint64_t)
DEEPCLEAN_GWF_INSTANTIATE(std::uint8_t)
#undef DEEPCLEAN_GWF_INSTANTIATE

}  // namespace deepclean::gwf
