// libFuzzer target for the sensor's ring-buffer records: any bytes either decode into an event
// (which then prints as JSON) or give an Error, never a read out of bounds. The input is copied
// so that ASan sees the record's exact end, as a ring-buffer sample has.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sensor/decoder.h"
#include "sensor/event_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> record(data, data + size);
  auto event = moat::sensor::DecodeRecord(record);
  if (!event.ok()) return 0;
  moat::sensor::EnrichedEvent enriched;
  enriched.event = &*event;
  (void)moat::sensor::EnrichedEventToJson(enriched);
  return 0;
}
