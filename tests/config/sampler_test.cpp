#include "krishiv/trace/sampler.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "capture.hpp"

using namespace krishiv::trace;
using ::test::EnvGuard;
using ::test::StderrCapture;

namespace {

constexpr std::uint64_t k2p56 = std::uint64_t{1} << 56;

// A trace id whose right-most 56 bits are `r` and whose other bits are `noise`.
TraceId id_with_randomness(std::uint64_t r, std::uint64_t noise = 0) {
  return TraceId::from_u64(noise, (noise & 0xFF00000000000000ull) | (r & (k2p56 - 1)));
}

SpanContext parent(bool remote, bool sampled, bool random_flag = true) {
  SpanContext p;
  p.trace_id = TraceId::from_u64(1, 2);
  p.span_id = SpanId::from_u64(3);
  p.flags = TraceFlags().with_sampled(sampled).with_random(random_flag);
  p.is_remote = remote;
  return p;
}

struct Case {
  const char* name;
  std::optional<SpanContext> parent;
};

const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = {
      {"root", std::nullopt},
      {"remote sampled", parent(true, true)},
      {"remote not sampled", parent(true, false)},
      {"local sampled", parent(false, true)},
      {"local not sampled", parent(false, false)},
  };
  return cases;
}

// Decisions in all_cases() order, for a trace id that a ratio-0.5 sampler keeps (R = 2^55)
// or drops (R = 2^55 - 1).
std::vector<bool> decisions(const Sampler& s, const TraceId& id) {
  std::vector<bool> out;
  for (const auto& c : all_cases())
    out.push_back(s.should_sample(c.parent ? &*c.parent : nullptr, id));
  return out;
}

const TraceId kKeptAtHalf = id_with_randomness(k2p56 / 2);
const TraceId kDroppedAtHalf = id_with_randomness(k2p56 / 2 - 1);

std::string warning(const std::string& var, const std::string& value, const std::string& problem,
                    const std::string& fallback) {
  return "krishiv-trace: " + var + "=\"" + value + "\" " + problem + "; using " + fallback + "\n";
}

}  // namespace

TEST_CASE("sampler: decisions for root and every parent combination") {
  const std::vector<bool> T(5, true), F(5, false);
  // Columns: root, remote sampled, remote not sampled, local sampled, local not sampled.
  CHECK(decisions(Sampler::always_on(), kDroppedAtHalf) == T);
  CHECK(decisions(Sampler::always_off(), kKeptAtHalf) == F);
  // TraceIdRatioBased MUST ignore the parent's sampled flag.
  CHECK(decisions(Sampler::trace_id_ratio(0.5), kKeptAtHalf) == T);
  CHECK(decisions(Sampler::trace_id_ratio(0.5), kDroppedAtHalf) == F);
  // ParentBased defaults: remote/local sampled -> AlwaysOn, not sampled -> AlwaysOff.
  const std::vector<bool> follow_parent_root_on = {true, true, false, true, false};
  const std::vector<bool> follow_parent_root_off = {false, true, false, true, false};
  CHECK(decisions(Sampler::parent_based(Sampler::always_on()), kDroppedAtHalf) ==
        follow_parent_root_on);
  CHECK(decisions(Sampler::parent_based(Sampler::always_off()), kKeptAtHalf) ==
        follow_parent_root_off);
  CHECK(decisions(Sampler::parent_based(Sampler::trace_id_ratio(0.5)), kKeptAtHalf) ==
        follow_parent_root_on);
  CHECK(decisions(Sampler::parent_based(Sampler::trace_id_ratio(0.5)), kDroppedAtHalf) ==
        follow_parent_root_off);
}

TEST_CASE("sampler: parent_based delegates are used for their own case only") {
  const auto on = Sampler::always_on();
  const auto off = Sampler::always_off();
  // Inverted delegates: each case must pick its own delegate.
  const auto inverted = Sampler::parent_based(off, off, on, off, on);
  CHECK(decisions(inverted, kKeptAtHalf) == std::vector<bool>{false, false, true, false, true});
  const auto only_remote_sampled = Sampler::parent_based(off, on, off, off, off);
  CHECK(decisions(only_remote_sampled, kKeptAtHalf) ==
        std::vector<bool>{false, true, false, false, false});
  const auto only_local_not_sampled = Sampler::parent_based(off, off, off, off, on);
  CHECK(decisions(only_local_not_sampled, kKeptAtHalf) ==
        std::vector<bool>{false, false, false, false, true});
}

TEST_CASE("sampler: nested parent_based decides like the spec's composition") {
  // The inner sampler is only asked in the same situation as the outer delegate slot.
  const auto inner =
      Sampler::parent_based(Sampler::always_on(), Sampler::always_off(), Sampler::always_on(),
                            Sampler::always_off(), Sampler::always_on());
  const auto outer = Sampler::parent_based(inner, inner, inner, inner, inner);
  CHECK(decisions(outer, kDroppedAtHalf) == decisions(inner, kDroppedAtHalf));
  CHECK(Sampler::parent_based(inner) == Sampler::parent_based(Sampler::always_on()));
}

TEST_CASE("sampler: an invalid parent context is a root") {
  SpanContext invalid;  // all-zero ids
  invalid.flags = TraceFlags(TraceFlags::kSampled);
  const auto s = Sampler::parent_based(Sampler::always_off());
  CHECK_FALSE(s.should_sample(&invalid, kKeptAtHalf));
  CHECK_FALSE(s.should_sample(nullptr, kKeptAtHalf));
}

TEST_CASE("sampler: trace id ratio uses the right-most 56 bits against the rejection threshold") {
  // ratio 0.25: T = (1 - 0.25) * 2^56 = 0xc0000000000000; sample iff R >= T.
  const auto s = Sampler::trace_id_ratio(0.25);
  const std::uint64_t t = 0xc0000000000000ull;
  CHECK(s.should_sample(nullptr, id_with_randomness(t)));
  CHECK_FALSE(s.should_sample(nullptr, id_with_randomness(t - 1)));
  CHECK(s.should_sample(nullptr, id_with_randomness(k2p56 - 1)));
  CHECK_FALSE(s.should_sample(nullptr, id_with_randomness(0)));
  // Bits outside the 56 do not matter: byte 8 and the whole high half.
  CHECK_FALSE(s.should_sample(nullptr, id_with_randomness(t - 1, ~std::uint64_t{0})));
  CHECK(s.should_sample(nullptr, id_with_randomness(t, 0)));
  CHECK(s.should_sample(nullptr, TraceId::from_u64(0, 0x00c0000000000000ull)));
  CHECK_FALSE(s.should_sample(nullptr, TraceId::from_u64(~0ull, 0xffbfffffffffffffull)));
}

TEST_CASE("sampler: ratio edge cases 0 and 1") {
  const auto never = Sampler::trace_id_ratio(0.0);
  const auto always = Sampler::trace_id_ratio(1.0);
  CHECK_FALSE(never.should_sample(nullptr, id_with_randomness(k2p56 - 1)));
  CHECK_FALSE(never.should_sample(nullptr, TraceId::from_u64(~0ull, ~0ull)));
  CHECK(always.should_sample(nullptr, id_with_randomness(0)));
  CHECK(always.should_sample(nullptr, TraceId::from_u64(0, 1)));
  // Below the minimum valid ratio 2^-56: still samples the single largest randomness value.
  const auto tiny = Sampler::trace_id_ratio(1e-30);
  CHECK(tiny.should_sample(nullptr, id_with_randomness(k2p56 - 1)));
  CHECK_FALSE(tiny.should_sample(nullptr, id_with_randomness(k2p56 - 2)));
}

TEST_CASE("sampler: ratio decisions are deterministic, consistent and near the ratio") {
  std::mt19937_64 rng(20261125);  // fixed seed: the rate check is statistical, not flaky
  const auto quarter = Sampler::trace_id_ratio(0.25);
  const auto tenth = Sampler::trace_id_ratio(0.1);
  const auto half = Sampler::trace_id_ratio(0.5);
  int kept_quarter = 0, kept_tenth = 0;
  constexpr int kIds = 100000;
  for (int i = 0; i < kIds; ++i) {
    const std::uint64_t high = rng();  // two statements: argument order is unspecified
    const auto id = TraceId::from_u64(high, rng());
    const bool q = quarter.should_sample(nullptr, id);
    REQUIRE(q == quarter.should_sample(nullptr, id));  // same id, same decision
    REQUIRE(q == Sampler::trace_id_ratio(0.25).should_sample(nullptr, id));
    const bool t = tenth.should_sample(nullptr, id);
    // A sampler with a higher ratio samples everything a lower one does (trace/sdk.md).
    if (t) REQUIRE(q);
    if (q) REQUIRE(half.should_sample(nullptr, id));
    kept_quarter += q;
    kept_tenth += t;
  }
  CHECK(std::abs(kept_quarter / double(kIds) - 0.25) < 0.01);
  CHECK(std::abs(kept_tenth / double(kIds) - 0.1) < 0.01);
}

TEST_CASE("sampler: explicit randomness rv in the parent's tracestate replaces trace id bits") {
  const auto s = Sampler::trace_id_ratio(0.5);
  auto p = parent(true, false);
  const auto low_id = id_with_randomness(0);  // dropped on trace-id randomness
  REQUIRE_FALSE(s.should_sample(&p, low_id));
  auto state = TraceState::parse("ot=th:8;rv:ffffffffffffff,vendor=x");
  REQUIRE(state);
  p.trace_state = *state;
  CHECK(s.should_sample(&p, low_id));
  p.trace_state = *TraceState::parse("ot=rv:7fffffffffffff");
  CHECK_FALSE(s.should_sample(&p, id_with_randomness(k2p56 - 1)));
  // Malformed rv (13 digits, uppercase) is ignored: the trace id decides.
  p.trace_state = *TraceState::parse("ot=rv:fffffffffffff");
  CHECK_FALSE(s.should_sample(&p, low_id));
  p.trace_state = *TraceState::parse("ot=rv:FFFFFFFFFFFFFF");
  CHECK_FALSE(s.should_sample(&p, low_id));
}

TEST_CASE("sampler: non-random parent trace id warns once") {
  detail::nonrandom_trace_id_warned().store(false);
  const auto s = Sampler::trace_id_ratio(0.5);
  const auto level1_parent = parent(true, true, /*random_flag=*/false);
  const auto level2_parent = parent(true, true, /*random_flag=*/true);
  StderrCapture capture;
  s.should_sample(nullptr, kKeptAtHalf);         // root: no warning
  s.should_sample(&level2_parent, kKeptAtHalf);  // random flag set: no warning
  s.should_sample(&level1_parent, kKeptAtHalf);
  s.should_sample(&level1_parent, kKeptAtHalf);
  Sampler::parent_based(Sampler::trace_id_ratio(0.5)).should_sample(&level1_parent, kKeptAtHalf);
  const auto text = capture.text();
  CHECK(text ==
        "krishiv-trace: TraceIdRatioBased is presuming trace ids are random, but a parent "
        "context does not have the W3C Trace Context Level 2 random flag; upgrade callers to "
        "Level 2 (warned once)\n");
}

TEST_CASE("sampler: out-of-range ratios are clamped with a warning") {
  StderrCapture capture;
  const auto high = Sampler::trace_id_ratio(1.5);
  const auto low = Sampler::trace_id_ratio(-0.25);
  const auto nan = Sampler::trace_id_ratio(std::numeric_limits<double>::quiet_NaN());
  const auto text = capture.text();
  CHECK(high == Sampler::trace_id_ratio(1.0));
  CHECK(low == Sampler::trace_id_ratio(0.0));
  CHECK(nan == Sampler::trace_id_ratio(0.0));
  CHECK(text == warning("Sampler::trace_id_ratio", "1.5", "is outside [0, 1]", "1") +
                    warning("Sampler::trace_id_ratio", "-0.25", "is outside [0, 1]", "0") +
                    warning("Sampler::trace_id_ratio", "nan", "is not a number", "0"));
}

TEST_CASE("sampler: descriptions") {
  CHECK(Sampler::always_on().description() == "AlwaysOnSampler");
  CHECK(Sampler::always_off().description() == "AlwaysOffSampler");
  CHECK(Sampler::trace_id_ratio(0.5).description() == "TraceIdRatioBased{0.500000}");
  CHECK(Sampler::trace_id_ratio(0.0001).description() == "TraceIdRatioBased{0.000100}");
  CHECK(Sampler::trace_id_ratio(1).description() == "TraceIdRatioBased{1.000000}");
  CHECK(Sampler::trace_id_ratio(0).description() == "TraceIdRatioBased{0.000000}");
  // Six decimals would make these two look equal.
  CHECK(Sampler::trace_id_ratio(1e-7).description() == "TraceIdRatioBased{0.0000001}");
  CHECK(Sampler::trace_id_ratio(2e-7).description() == "TraceIdRatioBased{0.0000002}");
  CHECK(Sampler::trace_id_ratio(1.0 / 3).description() == "TraceIdRatioBased{0.3333333333333333}");
  CHECK(Sampler::parent_based(Sampler::trace_id_ratio(0.25)).description() ==
        "ParentBased{root:TraceIdRatioBased{0.250000},remoteParentSampled:AlwaysOnSampler,"
        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}");
  CHECK(Sampler::parent_based(Sampler::always_off(), Sampler::always_off(), Sampler::always_on())
            .description() ==
        "ParentBased{root:AlwaysOffSampler,remoteParentSampled:AlwaysOffSampler,"
        "remoteParentNotSampled:AlwaysOnSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}");
}

TEST_CASE("sampler: from_env reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG") {
  struct Row {
    std::optional<std::string> sampler, arg;
    Sampler expected;
    std::string stderr_text;
  };
  const auto pb_on = Sampler::parent_based(Sampler::always_on());
  const std::string fallback_note = "parentbased_always_on";
  const std::vector<Row> rows = {
      // Unset and empty mean the default; the argument is then not read at all.
      {std::nullopt, std::nullopt, pb_on, ""},
      {"", "garbage", pb_on, ""},
      {std::nullopt, "0.5", pb_on, ""},
      {"always_on", std::nullopt, Sampler::always_on(), ""},
      {"always_off", std::nullopt, Sampler::always_off(), ""},
      {"always_on", "0.5", Sampler::always_on(), ""},  // no argument expected: not read
      {"traceidratio", std::nullopt, Sampler::trace_id_ratio(1.0), ""},
      {"traceidratio", "0.25", Sampler::trace_id_ratio(0.25), ""},
      {"traceidratio", " 0.25 ", Sampler::trace_id_ratio(0.25), ""},
      {"traceidratio", "0", Sampler::trace_id_ratio(0.0), ""},
      {"traceidratio", "1", Sampler::trace_id_ratio(1.0), ""},
      {"parentbased_always_on", std::nullopt, pb_on, ""},
      {"parentbased_always_off", std::nullopt, Sampler::parent_based(Sampler::always_off()), ""},
      {"parentbased_traceidratio", "0.1", Sampler::parent_based(Sampler::trace_id_ratio(0.1)), ""},
      {"parentbased_traceidratio", std::nullopt,
       Sampler::parent_based(Sampler::trace_id_ratio(1.0)), ""},
      // Enum values are case-insensitive (sdk-environment-variables.md, "Enum").
      {"ALWAYS_OFF", std::nullopt, Sampler::always_off(), ""},
      {" ParentBased_TraceIdRatio\t", "0.5", Sampler::parent_based(Sampler::trace_id_ratio(0.5)),
       ""},
      // Known to the spec, not implemented here.
      {"jaeger_remote", "endpoint=http://localhost:14250", pb_on,
       warning("OTEL_TRACES_SAMPLER", "jaeger_remote",
               "names a sampler krishiv-trace does not implement", fallback_note)},
      {"parentbased_jaeger_remote", std::nullopt, pb_on,
       warning("OTEL_TRACES_SAMPLER", "parentbased_jaeger_remote",
               "names a sampler krishiv-trace does not implement", fallback_note)},
      {"xray", std::nullopt, pb_on,
       warning("OTEL_TRACES_SAMPLER", "xray", "names a sampler krishiv-trace does not implement",
               fallback_note)},
      {"garbage", std::nullopt, pb_on,
       warning("OTEL_TRACES_SAMPLER", "garbage", "is not a known sampler", fallback_note)},
      {"always on", std::nullopt, pb_on,
       warning("OTEL_TRACES_SAMPLER", "always on", "is not a known sampler", fallback_note)},
      // Malformed arguments: warn and behave as if unset (ratio 1.0).
      {"traceidratio", "abc", Sampler::trace_id_ratio(1.0),
       warning("OTEL_TRACES_SAMPLER_ARG", "abc", "is not a number", "1.0")},
      {"traceidratio", "0.5x", Sampler::trace_id_ratio(1.0),
       warning("OTEL_TRACES_SAMPLER_ARG", "0.5x", "is not a number", "1.0")},
      {"traceidratio", "1.5", Sampler::trace_id_ratio(1.0),
       warning("OTEL_TRACES_SAMPLER_ARG", "1.5", "is not a ratio in [0, 1]", "1.0")},
      {"parentbased_traceidratio", "-0.1", Sampler::parent_based(Sampler::trace_id_ratio(1.0)),
       warning("OTEL_TRACES_SAMPLER_ARG", "-0.1", "is not a ratio in [0, 1]", "1.0")},
      {"traceidratio", "nan", Sampler::trace_id_ratio(1.0),
       warning("OTEL_TRACES_SAMPLER_ARG", "nan", "is not a ratio in [0, 1]", "1.0")},
      {"traceidratio", "inf", Sampler::trace_id_ratio(1.0),
       warning("OTEL_TRACES_SAMPLER_ARG", "inf", "is not a ratio in [0, 1]", "1.0")},
  };
  for (const auto& row : rows) {
    INFO("OTEL_TRACES_SAMPLER=" << row.sampler.value_or("<unset>")
                                << " OTEL_TRACES_SAMPLER_ARG=" << row.arg.value_or("<unset>"));
    EnvGuard env;
    if (row.sampler)
      env.set("OTEL_TRACES_SAMPLER", *row.sampler);
    else
      env.unset("OTEL_TRACES_SAMPLER");
    if (row.arg)
      env.set("OTEL_TRACES_SAMPLER_ARG", *row.arg);
    else
      env.unset("OTEL_TRACES_SAMPLER_ARG");
    StderrCapture capture;
    const auto s = Sampler::from_env();
    const auto text = capture.text();
    CHECK(s.description() == row.expected.description());
    CHECK(s == row.expected);
    CHECK(text == row.stderr_text);
  }
}

TEST_CASE("sampler: is a small value type") {
  STATIC_REQUIRE(std::is_nothrow_copy_constructible_v<Sampler>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Sampler>);
  STATIC_REQUIRE(noexcept(std::declval<const Sampler&>().should_sample(nullptr, TraceId())));
}

TEST_CASE("sampler: the span-start fast path decides as should_sample or asks") {
  const auto rv = *TraceState::parse("ot=rv:ffffffffffffff");
  const std::vector<Sampler> samplers = {
      Sampler::always_on(),
      Sampler::always_off(),
      Sampler::trace_id_ratio(0.5),
      Sampler::parent_based(Sampler::always_on()),
      Sampler::parent_based(Sampler::always_off()),
      Sampler::parent_based(Sampler::trace_id_ratio(0.5)),
      Sampler::parent_based(Sampler::always_on(), Sampler::trace_id_ratio(0.5),
                            Sampler::trace_id_ratio(0.5), Sampler::trace_id_ratio(0.5),
                            Sampler::trace_id_ratio(0.5)),
  };
  std::vector<std::optional<SpanContext>> parents;
  for (const auto& c : all_cases()) parents.push_back(c.parent);
  for (auto p : {parent(false, false, /*random_flag=*/false), parent(true, true)}) {
    p.trace_state = rv;
    parents.push_back(p);
  }
  detail::nonrandom_trace_id_warned().store(true);  // keep stderr quiet
  for (const auto& s : samplers) {
    for (const auto& p : parents) {
      for (const auto& id : {kKeptAtHalf, kDroppedAtHalf}) {
        INFO(s.description());
        const SpanContext* pp = p ? &*p : nullptr;
        const auto quick = s.quick_decision(pp, id);
        if (quick == Sampler::Quick::Ask) {
          // Only a ratio sampler under a parent whose tracestate or flags matter asks.
          CHECK(pp != nullptr);
          continue;
        }
        CHECK((quick == Sampler::Quick::Sample) == s.should_sample(pp, id));
      }
    }
  }
  detail::nonrandom_trace_id_warned().store(false);
}
