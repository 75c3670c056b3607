// StringIndexSet: which strings of a list that is only appended to are in
// it already, kept as indices into the list (no copy of a string) in one
// open-addressed array (no allocation per entry, unlike std::unordered_set).
// A glob adds hundreds of paths to one list; each is hashed once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace toolgate::effects {

class StringIndexSet {
 public:
  explicit StringIndexSet(const std::vector<std::string>& items) : items_(&items) {}

  // Room for `count` indices without growing.
  void Reserve(std::size_t count) {
    std::size_t capacity = 16;
    while (capacity < 2 * count) capacity *= 2;
    if (capacity > slots_.size()) Rehash(capacity);
  }

  // Adds index `i` unless a string equal to items[i] is in the set already
  // (then its index is kept); true when added.
  bool Insert(std::size_t i) {
    if (2 * (count_ + 1) > slots_.size()) Rehash(slots_.empty() ? 16 : 2 * slots_.size());
    const std::string_view item = (*items_)[i];
    const std::size_t hash = std::hash<std::string_view>{}(item);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = hash & mask;; s = (s + 1) & mask) {
      Slot& slot = slots_[s];
      if (slot.index_plus_one == 0) {
        slot = Slot{hash, i + 1};
        ++count_;
        return true;
      }
      if (slot.hash == hash && (*items_)[slot.index_plus_one - 1] == item) return false;
    }
  }

 private:
  struct Slot {
    std::size_t hash = 0;
    std::size_t index_plus_one = 0;  // 0: empty
  };

  // `capacity` is a power of two, more than twice count_.
  void Rehash(std::size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    for (const Slot& slot : old) {
      if (slot.index_plus_one == 0) continue;
      std::size_t s = slot.hash & (capacity - 1);
      while (slots_[s].index_plus_one != 0) s = (s + 1) & (capacity - 1);
      slots_[s] = slot;
    }
  }

  const std::vector<std::string>* items_;
  std::vector<Slot> slots_;  // size 0 or a power of two, at most half full
  std::size_t count_ = 0;
};

}  // namespace toolgate::effects
