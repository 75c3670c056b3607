#include "effects/string_index_set.h"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using toolgate::effects::StringIndexSet;

TEST_CASE("StringIndexSet keeps the first of equal strings, however large it grows") {
  // Appended as ExpandGlob does: push, insert, take back a duplicate. The
  // strings collide in prefixes and lengths; the set grows from empty and
  // from a reservation.
  for (const std::size_t reserve : {std::size_t{0}, std::size_t{5}, std::size_t{3000}}) {
    CAPTURE(reserve);
    std::vector<std::string> items;
    StringIndexSet seen(items);
    seen.Reserve(reserve);
    std::set<std::string> reference;
    for (int round = 0; round < 2000; ++round) {
      std::string s = "/p/" + std::to_string((round * 7919) % 1300);
      if (round % 3 == 0) s += std::string(static_cast<std::size_t>(round % 17), 'x');
      if (round % 13 == 0) s.clear();  // the empty string is a string like any other
      items.push_back(s);
      const bool added = seen.Insert(items.size() - 1);
      CHECK(added == reference.insert(s).second);
      if (!added) items.pop_back();
    }
    CHECK(items.size() == reference.size());
    CHECK(std::set<std::string>(items.begin(), items.end()) == reference);
  }
}
