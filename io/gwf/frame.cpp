#include "io/gwf/frame.hpp"

#include <cstring>

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
