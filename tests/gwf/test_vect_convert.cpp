// Vect::to_double (the bulk conversion) against Vect::real_at (the per-element one) for every data
// type, element by element and bit for bit, plus hand-written values.
#include <gtest/gtest.h>

#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "io/gwf/frame.hpp"

namespace gwf = deepclean::gwf;

namespace {

// Same double, bit for bit (so NaN payloads and the sign of zero count too).
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_matches_real_at(const gwf::Vect& v) {
  const std::vector<double> d = v.to_double();
  ASSERT_EQ(d.size(), v.size()) << gwf::type_name(v.type);
  for (std::uint64_t i = 0; i < v.size(); ++i) {
    EXPECT_TRUE(same_bits(d[i], v.real_at(i)))
        << gwf::type_name(v.type) << " element " << i << ": " << d[i] << " vs " << v.real_at(i);
  }
}

// Values spanning the type's range, its extremes included.
template <typename T>
std::vector<T> spread() {
  using L = std::numeric_limits<T>;
  std::vector<T> extra;
  if constexpr (L::is_signed) extra = {T(-1), T(-3), T(-100)};
  if constexpr (!L::is_integer) {
    extra = {T(-1), T(-3), T(-100), T(0.1), T(-2.5), T(1e-30), L::denorm_min(), L::infinity(),
             -L::infinity(), L::quiet_NaN(), -T(0)};
  }
  std::vector<T> v{L::lowest(), L::max(), L::min(), T(0), T(1), T(2), T(3), T(100)};
  v.reserve(v.size() + extra.size() + 100);
  for (const T x : extra) v.push_back(x);
  for (int i = 0; i < 100; ++i) v.push_back(static_cast<T>(L::max() / T(97) * T(i % 7) - T(i)));
  return v;
}

template <typename T>
void check_type() {
  const std::vector<T> values = spread<T>();
  const gwf::Vect v = gwf::Vect::make("X", values, 16.0);
  ASSERT_EQ(v.size(), values.size());
  expect_matches_real_at(v);
  const std::vector<double> d = v.to_double();
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(same_bits(d[i], static_cast<double>(values[i]))) << gwf::type_name(v.type) << " " << i;
  }
}

template <typename F>
void check_complex() {
  using C = std::complex<F>;
  const std::vector<F> re = spread<F>();
  std::vector<C> values;
  for (std::size_t i = 0; i < re.size(); ++i) values.emplace_back(re[i], re[re.size() - 1 - i]);
  const gwf::Vect v = gwf::Vect::make("Z", values, 16.0);
  ASSERT_EQ(v.size(), values.size());
  expect_matches_real_at(v);
  const std::vector<double> d = v.to_double();
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(same_bits(d[i], static_cast<double>(values[i].real()))) << gwf::type_name(v.type) << " " << i;
  }
}

TEST(VectToDouble, EveryNumericTypeMatchesRealAt) {
  check_type<std::int8_t>();
  check_type<std::int16_t>();
  check_type<double>();
  check_type<float>();
  check_type<std::int32_t>();
  check_type<std::int64_t>();
  check_type<std::uint16_t>();
  check_type<std::uint32_t>();
  check_type<std::uint64_t>();
  check_type<std::uint8_t>();
  check_complex<float>();
  check_complex<double>();
}

TEST(VectToDouble, HandWrittenValues) {
  EXPECT_EQ(gwf::Vect::make("a", std::vector<std::int16_t>{-3, 7}, 1.0).to_double(),
            (std::vector<double>{-3.0, 7.0}));
  EXPECT_EQ(gwf::Vect::make("b", std::vector<std::complex<float>>{{1.5f, 2.0f}, {-0.25f, 9.0f}}, 1.0)
                .to_double(),
            (std::vector<double>{1.5, -0.25}));
  EXPECT_EQ(gwf::Vect::make("c", std::vector<std::complex<double>>{{-1e300, 1.0}}, 1.0).to_double(),
            (std::vector<double>{-1e300}));
  EXPECT_EQ(gwf::Vect::make("d", std::vector<std::uint64_t>{std::numeric_limits<std::uint64_t>::max()}, 1.0)
                .to_double(),
            (std::vector<double>{18446744073709551616.0}));  // 2^64, the nearest double
  EXPECT_EQ(gwf::Vect::make("e", std::vector<std::int8_t>{-128, 127}, 1.0).to_double(),
            (std::vector<double>{-128.0, 127.0}));
  EXPECT_EQ(gwf::Vect::make("f", std::vector<std::uint8_t>{0, 255}, 1.0).to_double(),
            (std::vector<double>{0.0, 255.0}));
  EXPECT_EQ(gwf::Vect::make("g", std::vector<float>{0.1f}, 1.0).to_double(),
            (std::vector<double>{static_cast<double>(0.1f)}));
  EXPECT_EQ(gwf::Vect::make("h", std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min()}, 1.0)
                .to_double(),
            (std::vector<double>{-9223372036854775808.0}));
}

// Bytes laid out by hand: host byte order, and a trailing partial element that size() ignores.
TEST(VectToDouble, RawBytesAndPartialTail) {
  gwf::Vect v;
  v.type = gwf::DataType::Int32;
  const std::int32_t words[2] = {-5, 0x01020304};
  v.data.resize(sizeof words + 3);
  std::memcpy(v.data.data(), words, sizeof words);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.to_double(), (std::vector<double>{-5.0, 16909060.0}));
  expect_matches_real_at(v);
}

TEST(VectToDouble, EmptyAndStringVectors) {
  gwf::Vect empty;
  empty.type = gwf::DataType::Float32;
  EXPECT_TRUE(empty.to_double().empty());
  gwf::Vect strings;
  strings.type = gwf::DataType::String;
  EXPECT_TRUE(strings.to_double().empty());
  strings.strings = {"a", "b"};
  EXPECT_THROW((void)strings.to_double(), std::logic_error);
  EXPECT_THROW((void)strings.real_at(0), std::logic_error);
}

}  // namespace
