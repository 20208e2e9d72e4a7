// Value and Row: the data that crosses the Store interface. A Value is NULL,
// a 64-bit integer, a double, UTF-8 text or raw bytes (BLOB / BYTEA). A Row is
// a borrowed view of one result row, valid only inside the callback that
// receives it; accessors check the column's type and abort on a mismatch (a
// bug in the caller's SQL, not an input error).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace switchboard::store {

class Value {
 public:
  enum class Type { kNull, kInt, kReal, kText, kBytes };

  Value() = default;
  Value(std::nullptr_t) {}                                     // NOLINT
  Value(std::int64_t v) : v_(v) {}                             // NOLINT
  Value(int v) : v_(static_cast<std::int64_t>(v)) {}           // NOLINT
  Value(bool v) : v_(static_cast<std::int64_t>(v ? 1 : 0)) {}  // NOLINT
  Value(double v) : v_(v) {}                                   // NOLINT
  Value(std::string v) : v_(Text{std::move(v)}) {}             // NOLINT
  Value(std::string_view v) : v_(Text{std::string(v)}) {}      // NOLINT
  Value(const char* v) : v_(Text{std::string(v)}) {}           // NOLINT
  static Value Bytes(std::string bytes) {
    Value v;
    v.v_ = Blob{std::move(bytes)};
    return v;
  }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  std::int64_t AsInt() const { return std::get<std::int64_t>(v_); }
  double AsReal() const { return std::get<double>(v_); }
  const std::string& AsText() const { return std::get<Text>(v_).s; }
  const std::string& AsBytes() const { return std::get<Blob>(v_).s; }

 private:
  struct Text {
    std::string s;
  };
  struct Blob {
    std::string s;
  };
  std::variant<std::monostate, std::int64_t, double, Text, Blob> v_;
};

class Row {
 public:
  virtual ~Row() = default;
  virtual int size() const = 0;
  virtual bool IsNull(int col) const = 0;
  virtual std::int64_t Int(int col) const = 0;
  virtual double Real(int col) const = 0;
  // Text and bytes views stay valid until the callback returns.
  virtual std::string_view Text(int col) const = 0;
  virtual std::string_view Bytes(int col) const = 0;

  // Convenience: NULL reads as the fallback.
  std::int64_t IntOr(int col, std::int64_t fallback) const {
    return IsNull(col) ? fallback : Int(col);
  }
  std::string TextOr(int col, std::string_view fallback = {}) const {
    return std::string(IsNull(col) ? fallback : Text(col));
  }
};

}  // namespace switchboard::store
