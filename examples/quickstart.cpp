// krishiv-trace in one screen: spans, a schema span, an event, an error, and the stderr printer.
#include <krishiv/trace.hpp>
#include <krishiv/trace/exporters/console.hpp>

#include <cstdint>

namespace kt = krishiv::trace;

// A schema span: the compiler checks every use against these fields.
using CheckpointCommit = kt::span_schema<"checkpoint_commit", kt::job_id, kt::epoch>;

void write_manifest(std::int64_t epoch) {
  auto span = kt::info_span("write_manifest", kt::epoch{epoch}).entered();
  if (epoch == 2) {
    span.set_status(kt::StatusCode::Error, "disk full");
    return;
  }
  span.add_event("manifest_written", kt::attr("bytes", 4096), kt::attr("path", "s3://ckpt/m"));
}

int main() {
  // Prints each batch as a tree on stderr; the provider flushes when it goes out of scope.
  kt::TracerProvider provider({.exporter = kt::TracerExporter::Stdout()});

  auto job = kt::info_span("run_job", kt::job_id{"j-7"}, kt::operator_id{"scan"}).entered();
  for (std::int64_t epoch = 1; epoch <= 2; ++epoch) {
    auto commit = CheckpointCommit::enter("j-7", epoch);  // a child of run_job
    write_manifest(epoch);                                // a child of the commit
  }
  job.set_attribute("epochs", 2);
}
