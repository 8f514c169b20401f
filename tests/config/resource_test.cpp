#include "krishiv/trace/resource.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "capture.hpp"

using namespace krishiv::trace;
using ::test::EnvGuard;
using ::test::StderrCapture;

namespace {

std::string str(const Resource& r, std::string_view key) {
  const auto* v = r.get(key);
  if (v == nullptr) return "<absent>";
  const auto* s = std::get_if<std::string>(v);
  return s ? *s : "<not a string>";
}

bool unique_keys(const Resource& r) {
  std::set<std::string> keys;
  for (const auto& a : r.attributes) {
    if (!keys.insert(a.key).second) return false;
  }
  return true;
}

// A clean environment for the two variables Resource::from_env reads.
struct ResourceEnv {
  EnvGuard env;
  ResourceEnv() {
    env.unset("OTEL_RESOURCE_ATTRIBUTES");
    env.unset("OTEL_SERVICE_NAME");
  }
};

// Values are quoted with '"' and '\\' backslash-escaped (the rows here hold no control bytes).
std::string discarded(const std::string& value, const std::string& problem) {
  std::string quoted;
  for (char c : value) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return "krishiv-trace: OTEL_RESOURCE_ATTRIBUTES=\"" + quoted + "\" " + problem +
         "; using none of its attributes\n";
}

}  // namespace

TEST_CASE("resource: SDK defaults") {
  const auto r = Resource::defaults();
  // This test binary is resource_test: process.executable.name.
  CHECK(str(r, "service.name") == "unknown_service:resource_test");
  CHECK(str(r, "telemetry.sdk.name") == "krishiv-trace");
  CHECK(str(r, "telemetry.sdk.language") == "cpp");
  CHECK(str(r, "telemetry.sdk.version") == "0.1.0");
  CHECK(r.attributes.size() == 4);
  CHECK(r.get("host.name") == nullptr);
  CHECK(Resource().attributes.empty());
}

TEST_CASE("resource: from_env without variables is the defaults") {
  ResourceEnv e;
  StderrCapture capture;
  CHECK(Resource::from_env() == Resource::defaults());
  e.env.set("OTEL_RESOURCE_ATTRIBUTES", " \t ");
  CHECK(Resource::from_env() == Resource::defaults());
  CHECK(capture.text().empty());
}

TEST_CASE("resource: OTEL_RESOURCE_ATTRIBUTES adds and overrides defaults") {
  ResourceEnv e;
  e.env.set("OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=prod, service.name = checkout ,service.version=1.2.3");
  StderrCapture capture;
  const auto r = Resource::from_env();
  CHECK(capture.text().empty());
  CHECK(str(r, "deployment.environment") == "prod");
  CHECK(str(r, "service.name") == "checkout");  // OWS trimmed
  CHECK(str(r, "service.version") == "1.2.3");
  CHECK(str(r, "telemetry.sdk.name") == "krishiv-trace");
  CHECK(r.attributes.size() == 6);
  CHECK(unique_keys(r));
}

TEST_CASE("resource: OTEL_SERVICE_NAME takes precedence over service.name in attributes") {
  ResourceEnv e;
  e.env.set("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes,team=payments");
  e.env.set("OTEL_SERVICE_NAME", "from-service-name");
  const auto r = Resource::from_env();
  CHECK(str(r, "service.name") == "from-service-name");
  CHECK(str(r, "team") == "payments");
  CHECK(unique_keys(r));

  e.env.unset("OTEL_RESOURCE_ATTRIBUTES");
  CHECK(str(Resource::from_env(), "service.name") == "from-service-name");
  e.env.set("OTEL_SERVICE_NAME", "");  // empty is unset
  CHECK(str(Resource::from_env(), "service.name") == "unknown_service:resource_test");
}

TEST_CASE("resource: values and keys are percent-decoded") {
  ResourceEnv e;
  e.env.set("OTEL_RESOURCE_ATTRIBUTES",
            "a=hello%20world,b=x%2Cy%3Dz,c=lower%2chex,d=caf%C3%A9,e=bad%FFutf8,f=1+1,"
            "g=a=b,h=,odd%3Dkey=v");
  StderrCapture capture;
  const auto r = Resource::from_env();
  CHECK(capture.text().empty());
  CHECK(str(r, "a") == "hello world");
  CHECK(str(r, "b") == "x,y=z");
  CHECK(str(r, "c") == "lower,hex");
  CHECK(str(r, "d") == "caf\xC3\xA9");
  CHECK(str(r, "e") == "bad\xEF\xBF\xBDutf8");  // W3C Baggage: invalid UTF-8 -> U+FFFD
  CHECK(str(r, "f") == "1+1");                  // "+" is a literal plus, not a space
  CHECK(str(r, "g") == "a=b");                  // raw "=" in a value is a baggage-octet
  CHECK(str(r, "h") == "");
  CHECK(str(r, "odd=key") == "v");
}

TEST_CASE("resource: a repeated key in the variable keeps its last value") {
  ResourceEnv e;
  e.env.set("OTEL_RESOURCE_ATTRIBUTES", "k=1,other=x,k=2");
  const auto r = Resource::from_env();
  CHECK(str(r, "k") == "2");
  CHECK(unique_keys(r));
}

TEST_CASE("resource: any malformed entry discards the whole variable with one warning") {
  struct Row {
    std::string value, problem;
  };
  const std::vector<Row> rows = {
      {"a=1,b", "has an entry without '=' (b)"},
      {"a=1,=2", "has an entry with an empty key (=2)"},
      {"a=1, =2", "has an entry with an empty key (=2)"},
      {"a=1,b=%zz", "has a '%' not followed by two hex digits in entry b=%zz"},
      {"a=1,b=%2", "has a '%' not followed by two hex digits in entry b=%2"},
      {"a=1,b=x%", "has a '%' not followed by two hex digits in entry b=x%"},
      {"a=%G0", "has a '%' not followed by two hex digits in entry a=%G0"},
      {"a=1,,b=2", "has an empty entry"},
      {"a=1,", "has an empty entry"},
      {"a=hello world", "has a value for \"a\" with character 0x20, which must be percent-encoded"},
      {"a=1;prop", "has a value for \"a\" with character ';', which must be percent-encoded"},
      {"a=\"q\"", "has a value for \"a\" with character '\"', which must be percent-encoded"},
      {"a=x\\y", "has a value for \"a\" with character '\\', which must be percent-encoded"},
      {"a=caf\xC3\xA9", "has a value for \"a\" with character 0xC3, which must be percent-encoded"},
      {"my key=1", "has key \"my key\" with character 0x20, which must be percent-encoded"},
      {"k(1)=1", "has key \"k(1)\" with character '(', which must be percent-encoded"},
  };
  for (const auto& row : rows) {
    INFO("OTEL_RESOURCE_ATTRIBUTES=" << row.value);
    ResourceEnv e;
    e.env.set("OTEL_RESOURCE_ATTRIBUTES", row.value);
    e.env.set("OTEL_SERVICE_NAME", "still-applied");
    StderrCapture capture;
    const auto r = Resource::from_env();
    const auto text = capture.text();
    CHECK(text == discarded(row.value, row.problem));
    CHECK(r.get("a") == nullptr);  // the valid entries before the bad one are discarded too
    CHECK(str(r, "service.name") == "still-applied");
    CHECK(r.attributes.size() == 4);
  }
}

TEST_CASE("resource: merge keeps every key and lets the updating resource win") {
  const auto old_r = Resource::create(
      {{"a", std::string("old")}, {"b", std::string("kept")}, {"c", std::int64_t{1}}});
  const auto updating = Resource::create({{"a", std::string("")},  // even an empty value wins
                                          {"c", 2.5},
                                          {"d", true}});
  const auto merged = old_r.merge(updating);
  REQUIRE(merged.attributes.size() == 4);
  CHECK(merged.attributes[0] == Attribute{"a", std::string("")});
  CHECK(merged.attributes[1] == Attribute{"b", std::string("kept")});
  CHECK(merged.attributes[2] == Attribute{"c", 2.5});
  CHECK(merged.attributes[3] == Attribute{"d", true});
  CHECK(old_r.merge(Resource()) == old_r);
  CHECK(Resource().merge(old_r) == old_r);
}

TEST_CASE("resource: create keeps one value per key") {
  const auto r = Resource::create({{"k", std::string("1")}, {"k", std::string("2")}});
  REQUIRE(r.attributes.size() == 1);
  CHECK(str(r, "k") == "2");
}

TEST_CASE("resource: code-provided attributes override the environment") {
  ResourceEnv e;
  e.env.set("OTEL_RESOURCE_ATTRIBUTES", "service.name=env-attr,region=eu");
  e.env.set("OTEL_SERVICE_NAME", "env-name");
  const auto r =
      Resource::from_env().merge(Resource::create({{"service.name", std::string("code")}}));
  CHECK(str(r, "service.name") == "code");
  CHECK(str(r, "region") == "eu");
  CHECK(unique_keys(r));
}
