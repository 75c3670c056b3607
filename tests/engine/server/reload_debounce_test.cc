#include <doctest/doctest.h>

#include "server/reload_debounce.h"

using toolgate::server::ReloadDebounce;
using namespace std::chrono_literals;

namespace {
const ReloadDebounce::Clock::time_point t0{};
}

TEST_CASE("debounce: nothing pending, nothing due") {
  ReloadDebounce d(150ms, 1000ms);
  CHECK_FALSE(d.Deadline().has_value());
  CHECK_FALSE(d.TakeDue(t0 + 10s));
}

TEST_CASE("debounce: one event is due after the quiet period, once") {
  ReloadDebounce d(150ms, 1000ms);
  d.OnEvent(t0);
  REQUIRE(d.Deadline().has_value());
  CHECK(*d.Deadline() == t0 + 150ms);
  CHECK_FALSE(d.TakeDue(t0 + 149ms));
  CHECK(d.TakeDue(t0 + 150ms));
  CHECK_FALSE(d.Deadline().has_value());
  CHECK_FALSE(d.TakeDue(t0 + 300ms));  // consumed
}

TEST_CASE("debounce: a burst (truncate, write, rename, chmod) is one reload after it ends") {
  ReloadDebounce d(150ms, 1000ms);
  for (int i = 0; i < 5; ++i) d.OnEvent(t0 + i * 20ms);  // the last at 80 ms
  CHECK_FALSE(d.TakeDue(t0 + 200ms));
  CHECK(*d.Deadline() == t0 + 230ms);
  CHECK(d.TakeDue(t0 + 230ms));
}

TEST_CASE("debounce: a file written without pause is still reloaded by max_delay") {
  ReloadDebounce d(150ms, 1000ms);
  int due = 0;
  for (int ms = 0; ms <= 2500; ms += 50) {
    d.OnEvent(t0 + std::chrono::milliseconds(ms));
    if (d.TakeDue(t0 + std::chrono::milliseconds(ms))) ++due;
  }
  // Due at 1000 ms and at 2050 ms (the next burst began at 1050 ms).
  CHECK(due == 2);
}

TEST_CASE("debounce: an event after a reload starts a new burst") {
  ReloadDebounce d(100ms, 500ms);
  d.OnEvent(t0);
  CHECK(d.TakeDue(t0 + 100ms));
  d.OnEvent(t0 + 120ms);
  CHECK(*d.Deadline() == t0 + 220ms);
  CHECK_FALSE(d.TakeDue(t0 + 219ms));
  CHECK(d.TakeDue(t0 + 220ms));
}

TEST_CASE("debounce: max_delay shorter than quiet is raised to quiet") {
  ReloadDebounce d(200ms, 50ms);
  d.OnEvent(t0);
  CHECK(*d.Deadline() == t0 + 200ms);
}

TEST_CASE("debounce: events out of order do not move the deadline back") {
  ReloadDebounce d(100ms, 1000ms);
  d.OnEvent(t0 + 50ms);
  d.OnEvent(t0 + 10ms);
  CHECK(*d.Deadline() == t0 + 150ms);
}
