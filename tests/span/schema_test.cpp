#include "krishiv/trace/schema.hpp"

#include <catch2/catch.hpp>

#include "span_test_support.hpp"

namespace kt = krishiv::trace;
using test::Recorder;

using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;
using TaskRun = kt::span_schema<"task_run", kt::job_id, kt::task_id, kt::epoch, kt::operator_id>;
using shard = kt::field<"shard", std::int64_t>;
using ratio = kt::field<"ratio", double>;
using cached = kt::field<"cached", bool>;
using Scan = kt::span_schema<"scan", shard, ratio, cached>;

static_assert(CheckpointCommit::name == "checkpoint_commit");
static_assert(CheckpointCommit::info.field_count == 2);
static_assert(CheckpointCommit::fields[0].key == "job_id");
static_assert(CheckpointCommit::fields[1].type == kt::ValueType::Int);
static_assert(TaskRun::info.field_count == 4);

TEST_CASE("schema: positional values in schema order") {
  Recorder r;
  std::string job = "job-42";
  {
    auto s = CheckpointCommit::enter(job, 42);
    CHECK(kt::Context::current().span_context().span_id == s.context().span_id);
    s.set_attribute("bytes", 4096);
  }
  CHECK_FALSE(kt::Context::current().has_span());
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  const auto& s = spans[0];
  CHECK(s.name == "checkpoint_commit");
  CHECK(s.schema == &CheckpointCommit::info);
  REQUIRE(s.attributes.size() == 3);
  CHECK(s.attributes[0].key == "job_id");
  CHECK(std::get<std::string>(s.attributes[0].value) == "job-42");
  CHECK(s.attributes[1].key == "epoch");
  CHECK(std::get<std::int64_t>(s.attributes[1].value) == 42);
  CHECK(std::get<std::int64_t>(*s.attribute("bytes")) == 4096);
}

TEST_CASE("schema: named fields in any order, with options") {
  Recorder r;
  {
    auto parent = kt::info_span("parent").entered();
    auto s = TaskRun::start(kt::operator_id{"op-1"}, kt::epoch{9}, kt::SpanKind::Consumer,
                            kt::task_id{3}, kt::job_id{"j"});
  }
  const auto spans = r.flush();
  const auto& s = test::by_name(spans, "task_run");
  CHECK(s.kind == kt::SpanKind::Consumer);
  CHECK(s.parent_span_id == test::by_name(spans, "parent").span_id);
  REQUIRE(s.attributes.size() == 4);
  // recorded in schema order whatever the argument order
  CHECK(s.attributes[0].key == "job_id");
  CHECK(s.attributes[1].key == "task_id");
  CHECK(std::get<std::int64_t>(s.attributes[1].value) == 3);
  CHECK(s.attributes[2].key == "epoch");
  CHECK(s.attributes[3].key == "operator_id");
  CHECK(std::get<std::string>(s.attributes[3].value) == "op-1");
}

TEST_CASE("schema: bool, double and integer fields keep their types") {
  Recorder r;
  { auto s = Scan::start(std::uint16_t{7}, 0.25f, false); }
  const auto spans = r.flush();
  REQUIRE(spans.size() == 1);
  CHECK(std::get<std::int64_t>(*spans[0].attribute("shard")) == 7);
  CHECK(std::get<double>(*spans[0].attribute("ratio")) == 0.25);
  CHECK(std::get<bool>(*spans[0].attribute("cached")) == false);
}

// Integers are stored as zigzag varints of 1 to 10 bytes: every length, both signs, and the
// values around each length boundary come back exactly, followed by the next field intact.
TEST_CASE("schema: integer fields keep their value at every encoded length") {
  std::vector<std::int64_t> values = {0, -1, 1, INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1};
  for (int bits = 6; bits < 63; bits += 7) {
    const std::int64_t edge = std::int64_t{1} << bits;
    for (std::int64_t v : {edge - 1, edge, -edge, -edge - 1}) values.push_back(v);
  }
  Recorder r;
  for (std::int64_t v : values) auto s = TaskRun::start("j", v, -v / 3, "op");
  const auto spans = r.flush();
  REQUIRE(spans.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK(std::get<std::int64_t>(*spans[i].attribute("task_id")) == values[i]);
    CHECK(std::get<std::int64_t>(*spans[i].attribute("epoch")) == -values[i] / 3);
    CHECK(std::get<std::string>(*spans[i].attribute("operator_id")) == "op");
  }
}

TEST_CASE("schema: an unsampled schema span records nothing and still has ids") {
  Recorder r({.sampler = kt::Sampler::always_off()});
  {
    auto s = CheckpointCommit::enter("j", 1);
    CHECK(s.is_valid());
    CHECK_FALSE(s.is_recording());
    CHECK_FALSE(s.context().sampled());
  }
  CHECK(r.flush().empty());
}
