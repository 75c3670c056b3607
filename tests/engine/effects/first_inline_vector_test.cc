#include "effects/first_inline_vector.h"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using toolgate::shell::FirstInlineVector;

namespace {

// Counts the live objects, so a test can tell every element it made was
// destroyed exactly once (the inline one is constructed and destroyed by
// hand). The text is long enough to live on the heap: a double destroy or a
// lost one shows under the sanitizers too.
struct Counted {
  static inline int live = 0;
  std::string text;
  Counted() { ++live; }
  explicit Counted(std::string t) : text(std::move(t)) { ++live; }
  Counted(const Counted& other) : text(other.text) { ++live; }
  Counted(Counted&& other) noexcept : text(std::move(other.text)) { ++live; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { --live; }
};

std::string Long(int i) { return "element number " + std::to_string(i) + " with a text past the small buffer"; }

std::vector<std::string> Texts(const FirstInlineVector<Counted>& v) {
  std::vector<std::string> out;
  for (const Counted& c : v) out.push_back(c.text);
  return out;
}

FirstInlineVector<Counted> Make(int n) {
  FirstInlineVector<Counted> v;
  for (int i = 0; i < n; ++i) v.emplace_back().text = Long(i);
  return v;
}

}  // namespace

TEST_CASE("FirstInlineVector holds its elements in order from none to many") {
  {
    FirstInlineVector<Counted> v;
    CHECK(v.empty());
    CHECK(v.size() == 0);
    CHECK(v.begin() == v.end());
    std::vector<std::string> expected;
    for (int i = 0; i < 40; ++i) {
      Counted& added = v.emplace_back();
      CHECK(added.text.empty());  // a new element is default constructed
      added.text = Long(i);
      expected.push_back(Long(i));
      REQUIRE(v.size() == expected.size());
      CHECK(Texts(v) == expected);
      CHECK(v.back().text == Long(i));
      CHECK(v[0].text == Long(0));
      CHECK(v.at(static_cast<std::size_t>(i)).text == Long(i));
    }
    CHECK_THROWS_AS(v.at(40), std::out_of_range);
    CHECK(Counted::live == 40);
  }
  CHECK(Counted::live == 0);
}

TEST_CASE("FirstInlineVector pop_back and push_back at every size") {
  {
    for (int n = 1; n <= 6; ++n) {
      CAPTURE(n);
      FirstInlineVector<Counted> v = Make(n);
      v.pop_back();
      CHECK(v.size() == static_cast<std::size_t>(n - 1));
      CHECK(Counted::live == n - 1);
      v.push_back(Counted(Long(99)));
      REQUIRE(v.size() == static_cast<std::size_t>(n));
      CHECK(v.back().text == Long(99));
      if (n > 1) CHECK(v[0].text == Long(0));
      // Emptied completely, then used again: the first element is inline again.
      while (!v.empty()) v.pop_back();
      CHECK(Counted::live == 0);
      CHECK_THROWS_AS(v.at(0), std::out_of_range);
      v.emplace_back().text = "again";
      CHECK(Texts(v) == std::vector<std::string>{"again"});
    }
  }
  CHECK(Counted::live == 0);
}

TEST_CASE("FirstInlineVector copies and moves like a vector") {
  {
    for (int n = 0; n <= 3; ++n) {
      CAPTURE(n);
      FirstInlineVector<Counted> original = Make(n);
      const std::vector<std::string> texts = Texts(original);

      FirstInlineVector<Counted> copy = original;
      CHECK(Texts(copy) == texts);
      CHECK(Texts(original) == texts);
      copy.emplace_back().text = "only in the copy";
      CHECK(original.size() == static_cast<std::size_t>(n));

      FirstInlineVector<Counted> moved = std::move(original);
      CHECK(Texts(moved) == texts);
      CHECK(original.empty());  // NOLINT(bugprone-use-after-move): a moved-from one is empty
      original.emplace_back().text = "reused";
      CHECK(Texts(original) == std::vector<std::string>{"reused"});

      // Assignment over every size of target, copy and move.
      for (int m = 0; m <= 3; ++m) {
        CAPTURE(m);
        FirstInlineVector<Counted> target = Make(m);
        target = moved;
        CHECK(Texts(target) == texts);
        FirstInlineVector<Counted> other = Make(m);
        other = std::move(target);
        CHECK(Texts(other) == texts);
        CHECK(target.empty());  // NOLINT(bugprone-use-after-move)
      }

      // Self-assignment leaves the elements as they were.
      FirstInlineVector<Counted>& self = moved;
      moved = self;
      CHECK(Texts(moved) == texts);
      moved = std::move(self);
      CHECK(Texts(moved) == texts);
    }
  }
  CHECK(Counted::live == 0);
}

TEST_CASE("FirstInlineVector nests in the types it holds") {
  // The syntax tree nests these (a list holds and-or lists holding
  // pipelines holding commands): moving an outer one moves the inner ones.
  struct Inner {
    FirstInlineVector<Counted> items;
  };
  {
    FirstInlineVector<Inner> outer;
    outer.emplace_back().items.emplace_back().text = Long(1);
    outer.emplace_back().items = Make(3);
    FirstInlineVector<Inner> moved = std::move(outer);
    REQUIRE(moved.size() == 2);
    CHECK(Texts(moved[0].items) == std::vector<std::string>{Long(1)});
    CHECK(moved[1].items.size() == 3);
    FirstInlineVector<Inner> copy = moved;
    CHECK(Counted::live == 8);
  }
  CHECK(Counted::live == 0);
}
