// A sequence used like a std::vector<T> whose first element is kept inline.
//
// The shell syntax tree is mostly sequences of one: one part per word, one
// and-or list per line, one pipeline per and-or list, one command per
// pipeline. Keeping that one element inside the container means reading a
// word or a command costs no allocation for it; from the second element on,
// every element lives in a vector, as a std::vector would keep them.
#pragma once

#include <cstddef>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

namespace toolgate::shell {

template <typename T>
class FirstInlineVector {
 public:
  FirstInlineVector() noexcept {}
  ~FirstInlineVector() { DestroyOne(); }

  FirstInlineVector(const FirstInlineVector& other) : many_(other.many_) {
    if (other.has_one_) ConstructOne(other.one_);
  }
  // A moved-from FirstInlineVector is empty, as a moved-from vector is.
  FirstInlineVector(FirstInlineVector&& other) noexcept : many_(std::move(other.many_)) {
    other.many_.clear();
    TakeOne(other);
  }
  FirstInlineVector& operator=(const FirstInlineVector& other) {
    if (this != &other) {
      FirstInlineVector copy(other);  // nothing changes here if a copy throws
      *this = std::move(copy);
    }
    return *this;
  }
  FirstInlineVector& operator=(FirstInlineVector&& other) noexcept {
    if (this == &other) return *this;
    DestroyOne();
    many_ = std::move(other.many_);
    other.many_.clear();
    TakeOne(other);
    return *this;
  }

  std::size_t size() const { return many_.empty() ? (has_one_ ? 1 : 0) : many_.size(); }
  bool empty() const { return size() == 0; }
  // With no element, begin() == end() and neither is dereferenced.
  T* begin() { return many_.empty() ? &one_ : many_.data(); }
  T* end() { return begin() + size(); }
  const T* begin() const { return many_.empty() ? &one_ : many_.data(); }
  const T* end() const { return begin() + size(); }
  T& operator[](std::size_t i) { return begin()[i]; }
  const T& operator[](std::size_t i) const { return begin()[i]; }
  T& at(std::size_t i) { return i < size() ? begin()[i] : throw std::out_of_range("FirstInlineVector::at"); }
  const T& at(std::size_t i) const {
    return i < size() ? begin()[i] : throw std::out_of_range("FirstInlineVector::at");
  }
  T& back() { return begin()[size() - 1]; }
  const T& back() const { return begin()[size() - 1]; }

  // A new default element at the end; like vector's, it invalidates
  // references to the elements before it (the second one moves the first
  // out of the container into the vector).
  T& emplace_back() {
    if (many_.empty()) {
      if (!has_one_) {
        ConstructOne();
        return one_;
      }
      many_.reserve(4);  // what has two elements usually has a few; throws before any change
      many_.push_back(std::move(one_));
      DestroyOne();
    }
    return many_.emplace_back();
  }
  void push_back(T value) { emplace_back() = std::move(value); }
  void pop_back() {
    if (many_.empty()) {
      DestroyOne();
    } else {
      many_.pop_back();
    }
  }

 private:
  // Invariant: has_one_ only while many_ is empty; one_ is alive exactly
  // while has_one_.
  template <typename... Args>
  void ConstructOne(Args&&... args) {
    ::new (static_cast<void*>(&one_)) T(std::forward<Args>(args)...);
    has_one_ = true;
  }
  void DestroyOne() noexcept {
    if (!has_one_) return;
    one_.~T();
    has_one_ = false;
  }
  // Moves other's inline element (if any) into this one, whose own is gone.
  void TakeOne(FirstInlineVector& other) noexcept {
    static_assert(std::is_nothrow_move_constructible_v<T>, "moves of the container must not throw");
    if (!other.has_one_) return;
    ConstructOne(std::move(other.one_));
    other.DestroyOne();
  }

  union {
    T one_;  // the only element, while has_one_
  };
  std::vector<T> many_;  // every element, when there are two or more
  bool has_one_ = false;
};

}  // namespace toolgate::shell
