#pragma once
// The durations and clocks the core uses (std::chrono::duration, steady_clock, system_clock).
// libstdc++'s <chrono> adds calendars, time zones and, in C++20, <sstream> for chrono::parse: a
// quarter of the core's standard-library parse cost for names the core never uses. Its
// <bits/chrono.h> holds exactly the durations and clocks (it is what <thread> and <mutex>
// include); elsewhere the standard header.

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>  // IWYU pragma: export
#else
#include <chrono>  // IWYU pragma: export
#endif
