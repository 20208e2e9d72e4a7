// Typed ids: a MemberId cannot be passed where a UnitId is expected. Ids are
// plain int64 values assigned by the store; 0 means "none".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace switchboard {

template <typename Tag>
class Id {
 public:
  constexpr Id() = default;
  constexpr explicit Id(std::int64_t v) : v_(v) {}
  constexpr std::int64_t value() const { return v_; }
  constexpr bool valid() const { return v_ > 0; }
  friend constexpr auto operator<=>(Id, Id) = default;
  std::string ToString() const { return std::to_string(v_); }

 private:
  std::int64_t v_ = 0;
};

using MemberId = Id<struct MemberIdTag>;
using UnitId = Id<struct UnitIdTag>;
using AccountId = Id<struct AccountIdTag>;

}  // namespace switchboard

template <typename Tag>
struct std::hash<switchboard::Id<Tag>> {
  size_t operator()(switchboard::Id<Tag> id) const noexcept {
    return std::hash<std::int64_t>()(id.value());
  }
};
